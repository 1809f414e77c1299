//! The storage crate's one error type.

use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in `atende-data`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process has the database open (sled holds an exclusive file lock).
    #[error("the data directory {0} is in use by another running atende")]
    Locked(PathBuf),
    /// The directory holds files that Atende did not write.
    #[error("{0} is not an Atende data directory (it holds other files); choose an empty or new directory")]
    NotAtendeDir(PathBuf),
    /// The directory was written by a newer Atende whose format this one cannot read.
    #[error("the data directory was written by a newer version of atende (schema {found}; this version reads up to {supported})")]
    NewerSchema { found: u32, supported: u32 },
    /// The database files exist but sled could not open them.
    #[error("cannot open the database in {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    /// A record that was asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule or a state rule refused the change (`refusals.rs`).
    #[error("{}", .0.message)]
    Conflict(crate::refusals::Refusal),
    /// sled failed while reading or writing.
    #[error("storage failure")]
    Storage(#[from] sled::Error),
    /// Flushing to disk failed; the write may not be durable.
    #[error("flushing the database to disk failed")]
    Flush(#[source] Arc<sled::Error>),
    /// The group-commit thread is gone: the store is shutting down.
    #[error("the store is shutting down")]
    Closed,
    /// A record could not be encoded.
    #[error("record encoding failed")]
    Encode(#[from] rmp_serde::encode::Error),
    /// A stored record could not be decoded.
    #[error("record decoding failed")]
    Decode(#[from] rmp_serde::decode::Error),
    /// A file of the data directory could not be read or written.
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The password hasher refused its input.
    #[error("password hashing failed")]
    PasswordHash,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the disk failed a database write or flush (full, or failing), rather than
    /// the data or the program.
    pub fn is_storage(&self) -> bool {
        matches!(self, Error::Storage(sled::Error::Io(_)) | Error::Flush(_))
    }
}
