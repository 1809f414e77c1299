//! Simulated Brazilian customers and the webhooks their messages arrive in.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

use atende_web::sandbox::payloads::{inbound_webhook, signed};
use atende_web::sandbox::{placeholder_media, BusinessNumber};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Percent of messages that are images.
const IMAGE_PERCENT: u64 = 10;
/// Percent of messages that reply to one of the customer's earlier messages.
const REPLY_PERCENT: u64 = 15;
/// Earlier wamids kept per customer to reply to; old ones are forgotten.
const REMEMBERED_WAMIDS: usize = 20;

const FIRST_NAMES: [&str; 16] = [
    "Ana",
    "João",
    "Maria",
    "Pedro",
    "Juliana",
    "Carlos",
    "Fernanda",
    "Lucas",
    "Beatriz",
    "Rafael",
    "Camila",
    "Gabriel",
    "Larissa",
    "Thiago",
    "Patrícia",
    "Bruno",
];
const SURNAMES: [&str; 12] = [
    "Souza",
    "Pereira",
    "Oliveira",
    "Santos",
    "Lima",
    "Ferreira",
    "Costa",
    "Rodrigues",
    "Almeida",
    "Gomes",
    "Ribeiro",
    "Carvalho",
];
const TEXTS: [&str; 14] = [
    "Olá, bom dia!",
    "Boa tarde, tudo bem?",
    "Gostaria de saber o status do meu pedido.",
    "Meu pedido ainda não chegou, podem verificar?",
    "Vocês entregam no sábado?",
    "Qual o horário de funcionamento da loja?",
    "Quero trocar um produto que veio com defeito.",
    "Aceitam Pix?",
    "Posso parcelar no cartão?",
    "Obrigado pelo atendimento!",
    "Ainda estou aguardando uma resposta.",
    "O código de rastreio não funciona.",
    "Preciso da segunda via do boleto.",
    "Vocês têm esse modelo no tamanho M?",
];
const CAPTIONS: [&str; 4] = [
    "Olha a foto do produto",
    "Chegou assim, amassado",
    "Este é o comprovante",
    "É este modelo aqui",
];

/// What a simulated message says.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// A picture: `media_id` names one of the simulator's placeholder files.
    Image {
        /// `sim-image-N`.
        media_id: String,
        /// Text under the picture.
        caption: Option<String>,
    },
    /// Text that quotes a message the same customer sent before.
    Reply {
        /// The quoted message's wamid (`context.id`).
        context_id: String,
        /// What the customer says about it.
        text: String,
    },
}

/// One customer message, before it is wrapped into a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedMessage {
    /// The customer's WhatsApp id.
    pub wa_id: String,
    /// The customer's profile name.
    pub profile_name: String,
    /// The message's id, unique across runs.
    pub wamid: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// What it says.
    pub content: Content,
}

/// The webhook Meta would post for `message` to `business`'s number.
pub fn build_webhook(business: &BusinessNumber, message: &SimulatedMessage) -> Value {
    let mut body = json!({
        "from": message.wa_id,
        "id": message.wamid,
        "timestamp": message.timestamp.to_string(),
    });
    match &message.content {
        Content::Text(text) => {
            body["type"] = json!("text");
            body["text"] = json!({"body": text});
        }
        Content::Reply { context_id, text } => {
            body["context"] = json!({"from": message.wa_id, "id": context_id});
            body["type"] = json!("text");
            body["text"] = json!({"body": text});
        }
        Content::Image { media_id, caption } => {
            body["type"] = json!("image");
            body["image"] = image_object(media_id, caption.as_deref());
        }
    }
    inbound_webhook(business, &message.wa_id, &message.profile_name, body)
}

/// The body to post for `message` and its `X-Hub-Signature-256` value.
pub fn signed_webhook(
    app_secret: &str,
    business: &BusinessNumber,
    message: &SimulatedMessage,
) -> (Vec<u8>, String) {
    signed(app_secret, &build_webhook(business, message))
}

