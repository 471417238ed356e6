-- Progress history (append-only) and budget lines per site × year × source.

CREATE TABLE progress_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         bigint NOT NULL REFERENCES site (id) ON DELETE RESTRICT,
    -- When the update was made (the "as of" dashboards rebuild from this).
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     integer,              -- app_user.id; NULL for imports and the demo
    actor           text NOT NULL,        -- who, as shown: username or "demo", "import"
    old_status      site_status,          -- NULL on a site's first row
    new_status      site_status NOT NULL,
    old_pct         smallint,
    new_pct         smallint NOT NULL,
    note            text,
    correction_reason text,
    CONSTRAINT progress_history_pct_range
        CHECK (new_pct BETWEEN 0 AND 100 AND (old_pct IS NULL OR old_pct BETWEEN 0 AND 100))
);
CREATE INDEX progress_history_site_idx ON progress_history (site_id, recorded_at);
CREATE INDEX progress_history_recorded_at_idx ON progress_history (recorded_at);

-- History is evidence: it is never changed or removed, whoever asks.
CREATE FUNCTION progress_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'progress history is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'progress_history_append_only';
END $$;

CREATE TRIGGER progress_history_append_only
    BEFORE UPDATE OR DELETE ON progress_history
    FOR EACH ROW EXECUTE FUNCTION progress_history_append_only();
CREATE TRIGGER progress_history_no_truncate
    BEFORE TRUNCATE ON progress_history
    FOR EACH STATEMENT EXECUTE FUNCTION progress_history_append_only();

CREATE TYPE funding_source AS ENUM ('central', 'military_region', 'provincial', 'district', 'other');

-- Whole đồng. The medium-term plan is 2021–2025; later years are allowed.
CREATE TABLE budget_line (
    site_id         bigint NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    year            smallint NOT NULL,
    source          funding_source NOT NULL,
    estimate_vnd    bigint NOT NULL DEFAULT 0,
    allocated_vnd   bigint NOT NULL DEFAULT 0,
    disbursed_vnd   bigint NOT NULL DEFAULT 0,
    settled_vnd     bigint NOT NULL DEFAULT 0,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, year, source),
    CONSTRAINT budget_line_year_range CHECK (year BETWEEN 2021 AND 2035),
    CONSTRAINT budget_line_amounts_not_negative CHECK (
        estimate_vnd >= 0 AND allocated_vnd >= 0 AND disbursed_vnd >= 0 AND settled_vnd >= 0),
    CONSTRAINT budget_line_disbursed_within_allocated CHECK (disbursed_vnd <= allocated_vnd)
);
CREATE INDEX budget_line_year_idx ON budget_line (year, source);
