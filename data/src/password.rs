//! Password hashing with argon2id. Hashing is deliberately slow: call these off the async
//! and actor threads (`web::block` / `spawn_blocking`).

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::{Error, Result};

/// Hashes `password` into a PHC string (argon2id, the crate's recommended parameters).
pub fn hash(password: &str) -> Result<String> {
    // 16 bytes from the one random source the hub uses (store::random_bytes).
    let salt = SaltString::encode_b64(&crate::random_bytes(16)).map_err(|_| Error::PasswordHash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::PasswordHash)
}

/// Whether `password` matches `phc`; a malformed hash never matches.
pub fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the time of one verification, so that an unknown account answers as slowly as a
/// known one with a wrong password.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("not a real password").unwrap_or_default());
    let _ = verify(phc, password);
}

/// The most common passwords of eight characters or more, lower case, one per line: the
/// 20,000-word list Django ships (django/contrib/auth/common-passwords.txt.gz, BSD licence),
/// less the shorter words the length rule already refuses.
const COMMON: &str = include_str!("common-passwords.txt");

/// Why `password` is too easy to guess, if it is: one of the most common passwords, one
/// character repeated (`aaaaaaaa`), a run (`12345678`, `abcdefgh`, `87654321`) or a short
/// unit repeated (`abcabcabc`, `12121212`). The wording is one the console translates.
pub fn weakness(password: &str) -> Option<&'static str> {
    let lower = password.trim().to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let common = || {
        static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
            std::sync::OnceLock::new();
        SET.get_or_init(|| COMMON.lines().collect())
            .contains(lower.as_str())
    };
    let run = |step: i64| {
        chars
            .windows(2)
            .all(|pair| pair[1] as i64 - pair[0] as i64 == step)
    };
    let repeated = (1..=chars.len() / 2).any(|unit| {
        chars.len().is_multiple_of(unit) && chars.chunks(unit).all(|chunk| chunk == &chars[..unit])
    });
    (chars.len() > 1 && (repeated || run(1) || run(-1) || common()))
        .then_some("is too common or too easy to guess")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_trivial_passwords_are_weak_and_others_are_not() {
        for weak in [
            "12345678",
            "password",
            "PASSWORD",
            "aaaaaaaa",
            "abcdefgh",
            "87654321",
            "abcabcabc",
            "12121212",
            "password1",
            "iloveyou",
            "qwertyuiop",
        ] {
            assert!(weakness(weak).is_some(), "{weak}");
        }
        for fine in [
            "password-1",
            "correct horse",
            "admin-password-1",
            "Ana-2026-Atende",
        ] {
            assert_eq!(weakness(fine), None, "{fine}");
        }
    }

    #[test]
    fn a_hash_verifies_only_its_password() {
        let phc = hash("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(&phc, "correct horse"));
        assert!(!verify(&phc, "wrong horse"));
        assert!(!verify("not a hash", "correct horse"));
    }
}
