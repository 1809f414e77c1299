//! The [`Store`]: the one sled database of a data directory and its typed trees.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::event_log::EventLog;
use crate::flusher::Flusher;
use crate::keys::{meta, trees};
use crate::write::Writer;
use crate::{migrate, Error, Result};

/// Name of the sled database folder inside the data directory.
const DB_DIR: &str = "db";
/// Name of the event log's folder inside the data directory.
const EVENTS_DIR: &str = "events";
/// Files Atende itself may leave in a data directory before the database exists.
const OWN_ENTRIES: &[&str] = &[DB_DIR, EVENTS_DIR, "media", "initial-admin-password"];
/// Bytes of the generated access-token signing key (HS256 wants at least 32).
const JWT_KEY_LEN: usize = 64;
/// sled's page cache when the configuration names none (`ATENDE_CACHE_MB`); it bounds
/// what sled keeps of the data in memory, whatever the data's size. 64 MB serves the
/// scale bench's lists and searches as fast as 256 MB did, in half the memory (README).
pub const DEFAULT_CACHE_MB: u64 = 64;

/// The database of one data directory. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    // Dropped first: joining the flusher releases its handle on the database.
    flusher: Flusher,
    writer: Arc<Writer>,
    trees: Trees,
    events: EventLog,
    /// The settings as last read or saved.
    settings: Mutex<Option<Arc<crate::Settings>>>,
    /// Held by every change to a contact's record or keys (contacts.rs).
    contacts: Mutex<()>,
    /// The business numbers as last read or saved (read with every webhook).
    pub(crate) numbers: Mutex<Option<Arc<Vec<crate::BusinessNumber>>>>,
    /// See [`Store::intents_wanted`].
    intents_wanted: AtomicBool,
    db: sled::Db,
    dir: PathBuf,
}

/// The open trees the store's methods use.
pub(crate) struct Trees {
    pub(crate) users: sled::Tree,
    pub(crate) users_by_email: sled::Tree,
    pub(crate) refresh_tokens: sled::Tree,
    pub(crate) refresh_families: sled::Tree,
    pub(crate) meta: sled::Tree,
    pub(crate) chats: sled::Tree,
    pub(crate) by_status_time: sled::Tree,
    pub(crate) by_assignee: sled::Tree,
    pub(crate) by_time: sled::Tree,
    pub(crate) by_contact: sled::Tree,
    pub(crate) messages: sled::Tree,
    pub(crate) by_wamid: sled::Tree,
    pub(crate) client_ids: sled::Tree,
    pub(crate) outbox: sled::Tree,
    pub(crate) contacts: sled::Tree,
    pub(crate) contacts_by_key: sled::Tree,
    pub(crate) unprocessed: sled::Tree,
    pub(crate) numbers: sled::Tree,
    pub(crate) search: sled::Tree,
    pub(crate) pending_statuses: sled::Tree,
    pub(crate) media: sled::Tree,
    pub(crate) settings: sled::Tree,
    pub(crate) queues: sled::Tree,
    pub(crate) canned: sled::Tree,
    pub(crate) audit: sled::Tree,
    pub(crate) reports: sled::Tree,
    pub(crate) api_tokens: sled::Tree,
    pub(crate) subscriptions: sled::Tree,
    pub(crate) deliveries: sled::Tree,
    pub(crate) deliveries_pending: sled::Tree,
    pub(crate) campaigns: sled::Tree,
    pub(crate) campaign_sends: sled::Tree,
    pub(crate) scheduled: sled::Tree,
    pub(crate) scheduled_due: sled::Tree,
    pub(crate) hook_intents: sled::Tree,
}

impl Trees {
    /// The trees a [`crate::Write`] may touch, in the order of its tree enum.
    fn write_trees(&self) -> [sled::Tree; crate::write::WRITE_TREES] {
        [
            self.chats.clone(),
            self.by_status_time.clone(),
            self.by_assignee.clone(),
            self.by_time.clone(),
            self.by_contact.clone(),
            self.messages.clone(),
            self.by_wamid.clone(),
            self.client_ids.clone(),
            self.outbox.clone(),
            self.contacts.clone(),
            self.contacts_by_key.clone(),
            self.search.clone(),
            self.pending_statuses.clone(),
            self.media.clone(),
            self.reports.clone(),
            self.campaign_sends.clone(),
            self.hook_intents.clone(),
        ]
    }
}

