//! Investments without a place on the map (issue 24 §4): the items of the plan the
//! directive's §3 and §8 fund without a site — command automation, the LAN and shared
//! software, the procurement of equipment, vehicles, boats, flood and rescue gear. They are
//! rows of `site_all` of two kinds without geometry, so progress, history, budget lines,
//! dashboards, flags, the disclosure and reports take them as they take works; `store`
//! writes and reads what only they carry (`investment`: category, command post). The record
//! and its rules are the vocabulary's (`domain::investment`).

pub mod store;

pub use crate::domain::investment::{check, Investment};
