//! Budget lines per site × year × funding source: the rules (errors and warnings) and
//! writing a line with its audit row (previous values included) in one transaction.

pub mod rules;
pub mod store;