impl Store {
    /// Opens (creating if needed) the data directory `dir`, upgrading an older schema.
    ///
    /// Fails with a plain sentence when another process holds the directory, when it is
    /// not an Atende data directory, or when a newer Atende wrote it.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with_cache(dir, DEFAULT_CACHE_MB)
    }

    /// [`Store::open`] with a page cache of `cache_mb` megabytes.
    pub fn open_with_cache(dir: &Path, cache_mb: u64) -> Result<Store> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let db_path = dir.join(DB_DIR);
        if !db_path.exists() && has_foreign_entries(dir).map_err(io)? {
            return Err(Error::NotAtendeDir(dir.to_path_buf()));
        }
        let db = open_db(&db_path, cache_mb).map_err(|e| open_error(dir, e))?;
        migrate::run(&db, dir)?;
        let events = EventLog::open(&dir.join(EVENTS_DIR))?;
        let tree = |name: &str| db.open_tree(name);
        let trees = Trees {
            users: tree(trees::USERS)?,
            users_by_email: tree(trees::USERS_BY_EMAIL)?,
            refresh_tokens: tree(trees::REFRESH_TOKENS)?,
            refresh_families: tree(trees::REFRESH_FAMILIES)?,
            meta: tree(trees::META)?,
            chats: tree(trees::CHATS)?,
            by_status_time: tree(trees::CHATS_BY_STATUS_TIME)?,
            by_assignee: tree(trees::CHATS_BY_ASSIGNEE)?,
            by_time: tree(trees::CHATS_BY_TIME)?,
            by_contact: tree(trees::CHATS_BY_CONTACT)?,
            messages: tree(trees::MESSAGES)?,
            by_wamid: tree(trees::MESSAGES_BY_WAMID)?,
            client_ids: tree(trees::CLIENT_IDS)?,
            outbox: tree(trees::OUTBOX)?,
            contacts: tree(trees::CONTACTS)?,
            contacts_by_key: tree(trees::CONTACTS_BY_KEY)?,
            unprocessed: tree(trees::UNPROCESSED)?,
            numbers: tree(trees::NUMBERS)?,
            search: tree(trees::SEARCH)?,
            pending_statuses: tree(trees::PENDING_STATUSES)?,
            media: tree(trees::MEDIA)?,
            settings: tree(trees::SETTINGS)?,
            queues: tree(trees::QUEUES)?,
            canned: tree(trees::CANNED_RESPONSES)?,
            audit: tree(trees::AUDIT)?,
            api_tokens: tree(trees::API_TOKENS)?,
            subscriptions: tree(trees::WEBHOOK_SUBSCRIPTIONS)?,
            deliveries: tree(trees::WEBHOOK_DELIVERIES)?,
            deliveries_pending: tree(trees::WEBHOOK_PENDING)?,
            campaigns: tree(trees::CAMPAIGNS)?,
            campaign_sends: tree(trees::CAMPAIGN_SENDS)?,
            scheduled: tree(trees::SCHEDULED)?,
            scheduled_due: tree(trees::SCHEDULED_DUE)?,
            hook_intents: tree(trees::HOOK_INTENTS)?,
            reports: {
                let reports = tree(trees::REPORTS)?;
                reports.set_merge_operator(crate::reports::merge_counts);
                reports
            },
        };
        let writer = Arc::new(Writer::new(trees.write_trees(), tree(trees::JOURNAL)?));
        if writer.recover()? {
            tracing::warn!("finished a write that was interrupted when the hub stopped");
            db.flush()?;
        }
        let inner = Inner {
            flusher: Flusher::spawn(db.clone(), Some(writer.clone())).map_err(io)?,
            writer,
            trees,
            events,
            settings: Mutex::new(None),
            contacts: Mutex::new(()),
            numbers: Mutex::new(None),
            intents_wanted: AtomicBool::new(false),
            dir: dir.to_path_buf(),
            db,
        };
        Ok(Store {
            inner: Arc::new(inner),
        })
    }

    /// Whether writes carry the intents of their events (some webhook subscription
    /// exists); set by the dispatcher.
    pub fn intents_wanted(&self) -> bool {
        self.inner.intents_wanted.load(Ordering::SeqCst)
    }

    pub fn set_intents_wanted(&self, wanted: bool) {
        self.inner.intents_wanted.store(wanted, Ordering::SeqCst);
    }

    /// The data directory this store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Waits until every write that returned before this call is on disk (group commit).
    pub async fn durable(&self) -> Result<()> {
        self.inner.flusher.durable().await
    }

    /// Whether a write or flush has failed on the disk (any of them, or a probe write
    /// now). sled keeps such an error: the database takes no write until it is opened
    /// again.
    pub fn storage_failing(&self) -> bool {
        if !self.inner.flusher.failing() && self.check().is_err_and(|e| e.is_storage()) {
            self.mark_storage_failing();
        }
        self.inner.flusher.failing()
    }

    /// Notes a write that failed on the disk.
    pub(crate) fn mark_storage_failing(&self) {
        self.inner.flusher.mark_failing();
    }

    /// Flushes on the calling thread; for the command line and shutdown, not for actors.
    pub fn flush_blocking(&self) -> Result<()> {
        self.inner.db.flush()?;
        Ok(())
    }

    /// Each tree that holds anything: its name, keys, and bytes of keys and values. Reads
    /// every entry: for `atende bench scale` on a stopped hub, never on a request's path.
    pub fn tree_sizes(&self) -> Result<Vec<(String, u64, u64)>> {
        let mut sizes = Vec::new();
        for name in self.inner.db.tree_names() {
            let tree = self.inner.db.open_tree(&name)?;
            let (mut keys, mut bytes) = (0, 0);
            for entry in tree.iter() {
                let (key, value) = entry?;
                keys += 1;
                bytes += (key.len() + value.len()) as u64;
            }
            if keys > 0 {
                sizes.push((String::from_utf8_lossy(&name).into_owned(), keys, bytes));
            }
        }
        Ok(sizes)
    }

    /// Checks that the database answers reads and writes (for `/readyz`).
    pub fn check(&self) -> Result<()> {
        self.inner.trees.meta.insert(b"ready_probe", &[1u8][..])?;
        self.inner.trees.meta.get(meta::SCHEMA_VERSION)?;
        Ok(())
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// The access-token signing key, generated once into the database.
    pub fn jwt_key(&self) -> Result<Vec<u8>> {
        if let Some(key) = self.inner.trees.meta.get(meta::JWT_KEY)? {
            return Ok(key.to_vec());
        }
        let fresh = random_bytes(JWT_KEY_LEN);
        // Two first starts racing: whichever key landed first wins for both.
        let _ =
            self.inner
                .trees
                .meta
                .compare_and_swap(meta::JWT_KEY, None::<&[u8]>, Some(fresh))?;
        let key = self
            .inner
            .trees
            .meta
            .get(meta::JWT_KEY)?
            .ok_or(Error::NotFound)?;
        self.flush_blocking()?;
        Ok(key.to_vec())
    }

    /// The hub's settings (the defaults until an admin saves them). Read with every
    /// customer message, so kept in memory; only [`Store::put_settings`] changes them.
    pub fn settings(&self) -> Result<Arc<crate::Settings>> {
        let mut kept = self.settings_kept();
        if let Some(settings) = kept.as_ref() {
            return Ok(settings.clone());
        }
        let settings = Arc::new(match self.inner.trees.settings.get(b"hub")? {
            Some(bytes) => decode(&bytes)?,
            None => crate::Settings::default(),
        });
        *kept = Some(settings.clone());
        Ok(settings)
    }

    /// Saves the hub's settings (whole: they are checked as a whole).
    pub fn put_settings(&self, settings: &crate::Settings) -> Result<()> {
        let mut kept = self.settings_kept();
        self.inner
            .trees
            .settings
            .insert(b"hub", encode(settings)?)?;
        *kept = Some(Arc::new(settings.clone()));
        Ok(())
    }

    fn settings_kept(&self) -> MutexGuard<'_, Option<Arc<crate::Settings>>> {
        self.inner
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A named random secret (webhook verify token, sandbox credentials), generated once
    /// into the database; hex, 32 bytes of randomness.
    pub fn secret(&self, name: &str) -> Result<String> {
        let key = format!("secret:{name}");
        let meta = &self.inner.trees.meta;
        if meta.get(&key)?.is_none() {
            let fresh = random_bytes(32)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            let _ = meta.compare_and_swap(&key, None::<&[u8]>, Some(fresh.as_bytes()))?;
            self.flush_blocking()?;
        }
        let stored = meta.get(&key)?.ok_or(Error::NotFound)?;
        Ok(String::from_utf8_lossy(&stored).into_owned())
    }

    /// A fresh sled-generated id (monotonic, never reused).
    pub(crate) fn next_id(&self) -> Result<u64> {
        Ok(self.inner.db.generate_id()? + 1)
    }

    /// Serialises changes to contacts (see contacts.rs).
    pub(crate) fn contact_lock(&self) -> MutexGuard<'_, ()> {
        self.inner
            .contacts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The kept business numbers (numbers.rs); `None` until first read.
    pub(crate) fn numbers_kept(&self) -> MutexGuard<'_, Option<Arc<Vec<crate::BusinessNumber>>>> {
        self.inner.numbers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn trees(&self) -> &Trees {
        &self.inner.trees
    }

    pub(crate) fn db(&self) -> &sled::Db {
        &self.inner.db
    }

    pub(crate) fn event_log(&self) -> &EventLog {
        &self.inner.events
    }

    pub(crate) fn write_gate(&self) -> &std::sync::RwLock<()> {
        self.inner.writer.gate()
    }

    /// Held while writing, outside a [`crate::Write`], to the trees a `Write` changes: no
    /// `Write` is being applied meanwhile (see write.rs).
    pub(crate) fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.write_gate().read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    pub(crate) fn flusher(&self) -> &Flusher {
        &self.inner.flusher
    }

    /// The folder of media files.
    pub fn media_dir(&self) -> PathBuf {
        self.inner.dir.join("media")
    }
}

