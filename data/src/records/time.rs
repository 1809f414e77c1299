//! Times in stored records: MessagePack gets nanoseconds since the epoch as one integer
//! (9 bytes) instead of chrono's RFC 3339 text (31 bytes). A chat's record carries half a
//! dozen times and is rewritten with every message, so this is much of what sled writes
//! and must read back at start-up. Both forms are read, so records written before stay
//! readable; JSON (the contact export) keeps the text.

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// For `DateTime<Utc>` fields: `#[serde(with = "time::compact")]`.
pub mod compact {
    use super::*;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        match at.timestamp_nanos_opt() {
            Some(nanos) if !s.is_human_readable() => s.serialize_i64(nanos),
            // Outside 1677-2262 nanoseconds overflow: the text form still holds it.
            _ => serde::Serialize::serialize(at, s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        d.deserialize_any(TimeVisitor)
    }
}

/// For `Option<DateTime<Utc>>` fields: `#[serde(default, with = "time::compact_opt")]`.
pub mod compact_opt {
    use super::*;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_some(&Compact(at)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    struct Compact<'a>(&'a DateTime<Utc>);

    impl serde::Serialize for Compact<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            compact::serialize(self.0, s)
        }
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a time or nothing")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            compact::deserialize(d).map(Some)
        }
    }
}

/// Reads either form.
struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("nanoseconds since 1970 or an RFC 3339 time")
    }

    fn visit_i64<E: de::Error>(self, nanos: i64) -> Result<Self::Value, E> {
        Ok(DateTime::from_timestamp_nanos(nanos))
    }

    fn visit_u64<E: de::Error>(self, nanos: u64) -> Result<Self::Value, E> {
        i64::try_from(nanos)
            .map(DateTime::from_timestamp_nanos)
            .map_err(|_| E::custom("time out of range"))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        text.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Old {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct New {
        #[serde(with = "compact")]
        at: DateTime<Utc>,
        #[serde(default, with = "compact_opt")]
        maybe: Option<DateTime<Utc>>,
    }

    fn at(nanos: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(nanos)
    }

    #[test]
    fn times_are_stored_as_integers_and_read_back_to_the_nanosecond() {
        for maybe in [None, Some(at(1_764_521_701_123_456_789))] {
            let value = New {
                at: at(1_764_521_701_987_654_321),
                maybe,
            };
            let text = rmp_serde::to_vec(&Old {
                at: value.at,
                maybe,
            })
            .unwrap();
            let compact = rmp_serde::to_vec(&value).unwrap();
            assert!(compact.len() + 20 < text.len(), "{compact:?}");
            assert_eq!(rmp_serde::from_slice::<New>(&compact).unwrap(), value);
            let named = rmp_serde::to_vec_named(&value).unwrap();
            assert_eq!(rmp_serde::from_slice::<New>(&named).unwrap(), value);
        }
    }

    #[test]
    fn records_written_with_text_times_still_read() {
        let old = Old {
            at: at(1_764_521_701_987_654_321),
            maybe: Some(at(-5_000_000_000)),
        };
        for bytes in [
            rmp_serde::to_vec(&old).unwrap(),
            rmp_serde::to_vec_named(&old).unwrap(),
        ] {
            let new: New = rmp_serde::from_slice(&bytes).unwrap();
            assert_eq!((new.at, new.maybe), (old.at, old.maybe));
        }
        // A named record from before a field existed.
        let bytes = rmp_serde::to_vec_named(&serde_json::json!({"at": old.at})).unwrap();
        assert_eq!(rmp_serde::from_slice::<New>(&bytes).unwrap().maybe, None);
    }

    #[test]
    fn json_keeps_the_text_form_and_far_times_keep_it_too() {
        let value = New {
            at: at(0),
            maybe: Some(at(1)),
        };
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(
            json,
            r#"{"at":"1970-01-01T00:00:00Z","maybe":"1970-01-01T00:00:00.000000001Z"}"#
        );
        assert_eq!(serde_json::from_str::<New>(&json).unwrap(), value);
        let far: DateTime<Utc> = "2300-01-01T00:00:00Z".parse().unwrap();
        let bytes = rmp_serde::to_vec(&New {
            at: far,
            maybe: None,
        })
        .unwrap();
        assert_eq!(rmp_serde::from_slice::<New>(&bytes).unwrap().at, far);
    }
}
