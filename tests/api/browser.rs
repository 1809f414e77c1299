//! A small WebDriver client (the W3C protocol over HTTP) driving Debian's Chromium through
//! chromedriver: the console is tested in a real browser.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::free_port;

/// How long a test waits for an element or a condition.
pub const UI_DEADLINE: Duration = Duration::from_secs(30);
const ELEMENT: &str = "element-6066-11e4-a5b8-d85df4fdd9b8";
const CHROMIUM: &str = "/usr/bin/chromium";

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).exists()))
        .unwrap_or(false)
}

/// A headless Chromium session.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver runs in its own process group with the browser it started: ending
        // the group leaves no Chromium behind (a killed chromedriver alone orphans it).
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width` x `height`. Without them the
    /// test is skipped, loudly; under CI (where .ci/run installs them) it fails instead.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        let installed = Path::new(CHROMIUM).exists() && which("chromedriver");
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Chromium and chromedriver are required in CI"
            );
            eprintln!("\n*** SKIPPED: browser test needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver) ***\n");
            return None;
        }
        let port = free_port();
        let driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = crate::helpers::http_client();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + UI_DEADLINE;
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--lang=pt-BR",
            // A microphone that plays a tone, granted without asking (voice notes).
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--window-size={width},{height}"));
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}});
        let created: Value =
            crate::helpers::json_of(http.post(format!("{base}/session")).json(&caps)).await;
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(Browser {
            http,
            session: format!("{base}/session/{session}"),
            driver,
            _profile: profile,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let value: Value = request
            .send()
            .await
            .expect("webdriver answers")
            .json()
            .await
            .expect("json");
        value["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// Runs `script` in the page and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + UI_DEADLINE;
        loop {
            let found = self
                .call(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            // The W3C key; some chromedriver versions use another "element-..." key.
            let id = found[ELEMENT].as_str().or_else(|| {
                let object = found.as_object()?;
                object
                    .iter()
                    .find(|(k, _)| k.starts_with("element-"))
                    .and_then(|(_, v)| v.as_str())
            });
            if let Some(id) = id {
                return id.to_string();
            }
            assert!(Instant::now() < deadline, "no element {css}: {found}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `css`; when the page re-rendered it in between (a
    /// stale element) or something covered it, finds it again and retries.
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + UI_DEADLINE;
        loop {
            let id = self.find(css).await;
            let clicked = self
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{id}/click"),
                    Some(json!({})),
                )
                .await;
            if clicked.get("error").is_none() {
                return;
            }
            assert!(Instant::now() < deadline, "cannot click {css}: {clicked}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Replaces the value of an input with `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Waits until the text of `css` contains `expected`.
    pub async fn wait_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + UI_DEADLINE;
        loop {
            let id = self.find(css).await;
            let text = self
                .call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                .await;
            if text.as_str().is_some_and(|t| t.contains(expected)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {expected:?}; it shows {text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `script` (an expression) is truthy in the page.
    pub async fn wait_until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + UI_DEADLINE;
        loop {
            let value = self.eval(&format!("return !!({script});"), json!([])).await;
            if value == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The browser console's errors so far (CSP violations, uncaught exceptions).
    pub async fn console_errors(&self) -> Vec<String> {
        let logs = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        logs.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .filter_map(|e| e["message"].as_str().map(str::to_string))
                    // A denied notification sound or a favicon miss is not a fault of the page.
                    .filter(|m| !m.contains("favicon"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves a PNG of the page as a test artifact: target/screenshots/NAME.png.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = data
            .as_str()
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok());
        if let Some(bytes) = bytes {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), bytes);
        }
    }
}
