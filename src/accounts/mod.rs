//! Local accounts: password hashing and the users' records (roles, clearance, districts).

pub mod password;
pub mod sessions;
pub mod tokens;
pub mod users;
