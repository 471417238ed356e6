-- Each work's budget summed over its lines, kept up to date as the lines change, so a
-- dashboard reads one row per work instead of summing 300 000 lines on every request.
-- The triggers add what changed (new minus old, per work): additions commute, so two
-- transactions writing lines of one work never lose each other's change.
CREATE TABLE site_budget_total (
    site_id         bigint PRIMARY KEY REFERENCES site (id) ON DELETE CASCADE,
    estimate_vnd    bigint NOT NULL DEFAULT 0,
    allocated_vnd   bigint NOT NULL DEFAULT 0,
    disbursed_vnd   bigint NOT NULL DEFAULT 0,
    settled_vnd     bigint NOT NULL DEFAULT 0
);

INSERT INTO site_budget_total (site_id, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
SELECT site_id, sum(estimate_vnd), sum(allocated_vnd), sum(disbursed_vnd), sum(settled_vnd)
  FROM budget_line
 GROUP BY site_id;

-- New lines add, old lines subtract (an update does both). Each part names only the
-- transition table its events have (PL/pgSQL plans a statement when it first runs).
-- Lines deleted with their work subtract from nothing: the cascade removed its totals.
CREATE FUNCTION budget_line_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO site_budget_total AS t (site_id, estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd)
        SELECT n.site_id, sum(n.estimate_vnd), sum(n.allocated_vnd), sum(n.disbursed_vnd), sum(n.settled_vnd)
          FROM new_lines n
         GROUP BY n.site_id
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
    RETURN NULL;
END $$;

CREATE TRIGGER budget_line_totals_insert AFTER INSERT ON budget_line
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_totals();
CREATE TRIGGER budget_line_totals_update AFTER UPDATE ON budget_line
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_totals();
CREATE TRIGGER budget_line_totals_delete AFTER DELETE ON budget_line
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_totals();
