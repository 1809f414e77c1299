//! Interactive messages out: reply buttons, lists and a call-to-action URL button, checked
//! against WhatsApp's limits and turned into the Cloud API's `interactive` object.
//!
//! The customer's answer comes back as an `interactive` message (`button_reply` or
//! `list_reply` with the chosen id and title) whose context names the question, so the
//! console shows it as a reply to it.

use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::validate::Fields;

const MAX_BODY: usize = 1024;
const MAX_HEADER: usize = 60;
const MAX_FOOTER: usize = 60;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE: usize = 20;
const MAX_ID: usize = 256;
const MAX_ROWS: usize = 10;
const MAX_SECTIONS: usize = 10;
const MAX_ROW_TITLE: usize = 24;
const MAX_ROW_DESCRIPTION: usize = 72;
const MAX_URL: usize = 2000;

/// An interactive message: `kind` says which of `buttons`, `list` or `cta` it carries.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractiveRequest {
    /// `buttons` (up to 3 reply buttons), `list` (sections of rows, up to 10 rows) or
    /// `cta_url` (one button that opens a URL).
    pub kind: String,
    /// Up to 60 characters above the body.
    pub header: Option<String>,
    /// The question, up to 1024 characters.
    pub body: String,
    /// Up to 60 characters under the body.
    pub footer: Option<String>,
    pub buttons: Option<Vec<ButtonRequest>>,
    pub list: Option<ListRequest>,
    pub cta: Option<CtaRequest>,
}

/// A reply button: `id` comes back with the customer's answer.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonRequest {
    /// Up to 256 characters; made from the title when left out.
    pub id: Option<String>,
    /// Up to 20 characters.
    pub title: String,
}

/// A list: the button that opens it, and its sections.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// The label of the button that opens the list, up to 20 characters.
    pub button: String,
    pub sections: Vec<SectionRequest>,
}

/// A section of a list.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionRequest {
    /// Up to 24 characters; required when there are several sections.
    pub title: Option<String>,
    pub rows: Vec<RowRequest>,
}

/// A row of a list: `id` comes back with the customer's answer.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowRequest {
    /// Up to 200 characters; made from the title when left out.
    pub id: Option<String>,
    /// Up to 24 characters.
    pub title: String,
    /// Up to 72 characters.
    pub description: Option<String>,
}

/// A call-to-action URL button.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CtaRequest {
    /// Up to 20 characters.
    pub display_text: String,
    /// http or https.
    pub url: String,
}

fn short(fields: &mut Fields, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    fields.check(
        !value.is_empty() && value.chars().count() <= max,
        field,
        &format!("must be 1 to {max} characters"),
    );
    value.to_string()
}

fn optional(
    fields: &mut Fields,
    field: &str,
    value: &Option<String>,
    max: usize,
) -> Option<String> {
    let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    Some(short(fields, field, value, max))
}

/// An id given, or made from the title (`1`, `2` ... would lose meaning in a bot's flow).
fn id_of(fields: &mut Fields, field: &str, id: &Option<String>, title: &str) -> String {
    match id.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
        Some(id) => short(fields, field, id, MAX_ID),
        None => title.trim().to_lowercase(),
    }
}

