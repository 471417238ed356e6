//! Pure spatial helpers: tile coordinates (no I/O).

pub mod crs;
pub mod tile;
