//! Arbitrary JSON for the webhook properties, steered towards the keys, words and shapes
//! the parser looks for so that random inputs reach its rarely taken branches.

use chrono::Utc;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Map, Value};

/// Words the parser branches on (keys, types, status words) and numbers in disguise; an
/// edit that puts one where another belongs reaches a branch (a text body under
/// `reaction`, a status word as a message type ...).
const KEYWORDS: &str = "object whatsapp_business_account entry changes field value messages \
    statuses errors metadata phone_number_id contacts profile name wa_id id from type \
    timestamp text body image video document audio sticker location latitude longitude \
    interactive button reaction emoji message_id order system unsupported edit revoke \
    call_permission_reply button_reply list_reply nfm_reply title context forwarded \
    frequently_forwarded referral status sent delivered read played failed code message \
    error_data details recipient_id biz_opaque_callback_data 1700000000 -1 1e400 NaN \
    99999999999999999999";
/// Message types, edits and deletions included.
const TYPES: &str = "text image video document audio sticker location contacts interactive \
    button reaction order system unsupported edit revoke";
/// The keys of the object a message's type names (`text`, `image`, `interactive` ...).
const BODY_KEYS: &str = "body id mime_type sha256 filename voice animated caption latitude \
    longitude name address url message_id emoji title text payload formatted_name";
/// What `interactive.type` says.
const SUB_TYPES: &str = "button_reply list_reply nfm_reply call_permission_reply";
/// Status words, one unknown.
const STATUS_WORDS: &str = "sent delivered read played failed deleted";
/// Seconds in a day.
const DAY: i64 = 86_400;

/// The words of `list`; `empty` adds the empty and the blank string.
fn words(list: &'static str, empty: bool) -> Vec<&'static str> {
    let mut words: Vec<&'static str> = list.split_whitespace().collect();
    if empty {
        words.extend(["", " "]);
    }
    words
}

/// A word the parser branches on, or an empty one.
pub(super) fn keyword() -> impl Strategy<Value = &'static str> {
    select(words(KEYWORDS, true))
}

fn number() -> impl Strategy<Value = Value> {
    const EXTREMES: [f64; 7] = [
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324,
        -0.0,
        91.0,
        -180.5,
    ];
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // A float that is not finite becomes null: JSON has no NaN.
        any::<f64>().prop_map(Value::from),
        select(&EXTREMES[..]).prop_map(Value::from),
        instant(),
    ]
}

/// Unix seconds around the parser's bounds (2009, now plus a day, the end of chrono's
/// range), as numbers and as Meta's strings.
fn instant() -> impl Strategy<Value = Value> {
    let seconds = prop_oneof![
        (-3 * DAY..3 * DAY).prop_map(|offset| Utc::now().timestamp() + offset),
        (-DAY..DAY).prop_map(|offset| 1_230_768_000 + offset),
        select(&[4_102_444_800, 253_402_300_800, 8_210_298_412_799, i64::MAX][..]),
    ];
    (seconds, any::<bool>()).prop_map(|(seconds, quoted)| match quoted {
        true => Value::from(seconds.to_string()),
        false => Value::from(seconds),
    })
}

/// Any scalar.
pub(super) fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number(),
        keyword().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

/// Any JSON value, its keys mostly the ones the parser asks for.
pub(super) fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![keyword().prop_map(str::to_owned), ".{0,8}"];
    leaf().prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// An object with some of `keys`, its values mostly scalars.
fn object(keys: &'static str) -> impl Strategy<Value = Map<String, Value>> {
    let value = prop_oneof![3 => leaf(), 1 => json_value()];
    btree_map(
        select(words(keys, false)).prop_map(str::to_owned),
        value,
        0..6,
    )
    .prop_map(|map| map.into_iter().collect())
}

/// The object a message's type names, sometimes with a sub-type and its object (as
/// `interactive` has), the sub-type at times not a string.
fn message_body() -> impl Strategy<Value = Value> {
    let sub_type = prop_oneof![
        select(words(SUB_TYPES, false)).prop_map(Value::from),
        leaf()
    ];
    let sub = prop::option::of((sub_type, object(BODY_KEYS)));
    (object(BODY_KEYS), sub).prop_map(|(mut body, sub)| {
        if let Some((sub_type, sub_body)) = sub {
            if let Some(name) = sub_type.as_str() {
                body.insert(name.to_owned(), Value::Object(sub_body));
            }
            body.insert("type".to_owned(), sub_type);
        }
        Value::Object(body)
    })
}

/// A message as Meta shapes one (`type` names the key of its body), with arbitrary
/// bodies and extra keys, usually with an id, a sender and a time.
fn message_like() -> impl Strategy<Value = Value> {
    let kind = select(words(TYPES, true));
    let fields = (kind, message_body(), object(KEYWORDS), instant());
    (fields, any::<bool>()).prop_map(|((kind, body, mut message, timestamp), identified)| {
        if identified {
            message.insert("id".to_owned(), json!("wamid.fuzz"));
            message.insert("from".to_owned(), json!("15550001111"));
            message.insert("timestamp".to_owned(), timestamp);
        }
        message.insert("type".to_owned(), json!(kind));
        message.insert(kind.to_owned(), body);
        Value::Object(message)
    })
}

/// A status, usually with an id, a status word and a time.
fn status_like() -> impl Strategy<Value = Value> {
    let word = select(words(STATUS_WORDS, false));
    (object(KEYWORDS), word, instant()).prop_map(|(mut status, word, timestamp)| {
        status.entry("id").or_insert_with(|| json!("wamid.fuzz"));
        status.entry("status").or_insert_with(|| json!(word));
        status.entry("timestamp").or_insert(timestamp);
        Value::Object(status)
    })
}

/// A `messages` change whose messages, statuses, contacts and errors are arbitrary but
/// shaped like the real ones.
pub(super) fn enveloped() -> impl Strategy<Value = Value> {
    let contact = (object(KEYWORDS), leaf()).prop_map(|(mut contact, name)| {
        contact.insert("wa_id".to_owned(), json!("15550001111"));
        contact.insert("profile".to_owned(), json!({ "name": name }));
        Value::Object(contact)
    });
    let lists = (
        vec(message_like(), 0..4),
        vec(status_like(), 0..4),
        vec(contact, 0..3),
        vec(object(KEYWORDS).prop_map(Value::Object), 0..3),
    );
    lists.prop_map(|(messages, statuses, contacts, errors)| {
        json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "metadata": {"phone_number_id": "1122334455667"},
                "contacts": contacts, "messages": messages, "statuses": statuses,
                "errors": errors,
            }}]}],
        })
    })
}

/// How many values `value` holds, itself included.
pub(super) fn nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(map) => map.values().map(nodes).sum(),
        _ => 0,
    }
}

/// How deeply arrays and objects nest in `value` (a scalar is 0).
pub(super) fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
