//! Backups: every tree and every media file of a data directory in one checksummed file.
//!
//! Format: the magic line, then records — `1` tree entry (tree name, key, value), `2`
//! media file (name, bytes), `3` the event log's last number (8 bytes, little-endian) —
//! then `0` and the SHA-256 of everything before it. The event log's events themselves
//! are left out: they are a replay buffer of the last hours for reconnecting browsers,
//! which a restored hub tells to reload instead (it numbers on from beyond that number). Writes
//! that must agree are held back while the trees are read (the store's write gate), so a
//! backup taken under load restores to a state the hub really was in.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Error, Result, Store};

const MAGIC: &[u8] = b"ATENDE-BACKUP-1\n";
const TREE_ENTRY: u8 = 1;
const MEDIA_FILE: u8 = 2;
const EVENT_SEQ: u8 = 3;
const END: u8 = 0;

/// Writes while hashing.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn put(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(&(bytes.len() as u64).to_le_bytes())?;
    out.write_all(bytes)
}

impl Store {
    /// Writes a backup of this store to `path`.
    pub fn backup(&self, path: &Path) -> Result<()> {
        let file = File::create(path).map_err(io(path))?;
        let mut out = Hashing {
            inner: BufWriter::new(file),
            hash: Sha256::new(),
        };
        out.write_all(MAGIC).map_err(io(path))?;
        {
            let _quiet = self.write_gate().write().unwrap_or_else(|p| p.into_inner());
            let seq = self.event_log().last_seq().to_le_bytes();
            out.write_all(&[EVENT_SEQ]).map_err(io(path))?;
            put(&mut out, &seq).map_err(io(path))?;
            for name in self.db().tree_names() {
                let tree = self.db().open_tree(&name)?;
                for entry in tree.iter() {
                    let (key, value) = entry?;
                    out.write_all(&[TREE_ENTRY]).map_err(io(path))?;
                    put(&mut out, &name).map_err(io(path))?;
                    put(&mut out, &key).map_err(io(path))?;
                    put(&mut out, &value).map_err(io(path))?;
                }
            }
        }
        let media = self.media_dir();
        if media.exists() {
            for entry in std::fs::read_dir(&media).map_err(io(&media))? {
                let entry = entry.map_err(io(&media))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".part") {
                    continue;
                }
                let bytes = std::fs::read(entry.path()).map_err(io(&media))?;
                out.write_all(&[MEDIA_FILE]).map_err(io(path))?;
                put(&mut out, name.as_bytes()).map_err(io(path))?;
                put(&mut out, &bytes).map_err(io(path))?;
            }
        }
        out.write_all(&[END]).map_err(io(path))?;
        let digest = out.hash.clone().finalize();
        out.inner.write_all(&digest).map_err(io(path))?;
        out.inner
            .into_inner()
            .map_err(|e| io(path)(e.into_error()))?
            .sync_all()
            .map_err(io(path))?;
        Ok(())
    }

    /// Restores the backup `file` into `dir`, which must be empty or absent.
    pub fn restore(file: &Path, dir: &Path) -> Result<()> {
        let has_files = dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some();
        if has_files {
            return Err(Error::Conflict(crate::refusals::RESTORE_TARGET_NOT_EMPTY));
        }
        // Check the whole file before writing anything.
        read_backup(file, |_| Ok(()))?;
        let store = Store::open(dir)?;
        read_backup(file, |record| store.apply_record(record))?;
        store.flush_blocking()?;
        drop(store);
        // Reopen: runs the upgrade steps when the backup came from an older schema.
        Store::open(dir).map(drop)
    }

    fn apply_record(&self, record: Record) -> Result<()> {
        match record {
            Record::Entry { tree, key, value } => {
                self.db().open_tree(tree)?.insert(key, value)?;
            }
            Record::EventSeq(seq) => self.event_log().number_beyond(seq)?,
            Record::Media { name, bytes } => {
                let dir = self.media_dir();
                std::fs::create_dir_all(&dir).map_err(io(&dir))?;
                let safe = Path::new(&name)
                    .file_name()
                    .ok_or(Error::Conflict(crate::refusals::BACKUP_DAMAGED))?;
                std::fs::write(dir.join(safe), bytes).map_err(io(&dir))?;
            }
        }
        Ok(())
    }
}

enum Record {
    Entry {
        tree: Vec<u8>,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Media {
        name: String,
        bytes: Vec<u8>,
    },
    EventSeq(u64),
}

const DAMAGED: Error = Error::Conflict(crate::refusals::BACKUP_DAMAGED);
/// No single key, value or file in a backup is larger (a damaged length fails fast).
const MAX_FIELD: u64 = 1 << 34;

/// Reads a backup while hashing it.
struct Reader {
    input: BufReader<File>,
    hash: Sha256,
}

impl Reader {
    fn bytes(&mut self, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.input.read_exact(&mut buf).map_err(|_| DAMAGED)?;
        self.hash.update(&buf);
        Ok(buf)
    }

