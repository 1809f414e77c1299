//! Lenient readers for single fields: a wrong type reads as absent, never as an error.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::CloudError;

/// 2009-01-01T00:00:00Z: WhatsApp did not exist before, so an earlier stamp is garbage.
const EARLIEST_TIMESTAMP: i64 = 1_230_768_000;

/// The longest id taken (wamid, phone number id, wa_id). Meta's are well under 100
/// bytes; a longer one is garbage, and one copied into every item of its change would
/// multiply the body in memory.
const MAX_ID_LEN: usize = 256;

/// A non-empty string at `key`; other types and empty strings read as absent.
pub(super) fn string(value: &Value, key: &str) -> Option<String> {
    text(value, key).map(str::to_owned)
}

/// An id at `key`: a non-empty string of at most [`MAX_ID_LEN`] bytes, else absent.
pub(super) fn id(value: &Value, key: &str) -> Option<String> {
    text(value, key)
        .filter(|s| s.len() <= MAX_ID_LEN)
        .map(str::to_owned)
}

fn text<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `true` only for a JSON `true`, so `"true"` or `1` do not turn flags on by accident.
pub(super) fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A number, or a string holding one (some senders quote coordinates).
pub(super) fn number(value: &Value, key: &str) -> Option<f64> {
    let n = match value.get(key)? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Unix seconds as a string (Meta's form) or a number; absurd instants read as absent
/// so that the caller falls back to its own clock.
pub(super) fn timestamp(value: &Value, key: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let seconds = match value.get(key)? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        _ => return None,
    };
    if seconds < EARLIEST_TIMESTAMP {
        return None;
    }
    DateTime::from_timestamp(seconds, 0).filter(|at| *at <= now + Duration::days(1))
}

/// A word from the payload made safe for the log: only lowercase snake-case words (type
/// names, field names, status words) pass, so that a number or a text put where a word
/// belongs never reaches the log.
pub(super) fn word(value: Option<&Value>) -> &str {
    match value.and_then(Value::as_str) {
        None | Some("") => "(none)",
        Some(w) if w.len() <= 64 && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => w,
        Some(_) => "(unrecognised)",
    }
}

/// The errors listed at `key`; an error without a numeric code is described in `skipped`.
pub(super) fn cloud_errors(value: &Value, key: &str, skipped: &mut Vec<String>) -> Vec<CloudError> {
    let Some(list) = value.get(key) else {
        return Vec::new();
    };
    let Some(list) = list.as_array() else {
        skipped.push(format!("{key} that are not a list skipped"));
        return Vec::new();
    };
    let mut errors = Vec::with_capacity(list.len());
    for item in list {
        match cloud_error(item) {
            Some(error) => errors.push(error),
            None => skipped.push("error without code skipped".to_owned()),
        }
    }
    errors
}

fn cloud_error(item: &Value) -> Option<CloudError> {
    let code = match item.get("code")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let message = string(item, "message");
    // Meta fills `message` with a copy of `title` and puts the explanation in
    // `error_data.details`; some errors (call webhooks) carry only `message`.
    let details = item
        .get("error_data")
        .and_then(|data| string(data, "details"))
        .or_else(|| message.clone());
    let title = string(item, "title").or(message).unwrap_or_default();
    Some(CloudError {
        code,
        title,
        details,
    })
}
