//! Media files: [`MediaFetcher`] downloads what customers send (Cloud API media id ->
//! short-lived URL -> bytes, retried with a fresh URL), and [`ensure_uploaded`] uploads what
//! agents send. Bytes live as files under DATA_DIR/media, named by the hub's media id.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use atende_data::{MediaId, MediaRecord, MediaState, Store, Write};

use crate::whatsapp::client::{CloudApiError, CloudClient};

/// Downloads running at once.
const CONCURRENT_FETCHES: usize = 4;
/// Attempts before a download is given up (the file may have expired at Meta).
const MAX_FETCH_ATTEMPTS: u32 = 6;
/// The largest file WhatsApp carries (documents: 100 MB).
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;

/// Download this inbound file.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fetch {
    pub media: MediaRecord,
}

/// Downloads inbound media, a few at a time.
pub struct MediaFetcher {
    store: Store,
    client: CloudClient,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    waiting: VecDeque<MediaRecord>,
    running: usize,
}

impl MediaFetcher {
    pub fn new(
        store: Store,
        client: CloudClient,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Self {
        MediaFetcher {
            store,
            client,
            metrics,
            waiting: VecDeque::new(),
            running: 0,
        }
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        while self.running < CONCURRENT_FETCHES {
            let Some(media) = self.waiting.pop_front() else {
                return;
            };
            self.running += 1;
            let job = fetch(
                self.store.clone(),
                self.client.clone(),
                self.metrics.clone(),
                media,
            );
            ctx.spawn(job.into_actor(self).map(|retry, fetcher, ctx| {
                fetcher.running -= 1;
                if let Some(media) = retry {
                    let delay = Duration::from_secs(2u64.pow(media.attempts.min(8)));
                    ctx.run_later(delay, move |fetcher, ctx| {
                        fetcher.waiting.push_back(media);
                        fetcher.pump(ctx);
                    });
                }
                fetcher.pump(ctx);
            }));
        }
    }
}

impl Actor for MediaFetcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        match self.store.pending_media() {
            Ok(pending) => self.waiting.extend(pending),
            Err(error) => tracing::error!(%error, "cannot read pending media"),
        }
        self.pump(ctx);
    }
}

impl Handler<Fetch> for MediaFetcher {
    type Result = ();

    fn handle(&mut self, msg: Fetch, ctx: &mut Context<Self>) {
        self.waiting.push_back(msg.media);
        self.pump(ctx);
    }
}

/// The path of a media file.
pub fn media_path(store: &Store, id: MediaId) -> PathBuf {
    store.media_dir().join(id.to_string())
}

