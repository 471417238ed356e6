-- Administrative units and the context layers drawn under the works.
-- Loaded by `kvpt geodata load` from geodata/; never edited by users.

CREATE TABLE admin_unit (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level       text NOT NULL
                CONSTRAINT admin_unit_level_known CHECK (level IN ('province', 'district', 'commune')),
    code        text NOT NULL,                -- GSO code (72, 705, 25456 …)
    name        text NOT NULL,                -- full Vietnamese name: "Huyện Tân Biên"
    short_name  text NOT NULL,                -- "Tân Biên"
    name_en     text,
    parent_id   integer REFERENCES admin_unit (id),
    abbr        text,                         -- three letters used in site codes: TBI
    borders_cambodia boolean NOT NULL DEFAULT false,
    -- Communes have names and codes but no open geometry (see geodata/SOURCES.md).
    geom        geometry(MultiPolygon, 4326),
    source      text NOT NULL,
    CONSTRAINT admin_unit_level_code_key UNIQUE (level, code),
    CONSTRAINT admin_unit_geometry_valid CHECK (geom IS NULL OR ST_IsValid(geom))
);
CREATE INDEX admin_unit_geom_idx ON admin_unit USING gist (geom);
CREATE INDEX admin_unit_parent_idx ON admin_unit (parent_id);

-- Provinces around Tây Ninh: Vietnamese neighbours and the Cambodian provinces
-- across the border (where remains search zones may lie).
CREATE TABLE adjacent_area (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    country     char(2) NOT NULL CONSTRAINT adjacent_area_country_known CHECK (country IN ('VN', 'KH')),
    code        text NOT NULL CONSTRAINT adjacent_area_code_key UNIQUE,
    name        text NOT NULL,
    name_vi     text,
    name_en     text,
    name_km     text,
    note        text,
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    source      text NOT NULL,
    CONSTRAINT adjacent_area_geometry_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX adjacent_area_geom_idx ON adjacent_area USING gist (geom);

-- The Vietnam–Cambodia border along the province. Two depictions are kept; the
-- primary one is derived from the province outline and is the one placement,
-- distance rules and the map use.
CREATE TABLE border_line (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    name_vi     text NOT NULL,
    is_primary  boolean NOT NULL,
    caution     text,
    geom        geometry(MultiLineString, 4326) NOT NULL,
    source      text NOT NULL
);
CREATE UNIQUE INDEX border_line_one_primary ON border_line (is_primary) WHERE is_primary;
CREATE INDEX border_line_geom_idx ON border_line USING gist (geom);

CREATE TABLE river (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gshhg_level smallint NOT NULL,
    class       text NOT NULL,
    geom        geometry(MultiLineString, 4326) NOT NULL,
    source      text NOT NULL
);
CREATE INDEX river_geom_idx ON river USING gist (geom);
