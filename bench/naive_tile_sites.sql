-- The tile SQL of issue 22's baseline ("the naive SQL"): tile_sites.sql as it was before the
-- cold path was made faster, kept here so bench/tile_cold.py measures against it.
-- One site layer as a Mapbox Vector Tile.
-- $1 z, $2 x, $3 y, $4 layer group, $5 clearance ceiling (classification as text).
-- The bounding-box test runs in EPSG:4326 so it uses site_geom_idx.
-- Generalisation: a polygon or line smaller than about 3 screen pixels at this zoom is
-- drawn as a point on it, so small works stay visible (and cheap) when zoomed out;
-- ST_AsMVTGeom snaps what remains to the tile's 4096 grid.
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326) AS env4326,
           -- three 256-pixel screen pixels, in degrees
           3 * 360.0 / (256 * 2 ^ $1) AS small
),
features AS (
    SELECT ST_AsMVTGeom(
               ST_Transform(
                   CASE WHEN s.geom_family <> 'point'
                         AND greatest(ST_XMax(s.geom) - ST_XMin(s.geom),
                                      ST_YMax(s.geom) - ST_YMin(s.geom)) < b.small
                        THEN ST_PointOnSurface(s.geom)
                        ELSE s.geom END, 3857),
               b.env, 4096, 64, true) AS geom,
           s.id,
           s.code,
           s.name,
           s.kind,
           s.status::text AS status,
           s.progress_pct AS percent,
           s.phase,
           coalesce(d.short_name, a.name_vi, a.name) AS district,
           coalesce(d.code, a.code) AS district_code
      FROM site s
      JOIN site_kind k ON k.code = s.kind
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
     WHERE k.layer_group = $4
       AND s.classification <= $5::text::classification
       AND s.geom && b.env4326
)
-- Features in id order: the same works give the same bytes (and ETag), whatever the plan.
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'id' ORDER BY features.id)
  FROM features
 WHERE geom IS NOT NULL
