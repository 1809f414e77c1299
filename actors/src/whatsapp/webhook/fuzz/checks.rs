//! What the webhook properties demand of every parse: on time, refusing exactly what is
//! not JSON, and a batch of usable items no larger than its body.

use std::time::Instant;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

use super::json::nodes;
use super::PARSE_BUDGET;
use crate::whatsapp::webhook::{
    parse, CloudError, InboundMessage, MessageKind, NotJson, WebhookBatch,
};

/// 2009-01-01: the parser drops earlier timestamps (WhatsApp did not exist).
const EARLIEST_TIMESTAMP: i64 = 1_230_768_000;
/// A `skipped` line is a fixed sentence plus at most one 64-byte word.
const MAX_SKIPPED_LINE: usize = 128;
/// What one result may hold beyond copies of its own input: the business number's id and
/// the sender's profile name (each at most 256 bytes) and a `skipped` line.
const SHARED_PER_RESULT: usize = 1024;

fn fail(why: String) -> TestCaseError {
    TestCaseError::fail(why)
}

/// `parse`, failing the case when it takes longer than [`PARSE_BUDGET`].
pub(super) fn parse_in_time(bytes: &[u8]) -> Result<Result<WebhookBatch, NotJson>, TestCaseError> {
    let started = Instant::now();
    let result = parse(bytes);
    let took = started.elapsed();
    prop_assert!(took < PARSE_BUDGET, "{took:?} for {} bytes", bytes.len());
    Ok(result)
}

/// What holds for any bytes: refused exactly when not JSON, otherwise a usable batch.
pub(super) fn check_bytes(bytes: &[u8]) -> Result<Option<WebhookBatch>, TestCaseError> {
    let result = parse_in_time(bytes)?;
    match (result, serde_json::from_slice::<Value>(bytes)) {
        (Ok(batch), Ok(value)) => {
            check_batch(&batch, &value, Utc::now())?;
            Ok(Some(batch))
        }
        (Err(NotJson), Err(_)) => Ok(None),
        (Ok(_), Err(e)) => Err(fail(format!("accepted a body that is not JSON: {e}"))),
        (Err(NotJson), Ok(_)) => Err(fail("refused a JSON body".to_owned())),
    }
}

/// What holds for every batch read from `input` by a parse that started before `now`.
pub(super) fn check_batch(
    batch: &WebhookBatch,
    input: &Value,
    now: DateTime<Utc>,
) -> Result<(), TestCaseError> {
    for message in &batch.messages {
        check_message(message, now)?;
    }
    for status in &batch.statuses {
        prop_assert!(
            !status.wamid.is_empty(),
            "a status without wamid: {status:?}"
        );
        prop_assert!(!status.phone_number_id.is_empty(), "{status:?}");
        for text in [&status.recipient_id, &status.callback_data] {
            prop_assert_ne!(text.as_deref(), Some(""), "{:?}", status);
        }
        check_time(status.timestamp, now)?;
    }
    for line in &batch.skipped {
        let plain = line.is_ascii() && !line.bytes().any(|b| b.is_ascii_digit());
        prop_assert!(
            plain && line.len() <= MAX_SKIPPED_LINE,
            "the log line {line:?} may carry payload"
        );
    }
    // Every item, error and skipped line answers to a distinct value of the input, and
    // holds at most two copies of its own text plus short shared ids and names, so a body
    // cannot make the parser multiply it.
    let results =
        batch.messages.len() + batch.statuses.len() + batch.errors.len() + batch.skipped.len();
    let (values, input_bytes) = (nodes(input), input.to_string().len());
    prop_assert!(results <= values, "{results} results from {values} values");
    let output = output_bytes(batch);
    let bound = 2 * input_bytes + SHARED_PER_RESULT * results;
    prop_assert!(output <= bound, "{output} bytes out of {input_bytes}");
    Ok(())
}

