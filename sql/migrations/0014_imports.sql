-- Imports: every run (a check or a commit), who ran it, on which file, with its report.

CREATE TABLE import_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started         timestamptz NOT NULL DEFAULT now(),
    finished        timestamptz,
    user_id         integer REFERENCES app_user (id),
    actor           text NOT NULL,
    via             text NOT NULL CONSTRAINT import_log_via_known CHECK (via IN ('web', 'cli')),
    file_name       text NOT NULL,
    file_bytes      bigint,
    file_sha256     text,
    format          text,
    -- The uploaded file kept for a commit after the check (web only).
    upload          text,
    options         jsonb NOT NULL DEFAULT '{}',
    dry_run         boolean NOT NULL,
    outcome         text NOT NULL DEFAULT 'running'
                    CONSTRAINT import_log_outcome_known
                    CHECK (outcome IN ('running', 'checked', 'refused', 'committed', 'failed')),
    features        integer,
    inserted        integer,
    updated         integer,
    unchanged       integer,
    refused         integer,
    report          jsonb
);
CREATE INDEX import_log_started_idx ON import_log (started DESC);