/// `len` bytes from the operating system's secure random source.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    // The kernel's source never runs dry once the machine has booted; failing, nothing
    // the hub makes (tokens, keys) could be trusted, so there is nothing to go on with.
    getrandom::getrandom(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// Encodes a record as MessagePack with named fields.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    Ok(rmp_serde::to_vec_named(value)?)
}

/// Encodes a record as MessagePack with its fields in order, without their names: for
/// the records rewritten with every message (chats, messages, contacts), whose field
/// names were half their bytes. [`decode`] reads both forms, so records written either
/// way stay readable; new fields go last, with `#[serde(default)]`.
pub(crate) fn encode_compact<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    Ok(rmp_serde::to_vec(value)?)
}

/// The sled settings of every Atende database.
fn sled_config(path: &Path, cache_mb: u64) -> sled::Config {
    sled::Config::new()
        .path(path)
        .cache_capacity(cache_mb * 1024 * 1024)
}

/// A bare sled database with the store's settings and its group commit, and nothing
/// else: the limit `atende bench` measures the hub against.
pub struct RawDb {
    // Dropped first, like the store's.
    flusher: Flusher,
    pub db: sled::Db,
}

impl RawDb {
    /// Opens (or creates) a bare database in `dir`.
    pub fn open(dir: &Path) -> Result<RawDb> {
        let db = sled_config(dir, DEFAULT_CACHE_MB).open()?;
        let flusher = Flusher::spawn(db.clone(), None).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(RawDb { flusher, db })
    }

