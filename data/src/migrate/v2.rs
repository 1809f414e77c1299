//! Schema 2: the event log moves from the `events` tree to files beside the database
//! (`event_log`). The old events are dropped: a browser resuming from one of them is told
//! to reload, as after any gap in the log.

use crate::keys::trees;
use crate::Result;

pub(super) fn up(db: &sled::Db) -> Result<()> {
    db.drop_tree(trees::EVENTS)?;
    Ok(())
}
