-- A bulk load (the demo, a large import) bumps every layer it touches once, itself; the
-- per-row deferred version triggers step aside when its transaction says so with
-- `SET LOCAL kvpt.bulk = 'on'` (the WHEN is checked as each row is written, so no event is
-- even queued: 400 000 of them cost the 100 000-site demo load about 6 s).
DROP TRIGGER site_layer_version ON site;
CREATE CONSTRAINT TRIGGER site_layer_version
    AFTER INSERT OR UPDATE OR DELETE ON site
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION site_layer_changed();

DROP TRIGGER budget_line_version ON budget_line;
CREATE CONSTRAINT TRIGGER budget_line_version
    AFTER INSERT OR UPDATE OR DELETE ON budget_line
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION budget_line_changed();

DROP TRIGGER search_zone_version ON search_zone;
CREATE CONSTRAINT TRIGGER search_zone_version
    AFTER INSERT OR UPDATE OR DELETE ON search_zone
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('kvpt.bulk', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION search_zone_changed();

-- What a bulk load calls before it commits: every site layer and the budget move once.
CREATE FUNCTION bulk_load_done() RETURNS void
LANGUAGE sql AS $$
    UPDATE layer_version SET version = version + 1, changed_at = now()
     WHERE layer IN (SELECT layer_group FROM site_kind) OR layer = 'budget';
$$;
