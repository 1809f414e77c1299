//! Refusals: the state rules a change can break (HTTP 409, [`ALL`]) and the permissions a
//! request can lack (HTTP 403, [`DENIALS`]), each with its own stable code for programs
//! and a sentence for people. These are the one list of them: every crate refuses with
//! one of these, the API answers with its code, and the console tells each in the user's
//! language by its code.

/// A state rule refused the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// snake_case, stable: the API's `error.code`.
    pub code: &'static str,
    /// A short English sentence for people (the console translates by `code`).
    pub message: &'static str,
}

macro_rules! refusals {
    ($(#[$list_doc:meta])* $list:ident; $($(#[$doc:meta])* $name:ident = $code:literal, $message:literal;)*) => {
        $($(#[$doc])* pub const $name: Refusal = Refusal { code: $code, message: $message };)*
        $(#[$list_doc])*
        pub const $list: &[Refusal] = &[$($name),*];
    };
}

refusals! {
    /// Every 409, for the documentation and its test.
    ALL;
    /// A user with this email exists.
    EMAIL_TAKEN = "email_taken", "a user with this email already exists";
    /// The last active admin cannot be demoted or deactivated.
    LAST_ADMIN = "last_admin", "this is the last active admin; make another user admin first";
    /// A queue with this id exists.
    QUEUE_TAKEN = "queue_taken", "a queue with this id already exists";
    /// A business number with this id exists.
    NUMBER_TAKEN = "number_taken", "a number with this id already exists";
    /// The last business number stays.
    LAST_NUMBER = "last_number", "the last business number cannot be removed; add another first";
    /// Another canned response has this shortcut.
    SHORTCUT_TAKEN = "shortcut_taken", "a canned response with this shortcut exists";
    /// Another agent holds the chat ("Assumir" lost the race).
    CLAIM_TAKEN = "claim_taken", "another agent already holds this chat";
    /// A closed chat is reopened, not claimed.
    CHAT_CLOSED_CLAIM = "chat_closed", "the chat is closed; reopen it instead";
    /// A closed chat takes no reply until reopened.
    CHAT_CLOSED_WRITE = "chat_closed_write", "the chat is closed; reopen it to write";
    /// A closed chat is reopened before a transfer.
    CHAT_CLOSED_TRANSFER = "chat_closed_transfer", "the chat is closed; reopen it first";
    /// Closing what is closed.
    CHAT_ALREADY_CLOSED = "chat_already_closed", "the chat is already closed";
    /// Only an open chat is put aside.
    CHAT_NOT_OPEN = "chat_not_open", "only an open chat can be snoozed";
    /// A scheduled message that already went out, failed or was cancelled.
    SCHEDULED_NOT_PENDING = "scheduled_not_pending", "this scheduled message is no longer waiting";
    /// Reopening what is not closed.
    CHAT_NOT_CLOSED = "chat_not_closed", "the chat is not closed";
    /// A contact with open or waiting chats is not erased.
    CONTACT_HAS_OPEN_CHATS = "contact_has_open_chats", "the contact has chats that are not closed; close them first";
    /// Nobody to write to (neither a phone nor a BSUID).
    NO_RECIPIENT = "no_recipient", "the customer has neither a phone nor a BSUID";
    /// A sandbox message whose id was stored before.
    ALREADY_STORED = "already_stored", "this message was already stored";
    /// A restore goes into an empty directory only.
    RESTORE_TARGET_NOT_EMPTY = "restore_target_not_empty", "the data directory is not empty; restore into an empty directory";
    /// The backup file is not one, or it is damaged.
    BACKUP_DAMAGED = "backup_damaged", "the file is not an Atende backup, or it is damaged or truncated";
    /// A hand-off is for a chat a bot holds.
    CHAT_NOT_WITH_BOT = "chat_not_with_bot", "no bot holds this chat";
    /// One bot per business number or queue.
    NUMBER_HAS_BOT = "number_has_bot", "another bot already takes this number's or queue's chats";
    /// An install keeps a bounded number of API tokens.
    TOO_MANY_TOKENS = "too_many_tokens", "this install has as many API tokens as it may; revoke one first";
    /// An install keeps a bounded number of webhook subscriptions.
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions", "this install has as many webhook subscriptions as it may; remove one first";
    /// A campaign starts once.
    CAMPAIGN_STARTED = "campaign_started", "the campaign has already been started";
    /// Only a running or scheduled campaign is paused.
    CAMPAIGN_NOT_RUNNING = "campaign_not_running", "the campaign is not running";
    /// Only a paused campaign is resumed.
    CAMPAIGN_NOT_PAUSED = "campaign_not_paused", "the campaign is not paused";
    /// A done or cancelled campaign stays so.
    CAMPAIGN_FINISHED = "campaign_finished", "the campaign is already done or cancelled";
    /// A campaign needs someone to send to.
    AUDIENCE_EMPTY = "audience_empty", "nobody in this audience may receive the campaign";
    /// A field names a record that does not exist (a queue, a number, a user...): the same
    /// request succeeds once it does, so it is the state that refuses, not the input.
    UNKNOWN_REFERENCE = "unknown_reference", "the request names a record that does not exist";
    /// A message's type differs from the uploaded file's kind.
    MEDIA_KIND_MISMATCH = "media_kind_mismatch", "the uploaded file is not of the message's type";
    /// A hub of several business numbers needs to be told which one.
    NUMBER_REQUIRED = "number_required", "this hub has several business numbers: name one";
    /// Making a bot of a token that lacks the scopes a bot uses.
    BOT_SCOPES_MISSING = "bot_scopes_missing", "a bot's token needs the scopes messages:send and chats:write";
    /// Enrolling another authenticator while one is on.
    TWO_FACTOR_ON = "two_factor_on", "two-factor sign-in is already on; turn it off first to enrol another authenticator";
    /// Confirming an enrolment that was not started.
    TWO_FACTOR_NOT_STARTED = "two_factor_not_started", "no authenticator is waiting to be confirmed; start the enrolment first";
    /// New recovery codes, or turning off, when two-factor sign-in is off.
    TWO_FACTOR_OFF = "two_factor_off", "two-factor sign-in is not on";
    /// Requiring a second factor of one's own role before having one.
    TWO_FACTOR_ENROL_FIRST = "two_factor_enrol_first", "turn on two-step verification for yourself before making it mandatory for your own role";
    /// Turning off a second factor the user's role must have.
    TWO_FACTOR_MANDATORY = "two_factor_mandatory", "your role must sign in with a second factor; it cannot be turned off";
}

refusals! {
    /// Every 403: what the caller lacks.
    DENIALS;
    /// A route for admins.
    ADMIN_ONLY = "admin_only", "only an admin may do this";
    /// A route for supervisors and admins.
    STAFF_ONLY = "staff_only", "only a supervisor or an admin may do this";
    /// A browser page of an origin the hub does not allow opened the event socket.
    ORIGIN_FORBIDDEN = "origin_forbidden", "pages of this origin may not open the hub's event socket";
    /// A chat another agent holds.
    NOT_HOLDER = "not_chat_holder", "only the agent holding this chat may do this; claim it first";
    /// A bot's chat, for another bot.
    OTHER_BOT = "held_by_another_bot", "another bot holds this chat";
    /// Meta's verification request with the wrong token.
    VERIFY_TOKEN_MISMATCH = "verify_token_mismatch", "the verify token does not match";
    /// `/metrics` from elsewhere.
    METRICS_DENIED = "metrics_denied", "metrics are for the configured token or addresses";
    /// A user whose role must sign in with a second factor has not enrolled one yet.
    TWO_FACTOR_SETUP_REQUIRED = "two_factor_setup_required", "your role must sign in with a second factor: enrol an authenticator first";
    /// A 403 some inner layer produced.
    FORBIDDEN = "forbidden", "you may not do this";
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_refusal_has_its_own_snake_case_code() {
        let all = super::ALL.iter().chain(super::DENIALS);
        let mut codes: Vec<&str> = all.map(|r| r.code).collect();
        for code in &codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
        let count = codes.len();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), count, "a code used twice");
    }
}
