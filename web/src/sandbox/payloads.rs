//! Webhook bodies shaped exactly as Meta posts them, and their signatures.
//!
//! The simulator posts status webhooks built here; `atende simulate` and the tests build
//! inbound message webhooks with the same envelope, so there is one place that knows the
//! shape (see `tests/fixtures/whatsapp/pywa/`).

use std::collections::BTreeSet;

use atende_actors::whatsapp::signature::sign;
use serde_json::{json, Value};

/// The account and number a webhook speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessNumber {
    /// The WhatsApp Business Account id (`entry[].id`).
    pub waba_id: String,
    /// The number's id (`metadata.phone_number_id`), how the hub tells its numbers apart.
    pub phone_number_id: String,
    /// The number as people dial it (`metadata.display_phone_number`).
    pub display_phone_number: String,
}

/// Meta's envelope around one `messages` change whose value holds `fields` (e.g.
/// `statuses`, or `contacts` and `messages`) after `messaging_product` and `metadata`.
pub fn envelope(business: &BusinessNumber, fields: Value) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.phone_number_id,
        },
    });
    if let (Some(value), Value::Object(fields)) = (value.as_object_mut(), fields) {
        value.extend(fields);
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": business.waba_id,
            "changes": [{"value": value, "field": "messages"}],
        }],
    })
}

/// Whether `key` is a BSUID (`US.1349...`: a country code, a dot, letters and digits)
/// rather than a phone number.
pub fn is_user_id(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() > 3
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2] == b'.'
        && key[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

/// The webhook telling that the message `wamid` to `recipient` reached `status` (`sent`,
/// `delivered`, `read`) at `timestamp` (Unix seconds).
pub fn status_webhook(
    business: &BusinessNumber,
    wamid: &str,
    recipient: &str,
    status: &str,
    timestamp: i64,
) -> Value {
    // A send to a BSUID is reported by it alone (Meta shares no phone it was not given).
    let recipient_key = if is_user_id(recipient) {
        "recipient_user_id"
    } else {
        "recipient_id"
    };
    envelope(
        business,
        json!({
            "statuses": [{
                recipient_key: recipient,
                "id": wamid,
                "status": status,
                "timestamp": timestamp.to_string(),
                "pricing": {
                    "billable": false,
                    "pricing_model": "PMP",
                    "category": "service",
                },
            }],
        }),
    )
}

/// The webhook of one customer message: `message` is the message object itself (`from`,
/// `id`, `timestamp`, `type`, the type's object, `context`...), and the customer's profile
/// goes into `contacts` as Meta puts it there.
pub fn inbound_webhook(
    business: &BusinessNumber,
    wa_id: &str,
    profile_name: &str,
    message: Value,
) -> Value {
    envelope(
        business,
        json!({
            "contacts": [{"profile": {"name": profile_name}, "wa_id": wa_id}],
            "messages": [message],
        }),
    )
}

/// The bytes to post and their `X-Hub-Signature-256` header value.
pub fn signed(app_secret: &str, payload: &Value) -> (Vec<u8>, String) {
    // Display of a `Value` cannot fail, unlike the generic serializer's signature.
    let body = payload.to_string().into_bytes();
    let signature = sign(app_secret.as_bytes(), &body);
    (body, signature)
}

/// Every key path of a JSON value (`entry[].changes[].field`), to compare payload shapes
/// with Meta's examples regardless of the values.
pub fn json_paths(value: &Value) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    collect_paths(value, "", &mut paths);
    paths
}

fn collect_paths(value: &Value, prefix: &str, paths: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                paths.insert(path.clone());
                collect_paths(child, &path, paths);
            }
        }
        Value::Array(items) => {
            let path = format!("{prefix}[]");
            for item in items {
                collect_paths(item, &path, paths);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use atende_actors::whatsapp::signature::verify;

    use super::*;

    const STATUS_FIXTURES: &str =
        include_str!("../../../tests/fixtures/whatsapp/pywa/message_status.json");
    const MESSAGE_FIXTURES: &str =
        include_str!("../../../tests/fixtures/whatsapp/pywa/message.json");

    fn business() -> BusinessNumber {
        BusinessNumber {
            waba_id: "waba".into(),
            phone_number_id: "123".into(),
            display_phone_number: "5511999990000".into(),
        }
    }

    fn fixture(corpus: &str, name: &str) -> Value {
        let all: Value = serde_json::from_str(corpus).expect("the fixture corpus is JSON");
        all[name].clone()
    }

    /// Paths of the fixture that Meta adds for its own bookkeeping and the simulator
    /// leaves out (conversation billing, business-scoped user ids).
    fn without_optional(paths: BTreeSet<String>) -> BTreeSet<String> {
        paths
            .into_iter()
            .filter(|p| !p.contains("conversation") && !p.contains("user_id"))
            .collect()
    }

    #[test]
    fn a_status_webhook_has_the_shape_of_metas() {
        for status in ["sent", "delivered", "read"] {
            let built = status_webhook(&business(), "wamid.X", "5511988887777", status, 1);
            // Meta's recent status webhooks also name the customer in `contacts`; the
            // simulator does not know the profile name, and the hub needs neither.
            let expected: BTreeSet<String> =
                without_optional(json_paths(&fixture(STATUS_FIXTURES, status)))
                    .into_iter()
                    .filter(|p| !p.contains("value.contacts"))
                    .collect();
            let built_paths = json_paths(&built);
            assert_eq!(built_paths, expected, "{status}");
            let item = &built["entry"][0]["changes"][0]["value"]["statuses"][0];
            assert_eq!(item["status"], status);
            assert_eq!(item["timestamp"], "1");
        }
    }

    #[test]
    fn an_inbound_text_webhook_has_the_shape_of_metas() {
        let message = json!({
            "from": "5511988887777", "id": "wamid.SIM1", "timestamp": "1",
            "text": {"body": "Oi"}, "type": "text",
        });
        let built = inbound_webhook(&business(), "5511988887777", "Ana", message);
        let expected = without_optional(json_paths(&fixture(MESSAGE_FIXTURES, "text")));
        assert_eq!(json_paths(&built), expected);
    }

    #[test]
    fn a_signed_payload_verifies_with_its_secret_only() {
        let (body, signature) = signed("s3cret", &json!({"a": 1}));
        assert!(verify(b"s3cret", &body, Some(&signature)));
        assert!(!verify(b"other", &body, Some(&signature)));
    }
}
