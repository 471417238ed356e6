//! The integration suite: one binary (fast to link), one module per area, all
//! against a real PostgreSQL + PostGIS.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod accounts;
mod api_document;
mod architecture;
mod auth;
mod browser;
mod budget;
mod cli;
mod cluster;
mod communes;
mod corpus;
mod cql2;
mod dashboard;
mod demo;
mod exports;
mod faults;
mod features;
mod field;
mod gis_clients;
mod hardening;
mod import_clearance;
mod imports;
mod instances;
mod investments;
mod land;
mod ogc_tiles;
mod operations;
mod part4;
mod pgbouncer;
mod photos;
mod progress;
mod replicas;
mod reports;
mod review;
mod schema;
mod schemathesis;
mod search;
mod tile_clusters;
mod tile_invalidation;
mod tiles;
mod tls;
mod tokens;
mod viewer;
mod web;
