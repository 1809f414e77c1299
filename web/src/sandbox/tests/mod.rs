//! The simulator through real HTTP, as the hub's reqwest client sees it.

mod media;
mod messages;
mod webhooks;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::{CloudApiSim, SimConfig};

/// The access token the test simulators expect.
const TOKEN: &str = "test-token";
/// The app secret the test simulators sign with.
const SECRET: &str = "test-app-secret";
/// Longest wait for something that should happen within milliseconds.
const DEADLINE: Duration = Duration::from_secs(5);

/// A simulator on a free port with the given pause between status webhooks.
async fn start_sim(status_delay: Duration) -> CloudApiSim {
    let config = SimConfig {
        status_delay,
        ..SimConfig::local(TOKEN, SECRET)
    };
    CloudApiSim::start(config)
        .await
        .expect("the simulator binds a free port")
}

/// `POST /{phone_number_id}/messages` with `body`, with `token` as Bearer when given.
async fn post_message(sim: &CloudApiSim, token: Option<&str>, body: &Value) -> reqwest::Response {
    let url = format!(
        "{}/{}/messages",
        sim.base_url(),
        sim.shared.config.phone_number_id
    );
    let mut request = reqwest::Client::new().post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the simulator answers")
}

/// A text message as the hub sends it.
fn text_to(to: &str, text: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": text},
    })
}

/// The status and the Graph error body of a response.
async fn graph_error(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error body");
    (status, body)
}

/// One webhook post a [`WebhookReceiver`] took.
#[derive(Debug, Clone)]
struct Received {
    signature: Option<String>,
    body: Vec<u8>,
}

/// A stand-in for the hub's webhook endpoint: records what is posted to it, after
/// refusing the first `refuse_first` posts with 500.
struct WebhookReceiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    count: Arc<watch::Sender<usize>>,
    attempts: Arc<Mutex<usize>>,
    server: ServerHandle,
}

/// What the receiver's handler shares with the test.
#[derive(Clone)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    count: Arc<watch::Sender<usize>>,
    attempts: Arc<Mutex<usize>>,
    refuse_first: usize,
}

impl WebhookReceiver {
    async fn start(refuse_first: usize) -> WebhookReceiver {
        let inbox = Inbox {
            received: Arc::default(),
            count: Arc::new(watch::Sender::new(0)),
            attempts: Arc::default(),
            refuse_first,
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!(
            "http://{}/webhook",
            listener.local_addr().expect("an address")
        );
        let data = web::Data::new(inbox.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/webhook", web::post().to(take))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("the receiver listens")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        WebhookReceiver {
            url,
            received: inbox.received,
            count: inbox.count,
            attempts: inbox.attempts,
            server: handle,
        }
    }

    /// The first `count` posts taken, or a failed test when they do not come in time.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let mut taken = self.count.subscribe();
        let reached = tokio::time::timeout(DEADLINE, taken.wait_for(|n| *n >= count)).await;
        let received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(
            matches!(reached, Ok(Ok(_))),
            "expected {count} webhooks, got {}",
            received.len()
        );
        received[..count].to_vec()
    }

    /// Posts seen, refused ones included.
    fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        // The stop command goes out on the call; nothing needs to wait for it.
        let _stopping = self.server.stop(false);
    }
}

async fn take(inbox: web::Data<Inbox>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let attempt = {
        let mut attempts = inbox
            .attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *attempts += 1;
        *attempts
    };
    if attempt <= inbox.refuse_first {
        return HttpResponse::InternalServerError().finish();
    }
    let signature = req
        .headers()
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut received = inbox
        .received
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    received.push(Received {
        signature,
        body: body.to_vec(),
    });
    inbox.count.send_replace(received.len());
    HttpResponse::Ok().finish()
}
