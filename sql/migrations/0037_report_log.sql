-- Every official report kvpt generates (issue 24 §7), logged as exports are: who, when,
-- for what scope and day, in which format, the classification it was marked with, how
-- many works it counted, and the file's size and SHA-256.
CREATE TABLE report_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    user_id         integer REFERENCES app_user (id),
    actor           text NOT NULL,
    via             text NOT NULL CONSTRAINT report_log_via_known CHECK (via IN ('web', 'cli')),
    number          text NOT NULL,
    scope           jsonb NOT NULL,
    as_of           date NOT NULL,
    period_from     date NOT NULL,
    format          text NOT NULL CONSTRAINT report_log_format_known CHECK (format IN ('docx', 'pdf')),
    marking         classification NOT NULL,
    works           bigint NOT NULL,
    bytes           bigint NOT NULL,
    sha256          text NOT NULL
);
CREATE INDEX report_log_at_idx ON report_log (at DESC);
