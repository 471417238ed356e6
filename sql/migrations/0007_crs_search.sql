-- VN-2000 / TM-3 105°30′ (EPSG:9209), the plane CRS Tây Ninh's surveys use, is not in
-- PostGIS's spatial_ref_sys. With auth_name/auth_srid set, PostGIS asks PROJ for
-- EPSG:9209 and so transforms through EPSG:6960 (see geodata/VN2000.md); the +towgs84
-- string (Position Vector signs) is the fallback for a PROJ without the EPSG database.
INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text)
VALUES (9209, 'EPSG', 9209,
        'PROJCS["VN-2000 / TM-3 105-30",GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],TOWGS84[-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278],AUTHORITY["EPSG","6756"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4756"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",105.5],PARAMETER["scale_factor",0.9999],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","9209"]]',
        '+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278 +units=m +no_defs')
ON CONFLICT (srid) DO NOTHING;

-- Search by code or name without diacritics: "tan bien" finds "Tân Biên", "don" finds "Đồn".
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION search_key(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1));

CREATE INDEX site_search_key_idx ON site USING gin (search_key(code || ' ' || name) gin_trgm_ops);

-- Label points of districts and neighbouring provinces: one label each, whatever the tiling.
INSERT INTO layer_version (layer) VALUES ('labels'), ('communes');
