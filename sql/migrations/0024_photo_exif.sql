-- Photos that say where and when they were taken (issue 20 §4). What browsers get
-- (`image`, `thumbnail`) carries no metadata; the picture as uploaded, with its EXIF, is
-- kept in `original` (only when it had metadata) for those cleared to update the site.
ALTER TABLE site_photo
    ADD COLUMN original    bytea,
    ADD COLUMN taken_at    timestamptz,
    ADD COLUMN taken_where geometry(Point, 4326),
    -- Metres from the site's geometry to where the photo was taken (PostGIS, on the
    -- spheroid), worked out when it is stored.
    ADD COLUMN distance_m  double precision,
    ADD CONSTRAINT site_photo_distance_not_negative CHECK (distance_m >= 0);

COMMENT ON COLUMN site_photo.original IS
    'The upload as sent, EXIF included (GPS position of a defence work): served only to engineers of the site and administrators cleared for it';
