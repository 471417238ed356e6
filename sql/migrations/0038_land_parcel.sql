-- The defence land-use plan 2021–2030 (issue 24 §2, directive §8): each defence land
-- parcel (a work of kind defence_land) carries the plan's period and the 5-year period its
-- change is planned in, its current and planned use, its legal status and the decision
-- approving it. Its area is never typed: it is the parcel's geometry measured in VN-2000
-- / TM-3 105°30′ (EPSG:9209), stored with the work when its geometry is written
-- (`site_all.land_area_m2`, as search zones' areas are), so dashboards sum numbers. The
-- systems are named by their PROJ strings (EPSG:4326 and spatial_ref_sys's EPSG:9209),
-- not SRIDs: a restore recomputes the column with an empty search_path, where PostGIS
-- cannot look an SRID up.
ALTER TABLE site_all ADD COLUMN land_area_m2 double precision
    GENERATED ALWAYS AS (
        CASE WHEN kind = 'defence_land' THEN ST_Area(ST_Transform(geom,
            '+proj=longlat +datum=WGS84 +no_defs',
            '+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs'))
        END
    ) STORED;
CREATE OR REPLACE VIEW site AS SELECT * FROM site_all WHERE deleted_at IS NULL;

CREATE TYPE land_use AS ENUM (
    'command_post', 'barracks', 'defence_works', 'training', 'warehouse', 'border_post',
    'agriculture', 'forest', 'residential', 'unused', 'other');
CREATE TYPE land_legal_status AS ENUM ('certified', 'in_progress', 'none');

CREATE TABLE land_parcel (
    site_id         bigint PRIMARY KEY REFERENCES site_all (id) ON DELETE CASCADE,
    plan_period     text NOT NULL DEFAULT '2021-2030'
                    CONSTRAINT land_parcel_plan_period_known CHECK (plan_period IN ('2021-2030')),
    five_year       text NOT NULL
                    CONSTRAINT land_parcel_five_year_known CHECK (five_year IN ('2021-2025', '2026-2030')),
    current_use     land_use NOT NULL,
    planned_use     land_use NOT NULL,
    legal_status    land_legal_status NOT NULL DEFAULT 'none',
    decision_no     text CONSTRAINT land_parcel_decision_short CHECK (length(decision_no) <= 100),
    decision_date   date,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT land_parcel_decision_dated CHECK ((decision_no IS NULL) = (decision_date IS NULL))
);

-- A parcel's record is a defence land work's.
CREATE FUNCTION land_parcel_is_land() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM site_all WHERE id = NEW.site_id AND kind = 'defence_land') THEN
        RAISE EXCEPTION 'only defence land works carry a land-use plan'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'land_parcel_is_land';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER land_parcel_is_land BEFORE INSERT OR UPDATE OF site_id ON land_parcel
    FOR EACH ROW EXECUTE FUNCTION land_parcel_is_land();

-- Dashboards are cached under the site layers' versions: a plan changed moves its work's.
CREATE CONSTRAINT TRIGGER land_parcel_version
    AFTER INSERT OR UPDATE OR DELETE ON land_parcel
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION budget_line_changed();
