//! Refresh-token sessions: a family per sign-in, one current token per family.
//!
//! Tokens are stored by their SHA-256 hash, never in clear. Rotating a token makes the old
//! one spent; presenting a spent token again means it was stolen (or replayed), so the
//! whole family is revoked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{FamilyId, UserId};

/// A refresh token, keyed by its hash in `refresh_tokens`; kept after rotation until it
/// expires so that reuse can be recognised.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefreshToken {
    pub user_id: UserId,
    pub family: FamilyId,
    pub expires_at: DateTime<Utc>,
}

/// A sign-in, keyed by (user id, family id) in `refresh_families`; deleting it revokes
/// every token of the family.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Family {
    /// Hash of the one token of the family that may still be used.
    pub current: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current; the new one now is (its user and sign-in).
    Rotated(UserId, FamilyId),
    /// The token was already spent: the family (its user and sign-in) is now revoked.
    Reused(UserId, FamilyId),
    /// Unknown, expired or revoked.
    Invalid,
}
