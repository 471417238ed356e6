-- Every dashboard figure in one document (after dashboard_flags.sql). The works are
-- first summed into cells (kind × district × status × late, a few hundred rows) in one
-- pass; the groupings, totals and flags are then sums of cells.
, cells AS MATERIALIZED (
    SELECT kind, district_id, status, late, count(*) AS n, sum(pct)::float8 AS pct_sum,
           sum(pct * e::float8) AS pct_e, sum(e::float8) AS e, sum(a) AS a, sum(d) AS d, sum(s) AS s,
           count(*) FILTER (WHERE ahead) AS ahead,
           count(*) FILTER (WHERE settled_not_done) AS settled_not_done,
           count(*) FILTER (WHERE done_nothing_disbursed) AS done_nothing_disbursed,
           count(*) FILTER (WHERE stale) AS stale
      FROM flagged
     GROUP BY kind, district_id, status, late
)
SELECT json_build_object(
  'by_kind', (SELECT coalesce(json_agg(g ORDER BY g.key), '[]') FROM (
      SELECT kind AS key, sum(n)::int8 AS total,
             coalesce(sum(n) FILTER (WHERE status = 'planned'), 0)::int8 AS planned,
             coalesce(sum(n) FILTER (WHERE status = 'design'), 0)::int8 AS design,
             coalesce(sum(n) FILTER (WHERE status = 'under_construction'), 0)::int8 AS under_construction,
             coalesce(sum(n) FILTER (WHERE status = 'completed'), 0)::int8 AS completed,
             coalesce(sum(n) FILTER (WHERE status = 'handed_over'), 0)::int8 AS handed_over,
             coalesce(sum(n) FILTER (WHERE status = 'suspended'), 0)::int8 AS suspended,
             coalesce(sum(n) FILTER (WHERE status = 'cancelled'), 0)::int8 AS cancelled,
             round((sum(pct_sum) / sum(n))::numeric, 1)::float8 AS mean_pct,
             round((sum(pct_e) / nullif(sum(e), 0))::numeric, 1)::float8 AS weighted_pct,
             coalesce(sum(n) FILTER (WHERE late), 0)::int8 AS late
        FROM cells GROUP BY kind) g),
  'by_district', (SELECT coalesce(json_agg(g ORDER BY g.key), '[]') FROM (
      SELECT coalesce(d.code, '') AS key, coalesce(d.short_name, '') AS name, sum(n)::int8 AS total,
             coalesce(sum(n) FILTER (WHERE status = 'planned'), 0)::int8 AS planned,
             coalesce(sum(n) FILTER (WHERE status = 'design'), 0)::int8 AS design,
             coalesce(sum(n) FILTER (WHERE status = 'under_construction'), 0)::int8 AS under_construction,
             coalesce(sum(n) FILTER (WHERE status = 'completed'), 0)::int8 AS completed,
             coalesce(sum(n) FILTER (WHERE status = 'handed_over'), 0)::int8 AS handed_over,
             coalesce(sum(n) FILTER (WHERE status = 'suspended'), 0)::int8 AS suspended,
             coalesce(sum(n) FILTER (WHERE status = 'cancelled'), 0)::int8 AS cancelled,
             round((sum(pct_sum) / sum(n))::numeric, 1)::float8 AS mean_pct,
             round((sum(pct_e) / nullif(sum(e), 0))::numeric, 1)::float8 AS weighted_pct,
             coalesce(sum(n) FILTER (WHERE late), 0)::int8 AS late
        FROM cells c LEFT JOIN admin_unit d ON d.id = c.district_id
       GROUP BY d.code, d.short_name) g),
  'totals', (SELECT json_build_object(
             'total', coalesce(sum(n), 0)::int8, 'late', coalesce(sum(n) FILTER (WHERE late), 0)::int8,
             'done', coalesce(sum(n) FILTER (WHERE status IN ('completed', 'handed_over')), 0)::int8,
             'mean_pct', round((sum(pct_sum) / nullif(sum(n), 0))::numeric, 1)::float8,
             'weighted_pct', round((sum(pct_e) / nullif(sum(e), 0))::numeric, 1)::float8,
             'estimate', sum(e)::int8, 'allocated', sum(a)::int8, 'disbursed', sum(d)::int8, 'settled', sum(s)::int8)
        FROM cells),
  'plan', (SELECT coalesce(json_agg(g ORDER BY g.year, g.source), '[]') FROM (
      SELECT year, source::text AS source, estimate, allocated, disbursed, settled
        FROM plan) g),
  'flags', (SELECT json_build_object(
             'ahead', coalesce(sum(ahead), 0)::int8,
             'settled_not_done', coalesce(sum(settled_not_done), 0)::int8,
             'done_nothing_disbursed', coalesce(sum(done_nothing_disbursed), 0)::int8,
             'stale', coalesce(sum(stale), 0)::int8)
        FROM cells),
  'search', (SELECT json_build_object(
             'districts_total', (SELECT count(*) FROM admin_unit WHERE level = 'district'),
             'districts_done', count(DISTINCT st.district_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day),
             'communes_total', (SELECT count(*) FROM admin_unit WHERE level = 'commune'),
             'communes_done', count(DISTINCT st.commune_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day),
             'zones', count(*),
             'zones_concluded', count(*) FILTER (WHERE z.concluded_on <= p.day),
             'zone_area_ha', round(coalesce(sum(s.zone_area_m2) / 10000, 0)::numeric, 1)::float8,
             'concluded_area_ha', round(coalesce(sum(z.area_concluded_ha) FILTER (WHERE p.cutoff IS NULL OR z.concluded_on <= p.day), 0), 1)::float8,
             'remains_expected', coalesce(sum(z.remains_expected), 0),
             'remains_found', coalesce(sum(z.remains_found) FILTER (WHERE p.cutoff IS NULL OR z.concluded_on <= p.day), 0))
        FROM state st JOIN search_zone z ON z.site_id = st.id JOIN site s ON s.id = st.id
       CROSS JOIN params p)
)::text
