//! The message templates the sandbox business has approved, as Meta lists them.

use serde_json::{json, Value};

/// The body of `GET /{waba_id}/message_templates`: a few APPROVED pt_BR templates.
pub(super) fn approved_templates() -> Value {
    json!({
        "data": [
            template(
                "boas_vindas",
                "UTILITY",
                "810000000000001",
                "Olá, {{1}}! Obrigado por falar com a gente. Em que podemos ajudar?",
                &["Maria"],
            ),
            template(
                "pedido_enviado",
                "UTILITY",
                "810000000000002",
                "Seu pedido {{1}} foi enviado e chega em {{2}}. Qualquer dúvida, é só responder esta mensagem.",
                &["#4821", "3 dias úteis"],
            ),
            template(
                "codigo_acesso",
                "AUTHENTICATION",
                "810000000000004",
                "{{1}} é o seu código de verificação.",
                &["123456"],
            ),
            template(
                "oferta_do_mes",
                "MARKETING",
                "810000000000005",
                "Oi, {{1}}! Este mês {{2}} está com 20% de desconto. Quer saber mais? Responda esta mensagem. Para não receber ofertas, envie SAIR.",
                &["Maria", "o plano família"],
            ),
            template(
                "retomar_atendimento",
                "UTILITY",
                "810000000000003",
                "Oi! Ficamos de te responder sobre o seu atendimento. Podemos continuar por aqui?",
                &[],
            ),
        ],
        "paging": {"cursors": {}},
    })
}

/// One template with a body and, when it takes parameters, Meta's `example` of them.
fn template(name: &str, category: &str, id: &str, body: &str, example: &[&str]) -> Value {
    let mut component = json!({"type": "BODY", "text": body});
    if !example.is_empty() {
        component["example"] = json!({"body_text": [example]});
    }
    json!({
        "name": name,
        "parameter_format": "POSITIONAL",
        "components": [component],
        "language": "pt_BR",
        "status": "APPROVED",
        "category": category,
        "id": id,
    })
}
