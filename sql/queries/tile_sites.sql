-- One site layer as a Mapbox Vector Tile.
-- $1 z, $2 x, $3 y, $4 layer group, $5 clearance ceiling (classification as text).
-- The bounding-box test runs in EPSG:4326 so it uses site_geom_idx.
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326) AS env4326
),
features AS (
    SELECT ST_AsMVTGeom(ST_Transform(s.geom, 3857), b.env, 4096, 64, true) AS geom,
           s.id,
           s.code,
           s.name,
           s.kind,
           s.status::text AS status,
           s.progress_pct AS percent,
           coalesce(d.short_name, a.name_vi, a.name) AS district
      FROM site s
      JOIN site_kind k ON k.code = s.kind
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
     WHERE k.layer_group = $4
       AND s.classification <= $5::text::classification
       AND s.geom && b.env4326
)
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'id')
  FROM features
 WHERE geom IS NOT NULL
