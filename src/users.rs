//! `atende user create|reset-password|reset-2fa`: account rescue from the command line.

use std::io::BufRead;

use anyhow::Context;
use atende_data::{password, NewUser, Role, Store, TwoFactor, User};

use crate::config::UserCommand;
use crate::startup::generate_password;

/// Creates an account with the default capacity and no queues, durably; `must_change`:
/// asked to change its password at the first sign-in (a generated one).
pub(crate) fn create(
    store: &Store,
    email: String,
    name: &str,
    role: Role,
    plain: &str,
    must_change: bool,
) -> anyhow::Result<User> {
    let user = store.create_user(NewUser {
        email,
        name: name.to_string(),
        role,
        password_hash: password::hash(plain)?,
        max_concurrent_chats: atende_web::routes::users::DEFAULT_MAX_CONCURRENT_CHATS,
        queue_ids: vec![],
        must_change_password: must_change,
    })?;
    store.flush_blocking()?;
    Ok(user)
}

/// Runs one `atende user` subcommand against the (stopped) hub's data directory.
pub fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            name,
            role,
            password_stdin,
            data,
        } => {
            let store = Store::open(&data.dir)?;
            let (plain, generated) = choose_password(password_stdin)?;
            check(&email, &name)?;
            let user = create(&store, email, name.trim(), role, &plain, generated)?;
            println!("created {} ({}) with id {}", user.email, user.role, user.id);
            announce(generated, &plain);
        }
        UserCommand::ResetPassword {
            email,
            password_stdin,
            data,
        } => {
            let store = Store::open(&data.dir)?;
            let user = store
                .user_by_email(&email)?
                .with_context(|| format!("no user has the email {email}"))?;
            let (plain, generated) = choose_password(password_stdin)?;
            let hash = password::hash(&plain)?;
            store.update_user(user.id, |u| {
                u.password_hash = hash.clone();
                u.must_change_password = generated;
                u.session_epoch += 1;
                u.active = true;
                Ok(())
            })?;
            store.end_all_sessions(user.id)?;
            store.flush_blocking()?;
            println!(
                "reset the password of {}; their sessions have ended",
                user.email
            );
            announce(generated, &plain);
        }
        UserCommand::ResetTwoFactor { email, data } => {
            let store = Store::open(&data.dir)?;
            let user = store
                .user_by_email(&email)?
                .with_context(|| format!("no user has the email {email}"))?;
            store.update_user(user.id, |u| {
                u.two_factor = TwoFactor::default();
                u.session_epoch += 1;
                Ok(())
            })?;
            store.end_all_sessions(user.id)?;
            store.flush_blocking()?;
            println!(
                "turned off two-factor sign-in of {}; their sessions have ended",
                user.email
            );
        }
    }
    Ok(())
}

fn choose_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let plain = line.trim_end_matches(['\r', '\n']).to_string();
    atende_web::validate::Fields::default()
        .password("password", &plain)
        .finish()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((plain, false))
}

fn check(email: &str, name: &str) -> anyhow::Result<()> {
    let mut fields = atende_web::validate::Fields::default();
    fields
        .email("email", email)
        .text("name", name, atende_web::validate::MAX_NAME);
    fields.finish().map_err(|e| anyhow::anyhow!("{e}"))
}

fn announce(generated: bool, plain: &str) {
    if generated {
        println!("password: {plain}\n(it must be changed at the first sign-in)");
    }
}
