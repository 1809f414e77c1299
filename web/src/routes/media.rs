//! Media: uploads checked against WhatsApp's types and size limits by sniffing the bytes,
//! and downloads served only to users who may see the chat.

use actix_multipart::Multipart;
use actix_web::http::header::{
    CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::{get, post, web, HttpResponse};
use atende_actors::media::{media_path, write_media_file};
use atende_data::{MediaId, MediaRecord, MediaState, Visibility, Write};
use chrono::Utc;
use futures_util::TryStreamExt;
use serde::Serialize;
use tokio::io::AsyncReadExt;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::chats::visibility;
use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::views::ErrorBody;

/// The largest file WhatsApp takes at all (documents).
const MAX_UPLOAD: usize = 100 * 1024 * 1024;
/// Longest file name kept.
const MAX_FILENAME: usize = 200;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(upload).service(download);
}

/// An uploaded file, ready to send with `POST /chats/{id}/messages`.
#[derive(Serialize, ToSchema)]
pub struct UploadView {
    pub id: String,
    pub mime_type: String,
    pub size: u64,
    pub filename: Option<String>,
    /// The message type to send it as: image, audio, video, document or sticker.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What WhatsApp accepts: the message type and size limit of each MIME type.
pub fn whatsapp_kind(mime: &str) -> Option<(&'static str, usize)> {
    const MB: usize = 1024 * 1024;
    Some(match mime {
        "image/jpeg" | "image/png" => ("image", 5 * MB),
        "image/webp" => ("sticker", 500 * 1024),
        "audio/aac" | "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/mpeg" | "audio/amr"
        | "audio/ogg" => ("audio", 16 * MB),
        "video/mp4" | "video/3gpp" => ("video", 16 * MB),
        "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        | "text/plain" => ("document", 100 * MB),
        _ => return None,
    })
}

/// The MIME type the bytes really have (plain text cannot be sniffed: it is accepted when
/// it is UTF-8 and was declared as text).
pub fn sniff(bytes: &[u8], declared: Option<&str>) -> Option<String> {
    if let Some(kind) = infer::get(bytes) {
        let mime = match kind.mime_type() {
            "audio/x-m4a" | "audio/m4a" => "audio/mp4",
            other => other,
        };
        return Some(mime.to_string());
    }
    let is_text = declared.is_some_and(|d| d.starts_with("text/plain"))
        && std::str::from_utf8(bytes).is_ok()
        && !bytes.contains(&0);
    is_text.then(|| "text/plain".to_string())
}

/// The upload form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Upload {
    /// The file: an image, audio, video, sticker or document WhatsApp carries, known by
    /// its bytes (the declared type only tells plain text from other bytes).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads a file (multipart field `file`).
#[utoipa::path(tag = "media", security(("bearer" = [])),
    request_body(content = Upload, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = UploadView),
        (status = 413, description = "over WhatsApp's limit for the type", body = ErrorBody),
        (status = 415, description = "a type WhatsApp does not carry", body = ErrorBody),
    ))]
