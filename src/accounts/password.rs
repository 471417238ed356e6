//! Password hashing: argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes,
//! one lane), stored as a PHC string that names its own parameters.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password must not be the user name")]
    SameAsUser,
}

/// Checks `password` against the rules, for `username`.
pub fn check(username: &str, password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(PasswordError::TooShort);
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(PasswordError::SameAsUser);
    }
    Ok(())
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing with the default parameters and a generated salt cannot fail.
        .unwrap_or_default()
}

/// True when `password` matches the stored PHC string; false for any malformed hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("mật khẩu rất dài");
        let b = hash("mật khẩu rất dài");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("mật khẩu rất dài", &a));
        assert!(!verify("mật khẩu rất dàI", &a));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn rules() {
        assert_eq!(check("ks.tbi", "short"), Err(PasswordError::TooShort));
        assert_eq!(
            check("engineer01", "ENGINEER01"),
            Err(PasswordError::SameAsUser)
        );
        assert!(check("ks.tbi", "correct horse battery").is_ok());
    }
}
