//! `run` against a stand-in hub on a free port.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use atende_actors::whatsapp::signature::verify;
use serde_json::Value;

use super::*;

/// One webhook the stand-in hub took: its signature header and body.
type Taken = (Option<String>, Vec<u8>);

/// Answers every webhook with one status and keeps what it was sent.
struct FakeHub {
    url: String,
    taken: Arc<Mutex<Vec<Taken>>>,
    server: ServerHandle,
}

impl FakeHub {
    async fn start(status: u16) -> FakeHub {
        let taken: Arc<Mutex<Vec<Taken>>> = Arc::default();
        let shared = web::Data::new((taken.clone(), status));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route(WEBHOOK_PATH, web::post().to(take))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("the stand-in hub listens")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        FakeHub {
            url,
            taken,
            server: handle,
        }
    }

    fn taken(&self) -> Vec<Taken> {
        self.taken
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        // The stop command goes out on the call; nothing needs to wait for it.
        let _stopping = self.server.stop(false);
    }
}

async fn take(
    shared: web::Data<(Arc<Mutex<Vec<Taken>>>, u16)>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let signature = req
        .headers()
        .get("X-Hub-Signature-256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (taken, status) = shared.get_ref();
    taken
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((signature, body.to_vec()));
    HttpResponse::build(StatusCode::from_u16(*status).expect("a valid status")).finish()
}

fn args(url: &str, count: u64, app_secret: Option<&str>, data_dir: &Path) -> SimulateArgs {
    SimulateArgs {
        url: url.to_string(),
        customers: 3,
        rate: 500.0,
        count: Some(count),
        app_secret: app_secret.map(str::to_string),
        data: DataDirArg {
            dir: data_dir.to_path_buf(),
        },
        phone_number_id: "sandbox".to_string(),
    }
}

fn all_signed_with(secret: &str, taken: &[Taken]) -> bool {
    taken
        .iter()
        .all(|(signature, body)| verify(secret.as_bytes(), body, signature.as_deref()))
}

#[actix_web::test]
async fn a_run_posts_count_signed_webhooks_with_distinct_wamids_then_stops() {
    let hub = FakeHub::start(200).await;
    let nowhere = Path::new("/nonexistent");

    run(args(&hub.url, 8, Some("s3cret"), nowhere))
        .await
        .expect("a run the hub took");

    let taken = hub.taken();
    assert_eq!(taken.len(), 8);
    assert!(all_signed_with("s3cret", &taken));
    let wamids: HashSet<String> = taken
        .iter()
        .map(|(_, body)| serde_json::from_slice::<Value>(body).expect("JSON"))
        .map(|body| body["entry"][0]["changes"][0]["value"]["messages"][0]["id"].to_string())
        .collect();
    assert_eq!(wamids.len(), 8);
}

#[actix_web::test]
async fn a_hub_that_refuses_every_webhook_fails_the_run_with_the_status() {
    let hub = FakeHub::start(401).await;

    let result = run(args(&hub.url, 3, Some("wrong"), Path::new("/nonexistent"))).await;

    let error = result.expect_err("nothing was taken").to_string();
    assert!(
        error.contains("none of the 3") && error.contains("401"),
        "{error}"
    );
    assert_eq!(hub.taken().len(), 3);
}

#[actix_web::test]
async fn an_unreachable_hub_fails_the_run() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", closed.local_addr().expect("an address"));
    drop(closed);

    let result = run(args(&url, 2, Some("s3cret"), Path::new("/nonexistent"))).await;

    assert!(result.is_err());
}

#[actix_web::test]
async fn without_a_flag_the_app_secret_comes_from_the_data_directory() {
    let hub = FakeHub::start(200).await;
    let data_dir = tempfile::tempdir().expect("a temporary directory");
    let file = data_dir.path().join(SANDBOX_SECRET_FILE);
    std::fs::write(file, "file-secret\n").expect("the secret is written");

    run(args(&hub.url, 2, None, data_dir.path()))
        .await
        .expect("a run the hub took");

    assert!(all_signed_with("file-secret", &hub.taken()));
}

#[actix_web::test]
async fn without_any_app_secret_the_run_does_not_start() {
    let hub = FakeHub::start(200).await;
    let data_dir = tempfile::tempdir().expect("a temporary directory");

    let result = run(args(&hub.url, 2, None, data_dir.path())).await;

    let error = format!("{:#}", result.expect_err("no secret"));
    assert!(error.contains("WHATSAPP_APP_SECRET"), "{error}");
    assert!(hub.taken().is_empty());
}

#[test]
fn rates_must_be_positive_finite_and_at_most_the_maximum() {
    for bad in ["0", "-1", "NaN", "inf", "abc", "10000.5"] {
        assert!(parse_rate(bad).is_err(), "{bad}");
    }
    for good in ["0.5", "1", "1000", "10000"] {
        assert!(parse_rate(good).is_ok(), "{good}");
    }
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let args = args("http://hub", 1, Some("s3cret"), Path::new("/data"));

    assert!(!format!("{args:?}").contains("s3cret"));
}
