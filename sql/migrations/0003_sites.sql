-- Defence works (sites): what they are, where, and where they stand.
-- The labels of kinds, statuses and programmes live in src/domain/; the database
-- holds the codes and every rule that must hold whoever writes.

CREATE TYPE site_status AS ENUM (
    'planned', 'design', 'under_construction', 'completed', 'handed_over',
    'suspended', 'cancelled'
);

-- Ordered: a clearance filter is `classification <= $1`.
CREATE TYPE classification AS ENUM ('public', 'internal', 'confidential', 'secret');

CREATE TYPE programme AS ENUM (
    'kvpt_2017_2020',      -- Đề án xây dựng KVPT giai đoạn 2017–2020
    'kvpt_2021_2025',      -- Đề án KVPT giai đoạn 2021–2025
    'mr7_roadmap'          -- lộ trình Đề án của Quân khu 7
);

-- The kinds of DOMAIN.md and the geometry families each may take. The pair
-- (kind, family) is what a site's geometry is checked against.
CREATE TABLE site_kind (
    code        text PRIMARY KEY,
    code_prefix text NOT NULL CONSTRAINT site_kind_code_prefix_key UNIQUE,
    layer_group text NOT NULL,
    seed_section smallint NOT NULL
);

CREATE TABLE site_kind_geometry (
    kind        text NOT NULL REFERENCES site_kind (code),
    family      text NOT NULL CONSTRAINT site_kind_geometry_family_known
                CHECK (family IN ('point', 'line', 'polygon')),
    PRIMARY KEY (kind, family)
);

INSERT INTO site_kind (code, code_prefix, layer_group, seed_section) VALUES
    ('district_command_post',     'SCH',  'defence_works',  8),
    ('provincial_command_post',   'SCHT', 'defence_works',  8),
    ('strongpoint_cluster',       'CDT',  'defence_works',  8),
    ('logistics_core_work',       'HCKT', 'logistics',      8),
    ('militia_post_combat_work',  'CHOT', 'border_militia', 8),
    ('militia_residential_point', 'DDC',  'border_militia', 8),
    ('border_guard_combat_work',  'DBP',  'border_militia', 4),
    ('warehouse',                 'KHO',  'logistics',      8),
    ('workshop',                  'TX',   'logistics',      8),
    ('mobility_road',             'DCD',  'defence_works',  8),
    ('barracks',                  'DT',   'logistics',      8),
    ('remains_search_zone',       'TKQT', 'search_zones',   7),
    ('gratitude_house',           'NTN',  'search_zones',   7),
    ('defence_land',              'DQP',  'land',           8),
    ('border_marker',             'MOC',  'border_markers', 6);

INSERT INTO site_kind_geometry (kind, family) VALUES
    ('district_command_post', 'point'), ('district_command_post', 'polygon'),
    ('provincial_command_post', 'polygon'),
    ('strongpoint_cluster', 'polygon'),
    ('logistics_core_work', 'point'), ('logistics_core_work', 'polygon'),
    ('militia_post_combat_work', 'point'),
    ('militia_residential_point', 'polygon'),
    ('border_guard_combat_work', 'point'),
    ('warehouse', 'point'), ('warehouse', 'polygon'),
    ('workshop', 'point'),
    ('mobility_road', 'line'),
    ('barracks', 'point'), ('barracks', 'polygon'),
    ('remains_search_zone', 'polygon'),
    ('gratitude_house', 'point'),
    ('defence_land', 'polygon'),
    ('border_marker', 'point');

-- Point, line or polygon; anything else (multipoints, collections) has no family
-- that a kind accepts, so the foreign key below refuses it.
CREATE FUNCTION geometry_family(g geometry) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT CASE GeometryType(g)
    WHEN 'POINT' THEN 'point'
    WHEN 'LINESTRING' THEN 'line'
    WHEN 'MULTILINESTRING' THEN 'line'
    WHEN 'POLYGON' THEN 'polygon'
    WHEN 'MULTIPOLYGON' THEN 'polygon'
    ELSE lower(GeometryType(g))
END
$$;