/// Writes `bytes` as the file of `id`, atomically (temporary file, sync, rename).
pub async fn write_media_file(store: &Store, id: MediaId, bytes: Vec<u8>) -> std::io::Result<()> {
    let path = media_path(store, id);
    let dir = store.media_dir();
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        std::fs::create_dir_all(&dir)?;
        let tmp = path.with_extension("part");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// One download attempt; gives the record back when it should be tried again.
async fn fetch(
    store: Store,
    client: CloudClient,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    mut media: MediaRecord,
) -> Option<MediaRecord> {
    let wa_id = media.wa_media_id.clone()?;
    let result = async {
        let info = client.media_info(&wa_id).await?;
        let bytes = client.download(&info.url, MAX_MEDIA_BYTES).await?;
        Ok::<_, CloudApiError>((info, bytes))
    }
    .await;
    media.attempts += 1;
    match result {
        Ok((info, bytes)) => {
            let whole = checksum_matches(media.sha256.as_deref(), &bytes);
            if !whole && media.unverified {
                // A damaged copy is already kept: only a whole one replaces it.
                return retry_for_whole(&store, media);
            }
            media.size = Some(bytes.len() as u64);
            if let Some(mime) = info.mime_type {
                media.mime_type = mime;
            }
            if let Err(error) = write_media_file(&store, media.id, bytes).await {
                tracing::error!(%error, media_id = %media.id, "cannot write a media file");
                return Some(media);
            }
            media.state = MediaState::Ready;
            media.unverified = !whole;
            if !whole {
                // Kept and shown, flagged, rather than lost; a fresh download may be whole.
                tracing::warn!(media_id = %media.id, "a downloaded file does not match its checksum; kept as unverified");
                crate::metrics::Metrics::bump(&metrics.media_unverified);
                return retry_for_whole(&store, media);
            }
        }
        Err(CloudApiError::Retryable { .. }) if media.attempts < MAX_FETCH_ATTEMPTS => {
            save(&store, &media);
            return Some(media);
        }
        // No whole copy came: the damaged one stays, flagged.
        Err(_) if media.unverified => {}
        Err(error) => {
            tracing::warn!(%error, media_id = %media.id, "media download given up");
            media.state = MediaState::Failed;
        }
    }
    save(&store, &media);
    None
}

/// Saves an unverified file's record and asks for another try while attempts are left.
fn retry_for_whole(store: &Store, media: MediaRecord) -> Option<MediaRecord> {
    save(store, &media);
    (media.attempts < MAX_FETCH_ATTEMPTS).then_some(media)
}

/// Whether `bytes` hash to the announced SHA-256 (base64, as Meta sends it, or hex). A
/// value that is neither cannot be checked, and passes.
fn checksum_matches(announced: Option<&str>, bytes: &[u8]) -> bool {
    use base64::Engine as _;
    use sha2::Digest as _;
    let Some(announced) = announced.map(str::trim) else {
        return true;
    };
    let expected = base64::engine::general_purpose::STANDARD
        .decode(announced)
        .ok()
        .or_else(|| hex::decode(announced).ok())
        .filter(|digest| digest.len() == 32);
    match expected {
        Some(digest) => sha2::Sha256::digest(bytes).as_slice() == digest.as_slice(),
        None => true,
    }
}

fn save(store: &Store, media: &MediaRecord) {
    let mut write = Write::default();
    write.media(media);
    if let Err(error) = store.commit(write) {
        tracing::error!(%error, media_id = %media.id, "cannot record a media file");
    }
}

/// The Cloud API id of an uploaded file, uploading it first if that has not happened.
pub async fn ensure_uploaded(
    store: &Store,
    client: &CloudClient,
    number: &str,
    id: MediaId,
) -> Result<String, CloudApiError> {
    let lost = || CloudApiError::Permanent {
        code: 404,
        title: "the file to send is missing".into(),
    };
    let mut media = store.media(id).ok().flatten().ok_or_else(lost)?;
    if let Some(wa_id) = &media.wa_media_id {
        return Ok(wa_id.clone());
    }
    let bytes = tokio::fs::read(media_path(store, id))
        .await
        .map_err(|_| lost())?;
    let filename = media.filename.clone().unwrap_or_else(|| id.to_string());
    let wa_id = client
        .upload(number, bytes, &media.mime_type, &filename)
        .await?;
    media.wa_media_id = Some(wa_id.clone());
    save(store, &media);
    Ok(wa_id)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use sha2::Digest as _;

    use super::checksum_matches;

    #[test]
    fn a_download_is_checked_against_the_announced_checksum() {
        let bytes = b"a picture";
        let digest = sha2::Sha256::digest(bytes);
        let base64 = base64::engine::general_purpose::STANDARD.encode(digest);
        assert!(checksum_matches(Some(&base64), bytes));
        assert!(checksum_matches(Some(&hex::encode(digest)), bytes));
        assert!(!checksum_matches(Some(&base64), b"a picture, damaged"));
        // Nothing announced, or nothing that is a SHA-256: nothing to check against.
        assert!(checksum_matches(None, bytes));
        assert!(checksum_matches(Some("4654+8g="), bytes));
    }
}
