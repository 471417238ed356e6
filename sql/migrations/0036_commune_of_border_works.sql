-- Works' communes (issue 24 §1), now that communes have boundaries (imported, or
-- simulated by the demo): a work on the border line itself, whose district is the one
-- within about 50 m, takes that district's nearest commune within the same distance; a
-- point on a boundary between communes takes one of its own district's. Commune
-- boundaries imported later derive every work's commune again through commune_of.
CREATE FUNCTION commune_of(probe geometry, district integer) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT id FROM admin_unit
          WHERE level = 'commune' AND geom IS NOT NULL AND ST_Intersects(geom, probe)
          ORDER BY parent_id IS NOT DISTINCT FROM district DESC, id LIMIT 1),
        (SELECT id FROM admin_unit
          WHERE district IS NOT NULL AND level = 'commune' AND parent_id = district
            AND geom IS NOT NULL AND ST_DWithin(geom, probe, 0.0005)
          ORDER BY ST_Distance(geom, probe), id LIMIT 1))
$$;

CREATE OR REPLACE FUNCTION site_derive_area() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    probe geometry := ST_PointOnSurface(NEW.geom);
BEGIN
    SELECT id INTO NEW.district_id FROM admin_unit
     WHERE level = 'district' AND ST_Intersects(geom, probe)
     ORDER BY id LIMIT 1;
    IF NEW.district_id IS NULL THEN
        -- Works on the border line itself (markers) belong to the district they
        -- touch: accept the nearest one within about 50 m.
        SELECT id INTO NEW.district_id FROM admin_unit
         WHERE level = 'district' AND ST_DWithin(geom, probe, 0.0005)
         ORDER BY ST_Distance(geom, probe), id LIMIT 1;
    END IF;
    NEW.commune_id := commune_of(probe, NEW.district_id);
    IF NEW.district_id IS NULL THEN
        SELECT id INTO NEW.foreign_area_id FROM adjacent_area
         WHERE ST_Intersects(geom, probe)
         ORDER BY country = 'KH' DESC, id LIMIT 1;
    ELSE
        NEW.foreign_area_id := NULL;
    END IF;
    RETURN NEW;
END $$;
