//! The `numbers` and `unprocessed` trees.

use std::sync::Arc;

use crate::records::number::BusinessNumber;
use crate::records::unprocessed::Unprocessed;
use crate::store::{decode, encode};
use crate::{Error, Result, Store};

impl Store {
    /// Every configured business number, by id. Read with every webhook, so kept in
    /// memory; only the methods below change them.
    pub fn numbers(&self) -> Result<Arc<Vec<BusinessNumber>>> {
        let mut kept = self.numbers_kept();
        if let Some(numbers) = kept.as_ref() {
            return Ok(numbers.clone());
        }
        let read: Vec<BusinessNumber> = self
            .trees()
            .numbers
            .iter()
            .map(|e| decode(&e?.1))
            .collect::<Result<_>>()?;
        let numbers = Arc::new(read);
        *kept = Some(numbers.clone());
        Ok(numbers)
    }

    /// One business number.
    pub fn number(&self, id: &str) -> Result<Option<BusinessNumber>> {
        self.trees()
            .numbers
            .get(id.as_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Adds a number; [`Error::Conflict`] when its id is taken.
    pub fn create_number(&self, number: &BusinessNumber) -> Result<()> {
        let mut kept = self.numbers_kept();
        *kept = None;
        let swapped = self.trees().numbers.compare_and_swap(
            number.id.as_bytes(),
            None::<&[u8]>,
            Some(encode(number)?),
        )?;
        self.flush_blocking()?;
        swapped.map_err(|_| Error::Conflict(crate::refusals::NUMBER_TAKEN))
    }

    /// Replaces a number.
    pub fn put_number(&self, number: &BusinessNumber) -> Result<()> {
        let mut kept = self.numbers_kept();
        *kept = None;
        self.trees()
            .numbers
            .insert(number.id.as_bytes(), encode(number)?)?;
        self.flush_blocking()
    }

    /// Removes a number; false when there was none. Its chats keep their history.
    pub fn delete_number(&self, id: &str) -> Result<bool> {
        let mut kept = self.numbers_kept();
        *kept = None;
        let removed = self.trees().numbers.remove(id.as_bytes())?.is_some();
        self.flush_blocking()?;
        Ok(removed)
    }

    /// Keeps a webhook change the hub could not use (durable with the next flush).
    pub fn put_unprocessed(&self, entry: &Unprocessed) -> Result<()> {
        self.trees()
            .unprocessed
            .insert(entry.id.to_be_bytes(), encode(entry)?)?;
        Ok(())
    }

    /// One kept change.
    pub fn unprocessed(&self, id: u64) -> Result<Option<Unprocessed>> {
        self.trees()
            .unprocessed
            .get(id.to_be_bytes())?
            .map(|b| decode(&b))
            .transpose()
    }

    /// Kept changes, newest first, before the `before` id when given.
    pub fn unprocessed_page(&self, before: Option<u64>, limit: usize) -> Result<Vec<Unprocessed>> {
        let end = before.unwrap_or(u64::MAX).to_be_bytes();
        self.trees()
            .unprocessed
            .range(..end)
            .rev()
            .take(limit)
            .map(|e| decode(&e?.1))
            .collect()
    }

    /// How many changes are kept.
    pub fn unprocessed_len(&self) -> usize {
        self.trees().unprocessed.len()
    }
}
