-- Review of issue 24's first steps.
-- Site tiles carry a work's programme (the map's programme filter), so a programme
-- changed moves its tiles as the other drawn fields do.
CREATE OR REPLACE FUNCTION site_tile_fields(s site_all) RETURNS record
LANGUAGE sql IMMUTABLE AS $$
    SELECT (s.geom, s.geom_family, s.code, s.name, s.kind, s.status, s.progress_pct,
            s.phase, s.programme, s.district_id, s.foreign_area_id, s.classification,
            s.deleted_at, s.created_at)
$$;

-- Every medium-term ceiling decision, kept: a dashboard as of a day compares allocations
-- with the latest decision on or before that day, not only with the one in force now.
CREATE TABLE budget_ceiling_history (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id         bigint NOT NULL REFERENCES site_all (id) ON DELETE CASCADE,
    year            smallint NOT NULL,
    source          funding_source NOT NULL,
    ceiling_vnd     bigint NOT NULL,
    decision_no     text NOT NULL,
    decision_date   date NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_ceiling_history_key_idx
    ON budget_ceiling_history (site_id, year, source, decision_date DESC, id DESC);
INSERT INTO budget_ceiling_history (site_id, year, source, ceiling_vnd, decision_no, decision_date,
                                    recorded_at)
SELECT site_id, year, source, ceiling_vnd, decision_no, decision_date, updated_at FROM budget_ceiling;

CREATE FUNCTION budget_ceiling_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO budget_ceiling_history (site_id, year, source, ceiling_vnd, decision_no, decision_date)
    VALUES (NEW.site_id, NEW.year, NEW.source, NEW.ceiling_vnd, NEW.decision_no, NEW.decision_date);
    RETURN NULL;
END $$;
CREATE TRIGGER budget_ceiling_record AFTER INSERT OR UPDATE ON budget_ceiling
    FOR EACH ROW EXECUTE FUNCTION budget_ceiling_record();
