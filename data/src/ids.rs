//! Newtype ids, so that one kind of id cannot be passed where another is meant.
//!
//! Ids are sled-generated `u64`s, stored big-endian in keys and shown as decimal strings
//! in the API.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as a big-endian key, so that key order is id order.
            pub fn key(self) -> [u8; 8] {
                self.0.to_be_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A refresh-token family: one sign-in and all the tokens rotated from it.
    FamilyId
);
id_type!(
    /// A conversation with one contact on one business number.
    ChatId
);
id_type!(
    /// A message; ids grow with time, so id order is creation order.
    MessageId
);
id_type!(
    /// A pending send or read receipt in the outbox.
    OutboxId
);
id_type!(
    /// A stored media file.
    MediaId
);
id_type!(
    /// A customer: one person on one business number, whatever keys Meta names them by.
    ContactId
);
id_type!(
    /// A campaign: one template sent to an audience.
    CampaignId
);
id_type!(
    /// A message an agent scheduled for later.
    ScheduledId
);
