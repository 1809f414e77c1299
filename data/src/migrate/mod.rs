//! Schema versions and the upgrade steps between them, one module per step.
//!
//! The `meta` tree's `schema_version` key says which layout a database has. Opening runs
//! every step from that version up to [`CURRENT`]; a database newer than this binary is
//! refused rather than misread.

use std::path::Path;

use crate::keys::{meta, trees};
use crate::{Error, Result};

mod v1;
mod v2;
mod v3;

/// The schema this binary writes.
pub const CURRENT: u32 = 3;

/// Brings `db` to [`CURRENT`], or refuses it.
pub(crate) fn run(db: &sled::Db, dir: &Path) -> Result<()> {
    let meta_tree = db.open_tree(trees::META)?;
    let found = match meta_tree.get(meta::SCHEMA_VERSION)? {
        Some(bytes) => read_version(&bytes).ok_or_else(|| Error::NotAtendeDir(dir.into()))?,
        None if is_empty(db)? => 0,
        None => return Err(Error::NotAtendeDir(dir.into())),
    };
    if found > CURRENT {
        return Err(Error::NewerSchema {
            found,
            supported: CURRENT,
        });
    }
    for version in found..CURRENT {
        match version {
            0 => v1::up(db)?,
            1 => v2::up(db)?,
            2 => v3::up(db)?,
            _ => unreachable!("every version below CURRENT has a step"),
        }
        meta_tree.insert(meta::SCHEMA_VERSION, &(version + 1).to_be_bytes())?;
        tracing::info!(schema = version + 1, "data directory upgraded");
    }
    db.flush()?;
    Ok(())
}

fn read_version(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// A database with no records at all (new, or created by a start that died at once).
fn is_empty(db: &sled::Db) -> Result<bool> {
    for name in db.tree_names() {
        if !db.open_tree(&name)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}
