//! The simulated Graph API endpoints: messages, media upload and download, templates.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::delivery::deliver_statuses;
use super::graph::{self, GraphError};
use super::payloads;
use super::state::{random_u64, Gate, Shared};
use super::templates::approved_templates;
use super::Failure;

/// Meta's ceiling for the largest media kind (documents).
const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;
/// The message `type`s the Cloud API sends.
const MESSAGE_TYPES: [&str; 11] = [
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "template",
    "reaction",
    "interactive",
    "location",
    "contacts",
];

/// Registers every endpoint; `/download` first, as `/{version}/{media_id}` matches it too.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/download/{media_id}", web::get().to(download))
        .route("/{version}/{id}/messages", web::post().to(messages))
        .route("/{version}/{id}/media", web::post().to(upload))
        .route(
            "/{version}/{id}/message_templates",
            web::get().to(templates),
        )
        .route("/{version}/{media_id}", web::get().to(media_url));
}

/// Any other path, answered as the Graph API does.
pub(super) async fn unknown_path(req: HttpRequest) -> Result<HttpResponse, GraphError> {
    Err(graph::unknown_path(req.path()))
}

/// What a valid body of `POST /{phone_number_id}/messages` asks for.
enum MessageRequest {
    /// Mark an inbound message read.
    Read { message_id: String },
    /// Send a message of type `kind` to `to` (a phone, or a BSUID given as `recipient`).
    Send {
        to: String,
        kind: String,
        body: Value,
    },
}

async fn messages(
    sim: web::Data<Shared>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, GraphError> {
    let (version, phone_number_id) = path.into_inner();
    sim.lock().received += 1;
    graph::check(&sim, &req, &version)?;
    graph::check_number(&sim.config, &phone_number_id)?;
    let mut answer_lost = false;
    match sim.admit() {
        Gate::Open => {}
        Gate::Down => return Err(GraphError::unavailable()),
        Gate::Fail(Failure::AnswerLost) => answer_lost = true,
        Gate::Fail(failure) => {
            if let Failure::Delay(delay) = failure {
                tokio::time::sleep(delay).await;
            }
            return Err(GraphError::scripted(&failure));
        }
    }
    match parse_message(&body).map_err(GraphError::invalid_parameter)? {
        MessageRequest::Read { message_id } => {
            sim.lock().read_receipts.push(message_id);
            Ok(HttpResponse::Ok().json(json!({"success": true})))
        }
        MessageRequest::Send { to, kind, body } => {
            let callback = body["biz_opaque_callback_data"].as_str().map(str::to_owned);
            let wamid = sim.accept(&phone_number_id, &to, body);
            let statuses = deliver_statuses(
                sim.clone().into_inner(),
                wamid.clone(),
                to.clone(),
                callback,
            );
            if sim.lock().statuses_first {
                statuses.await;
            } else {
                actix_web::rt::spawn(statuses);
            }
            if answer_lost {
                return Ok(HttpResponse::Ok().json(json!({"messaging_product": "whatsapp"})));
            }
            let mut message = json!({"id": wamid});
            if kind == "template" {
                message["message_status"] = json!("accepted");
            }
            Ok(HttpResponse::Ok().json(json!({
                "messaging_product": "whatsapp",
                "contacts": [if payloads::is_user_id(&to) {
                    json!({"input": to, "user_id": to})
                } else {
                    json!({"input": to, "wa_id": to})
                }],
                "messages": [message],
            })))
        }
    }
}

/// Validates a `/messages` body as the Cloud API would; `Err` says what is wrong.
fn parse_message(body: &[u8]) -> Result<MessageRequest, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| "The request body is not valid JSON")?;
    if value.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
        return Err("The parameter messaging_product is required and must be \"whatsapp\"".into());
    }
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if text("status").as_deref() == Some("read") {
        let message_id = text("message_id").ok_or("The parameter message_id is required")?;
        return Ok(MessageRequest::Read { message_id });
    }
    // Meta takes `to` over `recipient` (a BSUID) when both are given.
    let to = text("to")
        .or_else(|| text("recipient"))
        .ok_or("The parameter to is required")?;
    let kind = text("type").ok_or("The parameter type is required")?;
    if !MESSAGE_TYPES.contains(&kind.as_str()) {
        return Err(format!("Unsupported message type: {kind}"));
    }
    let content = value.get(&kind);
    let well_formed = match kind.as_str() {
        "contacts" => content.is_some_and(Value::is_array),
        "text" => content
            .and_then(|t| t.get("body"))
            .and_then(Value::as_str)
            .is_some_and(|b| !b.is_empty()),
        _ => content.is_some_and(Value::is_object),
    };
    if !well_formed {
        return Err(format!(
            "The parameter {kind} is required for a {kind} message"
        ));
    }
    Ok(MessageRequest::Send {
        to,
        kind,
        body: value,
    })
}

