-- A cold tile faster than the naive SQL (issue 22 §3): what a tile needs is kept in the
-- row instead of computed per request. Each work keeps its layer group (from its kind,
-- so a tile reads no other table to choose its works), its geometry in EPSG:3857 (no
-- transformation per tile) and the point it is drawn at when small or clustered (a point
-- on its surface, in EPSG:3857). Each layer has its own index of its works' geometries and
-- of their points (kvpt prepares one tile statement per layer, naming it, so PostgreSQL
-- picks that layer's index): a tile reads only its layer's entries. A new layer group
-- needs a migration with its two indexes.

-- A kind's layer group, kept with the work.
ALTER TABLE site_all ADD COLUMN layer_group text;

CREATE FUNCTION site_layer_group() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.layer_group := (SELECT layer_group FROM site_kind WHERE code = NEW.kind);
    RETURN NEW;
END $$;

CREATE TRIGGER site_layer_group
    BEFORE INSERT OR UPDATE OF kind ON site_all
    FOR EACH ROW EXECUTE FUNCTION site_layer_group();

-- The works there are: no tile changes (the column is new), so nothing is notified per row.
SET LOCAL kvpt.bulk = 'on';
UPDATE site_all s SET layer_group = k.layer_group FROM site_kind k WHERE k.code = s.kind;
ALTER TABLE site_all ALTER COLUMN layer_group SET NOT NULL;

-- A kind keeps its layer group: the works, their indexes and the cached tiles follow it.
CREATE FUNCTION site_kind_layer_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a kind''s layer group is fixed (% stays in %)', OLD.code, OLD.layer_group
        USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER site_kind_layer_fixed
    BEFORE UPDATE OF layer_group ON site_kind
    FOR EACH ROW WHEN (OLD.layer_group IS DISTINCT FROM NEW.layer_group)
    EXECUTE FUNCTION site_kind_layer_fixed();

-- Added after the update, so the table is rewritten once, compact.
ALTER TABLE site_all
    ADD COLUMN geom_3857 geometry GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
    ADD COLUMN point_3857 geometry GENERATED ALWAYS AS (
        ST_Transform(CASE WHEN GeometryType(geom) = 'POINT' THEN geom ELSE ST_PointOnSurface(geom) END, 3857)
    ) STORED;

-- `site` is `SELECT *` of the works that stand: made again with the new columns.
CREATE OR REPLACE VIEW site AS SELECT * FROM site_all WHERE deleted_at IS NULL;

CREATE INDEX site_tile_defence_works_idx ON site_all USING gist (geom_3857)
    WHERE layer_group = 'defence_works' AND deleted_at IS NULL;
CREATE INDEX site_point_defence_works_idx ON site_all USING gist (point_3857)
    WHERE layer_group = 'defence_works' AND deleted_at IS NULL;
CREATE INDEX site_tile_border_militia_idx ON site_all USING gist (geom_3857)
    WHERE layer_group = 'border_militia' AND deleted_at IS NULL;
CREATE INDEX site_point_border_militia_idx ON site_all USING gist (point_3857)
    WHERE layer_group = 'border_militia' AND deleted_at IS NULL;
CREATE INDEX site_tile_logistics_idx ON site_all USING gist (geom_3857)
    WHERE layer_group = 'logistics' AND deleted_at IS NULL;
CREATE INDEX site_point_logistics_idx ON site_all USING gist (point_3857)
    WHERE layer_group = 'logistics' AND deleted_at IS NULL;
CREATE INDEX site_tile_search_zones_idx ON site_all USING gist (geom_3857)
    WHERE layer_group = 'search_zones' AND deleted_at IS NULL;
CREATE INDEX site_point_search_zones_idx ON site_all USING gist (point_3857)
    WHERE layer_group = 'search_zones' AND deleted_at IS NULL;
CREATE INDEX site_tile_border_markers_idx ON site_all USING gist (geom_3857)
    WHERE layer_group = 'border_markers' AND deleted_at IS NULL;
CREATE INDEX site_point_border_markers_idx ON site_all USING gist (point_3857)
    WHERE layer_group = 'border_markers' AND deleted_at IS NULL;
CREATE INDEX site_tile_land_idx ON site_all USING gist (geom_3857)
    WHERE layer_group = 'land' AND deleted_at IS NULL;
CREATE INDEX site_point_land_idx ON site_all USING gist (point_3857)
    WHERE layer_group = 'land' AND deleted_at IS NULL;
ANALYZE site_all;
