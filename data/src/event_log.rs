//! The event log (docs/ARCHITECTURE.md, "Realtime"): numbered events kept for a retention
//! window, so that a reconnecting browser is told exactly what it missed.
//!
//! It is kept in append-only files beside the database, not in a sled tree: an event is
//! written once, read only by a resuming socket and dropped with its file. In sled, every
//! event's bytes were rewritten with its page again and again; the log made the database
//! about three times larger, and its recovery after a crash that much slower.
//!
//! `DATA_DIR/events/<first seq, 20 digits>.log` holds up to [`FILE_EVENTS`] records of
//! `length (u32 BE) | CRC-32 of the rest (u32 BE) | seq (u64 BE) | time (i64 BE, Unix ms) |
//! MessagePack event`. A record torn by a crash is cut off when the log is opened again.
//!
//! The files are not synced: what a process wrote survives its crash (even SIGKILL) in the
//! kernel's cache, and only a crash of the machine can lose the newest events, ones that
//! browsers may have received. So the log trusts its files only under the boot it was
//! written in (`boot` holds that boot's id): after a reboot it keeps none of its events
//! and numbers on from far beyond the old ones ([`REBOOT_GAP`]), so that every browser
//! that resumes is told to reload rather than be given a log with a hole. Pruning hides
//! the events before the cut at once and deletes files once all of theirs are, except
//! the last, which carries the numbering over a restart.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use crate::records::event::{Event, Viewer};
use crate::store::{decode, encode};
use crate::{Error, Result};

/// Events per file.
const FILE_EVENTS: usize = 10_000;
/// Bytes before each record's event: length, CRC-32, number and time.
const HEADER: usize = 24;
/// How far the numbering jumps when the log's files are not trusted (after a reboot).
const REBOOT_GAP: u64 = 1_000_000_000;
/// Where Linux tells the id of the running boot.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";
/// The file that holds the id of the boot the log was written in.
const BOOT_FILE: &str = "boot";
/// A record longer than this is damage, not an event.
const MAX_RECORD: usize = 16 * 1024 * 1024;

/// The log of one data directory.
pub(crate) struct EventLog {
    dir: PathBuf,
    /// The running boot's id, if known.
    boot: Option<String>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Oldest first; only the last is written to.
    files: Vec<LogFile>,
    /// The last file, open for appending.
    current: Option<File>,
    /// Events below this number are pruned (or untrusted), whether or not their file is
    /// deleted yet.
    first_kept: u64,
    /// The numbering goes on from at least here.
    floor: u64,
}

struct LogFile {
    path: PathBuf,
    /// Bytes of whole records.
    len: u64,
    /// Per record: its number, where it starts, and when it happened.
    index: Vec<(u64, u64, DateTime<Utc>)>,
}

impl EventLog {
    /// Opens the log in `dir` (created if needed), cutting off a torn last record.
    pub(crate) fn open(dir: &Path) -> Result<EventLog> {
        let boot = std::fs::read_to_string(BOOT_ID).ok();
        EventLog::open_in_boot(dir, boot.as_deref().map(str::trim))
    }