/// The Cloud API's `interactive` object for `request`, and its body text; field errors
/// are added to `fields`.
pub fn build(fields: &mut Fields, request: &InteractiveRequest) -> (Value, String) {
    let body = short(fields, "interactive.body", &request.body, MAX_BODY);
    let header = optional(fields, "interactive.header", &request.header, MAX_HEADER);
    let footer = optional(fields, "interactive.footer", &request.footer, MAX_FOOTER);
    let kind = request.kind.trim().to_ascii_lowercase();
    let mut object = match kind.as_str() {
        "buttons" | "button" => {
            let buttons = request.buttons.as_deref().unwrap_or_default();
            fields.check(
                (1..=MAX_BUTTONS).contains(&buttons.len()),
                "interactive.buttons",
                "must be 1 to 3 buttons",
            );
            let mut ids = Vec::new();
            let buttons: Vec<Value> = buttons
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let title = short(
                        fields,
                        &format!("interactive.buttons[{i}].title"),
                        &b.title,
                        MAX_BUTTON_TITLE,
                    );
                    let id = id_of(
                        fields,
                        &format!("interactive.buttons[{i}].id"),
                        &b.id,
                        &title,
                    );
                    ids.push(id.clone());
                    json!({"type": "reply", "reply": {"id": id, "title": title}})
                })
                .collect();
            unique(fields, "interactive.buttons", &ids);
            json!({"type": "button", "action": {"buttons": buttons}})
        }
        "list" => {
            let Some(list) = &request.list else {
                fields.check(false, "interactive.list", "is required for a list");
                return (Value::Null, body);
            };
            let button = short(
                fields,
                "interactive.list.button",
                &list.button,
                MAX_BUTTON_TITLE,
            );
            let rows: usize = list.sections.iter().map(|s| s.rows.len()).sum();
            fields.check(
                (1..=MAX_SECTIONS).contains(&list.sections.len()),
                "interactive.list.sections",
                "must be 1 to 10 sections",
            );
            fields.check(
                (1..=MAX_ROWS).contains(&rows),
                "interactive.list.sections",
                "must hold 1 to 10 rows in all",
            );
            let mut ids = Vec::new();
            let several = list.sections.len() > 1;
            let sections: Vec<Value> = list
                .sections
                .iter()
                .enumerate()
                .map(|(s, section)| {
                    let field = format!("interactive.list.sections[{s}]");
                    let title = optional(
                        fields,
                        &format!("{field}.title"),
                        &section.title,
                        MAX_ROW_TITLE,
                    );
                    fields.check(
                        !several || title.is_some(),
                        &format!("{field}.title"),
                        "is required when there are several sections",
                    );
                    let rows: Vec<Value> = section
                        .rows
                        .iter()
                        .enumerate()
                        .map(|(r, row)| {
                            let field = format!("{field}.rows[{r}]");
                            let title =
                                short(fields, &format!("{field}.title"), &row.title, MAX_ROW_TITLE);
                            let id = id_of(fields, &format!("{field}.id"), &row.id, &title);
                            ids.push(id.clone());
                            let mut value = json!({"id": id, "title": title});
                            if let Some(d) = optional(
                                fields,
                                &format!("{field}.description"),
                                &row.description,
                                MAX_ROW_DESCRIPTION,
                            ) {
                                value["description"] = json!(d);
                            }
                            value
                        })
                        .collect();
                    let mut value = json!({"rows": rows});
                    if let Some(title) = title {
                        value["title"] = json!(title);
                    }
                    value
                })
                .collect();
            unique(fields, "interactive.list.sections", &ids);
            json!({"type": "list", "action": {"button": button, "sections": sections}})
        }
        "cta_url" | "cta" => {
            let Some(cta) = &request.cta else {
                fields.check(
                    false,
                    "interactive.cta",
                    "is required for a call-to-action button",
                );
                return (Value::Null, body);
            };
            let text = short(
                fields,
                "interactive.cta.display_text",
                &cta.display_text,
                MAX_BUTTON_TITLE,
            );
            let url = cta.url.trim();
            fields.check(
                url.len() <= MAX_URL
                    && reqwest::Url::parse(url)
                        .is_ok_and(|u| matches!(u.scheme(), "http" | "https")),
                "interactive.cta.url",
                "must be an http or https URL",
            );
            json!({"type": "cta_url", "action": {"name": "cta_url", "parameters": {"display_text": text, "url": url}}})
        }
        _ => {
            fields.check(
                false,
                "interactive.kind",
                "must be buttons, list or cta_url",
            );
            return (Value::Null, body);
        }
    };
    object["body"] = json!({"text": body});
    if let Some(header) = header {
        object["header"] = json!({"type": "text", "text": header});
    }
    if let Some(footer) = footer {
        object["footer"] = json!({"text": footer});
    }
    (object, body)
}

fn unique(fields: &mut Fields, field: &str, ids: &[String]) {
    let mut sorted = ids.to_vec();
    sorted.sort();
    sorted.dedup();
    fields.check(
        sorted.len() == ids.len(),
        field,
        "each id must be different",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(value: Value) -> InteractiveRequest {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn buttons_become_the_cloud_apis_reply_buttons() {
        let mut fields = Fields::default();
        let (object, text) = build(
            &mut fields,
            &request(
                json!({"kind": "buttons", "body": "Posso ajudar?", "footer": "Atende",
                "buttons": [{"id": "sim", "title": "Sim"}, {"title": "Falar com atendente"}]}),
            ),
        );
        assert!(fields.finish().is_ok());
        assert_eq!(text, "Posso ajudar?");
        assert_eq!(object["type"], "button");
        assert_eq!(
            object["action"]["buttons"][1]["reply"]["id"],
            "falar com atendente"
        );
        assert_eq!(object["footer"]["text"], "Atende");
    }

    #[test]
    fn whatsapps_limits_are_field_errors() {
        let mut fields = Fields::default();
        build(
            &mut fields,
            &request(json!({"kind": "buttons", "body": "x", "buttons": [
                {"title": "um"}, {"title": "dois"}, {"title": "três"}, {"title": "quatro"}]})),
        );
        assert!(fields.finish().is_err());
        let mut fields = Fields::default();
        build(
            &mut fields,
            &request(
                json!({"kind": "list", "body": "x", "list": {"button": "Ver",
                "sections": [{"rows": [{"title": "a very long row title over 24"}]}]}}),
            ),
        );
        assert!(fields.finish().is_err());
        let mut fields = Fields::default();
        build(
            &mut fields,
            &request(
                json!({"kind": "cta_url", "body": "x", "cta": {"display_text": "Pagar", "url": "javascript:alert(1)"}}),
            ),
        );
        assert!(fields.finish().is_err());
    }
}
