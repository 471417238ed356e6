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
-- In one pass over the works' history rows: each row adds what it changed on its line
-- (its figures minus the line's previous row's, in recorded_at then id order), and the
-- totals at a moment are the running sum of those changes up to it.
CREATE FUNCTION site_budget_history_refresh(works bigint[], since timestamptz[]) RETURNS void
LANGUAGE sql AS $$
    WITH change AS (
        SELECT h.site_id, h.recorded_at,
               h.estimate_vnd - coalesce(lead(h.estimate_vnd) OVER line, 0) AS e,
               h.allocated_vnd - coalesce(lead(h.allocated_vnd) OVER line, 0) AS a,
               h.disbursed_vnd - coalesce(lead(h.disbursed_vnd) OVER line, 0) AS d,
               h.settled_vnd - coalesce(lead(h.settled_vnd) OVER line, 0) AS s
          FROM unnest(works) AS w (site_id)
          JOIN budget_history h ON h.site_id = w.site_id
        -- Newest first, the order of budget_history_line_idx: the previous row is the next.
        WINDOW line AS (PARTITION BY h.site_id, h.year, h.source ORDER BY h.recorded_at DESC, h.id DESC)
    ),
    moment AS (
        SELECT c.site_id, c.recorded_at,
               sum(sum(c.e)) OVER work AS e, sum(sum(c.a)) OVER work AS a,
               sum(sum(c.d)) OVER work AS d, sum(sum(c.s)) OVER work AS s
          FROM change c
         GROUP BY c.site_id, c.recorded_at
        WINDOW work AS (PARTITION BY c.site_id ORDER BY c.recorded_at)
    )
    INSERT INTO site_budget_total_history AS t (site_id, recorded_at, estimate_vnd,
                                                allocated_vnd, disbursed_vnd, settled_vnd)
    SELECT m.site_id, m.recorded_at, m.e, m.a, m.d, m.s
      FROM moment m
      JOIN unnest(works, since) AS w (site_id, since) ON w.site_id = m.site_id
     WHERE m.recorded_at >= w.since
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
