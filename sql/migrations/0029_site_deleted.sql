-- Deleting a work (OGC API Features Part 4's DELETE, issue 21) keeps it: its progress,
-- search and budget histories are append-only and the "as of" views rebuild the past from
-- them, so a deleted work leaves every current view but stays in the table, marked.
-- `site_all` is the table; `site` is the view of the works that stand, through which every
-- current read and every write goes as before (a simple view: PostgreSQL updates it in
-- place, the table's triggers fire, its indexes serve). Only the "as of" queries, the
-- import's code check (a deleted work's code stays taken: its history is under it) and
-- bulk loads name `site_all`.
-- A migration that adds a column to `site_all` recreates the view after it.

ALTER TABLE site RENAME TO site_all;
ALTER TABLE site_all
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN deleted_by integer;

CREATE VIEW site AS SELECT * FROM site_all WHERE deleted_at IS NULL;

CREATE INDEX site_all_deleted ON site_all (deleted_at) WHERE deleted_at IS NOT NULL;

-- One work written through the API (POST, PUT, PATCH of an item) goes through the import's
-- rules and is logged as an import of one feature, "via" the API.
ALTER TABLE import_log DROP CONSTRAINT import_log_via_known,
    ADD CONSTRAINT import_log_via_known CHECK (via IN ('web', 'cli', 'api'));
