-- Each visible work with its budget totals and the flags the dashboard counts, after
-- dashboard_now.sql or dashboard_as_of.sql (which define params, state, budget and
-- site_budget). $3 the day, $4 the disbursement-ahead threshold (share of estimate),
-- $5 the stale-days threshold.
-- The medium-term ceilings in force on the day, of this part's works: per work × year ×
-- source, the latest decision on or before it (migrations 0035, 0039).
, ceiling AS NOT MATERIALIZED (
    SELECT DISTINCT ON (c.site_id, c.year, c.source) c.site_id, c.year, c.source, c.ceiling_vnd
      FROM budget_ceiling_history c
     WHERE c.decision_date <= $3::date
       AND c.site_id >= $6::int8 AND c.site_id < $7::int8
     ORDER BY c.site_id, c.year, c.source, c.decision_date DESC, c.id DESC
)
-- Each ceiling with what its line allocates (then): looked up per ceiling, as there are
-- few of them and many lines.
, ceiling_allocated AS (
    SELECT c.site_id, c.year, c.source, c.ceiling_vnd, coalesce(b.allocated_vnd, 0) AS allocated_vnd
      FROM ceiling c
      LEFT JOIN LATERAL (
            SELECT b.allocated_vnd FROM budget b
             WHERE b.site_id = c.site_id AND b.year = c.year AND b.source = c.source) b ON true
)
-- Works with a year × source allocated above its ceiling.
, over_ceiling AS (
    SELECT DISTINCT site_id FROM ceiling_allocated WHERE allocated_vnd > ceiling_vnd
)
, flagged AS (
    SELECT st.*, coalesce(sb.e, 0) AS e, coalesce(sb.a, 0) AS a, coalesce(sb.d, 0) AS d,
           coalesce(sb.s, 0) AS s,
           (sb.e > 0 AND sb.d::float8 / sb.e - st.pct::float8 / 100 > $4::float8) AS ahead,
           (coalesce(sb.s, 0) > 0 AND st.status NOT IN ('completed', 'handed_over')) AS settled_not_done,
           (st.status IN ('completed', 'handed_over') AND coalesce(sb.d, 0) = 0) AS done_nothing_disbursed,
           (st.status NOT IN ('completed', 'handed_over', 'cancelled')
            AND (st.last_update IS NULL
                 OR st.last_update < p.stale_before)) AS stale,
           (coalesce(st.planned_finish < p.day, false)
            AND st.status NOT IN ('completed', 'handed_over', 'cancelled')) AS late,
           -- A hashed lookup (not a join: few works have a ceiling, every work is probed).
           (st.id IN (SELECT site_id FROM over_ceiling)) AS over_ceiling
      FROM state st CROSS JOIN params p
      LEFT JOIN site_budget sb ON sb.site_id = st.id
)
