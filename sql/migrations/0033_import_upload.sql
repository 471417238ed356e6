-- Uploaded import files (issue 23 §1): a file uploaded through one kvpt instance may be
-- checked again or written through another behind the same load balancer, so it is kept
-- here (in parts of at most 1 MiB) as well as on the receiving instance's disk; another
-- instance copies it to its own disk when it needs it. Gone once written, or after a day.
CREATE TABLE import_upload (
    token       text PRIMARY KEY,
    owner       integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    -- What the import reads: this file of the upload, or '' for the whole folder (a
    -- Shapefile's parts).
    source      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_upload_created_idx ON import_upload (created_at);

CREATE TABLE import_upload_part (
    token       text NOT NULL REFERENCES import_upload (token) ON DELETE CASCADE,
    file_name   text NOT NULL,
    seq         integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (token, file_name, seq)
);
