-- Partner exchange: the profiles exports are cut to, the log of every export, and the
-- pinned VN-2000 conversion both directions use.

-- VN-2000 / TM-3 105°30′ through EPSG:6960 and nothing else: the +towgs84 of
-- spatial_ref_sys 9209 (Position Vector signs of Decision 05/2007/QĐ-BTNMT, see
-- geodata/VN2000.md) given to PROJ explicitly, so no PROJ database update or other
-- candidate operation (EPSG:5194 covers the south of the province) can change an answer.
CREATE FUNCTION to_vn2000_tm3(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN ST_SetSRID(ST_Transform(g, '+proj=longlat +datum=WGS84 +no_defs',
    '+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs'),
    9209);

CREATE FUNCTION from_vn2000_tm3(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN ST_SetSRID(ST_Transform(g,
    '+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs',
    '+proj=longlat +datum=WGS84 +no_defs'), 4326);

CREATE TYPE coarsening AS ENUM ('none', 'grid', 'district');

-- What one partner may receive. Nothing outside `kinds`, above `ceiling` or outside
-- `fields` leaves in an export naming this profile; the works of `coarse_kinds` leave
-- as one point: snapped to a `grid_m` grid, or their district's centre.
CREATE TABLE export_profile (
    name            text PRIMARY KEY,
    title           text NOT NULL,
    kinds           text[] NOT NULL,
    ceiling         classification NOT NULL,
    fields          text[] NOT NULL,
    coarse_kinds    text[] NOT NULL DEFAULT '{}',
    coarsening      coarsening NOT NULL DEFAULT 'none',
    grid_m          integer,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      integer REFERENCES app_user (id),
    disabled        boolean NOT NULL DEFAULT false,
    CONSTRAINT export_profile_name_format CHECK (name ~ '^[a-z0-9][a-z0-9_-]{1,39}$'),
    CONSTRAINT export_profile_title_present CHECK (length(btrim(title)) > 0),
    CONSTRAINT export_profile_grid_given CHECK ((coarsening = 'grid') = (grid_m IS NOT NULL)),
    CONSTRAINT export_profile_grid_range CHECK (grid_m IS NULL OR grid_m BETWEEN 10 AND 100000)
);

-- Every export: started when its first byte is asked for, finished with what left.
CREATE TABLE export_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    user_id         integer REFERENCES app_user (id),
    actor           text NOT NULL,
    via             text NOT NULL,                -- 'web' or 'cli'
    profile         text NOT NULL,
    profile_version integer NOT NULL,
    format          text NOT NULL,
    crs             text NOT NULL,
    filter          jsonb NOT NULL,
    outcome         text NOT NULL DEFAULT 'running',
    features        bigint,
    bytes           bigint,
    sha256          text,
    error           text,
    CONSTRAINT export_log_via_known CHECK (via IN ('web', 'cli')),
    CONSTRAINT export_log_outcome_known CHECK (outcome IN ('running', 'done', 'failed', 'aborted')),
    CONSTRAINT export_log_finished_has_figures
        CHECK (outcome <> 'done' OR (features IS NOT NULL AND bytes IS NOT NULL AND sha256 IS NOT NULL))
);
CREATE INDEX export_log_started_idx ON export_log (started_at DESC);
