-- Tell listening servers when a layer's data changes, so their in-memory tile caches
-- never serve a tile of an older version. Payload: "layer:version".
CREATE FUNCTION layer_version_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('layer_version', NEW.layer || ':' || NEW.version);
    RETURN NULL;
END $$;

CREATE TRIGGER layer_version_notify
    AFTER INSERT OR UPDATE ON layer_version
    FOR EACH ROW EXECUTE FUNCTION layer_version_notify();
