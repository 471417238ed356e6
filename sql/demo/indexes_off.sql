-- A demo load fills empty tables in one transaction: their secondary indexes and foreign
-- keys are set aside first and built again whole at the end (indexes_on.sql), one sorted
-- build and one checking join each instead of a step per row (the load of 100 000 works
-- took two minutes with them in place). Constraint-backed indexes (primary keys, unique
-- codes) stay: the load's own statements look rows up through them.
CREATE TEMP TABLE demo_set_aside ON COMMIT DROP AS
SELECT 'index' AS what, c.relname AS tbl, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE c.relnamespace = current_schema()::regnamespace
   AND c.relname IN ('site_all', 'progress_history', 'budget_line', 'budget_history',
                     'site_budget_total_history')
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT 'foreign key', c.relname, k.conname, pg_get_constraintdef(k.oid)
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
 WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
   AND c.relname IN ('site_all', 'progress_history', 'budget_line', 'budget_history',
                     'site_budget_total_history');

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM demo_set_aside LOOP
        IF r.what = 'index' THEN
            EXECUTE format('DROP INDEX %I', r.name);
        ELSE
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', r.tbl, r.name);
        END IF;
    END LOOP;
END $$;
