-- Search teams record what the directive's §7 counts (issue 20 §5): each change of a
-- remains search zone's figures is an append-only history row, like progress, and the
-- dashboard "as of a date" reads them from there.

ALTER TABLE search_zone
    ADD COLUMN map_drawn_on date,
    -- Bumped by every change: an update says which one it was made from.
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD CONSTRAINT search_zone_map_date_needs_map CHECK (map_drawn_on IS NULL OR map_drawn);

CREATE TABLE search_history (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id           bigint NOT NULL REFERENCES site (id) ON DELETE RESTRICT,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    recorded_by       integer,              -- app_user.id; NULL for imports and the demo
    actor             text NOT NULL,
    zone_version      integer NOT NULL,     -- search_zone.version this row made
    remains_expected  integer NOT NULL,
    remains_found     integer NOT NULL,
    area_concluded_ha numeric(12, 2) NOT NULL,
    map_drawn         boolean NOT NULL,
    map_drawn_on      date,
    concluded_on      date,
    unit_in_charge    text,
    note              text
);
CREATE INDEX search_history_site_idx ON search_history (site_id, recorded_at DESC, id DESC);

CREATE FUNCTION search_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'search history is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'search_history_append_only';
END $$;
CREATE TRIGGER search_history_append_only
    BEFORE UPDATE OR DELETE ON search_history
    FOR EACH ROW EXECUTE FUNCTION search_history_append_only();
CREATE TRIGGER search_history_no_truncate
    BEFORE TRUNCATE ON search_history
    FOR EACH STATEMENT EXECUTE FUNCTION search_history_append_only();

-- Zones written before there was a history (the demo's, earlier imports) get one as the
-- dashboards read them until now: at the programme's start, the remains expected and
-- nothing done; at the end of the conclusion day (or now, when not concluded but remains
-- were found), the figures as they stand. Zones that have a history are left alone.
CREATE FUNCTION search_history_seed() RETURNS bigint
LANGUAGE sql AS $$
    WITH fresh AS (
        SELECT z.* FROM search_zone z
         WHERE NOT EXISTS (SELECT 1 FROM search_history h WHERE h.site_id = z.site_id)),
    start AS (
        INSERT INTO search_history (site_id, recorded_at, actor, zone_version, remains_expected,
                                    remains_found, area_concluded_ha, map_drawn, unit_in_charge, note)
        SELECT site_id, timestamptz '2020-01-01 00:00:00+07', 'kvpt', version, remains_expected, 0, 0,
               false, unit_in_charge, 'trước khi có lịch sử'
          FROM fresh
        RETURNING 1),
    now_ AS (
        INSERT INTO search_history (site_id, recorded_at, actor, zone_version, remains_expected,
                                    remains_found, area_concluded_ha, map_drawn, map_drawn_on,
                                    concluded_on, unit_in_charge, note)
        SELECT site_id,
               least(now(), CASE WHEN concluded_on IS NOT NULL
                                 THEN (concluded_on + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
                                          - interval '1 second'
                                 ELSE now() END),
               'kvpt', version, remains_expected, remains_found, area_concluded_ha, map_drawn,
               map_drawn_on, concluded_on, unit_in_charge, 'trước khi có lịch sử'
          FROM fresh
         WHERE concluded_on IS NOT NULL OR remains_found > 0 OR area_concluded_ha > 0 OR map_drawn
        RETURNING 1)
    SELECT (SELECT count(*) FROM start) + (SELECT count(*) FROM now_)
$$;

SELECT search_history_seed();
