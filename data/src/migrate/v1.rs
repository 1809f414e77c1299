//! Schema 1: the first layout, every tree in docs/ARCHITECTURE.md, "Storage".

use crate::keys::trees;
use crate::Result;

pub(super) fn up(db: &sled::Db) -> Result<()> {
    for name in trees::ALL {
        db.open_tree(name)?;
    }
    db.open_tree(trees::EVENTS)?;
    Ok(())
}
