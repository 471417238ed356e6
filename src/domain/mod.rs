//! The vocabulary of the programme: kinds of work, statuses, programmes,
//! classification and funding sources, with their Vietnamese and English labels.
//! Pure: no I/O. The database holds the same codes (a test checks they agree).

pub mod kind;
pub mod land;
pub mod status;

pub use kind::{looks_like_code, GeometryFamily, LayerGroup, SiteKind};
pub use status::{
    Classification, FundingSource, LandLegalStatus, LandUse, Programme, SiteStatus, UserRole,
    LAND_FIVE_YEARS, LAND_PLAN_PERIOD,
};
