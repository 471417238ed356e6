-- Where every visible work stands now, and its budget: the start of every "now"
-- dashboard query (dashboard_as_of.sql is its twin for a past moment; dashboard_flags.sql
-- follows either). $1 clearance ceiling (text), $2 cutoff (always NULL here), $3 the day
-- "late" is judged on, $5 the stale-days threshold, the works taken: ids from $6
-- (included) to $7 (excluded), and the scope: $8 programme, $9 district code, $10 kind
-- (each NULL for all). Nothing is materialized: each use reads the tables
-- directly, so the planner joins and groups them as it would any plain query.
WITH params AS (
    SELECT $1::text::classification AS ceiling, $2::timestamptz AS cutoff, $3::date AS day,
           coalesce($2::timestamptz, now()) - make_interval(days => $5::int) AS stale_before
),
state AS NOT MATERIALIZED (
    SELECT s.id, s.kind, s.district_id, s.commune_id, s.foreign_area_id, s.planned_finish,
           s.zone_area_m2, s.land_area_m2, s.status, s.progress_pct AS pct, s.updated_at AS last_update
      FROM site s
     -- The ceiling once, not the text-to-enum cast on every row.
     WHERE s.classification <= (SELECT $1::text::classification)
       AND s.id >= $6::int8 AND s.id < $7::int8
       AND ($8::text IS NULL OR s.programme = $8::text::programme)
       AND ($9::text IS NULL OR s.district_id = (SELECT u.id FROM admin_unit u WHERE u.level = 'district' AND u.code = $9::text))
       AND ($10::text IS NULL OR s.kind = $10::text)
),
budget AS NOT MATERIALIZED (
    SELECT b.site_id, b.year, b.source, b.estimate_vnd, b.allocated_vnd, b.disbursed_vnd, b.settled_vnd
      FROM budget_line b
     WHERE b.site_id >= $6::int8 AND b.site_id < $7::int8
),
-- Totals per work as the budget_line triggers keep them (migration 0017).
site_budget AS NOT MATERIALIZED (
    SELECT t.site_id, t.estimate_vnd AS e, t.allocated_vnd AS a, t.disbursed_vnd AS d,
           t.settled_vnd AS s
      FROM site_budget_total t
     WHERE t.site_id >= $6::int8 AND t.site_id < $7::int8
),
-- The plan by year × source. Of every work: from the totals the budget_line triggers keep
-- per classification (migration 0019), which are not kept per work, so the whole plan is
-- given by the part that starts the ids (from the smallest int8) and none by the others.
-- Of a scope: from the lines of this part's works in it (the parts' plans add up).
plan AS NOT MATERIALIZED (
    SELECT t.year, t.source, sum(t.estimate_vnd) AS estimate, sum(t.allocated_vnd) AS allocated,
           sum(t.disbursed_vnd) AS disbursed, sum(t.settled_vnd) AS settled
      FROM budget_plan_total t
     WHERE t.classification <= $1::text::classification
       AND $6::int8 = -9223372036854775808
       AND $8::text IS NULL AND $9::text IS NULL AND $10::text IS NULL
     GROUP BY t.year, t.source
    HAVING sum(t.lines) > 0
    UNION ALL
    SELECT b.year, b.source, sum(b.estimate_vnd), sum(b.allocated_vnd), sum(b.disbursed_vnd),
           sum(b.settled_vnd)
      FROM budget b JOIN state st ON st.id = b.site_id
     WHERE NOT ($8::text IS NULL AND $9::text IS NULL AND $10::text IS NULL)
     GROUP BY b.year, b.source
)
,
-- The remains search figures as they stand.
zone AS NOT MATERIALIZED (
    SELECT z.site_id, z.remains_expected, z.remains_found, z.area_concluded_ha, z.map_drawn, z.concluded_on,
           z.unit_in_charge
      FROM search_zone z
     WHERE z.site_id >= $6::int8 AND z.site_id < $7::int8
)
