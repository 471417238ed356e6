-- One context layer as a Mapbox Vector Tile, simplified to about a pixel at the zoom.
-- The column list and source come from the fixed list in src/db/tiles.rs, never from a request.
-- $1 z, $2 x, $3 y, $4 layer name.
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326) AS env4326,
           -- one pixel of a 4096-wide tile, in metres
           40075016.68 / (4096 * 2 ^ $1) AS pixel
),
features AS (
    SELECT ST_AsMVTGeom(ST_SimplifyPreserveTopology(ST_Transform(t.geom, 3857), b.pixel),
                        b.env, 4096, 64, true) AS geom,
           {columns}
      FROM {source} t
     CROSS JOIN bounds b
     WHERE t.geom && b.env4326
)
-- Features in id order: the same works give the same bytes (and ETag), whatever the plan.
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'id' ORDER BY features.id)
  FROM features
 WHERE geom IS NOT NULL
