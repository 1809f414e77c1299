//! A hub for the bench: this binary started as a child on a temporary data directory,
//! with generous API limits (the load is the point), and the admin API calls the
//! scenarios need.

use std::path::Path;

use anyhow::{bail, Context};
use atende_web::sandbox::BusinessNumber;
use serde_json::{json, Value};

use super::servers::Server;

pub const ADMIN_EMAIL: &str = "admin@bench.local";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";
pub const APP_SECRET: &str = "bench-app-secret";
pub const PHONE_NUMBER_ID: &str = "bench-number";
/// Agents' first password, and the one they choose.
const AGENT_PASSWORD: &str = "bench-agent-password";
const AGENT_OWN_PASSWORD: &str = "bench-agent-own-password";

/// The business number the simulated customers write to.
pub fn business() -> BusinessNumber {
    BusinessNumber {
        waba_id: "bench-waba".into(),
        phone_number_id: PHONE_NUMBER_ID.into(),
        display_phone_number: "5511999990000".into(),
    }
}

/// A running hub and an admin's token.
pub struct Hub {
    pub server: Server,
    pub admin: String,
    pub client: reqwest::Client,
}

impl Hub {
    /// Starts a hub on `dir`; `cloud_api` is (base URL, token) of a simulated Cloud API,
    /// or None for the hub's own sandbox.
    /// `extra` settings come last and win.
    pub async fn start(
        dir: &Path,
        cloud_api: Option<(&str, &str)>,
        extra: &[(&str, String)],
    ) -> anyhow::Result<Hub> {
        let mut env = vec![
            ("ATENDE_DATA_DIR", dir.display().to_string()),
            ("ATENDE_LOG", "warn".into()),
            ("ATENDE_ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("ATENDE_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
            ("WHATSAPP_APP_SECRET", APP_SECRET.into()),
            ("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID.into()),
            ("WHATSAPP_RATE_LIMIT", "1000".into()),
            ("ATENDE_WEBHOOK_RATE_LIMIT", "1000000".into()),
        ];
        for limit in [
            "ATENDE_RATE_LIMIT",
            "ATENDE_RATE_LIMIT_BURST",
            "ATENDE_USER_RATE_LIMIT",
            "ATENDE_USER_RATE_LIMIT_BURST",
        ] {
            env.push((limit, "1000000".into()));
        }
        if let Some((url, token)) = cloud_api {
            env.push(("WHATSAPP_API_URL", url.into()));
            env.push(("WHATSAPP_TOKEN", token.into()));
        }
        // The settings a run may vary: the page cache (`ATENDE_CACHE_MB=16 atende bench
        // scale`) and the allocator's (`MIMALLOC_...`).
        if let Ok(cache) = std::env::var("ATENDE_CACHE_MB") {
            env.push(("ATENDE_CACHE_MB", cache));
        }
        let allocator: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| name.starts_with("MIMALLOC_"))
            .collect();
        env.extend(allocator.iter().map(|(k, v)| (k.as_str(), v.clone())));
        env.extend(extra.iter().cloned());
        let server = Server::start(&["serve"], &env, "/readyz", dir.parent()).await?;
        let client = reqwest::Client::new();
        let admin = login(&client, &server, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        Ok(Hub {
            server,
            admin,
            client,
        })
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// Creates `n` agents and returns their access tokens.
    pub async fn agents(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let mut tokens = Vec::new();
        for i in 0..n {
            let email = format!("agent{i}@bench.local");
            let body = json!({"email": email, "name": format!("Agent {i}"), "role": "agent",
                "password": AGENT_PASSWORD, "max_concurrent_chats": 100});
            self.call(reqwest::Method::POST, "/api/v1/users", Some(body))
                .await?;
            // An account an admin made must choose its own password first.
            let first = login(&self.client, &self.server, &email, AGENT_PASSWORD).await?;
            let change =
                json!({"current_password": AGENT_PASSWORD, "new_password": AGENT_OWN_PASSWORD});
            let changed = self
                .client
                .post(self.url("/api/v1/auth/password"))
                .bearer_auth(&first)
                .json(&change)
                .send()
                .await?;
            if !changed.status().is_success() {
                bail!("{email} could not choose a password: {}", changed.status());
            }
            tokens.push(login(&self.client, &self.server, &email, AGENT_OWN_PASSWORD).await?);
        }
        Ok(tokens)
    }

    /// An admin API call; the JSON answer, or an error for a non-2xx status.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Signs in; the access token.
async fn login(
    client: &reqwest::Client,
    server: &Server,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response: Value = client
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    response["access_token"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("sign-in of {email} failed: {response}"))
}
