//! Media files: metadata in the `media` tree, bytes under DATA_DIR/media/<id>.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ChatId, MediaId, MessageId, UserId};

/// Whether the bytes are on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Announced by a webhook; the download is still to do.
    Pending,
    /// The file is in the media folder.
    Ready,
    /// The download failed for good (expired, deleted at Meta).
    Failed,
}

/// A media file's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaRecord {
    pub id: MediaId,
    /// Set for inbound media and once an upload has been sent in a chat.
    pub chat_id: Option<ChatId>,
    pub message_id: Option<MessageId>,
    /// Who uploaded it (outbound media).
    pub uploader: Option<UserId>,
    /// The WhatsApp type it is sent as: image, audio, video, document or sticker.
    pub kind: String,
    pub mime_type: String,
    pub size: Option<u64>,
    pub filename: Option<String>,
    /// Meta's media id: where an inbound file comes from, or an upload went.
    pub wa_media_id: Option<String>,
    pub state: MediaState,
    /// The SHA-256 of the file as the webhook announced it (base64 or hex), checked when
    /// the file is downloaded.
    #[serde(default)]
    pub sha256: Option<String>,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// Recorded in the console: sent as a WhatsApp voice note (`"voice": true`).
    #[serde(default)]
    pub voice: bool,
    /// A voice note's length in seconds.
    #[serde(default)]
    pub seconds: Option<u32>,
    /// The downloaded bytes do not match the SHA-256 the webhook announced: kept and shown
    /// (flagged) rather than lost, while fresh downloads try for a whole copy.
    #[serde(default)]
    pub unverified: bool,
}
