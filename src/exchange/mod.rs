//! Partner exchange: exports cut to a partner profile (GeoJSON streamed by kvpt, GIS
//! formats through GDAL, VN-2000 through the pinned transformation), each one logged.
//!
//! `fields` is the one table of exchangeable attributes; `profile` the partner profiles;
//! `request` reads an export's parameters; `query` builds the SQL that selects only what
//! a profile lets out; `export` streams and logs; `gis` writes the GDAL formats.

pub mod export;
pub mod fields;
pub mod gis;
pub mod import;
pub mod item;
pub mod profile;
pub mod query;
pub mod request;

/// What can go wrong in an exchange: a request parameter refused, the database, or the
/// files an export is written to and an import is read from.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Param(#[from] crate::params::ParamError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Writing a GIS file through GDAL.
    #[error("writing the GIS file: {0:#}")]
    Gis(anyhow::Error),
    /// A file kvpt made or was given could not be read or written.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// Work handed to a blocking thread did not come back.
    #[error("a worker thread stopped: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl From<tokio_postgres::Error> for ExchangeError {
    fn from(err: tokio_postgres::Error) -> Self {
        ExchangeError::Db(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for ExchangeError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        ExchangeError::Db(err.into())
    }
}
