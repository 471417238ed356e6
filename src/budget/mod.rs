//! Budget lines per site × year × funding source, and the medium-term ceilings approved
//! beside them: the rules (errors and warnings) and writing a line or a ceiling with its
//! audit row (previous values included) in one transaction.

pub mod ceiling;
pub mod rules;
pub mod store;
