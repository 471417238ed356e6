-- From the outside review (issue 18).

-- The clearance an import was checked at: its report speaks of works up to that level, so
-- only users cleared as high read it (the importer too, should theirs be lowered later).
-- Runs before this migration are taken as secret.
ALTER TABLE import_log ADD COLUMN clearance classification NOT NULL DEFAULT 'secret';
ALTER TABLE import_log ALTER COLUMN clearance DROP DEFAULT;

-- Sign-ins are throttled by (user name, address) and by address across user names.
CREATE INDEX login_attempt_remote_at_idx ON login_attempt (remote_addr, at);