CREATE TABLE site (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL,
    name            text NOT NULL,
    name_en         text,
    kind            text NOT NULL,
    geom            geometry(Geometry, 4326) NOT NULL,
    geom_family     text GENERATED ALWAYS AS (geometry_family(geom)) STORED,
    -- Derived from geom by the site_derive_area trigger, never typed.
    district_id     integer REFERENCES admin_unit (id),
    commune_id      integer REFERENCES admin_unit (id),
    foreign_area_id integer REFERENCES adjacent_area (id),
    programme       programme NOT NULL,
    phase           smallint,
    responsible_unit text,
    status          site_status NOT NULL DEFAULT 'planned',
    progress_pct    smallint NOT NULL DEFAULT 0,
    planned_start   date,
    planned_finish  date,
    actual_start    date,
    actual_finish   date,
    classification  classification NOT NULL DEFAULT 'internal',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT site_code_key UNIQUE (code),
    CONSTRAINT site_code_format CHECK (code ~ '^[A-Z0-9]+(-[A-Z0-9]+)+$'),
    CONSTRAINT site_name_not_blank CHECK (btrim(name) <> ''),
    CONSTRAINT site_kind_known FOREIGN KEY (kind) REFERENCES site_kind (code),
    CONSTRAINT site_geometry_matches_kind FOREIGN KEY (kind, geom_family)
        REFERENCES site_kind_geometry (kind, family),
    CONSTRAINT site_geometry_valid CHECK (ST_IsValid(geom)),
    CONSTRAINT site_geometry_not_empty CHECK (NOT ST_IsEmpty(geom)),
    CONSTRAINT site_phase_range CHECK (phase BETWEEN 1 AND 9),
    CONSTRAINT site_progress_pct_range CHECK (progress_pct BETWEEN 0 AND 100),
    CONSTRAINT site_planned_dates_order CHECK (planned_finish >= planned_start),
    CONSTRAINT site_actual_dates_order CHECK (actual_finish >= actual_start),
    CONSTRAINT site_done_at_full_progress
        CHECK (status NOT IN ('completed', 'handed_over') OR progress_pct = 100),
    CONSTRAINT site_version_positive CHECK (version > 0)
);
CREATE INDEX site_geom_idx ON site USING gist (geom);
CREATE INDEX site_kind_idx ON site (kind);
CREATE INDEX site_district_idx ON site (district_id);
CREATE INDEX site_status_idx ON site (status);

-- District, commune (where communes have geometry) and, outside Vietnam, the
-- Cambodian province: found by a spatial join on a point of the geometry.
CREATE FUNCTION site_derive_area() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe geometry := ST_PointOnSurface(NEW.geom);
BEGIN
    SELECT id INTO NEW.district_id FROM admin_unit
     WHERE level = 'district' AND ST_Intersects(geom, probe)
     ORDER BY id LIMIT 1;
    IF NEW.district_id IS NULL THEN
        -- Works on the border line itself (markers) belong to the district they
        -- touch: accept the nearest one within about 50 m.
        SELECT id INTO NEW.district_id FROM admin_unit
         WHERE level = 'district' AND ST_DWithin(geom, probe, 0.0005)
         ORDER BY ST_Distance(geom, probe), id LIMIT 1;
    END IF;
    SELECT id INTO NEW.commune_id FROM admin_unit
     WHERE level = 'commune' AND geom IS NOT NULL AND ST_Intersects(geom, probe)
     ORDER BY id LIMIT 1;
    IF NEW.district_id IS NULL THEN
        SELECT id INTO NEW.foreign_area_id FROM adjacent_area
         WHERE ST_Intersects(geom, probe)
         ORDER BY country = 'KH' DESC, id LIMIT 1;
    ELSE
        NEW.foreign_area_id := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER site_derive_area
    BEFORE INSERT OR UPDATE OF geom ON site
    FOR EACH ROW WHEN (NEW.geom IS NOT NULL AND NOT ST_IsEmpty(NEW.geom))
    EXECUTE FUNCTION site_derive_area();

-- Remains search zones carry what the directive's section 7 counts.
CREATE TABLE search_zone (
    site_id         bigint PRIMARY KEY REFERENCES site (id) ON DELETE CASCADE,
    remains_expected integer NOT NULL DEFAULT 0,
    remains_found   integer NOT NULL DEFAULT 0,
    area_concluded_ha numeric(12, 2) NOT NULL DEFAULT 0,
    map_drawn       boolean NOT NULL DEFAULT false,
    concluded_on    date,
    unit_in_charge  text,
    CONSTRAINT search_zone_counts_not_negative CHECK (remains_expected >= 0 AND remains_found >= 0),
    CONSTRAINT search_zone_area_not_negative CHECK (area_concluded_ha >= 0)
);

-- Only search zones may have a search_zone row.
CREATE FUNCTION search_zone_site_is_zone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM site WHERE id = NEW.site_id AND kind = 'remains_search_zone') THEN
        RAISE EXCEPTION 'site % is not a remains search zone', NEW.site_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'search_zone_site_is_zone';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER search_zone_site_is_zone
    BEFORE INSERT OR UPDATE ON search_zone
    FOR EACH ROW EXECUTE FUNCTION search_zone_site_is_zone();
