//! Faults: a slow, failing or timing-out Cloud API, and a full disk. The hub stays up,
//! says what is wrong in /readyz and /metrics, loses nothing and recovers by itself.

use std::time::Duration;

use atende_web::sandbox::Failure;
use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMER: &str = "5511955550000";

/// A claimed chat with one customer message, ready for replies.
async fn claimed_chat(app: &TestApp, admin: &Tokens) -> String {
    let chat = app.customer_says(CUSTOMER, "wamid.F0", "oi").await;
    let id = chat["id"].as_str().unwrap().to_string();
    app.claim(&id, admin).await;
    id
}

async fn readiness(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200, "still ready: webhooks are taken");
    response.json().await.unwrap()
}

/// Waits until /readyz says the Cloud API is `state` ("ok" or "failing").
async fn cloud_api_becomes(app: &TestApp, state: &str) -> Value {
    let what = format!("the Cloud API to be {state}");
    wait_until(&what, Duration::from_secs(20), || async {
        let ready = readiness(app).await;
        if ready["cloud_api"] == state {
            Ok(ready)
        } else {
            Err(ready)
        }
    })
    .await
}

#[actix_web::test]
async fn a_cloud_api_that_times_out_is_reported_and_the_reply_still_goes_once() {
    let app = spawn_app_with(&["--whatsapp-timeout", "1", "--send-recovery-wait", "2"]).await;
    let admin = app.admin().await;
    let id = claimed_chat(&app, &admin).await;
    // The first request hangs past the hub's timeout (and is not taken).
    app.sim.script([Failure::Delay(Duration::from_secs(4))]);
    let path = format!("/api/v1/chats/{id}/messages");
    let reply = json!({"client_id": "slow-1", "type": "text", "text": "paciência"});
    assert_eq!(
        app.post(&path, Some(&admin.access), &reply).await.status(),
        202
    );
    let failing = cloud_api_becomes(&app, "failing").await;
    assert!(failing["cloud_api_failing_since"].is_string());
    // Customers are still heard while the Cloud API hangs.
    let more = inbound(
        CUSTOMER,
        "wamid.F1",
        json!({"type": "text", "text": {"body": "e aí?"}}),
    );
    assert_eq!(app.webhook(&more).await.status(), 200);
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(30))
        .await
        .expect("sent once the API answers");
    assert_eq!(sent[0].body["text"]["body"], "paciência");
    cloud_api_becomes(&app, "ok").await;
    app.eventually(&path, &admin.access, "the reply's wamid", |b| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["wamid"] == sent[0].wamid.as_str())
    })
    .await;
    assert_eq!(app.sim.sent().len(), 1, "sent once");
}

#[actix_web::test]
async fn a_down_or_rate_limiting_cloud_api_shows_in_metrics_and_nothing_is_lost() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = claimed_chat(&app, &admin).await;
    app.sim.script([Failure::CloudError {
        http_status: 400,
        code: 130429,
        title: "Rate limit hit".into(),
    }]);
    app.sim.set_down(true);
    let path = format!("/api/v1/chats/{id}/messages");
    for i in 0..3 {
        let reply =
            json!({"client_id": format!("d-{i}"), "type": "text", "text": format!("d-{i}")});
        assert_eq!(
            app.post(&path, Some(&admin.access), &reply).await.status(),
            202
        );
    }
    cloud_api_becomes(&app, "failing").await;
    let metrics = app.metrics().await;
    assert!(metric_value(&metrics, "atende_cloud_api_failing_seconds") > 0.0);
    let depth = format!("atende_outbox_depth{{number=\"{NUMBER}\"}}");
    assert_eq!(metric_value(&metrics, &depth), 3.0);
    app.sim.set_down(false);
    let sent = app
        .sim
        .wait_for_sent(3, Duration::from_secs(30))
        .await
        .expect("all three once the API is back");
    let texts: Vec<&str> = sent
        .iter()
        .map(|s| s.body["text"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["d-0", "d-1", "d-2"]);
    cloud_api_becomes(&app, "ok").await;
}

/// A tmpfs of `size` at `dir`, unmounted when dropped; None where mounting is not allowed.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| SmallDisk(dir.to_path_buf()))
    }

    fn grow(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[actix_web::test]
async fn a_full_disk_is_reported_and_the_hub_recovers_by_itself_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), "8m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root); the full-disk test did not run"
        );
        return;
    };
    let bind = format!("127.0.0.1:{}", free_port());
    let env = [
        ("ATENDE_BIND", bind.as_str()),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("ATENDE_WEBHOOK_RATE_LIMIT", "100000"),
    ];
    let hub = spawn_hub(&disk.0.join("data"), &env);
    let client = http_client();
    let post = |i: usize| {
        let body = inbound(
            &format!("55119{:08}", i % 20),
            &format!("wamid.full.{i}"),
            json!({"type": "text", "text": {"body": format!("{i} ").repeat(600)}}),
        );
        signed_post(&hub, APP_SECRET, &body).send()
    };
    // Customers write until the disk is full: Meta is told to come back later (503), and
    // /readyz says the hub cannot write (sled may squeeze in a write or two first).
    let mut answered = Vec::new();
    let mut ready = None;
    for i in 0..100_000 {
        let status = post(i).await.unwrap().status();
        if status == 200 {
            answered.push(format!("wamid.full.{i}"));
            continue;
        }
        assert_eq!(status, 503, "a full disk is unavailability, not an error");
        let readiness = client.get(hub.url("/readyz")).send().await.unwrap();
        if readiness.status() == 503 {
            ready = Some(readiness);
            break;
        }
    }
    assert!(!answered.is_empty());
    let ready = ready.expect("the disk filled up");
    assert!(ready
        .text()
        .await
        .unwrap()
        .contains("No space left on device"));
    let health = client.get(hub.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the hub stays up");
    let metrics = hub.metrics().await;
    assert!(metrics.contains("atende_storage_failing 1"), "{metrics}");

    // Room again: the hub opens its database anew by itself and takes messages again.
    disk.grow("256m");
    wait_until("the hub to recover", Duration::from_secs(60), || async {
        match client.get(hub.url("/readyz")).send().await {
            Ok(ready) if ready.status() == 200 => Ok(()),
            Ok(ready) => Err(ready.status().to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    assert_eq!(post(100_001).await.unwrap().status(), 200);
    answered.push("wamid.full.100001".into());
    let token = admin_token(&hub).await;
    let stored = stored_inbound(&hub, &token, &all_chats(&hub, &token).await).await;
    for wamid in &answered {
        assert_eq!(
            stored.get(wamid),
            Some(&1),
            "{wamid} answered 200 is stored once"
        );
    }
}
