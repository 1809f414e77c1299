//! User accounts.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// What a user may do: admins manage the hub, supervisors watch every chat, agents answer
/// the chats of their queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
}

impl Role {
    /// The name used in the API and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }

    /// Admins and supervisors see every chat and read the configuration.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "supervisor" => Ok(Role::Supervisor),
            "agent" => Ok(Role::Agent),
            other => Err(format!(
                "unknown role {other:?}: use admin, supervisor or agent"
            )),
        }
    }
}

/// A stored user account.
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Lower-cased; unique through the `users_by_email` index.
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub max_concurrent_chats: u32,
    #[serde(default)]
    pub queue_ids: Vec<String>,
    /// argon2id PHC string.
    pub password_hash: String,
    pub must_change_password: bool,
    /// Bumped whenever every session of the user must end at once (deactivation, password
    /// reset); access tokens carry the epoch they were issued in.
    #[serde(default)]
    pub session_epoch: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The second factor of the user's sign-in.
    #[serde(default)]
    pub two_factor: TwoFactor,
}

/// Two-factor sign-in: an authenticator app's secret (RFC 6238 codes) and single-use
/// recovery codes. Off while `secret` is `None`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactor {
    /// The confirmed authenticator's secret.
    pub secret: Option<Vec<u8>>,
    /// A secret shown for enrolment, until a code made from it confirms it.
    pub pending: Option<Vec<u8>>,
    /// SHA-256 of each recovery code not used yet.
    pub recovery: Vec<[u8; 32]>,
    /// The last time step a code was accepted for: each code signs in once.
    pub last_step: u64,
    pub enabled_at: Option<DateTime<Utc>>,
}

impl TwoFactor {
    /// Whether sign-in asks for a code.
    pub fn is_on(&self) -> bool {
        self.secret.is_some()
    }
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// What it takes to create a user; the password is already hashed.
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub max_concurrent_chats: u32,
    pub queue_ids: Vec<String>,
    pub must_change_password: bool,
}

/// Normalises an email address for storage and lookup.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}
