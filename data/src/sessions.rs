//! Refresh-token sessions in `refresh_tokens` and `refresh_families`
//! (see [`crate::records::session`]).

use chrono::{DateTime, Utc};
use sled::transaction::ConflictableTransactionError as Abort;
use sled::Transactional;

use crate::keys::join;
use crate::records::session::{Family, RefreshToken, RotateOutcome};
use crate::store::{decode, encode};
use crate::users::flatten;
use crate::{FamilyId, Result, Store, UserId};

impl Store {
    /// Starts a new sign-in whose first token has the hash `token_hash`.
    pub fn start_session(
        &self,
        user_id: UserId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<FamilyId> {
        let family = FamilyId(self.next_id()?);
        let family_rec = encode(&Family {
            current: token_hash.to_vec(),
            created_at: Utc::now(),
            expires_at,
        })?;
        let token_rec = encode(&RefreshToken {
            user_id,
            family,
            expires_at,
        })?;
        let t = self.trees();
        (&t.refresh_tokens, &t.refresh_families)
            .transaction(|(tokens, families)| {
                families.insert(family_key(user_id, family), family_rec.as_slice())?;
                tokens.insert(token_hash, token_rec.as_slice())?;
                Ok(())
            })
            .map_err(flatten)?;
        Ok(family)
    }

    /// Spends the token `old_hash` and makes `new_hash` its family's current token.
    /// A spent token revokes the family; an unknown, expired or revoked one is `Invalid`.
    pub fn rotate_session(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome> {
        let t = self.trees();
        (&t.refresh_tokens, &t.refresh_families)
            .transaction(|(tokens, families)| {
                let Some(bytes) = tokens.get(old_hash)? else {
                    return Ok(RotateOutcome::Invalid);
                };
                let token: RefreshToken = decode(&bytes).map_err(Abort::Abort)?;
                let key = family_key(token.user_id, token.family);
                let Some(bytes) = families.get(&key)? else {
                    return Ok(RotateOutcome::Invalid);
                };
                let mut family: Family = decode(&bytes).map_err(Abort::Abort)?;
                if token.expires_at <= now || family.expires_at <= now {
                    return Ok(RotateOutcome::Invalid);
                }
                if family.current != old_hash {
                    families.remove(key)?;
                    return Ok(RotateOutcome::Reused(token.user_id, token.family));
                }
                family.current = new_hash.to_vec();
                families.insert(key, encode(&family).map_err(Abort::Abort)?)?;
                let next = RefreshToken {
                    expires_at: family.expires_at,
                    ..token.clone()
                };
                tokens.insert(new_hash, encode(&next).map_err(Abort::Abort)?)?;
                Ok(RotateOutcome::Rotated(token.user_id, token.family))
            })
            .map_err(flatten)
    }

    /// Ends the sign-in that the token `token_hash` belongs to (sign-out); returns its user
    /// and sign-in.
    pub fn end_session(&self, token_hash: &[u8]) -> Result<Option<(UserId, FamilyId)>> {
        let t = self.trees();
        let Some(bytes) = t.refresh_tokens.get(token_hash)? else {
            return Ok(None);
        };
        let token: RefreshToken = decode(&bytes)?;
        t.refresh_families
            .remove(family_key(token.user_id, token.family))?;
        Ok(Some((token.user_id, token.family)))
    }

    /// Whether the user's sign-in `family` is still on: not signed out, revoked or expired.
    pub fn session_lasts(
        &self,
        user_id: UserId,
        family: FamilyId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        match self
            .trees()
            .refresh_families
            .get(family_key(user_id, family))?
        {
            Some(bytes) => Ok(decode::<Family>(&bytes)?.expires_at > now),
            None => Ok(false),
        }
    }

    /// Which user the refresh token `token_hash` belongs to, if any.
    pub fn session_owner(&self, token_hash: &[u8]) -> Result<Option<UserId>> {
        match self.trees().refresh_tokens.get(token_hash)? {
            Some(bytes) => Ok(Some(decode::<RefreshToken>(&bytes)?.user_id)),
            None => Ok(None),
        }
    }

    /// Ends every sign-in of the user (deactivation, password change or reset).
    pub fn end_all_sessions(&self, user_id: UserId) -> Result<usize> {
        let families = &self.trees().refresh_families;
        let mut ended = 0;
        for entry in families.scan_prefix(user_id.key()) {
            families.remove(entry?.0)?;
            ended += 1;
        }
        Ok(ended)
    }

    /// Deletes token and family records that have expired; returns how many went.
    pub fn prune_sessions(&self, now: DateTime<Utc>) -> Result<usize> {
        let t = self.trees();
        let mut pruned = 0;
        for entry in t.refresh_tokens.iter() {
            let (key, bytes) = entry?;
            if decode::<RefreshToken>(&bytes)?.expires_at <= now {
                t.refresh_tokens.remove(key)?;
                pruned += 1;
            }
        }
        for entry in t.refresh_families.iter() {
            let (key, bytes) = entry?;
            if decode::<Family>(&bytes)?.expires_at <= now {
                t.refresh_families.remove(key)?;
                pruned += 1;
            }
        }
        Ok(pruned)
    }
}

fn family_key(user_id: UserId, family: FamilyId) -> Vec<u8> {
    join(&[&user_id.key(), &family.key()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_spent_token_revokes_its_family() {
        let (_dir, store) = store();
        let now = Utc::now();
        let user = UserId(7);
        let family = store
            .start_session(user, b"t1", now + Duration::days(1))
            .unwrap();
        assert!(store.session_lasts(user, family, now).unwrap());
        assert_eq!(
            store.rotate_session(b"t1", b"t2", now).unwrap(),
            RotateOutcome::Rotated(user, family)
        );
        assert_eq!(
            store.rotate_session(b"t1", b"t3", now).unwrap(),
            RotateOutcome::Reused(user, family)
        );
        assert!(!store.session_lasts(user, family, now).unwrap());
        // The thief's and the owner's newer tokens are both dead now.
        assert_eq!(
            store.rotate_session(b"t2", b"t4", now).unwrap(),
            RotateOutcome::Invalid
        );
    }

    #[test]
    fn expired_and_unknown_tokens_are_invalid() {
        let (_dir, store) = store();
        let now = Utc::now();
        store
            .start_session(UserId(1), b"old", now - Duration::seconds(1))
            .unwrap();
        assert_eq!(
            store.rotate_session(b"old", b"new", now).unwrap(),
            RotateOutcome::Invalid
        );
        assert_eq!(
            store.rotate_session(b"nope", b"new", now).unwrap(),
            RotateOutcome::Invalid
        );
        assert_eq!(store.prune_sessions(now).unwrap(), 2);
    }

    #[test]
    fn ending_all_sessions_leaves_other_users_alone() {
        let (_dir, store) = store();
        let later = Utc::now() + Duration::days(1);
        store.start_session(UserId(1), b"a", later).unwrap();
        store.start_session(UserId(1), b"b", later).unwrap();
        let family = store.start_session(UserId(2), b"c", later).unwrap();
        assert_eq!(store.end_all_sessions(UserId(1)).unwrap(), 2);
        let now = Utc::now();
        assert_eq!(
            store.rotate_session(b"a", b"x", now).unwrap(),
            RotateOutcome::Invalid
        );
        assert_eq!(
            store.rotate_session(b"c", b"y", now).unwrap(),
            RotateOutcome::Rotated(UserId(2), family)
        );
    }
}
