//! Field checks shared by the request bodies: collect every problem, answer them at once.

use std::collections::BTreeMap;

use crate::error::Error;

/// The longest email address (RFC 5321 path limit).
pub const MAX_EMAIL: usize = 254;
/// The longest display name.
pub const MAX_NAME: usize = 100;
/// Shortest password accepted; long passphrases beat complexity rules.
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted; argon2 time grows with length.
pub const MAX_PASSWORD: usize = 1024;

/// Problems found so far, by field.
#[derive(Default)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    /// Records `problem` for `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, problem: &str) -> &mut Self {
        if !ok {
            self.0
                .entry(field.to_string())
                .or_insert_with(|| problem.to_string());
        }
        self
    }

    /// A required text of 1..=max characters, not only blanks.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> &mut Self {
        self.check(!value.trim().is_empty(), field, "must not be empty");
        self.check(
            value.chars().count() <= max,
            field,
            &format!("must be at most {max} characters"),
        )
    }

    /// An email address of plausible shape.
    pub fn email(&mut self, field: &str, value: &str) -> &mut Self {
        let value = value.trim();
        let plausible = value.len() <= MAX_EMAIL
            && !value.chars().any(char::is_whitespace)
            && value
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        self.check(plausible, field, "must be an email address")
    }

    /// A new password within the length limits.
    pub fn password(&mut self, field: &str, value: &str) -> &mut Self {
        let len = value.chars().count();
        self.check(
            len >= MIN_PASSWORD,
            field,
            &format!("must be at least {MIN_PASSWORD} characters"),
        );
        self.check(
            len <= MAX_PASSWORD,
            field,
            &format!("must be at most {MAX_PASSWORD} characters"),
        );
        match atende_data::password::weakness(value) {
            Some(problem) if len >= MIN_PASSWORD => self.check(false, field, problem),
            _ => self,
        }
    }

    /// `Ok` when nothing was found, else one validation error naming every field.
    pub fn finish(&mut self) -> Result<(), Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let fields = std::mem::take(&mut self.0);
        let message = fields
            .iter()
            .map(|(field, problem)| format!("{field}: {problem}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Validation { message, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        for (email, ok) in [
            ("ana@example.com", true),
            (" ana@example.com ", true),
            ("ana", false),
            ("@example.com", false),
            ("ana@", false),
            ("a na@example.com", false),
        ] {
            assert_eq!(
                Fields::default().email("e", email).finish().is_ok(),
                ok,
                "{email}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Fields::default()
            .text("name", " ", 10)
            .password("password", "short")
            .finish()
            .unwrap_err();
        let Error::Validation { fields, .. } = err else {
            panic!("not a validation error")
        };
        assert_eq!(fields.len(), 2);
    }
}
