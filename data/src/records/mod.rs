//! The records stored in the trees, one module per record kind.

pub mod session;
pub mod user;
