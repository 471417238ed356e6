-- One site layer at zoom 10 and below (db::tiles::CLUSTER_MAX_ZOOM) as clusters (issue 22
-- §2): the works the caller may see, counted per cell of an 8 × 8 grid over the tile, each
-- cell one point at the mean of its works' points with its count and its count per status
-- ("n_planned", …). A work is where its point is (itself, or a point on its surface); a
-- cell belongs to exactly one tile (x from the tile's west edge up to, not including, its
-- east edge; y from above its south edge up to its north edge), and nothing is drawn in a
-- tile's buffer: over all the tiles of a zoom, every work is counted once.
-- $1 z, $2 x, $3 y, $4 layer group, $5 clearance ceiling (classification as text),
-- $6 district code, $7 kind, $8 status, $9 phase, $10 programme (each NULL for any); the works CTE is
-- tile_cluster_works.sql or tile_cluster_works_as_of.sql (which takes the moment too).
WITH bounds AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           -- a hair wider: the exact cell is chosen below, in EPSG:3857
           ST_Expand(ST_Transform(ST_TileEnvelope($1, $2, $3), 4326), 1e-9) AS env4326
),
-- Each work's point in EPSG:3857 (site_all.point_3857) and its status.
works AS (
{works}
),
placed AS (
    SELECT ST_X(w.p) AS x, ST_Y(w.p) AS y, w.status
      FROM works w
),
inside AS (
    SELECT p.x, p.y, p.status,
           least(7, floor((p.x - ST_XMin(b.env)) / (ST_XMax(b.env) - ST_XMin(b.env)) * 8))::int AS cx,
           least(7, floor((ST_YMax(b.env) - p.y) / (ST_YMax(b.env) - ST_YMin(b.env)) * 8))::int AS cy
      FROM placed p CROSS JOIN bounds b
     WHERE p.x >= ST_XMin(b.env) AND p.x < ST_XMax(b.env)
       AND p.y > ST_YMin(b.env) AND p.y <= ST_YMax(b.env)
),
by_status AS (
    SELECT cx, cy, status, count(*) AS n, sum(x) AS sx, sum(y) AS sy
      FROM inside
     GROUP BY cx, cy, status
),
cells AS (
    SELECT cy * 8 + cx + 1 AS id,
           sum(n)::int AS count,
           sum(sx) / sum(n) AS x,
           sum(sy) / sum(n) AS y,
           jsonb_object_agg('n_' || status, n) AS statuses
      FROM by_status
     GROUP BY cx, cy
),
features AS (
    SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.x, c.y), 3857), b.env, 4096, 0, false) AS geom,
           c.id, c.count, c.statuses
      FROM cells c CROSS JOIN bounds b
)
-- In cell order: the same works give the same bytes (and ETag).
SELECT ST_AsMVT(features.*, $4, 4096, 'geom', 'id' ORDER BY features.id)
  FROM features
 WHERE geom IS NOT NULL
