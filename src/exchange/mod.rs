//! Partner exchange: exports cut to a partner profile (GeoJSON streamed by kvpt, GIS
//! formats through GDAL, VN-2000 through the pinned transformation), each one logged.
//!
//! `fields` is the one table of exchangeable attributes; `profile` the partner profiles;
//! `request` reads an export's parameters; `query` builds the SQL that selects only what
//! a profile lets out; `export` streams and logs; `gis` writes the GDAL formats.

pub mod export;
pub mod fields;
pub mod format;
pub mod gis;
pub mod import;
pub mod profile;
pub mod query;
pub mod request;
