//! `spawn_app()` and friends: an isolated hub per test, and typed shortcuts to its API.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use atende::config::{Cli, Settings};
use atende::startup::Application;
use clap::Parser;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@test.local";
/// The app secret test hubs verify webhooks with.
pub const APP_SECRET: &str = "test-app-secret";
/// The verify token of test hubs.
pub const VERIFY_TOKEN: &str = "test-verify-token";
/// The business number of sandbox mode.
pub const NUMBER: &str = "sandbox";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// How long a test waits for a spawned hub to say where it listens.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running hub and a client for it.
pub struct TestApp {
    pub address: SocketAddr,
    /// The simulated Cloud API the hub sends to.
    pub sim: atende_web::sandbox::CloudApiSim,
    pub client: reqwest::Client,
    /// Kept so the directory lives as long as the hub.
    _dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stops accepting at once; the rest of the shutdown runs on the test's runtime.
        drop(self.handle.stop(false));
    }
}

/// A hub with a known admin password, default limits, in a fresh directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// A hub with extra command-line settings (e.g. `["--rate-limit", "5"]`).
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut args = vec![
        "atende".to_string(),
        "--bind".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--admin-email".into(),
        ADMIN_EMAIL.into(),
        "--admin-password".into(),
        ADMIN_PASSWORD.into(),
        "--whatsapp-app-secret".into(),
        APP_SECRET.into(),
        "--whatsapp-verify-token".into(),
        VERIFY_TOKEN.into(),
        "--whatsapp-rate-limit".into(),
        "1000".into(),
    ];
    // Generous API limits, so polling tests are not throttled; a test may set its own.
    for flag in [
        "--rate-limit",
        "--rate-limit-burst",
        "--user-rate-limit",
        "--user-rate-limit-burst",
    ] {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), "100000".to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let cli = Cli::try_parse_from(args).expect("test arguments parse");
    let mut settings = Settings::from_args(cli.serve).expect("test settings are valid");
    settings.handle_signals = false;
    let app = Application::build(settings).await.expect("hub builds");
    let address = app.address();
    let handle = app.handle();
    let sim = app
        .sandbox()
        .expect("test hubs run in sandbox mode")
        .clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        sim,
        client: http_client(),
        _dir: dir,
        handle,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    /// A PATCH of `body` with `token`.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PATCH, path, Some(token), body)
            .await
    }

    /// A PUT of `body` with `token`.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, Some(token), body)
            .await
    }

    /// `user` does `action` (claim, transfer, close, reopen, handoff ...) to chat `id`.
    pub async fn chat_action(&self, id: &str, action: &str, token: &str, body: &Value) -> Response {
        let path = format!("/api/v1/chats/{id}/{action}");
        self.post(&path, Some(token), body).await
    }

    /// Makes a queue named `name`; its id.
    pub async fn queue(&self, admin: &Tokens, name: &str) -> String {
        let body = json!({"name": name, "color": "#25d366"});
        let response = self
            .post("/api/v1/queues", Some(&admin.access), &body)
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "queue {name}");
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_string()
    }

    /// A DELETE with `token`.
    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.send(reqwest::Method::DELETE, path, Some(token), &json!({}))
            .await
    }

    /// `user` sends the text `text` to chat `id` with the client id `client_id`.
    pub async fn send_text(
        &self,
        id: &str,
        client_id: &str,
        text: &str,
        user: &Tokens,
    ) -> Response {
        let path = format!("/api/v1/chats/{id}/messages");
        let body = json!({"client_id": client_id, "type": "text", "text": text});
        self.post(&path, Some(&user.access), &body).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    /// Posts a webhook body signed with the test app secret.
    /// `user` takes the chat `id` ("Assumir"); the answer is not checked.
    pub async fn claim(&self, id: &str, user: &Tokens) -> Response {
        let path = format!("/api/v1/chats/{id}/claim");
        self.post(&path, Some(&user.access), &json!({})).await
    }

    pub async fn webhook(&self, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        self.webhook_bytes(bytes).await
    }

    /// Posts raw webhook bytes, signed.
    pub async fn webhook_bytes(&self, bytes: Vec<u8>) -> Response {
        let signature = atende_actors::whatsapp::signature::sign(APP_SECRET.as_bytes(), &bytes);
        self.client
            .post(self.url("/api/v1/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
            .await
            .expect("webhook sent")
    }

    /// A customer's chat, claimed by `user`: its id.
    pub async fn claimed_chat(&self, user: &Tokens, from: &str, wamid: &str, text: &str) -> String {
        let chat = self.customer_says(from, wamid, text).await;
        let id = chat["id"].as_str().expect("the chat's id").to_string();
        assert_eq!(
            self.claim(&id, user).await.status(),
            StatusCode::OK,
            "claimed"
        );
        id
    }

    /// A customer's text arrives; returns the chat it landed in.
    pub async fn customer_says(&self, from: &str, wamid: &str, text: &str) -> Value {
        let response = self
            .webhook(&inbound(
                from,
                wamid,
                json!({"type": "text", "text": {"body": text}}),
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "webhook accepted");
        let admin = self.admin().await;
        let chats: Value = self
            .get(&format!("/api/v1/chats?q={from}"), &admin.access)
            .await
            .json()
            .await
            .expect("json");
        chats["items"][0].clone()
    }

    /// Waits until `check` passes on `GET path`, polling, or panics at the deadline.
    pub async fn eventually<F>(&self, path: &str, token: &str, what: &str, check: F) -> Value
    where
        F: Fn(&Value) -> bool,
    {
        wait_until(what, Duration::from_secs(20), || async {
            let body: Value = self.get(path, token).await.json().await.expect("json");
            if check(&body) {
                Ok(body)
            } else {
                Err(body)
            }
        })
        .await
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let response = self
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login of {email}");
        let body: Value = response.json().await.expect("json");
        Tokens {
            access: body["access_token"].as_str().expect("access").to_string(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_string(),
            user: body["user"].clone(),
        }
    }

    /// The simulated customer `customer` taps `choice` on the interactive message
    /// `question` (a message id), as WhatsApp would send it.
    pub async fn customer_taps(
        &self,
        admin: &Tokens,
        customer: &str,
        question: &Value,
        choice: &str,
    ) {
        let path = format!("/api/v1/sandbox/customers/{customer}/messages");
        let body = json!({"type": "choice", "reply_to": question, "choice_id": choice});
        let response = self.post(&path, Some(&admin.access), &body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "the tap is stored");
    }

    /// Waits until the simulated Cloud API received a message of `kind`; its body.
    pub async fn sent_of_type(&self, kind: &str) -> Value {
        wait_until(
            &format!("a {kind} message sent"),
            Duration::from_secs(20),
            || async {
                let sent = self.sim.sent();
                match sent.iter().find(|m| m.body["type"] == kind) {
                    Some(m) => Ok(m.body.clone()),
                    None => Err(sent.len()),
                }
            },
        )
        .await
    }

    /// The Prometheus page, as loopback may read it.
    pub async fn metrics(&self) -> String {
        let page = self.client.get(self.url("/metrics")).send().await.unwrap();
        page.text().await.unwrap()
    }

    /// How many files the hub keeps in `DATA_DIR/media` (one per media id).
    pub fn media_files(&self) -> usize {
        let dir = self._dir.path().join("data").join("media");
        std::fs::read_dir(dir).map_or(0, |entries| entries.count())
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        self.get(path, token).await.json().await.expect("json")
    }

    pub async fn admin(&self) -> Tokens {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a ready-to-use user (no password change pending) and signs them in.
    pub async fn user(&self, admin: &Tokens, email: &str, role: &str) -> Tokens {
        let password = "user-password-1";
        let response = self
            .post(
                "/api/v1/users",
                Some(&admin.access),
                &json!({"email": email, "name": "Test User", "role": role,
                        "password": password, "must_change_password": false}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create {email}");
        self.login(email, password).await
    }
}

/// What a sign-in returned.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user: Value,
}

impl Tokens {
    pub fn id(&self) -> String {
        self.user["id"].as_str().expect("user id").to_string()
    }
}

/// Asserts the API's error format and returns the body.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    assert!(body["error"]["message"].is_string(), "message in {body}");
    body
}

/// The real binary, started as a child process.
pub struct HubProcess {
    pub child: Child,
    pub address: SocketAddr,
}

impl HubProcess {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A GET with `token`, answered with JSON.
    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        http_client()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The Prometheus page, as loopback may read it.
    pub async fn metrics(&self) -> String {
        let page = http_client()
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap();
        page.text().await.unwrap()
    }

    /// SIGTERM, and its exit status once it has stopped (in-flight work done, flushed).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Polls `check` until it answers `Ok`, or panics once `within` has passed, naming `what`
/// and the last `Err` it saw: a test that waits fails instead of hanging.
pub async fn wait_until<T, S, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    S: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, S>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(done) => return done,
            Err(last) => assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; last seen: {last}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A command for the binary with a clean configuration.
pub fn atende_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atende"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ATENDE_DATA_DIR", data_dir)
        .env("ATENDE_LOG", "info")
        .env("ATENDE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ATENDE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .current_dir(data_dir.parent().unwrap_or(data_dir));
    command
}

/// Any one request of a test: beyond it the request fails, and the test with it, rather
/// than wait forever for a hub that never answers.
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// An HTTP client whose requests fail after [`REQUEST_DEADLINE`] instead of hanging.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_DEADLINE)
        .build()
        .expect("an HTTP client")
}

/// Starts the binary on a free port and waits until it says where it listens.
pub fn spawn_hub(data_dir: &Path, env: &[(&str, &str)]) -> HubProcess {
    let mut command = atende_command(data_dir);
    command.env("ATENDE_BIND", "127.0.0.1:0");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn atende");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let Ok(address) = rx.recv_timeout(START_DEADLINE) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the hub did not say where it listens");
    };
    let address = address.parse().expect("a socket address");
    HubProcess { child, address }
}

/// A simulated Cloud API in the test process, and the settings of a hub process that
/// sends to it: one port for every life of the hub, so the simulator's status webhooks
/// find it across restarts; sends in doubt wait `recovery_wait` seconds; generous limits.
pub struct ExternalCloud {
    pub sim: atende_web::sandbox::CloudApiSim,
    env: Vec<(&'static str, String)>,
}

impl ExternalCloud {
    pub async fn start(recovery_wait: &str) -> ExternalCloud {
        let mut config = atende_web::sandbox::SimConfig::local("sim-token", APP_SECRET);
        config.status_delay = Duration::from_millis(20);
        config.phone_number_id = NUMBER.into();
        let sim = atende_web::sandbox::CloudApiSim::start(config)
            .await
            .expect("the simulator starts");
        let bind = format!("127.0.0.1:{}", free_port());
        sim.set_webhook_url(format!("http://{bind}/api/v1/webhooks/whatsapp"));
        let mut env = vec![
            ("ATENDE_BIND", bind),
            ("WHATSAPP_TOKEN", "sim-token".into()),
            ("WHATSAPP_APP_SECRET", APP_SECRET.into()),
            ("WHATSAPP_PHONE_NUMBER_ID", NUMBER.into()),
            (
                "WHATSAPP_BUSINESS_ACCOUNT_ID",
                atende_web::sandbox::SANDBOX_WABA_ID.into(),
            ),
            ("WHATSAPP_API_URL", sim.base_url()),
            ("WHATSAPP_RATE_LIMIT", "1000".into()),
            ("ATENDE_SEND_RECOVERY_WAIT", recovery_wait.into()),
        ];
        for limit in [
            "ATENDE_RATE_LIMIT",
            "ATENDE_RATE_LIMIT_BURST",
            "ATENDE_USER_RATE_LIMIT",
            "ATENDE_USER_RATE_LIMIT_BURST",
            "ATENDE_WEBHOOK_RATE_LIMIT",
        ] {
            env.push((limit, "100000".into()));
        }
        ExternalCloud { sim, env }
    }

    /// The settings for [`spawn_hub`].
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
}

/// Signs in to a hub process.
pub async fn login(hub: &HubProcess, email: &str, password: &str) -> reqwest::Response {
    http_client()
        .post(hub.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login sent")
}

/// The first admin's access token on a hub process.
pub async fn admin_token(hub: &HubProcess) -> String {
    let body: Value = login(hub, ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().expect("token").to_string()
}

/// A webhook post to a hub process, signed with `secret`.
pub fn signed_post(hub: &HubProcess, secret: &str, body: &Value) -> reqwest::RequestBuilder {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = atende_actors::whatsapp::signature::sign(secret.as_bytes(), &bytes);
    http_client()
        .post(hub.url("/api/v1/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(bytes)
}

/// The ids of a hub process's chats (up to 200).
pub async fn all_chats(hub: &HubProcess, token: &str) -> Vec<String> {
    let page = hub.get_json("/api/v1/chats?limit=200", token).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// How many times each inbound wamid is stored, over every page of every chat.
pub async fn stored_inbound(
    hub: &HubProcess,
    token: &str,
    chats: &[String],
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for chat in chats {
        let mut before: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/chats/{chat}/messages?limit=200");
            if let Some(b) = &before {
                path.push_str(&format!("&before={b}"));
            }
            let page = hub.get_json(&path, token).await;
            for message in page["items"].as_array().unwrap() {
                if message["direction"] == "in" {
                    let wamid = message["wamid"].as_str().unwrap().to_string();
                    *counts.entry(wamid).or_default() += 1;
                }
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => before = Some(cursor.to_string()),
                None => break,
            }
        }
    }
    counts
}

/// The value of the metric line `name` (with its labels, e.g. `x{number="a"}`) in a
/// Prometheus text page.
pub fn metric_value(page: &str, name: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing in\n{page}"))
}

/// Runs the binary to completion and returns (success, stdout, stderr).
pub fn run_atende(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = atende_command(data_dir);
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.stdin(Stdio::null()).output().expect("run atende");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Sends `request` and reads its answer as JSON (a test fails on a transport error).
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// A Meta-shaped inbound message webhook from `from` to the sandbox number; `content`
/// holds the message's `type` and its type object.
pub fn inbound(from: &str, wamid: &str, content: Value) -> Value {
    inbound_at(from, wamid, content, chrono::Utc::now().timestamp())
}

/// The same, sent at the Unix time `at`.
pub fn inbound_at(from: &str, wamid: &str, content: Value, at: i64) -> Value {
    let mut message = json!({"from": from, "id": wamid, "timestamp": at.to_string()});
    for (key, value) in content.as_object().expect("object") {
        message[key] = value.clone();
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5511000000000", "phone_number_id": NUMBER},
            "contacts": [{"profile": {"name": format!("Cliente {from}")}, "wa_id": from}],
            "messages": [message]
        }}]}]
    })
}

/// The content of a customer's text message, for [`inbound`].
pub fn text(body: &str) -> Value {
    json!({"type": "text", "text": {"body": body}})
}

/// How many times the simulated Cloud API took each text reply.
pub fn sent_replies(sim: &atende_web::sandbox::CloudApiSim) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in sim.sent() {
        if let Some(text) = message.body["text"]["body"].as_str() {
            *counts.entry(text.to_string()).or_default() += 1;
        }
    }
    counts
}