    /// The same, with the id of the running boot (`None`: unknown, trust nothing).
    fn open_in_boot(dir: &Path, boot: Option<&str>) -> Result<EventLog> {
        let io = |source| Error::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let file = read_file(&path)?;
            if !file.index.is_empty() {
                files.push(file);
            } else {
                std::fs::remove_file(&path).map_err(io)?;
            }
        }
        let current = match files.last() {
            Some(last) => Some(open_for_writing(&last.path)?),
            None => None,
        };
        let first = files
            .first()
            .and_then(|f| f.index.first())
            .map_or(0, |r| r.0);
        let last = files.last().and_then(|f| f.index.last()).map_or(0, |r| r.0);
        let (written_in, old_floor) = read_boot_file(&dir.join(BOOT_FILE));
        let (first_kept, floor) = match boot {
            Some(boot) if written_in.as_deref() == Some(boot) => {
                (first.max(old_floor + 1), last.max(old_floor))
            }
            _ if files.is_empty() && old_floor == 0 => {
                write_boot_file(dir, boot, 0)?;
                (0, 0)
            }
            _ => {
                tracing::warn!(
                    "the event log was written before the last reboot; browsers will reload"
                );
                let floor = last.max(old_floor) + REBOOT_GAP;
                write_boot_file(dir, boot, floor)?;
                (floor + 1, floor)
            }
        };
        Ok(EventLog {
            dir: dir.to_path_buf(),
            boot: boot.map(str::to_string),
            inner: Mutex::new(Inner {
                files,
                current,
                first_kept,
                floor,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends an event (numbered by the caller, in increasing order).
    pub(crate) fn append(&self, event: &Event) -> Result<()> {
        let payload = encode(event)?;
        let mut record = vec![0; 8];
        record.extend_from_slice(&event.seq.to_be_bytes());
        record.extend_from_slice(&event.at.timestamp_millis().to_be_bytes());
        record.extend_from_slice(&payload);
        let checked = crc32fast::hash(&record[8..]);
        let len = (record.len() - HEADER) as u32;
        record[..4].copy_from_slice(&len.to_be_bytes());
        record[4..8].copy_from_slice(&checked.to_be_bytes());
        let mut inner = self.lock();
        let full = inner
            .files
            .last()
            .is_none_or(|f| f.index.len() >= FILE_EVENTS);
        // Numbers beyond a gap (after a reboot) start a file of their own.
        let last = inner
            .files
            .last()
            .and_then(|f| f.index.last())
            .map_or(0, |r| r.0);
        if full || inner.floor > last || inner.current.is_none() {
            self.start_file(&mut inner, event.seq)?;
        }
        let Inner {
            files,
            current,
            floor,
            ..
        } = &mut *inner;
        let (Some(file), Some(handle)) = (files.last_mut(), current.as_mut()) else {
            unreachable!("a file was just started");
        };
        if let Err(source) = handle.write_all(&record) {
            // Leave no torn record behind a later one.
            let _ = handle.set_len(file.len);
            return Err(io_error(&file.path, source));
        }
        file.index.push((event.seq, file.len, event.at));
        file.len += record.len() as u64;
        *floor = (*floor).max(event.seq);
        Ok(())
    }

    /// Drops every event kept, files and all, while the numbering goes on: events carry
    /// what they were about, so erasing a contact's data erases the log too (browsers that
    /// resume from before now reload).
    pub(crate) fn forget_all(&self) -> Result<()> {
        let mut inner = self.lock();
        write_boot_file(&self.dir, self.boot.as_deref(), inner.floor)?;
        inner.current = None;
        inner.first_kept = inner.floor + 1;
        for file in std::mem::take(&mut inner.files) {
            std::fs::remove_file(&file.path).map_err(|source| io_error(&file.path, source))?;
        }
        Ok(())
    }

    /// Numbers on from far beyond `seq`, the last number of the hub a backup was taken
    /// from: a browser of that hub that resumes is told to reload, never handed a
    /// restored hub's events as the ones it missed.
    pub(crate) fn number_beyond(&self, seq: u64) -> Result<()> {
        let mut inner = self.lock();
        inner.floor = inner.floor.max(seq) + REBOOT_GAP;
        inner.first_kept = inner.floor + 1;
        write_boot_file(&self.dir, self.boot.as_deref(), inner.floor)
    }

    /// Starts a new file at `seq`.
    fn start_file(&self, inner: &mut Inner, seq: u64) -> Result<()> {
        let path = self.dir.join(format!("{seq:020}.log"));
        inner.current = Some(open_for_writing(&path)?);
        inner.files.push(LogFile {
            path,
            len: 0,
            index: Vec::new(),
        });
        Ok(())
    }

    /// The newest event's number (or where the numbering goes on from), 0 for none.
    pub(crate) fn last_seq(&self) -> u64 {
        self.lock().floor
    }

    /// The oldest event kept, if any.
    pub(crate) fn first_seq(&self) -> Option<u64> {
        let inner = self.lock();
        inner
            .files
            .iter()
            .flat_map(|f| f.index.iter())
            .map(|r| r.0)
            .find(|seq| *seq >= inner.first_kept)
    }

    /// The oldest event kept that happened at or after `at`, if any.
    pub(crate) fn first_at(&self, at: DateTime<Utc>) -> Option<u64> {
        let inner = self.lock();
        inner
            .files
            .iter()
            .flat_map(|f| f.index.iter())
            .find(|r| r.0 >= inner.first_kept && r.2 >= at)
            .map(|r| r.0)
    }

    /// How many events are kept.
    pub(crate) fn len(&self) -> u64 {
        let inner = self.lock();
        let first_kept = inner.first_kept;
        inner
            .files
            .iter()
            .map(|f| f.index.iter().filter(|r| r.0 >= first_kept).count() as u64)
            .sum()
    }

    /// The events after `after` up to `until` that `viewer` may see, oldest first.
    pub(crate) fn since(&self, after: u64, until: u64, viewer: &Viewer) -> Result<Vec<Event>> {
        let inner = self.lock();
        let from = (after + 1).max(inner.first_kept);
        let mut events = Vec::new();
        for file in &inner.files {
            let wanted: Vec<&(u64, u64, DateTime<Utc>)> = file
                .index
                .iter()
                .filter(|r| (from..=until).contains(&r.0))
                .collect();
            let (Some(first), Some(last)) = (wanted.first(), wanted.last()) else {
                continue;
            };
            let io = |source| io_error(&file.path, source);
            let end = file
                .index
                .iter()
                .find(|r| r.0 > last.0)
                .map_or(file.len, |r| r.1);
            let mut bytes = vec![0; (end - first.1) as usize];
            let handle = File::open(&file.path).map_err(io)?;
            handle.read_exact_at(&mut bytes, first.1).map_err(io)?;
            let mut at = 0;
            while let Some((_, payload, next)) = record_at(&bytes, at) {
                let event: Event = decode(payload)?;
                if event.scope.allows(viewer) {
                    events.push(event);
                }
                at = next;
            }
        }
        Ok(events)
    }

    /// Drops the events beyond the newest `keep` and those that happened before `before`;
    /// answers how many were dropped.
    pub(crate) fn prune(&self, keep: usize, before: DateTime<Utc>) -> Result<usize> {
        let mut inner = self.lock();
        let last = inner
            .files
            .last()
            .and_then(|f| f.index.last())
            .map_or(0, |r| r.0);
        let by_count = last.saturating_sub(keep as u64) + 1;
        let by_age = inner
            .files
            .iter()
            .flat_map(|f| f.index.iter())
            .find(|r| r.2 >= before)
            .map_or(last + 1, |r| r.0);
        let cut = by_count.max(by_age).max(inner.first_kept);
        let pruned = inner
            .files
            .iter()
            .flat_map(|f| f.index.iter())
            .filter(|r| (inner.first_kept..cut).contains(&r.0))
            .count();
        inner.first_kept = cut;
        // The last file stays, even all pruned: it carries the numbering over a restart.
        while inner.files.len() > 1 && inner.files[0].index.last().is_some_and(|r| r.0 < cut) {
            let file = inner.files.remove(0);
            std::fs::remove_file(&file.path).map_err(|source| io_error(&file.path, source))?;
        }
        Ok(pruned)
    }
}

/// The boot the log was written in, and the number it went on from then (0: from its
/// files).
fn read_boot_file(path: &Path) -> (Option<String>, u64) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut words = text.split_whitespace();
    let boot = words.next().map(str::to_string);
    (boot, words.next().and_then(|n| n.parse().ok()).unwrap_or(0))
}

/// Notes the running boot and the number the log goes on from, durably: a reboot before
/// it is on disk must not number events again from below it.
fn write_boot_file(dir: &Path, boot: Option<&str>, floor: u64) -> Result<()> {
    let path = dir.join(BOOT_FILE);
    let staged = dir.join(format!("{BOOT_FILE}.new"));
    let io = |source| io_error(&path, source);
    let mut file = File::create(&staged).map_err(io)?;
    writeln!(file, "{} {floor}", boot.unwrap_or("unknown")).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&staged, &path).map_err(io)?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)
}

/// Opens `path` for appending, creating it.
fn open_for_writing(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| io_error(path, source))
}

