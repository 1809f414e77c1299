//! Request extractors whose failures speak the API's error format.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A JSON body: `Content-Type: application/json`, within the payload limit, every field
/// known and of the right type. Failures name the offending field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(Error::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json",
                ));
            }
            let bytes = body.await.map_err(payload_error)?;
            // Every body is an object; serde would read a struct from an array too.
            let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if !object {
                return Err(Error::field("body", "must be a JSON object"));
            }
            parse(&bytes).map(Json)
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Maps a failure to read the body to our error.
pub fn payload_error(error: actix_web::Error) -> Error {
    match error.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => Error::TooLarge,
        _ => Error::field("body", "could not be read"),
    }
}

/// Parses `bytes` as a `T`, naming the field at fault when it fails. A name of a fixed
/// set written as a person would (`"Agent "`, `"MARKETING"`) is read as the name it
/// obviously means.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut deserializer);
    let value = match parsed {
        Ok(value) => value,
        Err(error) if correctable(error.inner()) => {
            let json: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|_| Error::field("body", "is not valid JSON"))?;
            return parse_forgiving(json);
        }
        Err(error) => return Err(describe(&error.path().to_string(), error.inner())),
    };
    deserializer
        .end()
        .map_err(|_| Error::field("body", "has text after the JSON value"))?;
    Ok(value)
}

/// [`parse`] again, after each value at fault is replaced by what it obviously means (see
/// [`meant`]).
fn parse_forgiving<T: DeserializeOwned>(mut json: serde_json::Value) -> Result<T, Error> {
    // A body has a bounded number of such names; each pass fixes one.
    for _ in 0..32 {
        let error = match serde_path_to_error::deserialize(&json) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let path = error.path().to_string();
        let fixed = pointer(&mut json, &path).and_then(|slot| {
            *slot = meant(error.inner(), slot)?;
            Some(())
        });
        if fixed.is_none() {
            return Err(describe(&path, error.inner()));
        }
    }
    Err(Error::field("body", "has too many names to correct"))
}

/// Whether [`meant`] may have an answer for `error`.
fn correctable(error: &serde_json::Error) -> bool {
    expected_names(error).is_some() || is_float_for_integer(error)
}

fn is_float_for_integer(error: &serde_json::Error) -> bool {
    let text = error.to_string();
    text.starts_with("invalid type: floating point")
        && (text.contains("expected u") || text.contains("expected i"))
}

/// What a person obviously meant by `given`, the value `error` is about: a name of a fixed
/// set in another case or spacing (`"Agent "`, `"MARKETING"`), or a whole number written
/// with a decimal point (`290.0`, which JSON Schema counts as an integer).
fn meant(error: &serde_json::Error, given: &serde_json::Value) -> Option<serde_json::Value> {
    if let Some(names) = expected_names(error) {
        let given = given.as_str()?;
        let name = names.into_iter().find(|name| same_name(given, name))?;
        return Some(serde_json::Value::String(name));
    }
    let whole = given
        .as_f64()
        .filter(|n| is_float_for_integer(error) && n.fract() == 0.0 && n.abs() < 9.0e15)?;
    Some(serde_json::Value::from(whole as i64))
}

/// The names an "unknown variant" error says it expected.
fn expected_names(error: &serde_json::Error) -> Option<Vec<String>> {
    let text = error.to_string();
    let rest = text.strip_prefix("unknown variant `")?;
    let (_, expected) = rest.split_once("expected ")?;
    let expected = expected.split(" at line ").next()?;
    let names: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    (!names.is_empty()).then_some(names)
}

fn same_name(given: &str, name: &str) -> bool {
    let given = given.trim().to_lowercase().replace([' ', '-'], "_");
    given == name || given == name.replace('-', "_")
}

/// The value at a serde_path_to_error path (`a.b[2].c`).
fn pointer<'v>(json: &'v mut serde_json::Value, path: &str) -> Option<&'v mut serde_json::Value> {
    let mut at = json;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            at = at.get_mut(key)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            at = at.get_mut(index.trim_end_matches(']').parse::<usize>().ok()?)?;
        }
    }
    Some(at)
}

