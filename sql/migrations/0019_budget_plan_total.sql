-- The medium-term plan's totals per year × funding source, kept per classification of the
-- works they belong to, so a dashboard sums a few dozen rows up to the viewer's clearance
-- instead of joining 300 000 lines to their works on every request.
-- Changes are added (new minus old): additions commute, so concurrent writers never lose
-- each other's change. Rows are written in key order so two writers cannot deadlock.
CREATE TABLE budget_plan_total (
    classification  classification NOT NULL,
    year            smallint NOT NULL,
    source          funding_source NOT NULL,
    lines           bigint NOT NULL DEFAULT 0,   -- how many lines: a key without any is not shown
    estimate_vnd    bigint NOT NULL DEFAULT 0,
    allocated_vnd   bigint NOT NULL DEFAULT 0,
    disbursed_vnd   bigint NOT NULL DEFAULT 0,
    settled_vnd     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (classification, year, source)
);

INSERT INTO budget_plan_total (classification, year, source, lines, estimate_vnd,
                               allocated_vnd, disbursed_vnd, settled_vnd)
SELECT s.classification, b.year, b.source, count(*), sum(b.estimate_vnd), sum(b.allocated_vnd),
       sum(b.disbursed_vnd), sum(b.settled_vnd)
  FROM budget_line b JOIN site s ON s.id = b.site_id
 GROUP BY 1, 2, 3;

-- Adds signed changes (one row per key, any order) to the totals.
CREATE FUNCTION budget_plan_add(changes budget_plan_total[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO budget_plan_total AS t (classification, year, source, lines, estimate_vnd,
                                        allocated_vnd, disbursed_vnd, settled_vnd)
    SELECT c.classification, c.year, c.source, sum(c.lines), sum(c.estimate_vnd), sum(c.allocated_vnd),
           sum(c.disbursed_vnd), sum(c.settled_vnd)
      FROM unnest(changes) c
     GROUP BY 1, 2, 3
     ORDER BY 1, 2, 3
    ON CONFLICT (classification, year, source) DO UPDATE
       SET lines = t.lines + excluded.lines,
           estimate_vnd = t.estimate_vnd + excluded.estimate_vnd,
           allocated_vnd = t.allocated_vnd + excluded.allocated_vnd,
           disbursed_vnd = t.disbursed_vnd + excluded.disbursed_vnd,
           settled_vnd = t.settled_vnd + excluded.settled_vnd
$$;

-- Lines changed: new lines add, old lines subtract, each under its work's classification.
-- The works are locked in share mode, so a concurrent change of a work's classification
-- waits for this transaction (and this one for it) and moves every line it can see.
-- (A work with lines is never deleted: the cascade would remove its budget history, which
-- is append-only.)
CREATE FUNCTION budget_line_plan_totals() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changes budget_plan_total[] := '{}';
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        changes := changes || ARRAY(
            SELECT ROW(s.classification, n.year, n.source, 1, n.estimate_vnd, n.allocated_vnd,
                       n.disbursed_vnd, n.settled_vnd)::budget_plan_total
              FROM new_lines n JOIN site s ON s.id = n.site_id
               FOR SHARE OF s);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        changes := changes || ARRAY(
            SELECT ROW(s.classification, o.year, o.source, -1, -o.estimate_vnd, -o.allocated_vnd,
                       -o.disbursed_vnd, -o.settled_vnd)::budget_plan_total
              FROM old_lines o JOIN site s ON s.id = o.site_id
               FOR SHARE OF s);
    END IF;
    PERFORM budget_plan_add(changes);
    RETURN NULL;
END $$;

CREATE TRIGGER budget_line_plan_insert AFTER INSERT ON budget_line
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_plan_totals();
CREATE TRIGGER budget_line_plan_update AFTER UPDATE ON budget_line
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_plan_totals();
CREATE TRIGGER budget_line_plan_delete AFTER DELETE ON budget_line
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION budget_line_plan_totals();

-- A work's classification changed: its lines move from the old classification to the new.
-- Row by row and only when it changed, so progress updates never pay for it.
CREATE FUNCTION site_plan_reclassify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM budget_plan_add(ARRAY(
        SELECT ROW(c.classification, b.year, b.source, c.sign, c.sign * b.estimate_vnd,
                   c.sign * b.allocated_vnd, c.sign * b.disbursed_vnd,
                   c.sign * b.settled_vnd)::budget_plan_total
          FROM budget_line b
          CROSS JOIN (VALUES (OLD.classification, -1), (NEW.classification, 1))
                AS c (classification, sign)
         WHERE b.site_id = NEW.id));
    RETURN NULL;
END $$;

CREATE TRIGGER site_plan_reclassify AFTER UPDATE OF classification ON site
    FOR EACH ROW WHEN (OLD.classification IS DISTINCT FROM NEW.classification)
    EXECUTE FUNCTION site_plan_reclassify();
