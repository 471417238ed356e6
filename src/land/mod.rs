//! The defence land-use plan 2021–2030 (issue 24 §2): writing a parcel's plan (`store`);
//! the record and its rules are the vocabulary's (`domain::land`). Its area is never
//! typed: it is measured on the parcel's geometry in EPSG:9209 (`site_all.land_area_m2`).

pub mod store;

pub use crate::domain::land::{check, LandPlan};