fn describe(path: &str, error: &serde_json::Error) -> Error {
    use serde_json::error::Category;
    if matches!(
        error.classify(),
        Category::Syntax | Category::Eof | Category::Io
    ) {
        // serde_json reports a value of the wrong shape for an enum as a syntax error.
        return match path {
            "." | "?" => Error::field("body", "is not valid JSON"),
            field => Error::field(field, "is not valid JSON or not of the expected type"),
        };
    }
    // serde's messages carry the position; the field name says more to a client.
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    if let Some(name) = quoted_after(text, "missing field ") {
        return Error::field(&join(path, &name), "is required");
    }
    if quoted_after(text, "unknown field ").is_some() {
        // The path already ends at the unknown field.
        return Error::field(path, "is not a known field");
    }
    let field = if path == "." { "body" } else { path };
    if text.starts_with("data did not match any variant") {
        // An untagged enum (one of several shapes): say so without the type's name.
        return Error::field(field, "matches none of the shapes the document allows");
    }
    Error::Validation {
        message: format!("{field}: {text}"),
        fields: BTreeMap::from([(field.to_string(), text.to_string())]),
    }
}

fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let rest = text.strip_prefix(prefix)?.strip_prefix('`')?;
    Some(rest.split('`').next()?.to_string())
}

fn join(path: &str, name: &str) -> String {
    if path == "." {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Query-string failures in the API's format.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        let text = error.to_string();
        Error::field(
            "query",
            text.trim_start_matches("Query deserialize error: "),
        )
        .into()
    })
}

/// For PATCH fields where `null` means "clear" and absence means "keep":
/// `#[serde(default, deserialize_with = "nullable")] field: Option<Option<T>>`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        email: String,
        count: u32,
    }

    fn field_of(body: &str) -> String {
        match parse::<Probe>(body.as_bytes()).unwrap_err() {
            Error::Validation { fields, .. } => fields.into_keys().next().unwrap_or_default(),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn each_kind_of_bad_body_names_its_field() {
        for (body, field) in [
            ("{", "body"),
            ("not json", "body"),
            ("\"text\"", "body"),
            ("[1]", "[0]"),
            (r#"{"count":1}"#, "email"),
            (r#"{"email":"a","count":1,"extra":true}"#, "extra"),
            (r#"{"email":"a","count":"x"}"#, "count"),
            (r#"{"email":"a","count":-1}"#, "count"),
            (r#"{"email":"a","count":1} {}"#, "body"),
            (r#"{"email":"a","count":1"#, "body"),
        ] {
            assert_eq!(field_of(body), field, "{body}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Text,
        MultiChoice,
    }

    #[derive(Debug, Deserialize)]
    struct Kinds {
        kind: Kind,
        more: Vec<Kind>,
    }

    #[test]
    fn names_of_a_set_are_read_in_any_case_and_others_name_their_field() {
        let body = br#"{"kind": " Text ", "more": ["MULTI CHOICE", "multi-choice", "text"]}"#;
        let kinds: Kinds = parse(body).unwrap();
        assert_eq!(kinds.kind, Kind::Text);
        assert_eq!(
            kinds.more,
            [Kind::MultiChoice, Kind::MultiChoice, Kind::Text]
        );
        match parse::<Kinds>(br#"{"kind": "text", "more": ["txt"]}"#).unwrap_err() {
            Error::Validation { fields, .. } => {
                assert!(fields.contains_key("more[0]"), "{fields:?}")
            }
            other => panic!("{other}"),
        }
    }

    #[derive(Deserialize, Debug)]
    struct Counts {
        count: u32,
        offset: Option<i64>,
    }

    #[test]
    fn a_whole_number_with_a_decimal_point_is_the_number_and_a_fraction_is_refused() {
        let counts: Counts = parse(br#"{"count": 290.0, "offset": -3.0}"#).unwrap();
        assert_eq!((counts.count, counts.offset), (290, Some(-3)));
        for body in [&br#"{"count": 2.5}"#[..], br#"{"count": -1.0}"#] {
            match parse::<Counts>(body).unwrap_err() {
                Error::Validation { fields, .. } => assert!(fields.contains_key("count")),
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_is_a_validation_error() {
        assert!(parse::<Probe>(b"{\"email\":\"\xff\",\"count\":1}").is_err());
    }
}
