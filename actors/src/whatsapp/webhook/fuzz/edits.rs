//! Mutations for the webhook properties: edits of a body's raw bytes and of its parsed
//! JSON value (another type in a node's place, keys deleted or renamed, items repeated,
//! huge strings and numbers, deep nesting).

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

use super::json::{json_value, keyword, leaf, nodes};

/// Byte runs that break or stretch JSON in interesting ways.
const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\\",
    "\\u0000",
    "\\ud800",
    "\\udfff\\ud800",
    "null",
    "true",
    "-0",
    "1e999",
    "-1e-999",
    "18446744073709551616",
    "\u{feff}",
    "\u{10ffff}",
    "\"\":",
    "{\"id\":\"\"}",
    "\"type\":\"reaction\"",
];

/// The largest string an edit makes (a megabyte: Meta's bodies stay far below).
const HUGE: usize = 1 << 20;

/// One edit of a body's bytes; positions are taken modulo the body's length.
#[derive(Debug, Clone)]
pub(super) enum ByteEdit {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
    Repeat { at: usize, len: usize, times: usize },
}

pub(super) fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let insertion = prop_oneof![
        vec(any::<u8>(), 1..16),
        select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        (1usize..4096).prop_map(|n| "9".repeat(n).into_bytes()),
        (1usize..400).prop_map(|n| "[".repeat(n).into_bytes()),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| ByteEdit::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| ByteEdit::Set { at, byte }),
        any::<usize>().prop_map(|at| ByteEdit::Truncate { at }),
        (any::<usize>(), insertion).prop_map(|(at, bytes)| ByteEdit::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| ByteEdit::Remove { at, len }),
        (any::<usize>(), 1usize..256, 1usize..8).prop_map(|(at, len, times)| ByteEdit::Repeat {
            at,
            len,
            times
        }),
    ]
}

pub(super) fn apply_bytes(mut bytes: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for edit in edits {
        let at = |at: usize| at % (bytes.len() + 1);
        match edit {
            ByteEdit::Flip { at: i, bit } if !bytes.is_empty() => {
                let i = i % bytes.len();
                bytes[i] ^= 1 << bit;
            }
            ByteEdit::Set { at: i, byte } if !bytes.is_empty() => {
                let i = i % bytes.len();
                bytes[i] = *byte;
            }
            ByteEdit::Truncate { at: i } => bytes.truncate(at(*i)),
            ByteEdit::Insert { at: i, bytes: run } => {
                let i = at(*i);
                bytes.splice(i..i, run.iter().copied());
            }
            ByteEdit::Remove { at: i, len } => {
                let i = at(*i);
                let end = (i + len).min(bytes.len());
                bytes.drain(i..end);
            }
            ByteEdit::Repeat { at: i, len, times } => {
                let i = at(*i);
                let run = bytes[i..(i + len).min(bytes.len())].to_vec();
                let copies = run.repeat(*times);
                bytes.splice(i..i, copies);
            }
            ByteEdit::Flip { .. } | ByteEdit::Set { .. } => {}
        }
    }
    bytes
}

/// One edit of a parsed body; `at` picks a node in pre-order, modulo the node count.
#[derive(Debug, Clone)]
pub(super) enum ValueEdit {
    /// Puts another value, usually of another type, in the node's place.
    Replace {
        at: usize,
        with: Value,
    },
    DeleteKey {
        at: usize,
        key: usize,
    },
    RenameKey {
        at: usize,
        key: usize,
        to: &'static str,
    },
    DuplicateItem {
        at: usize,
        item: usize,
        times: usize,
    },
    /// Wraps the node in `depth` arrays or objects.
    Nest {
        at: usize,
        depth: usize,
        array: bool,
    },
}

pub(super) fn value_edit() -> impl Strategy<Value = ValueEdit> {
    let at = any::<usize>;
    prop_oneof![
        3 => (at(), replacement()).prop_map(|(at, with)| ValueEdit::Replace { at, with }),
        1 => (at(), any::<usize>()).prop_map(|(at, key)| ValueEdit::DeleteKey { at, key }),
        1 => (at(), any::<usize>(), keyword())
            .prop_map(|(at, key, to)| ValueEdit::RenameKey { at, key, to }),
        1 => (at(), any::<usize>(), 1usize..4)
            .prop_map(|(at, item, times)| ValueEdit::DuplicateItem { at, item, times }),
        1 => (at(), 1usize..300, any::<bool>())
            .prop_map(|(at, depth, array)| ValueEdit::Nest { at, depth, array }),
    ]
}

/// A value to put in a node's place: any type, huge strings and extreme numbers included.
fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => leaf(),
        1 => select(&[1 << 10, 1 << 16, HUGE][..]).prop_map(|n| Value::from("é".repeat(n / 2))),
        1 => json_value(),
    ]
}

/// The node at pre-order `index`, which must be below `nodes(value)`.
fn node_mut(value: &mut Value, index: usize) -> &mut Value {
    if index == 0 {
        return value;
    }
    let mut rest = index - 1;
    let children: Box<dyn Iterator<Item = &mut Value>> = match value {
        Value::Array(items) => Box::new(items.iter_mut()),
        Value::Object(map) => Box::new(map.values_mut()),
        _ => Box::new(std::iter::empty()),
    };
    for child in children {
        let count = nodes(child);
        if rest < count {
            return node_mut(child, rest);
        }
        rest -= count;
    }
    unreachable!("a node index below the node count always names a node")
}

pub(super) fn apply_value(mut root: Value, edits: &[ValueEdit]) -> Value {
    for edit in edits {
        let count = nodes(&root);
        match edit {
            ValueEdit::Replace { at, with } => *node_mut(&mut root, at % count) = with.clone(),
            ValueEdit::DeleteKey { at, key } => {
                if let Value::Object(map) = node_mut(&mut root, at % count) {
                    if let Some(key) = map.keys().nth(key % map.len().max(1)).cloned() {
                        map.remove(&key);
                    }
                }
            }
            ValueEdit::RenameKey { at, key, to } => {
                if let Value::Object(map) = node_mut(&mut root, at % count) {
                    if let Some(key) = map.keys().nth(key % map.len().max(1)).cloned() {
                        let moved = map.remove(&key).unwrap_or_default();
                        map.insert((*to).to_owned(), moved);
                    }
                }
            }
            ValueEdit::DuplicateItem { at, item, times } => {
                if let Value::Array(items) = node_mut(&mut root, at % count) {
                    if !items.is_empty() {
                        let i = item % items.len();
                        let copies = vec![items[i].clone(); *times];
                        items.splice(i..i, copies);
                    }
                }
            }
            ValueEdit::Nest { at, depth, array } => {
                let node = node_mut(&mut root, at % count);
                let mut nested = node.take();
                for _ in 0..*depth {
                    nested = if *array {
                        json!([nested])
                    } else {
                        json!({ "value": nested })
                    };
                }
                *node = nested;
            }
        }
    }
    root
}