#[post("/media")]
async fn upload(
    state: web::Data<AppState>,
    auth: Auth,
    mut form: Multipart,
) -> Result<HttpResponse> {
    let bad_form = |_| {
        Error::field(
            "file",
            "the body must be multipart/form-data with a file field",
        )
    };
    // The file is read whole: at most a few at once (the others wait their turn).
    let _turn = state.files.acquire().await.map_err(Error::internal)?;
    let mut file = None;
    while let Some(mut field) = form.try_next().await.map_err(bad_form)? {
        let is_file = field.name() == Some("file");
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(clean_filename);
        let declared = field.content_type().map(|m| m.essence_str().to_string());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(bad_form)? {
            if bytes.len() + chunk.len() > MAX_UPLOAD {
                return Err(Error::TooLarge);
            }
            if is_file {
                bytes.extend_from_slice(&chunk);
            }
        }
        if is_file && file.is_none() {
            file = Some((bytes, filename, declared));
        }
    }
    let (mut bytes, mut filename, declared) =
        file.ok_or_else(|| Error::field("file", "is required"))?;
    let mut mime = sniff(&bytes, declared.as_deref()).ok_or(Error::UnsupportedMediaType(
        "WhatsApp does not carry files of this type",
    ))?;
    // A recording from the console (WebM/Opus) becomes a voice note (Ogg/Opus).
    let voice = mime == "video/webm" || mime == "audio/webm";
    let mut seconds = None;
    if voice {
        let note = web::block(move || crate::voice::webm_to_ogg(&bytes))
            .await
            .map_err(Error::internal)?
            .map_err(|problem| Error::field("file", problem))?;
        bytes = note.ogg;
        mime = "audio/ogg".into();
        filename = Some(format!("voice-note-{:.0}s.ogg", note.seconds.ceil()));
        seconds = Some(note.seconds.round() as u32);
    }
    let (kind, limit) = whatsapp_kind(&mime).ok_or(Error::UnsupportedMediaType(
        "WhatsApp does not carry files of this type",
    ))?;
    if bytes.is_empty() {
        return Err(Error::field("file", "is empty"));
    }
    if bytes.len() > limit {
        return Err(Error::TooLarge);
    }
    let record = MediaRecord {
        id: MediaId(state.store.new_id()?),
        chat_id: None,
        message_id: None,
        uploader: Some(auth.0.id),
        kind: kind.to_string(),
        mime_type: mime,
        size: Some(bytes.len() as u64),
        filename,
        wa_media_id: None,
        state: MediaState::Ready,
        sha256: None,
        attempts: 0,
        created_at: Utc::now(),
        voice,
        seconds,
        unverified: false,
    };
    write_media_file(&state.store, record.id, bytes)
        .await
        .map_err(Error::internal)?;
    let mut write = Write::default();
    write.media(&record);
    state.store.commit(write)?;
    state.store.durable().await?;
    Ok(HttpResponse::Created().json(UploadView {
        id: record.id.to_string(),
        mime_type: record.mime_type,
        size: record.size.unwrap_or(0),
        filename: record.filename,
        kind: record.kind,
    }))
}

fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME)
        .collect()
}

/// The bytes of a media file, for users who may see its chat (or who uploaded it).
#[utoipa::path(tag = "media", security(("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, description = "the file"),
    (status = 404, description = "unknown, not visible, or not downloaded (yet)", body = ErrorBody),
))]
#[get("/media/{id}")]
async fn download(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id: MediaId = path.parse().map_err(|_| Error::NotFound)?;
    let media = state.store.media(id)?.ok_or(Error::NotFound)?;
    if !may_see(&state, &auth, &media)? || media.state != MediaState::Ready {
        return Err(Error::NotFound);
    }
    let file = tokio::fs::File::open(media_path(&state.store, id))
        .await
        .map_err(|_| Error::NotFound)?;
    let size = file.metadata().await.map_err(Error::internal)?.len();
    let inline = matches!(media.kind.as_str(), "image" | "sticker" | "audio" | "video");
    let disposition = ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: media
            .filename
            .iter()
            .map(|f| DispositionParam::Filename(f.clone()))
            .collect(),
    };
    Ok(HttpResponse::Ok()
        .content_type(media.mime_type.as_str())
        .insert_header(disposition)
        .insert_header(CacheControl(vec![
            CacheDirective::Private,
            CacheDirective::MaxAge(3600),
        ]))
        .no_chunking(size)
        .streaming(chunks(file)))
}

/// A file's bytes as a stream of chunks, so a download holds one chunk in memory, not the
/// file; a read error ends it.
fn chunks(file: tokio::fs::File) -> impl futures_util::Stream<Item = std::io::Result<web::Bytes>> {
    const CHUNK: usize = 64 * 1024;
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut chunk = vec![0u8; CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(web::Bytes::from(chunk)), Some(file)))
            }
            Err(error) => Some((Err(error), None)),
        }
    })
}

fn may_see(state: &AppState, auth: &Auth, media: &MediaRecord) -> Result<bool> {
    if auth.0.role.is_staff() || media.uploader == Some(auth.0.id) {
        return Ok(true);
    }
    let Some(chat_id) = media.chat_id else {
        return Ok(false);
    };
    let chat = state.store.chat(chat_id)?.ok_or(Error::NotFound)?;
    let seen_by: Option<Visibility> = visibility(auth);
    Ok(seen_by.is_none_or(|v| v.allows(&chat)))
}