/// The fields of a media upload form.
#[derive(Default)]
struct Upload {
    file: Option<Vec<u8>>,
    /// The file part's own `Content-Type`.
    file_type: Option<String>,
    /// The `type` field.
    kind: Option<String>,
    messaging_product: Option<String>,
}

async fn upload(
    sim: web::Data<Shared>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, GraphError> {
    let (version, phone_number_id) = path.into_inner();
    graph::check(&sim, &req, &version)?;
    graph::check_number(&sim.config, &phone_number_id)?;
    let upload = read_upload(form)
        .await
        .map_err(GraphError::invalid_parameter)?;
    if upload.messaging_product.as_deref() != Some("whatsapp") {
        let details = "The parameter messaging_product is required and must be \"whatsapp\"";
        return Err(GraphError::invalid_parameter(details));
    }
    let file = upload
        .file
        .ok_or_else(|| GraphError::invalid_parameter("The parameter file is required"))?;
    let mime_type = upload
        .kind
        .or(upload.file_type)
        .ok_or_else(|| GraphError::invalid_parameter("The parameter type is required"))?;
    let id = sim.lock().store_media(file, mime_type);
    Ok(HttpResponse::Ok().json(json!({"id": id})))
}

/// Reads a multipart form, keeping the fields an upload uses; `Err` says what is wrong.
async fn read_upload(mut form: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| format!("The upload is not a valid form: {e}"))?;
        let name = field.name().unwrap_or_default().to_string();
        let content_type = field.content_type().map(ToString::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| format!("The upload is not a valid form: {e}"))?;
            if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                return Err("The file is larger than 100 MB".into());
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8(bytes.clone()).ok();
        match name.as_str() {
            "messaging_product" => upload.messaging_product = text(),
            "type" => upload.kind = text().filter(|t| !t.is_empty()),
            "file" => {
                upload.file = Some(bytes);
                upload.file_type = content_type;
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// `GET /{media_id}`: where to download a media, with its type, size and hash.
async fn media_url(
    sim: web::Data<Shared>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, GraphError> {
    let (version, media_id) = path.into_inner();
    graph::check(&sim, &req, &version)?;
    let (bytes, mime_type) = sim
        .media(&media_id)
        .ok_or_else(|| GraphError::unknown_object(StatusCode::NOT_FOUND, "get", &media_id))?;
    // Like Meta's short-lived lookaside URLs; the download checks the Bearer token only.
    let token = format!("{:016x}{:016x}", random_u64(), random_u64());
    Ok(HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "url": format!("{}/download/{media_id}?token={token}", sim.root_url),
        "mime_type": mime_type,
        "sha256": STANDARD.encode(Sha256::digest(&bytes)),
        "file_size": bytes.len(),
        "id": media_id,
    })))
}

/// `GET /download/{media_id}`: the bytes, for a caller with the access token.
async fn download(
    sim: web::Data<Shared>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, GraphError> {
    graph::check_token(&sim, &req)?;
    let media_id = path.into_inner();
    let (bytes, mime_type) = sim
        .media(&media_id)
        .ok_or_else(|| GraphError::unknown_object(StatusCode::NOT_FOUND, "get", &media_id))?;
    Ok(HttpResponse::Ok().content_type(mime_type).body(bytes))
}

/// `GET /{waba_id}/message_templates`.
async fn templates(
    sim: web::Data<Shared>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, GraphError> {
    let (version, waba_id) = path.into_inner();
    graph::check(&sim, &req, &version)?;
    graph::check_object(&sim.config.waba_id, &waba_id, "get")?;
    Ok(HttpResponse::Ok().json(approved_templates()))
}
