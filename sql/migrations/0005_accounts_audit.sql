-- Accounts, sessions and the audit log. Created now; used by the progress and
-- exchange features.

CREATE TYPE user_role AS ENUM ('viewer', 'engineer', 'budget_officer', 'admin');

CREATE TABLE app_user (
    id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL,
    display_name    text NOT NULL,
    password_hash   text NOT NULL,            -- argon2id PHC string
    role            user_role NOT NULL DEFAULT 'viewer',
    clearance       classification NOT NULL DEFAULT 'internal',
    unit            text,
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT app_user_username_format CHECK (username ~ '^[a-z0-9._-]{2,64}$')
);
CREATE UNIQUE INDEX app_user_username_key ON app_user (username);

-- Districts an engineer may update.
CREATE TABLE user_district (
    user_id         integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    district_id     integer NOT NULL REFERENCES admin_unit (id),
    PRIMARY KEY (user_id, district_id)
);

CREATE TABLE user_session (
    -- SHA-256 of the cookie value: a stolen table does not yield live cookies.
    token_hash      bytea PRIMARY KEY,
    user_id         integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    CONSTRAINT user_session_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX user_session_user_idx ON user_session (user_id);
CREATE INDEX user_session_expires_idx ON user_session (expires_at);

CREATE TABLE login_attempt (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username        text NOT NULL,
    remote_addr     inet,
    succeeded       boolean NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempt_username_at_idx ON login_attempt (username, at);

CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    user_id         integer REFERENCES app_user (id),
    actor           text NOT NULL,
    action          text NOT NULL,            -- 'site.progress', 'budget.update', 'export' …
    entity          text NOT NULL,            -- 'site', 'budget_line', 'user' …
    entity_key      text,
    before          jsonb,
    after           jsonb
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_key);
CREATE INDEX audit_log_at_idx ON audit_log (at);