/// The bytes of text a batch holds (its strings, and its `details` as JSON).
pub(super) fn output_bytes(batch: &WebhookBatch) -> usize {
    let texts =
        |texts: &[Option<&String>]| -> usize { texts.iter().flatten().map(|t| t.len()).sum() };
    let errors = |errors: &[CloudError]| -> usize {
        errors
            .iter()
            .map(|e| e.title.len() + texts(&[e.details.as_ref()]))
            .sum()
    };
    let messages = batch.messages.iter().map(|m| {
        let media = m.media.as_ref().map_or(0, |media| {
            let names = [
                media.mime_type.as_ref(),
                media.sha256.as_ref(),
                media.filename.as_ref(),
            ];
            media.id.len() + texts(&names)
        });
        let place = m.location.as_ref().map_or(0, |l| {
            texts(&[l.name.as_ref(), l.address.as_ref(), l.url.as_ref()])
        });
        let reaction = m
            .reaction
            .as_ref()
            .map_or(0, |r| r.message_id.len() + texts(&[r.emoji.as_ref()]));
        let details = m.details.as_ref().map_or(0, |d| d.to_string().len());
        m.phone_number_id.len()
            + m.wamid.len()
            + texts(&[
                m.identity.wa_id.as_ref(),
                m.identity.user_id.as_ref(),
                m.identity.parent_user_id.as_ref(),
                m.identity.username.as_ref(),
                m.identity.profile_name.as_ref(),
                m.text.as_ref(),
                m.caption.as_ref(),
                m.reply_to.as_ref(),
            ])
            + media
            + place
            + reaction
            + details
            + errors(&m.errors)
    });
    let statuses = batch.statuses.iter().map(|s| {
        s.phone_number_id.len()
            + s.wamid.len()
            + texts(&[s.recipient_id.as_ref(), s.callback_data.as_ref()])
            + errors(&s.errors)
    });
    let skipped: usize = batch.skipped.iter().map(String::len).sum();
    messages.sum::<usize>() + statuses.sum::<usize>() + errors(&batch.errors) + skipped
}

fn check_message(m: &InboundMessage, now: DateTime<Utc>) -> Result<(), TestCaseError> {
    prop_assert!(!m.wamid.is_empty(), "a message without wamid: {m:?}");
    prop_assert!(
        !m.identity.is_empty() && !m.phone_number_id.is_empty(),
        "{m:?}"
    );
    for text in [&m.identity.profile_name, &m.text, &m.caption, &m.reply_to] {
        prop_assert_ne!(text.as_deref(), Some(""), "an empty text in {:?}", m);
    }
    check_time(m.timestamp, now)?;
    use MessageKind::*;
    if let Some(media) = &m.media {
        prop_assert!(!media.id.is_empty(), "{m:?}");
        prop_assert!(
            matches!(m.kind, Image | Video | Document | Audio | Sticker),
            "{m:?}"
        );
    }
    if let Some(at) = &m.location {
        prop_assert_eq!(m.kind, Location);
        let on_earth =
            (-90.0..=90.0).contains(&at.latitude) && (-180.0..=180.0).contains(&at.longitude);
        prop_assert!(on_earth, "{:?}", at);
    }
    prop_assert_eq!(m.reaction.is_some(), m.kind == Reaction, "{:?}", m);
    if let Some(reaction) = &m.reaction {
        prop_assert!(!reaction.message_id.is_empty(), "{m:?}");
        prop_assert_eq!(&m.text, &reaction.emoji);
    }
    match &m.details {
        None => {}
        Some(Value::Object(details)) if !details.is_empty() => {}
        Some(other) => {
            return Err(fail(format!(
                "details that are not a filled object: {other}"
            )))
        }
    }
    Ok(())
}

fn check_time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), TestCaseError> {
    if let Some(at) = at {
        let plausible =
            at.timestamp() >= EARLIEST_TIMESTAMP && at <= now + chrono::Duration::days(1);
        prop_assert!(plausible, "an absurd timestamp {at}");
    }
    Ok(())
}

/// What a batch says, floats left out: serde_json's default float parsing may land one
/// unit in the last place away from a float's own serialisation.
pub(super) fn outline(batch: &WebhookBatch) -> Value {
    let messages: Vec<Value> = batch
        .messages
        .iter()
        .map(|m| {
            let media = m.media.as_ref().map(|media| &media.id);
            let reaction = m.reaction.as_ref().map(|r| (&r.message_id, &r.emoji));
            json!([
                m.wamid,
                m.sender(),
                m.kind.as_str(),
                m.text,
                m.caption,
                media,
                reaction,
                m.reply_to
            ])
        })
        .collect();
    let statuses: Vec<Value> = batch
        .statuses
        .iter()
        .map(|s| {
            json!([
                s.wamid,
                format!("{:?}", s.status),
                s.timestamp.map(|t| t.timestamp())
            ])
        })
        .collect();
    json!({"messages": messages, "statuses": statuses, "errors": batch.errors, "skipped": batch.skipped})
}

/// Fails unless `batch` holds about as much text as the `input_len` bytes it came from.
pub(super) fn assert_not_multiplied(batch: &WebhookBatch, input_len: usize) {
    let results = batch.messages.len() + batch.statuses.len() + batch.skipped.len();
    let output = output_bytes(batch);
    let bound = 2 * input_len + SHARED_PER_RESULT * results;
    assert!(output <= bound, "{output} bytes out of {input_len}");
}
