-- One part of the dashboard (after dashboard_flags.sql): its works summed into cells
-- (kind × district × status × late, a few hundred rows) in one pass, and its share of
-- the plan by year × source. The parts' cells and plans add up to every figure
-- (src/db/dashboard.rs groups and totals them).
, cells AS (
    SELECT f.kind, area_key(d.code, f.kind) AS district, coalesce(d.short_name, '') AS district_name,
           f.status::text AS status, f.late, count(*)::int8 AS n, sum(f.pct)::float8 AS pct_sum,
           sum(f.pct * f.e::float8) AS pct_e, sum(f.e)::int8 AS e, sum(f.a)::int8 AS a,
           sum(f.d)::int8 AS d, sum(f.s)::int8 AS s,
           count(*) FILTER (WHERE f.ahead)::int8 AS ahead,
           count(*) FILTER (WHERE f.settled_not_done)::int8 AS settled_not_done,
           count(*) FILTER (WHERE f.done_nothing_disbursed)::int8 AS done_nothing_disbursed,
           count(*) FILTER (WHERE f.stale)::int8 AS stale,
           count(*) FILTER (WHERE f.over_ceiling)::int8 AS over_ceiling
      FROM flagged f
      LEFT JOIN admin_unit d ON d.id = f.district_id
     GROUP BY f.kind, d.code, d.short_name, f.status, f.late
)
-- The defence land-use plan (migration 0038) as it stands, of this part's parcels: by
-- planned use × district × legal status × 5-year period, a small grouping of its own (the
-- parcels are a tenth of the works). Whole m² per parcel, summed exactly, so the parts
-- add up to the same figure.
, land AS (
    SELECT l.planned_use::text AS planned_use, area_key(d.code, st.kind) AS district,
           coalesce(d.short_name, '') AS district_name, l.legal_status::text AS legal_status,
           l.five_year, count(*)::int8 AS parcels,
           coalesce(sum(round(st.land_area_m2)), 0)::int8 AS area_m2,
           count(*) FILTER (WHERE st.status IN ('completed', 'handed_over'))::int8 AS done,
           coalesce(sum(round(st.land_area_m2))
                    FILTER (WHERE st.status IN ('completed', 'handed_over')), 0)::int8 AS done_m2,
           coalesce(sum(round(st.land_area_m2))
                    FILTER (WHERE l.current_use = l.planned_use), 0)::int8 AS in_use_m2
      FROM land_parcel l
      JOIN state st ON st.id = l.site_id
      LEFT JOIN admin_unit d ON d.id = st.district_id
     WHERE l.site_id >= $6::int8 AND l.site_id < $7::int8
     GROUP BY l.planned_use, d.code, d.short_name, st.kind, l.legal_status, l.five_year
)
-- The remains search figures of this part's zones (a work has at most one) as they stand
-- or stood (`zone`, from dashboard_now.sql or dashboard_as_of.sql's history), and the
-- districts and communes where one is concluded and mapped (a district or commune counts
-- once however many parts name it).
, zoned AS MATERIALIZED (
    -- The part's zones with their works, read once for the figures and the areas abroad.
    SELECT st.id, st.district_id, st.commune_id, st.foreign_area_id, st.zone_area_m2,
           z.concluded_on, z.map_drawn, z.area_concluded_ha, z.remains_expected, z.remains_found,
           z.unit_in_charge
      FROM state st
      JOIN zone z ON z.site_id = st.id
)
, zones AS (
    SELECT count(*)::int8 AS zones,
           count(*) FILTER (WHERE z.concluded_on <= p.day)::int8 AS zones_concluded,
           coalesce(sum(z.zone_area_m2), 0)::float8 AS zone_area_m2,
           coalesce(sum(z.area_concluded_ha * 100), 0)::int8 AS concluded_ha_100,
           coalesce(sum(z.remains_expected), 0)::int8 AS remains_expected,
           coalesce(sum(z.remains_found), 0)::int8 AS remains_found,
           coalesce(array_agg(DISTINCT z.district_id)
                    FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day AND z.district_id IS NOT NULL),
                    '{}') AS done_districts,
           coalesce(array_agg(DISTINCT z.commune_id)
                    FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day AND z.commune_id IS NOT NULL),
                    '{}') AS done_communes
      FROM zoned z
     CROSS JOIN params p
)
SELECT json_build_object(
  'cells', (SELECT coalesce(json_agg(c), '[]') FROM cells c),
  'land', (SELECT coalesce(json_agg(g), '[]') FROM land g),
  'plan', (SELECT coalesce(json_agg(g), '[]') FROM (
      SELECT year, source::text AS source, estimate::int8, allocated::int8, disbursed::int8,
             settled::int8
        FROM plan) g),
  -- The ceilings of this part's visible works by year × source, and what those works'
  -- lines allocate.
  'ceilings', (SELECT coalesce(json_agg(g), '[]') FROM (
      SELECT c.year, c.source::text AS source, sum(c.ceiling_vnd)::int8 AS ceiling,
             sum(c.allocated_vnd)::int8 AS allocated
        FROM ceiling_allocated c JOIN state st ON st.id = c.site_id
       GROUP BY c.year, c.source) g),
  'search', (SELECT row_to_json(z) FROM zones z),
  -- The zones in Cambodia by area (Cambodian province) and unit in charge (as it stands,
  -- or stood): the "unit areas in Cambodia" whose search the directive counts.
  'abroad', (SELECT coalesce(json_agg(g), '[]') FROM (
      SELECT a.code, coalesce(a.name_vi, a.name) AS name, coalesce(z.unit_in_charge, '') AS unit,
             count(*)::int8 AS zones,
             count(*) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day)::int8 AS concluded,
             coalesce(sum(z.zone_area_m2), 0)::float8 AS zone_area_m2,
             coalesce(sum(z.area_concluded_ha * 100), 0)::int8 AS concluded_ha_100
        FROM zoned z
        JOIN adjacent_area a ON a.id = z.foreign_area_id
       CROSS JOIN params p
       GROUP BY 1, 2, 3) g),
  -- The units counted: the province's, or the scope's district and its communes.
  'districts_total', (SELECT count(*) FROM admin_unit WHERE level = 'district'
                         AND ($9::text IS NULL OR code = $9::text)),
  'communes_total', (SELECT count(*) FROM admin_unit c WHERE level = 'commune'
                        AND ($9::text IS NULL OR c.parent_id IN (
                            SELECT id FROM admin_unit WHERE level = 'district' AND code = $9::text)))
)::text
