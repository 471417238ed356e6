-- Where every visible work stood at a past moment, and its budget then: the start of
-- every dashboard query "as of" a date (dashboard_now.sql is its twin for now;
-- dashboard_flags.sql follows either). $1 clearance ceiling (text), $2 cutoff
-- (timestamptz), $3 the day "late" is judged on, $5 the stale-days threshold, and
-- the works taken: ids from $6 (included) to $7 (excluded), so one dashboard can be
-- computed in parts on several connections at once (dashboard_cells.sql).
-- A work's status and percent are those of its last history row before the cutoff
-- (planned at 0% before its first), and a budget line's figures are those of its last
-- budget_history row before the cutoff. Each is rebuilt once (materialized) and shared
-- by every figure; the last rows come from one ordered pass over each history's index
-- (cheaper than a lookup per work).
WITH params AS (
    SELECT $1::text::classification AS ceiling, $2::timestamptz AS cutoff, $3::date AS day,
           coalesce($2::timestamptz, now()) - make_interval(days => $5::int) AS stale_before
),
state AS MATERIALIZED (
    SELECT s.id, s.code, s.name, s.kind, s.district_id, s.commune_id, s.planned_finish,
           coalesce(h.new_status, 'planned') AS status, coalesce(h.new_pct, 0::smallint) AS pct,
           h.recorded_at AS last_update
      FROM site s
      LEFT JOIN (
            SELECT DISTINCT ON (ph.site_id) ph.site_id, ph.new_status, ph.new_pct, ph.recorded_at
              FROM progress_history ph
             WHERE ph.recorded_at < $2::timestamptz
               AND ph.site_id >= $6::int8 AND ph.site_id < $7::int8
             ORDER BY ph.site_id, ph.recorded_at DESC, ph.id DESC) h ON h.site_id = s.id
     -- The ceiling once, not the text-to-enum cast on every row.
     WHERE s.classification <= (SELECT $1::text::classification)
       AND s.created_at < $2::timestamptz
       AND s.id >= $6::int8 AND s.id < $7::int8
),
budget AS MATERIALIZED (
    SELECT DISTINCT ON (h.site_id, h.year, h.source)
           h.site_id, h.year, h.source, h.estimate_vnd, h.allocated_vnd, h.disbursed_vnd, h.settled_vnd
      FROM budget_history h
     WHERE h.recorded_at < $2::timestamptz
       AND h.site_id >= $6::int8 AND h.site_id < $7::int8
     ORDER BY h.site_id, h.year, h.source, h.recorded_at DESC, h.id DESC
),
-- Totals per work, summed from the lines as they stood (one pass).
site_budget AS MATERIALIZED (
    SELECT b.site_id, sum(b.estimate_vnd)::int8 AS e, sum(b.allocated_vnd)::int8 AS a,
           sum(b.disbursed_vnd)::int8 AS d, sum(b.settled_vnd)::int8 AS s
      FROM budget b
     GROUP BY b.site_id
),
-- The plan by year × source, from the lines as they stood (of this part's works: the
-- parts' plans add up).
plan AS NOT MATERIALIZED (
    SELECT b.year, b.source, sum(b.estimate_vnd) AS estimate, sum(b.allocated_vnd) AS allocated,
           sum(b.disbursed_vnd) AS disbursed, sum(b.settled_vnd) AS settled
      FROM budget b JOIN state st ON st.id = b.site_id
     GROUP BY b.year, b.source
)
