-- A layer's version used to be bumped by a statement trigger as soon as a site changed,
-- so the layer's row in layer_version stayed locked until the writing transaction ended:
-- concurrent edits to one layer queued behind each other (measured: about 250 progress
-- updates/s from 32 engineers, nearly all of them waiting on that lock). The bump now
-- happens at commit, once per layer per transaction, from a deferred trigger: the lock is
-- held for the commit alone. Readers still never see new data under an old version,
-- because the bump commits with the data.

DROP TRIGGER site_layer_version_insert ON site;
DROP TRIGGER site_layer_version_update ON site;
DROP TRIGGER site_layer_version_delete ON site;
DROP FUNCTION site_bump_layer_version();

-- Bumps `changed` once in this transaction (remembered in a transaction-local setting).
CREATE FUNCTION layer_version_bump_once(changed text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    done text := coalesce(current_setting('kvpt.layers_bumped', true), '');
BEGIN
    IF changed IS NULL OR strpos(done, '|' || changed || '|') > 0 THEN
        RETURN;
    END IF;
    UPDATE layer_version SET version = version + 1, changed_at = now() WHERE layer = changed;
    PERFORM set_config('kvpt.layers_bumped', done || '|' || changed || '|', true);
END $$;

CREATE FUNCTION site_layer_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM layer_version_bump_once((SELECT layer_group FROM site_kind WHERE code = NEW.kind));
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.kind <> NEW.kind) THEN
        PERFORM layer_version_bump_once((SELECT layer_group FROM site_kind WHERE code = OLD.kind));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER site_layer_version
    AFTER INSERT OR UPDATE OR DELETE ON site
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION site_layer_changed();
