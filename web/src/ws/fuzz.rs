//! Property tests ("fuzzing") of [`parse_client_frame`]: arbitrary text, every valid frame
//! in the documented wire form (keys in any order, unknown keys beside them), and byte and
//! structural mutations of valid frames. The parser must never panic, must read a valid
//! frame back as itself, must accept only what a plain JSON reading agrees with (an
//! object whose `type` names the variant and whose keys hold the variant's fields), and
//! must refuse a frame missing a required key.
//!
//! Each property runs proptest's default 256 cases, well under a second in a debug build.
//! To fuzz for longer: `PROPTEST_CASES=100000 cargo test -p atende-web fuzz`.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

use super::{parse_client_frame, ClientFrame, MAX_FRAME};

/// Keys and words the frames use, so that mutations land on meaningful names.
const WORDS: &[&str] = &[
    "type",
    "auth",
    "token",
    "resume_from",
    "typing",
    "chat_id",
    "viewing",
    "presence",
    "online",
    "away",
    "ping",
    "pong",
    "Ping",
    "AUTH",
    "",
    " ",
];

/// Any frame the protocol allows, with strings of any content and length up to a frame.
fn frame() -> impl Strategy<Value = ClientFrame> {
    let text = prop_oneof![
        4 => ".{0,40}",
        1 => (1usize..MAX_FRAME / 8).prop_map(|n| "t".repeat(n)),
    ];
    prop_oneof![
        (text.clone(), any::<Option<u64>>())
            .prop_map(|(token, resume_from)| ClientFrame::Auth { token, resume_from }),
        text.clone()
            .prop_map(|chat_id| ClientFrame::Typing { chat_id }),
        prop::option::of(text.clone()).prop_map(|chat_id| ClientFrame::Viewing { chat_id }),
        prop_oneof![Just("online".to_owned()), Just("away".to_owned()), text]
            .prop_map(|presence| ClientFrame::Presence { presence }),
        Just(ClientFrame::Ping),
    ]
}

/// The documented wire form of `frame`, written without serde's derive so that a change
/// of the enum's attributes cannot change both sides at once. Absent options are `null`.
fn wire(frame: &ClientFrame) -> Map<String, Value> {
    let value = match frame {
        ClientFrame::Auth { token, resume_from } => {
            json!({"type": "auth", "token": token, "resume_from": resume_from})
        }
        ClientFrame::Typing { chat_id } => json!({"type": "typing", "chat_id": chat_id}),
        ClientFrame::Viewing { chat_id } => json!({"type": "viewing", "chat_id": chat_id}),
        ClientFrame::Presence { presence } => json!({"type": "presence", "presence": presence}),
        ClientFrame::Ping => json!({"type": "ping"}),
    };
    match value {
        Value::Object(map) => map,
        _ => unreachable!("every wire form above is an object"),
    }
}

/// Writes `pairs` as a JSON object in the given order (serde_json's maps would sort them).
fn object_text(pairs: &[(String, Value)]) -> String {
    let members: Vec<String> = pairs
        .iter()
        .map(|(key, value)| format!("{}:{value}", Value::from(key.as_str())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A valid frame as a client could write it: keys shuffled, a `null` option sometimes left
/// out, sometimes with unknown keys (which the server ignores, for newer clients).
fn written_frame() -> impl Strategy<Value = (ClientFrame, String)> {
    let extra = vec(("x_[a-z]{1,6}", any::<i32>()), 0..3);
    (frame(), any::<bool>(), extra, any::<u64>()).prop_map(|(frame, drop_nulls, extra, seed)| {
        let mut pairs: Vec<(String, Value)> = wire(&frame)
            .into_iter()
            .filter(|(_, value)| !(drop_nulls && value.is_null()))
            .chain(extra.into_iter().map(|(key, n)| (key, Value::from(n))))
            .collect();
        shuffle(&mut pairs, seed);
        let text = object_text(&pairs);
        (frame, text)
    })
}

/// A deterministic shuffle, so that proptest shrinks the seed rather than the order.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

/// One edit of a frame's JSON object.
#[derive(Debug, Clone)]
enum Edit {
    /// Another value, often of another type, under one of the keys.
    Replace {
        key: usize,
        with: Value,
    },
    Delete {
        key: usize,
    },
    Insert {
        key: &'static str,
        value: Value,
    },
    /// The whole frame wrapped in arrays.
    Nest {
        depth: usize,
    },
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(1.5)),
        select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((select(WORDS), inner), 0..4).prop_map(|pairs| {
                let map = pairs.into_iter().map(|(k, v)| (k.to_owned(), v));
                Value::Object(map.collect())
            }),
        ]
    })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (any::<usize>(), json_value()).prop_map(|(key, with)| Edit::Replace { key, with }),
        2 => any::<usize>().prop_map(|key| Edit::Delete { key }),
        2 => (select(WORDS), json_value()).prop_map(|(key, value)| Edit::Insert { key, value }),
        1 => (1usize..200).prop_map(|depth| Edit::Nest { depth }),
    ]
}

