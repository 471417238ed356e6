//! Remains search zones (the directive's §7): what search teams record — area concluded,
//! map drawn, conclusion, unit in charge, remains expected and found — each change an
//! append-only history row, the rules it keeps, and who may write it.

pub mod bulk;
pub mod form;
pub mod review;
pub mod rules;
pub mod store;
