-- The remains search figures of the dashboard: zones of the visible works that existed
-- then (their district and commune are the works' own, so no history is read).
-- $1 clearance ceiling (text), $2 cutoff (NULL: now), $3 the day conclusions count up to.
WITH p AS (
    SELECT $1::text::classification AS ceiling, $2::timestamptz AS cutoff, $3::date AS day
),
zone AS (
    SELECT s.district_id, s.commune_id, s.zone_area_m2, z.*
      FROM search_zone z JOIN site s ON s.id = z.site_id
     WHERE s.classification <= (SELECT ceiling FROM p)
       AND ($2::timestamptz IS NULL OR s.created_at < $2::timestamptz)
)
SELECT json_build_object(
    'districts_total', (SELECT count(*) FROM admin_unit WHERE level = 'district'),
    'districts_done', count(DISTINCT z.district_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day),
    'communes_total', (SELECT count(*) FROM admin_unit WHERE level = 'commune'),
    'communes_done', count(DISTINCT z.commune_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day),
    'zones', count(*),
    'zones_concluded', count(*) FILTER (WHERE z.concluded_on <= p.day),
    'zone_area_ha', round(coalesce(sum(z.zone_area_m2) / 10000, 0)::numeric, 1)::float8,
    'concluded_area_ha', round(coalesce(sum(z.area_concluded_ha) FILTER (WHERE p.cutoff IS NULL OR z.concluded_on <= p.day), 0), 1)::float8,
    'remains_expected', coalesce(sum(z.remains_expected), 0),
    'remains_found', coalesce(sum(z.remains_found) FILTER (WHERE p.cutoff IS NULL OR z.concluded_on <= p.day), 0))::text
  FROM zone z CROSS JOIN p
