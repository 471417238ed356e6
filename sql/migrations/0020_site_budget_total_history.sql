-- Each work's budget totals as they stood at every moment its lines changed, so a
-- dashboard as of a date takes one row per work (its last before the date) instead of
-- rebuilding every line from budget_history and summing them on every request.
-- A row holds exactly what the lines' history gives at that moment: per line its last
-- budget_history row at or before it (latest recorded_at, then latest id), summed.
CREATE TABLE site_budget_total_history (
    site_id         bigint NOT NULL REFERENCES site (id) ON DELETE CASCADE,
    recorded_at     timestamptz NOT NULL,
    estimate_vnd    bigint NOT NULL,
    allocated_vnd   bigint NOT NULL,
    disbursed_vnd   bigint NOT NULL,
    settled_vnd     bigint NOT NULL,
    PRIMARY KEY (site_id, recorded_at)
        INCLUDE (estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
);

-- (Re)computes the rows of the given works from the given moments on, from
-- budget_history. A change usually adds one moment, the latest; one recorded with an
-- earlier moment than some already kept (a transaction that began earlier but committed
-- later) also rewrites the later rows, which the lines' history now gives differently.
CREATE FUNCTION site_budget_history_refresh(works bigint[], since timestamptz[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO site_budget_total_history AS t (site_id, recorded_at, estimate_vnd,
                                                allocated_vnd, disbursed_vnd, settled_vnd)
    SELECT m.site_id, m.recorded_at, sum(l.estimate_vnd), sum(l.allocated_vnd),
           sum(l.disbursed_vnd), sum(l.settled_vnd)
      FROM (SELECT DISTINCT h.site_id, h.recorded_at
              FROM unnest(works, since) AS c (site_id, since)
              JOIN budget_history h ON h.site_id = c.site_id AND h.recorded_at >= c.since) m
     CROSS JOIN LATERAL (
           SELECT DISTINCT ON (h.year, h.source) h.estimate_vnd, h.allocated_vnd,
                  h.disbursed_vnd, h.settled_vnd
             FROM budget_history h
            WHERE h.site_id = m.site_id AND h.recorded_at <= m.recorded_at
            ORDER BY h.year, h.source, h.recorded_at DESC, h.id DESC) l
     GROUP BY m.site_id, m.recorded_at
     ORDER BY m.site_id, m.recorded_at
    ON CONFLICT (site_id, recorded_at) DO UPDATE
       SET estimate_vnd = excluded.estimate_vnd, allocated_vnd = excluded.allocated_vnd,
           disbursed_vnd = excluded.disbursed_vnd, settled_vnd = excluded.settled_vnd
$$;

SELECT site_budget_history_refresh(array_agg(site_id), array_agg(since))
  FROM (SELECT site_id, min(recorded_at) AS since FROM budget_history GROUP BY site_id) w;

-- The lines' totals now, and their history. The history is refreshed after the totals
-- row of each work is written, which holds that row's lock to the end of the
-- transaction: two transactions changing one work's lines take turns, and the second
-- reads the first's history rows (committed by then) when it refreshes. Deleted lines
-- keep their history rows, so the history of totals does not change either.
CREATE OR REPLACE FUNCTION budget_line_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO site_budget_total AS t (site_id, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
        SELECT n.site_id, sum(n.estimate_vnd), sum(n.allocated_vnd), sum(n.disbursed_vnd), sum(n.settled_vnd)
          FROM new_lines n
         GROUP BY n.site_id
         ORDER BY n.site_id
        ON CONFLICT (site_id) DO UPDATE
           SET estimate_vnd = t.estimate_vnd + excluded.estimate_vnd,
               allocated_vnd = t.allocated_vnd + excluded.allocated_vnd,
               disbursed_vnd = t.disbursed_vnd + excluded.disbursed_vnd,
               settled_vnd = t.settled_vnd + excluded.settled_vnd;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE site_budget_total AS t
           SET estimate_vnd = t.estimate_vnd - o.e, allocated_vnd = t.allocated_vnd - o.a,
               disbursed_vnd = t.disbursed_vnd - o.d, settled_vnd = t.settled_vnd - o.s
          FROM (SELECT site_id, sum(estimate_vnd) AS e, sum(allocated_vnd) AS a,
                       sum(disbursed_vnd) AS d, sum(settled_vnd) AS s
                  FROM old_lines GROUP BY site_id) o
         WHERE t.site_id = o.site_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM site_budget_history_refresh(array_agg(c.site_id), array_agg(c.since))
           FROM (SELECT n.site_id, min(n.updated_at) AS since FROM new_lines n GROUP BY n.site_id) c;
    END IF;
    RETURN NULL;
END $$;
