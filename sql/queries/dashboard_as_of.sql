-- Where every visible work stood at a past moment, and its budget then: the start of
-- every dashboard query "as of" a date (dashboard_now.sql is its twin for now;
-- dashboard_flags.sql follows either). $1 clearance ceiling (text), $2 cutoff
-- (timestamptz), $3 the day "late" is judged on, $5 the stale-days threshold, the
-- works taken: ids from $6 (included) to $7 (excluded), so one dashboard can be
-- computed in parts on several connections at once (dashboard_cells.sql), and the
-- scope: $8 programme, $9 district code, $10 kind (each NULL for all).
-- A work's status and percent are those of its last history row before the cutoff
-- (planned at 0% before its first), and a budget line's figures are those of its last
-- budget_history row before the cutoff, a work's totals the sum of its lines'. The works'
-- state is rebuilt once (materialized) and shared by every figure; last rows come from
-- one ordered pass over each history's index (cheaper than a lookup per work).
WITH params AS (
    SELECT $1::text::classification AS ceiling, $2::timestamptz AS cutoff, $3::date AS day,
           coalesce($2::timestamptz, now()) - make_interval(days => $5::int) AS stale_before
),
state AS MATERIALIZED (
    SELECT s.id, s.kind, s.district_id, s.commune_id, s.foreign_area_id, s.planned_finish,
           s.zone_area_m2, s.land_area_m2, coalesce(h.new_status, 'planned') AS status, coalesce(h.new_pct, 0::smallint) AS pct,
           h.recorded_at AS last_update
      FROM site_all s
      LEFT JOIN (
            SELECT DISTINCT ON (ph.site_id) ph.site_id, ph.new_status, ph.new_pct, ph.recorded_at
              FROM progress_history ph
             WHERE ph.recorded_at < $2::timestamptz
               AND ph.site_id >= $6::int8 AND ph.site_id < $7::int8
             ORDER BY ph.site_id, ph.recorded_at DESC, ph.id DESC) h ON h.site_id = s.id
     -- The ceiling once, not the text-to-enum cast on every row.
     WHERE s.classification <= (SELECT $1::text::classification)
       AND s.created_at < $2::timestamptz
       AND (s.deleted_at IS NULL OR s.deleted_at >= $2::timestamptz)
       AND s.id >= $6::int8 AND s.id < $7::int8
       AND ($8::text IS NULL OR s.programme = $8::text::programme)
       AND ($9::text IS NULL OR s.district_id = (SELECT u.id FROM admin_unit u WHERE u.level = 'district' AND u.code = $9::text))
       AND ($10::text IS NULL OR s.kind = $10::text)
),
-- The lines as they stood, for the plan.
budget AS NOT MATERIALIZED (
    SELECT DISTINCT ON (h.site_id, h.year, h.source)
           h.site_id, h.year, h.source, h.estimate_vnd, h.allocated_vnd, h.disbursed_vnd, h.settled_vnd
      FROM budget_history h
     WHERE h.recorded_at < $2::timestamptz
       AND h.site_id >= $6::int8 AND h.site_id < $7::int8
     ORDER BY h.site_id, h.year, h.source, h.recorded_at DESC, h.id DESC
),
-- Totals per work as they stood: the last row before the cutoff of the history the
-- budget_line triggers keep (migration 0020), which sums the lines as they stood.
site_budget AS NOT MATERIALIZED (
    SELECT DISTINCT ON (t.site_id) t.site_id, t.estimate_vnd AS e, t.allocated_vnd AS a,
           t.disbursed_vnd AS d, t.settled_vnd AS s
      FROM site_budget_total_history t
     WHERE t.recorded_at < $2::timestamptz
       AND t.site_id >= $6::int8 AND t.site_id < $7::int8
     ORDER BY t.site_id DESC, t.recorded_at DESC
),
-- The plan by year × source, from the lines as they stood (of this part's works: the
-- parts' plans add up).
plan AS NOT MATERIALIZED (
    SELECT b.year, b.source, sum(b.estimate_vnd) AS estimate, sum(b.allocated_vnd) AS allocated,
           sum(b.disbursed_vnd) AS disbursed, sum(b.settled_vnd) AS settled
      FROM budget b JOIN state st ON st.id = b.site_id
     GROUP BY b.year, b.source
)
,
-- The remains search figures as they stood: each zone's last search_history row before
-- the cutoff (migration 0025); a zone with none had nothing recorded yet.
zone AS NOT MATERIALIZED (
    SELECT DISTINCT ON (h.site_id) h.site_id, h.remains_expected, h.remains_found, h.area_concluded_ha,
           h.map_drawn, h.concluded_on, h.unit_in_charge
      FROM search_history h
     WHERE h.recorded_at < $2::timestamptz
       AND h.site_id >= $6::int8 AND h.site_id < $7::int8
     ORDER BY h.site_id, h.recorded_at DESC, h.id DESC
)
