//! Two-factor sign-in: six-digit codes from an authenticator app (RFC 6238 TOTP, through
//! totp-rs: SHA-1, 30-second steps, as every authenticator app reads them) and ten
//! single-use recovery codes for a lost phone.
//!
//! A code is good for its 30-second step and one step either side (a phone's clock may be
//! off), and only once: the step a code was accepted for is stored, and a code of that
//! step or an earlier one is refused. Recovery codes are stored as SHA-256 hashes; each
//! is removed when used. Wrong codes are rate-limited per account (`limits::CodeFailures`).

use atende_data::{TwoFactor, User};
use qrcode::render::svg;
use qrcode::QrCode;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};

use crate::error::{Error, Result};

/// How many recovery codes a user gets at once.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show beside the code.
const ISSUER: &str = "Atende";
const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;
/// 160 bits, the length RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Recovery codes are ten letters and digits of Crockford's base-32 (50 bits), read
/// without regard to case, spaces or dashes.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LENGTH: usize = 10;

/// A new authenticator secret.
pub fn new_secret() -> Vec<u8> {
    atende_data::random_bytes(SECRET_BYTES)
}

/// What an authenticator app needs to enrol: the secret as text, the `otpauth://`
/// address, and that address as a QR code (SVG).
pub struct Enrolment {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
}

/// The enrolment of `secret` for `user`.
pub fn enrolment(secret: &[u8], user: &User) -> Result<Enrolment> {
    let totp = totp(secret, &user.email);
    let otpauth_url = totp.get_url();
    let qr = QrCode::new(otpauth_url.as_bytes()).map_err(Error::internal)?;
    let qr_svg = qr
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        secret: totp.get_secret_base32(),
        otpauth_url,
        qr_svg,
    })
}

fn totp(secret: &[u8], account: &str) -> TOTP {
    // The otpauth address separates issuer and account with ':'.
    let account = account.replace(':', "_");
    // Unchecked only because the checks are ours: the secret is always SECRET_BYTES long.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS,
        secret.to_vec(),
        Some(ISSUER.into()),
        account,
    )
}

/// The time step `code` was made for, if it is one of `secret`'s codes for the step of
/// `now` (Unix seconds) or a step either side.
pub fn code_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let totp = totp(secret, "");
    let step = now / STEP_SECONDS;
    [step.saturating_sub(1), step, step + 1]
        .into_iter()
        .find(|step| totp.check(code, step * STEP_SECONDS))
}

/// What signing in with a code spends: a time step, or one recovery code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spent {
    Step(u64),
    Recovery([u8; 32]),
}

/// What `code` spends of `two`'s factor at `now`, if it is good: a six-digit authenticator
/// code of a step after the last one used, or an unused recovery code.
pub fn check(two: &TwoFactor, code: &str, now: u64) -> Option<Spent> {
    let secret = two.secret.as_deref()?;
    let code: String = code.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        return code_step(secret, &code, now)
            .filter(|step| *step > two.last_step)
            .map(Spent::Step);
    }
    let hash = recovery_hash(&code);
    two.recovery
        .contains(&hash)
        .then_some(Spent::Recovery(hash))
}

/// Applies what a good code spent (inside the user's update, so two sign-ins with one code
/// cannot both pass): `false` if it was spent meanwhile.
pub fn spend(two: &mut TwoFactor, spent: Spent) -> bool {
    match spent {
        Spent::Step(step) if step > two.last_step => {
            two.last_step = step;
            true
        }
        Spent::Recovery(hash) if two.recovery.contains(&hash) => {
            two.recovery.retain(|h| *h != hash);
            true
        }
        _ => false,
    }
}

/// Ten new recovery codes as the user reads them (`xxxxx-xxxxx`), and their hashes to store.
pub fn new_recovery_codes() -> (Vec<String>, Vec<[u8; 32]>) {
    let bytes = atende_data::random_bytes(RECOVERY_CODES * RECOVERY_LENGTH);
    let codes: Vec<String> = bytes
        .chunks(RECOVERY_LENGTH)
        .map(|chunk| {
            let letters: String = chunk
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b % 32)]))
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect();
    let hashes = codes.iter().map(|code| recovery_hash(code)).collect();
    (codes, hashes)
}

/// The stored form of a recovery code, however it was typed.
fn recovery_hash(code: &str) -> [u8; 32] {
    let normal: String = code
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(normal.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's test key for SHA-1 and its first published code (time 59, 8 digits:
    /// 94287082); six digits are its last six.
    #[test]
    fn codes_are_rfc_6238() {
        let secret = b"12345678901234567890";
        assert_eq!(code_step(secret, "287082", 59), Some(1));
        assert_eq!(code_step(secret, "287082", 59 + 30), Some(1), "a step late");
        assert_eq!(
            code_step(secret, "287082", 59 + 90),
            None,
            "three steps late"
        );
        assert_eq!(code_step(secret, "287083", 59), None);
    }

    #[test]
    fn a_code_signs_in_once_and_a_recovery_code_once() {
        let secret = b"12345678901234567890".to_vec();
        let (codes, recovery) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert!(codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        let mut two = TwoFactor {
            secret: Some(secret),
            recovery,
            ..TwoFactor::default()
        };
        let spent = check(&two, "287 082", 59).unwrap();
        assert!(spend(&mut two, spent));
        assert_eq!(check(&two, "287082", 59), None, "the same code again");
        assert!(!spend(&mut two, spent), "spent meanwhile");

        let typed = codes[3].to_uppercase().replace('-', " ");
        let spent = check(&two, &typed, 59).unwrap();
        assert!(spend(&mut two, spent));
        assert_eq!(two.recovery.len(), RECOVERY_CODES - 1);
        assert_eq!(check(&two, &codes[3], 59), None);
        assert!(check(&two, &codes[4], 59).is_some());
        assert_eq!(check(&two, "00000-00000", 59), None);
        two.secret = None;
        assert_eq!(check(&two, &codes[4], 59), None, "off: nothing is good");
    }
}
