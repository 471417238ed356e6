-- Personal access tokens (issue 21 §1): QGIS, GDAL and scripts sign in with one, as
-- `Authorization: Bearer` or as the password of HTTP Basic. Only the SHA-256 of a token is
-- kept; it lasts at most a year; its scope is read, or read and write.
CREATE TABLE api_token (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         integer NOT NULL REFERENCES app_user (id),
    name            text NOT NULL CONSTRAINT api_token_name_length
                    CHECK (char_length(name) BETWEEN 1 AND 80),
    token_hash      bytea NOT NULL UNIQUE,
    scope           text NOT NULL CONSTRAINT api_token_scope CHECK (scope IN ('read', 'read,write')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    -- The addresses it was used from: a use from a new one is audited.
    addresses       text[] NOT NULL DEFAULT '{}',
    revoked_at      timestamptz,
    CONSTRAINT api_token_at_most_a_year
        CHECK (expires_at > created_at AND expires_at <= created_at + interval '366 days')
);
CREATE INDEX api_token_user_idx ON api_token (user_id);

-- Servers cache who a token belongs to, like sessions: a revocation reaches them at once.
CREATE TRIGGER api_token_changed
    AFTER UPDATE OF revoked_at, expires_at OR DELETE ON api_token
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_changed_notify();
