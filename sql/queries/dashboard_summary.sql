-- Every dashboard figure in one document (after dashboard_state.sql).
SELECT json_build_object(
  'by_kind', (SELECT coalesce(json_agg(g ORDER BY g.key), '[]') FROM (
      SELECT kind AS key, count(*) AS total,
             count(*) FILTER (WHERE status = 'planned') AS planned,
             count(*) FILTER (WHERE status = 'design') AS design,
             count(*) FILTER (WHERE status = 'under_construction') AS under_construction,
             count(*) FILTER (WHERE status = 'completed') AS completed,
             count(*) FILTER (WHERE status = 'handed_over') AS handed_over,
             count(*) FILTER (WHERE status = 'suspended') AS suspended,
             count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
             round(avg(pct), 1)::float8 AS mean_pct,
             round((sum(pct * e::float8) / nullif(sum(e::float8), 0))::numeric, 1)::float8 AS weighted_pct,
             count(*) FILTER (WHERE late) AS late
        FROM flagged GROUP BY kind) g),
  'by_district', (SELECT coalesce(json_agg(g ORDER BY g.key), '[]') FROM (
      SELECT coalesce(d.code, '') AS key, coalesce(d.short_name, '') AS name, count(*) AS total,
             count(*) FILTER (WHERE status = 'planned') AS planned,
             count(*) FILTER (WHERE status = 'design') AS design,
             count(*) FILTER (WHERE status = 'under_construction') AS under_construction,
             count(*) FILTER (WHERE status = 'completed') AS completed,
             count(*) FILTER (WHERE status = 'handed_over') AS handed_over,
             count(*) FILTER (WHERE status = 'suspended') AS suspended,
             count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
             round(avg(pct), 1)::float8 AS mean_pct,
             round((sum(pct * e::float8) / nullif(sum(e::float8), 0))::numeric, 1)::float8 AS weighted_pct,
             count(*) FILTER (WHERE late) AS late
        FROM flagged f LEFT JOIN admin_unit d ON d.id = f.district_id
       GROUP BY d.code, d.short_name) g),
  'totals', (SELECT json_build_object(
             'total', count(*), 'late', count(*) FILTER (WHERE late),
             'done', count(*) FILTER (WHERE status IN ('completed', 'handed_over')),
             'mean_pct', round(avg(pct), 1)::float8,
             'weighted_pct', round((sum(pct * e::float8) / nullif(sum(e::float8), 0))::numeric, 1)::float8,
             'estimate', sum(e), 'allocated', sum(a), 'disbursed', sum(d), 'settled', sum(s))
        FROM flagged),
  'plan', (SELECT coalesce(json_agg(g ORDER BY g.year, g.source), '[]') FROM (
      SELECT b.year, b.source::text AS source, sum(b.estimate_vnd) AS estimate,
             sum(b.allocated_vnd) AS allocated, sum(b.disbursed_vnd) AS disbursed,
             sum(b.settled_vnd) AS settled
        FROM budget b
       WHERE b.site_id IN (SELECT id FROM state)
       GROUP BY b.year, b.source) g),
  'flags', (SELECT json_build_object(
             'ahead', count(*) FILTER (WHERE ahead),
             'settled_not_done', count(*) FILTER (WHERE settled_not_done),
             'done_nothing_disbursed', count(*) FILTER (WHERE done_nothing_disbursed),
             'stale', count(*) FILTER (WHERE stale))
        FROM flagged),
  'search', (SELECT json_build_object(
             'districts_total', (SELECT count(*) FROM admin_unit WHERE level = 'district'),
             'districts_done', count(DISTINCT st.district_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day),
             'communes_total', (SELECT count(*) FROM admin_unit WHERE level = 'commune'),
             'communes_done', count(DISTINCT st.commune_id) FILTER (WHERE z.map_drawn AND z.concluded_on <= p.day),
             'zones', count(*),
             'zones_concluded', count(*) FILTER (WHERE z.concluded_on <= p.day),
             'zone_area_ha', round(coalesce(sum(ST_Area(s.geom::geography, false)) / 10000, 0)::numeric, 1)::float8,
             'concluded_area_ha', round(coalesce(sum(z.area_concluded_ha) FILTER (WHERE p.cutoff IS NULL OR z.concluded_on <= p.day), 0), 1)::float8,
             'remains_expected', coalesce(sum(z.remains_expected), 0),
             'remains_found', coalesce(sum(z.remains_found) FILTER (WHERE p.cutoff IS NULL OR z.concluded_on <= p.day), 0))
        FROM state st JOIN search_zone z ON z.site_id = st.id JOIN site s ON s.id = st.id
       CROSS JOIN params p)
)::text
