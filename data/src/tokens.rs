//! Opaque secret tokens (refresh tokens): random, shown to the client once, stored hashed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::store::random_bytes;

/// Random bytes in a token: 256 bits, beyond guessing.
const TOKEN_BYTES: usize = 32;

/// A new token in URL-safe base64.
pub fn generate() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(TOKEN_BYTES))
}

/// The hash under which a token is stored and looked up.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
