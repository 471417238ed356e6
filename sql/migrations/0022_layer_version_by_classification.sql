-- A version per site layer and classification ("defence_works@secret") beside the layer's
-- own. A tile is cached by the versions of what its caller may see, so a change to a
-- secret work moves nothing an anonymous visitor's tile is keyed by: no cache miss, no
-- slower answer, tells them that something hidden changed (issue 18's review). The same
-- for budget lines (by their work's classification), which dashboards are keyed by.

INSERT INTO layer_version (layer)
SELECT DISTINCT l.layer || '@' || c::text
  FROM (SELECT layer_group AS layer FROM site_kind UNION SELECT 'budget') l,
       unnest(enum_range(NULL::classification)) c
ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION site_layer_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    layer text;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        layer := (SELECT layer_group FROM site_kind WHERE code = NEW.kind);
        PERFORM layer_version_bump_once(layer);
        PERFORM layer_version_bump_once(layer || '@' || NEW.classification::text);
    END IF;
    IF TG_OP = 'DELETE'
       OR (TG_OP = 'UPDATE' AND (OLD.kind <> NEW.kind OR OLD.classification <> NEW.classification)) THEN
        layer := (SELECT layer_group FROM site_kind WHERE code = OLD.kind);
        PERFORM layer_version_bump_once(layer);
        PERFORM layer_version_bump_once(layer || '@' || OLD.classification::text);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION search_zone_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM layer_version_bump_once('search_zones');
    PERFORM layer_version_bump_once('search_zones@' || s.classification::text)
       FROM site s
      WHERE s.id = CASE TG_OP WHEN 'DELETE' THEN OLD.site_id ELSE NEW.site_id END;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION bulk_load_done() RETURNS void
LANGUAGE sql AS $$
    UPDATE layer_version SET version = version + 1, changed_at = now()
     WHERE split_part(layer, '@', 1) IN (SELECT layer_group FROM site_kind UNION SELECT 'budget');
$$;

CREATE OR REPLACE FUNCTION budget_line_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM layer_version_bump_once('budget');
    PERFORM layer_version_bump_once('budget@' || s.classification::text)
       FROM site s
      WHERE s.id = CASE TG_OP WHEN 'DELETE' THEN OLD.site_id ELSE NEW.site_id END;
    RETURN NULL;
END $$;
