//! Labels: the tags chats and contacts carry, each with a colour an admin chose, so an
//! agent sees at a glance what a chat is about and filters the list by it.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use atende_data::Label;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Admin, Auth};
use crate::error::Result;
use crate::extract::Json;
use crate::state::AppState;
use crate::validate::Fields;

/// Most labels an install keeps.
const MAX_LABELS: usize = 100;
/// The longest label (as for tags).
const MAX_LABEL: usize = 32;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_labels).service(put_labels);
}

/// One label.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    #[schema(max_length = 32, pattern = r"\S")]
    pub name: String,
    /// `#rrggbb`.
    #[schema(pattern = r"^\s*#[0-9A-Fa-f]{6}\s*$")]
    pub color: String,
}

/// Every label, in the order they are offered.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelList {
    #[schema(max_items = 100)]
    pub items: Vec<LabelBody>,
}

fn view(labels: &[Label]) -> LabelList {
    LabelList {
        items: labels
            .iter()
            .map(|l| LabelBody {
                name: l.name.clone(),
                color: l.color.clone(),
            })
            .collect(),
    }
}

/// The labels (any signed-in user).
#[utoipa::path(tag = "chats", security(("bearer" = [])), responses(
    (status = 200, body = LabelList),
))]
#[get("/labels")]
async fn list_labels(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(view(&state.store.settings()?.labels)))
}

/// Replaces the labels (admins); a name given twice is one label, the first. Chats and
/// contacts keep their tags; a tag without a label is shown plain.
#[utoipa::path(tag = "chats", request_body = LabelList, security(("bearer" = [])), responses(
    (status = 200, body = LabelList),
))]
#[put("/labels")]
async fn put_labels(
    state: web::Data<AppState>,
    req: HttpRequest,
    admin: Admin,
    body: Json<LabelList>,
) -> Result<HttpResponse> {
    let mut fields = Fields::default();
    fields.check(
        body.0.items.len() <= MAX_LABELS,
        "items",
        "must be at most 100 labels",
    );
    let mut labels: Vec<Label> = Vec::new();
    for (i, item) in body.0.items.iter().enumerate() {
        let name = item.name.trim().to_string();
        fields.text(&format!("items[{i}].name"), &name, MAX_LABEL);
        let color = item.color.trim().to_lowercase();
        let good = color.len() == 7
            && color.starts_with('#')
            && color[1..].bytes().all(|b| b.is_ascii_hexdigit());
        fields.check(
            good,
            &format!("items[{i}].color"),
            "must be a colour such as #25d366",
        );
        // A name given twice, in any case, is one label: the first, with its colour.
        let again = labels
            .iter()
            .any(|l| l.name.to_lowercase() == name.to_lowercase());
        if !again {
            labels.push(Label { name, color });
        }
    }
    fields.finish()?;
    let mut settings = (*state.store.settings()?).clone();
    settings.labels = labels;
    state.store.put_settings(&settings)?;
    state.store.durable().await?;
    super::audit::record(&state, &req, Some(admin.0.id), "labels.changed", None, None)?;
    Ok(HttpResponse::Ok().json(view(&settings.labels)))
}
