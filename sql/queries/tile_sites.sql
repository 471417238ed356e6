-- One site layer as a Mapbox Vector Tile (zoom 11 on; below, tile_clusters.sql).
-- $1 z, $2 x, $3 y, $4 layer group, $5 clearance ceiling (classification as text).
-- Each work keeps its layer group, its geometry in EPSG:3857 and its point
-- (0031_tile_columns.sql): the tile reads its layer's index (site_tile_<layer>_idx; the
-- statement is prepared per layer, $4 written in) and transforms nothing.
-- Generalisation: a polygon or line smaller than about 3 screen pixels at this zoom is
-- drawn as its point, so small works stay visible (and cheap) when zoomed out;
-- ST_AsMVTGeom snaps what remains to the tile's 4096 grid.
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS area,
           -- three 256-pixel screen pixels, in metres
           3 * 2 * 20037508.342789244 / (256 * 2 ^ $1) AS small
),
features AS (
    SELECT ST_AsMVTGeom(
               CASE WHEN s.geom_family <> 'point'
                     AND greatest(ST_XMax(s.geom_3857) - ST_XMin(s.geom_3857),
                                  ST_YMax(s.geom_3857) - ST_YMin(s.geom_3857)) < b.small
                    THEN s.point_3857 ELSE s.geom_3857 END,
               b.env, 4096, 64, true) AS geom,
           s.id,
           s.code,
           s.name,
           s.kind,
           s.status::text AS status,
           s.progress_pct AS percent,
           s.phase,
           s.programme::text AS programme,
           coalesce(d.short_name, a.name_vi, a.name) AS district,
           coalesce(d.code, a.code) AS district_code
      FROM site s
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
     WHERE s.layer_group = $4
       AND s.geom_3857 && b.area
       AND s.classification <= $5::text::classification
)
-- Features in id order: the same works give the same bytes (and ETag), whatever the plan.
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'id' ORDER BY features.id)
  FROM features
 WHERE geom IS NOT NULL
