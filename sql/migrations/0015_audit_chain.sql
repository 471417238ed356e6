-- A tamper-evident audit log: every row carries the SHA-256 of its content chained to
-- the row before it, so `kvpt audit verify` finds a row edited, removed or slipped in.
-- The chain's head (last position and hash) is kept in a one-row table, so removing the
-- newest rows shows too. Rows are chained in commit order: the head row is locked by
-- each transaction that audits, until it commits.

ALTER TABLE audit_log
    ADD COLUMN chain_seq  bigint,
    ADD COLUMN prev_hash  bytea,
    ADD COLUMN hash       bytea;

CREATE TABLE audit_chain_head (
    one        boolean PRIMARY KEY DEFAULT true CONSTRAINT audit_chain_head_one CHECK (one),
    chain_seq  bigint NOT NULL,
    hash       bytea NOT NULL
);

-- What is hashed: every column but the chain itself, in a form that does not depend on
-- the session (time as epoch seconds, JSON as jsonb normalises it).
CREATE FUNCTION audit_log_payload(seq bigint, at timestamptz, user_id integer, actor text,
                                  action text, entity text, entity_key text,
                                  before jsonb, after jsonb)
RETURNS bytea LANGUAGE sql STABLE
RETURN convert_to(jsonb_build_array(seq, extract(epoch FROM at), user_id, actor, action,
                                    entity, entity_key, before, after)::text, 'UTF8');

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    head audit_chain_head;
BEGIN
    SELECT * INTO head FROM audit_chain_head FOR UPDATE;
    NEW.chain_seq := head.chain_seq + 1;
    NEW.prev_hash := head.hash;
    NEW.hash := sha256(head.hash || audit_log_payload(NEW.chain_seq, NEW.at, NEW.user_id,
        NEW.actor, NEW.action, NEW.entity, NEW.entity_key, NEW.before, NEW.after));
    UPDATE audit_chain_head SET chain_seq = NEW.chain_seq, hash = NEW.hash;
    RETURN NEW;
END $$;

-- The rows already there, chained in the order they were written.
DO $$
DECLARE
    r record;
    seq bigint := 0;
    h bytea := '\x'::bytea;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        seq := seq + 1;
        UPDATE audit_log
           SET chain_seq = seq, prev_hash = h,
               hash = sha256(h || audit_log_payload(seq, r.at, r.user_id, r.actor, r.action,
                                                    r.entity, r.entity_key, r.before, r.after))
         WHERE id = r.id
        RETURNING hash INTO h;
    END LOOP;
    INSERT INTO audit_chain_head (chain_seq, hash) VALUES (seq, h);
END $$;

ALTER TABLE audit_log
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT audit_log_chain_seq_key UNIQUE (chain_seq);

CREATE TRIGGER audit_log_chain
    BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- Audit rows are evidence: never changed or removed through kvpt.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'audit_log_append_only';
END $$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
