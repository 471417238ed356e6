-- Where every visible work stood at a moment, and its budget then: the common start of
-- every dashboard query. $1 clearance ceiling (text), $2 cutoff (timestamptz; NULL means
-- now, read from the site and budget tables themselves), $3 the day "late" is judged on.
-- As of a past moment, a work's status and percent are those of its last history row
-- before the cutoff (planned at 0% before its first), and a budget line's figures are
-- those of its last budget_history row before the cutoff.
WITH params AS (
    SELECT $1::text::classification AS ceiling, $2::timestamptz AS cutoff, $3::date AS day
),
-- Two branches, one pruned when the plan is made ($2 is known then): now reads the site
-- table alone; as of a date looks up each work's last history row before the cutoff.
state AS MATERIALIZED (
    SELECT s.id, s.code, s.name, s.kind, s.district_id, s.commune_id, s.planned_finish,
           s.status, s.progress_pct AS pct, s.updated_at AS last_update
      FROM site s
     WHERE $2::timestamptz IS NULL
       AND s.classification <= $1::text::classification
    UNION ALL
    SELECT s.id, s.code, s.name, s.kind, s.district_id, s.commune_id, s.planned_finish,
           coalesce(h.new_status, 'planned'), coalesce(h.new_pct, 0::smallint), h.recorded_at
      FROM site s
      LEFT JOIN LATERAL (
            SELECT ph.new_status, ph.new_pct, ph.recorded_at
              FROM progress_history ph
             WHERE ph.site_id = s.id AND ph.recorded_at < $2::timestamptz
             ORDER BY ph.recorded_at DESC, ph.id DESC
             LIMIT 1) h ON true
     WHERE $2::timestamptz IS NOT NULL
       AND s.classification <= $1::text::classification
       AND s.created_at < $2::timestamptz
),
budget AS MATERIALIZED (
    SELECT b.site_id, b.year, b.source, b.estimate_vnd, b.allocated_vnd, b.disbursed_vnd, b.settled_vnd
      FROM budget_line b
     WHERE $2::timestamptz IS NULL
    UNION ALL
    SELECT * FROM (
        SELECT DISTINCT ON (h.site_id, h.year, h.source)
               h.site_id, h.year, h.source, h.estimate_vnd, h.allocated_vnd, h.disbursed_vnd, h.settled_vnd
          FROM budget_history h
         WHERE $2::timestamptz IS NOT NULL AND h.recorded_at < $2::timestamptz
         ORDER BY h.site_id, h.year, h.source, h.recorded_at DESC, h.id DESC) past
),
-- Totals per work: now, as the budget_line triggers keep them (migration 0017); as of a
-- date, summed from the lines as they stood (one pass), joined to the visible works after.
site_budget AS MATERIALIZED (
    SELECT t.site_id, t.estimate_vnd AS e, t.allocated_vnd AS a, t.disbursed_vnd AS d,
           t.settled_vnd AS s
      FROM site_budget_total t
     WHERE $2::timestamptz IS NULL
    UNION ALL
    SELECT b.site_id, sum(b.estimate_vnd)::int8, sum(b.allocated_vnd)::int8,
           sum(b.disbursed_vnd)::int8, sum(b.settled_vnd)::int8
      FROM budget b
     WHERE $2::timestamptz IS NOT NULL
     GROUP BY b.site_id
),
flagged AS (
    SELECT st.*, coalesce(sb.e, 0) AS e, coalesce(sb.a, 0) AS a, coalesce(sb.d, 0) AS d,
           coalesce(sb.s, 0) AS s,
           (sb.e > 0 AND sb.d::float8 / sb.e - st.pct / 100.0 > $4::float8) AS ahead,
           (coalesce(sb.s, 0) > 0 AND st.status NOT IN ('completed', 'handed_over')) AS settled_not_done,
           (st.status IN ('completed', 'handed_over') AND coalesce(sb.d, 0) = 0) AS done_nothing_disbursed,
           (st.status NOT IN ('completed', 'handed_over', 'cancelled')
            AND (st.last_update IS NULL
                 OR st.last_update < coalesce(p.cutoff, now()) - make_interval(days => $5::int))) AS stale,
           (st.planned_finish < p.day AND st.status NOT IN ('completed', 'handed_over', 'cancelled')) AS late
      FROM state st CROSS JOIN params p
      LEFT JOIN site_budget sb ON sb.site_id = st.id
)
