-- A data version per map layer, bumped by every write to its sites: tiles carry it
-- as their ETag, so an edit shows on the very next tile request.

CREATE TABLE layer_version (
    layer       text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 1,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO layer_version (layer) SELECT DISTINCT layer_group FROM site_kind;
-- Context layers change only when `kvpt geodata load` runs, which bumps them.
INSERT INTO layer_version (layer)
VALUES ('province'), ('districts'), ('border'), ('adjacent_provinces'), ('rivers');

-- Statement-level, so a bulk load bumps each layer once rather than once per row.
CREATE FUNCTION site_bump_layer_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE layer_version SET version = version + 1, changed_at = now()
         WHERE layer IN (SELECT k.layer_group FROM new_rows c JOIN site_kind k ON k.code = c.kind);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE layer_version SET version = version + 1, changed_at = now()
         WHERE layer IN (SELECT k.layer_group
                           FROM (SELECT kind FROM new_rows UNION SELECT kind FROM old_rows) c
                           JOIN site_kind k ON k.code = c.kind);
    ELSE
        UPDATE layer_version SET version = version + 1, changed_at = now()
         WHERE layer IN (SELECT k.layer_group FROM old_rows c JOIN site_kind k ON k.code = c.kind);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER site_layer_version_insert AFTER INSERT ON site
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_bump_layer_version();
CREATE TRIGGER site_layer_version_update AFTER UPDATE ON site
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_bump_layer_version();
CREATE TRIGGER site_layer_version_delete AFTER DELETE ON site
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION site_bump_layer_version();
