//! The request vocabulary: what the items API, the exports, the dashboards and the tiles
//! read from a query (bbox and CRS, paging, time intervals, `as_of` and dates, the
//! kind, status, district and phase filters). Pure: no HTTP and no database. Each parse
//! says which parameter was wrong and why; `web/` answers that with a 400, and `db/` and
//! `exchange/` take the typed values, never strings a user typed.

pub mod bbox;
pub mod dashboard;
pub mod date;
pub mod export;
pub mod format;
pub mod items;
pub mod tiles;

pub use date::{cutoff_of, parse_as_of, parse_date};
pub use items::{Interval, ItemsQuery, COMMON_PARAMS, SITE_PARAMS};

/// A parameter that was refused: which one, and why (in English, and in Vietnamese where
/// the pages that take it say it so).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {en}")]
pub struct ParamError {
    pub param: String,
    pub en: String,
    pub vi: Option<String>,
}

impl ParamError {
    pub fn new(param: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            param: param.into(),
            en: en.into(),
            vi: None,
        }
    }

    /// The same refusal with its Vietnamese words.
    pub fn vi(mut self, vi: impl Into<String>) -> Self {
        self.vi = Some(vi.into());
        self
    }
}
pub mod filter;
