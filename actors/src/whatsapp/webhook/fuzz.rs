//! Property tests ("fuzzing") of [`parse`], seeded with the pywa fixtures: arbitrary
//! bytes, arbitrary JSON, and byte-level and structural mutations of every example. For
//! every input the parser must return within [`PARSE_BUDGET`] without panicking, refuse
//! exactly the bodies that are not JSON, and yield only usable items: non-empty ids, no
//! empty texts, fields that agree with the kind, and `skipped` lines that cannot carry
//! the payload into the log. `golden` checks that the unmutated examples still parse as
//! recorded.
//!
//! Each property runs proptest's default 256 cases, a few seconds in a debug build. To
//! fuzz for longer: `PROPTEST_CASES=100000 cargo test -p atende-actors fuzz` (add
//! `--release` for speed). A failure prints the shrunk input; keep it as a named test in
//! `regressions`.

mod checks;
mod edits;
mod golden;
mod json;
mod regressions;

use std::fmt;
use std::time::{Duration, Instant};

use chrono::Utc;
use proptest::collection::vec;
use proptest::prelude::*;
use serde::Serialize;
use serde_json::ser::{PrettyFormatter, Serializer};
use serde_json::Value;

use super::tests::{examples, fixture_files};
use super::{envelope, WebhookBatch};
use checks::{check_batch, check_bytes, outline, parse_in_time};
use edits::{apply_bytes, apply_value, byte_edit, value_edit};
use json::{depth, enveloped, json_value};

/// A parse taking longer has hung or gone quadratic: the largest input here is a few
/// megabytes, which a debug build reads in a small fraction of this on a busy machine.
const PARSE_BUDGET: Duration = Duration::from_secs(2);
/// serde_json refuses arrays and objects nested deeper (its recursion limit, 128 levels
/// counting the one that fails), which keeps hostile bodies off the stack.
const SERDE_MAX_DEPTH: usize = 127;

/// One fixture example, parsed and as compact bytes.
struct Example {
    label: String,
    value: Value,
    bytes: Vec<u8>,
}

/// Every example of every fixture file, ordered by `file/name`.
fn corpus() -> Vec<Example> {
    let mut corpus: Vec<Example> = fixture_files()
        .iter()
        .flat_map(|file| {
            examples(file)
                .into_iter()
                .map(move |(name, value)| Example {
                    label: format!("{file}/{name}"),
                    bytes: serde_json::to_vec(&value).expect("a parsed value serialises"),
                    value,
                })
        })
        .collect();
    corpus.sort_by(|a, b| a.label.cmp(&b.label));
    assert!(
        corpus.len() >= 70,
        "fixtures missing: {} examples",
        corpus.len()
    );
    corpus
}

/// A mutated example, printed as text (cut short) when a property fails.
#[derive(Clone)]
struct Mutated<T> {
    example: String,
    body: T,
}

fn show(f: &mut fmt::Formatter<'_>, example: &str, bytes: &[u8]) -> fmt::Result {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(4000)]);
    write!(f, "{example} ({} bytes): {shown}", bytes.len())
}

impl fmt::Debug for Mutated<Vec<u8>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(f, &self.example, &self.body)
    }
}

impl fmt::Debug for Mutated<Value> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(f, &self.example, self.body.to_string().as_bytes())
    }
}

fn mutated_bytes() -> impl Strategy<Value = Mutated<Vec<u8>>> {
    let corpus = corpus();
    (0..corpus.len(), vec(byte_edit(), 1..6)).prop_map(move |(i, edits)| Mutated {
        example: corpus[i].label.clone(),
        body: apply_bytes(corpus[i].bytes.clone(), &edits),
    })
}

fn mutated_values() -> impl Strategy<Value = Mutated<Value>> {
    let corpus = corpus();
    (0..corpus.len(), vec(value_edit(), 1..5)).prop_map(move |(i, edits)| Mutated {
        example: corpus[i].label.clone(),
        body: apply_value(corpus[i].value.clone(), &edits),
    })
}

/// An example laid out with random JSON whitespace, beside its compact form.
fn spaced_examples() -> impl Strategy<Value = Mutated<(Vec<u8>, Vec<u8>)>> {
    let corpus = corpus();
    (0..corpus.len(), "[ \t\r\n]{0,4}").prop_map(move |(i, indent)| Mutated {
        example: corpus[i].label.clone(),
        body: (laid_out(&corpus[i].value, &indent), corpus[i].bytes.clone()),
    })
}

impl fmt::Debug for Mutated<(Vec<u8>, Vec<u8>)> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show(f, &self.example, &self.body.0)
    }
}

/// `value` serialised with `indent` (JSON whitespace) as indentation.
fn laid_out(value: &Value, indent: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut serializer =
        Serializer::with_formatter(&mut bytes, PrettyFormatter::with_indent(indent.as_bytes()));
    value
        .serialize(&mut serializer)
        .expect("a value serialises");
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Findings become named regression tests below, not files beside the source.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_are_refused_or_read_into_a_usable_batch(
        bytes in vec(any::<u8>(), 0..2048),
    ) {
        check_bytes(&bytes)?;
    }

    #[test]
    fn arbitrary_json_is_always_accepted(value in prop_oneof![1 => json_value(), 3 => enveloped()]) {
        let bytes = serde_json::to_vec(&value).expect("a value serialises");
        prop_assert!(check_bytes(&bytes)?.is_some(), "refused");
    }

    #[test]
    fn byte_mutations_of_fixtures_are_refused_or_read_into_a_usable_batch(
        mutated in mutated_bytes(),
    ) {
        check_bytes(&mutated.body)?;
    }

    #[test]
    fn structural_mutations_of_fixtures_read_into_a_usable_batch(mutated in mutated_values()) {
        let value = &mutated.body;
        let now = Utc::now();
        let started = Instant::now();
        let mut direct = WebhookBatch::default();
        envelope::read(value, now, &|_| true, &mut direct);
        prop_assert!(started.elapsed() < PARSE_BUDGET, "{:?}", started.elapsed());
        check_batch(&direct, value, now)?;
        let bytes = serde_json::to_vec(value).expect("a value serialises");
        match check_bytes(&bytes)? {
            Some(parsed) => prop_assert_eq!(outline(&parsed), outline(&direct)),
            None => prop_assert!(depth(value) > SERDE_MAX_DEPTH, "refused JSON"),
        }
    }

    #[test]
    fn whitespace_between_tokens_changes_nothing(spaced in spaced_examples()) {
        let (example, compact) = &spaced.body;
        let spaced = parse_in_time(example)?;
        let compact = parse_in_time(compact)?;
        prop_assert_eq!(spaced.ok(), compact.ok());
    }
}
