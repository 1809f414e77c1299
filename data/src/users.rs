//! User accounts in `users`, unique emails through `users_by_email`.

use chrono::Utc;
use sled::transaction::{ConflictableTransactionError as Abort, TransactionError};
use sled::Transactional;

use crate::records::user::{normalize_email, NewUser, User};
use crate::store::{decode, encode};
use crate::{Error, Result, Store, UserId};

use crate::refusals::EMAIL_TAKEN;

impl Store {
    /// Creates a user; [`Error::Conflict`] when the email is taken.
    pub fn create_user(&self, new: NewUser) -> Result<User> {
        let now = Utc::now();
        let user = User {
            id: UserId(self.next_id()?),
            email: normalize_email(&new.email),
            name: new.name,
            role: new.role,
            active: true,
            max_concurrent_chats: new.max_concurrent_chats,
            queue_ids: new.queue_ids,
            password_hash: new.password_hash,
            must_change_password: new.must_change_password,
            session_epoch: 0,
            created_at: now,
            updated_at: now,
            two_factor: Default::default(),
        };
        let bytes = encode(&user)?;
        let t = self.trees();
        (&t.users, &t.users_by_email)
            .transaction(|(users, by_email)| {
                if by_email.get(user.email.as_bytes())?.is_some() {
                    return Err(Abort::Abort(Error::Conflict(EMAIL_TAKEN)));
                }
                by_email.insert(user.email.as_bytes(), &user.id.key())?;
                users.insert(&user.id.key(), bytes.as_slice())?;
                Ok(())
            })
            .map_err(flatten)?;
        Ok(user)
    }

    /// The user with this id.
    pub fn user(&self, id: UserId) -> Result<Option<User>> {
        self.trees()
            .users
            .get(id.key())?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// The user with this email (compared case-insensitively).
    pub fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let key = normalize_email(email);
        match self.trees().users_by_email.get(key.as_bytes())? {
            Some(id) => self.user(UserId(crate::keys::read_u64(&id).unwrap_or(0))),
            None => Ok(None),
        }
    }

    /// Whether no user exists yet (the first start).
    pub fn has_no_users(&self) -> Result<bool> {
        Ok(self.trees().users.first()?.is_none())
    }

    /// Up to `limit` users in id order, after `after` when given.
    pub fn users(&self, after: Option<UserId>, limit: usize) -> Result<Vec<User>> {
        let start = after.map(|id| (id.0 + 1).to_be_bytes()).unwrap_or_default();
        self.trees()
            .users
            .range(start..)
            .take(limit)
            .map(|entry| decode(&entry?.1))
            .collect()
    }

    /// Applies `change` to the user atomically (it may run more than once on contention)
    /// and returns the result; the email index follows an email change.
    pub fn update_user<F>(&self, id: UserId, change: F) -> Result<User>
    where
        F: Fn(&mut User) -> Result<()>,
    {
        let t = self.trees();
        (&t.users, &t.users_by_email)
            .transaction(|(users, by_email)| {
                let bytes = users.get(id.key())?.ok_or(Abort::Abort(Error::NotFound))?;
                let before: User = decode(&bytes).map_err(Abort::Abort)?;
                let mut after = before.clone();
                change(&mut after).map_err(Abort::Abort)?;
                after.id = before.id;
                after.email = normalize_email(&after.email);
                after.updated_at = Utc::now();
                if after.email != before.email {
                    if by_email.get(after.email.as_bytes())?.is_some() {
                        return Err(Abort::Abort(Error::Conflict(EMAIL_TAKEN)));
                    }
                    by_email.remove(before.email.as_bytes())?;
                    by_email.insert(after.email.as_bytes(), &id.key())?;
                }
                users.insert(&id.key(), encode(&after).map_err(Abort::Abort)?)?;
                Ok(after)
            })
            .map_err(flatten)
    }

    /// How many active admins there are (a guard against locking everyone out).
    pub fn active_admin_count(&self) -> Result<usize> {
        let mut count = 0;
        for entry in self.trees().users.iter() {
            let user: User = decode(&entry?.1)?;
            count += usize::from(user.active && user.role == crate::Role::Admin);
        }
        Ok(count)
    }
}

/// Turns a sled transaction error into the crate's error.
pub(crate) fn flatten(error: TransactionError<Error>) -> Error {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => Error::Storage(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Role;

    fn new_user(email: &str) -> NewUser {
        NewUser {
            email: email.into(),
            name: "Ana".into(),
            role: Role::Agent,
            password_hash: "x".into(),
            max_concurrent_chats: 5,
            queue_ids: vec![],
            must_change_password: false,
        }
    }

    #[test]
    fn a_taken_email_is_a_conflict_whatever_its_case() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_user(new_user("ana@example.com")).unwrap();
        let err = store.create_user(new_user(" ANA@example.com")).unwrap_err();
        assert!(matches!(err, Error::Conflict(_)));
    }

    #[test]
    fn changing_an_email_moves_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = store.create_user(new_user("a@x.io")).unwrap();
        store
            .update_user(user.id, |u| {
                u.email = "B@x.io".into();
                Ok(())
            })
            .unwrap();
        assert!(store.user_by_email("a@x.io").unwrap().is_none());
        assert_eq!(store.user_by_email("b@x.io").unwrap().unwrap().id, user.id);
        store.create_user(new_user("a@x.io")).unwrap();
    }
}
