-- A search zone's update made offline that crossed someone else's is kept as a conflict
-- too (issue 20 §3, §5), in the same list, resolved the same way: `kind` says which
-- figures it is about.
ALTER TABLE progress_conflict
    ADD COLUMN kind text NOT NULL DEFAULT 'progress'
        CONSTRAINT progress_conflict_kind CHECK (kind IN ('progress', 'search'));
