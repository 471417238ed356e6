-- The indexes and foreign keys indexes_off.sql set aside, as they were: each index built
-- whole, each foreign key checked in one pass.
SET LOCAL maintenance_work_mem = '256MB';
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT * FROM demo_set_aside ORDER BY what DESC LOOP
        IF r.what = 'index' THEN
            EXECUTE r.def;
        ELSE
            EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', r.tbl, r.name, r.def);
        END IF;
    END LOOP;
END $$;
