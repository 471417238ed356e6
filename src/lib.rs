//! kvpt: maps and tracks the local defence works of Tây Ninh province.
//!
//! The binary in `main.rs` only parses the command line; everything else lives
//! here so that tests can build the router and reach the database in-process.

pub mod accounts;
pub mod budget;
pub mod cli;
pub mod cluster;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod exchange;
pub mod fuzzing;
pub mod geodata;
pub mod i18n;
pub mod investment;
pub mod land;
pub mod ops;
pub mod params;
pub mod progress;
pub mod report;
pub mod search;
pub mod spatial;
pub mod views;
pub mod web;