    /// Resolves once everything written before the call is on disk (a group commit).
    pub async fn durable(&self) -> Result<()> {
        self.flusher.durable().await
    }
}

/// Decodes a record written by [`encode`].
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(rmp_serde::from_slice(bytes)?)
}

fn has_foreign_entries(dir: &Path) -> std::io::Result<bool> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if !OWN_ENTRIES.contains(&name.as_ref()) && !name.starts_with('.') {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How long opening waits for the database's lock: after the last handle of a database is
/// dropped, sled's I/O threads can hold its file a moment longer (a restore, then an open,
/// in one process).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens the sled database at `path`, waiting up to [`LOCK_WAIT`] for its lock.
fn open_db(path: &Path, cache_mb: u64) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled_config(path, cache_mb).open() {
            Err(error) if is_locked(&error) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            opened => return opened,
        }
    }
}

fn is_locked(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.to_string().contains("lock"))
}

fn open_error(dir: &Path, error: sled::Error) -> Error {
    match error {
        locked if is_locked(&locked) => Error::Locked(dir.to_path_buf()),
        other => Error::Open {
            path: dir.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_named_records_both_decode() {
        use crate::records::chat::*;
        let now = chrono::Utc::now();
        let mut chat = Chat::new(crate::ChatId(7), crate::ContactId(5), "123", now);
        chat.tags = vec!["vip".into()];
        chat.last_message = Some(LastMessage {
            preview: "oi".into(),
            direction: Direction::In,
            at: now,
        });
        chat.menu_offered = true;
        let message = Message {
            id: crate::MessageId(9),
            chat_id: chat.id,
            wamid: Some("wamid.X".into()),
            direction: Direction::In,
            kind: "location".into(),
            text: None,
            caption: Some("aqui".into()),
            media: Some(MediaRef {
                id: crate::MediaId(3),
                mime_type: Some("image/jpeg".into()),
                size: None,
                filename: None,
                seconds: None,
            }),
            location: Some(serde_json::json!({"latitude": -23.5, "name": "Sé"})),
            reply_to: None,
            reaction: None,
            status: MessageStatus::Delivered,
            error: None,
            author_id: None,
            client_id: None,
            details: Some(serde_json::json!([1, {"a": null}])),
            created_at: now,
            timestamp: now,
        };
        fn both<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
            let named = encode(value).unwrap();
            let compact = encode_compact(value).unwrap();
            assert!(
                compact.len() * 3 < named.len() * 2,
                "{} vs {}",
                compact.len(),
                named.len()
            );
            assert_eq!(&decode::<T>(&named).unwrap(), value);
            assert_eq!(&decode::<T>(&compact).unwrap(), value);
        }
        both(&chat);
        both(&message);
    }

    #[test]
    fn settings_kept_in_memory_follow_every_save_and_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(*store.settings().unwrap(), crate::Settings::default());
        let mut changed = crate::Settings {
            greeting_message: Some("Olá!".into()),
            ..Default::default()
        };
        store.put_settings(&changed).unwrap();
        assert_eq!(*store.settings().unwrap(), changed);
        changed.reopen_window_minutes = 30;
        store.put_settings(&changed).unwrap();
        assert_eq!(*store.settings().unwrap(), changed);
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(*store.settings().unwrap(), changed);
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused_as_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path())
            .err()
            .expect("second open must fail");
        assert!(matches!(err, Error::Locked(_)), "{err}");
    }

    #[test]
    fn a_directory_with_foreign_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thesis.docx"), b"...").unwrap();
        let err = Store::open(dir.path()).err().expect("must refuse");
        assert!(matches!(err, Error::NotAtendeDir(_)), "{err}");
    }

    #[test]
    fn a_newer_schema_is_refused_and_the_jwt_key_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let key = {
            let store = Store::open(dir.path()).unwrap();
            let key = store.jwt_key().unwrap();
            assert_eq!(key, store.jwt_key().unwrap());
            key
        };
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.jwt_key().unwrap(), key);
            store
                .trees()
                .meta
                .insert(meta::SCHEMA_VERSION, &99u32.to_be_bytes())
                .unwrap();
            store.flush_blocking().unwrap();
        }
        let err = Store::open(dir.path()).err().expect("must refuse");
        assert!(matches!(err, Error::NewerSchema { found: 99, .. }), "{err}");
    }
}
