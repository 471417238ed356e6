-- pg_restore loads rows with an empty search_path, so a function a table's generated
-- column calls must not look names up when it runs: a SQL-standard body binds them
-- when the function is created (as search_key and the VN-2000 functions already do).
CREATE OR REPLACE FUNCTION geometry_family(g geometry) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE GeometryType(g)
    WHEN 'POINT' THEN 'point'
    WHEN 'LINESTRING' THEN 'line'
    WHEN 'MULTILINESTRING' THEN 'line'
    WHEN 'POLYGON' THEN 'polygon'
    WHEN 'MULTIPOLYGON' THEN 'polygon'
    ELSE lower(GeometryType(g))
END;