fn apply(mut frame: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        let Value::Object(map) = &mut frame else {
            break;
        };
        let key_at = |map: &Map<String, Value>, i: usize| map.keys().nth(i % map.len()).cloned();
        match edit {
            Edit::Replace { key, with } if !map.is_empty() => {
                if let Some(key) = key_at(map, *key) {
                    map.insert(key, with.clone());
                }
            }
            Edit::Delete { key } if !map.is_empty() => {
                if let Some(key) = key_at(map, *key) {
                    map.remove(&key);
                }
            }
            Edit::Insert { key, value } => {
                map.insert((*key).to_owned(), value.clone());
            }
            Edit::Nest { depth } => {
                for _ in 0..*depth {
                    frame = json!([frame]);
                }
            }
            Edit::Replace { .. } | Edit::Delete { .. } => {}
        }
    }
    frame
}

/// Byte edits of a frame's text: (position, what to do, a byte).
fn byte_edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    vec((any::<usize>(), 0u8..4, any::<u8>()), 1..6)
}

fn apply_bytes(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(at, action, byte) in edits {
        let at = at % (bytes.len() + 1);
        match action {
            0 if at < bytes.len() => bytes[at] ^= 1 << (byte % 8),
            1 => bytes.truncate(at),
            2 => bytes.insert(at, byte),
            3 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    // Text frames are UTF-8 (actix checks), so a broken sequence cannot reach the parser.
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What holds for any text: no panic (proptest reports one as a failure), and a frame
/// accepted only when a plain JSON reading of the text agrees with it key by key.
fn check(text: &str) -> Result<Option<ClientFrame>, TestCaseError> {
    let Ok(frame) = parse_client_frame(text) else {
        return Ok(None);
    };
    let plain: Value = serde_json::from_str(text)
        .map_err(|e| TestCaseError::fail(format!("accepted text that is not JSON: {e}")))?;
    let Value::Object(plain) = plain else {
        return Err(TestCaseError::fail("accepted JSON that is not an object"));
    };
    for (key, expected) in wire(&frame) {
        let found = plain.get(&key).unwrap_or(&Value::Null);
        prop_assert_eq!(found, &expected, "key {} of {:?}", key, frame);
    }
    Ok(Some(frame))
}

/// Whether `key` may be left out of `frame` (an `Option` field).
fn optional(frame: &ClientFrame, key: &str) -> bool {
    matches!(
        (frame, key),
        (ClientFrame::Auth { .. }, "resume_from") | (ClientFrame::Viewing { .. }, "chat_id")
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Findings become named tests, not files beside the source.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_breaks_the_frame_parser(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn a_valid_frame_reads_back_as_itself((frame, text) in written_frame()) {
        prop_assert_eq!(check(&text)?, Some(frame));
    }

    #[test]
    fn byte_mutations_of_frames_never_break_the_parser(
        (_, text) in written_frame(),
        edits in byte_edits(),
    ) {
        check(&apply_bytes(&text, &edits))?;
    }

    #[test]
    fn structural_mutations_of_frames_never_break_the_parser(
        frame in frame(),
        edits in vec(edit(), 1..4),
    ) {
        let mutated = apply(Value::Object(wire(&frame)), &edits);
        if let Some(read) = check(&mutated.to_string())? {
            // Whatever is accepted is a frame: written out again, it reads the same.
            let again = Value::Object(wire(&read)).to_string();
            prop_assert_eq!(check(&again)?, Some(read));
        }
    }

    #[test]
    fn a_frame_without_a_required_key_is_refused(frame in frame(), key in any::<usize>()) {
        let mut map = wire(&frame);
        let required: Vec<String> =
            map.keys().filter(|k| !optional(&frame, k)).cloned().collect();
        let key = &required[key % required.len()];
        map.remove(key);
        let text = Value::Object(map).to_string();
        prop_assert!(parse_client_frame(&text).is_err(), "accepted without {}: {}", key, text);
    }
}

#[test]
fn the_documented_frames_parse() {
    let table = [
        (
            r#"{"type":"auth","token":"t","resume_from":7}"#,
            ClientFrame::Auth {
                token: "t".into(),
                resume_from: Some(7),
            },
        ),
        (
            r#"{"type":"auth","token":"t"}"#,
            ClientFrame::Auth {
                token: "t".into(),
                resume_from: None,
            },
        ),
        (
            r#"{"type":"typing","chat_id":"c"}"#,
            ClientFrame::Typing {
                chat_id: "c".into(),
            },
        ),
        (
            r#"{"type":"viewing","chat_id":null}"#,
            ClientFrame::Viewing { chat_id: None },
        ),
        (
            r#"{"type":"presence","presence":"away"}"#,
            ClientFrame::Presence {
                presence: "away".into(),
            },
        ),
        (r#" {"type":"ping"} "#, ClientFrame::Ping),
    ];
    for (text, frame) in table {
        assert_eq!(parse_client_frame(text).ok(), Some(frame), "{text}");
    }
}

#[test]
fn malformed_frames_are_refused() {
    let refused = [
        "",
        "ping",
        "[]",
        r#"{"type":"Ping"}"#,
        r#"{"kind":"ping"}"#,
        r#"{"type":"auth"}"#,
        r#"{"type":"auth","token":"t","resume_from":-1}"#,
        r#"{"type":"auth","token":"t","resume_from":1.5}"#,
        r#"{"type":"auth","token":"t","resume_from":18446744073709551616}"#,
        r#"{"type":"typing","chat_id":7}"#,
        r#"{"type":"ping","type":"auth"}"#,
    ];
    for text in refused {
        assert!(parse_client_frame(text).is_err(), "{text}");
    }
    let deep = format!(
        "{}{{\"type\":\"ping\"}}{}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(
        parse_client_frame(&deep).is_err(),
        "nesting past serde_json's limit"
    );
}
