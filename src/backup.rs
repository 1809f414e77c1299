//! `atende backup` and `atende restore`.

use std::io::BufRead;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use atende_data::Store;
use serde_json::{json, Value};

use crate::config::BackupArgs;

/// Writes a backup: straight from the data directory when the hub is stopped, through
/// the running hub's API (signed in as an admin) when it holds the directory.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    match Store::open(&args.data.dir) {
        Ok(store) => {
            store.backup(&args.file)?;
            println!("backup written to {}", args.file.display());
            Ok(())
        }
        Err(atende_data::Error::Locked(_)) => {
            actix_web::rt::System::new().block_on(remote_backup(args))
        }
        Err(other) => Err(other.into()),
    }
}

async fn remote_backup(args: BackupArgs) -> anyhow::Result<()> {
    let Some(url) = args
        .url
        .as_deref()
        .map(|u| u.trim_end_matches('/').to_string())
    else {
        bail!("the hub is running and holds the data directory: give its address with --url (or ATENDE_PUBLIC_URL) and an admin's password with --password-stdin");
    };
    if !args.password_stdin {
        bail!("the hub is running: sign in as an admin with --password-stdin to take the backup through it");
    }
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": args.email, "password": password}))
        .send()
        .await
        .with_context(|| format!("cannot reach the hub at {url}"))?;
    if !login.status().is_success() {
        bail!(
            "the hub refused the sign-in of {} ({})",
            args.email,
            login.status()
        );
    }
    let token = login.json::<Value>().await?["access_token"]
        .as_str()
        .map(str::to_string);
    let token = token.ok_or_else(|| anyhow!("the hub's sign-in answer had no token"))?;
    let response = client
        .get(format!("{url}/api/v1/backup"))
        .bearer_auth(token)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "the hub refused the backup ({}); it takes an admin",
            response.status()
        );
    }
    let bytes = response.bytes().await?;
    std::fs::write(&args.file, &bytes)
        .with_context(|| format!("cannot write {}", args.file.display()))?;
    println!(
        "backup of the running hub written to {} ({} bytes)",
        args.file.display(),
        bytes.len()
    );
    Ok(())
}

/// Restores a backup into an empty data directory.
pub fn restore(file: &Path, dir: &Path) -> anyhow::Result<()> {
    Store::restore(file, dir)?;
    println!("restored {} into {}", file.display(), dir.display());
    Ok(())
}
