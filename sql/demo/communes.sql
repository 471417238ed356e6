-- Simulated commune boundaries for the demo (issue 24 §1): Tây Ninh's communes have
-- names and GSO codes in geodata/ but no open boundaries, so each district is cut among
-- its communes from the list: one seed point per commune scattered in the district
-- (fixed seed: the same cut every time), the district split into the seeds' Voronoi
-- cells, and the cells given to the communes in code order, north-west first. The cells
-- partition the district exactly (no gap, no overlap). They are not real boundaries and
-- say so: `source` starts with "simulated", which the map labels. Nothing is done when
-- any commune already has a boundary (an administrator imported real ones).
WITH todo AS (
    SELECT d.id, d.geom
      FROM admin_unit d
     WHERE d.level = 'district'
       AND NOT EXISTS (SELECT 1 FROM admin_unit c WHERE c.level = 'commune' AND c.geom IS NOT NULL)
),
communes AS (
    SELECT c.id, c.parent_id,
           row_number() OVER (PARTITION BY c.parent_id ORDER BY c.code) AS k,
           count(*) OVER (PARTITION BY c.parent_id) AS n
      FROM admin_unit c
     WHERE c.level = 'commune'
),
seeds AS (
    SELECT t.id AS district_id, t.geom,
           ST_GeneratePoints(t.geom, (SELECT count(*) FROM communes c WHERE c.parent_id = t.id)::int,
                             1584 + t.id) AS points
      FROM todo t
     WHERE EXISTS (SELECT 1 FROM communes c WHERE c.parent_id = t.id)
),
cells AS (
    SELECT s.district_id,
           ST_Multi(ST_CollectionExtract(ST_Intersection(v.cell, s.geom), 3)) AS geom,
           row_number() OVER (PARTITION BY s.district_id
                              ORDER BY round(ST_Y(ST_Centroid(v.cell))::numeric, 2) DESC,
                                       ST_X(ST_Centroid(v.cell))) AS k
      FROM seeds s,
           LATERAL (SELECT (ST_Dump(ST_VoronoiPolygons(s.points, 0, ST_Expand(s.geom, 0.1)))).geom AS cell) v
)
UPDATE admin_unit a
   SET geom = cells.geom,
       source = 'simulated for the demo: a Voronoi cut of the district, not a real boundary'
  FROM communes c JOIN cells ON cells.district_id = c.parent_id AND cells.k = c.k
 WHERE a.id = c.id AND NOT ST_IsEmpty(cells.geom);

-- Context tiles are cached by this version.
UPDATE layer_version SET version = version + 1, changed_at = now() WHERE layer IN ('communes', 'labels');
