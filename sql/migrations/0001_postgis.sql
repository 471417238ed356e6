-- PostGIS first: every later migration uses its types.
CREATE EXTENSION IF NOT EXISTS postgis;