/// `image` as Meta announces it: type and hash of the file the media id stands for.
fn image_object(media_id: &str, caption: Option<&str>) -> Value {
    let (bytes, mime_type) = placeholder_media(media_id).unwrap_or_default();
    let mut image = json!({
        "mime_type": mime_type,
        "sha256": STANDARD.encode(Sha256::digest(&bytes)),
        "id": media_id,
    });
    if let Some(caption) = caption {
        image["caption"] = json!(caption);
    }
    image
}

/// A simulated customer.
#[derive(Debug, Clone)]
pub struct Customer {
    /// WhatsApp id: 55 11 9XXXXXXXX, a São Paulo mobile number.
    pub wa_id: String,
    /// Profile name, Portuguese first name and surname.
    pub name: String,
    /// Their latest wamids, newest last, to reply to.
    sent: VecDeque<String>,
}

/// The customers of one run and the dice that decide who says what.
pub struct Crowd {
    customers: Vec<Customer>,
    dice: Dice,
    /// Distinguishes this run's wamids from every other run's.
    run_id: u64,
    sequence: u64,
}

impl Crowd {
    /// `count` customers (at least one) with distinct São Paulo mobile numbers.
    pub fn new(count: usize) -> Crowd {
        let customers = (0..count.max(1))
            .map(|i| Customer {
                wa_id: format!("5511{}", 900_000_000 + i),
                name: format!(
                    "{} {}",
                    FIRST_NAMES[i % FIRST_NAMES.len()],
                    SURNAMES[(i / FIRST_NAMES.len() + i) % SURNAMES.len()]
                ),
                sent: VecDeque::new(),
            })
            .collect();
        let seed = random_seed();
        Crowd {
            customers,
            dice: Dice(seed | 1),
            run_id: seed >> 16,
            sequence: 0,
        }
    }

    /// The customers, in creation order.
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    /// The next message: a random customer, mostly texts, some images, some replies.
    pub fn next_message(&mut self) -> SimulatedMessage {
        self.sequence += 1;
        let wamid = format!("wamid.SIM{:012X}{:010}", self.run_id, self.sequence);
        let who = self.dice.below(self.customers.len() as u64) as usize;
        let roll = self.dice.below(100);
        let text = TEXTS[self.dice.below(TEXTS.len() as u64) as usize].to_string();
        let earlier = &self.customers[who].sent;
        let content = if roll < IMAGE_PERCENT {
            let caption = self.dice.below(2) == 0;
            Content::Image {
                media_id: format!("sim-image-{}", self.sequence),
                caption: caption.then(|| CAPTIONS[self.sequence as usize % CAPTIONS.len()].into()),
            }
        } else if roll < IMAGE_PERCENT + REPLY_PERCENT && !earlier.is_empty() {
            let pick = self.dice.below(earlier.len() as u64) as usize;
            Content::Reply {
                context_id: earlier[pick].clone(),
                text,
            }
        } else {
            Content::Text(text)
        };
        let customer = &mut self.customers[who];
        if customer.sent.len() == REMEMBERED_WAMIDS {
            customer.sent.pop_front();
        }
        customer.sent.push_back(wamid.clone());
        SimulatedMessage {
            wa_id: customer.wa_id.clone(),
            profile_name: customer.name.clone(),
            wamid,
            timestamp: unix_now(),
            content,
        }
    }
}

/// A xorshift64* generator: plenty for picking customers and phrases.
struct Dice(u64);

impl Dice {
    /// A number in `0..bound` (`bound` at least 1).
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound.max(1)
    }
}

