-- Investments without a place on the map (issue 24 §4): the directive's §3 (command-post
-- automation with Viettel, the LAN and the shared software) and §8 (procurement of
-- equipment, vehicles, boats, flood and rescue gear). They are items of the plan like the
-- works: rows of `site_all` of two kinds that take no geometry, with their code, name,
-- programme, responsible unit, classification, status, percent and history, and budget
-- lines by year × source, so every plan, flag, dashboard, disclosure and report counts
-- them as it counts the works. What only they carry is in `investment`: the category and
-- the command post they equip, if any.
--
-- Their kinds are grouped with the map layer whose data version their changes move (the
-- dashboards are cached under those versions); having no geometry they are on no tile,
-- in no feature collection and in no GIS export.

INSERT INTO site_kind (code, code_prefix, layer_group, seed_section) VALUES
    ('command_automation', 'TDH', 'defence_works', 3),
    ('procurement',        'MS',  'logistics',     8);

ALTER TABLE site_all ALTER COLUMN geom DROP NOT NULL;
-- A work has a geometry (of a family its kind takes: the foreign key on (kind,
-- geom_family), which also refuses any geometry for these two kinds, who have no family);
-- an investment has none.
ALTER TABLE site_all ADD CONSTRAINT site_geometry_placed
    CHECK ((geom IS NULL) = (kind IN ('command_automation', 'procurement')));

-- An unplaced item is on no tile: nothing to notify.
CREATE OR REPLACE FUNCTION tile_change_notify(layer text, class classification, g geometry, many boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e geometry;
BEGIN
    IF layer IS NULL OR g IS NULL THEN
        RETURN;
    END IF;
    IF many THEN
        PERFORM pg_notify('tile_change', concat_ws('|', layer, class::text, '*'));
        RETURN;
    END IF;
    -- Longitude and latitude map to x and y each on its own, so the box of the transformed
    -- corners is the box of the transformed work.
    e := ST_Transform(ST_Envelope(g), 3857);
    PERFORM pg_notify('tile_change', concat_ws('|', layer, class::text,
        ST_XMin(e)::text, ST_YMin(e)::text, ST_XMax(e)::text, ST_YMax(e)::text));
END $$;

CREATE TYPE investment_category AS ENUM (
    -- §3: command-post automation
    'automation_equipment', 'lan', 'shared_software',
    -- §8: procurement
    'equipment', 'vehicles', 'boats', 'flood_rescue');

CREATE TABLE investment (
    site_id         bigint PRIMARY KEY REFERENCES site_all (id) ON DELETE CASCADE,
    category        investment_category NOT NULL,
    -- The command post it equips (district or provincial), if any.
    command_post_id bigint REFERENCES site_all (id),
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT investment_not_its_own_post CHECK (command_post_id <> site_id)
);
CREATE INDEX investment_command_post_idx ON investment (command_post_id);

-- The item is an investment of a kind whose categories include its own; the post it names
-- (when it names a new one) is a command post that stands, classified no higher than the
-- item (the item takes its district, which must not tell more than the item). Its district
-- is its post's (none without one: a province-wide purchase, or when its post has been
-- classified above it since).
CREATE FUNCTION investment_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    item site_all;
    post site_all;
BEGIN
    SELECT * INTO item FROM site_all WHERE id = NEW.site_id;
    IF item.kind IS DISTINCT FROM (CASE WHEN NEW.category IN ('automation_equipment', 'lan', 'shared_software')
                                        THEN 'command_automation' ELSE 'procurement' END) THEN
        RAISE EXCEPTION 'category % is not one of kind %', NEW.category, item.kind
            USING ERRCODE = 'check_violation', CONSTRAINT = 'investment_category_of_kind';
    END IF;
    IF NEW.command_post_id IS NOT NULL THEN
        SELECT * INTO post FROM site_all WHERE id = NEW.command_post_id;
        IF (TG_OP = 'INSERT' OR NEW.command_post_id IS DISTINCT FROM OLD.command_post_id)
           AND (post.deleted_at IS NOT NULL
                OR post.kind NOT IN ('district_command_post', 'provincial_command_post')) THEN
            RAISE EXCEPTION 'the linked site is not a command post'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'investment_command_post_is_post';
        END IF;
        IF (TG_OP = 'INSERT' OR NEW.command_post_id IS DISTINCT FROM OLD.command_post_id)
           AND post.classification > item.classification THEN
            RAISE EXCEPTION 'the command post is classified above the investment'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'investment_command_post_not_above';
        END IF;
    END IF;
    -- A post classified above the item since it was linked gives it no district.
    UPDATE site_all
       SET district_id = CASE WHEN post.classification <= item.classification THEN post.district_id END
     WHERE id = NEW.site_id
       AND district_id IS DISTINCT FROM
           (CASE WHEN post.classification <= item.classification THEN post.district_id END);
    RETURN NEW;
END $$;
CREATE TRIGGER investment_check BEFORE INSERT OR UPDATE ON investment
    FOR EACH ROW EXECUTE FUNCTION investment_check();

-- Dashboards are cached under the site layers' versions: a changed item moves its kind's.
CREATE CONSTRAINT TRIGGER investment_version
    AFTER INSERT OR UPDATE OR DELETE ON investment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION budget_line_changed();

-- Where the dashboards count an item: its district's code, '' abroad (a work in Cambodia),
-- '-' for an investment without a district (a province-wide purchase).
CREATE FUNCTION area_key(district_code text, kind text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(district_code, CASE WHEN kind IN ('command_automation', 'procurement') THEN '-' ELSE '' END)
$$;
