-- One site layer as a Mapbox Vector Tile, with each work's status and percent as they
-- stood before $6 (a timestamptz): rebuilt from its last progress_history row then, and
-- works created later left out. The same tile as tile_sites.sql otherwise; a file of its
-- own so the hot, current tile query stays a plain scan of site.
-- $1 z, $2 x, $3 y, $4 layer group, $5 clearance ceiling (classification as text).
-- The bounding-box test runs in EPSG:4326 so it uses site_geom_idx (which, unlike
-- site_tile_<layer>_idx, holds deleted works too); what is drawn is as tile_sites.sql draws it.
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326) AS env4326,
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
           coalesce(h.new_status::text, 'planned') AS status,
           coalesce(h.new_pct, 0) AS percent,
           s.phase,
           s.programme::text AS programme,
           coalesce(d.short_name, a.name_vi, a.name) AS district,
           coalesce(d.code, a.code) AS district_code
      FROM site_all s
      LEFT JOIN admin_unit d ON d.id = s.district_id
      LEFT JOIN adjacent_area a ON a.id = s.foreign_area_id
     CROSS JOIN bounds b
      LEFT JOIN LATERAL (
            SELECT ph.new_status, ph.new_pct
              FROM progress_history ph
             WHERE ph.site_id = s.id AND ph.recorded_at < $6::timestamptz
             ORDER BY ph.recorded_at DESC, ph.id DESC
             LIMIT 1) h ON true
     WHERE s.layer_group = $4
       AND s.classification <= $5::text::classification
       AND s.created_at < $6::timestamptz
       AND (s.deleted_at IS NULL OR s.deleted_at >= $6::timestamptz)
       AND s.geom && b.env4326
)
-- Features in id order: the same works give the same bytes (and ETag), whatever the plan.
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'id' ORDER BY features.id)
  FROM features
 WHERE geom IS NOT NULL