/// A seed that differs per run: `RandomState` is seeded by the operating system.
fn random_seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_i64(unix_now());
    hasher.finish()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use atende_actors::whatsapp::signature::verify;
    use atende_web::sandbox::payloads::json_paths;

    use super::*;

    const FIXTURES: &str = include_str!("../../tests/fixtures/whatsapp/pywa/message.json");

    fn business() -> BusinessNumber {
        BusinessNumber {
            waba_id: "sandbox-waba".into(),
            phone_number_id: "sandbox".into(),
            display_phone_number: "5511999990000".into(),
        }
    }

    /// The key paths of a fixture, without the business-scoped user ids Meta has begun
    /// adding to `contacts`, which the simulator does not invent.
    fn fixture_paths(name: &str) -> BTreeSet<String> {
        let all: Value = serde_json::from_str(FIXTURES).expect("the fixture corpus is JSON");
        json_paths(&all[name])
            .into_iter()
            .filter(|p| !p.contains("user_id"))
            .collect()
    }

    fn message(content: Content) -> SimulatedMessage {
        SimulatedMessage {
            wa_id: "5511900000000".into(),
            profile_name: "Ana Souza".into(),
            wamid: "wamid.SIM1".into(),
            timestamp: 1_700_000_000,
            content,
        }
    }

    #[test]
    fn texts_images_and_replies_have_the_shape_of_metas_webhooks() {
        let cases = [
            ("text", Content::Text("Oi".into())),
            (
                "image",
                Content::Image {
                    media_id: "sim-image-1".into(),
                    caption: None,
                },
            ),
            (
                "reply",
                Content::Reply {
                    context_id: "wamid.SIM0".into(),
                    text: "Oi".into(),
                },
            ),
        ];
        for (fixture, content) in cases {
            let built = build_webhook(&business(), &message(content));
            assert_eq!(json_paths(&built), fixture_paths(fixture), "{fixture}");
        }
    }

    #[test]
    fn a_built_webhook_is_signed_with_the_app_secret_and_says_what_was_built() {
        let content = Content::Image {
            media_id: "sim-image-7".into(),
            caption: Some("Olha".into()),
        };

        let (body, signature) = signed_webhook("s3cret", &business(), &message(content));

        assert!(verify(b"s3cret", &body, Some(&signature)));
        assert!(!verify(b"other", &body, Some(&signature)));
        let parsed: Value = serde_json::from_slice(&body).expect("JSON");
        let value = &parsed["entry"][0]["changes"][0]["value"];
        assert_eq!(parsed["entry"][0]["id"], "sandbox-waba");
        assert_eq!(value["metadata"]["phone_number_id"], "sandbox");
        assert_eq!(value["contacts"][0]["profile"]["name"], "Ana Souza");
        assert_eq!(value["contacts"][0]["wa_id"], "5511900000000");
        let sent = &value["messages"][0];
        assert_eq!(sent["from"], "5511900000000");
        assert_eq!(sent["timestamp"], "1700000000");
        assert_eq!(sent["image"]["mime_type"], "image/png");
        assert_eq!(sent["image"]["caption"], "Olha");
        let (png, _) = placeholder_media("sim-image-7").expect("a placeholder");
        assert_eq!(
            sent["image"]["sha256"],
            STANDARD.encode(Sha256::digest(&png))
        );
    }

    #[test]
    fn customers_are_distinct_sao_paulo_mobile_numbers_with_names() {
        let crowd = Crowd::new(300);

        let wa_ids: HashSet<_> = crowd.customers().iter().map(|c| &c.wa_id).collect();
        assert_eq!(wa_ids.len(), 300);
        for customer in crowd.customers() {
            assert_eq!(customer.wa_id.len(), 13, "{}", customer.wa_id);
            assert!(customer.wa_id.starts_with("55119"));
            assert!(customer.wa_id.bytes().all(|b| b.is_ascii_digit()));
            assert!(customer.name.contains(' '));
        }
    }

    #[test]
    fn messages_mix_kinds_and_replies_quote_the_same_customers_earlier_messages() {
        let mut crowd = Crowd::new(3);
        let mut seen: Vec<(String, String)> = Vec::new();
        let mut kinds = HashSet::new();

        for _ in 0..500 {
            let message = crowd.next_message();
            if let Content::Reply { context_id, .. } = &message.content {
                assert!(seen.contains(&(message.wa_id.clone(), context_id.clone())));
            }
            kinds.insert(std::mem::discriminant(&message.content));
            assert!(!seen.iter().any(|(_, wamid)| *wamid == message.wamid));
            seen.push((message.wa_id, message.wamid));
        }

        assert_eq!(kinds.len(), 3);
        assert!(seen.iter().all(|(_, wamid)| wamid.starts_with("wamid.SIM")));
    }
}
