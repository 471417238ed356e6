-- Progress updates from the field (with photos), the budget's own history for "as of"
-- figures, and telling servers when sessions or accounts change.

-- What an update set besides status and percent, and the site version it produced: the
-- version a form carries back for optimistic concurrency.
ALTER TABLE progress_history
    ADD COLUMN actual_start  date,
    ADD COLUMN actual_finish date,
    ADD COLUMN site_version  integer;

-- Photos live in the database: one transaction with their update, and in every backup.
CREATE TABLE site_photo (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         bigint NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    history_id      bigint REFERENCES progress_history (id),
    content_type    text NOT NULL,
    image           bytea NOT NULL,
    thumbnail       bytea NOT NULL,              -- JPEG, at most 320 px on its longer side
    width           integer NOT NULL,
    height          integer NOT NULL,
    sha256          bytea NOT NULL,
    uploaded_by     integer REFERENCES app_user (id),
    uploaded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT site_photo_content_type_known CHECK (content_type IN ('image/jpeg', 'image/png')),
    CONSTRAINT site_photo_size_positive CHECK (width > 0 AND height > 0)
);
CREATE INDEX site_photo_site_idx ON site_photo (site_id);
CREATE INDEX site_photo_history_idx ON site_photo (history_id);

-- Every state a budget line has had, so budget figures can be rebuilt as of a date.
CREATE TABLE budget_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         bigint NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    year            smallint NOT NULL,
    source          funding_source NOT NULL,
    estimate_vnd    bigint NOT NULL,
    allocated_vnd   bigint NOT NULL,
    disbursed_vnd   bigint NOT NULL,
    settled_vnd     bigint NOT NULL,
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX budget_history_line_idx ON budget_history (site_id, year, source, recorded_at);
CREATE INDEX budget_history_recorded_at_idx ON budget_history (recorded_at);

-- Statement-level with transition tables: a bulk load records its lines in one insert.
CREATE FUNCTION budget_line_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO budget_history (site_id, year, source, estimate_vnd, allocated_vnd,
                                disbursed_vnd, settled_vnd, recorded_at)
    SELECT site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd, updated_at
      FROM new_rows;
    RETURN NULL;
END $$;

CREATE TRIGGER budget_line_record_insert AFTER INSERT ON budget_line
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_record();
CREATE TRIGGER budget_line_record_update AFTER UPDATE ON budget_line
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_record();

-- Lines loaded before this migration get their first history row now.
INSERT INTO budget_history (site_id, year, source, estimate_vnd, allocated_vnd,
                            disbursed_vnd, settled_vnd, recorded_at)
SELECT site_id, year, source, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd, updated_at
  FROM budget_line;

CREATE FUNCTION history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END $$;

CREATE TRIGGER budget_history_append_only
    BEFORE UPDATE OR DELETE ON budget_history
    FOR EACH ROW EXECUTE FUNCTION history_append_only();
CREATE TRIGGER budget_history_no_truncate
    BEFORE TRUNCATE ON budget_history
    FOR EACH STATEMENT EXECUTE FUNCTION history_append_only();

-- Servers cache who a session belongs to; a logout, an expiry sweep, a disabled account
-- or a changed role elsewhere must reach them at once.
CREATE FUNCTION sessions_changed_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kvpt_sessions', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER user_session_changed
    AFTER DELETE OR UPDATE ON user_session
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed_notify();
CREATE TRIGGER app_user_changed
    AFTER UPDATE OR DELETE ON app_user
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed_notify();
CREATE TRIGGER user_district_changed
    AFTER INSERT OR UPDATE OR DELETE ON user_district
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed_notify();
