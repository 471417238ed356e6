-- Tiles invalidated where a work changed, not layer-wide (issue 22).
--
-- Each change to what a site tile shows is notified on the channel `tile_change`, once for
-- the work as it was and once as it is: "layer|classification|xmin|ymin|xmax|ymax", its
-- bounding box in EPSG:3857. Every kvpt process listening drops the tiles of that layer,
-- at the clearances that see that classification, whose area (with the tile's buffer)
-- meets the box; all its other tiles stay cached. Notices are sent at commit, in commit
-- order, so a process that has read one has every earlier one.
--
-- A transaction that changes more than 200 works notifies the rest by layer and
-- classification as a whole ("layer|classification|*"); a bulk load (the demo, a large
-- import) and a reload of the districts or the neighbouring areas (whose names the tiles
-- carry) notify every site layer ("*").

-- The columns a site tile reads (tile_sites.sql, tile_sites_as_of.sql).
CREATE FUNCTION site_tile_fields(s site_all) RETURNS record
LANGUAGE sql IMMUTABLE AS $$
    SELECT (s.geom, s.geom_family, s.code, s.name, s.kind, s.status, s.progress_pct,
            s.phase, s.district_id, s.foreign_area_id, s.classification, s.deleted_at,
            s.created_at)
$$;

-- Notifies that `layer` changed at `class` within `g`'s bounding box, or (`many` works in
-- this transaction already) at `class` as a whole: "layer|class|*", so that callers below
-- `class` keep their tiles (a bulk change to secret works moves nothing an anonymous
-- visitor's tiles are kept under).
CREATE FUNCTION tile_change_notify(layer text, class classification, g geometry, many boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e geometry;
BEGIN
    IF layer IS NULL THEN
        RETURN;
    END IF;
    IF many OR g IS NULL THEN
        PERFORM pg_notify('tile_change', concat_ws('|', layer, class::text, '*'));
        RETURN;
    END IF;
    -- Longitude and latitude map to x and y each on its own, so the box of the transformed
    -- corners is the box of the transformed work.
    e := ST_Transform(ST_Envelope(g), 3857);
    PERFORM pg_notify('tile_change', concat_ws('|', layer, class::text,
        ST_XMin(e)::text, ST_YMin(e)::text, ST_XMax(e)::text, ST_YMax(e)::text));
END $$;

CREATE FUNCTION site_tile_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    -- Works changed in this transaction so far, this one included.
    n integer := coalesce(nullif(current_setting('kvpt.tile_changes', true), ''), '0')::integer + 1;
BEGIN
    IF TG_OP = 'UPDATE' AND site_tile_fields(OLD) IS NOT DISTINCT FROM site_tile_fields(NEW) THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('kvpt.tile_changes', n::text, true);
    IF TG_OP <> 'INSERT' THEN
        PERFORM tile_change_notify((SELECT layer_group FROM site_kind WHERE code = OLD.kind),
                                   OLD.classification, OLD.geom, n > 200);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM tile_change_notify((SELECT layer_group FROM site_kind WHERE code = NEW.kind),
                                   NEW.classification, NEW.geom, n > 200);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER site_tile_change
    AFTER INSERT OR UPDATE OR DELETE ON site_all
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION site_tile_changed();

CREATE OR REPLACE FUNCTION bulk_load_done() RETURNS void
LANGUAGE sql AS $$
    UPDATE layer_version SET version = version + 1, changed_at = now()
     WHERE split_part(layer, '@', 1) IN (SELECT layer_group FROM site_kind UNION SELECT 'budget');
    SELECT pg_notify('tile_change', '*');
$$;

CREATE FUNCTION site_tiles_all_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tile_change', '*');
    RETURN NULL;
END $$;

CREATE TRIGGER admin_unit_tile_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_unit
    FOR EACH STATEMENT EXECUTE FUNCTION site_tiles_all_changed();
CREATE TRIGGER adjacent_area_tile_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON adjacent_area
    FOR EACH STATEMENT EXECUTE FUNCTION site_tiles_all_changed();
