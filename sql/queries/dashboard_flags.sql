-- Each visible work with its budget totals and the flags the dashboard counts, after
-- dashboard_now.sql or dashboard_as_of.sql (which define params, state and site_budget).
-- $4 the disbursement-ahead threshold (share of estimate), $5 the stale-days threshold.
, flagged AS (
    SELECT st.*, coalesce(sb.e, 0) AS e, coalesce(sb.a, 0) AS a, coalesce(sb.d, 0) AS d,
           coalesce(sb.s, 0) AS s,
           (sb.e > 0 AND sb.d::float8 / sb.e - st.pct::float8 / 100 > $4::float8) AS ahead,
           (coalesce(sb.s, 0) > 0 AND st.status NOT IN ('completed', 'handed_over')) AS settled_not_done,
           (st.status IN ('completed', 'handed_over') AND coalesce(sb.d, 0) = 0) AS done_nothing_disbursed,
           (st.status NOT IN ('completed', 'handed_over', 'cancelled')
            AND (st.last_update IS NULL
                 OR st.last_update < p.stale_before)) AS stale,
           (st.planned_finish < p.day AND st.status NOT IN ('completed', 'handed_over', 'cancelled')) AS late
      FROM state st CROSS JOIN params p
      LEFT JOIN site_budget sb ON sb.site_id = st.id
)