    fn field(&mut self) -> Result<Vec<u8>> {
        let len = u64::from_le_bytes(self.bytes(8)?.try_into().map_err(|_| DAMAGED)?);
        if len > MAX_FIELD {
            return Err(DAMAGED);
        }
        self.bytes(len as usize)
    }

    fn record(&mut self) -> Result<Option<Record>> {
        match self.bytes(1)?[0] {
            TREE_ENTRY => Ok(Some(Record::Entry {
                tree: self.field()?,
                key: self.field()?,
                value: self.field()?,
            })),
            MEDIA_FILE => {
                let name = String::from_utf8(self.field()?).map_err(|_| DAMAGED)?;
                Ok(Some(Record::Media {
                    name,
                    bytes: self.field()?,
                }))
            }
            EVENT_SEQ => {
                let seq = self.field()?.try_into().map_err(|_| DAMAGED)?;
                Ok(Some(Record::EventSeq(u64::from_le_bytes(seq))))
            }
            END => Ok(None),
            _ => Err(DAMAGED),
        }
    }
}

/// Reads `file`, checking its magic, structure, schema and checksum, handing each record
/// to `each`.
fn read_backup(file: &Path, mut each: impl FnMut(Record) -> Result<()>) -> Result<()> {
    let handle = File::open(file).map_err(io(file))?;
    let mut reader = Reader {
        input: BufReader::new(handle),
        hash: Sha256::new(),
    };
    if reader.bytes(MAGIC.len())? != MAGIC {
        return Err(DAMAGED);
    }
    while let Some(record) = reader.record()? {
        if let Record::Entry { tree, key, value } = &record {
            let is_version = tree == crate::keys::trees::META.as_bytes()
                && key == crate::keys::meta::SCHEMA_VERSION;
            let found = is_version
                .then(|| value.as_slice().try_into().ok().map(u32::from_be_bytes))
                .flatten();
            if let Some(found) = found.filter(|v| *v > crate::migrate::CURRENT) {
                return Err(Error::NewerSchema {
                    found,
                    supported: crate::migrate::CURRENT,
                });
            }
        }
        each(record)?;
    }
    let expected = reader.hash.finalize();
    let mut digest = [0u8; 32];
    let mut rest = Vec::new();
    reader.input.read_exact(&mut digest).map_err(|_| DAMAGED)?;
    reader.input.read_to_end(&mut rest).map_err(|_| DAMAGED)?;
    if digest[..] != expected[..] || !rest.is_empty() {
        return Err(DAMAGED);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewUser, Role};

    #[test]
    fn a_backup_restores_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("a")).unwrap();
        store
            .create_user(NewUser {
                email: "ana@x.io".into(),
                name: "Ana".into(),
                role: Role::Agent,
                password_hash: "h".into(),
                max_concurrent_chats: 5,
                queue_ids: vec![],
                must_change_password: false,
            })
            .unwrap();
        std::fs::create_dir_all(store.media_dir()).unwrap();
        std::fs::write(store.media_dir().join("7"), b"picture").unwrap();
        let key = store.jwt_key().unwrap();
        for seq in 1..=3 {
            let event = crate::records::event::Event {
                seq,
                name: "chat.updated".into(),
                data: "{}".into(),
                scope: crate::records::event::Scope::Everyone,
                at: chrono::Utc::now(),
                message_id: None,
                intent: None,
            };
            store.append_event(&event).unwrap();
        }
        let file = dir.path().join("backup.atende");
        store.backup(&file).unwrap();
        Store::restore(&file, &dir.path().join("b")).unwrap();
        let restored = Store::open(&dir.path().join("b")).unwrap();
        assert!(restored.user_by_email("ana@x.io").unwrap().is_some());
        assert_eq!(
            std::fs::read(restored.media_dir().join("7")).unwrap(),
            b"picture"
        );
        assert_eq!(
            restored.jwt_key().unwrap(),
            key,
            "keys are part of the backup"
        );
        // The events stay behind, and the numbering goes on far beyond the old hub's, so
        // its browsers reload rather than take the restored hub's events for theirs.
        assert_eq!(restored.first_event_seq().unwrap(), None);
        assert!(
            restored.last_event_seq().unwrap() > 1_000_000,
            "numbered on beyond 3"
        );
        drop(restored);
        let reopened = Store::open(&dir.path().join("b")).unwrap();
        assert!(
            reopened.last_event_seq().unwrap() > 1_000_000,
            "and after a restart"
        );
        drop(reopened);

        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        let err = Store::restore(&file, &dir.path().join("c")).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        std::fs::write(&file, b"PK\x03\x04 a zip").unwrap();
        assert!(Store::restore(&file, &dir.path().join("d")).is_err());
        let busy = Store::restore(&file, &dir.path().join("a")).unwrap_err();
        assert!(busy.to_string().contains("not empty"), "{busy}");
    }
}
