-- "As of" figures look up each work's last history row before a date, and each budget
-- line's last state: indexes in that order, carrying what is read, so the lookups are
-- index-only.
DROP INDEX progress_history_site_idx;
CREATE INDEX progress_history_site_idx
    ON progress_history (site_id, recorded_at DESC, id DESC) INCLUDE (new_status, new_pct);
DROP INDEX budget_history_line_idx;
CREATE INDEX budget_history_line_idx
    ON budget_history (site_id, year, source, recorded_at DESC, id DESC)
    INCLUDE (estimate_vnd, allocated_vnd, disbursed_vnd, settled_vnd);

-- Budget lines and search-zone records change dashboard figures without touching a site:
-- they get versions too (cached dashboards are keyed by every version they read).
INSERT INTO layer_version (layer) VALUES ('budget');

CREATE FUNCTION budget_line_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM layer_version_bump_once('budget');
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER budget_line_version
    AFTER INSERT OR UPDATE OR DELETE ON budget_line
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION budget_line_changed();

CREATE FUNCTION search_zone_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM layer_version_bump_once('search_zones');
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER search_zone_version
    AFTER INSERT OR UPDATE OR DELETE ON search_zone
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION search_zone_changed();
