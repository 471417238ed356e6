-- Field updates sent again and again from a phone that lost its answers, and updates made
-- from an older version of a site (issue 20).

-- A write made with an Idempotency-Key: the same key from the same user gets the same
-- answer, never a second write. Kept 45 days (a phone away for 30 is covered).
CREATE TABLE idempotent_write (
    user_id         integer NOT NULL REFERENCES app_user (id),
    key             text NOT NULL CONSTRAINT idempotent_write_key_format
                    CHECK (key ~ '^[A-Za-z0-9_-]{8,128}$'),
    request_sha256  bytea NOT NULL,
    status          smallint NOT NULL,
    answer          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotent_write_created_idx ON idempotent_write (created_at);

-- An update made from an older version that crossed another one: someone else changed a
-- field it also changes, to another value. Nothing of it is applied until a person picks,
-- field by field; then one history row and one audit row name both authors.
CREATE TABLE progress_conflict (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         bigint NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    user_id         integer NOT NULL REFERENCES app_user (id),
    base_version    integer NOT NULL,
    theirs_version  integer NOT NULL,
    fields          text[] NOT NULL,
    base            jsonb NOT NULL,
    theirs          jsonb NOT NULL,
    -- The update as asked: the fields it sets, its note and correction reason.
    mine            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     integer REFERENCES app_user (id),
    resolution      jsonb,
    CONSTRAINT progress_conflict_resolved_whole
        CHECK ((resolved_at IS NULL) = (resolved_by IS NULL) AND (resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX progress_conflict_open_idx ON progress_conflict (user_id) WHERE resolved_at IS NULL;
CREATE INDEX progress_conflict_site_idx ON progress_conflict (site_id);
