-- Import jobs (issue 23 §1): a web import runs in the background on one kvpt instance, and
-- its page may be asked of any other behind the same load balancer. So the job lives here,
-- not in the process: who started it, its options, its stage and counts, then its report
-- or its error. The instance running it writes `heartbeat_at` twice a second; a running job
-- whose heartbeat stopped is shown as interrupted (its instance died; its write, one
-- transaction, was rolled back with it, unless the import log says it committed). A file
-- checked again reuses its upload's token: `started_at` tells its runs apart.
CREATE TABLE import_job (
    token           text PRIMARY KEY,
    owner           integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    -- Which process runs it: host, pid and a random part, for the operator.
    instance        text NOT NULL,
    file_name       text NOT NULL,
    options         jsonb NOT NULL DEFAULT '{}',
    write           boolean NOT NULL,
    -- The importer's clearance: only readers cleared as high follow the job.
    clearance       classification NOT NULL,
    state           text NOT NULL DEFAULT 'running'
                    CONSTRAINT import_job_state_known CHECK (state IN ('running', 'done', 'failed')),
    stage           smallint NOT NULL DEFAULT 0,
    done            bigint NOT NULL DEFAULT 0,
    total           bigint NOT NULL DEFAULT 0,
    report_id       bigint REFERENCES import_log (id),
    error           text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX import_job_started_idx ON import_job (started_at);
