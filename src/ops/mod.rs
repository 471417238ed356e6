//! Operating kvpt: checking the audit chain, backing up and restoring.

pub mod audit;
pub mod backup;
pub mod tls;
