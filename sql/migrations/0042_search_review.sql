-- Review of search zones' figures (issue 24 §6): with review on, a search team's update
-- of a zone's figures (form, API, field queue, bulk CSV) waits as "submitted" like a
-- progress update, until a reviewer or an administrator approves it (applied then, its
-- history row the team's) or returns it with a reason.

CREATE TABLE search_submission (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id             bigint NOT NULL REFERENCES site_all (id),
    submitted_by        integer REFERENCES app_user (id),
    actor               text NOT NULL,
    submitted_at        timestamptz NOT NULL DEFAULT now(),
    -- The zone's figures version it was made from: applied only onto that version.
    base_version        integer NOT NULL,
    old_remains_expected integer NOT NULL,
    old_remains_found   integer NOT NULL,
    old_area_concluded_ha numeric(12, 2) NOT NULL,
    old_map_drawn       boolean NOT NULL,
    old_map_drawn_on    date,
    old_concluded_on    date,
    old_unit_in_charge  text,
    new_remains_expected integer NOT NULL,
    new_remains_found   integer NOT NULL,
    new_area_concluded_ha numeric(12, 2) NOT NULL,
    new_map_drawn       boolean NOT NULL,
    new_map_drawn_on    date,
    new_concluded_on    date,
    new_unit_in_charge  text,
    note                text,
    correction_reason   text,
    state               submission_state NOT NULL DEFAULT 'submitted',
    decided_by          integer REFERENCES app_user (id),
    decided_actor       text,
    decided_at          timestamptz,
    reason              text,
    history_id          bigint REFERENCES search_history (id),
    CONSTRAINT search_submission_decided
        CHECK ((state = 'submitted') = (decided_at IS NULL)),
    CONSTRAINT search_submission_returned_with_reason
        CHECK (state <> 'returned' OR length(btrim(reason)) BETWEEN 1 AND 1000),
    CONSTRAINT search_submission_approved_with_history
        CHECK ((state = 'approved') = (history_id IS NOT NULL))
);
CREATE INDEX search_submission_open_idx ON search_submission (submitted_at) WHERE state = 'submitted';
CREATE INDEX search_submission_site_idx ON search_submission (site_id, id);
CREATE INDEX search_submission_author_idx ON search_submission (submitted_by, state);

-- The dashboards "with submitted updates" count each zone as its latest submitted update
-- would leave it (one made from the figures as they stand: a zone's version also moves
-- when its work is imported again, which leaves a waiting update as good as it was).
CREATE VIEW search_zone_submitted AS
SELECT z.site_id,
       coalesce(p.new_remains_expected, z.remains_expected) AS remains_expected,
       coalesce(p.new_remains_found, z.remains_found) AS remains_found,
       coalesce(p.new_area_concluded_ha, z.area_concluded_ha) AS area_concluded_ha,
       coalesce(p.new_map_drawn, z.map_drawn) AS map_drawn,
       CASE WHEN p.id IS NULL THEN z.map_drawn_on ELSE p.new_map_drawn_on END AS map_drawn_on,
       CASE WHEN p.id IS NULL THEN z.concluded_on ELSE p.new_concluded_on END AS concluded_on,
       CASE WHEN p.id IS NULL THEN z.unit_in_charge ELSE p.new_unit_in_charge END AS unit_in_charge,
       z.version
  FROM search_zone z
  LEFT JOIN LATERAL (
        SELECT ps.* FROM search_submission ps
         WHERE ps.site_id = z.site_id AND ps.state = 'submitted'
           AND (ps.old_remains_expected, ps.old_remains_found, ps.old_area_concluded_ha, ps.old_map_drawn,
                ps.old_map_drawn_on, ps.old_concluded_on, ps.old_unit_in_charge)
               IS NOT DISTINCT FROM (z.remains_expected, z.remains_found, z.area_concluded_ha, z.map_drawn,
                                     z.map_drawn_on, z.concluded_on, z.unit_in_charge)
         ORDER BY ps.id DESC LIMIT 1) p ON true;

CREATE CONSTRAINT TRIGGER search_submission_version
    AFTER INSERT OR UPDATE ON search_submission
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION budget_line_changed();
