//! Progress updates from the field: the rules every update keeps, and writing one (or a
//! CSV file of many) to the site, its history and the audit log in one transaction.

pub mod bulk;
pub mod conflicts;
pub mod exif;
pub mod merge;
pub mod photos;
pub mod review;
pub mod rules;
pub mod store;
pub mod sync;
