-- A user keeps at most a bounded number of Idempotency-Keys (the newest ones): a client
-- that sends a new key with every request cannot fill the table. Trimming reads a user's
-- keys newest first.
CREATE INDEX idempotent_write_user_created_idx ON idempotent_write (user_id, created_at DESC);