/// Reads a file's records; a damaged or torn tail is cut off (and said so).
fn read_file(path: &Path) -> Result<LogFile> {
    let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
    let mut index: Vec<(u64, u64, DateTime<Utc>)> = Vec::new();
    let mut at = 0;
    while let Some(((seq, time), _, next)) = record_at(&bytes, at) {
        let in_order = index.last().is_none_or(|last| seq > last.0);
        let Some(time) = DateTime::from_timestamp_millis(time).filter(|_| in_order) else {
            break;
        };
        index.push((seq, at as u64, time));
        at = next;
    }
    if at < bytes.len() {
        tracing::warn!(path = %path.display(), kept = at, dropped = bytes.len() - at,
            "the event log ends in a torn or damaged record; it is cut off");
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|file| file.set_len(at as u64))
            .map_err(|source| io_error(path, source))?;
    }
    Ok(LogFile {
        path: path.to_path_buf(),
        len: at as u64,
        index,
    })
}

/// The whole, intact record at `at` in `bytes`: its number and time, its event, and where
/// the next record starts.
fn record_at(bytes: &[u8], at: usize) -> Option<((u64, i64), &[u8], usize)> {
    let header = bytes.get(at..at + HEADER)?;
    let number =
        |range: std::ops::Range<usize>| -> Option<[u8; 8]> { header[range].try_into().ok() };
    let len = u32::from_be_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(header[4..8].try_into().ok()?);
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let end = at + HEADER + len;
    let checked = bytes.get(at + 8..end)?;
    if crc32fast::hash(checked) != crc {
        return None;
    }
    let seq = u64::from_be_bytes(number(8..16)?);
    let time = i64::from_be_bytes(number(16..24)?);
    Some(((seq, time), &bytes[at + HEADER..end], end))
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::event::Scope;
    use crate::UserId;

    fn event(seq: u64, at: DateTime<Utc>) -> Event {
        Event {
            seq,
            name: "chat.updated".into(),
            data: format!(r#"{{"n":{seq}}}"#),
            scope: Scope::Everyone,
            at,
            message_id: None,
            intent: None,
        }
    }

    fn anyone() -> Viewer {
        Viewer {
            user: UserId(1),
            staff: false,
            queues: Vec::new(),
        }
    }

    fn seqs(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn events_are_read_back_across_files_and_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let log = EventLog::open(dir.path()).unwrap();
        assert_eq!((log.last_seq(), log.first_seq()), (0, None));
        for seq in 1..=(FILE_EVENTS as u64 + 5) {
            log.append(&event(seq, now)).unwrap();
        }
        let all = log.since(0, u64::MAX, &anyone()).unwrap();
        assert_eq!(all.len(), FILE_EVENTS + 5);
        assert_eq!(all[7], event(8, now));
        let tail = log.since(FILE_EVENTS as u64 - 2, FILE_EVENTS as u64 + 2, &anyone());
        assert_eq!(
            seqs(&tail.unwrap()),
            (FILE_EVENTS as u64 - 1..=FILE_EVENTS as u64 + 2).collect::<Vec<_>>()
        );
        drop(log);
        let log = EventLog::open(dir.path()).unwrap();
        assert_eq!(log.last_seq(), FILE_EVENTS as u64 + 5);
        assert_eq!(log.first_seq(), Some(1));
        assert_eq!(log.len(), FILE_EVENTS as u64 + 5);
        log.append(&event(FILE_EVENTS as u64 + 6, now)).unwrap();
        let last = log
            .since(FILE_EVENTS as u64 + 4, u64::MAX, &anyone())
            .unwrap();
        assert_eq!(
            seqs(&last),
            [FILE_EVENTS as u64 + 5, FILE_EVENTS as u64 + 6]
        );
    }

    #[test]
    fn a_torn_last_record_is_cut_off_and_the_log_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let log = EventLog::open(dir.path()).unwrap();
        for seq in 1..=3 {
            log.append(&event(seq, now)).unwrap();
        }
        drop(log);
        let path = dir.path().join(format!("{:020}.log", 1));
        let len = std::fs::metadata(&path).unwrap().len();
        // A crash in the middle of the third record.
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let log = EventLog::open(dir.path()).unwrap();
        assert_eq!(log.last_seq(), 2);
        log.append(&event(3, now)).unwrap();
        log.append(&event(4, now)).unwrap();
        assert_eq!(seqs(&log.since(0, 10, &anyone()).unwrap()), [1, 2, 3, 4]);
        // A flipped bit is damage: the log stops before it.
        drop(log);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        let log = EventLog::open(dir.path()).unwrap();
        assert_eq!(log.last_seq(), 3);
    }

    #[test]
    fn pruning_keeps_the_newest_and_the_recent_and_deletes_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let old = now - chrono::Duration::hours(30);
        let log = EventLog::open(dir.path()).unwrap();
        let total = 2 * FILE_EVENTS as u64 + 30;
        for seq in 1..=total {
            let at = if seq <= 15 { old } else { now };
            log.append(&event(seq, at)).unwrap();
        }
        // By age: the first 15 happened before the cut.
        let before = now - chrono::Duration::hours(24);
        assert_eq!(log.prune(usize::MAX, before).unwrap(), 15);
        assert_eq!(log.first_seq(), Some(16));
        assert_eq!(log.since(0, 20, &anyone()).unwrap().len(), 5);
        // By count: the newest 20 stay, and the files that held only older ones go.
        let pruned = log.prune(20, before).unwrap();
        assert_eq!(pruned, total as usize - 15 - 20);
        assert_eq!(log.first_seq(), Some(total - 19));
        assert_eq!(log.len(), 20);
        let files = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count();
        assert_eq!(files, 1, "two whole files were deleted");
        // Everything pruned: the numbering survives a restart.
        assert_eq!(log.prune(0, now + chrono::Duration::hours(1)).unwrap(), 20);
        assert_eq!((log.first_seq(), log.len()), (None, 0));
        drop(log);
        let log = EventLog::open(dir.path()).unwrap();
        assert_eq!(log.last_seq(), total);
        log.append(&event(total + 1, now)).unwrap();
        assert_eq!(log.last_seq(), total + 1);
    }

    #[test]
    fn after_a_reboot_no_event_is_trusted_and_the_numbering_jumps() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let log = EventLog::open_in_boot(dir.path(), Some("boot-a")).unwrap();
        for seq in 1..=5 {
            log.append(&event(seq, now)).unwrap();
        }
        drop(log);
        // The same boot (a restart, even after SIGKILL): everything is there.
        let log = EventLog::open_in_boot(dir.path(), Some("boot-a")).unwrap();
        assert_eq!((log.first_seq(), log.last_seq()), (Some(1), 5));
        drop(log);
        // Another boot: the newest events may be lost, so none is served.
        let log = EventLog::open_in_boot(dir.path(), Some("boot-b")).unwrap();
        assert_eq!(log.first_seq(), None);
        let next = 5 + REBOOT_GAP + 1;
        assert_eq!(log.last_seq(), next - 1);
        assert!(log.since(2, u64::MAX, &anyone()).unwrap().is_empty());
        log.append(&event(next, now)).unwrap();
        assert_eq!(seqs(&log.since(0, u64::MAX, &anyone()).unwrap()), [next]);
        drop(log);
        // Trusted again in that boot, from the jump on; an unknown boot trusts nothing.
        let log = EventLog::open_in_boot(dir.path(), Some("boot-b")).unwrap();
        assert_eq!((log.first_seq(), log.last_seq()), (Some(next), next));
        drop(log);
        let log = EventLog::open_in_boot(dir.path(), None).unwrap();
        assert_eq!(log.last_seq(), next + REBOOT_GAP);
    }

    #[test]
    fn forgetting_drops_every_event_and_keeps_the_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now();
        let log = EventLog::open_in_boot(dir.path(), Some("boot-a")).unwrap();
        for seq in 1..=3 {
            log.append(&event(seq, now)).unwrap();
        }
        log.forget_all().unwrap();
        assert_eq!((log.first_seq(), log.last_seq(), log.len()), (None, 3, 0));
        assert!(log.since(0, 3, &anyone()).unwrap().is_empty());
        drop(log);
        let log = EventLog::open_in_boot(dir.path(), Some("boot-a")).unwrap();
        assert_eq!((log.first_seq(), log.last_seq()), (None, 3));
        log.append(&event(4, now)).unwrap();
        assert_eq!(seqs(&log.since(0, 9, &anyone()).unwrap()), [4]);
    }
}
