-- Review and approval of progress updates (issue 24 §6). When a deployment turns review on
-- (`kvpt serve` with KVPT_REVIEW=on writes it here, so every instance on the database
-- agrees), an engineer's update — online, synced from the field or in a bulk file — is kept
-- as "submitted" until a reviewer (a new role) or an administrator approves it, which
-- applies it (its history row and audit as any update), or returns it with a reason, which
-- the engineer sees on /field and on the site's page. With review off nothing changes.

ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'reviewer';

-- The deployment's settings: one row.
CREATE TABLE app_setting (
    one_row         boolean PRIMARY KEY DEFAULT true CONSTRAINT app_setting_one_row CHECK (one_row),
    review          boolean NOT NULL DEFAULT false,
    changed_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO app_setting DEFAULT VALUES;

CREATE TYPE submission_state AS ENUM ('submitted', 'approved', 'returned');

CREATE TABLE progress_submission (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         bigint NOT NULL REFERENCES site_all (id),
    submitted_by    integer REFERENCES app_user (id),
    actor           text NOT NULL,
    submitted_at    timestamptz NOT NULL DEFAULT now(),
    -- The site's version the update was made from: it is applied only onto that version.
    base_version    integer NOT NULL,
    old_status      site_status NOT NULL,
    old_pct         smallint NOT NULL,
    old_actual_start date,
    old_actual_finish date,
    new_status      site_status NOT NULL,
    new_pct         smallint NOT NULL,
    new_actual_start date,
    new_actual_finish date,
    note            text,
    correction_reason text,
    state           submission_state NOT NULL DEFAULT 'submitted',
    decided_by      integer REFERENCES app_user (id),
    decided_actor   text,
    decided_at      timestamptz,
    -- Why it was returned.
    reason          text,
    -- The history row its approval wrote.
    history_id      bigint REFERENCES progress_history (id),
    CONSTRAINT progress_submission_decided
        CHECK ((state = 'submitted') = (decided_at IS NULL)),
    CONSTRAINT progress_submission_returned_with_reason
        CHECK (state <> 'returned' OR length(btrim(reason)) BETWEEN 1 AND 1000),
    CONSTRAINT progress_submission_approved_with_history
        CHECK ((state = 'approved') = (history_id IS NOT NULL)),
    CONSTRAINT progress_submission_pct_range CHECK (new_pct BETWEEN 0 AND 100)
);
CREATE INDEX progress_submission_open_idx ON progress_submission (submitted_at) WHERE state = 'submitted';
CREATE INDEX progress_submission_site_idx ON progress_submission (site_id, id);
CREATE INDEX progress_submission_author_idx ON progress_submission (submitted_by, state);

-- A submitted update's photos wait with it; its approval gives them its history row.
ALTER TABLE site_photo ADD COLUMN submission_id bigint REFERENCES progress_submission (id);
CREATE INDEX site_photo_submission_idx ON site_photo (submission_id) WHERE submission_id IS NOT NULL;

-- The dashboards "with submitted updates" count each work as its latest submitted update
-- would leave it (one made from the work as it stands: an update made from a state the work
-- has left can only be returned).
CREATE VIEW site_submitted AS
SELECT s.id, s.code, s.name, s.kind, s.district_id, s.commune_id, s.foreign_area_id,
       s.planned_finish, s.zone_area_m2, s.land_area_m2, s.classification, s.programme,
       coalesce(p.new_status, s.status) AS status,
       coalesce(p.new_pct, s.progress_pct) AS progress_pct,
       greatest(s.updated_at, p.submitted_at) AS updated_at
  FROM site s
  LEFT JOIN LATERAL (
        SELECT ps.new_status, ps.new_pct, ps.submitted_at FROM progress_submission ps
         WHERE ps.site_id = s.id AND ps.state = 'submitted'
           AND (ps.old_status, ps.old_pct, ps.old_actual_start, ps.old_actual_finish)
               IS NOT DISTINCT FROM (s.status, s.progress_pct, s.actual_start, s.actual_finish)
         ORDER BY ps.id DESC LIMIT 1) p ON true;

-- Dashboards are cached under the versions of what they read: a submission moves its
-- work's.
CREATE CONSTRAINT TRIGGER progress_submission_version
    AFTER INSERT OR UPDATE ON progress_submission
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION budget_line_changed();
