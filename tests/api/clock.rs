//! The system clock jumping under a running hub: the real binary runs with libfaketime,
//! which steps its wall clock (back three hours, then a day ahead) while its monotonic
//! clock goes on, as an NTP step or `date -s` would. The hub stays up, says so in /readyz
//! and /metrics, and loses, duplicates or reorders nothing.
//!
//! Needs Debian's `libfaketime` (`.ci/run` installs it); without it the test says so and
//! passes.

use std::path::Path;
use std::time::Duration;

use atende_web::sandbox::{CloudApiSim, SimConfig};
use serde_json::{json, Value};

use crate::helpers::*;

const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
const DEADLINE: Duration = Duration::from_secs(20);
const HOUR: i64 = 3600;

#[actix_web::test]
async fn clock_jumps_lose_nothing_and_are_reported() {
    if !Path::new(FAKETIME).exists() {
        eprintln!("clock test skipped: {FAKETIME} is missing (apt-get install libfaketime)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let offset = dir.path().join("clock-offset");
    std::fs::write(&offset, "+0").unwrap();
    let mut sim_config = SimConfig::local("sim-token", APP_SECRET);
    sim_config.status_delay = Duration::from_millis(20);
    sim_config.phone_number_id = NUMBER.into();
    let sim = CloudApiSim::start(sim_config).await.unwrap();
    let base = sim.base_url();
    let offset_file = offset.to_string_lossy().into_owned();
    let hub = spawn_hub(
        &data,
        &[
            ("LD_PRELOAD", FAKETIME),
            ("FAKETIME_TIMESTAMP_FILE", &offset_file),
            // Read the offset on every call, so that writing the file is the jump.
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ("WHATSAPP_TOKEN", "sim-token"),
            ("WHATSAPP_APP_SECRET", APP_SECRET),
            ("WHATSAPP_PHONE_NUMBER_ID", NUMBER),
            ("WHATSAPP_API_URL", &base),
        ],
    );
    sim.set_webhook_url(hub.url("/api/v1/webhooks/whatsapp"));
    let client = http_client();
    let (ana, bia) = ("5511900000001", "5511900000002");
    let says = |from: &'static str, wamid: &'static str| {
        let request = signed_post(&hub, APP_SECRET, &inbound(from, wamid, text(wamid)));
        async move { assert_eq!(request.send().await.unwrap().status(), 200, "{wamid}") }
    };
    let reply = |chat: String, token: String, body: &'static str| {
        let request = client
            .post(hub.url(&format!("/api/v1/chats/{chat}/messages")))
            .bearer_auth(token)
            .json(&json!({"client_id": body, "type": "text", "text": body}));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                202,
                "{body}: {}",
                response.text().await.unwrap()
            );
        }
    };

    let token = admin_token(&hub).await;
    says(ana, "ana-1").await;
    let chats = all_chats(&hub, &token).await;
    let chat = chats[0].clone();
    let claim = client
        .post(hub.url(&format!("/api/v1/chats/{chat}/claim")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(claim.status().is_success());
    reply(chat.clone(), token.clone(), "reply-1").await;
    let ready = readyz(&client, &hub).await;
    assert_eq!(ready["clock_jump"], Value::Null, "no jump yet: {ready}");

    // Three hours back.
    std::fs::write(&offset, format!("{:+}", -3 * HOUR)).unwrap();
    let jump = reported_jump(&client, &hub, |s| s < -2 * HOUR).await;
    assert!((-3 * HOUR - 5..=-3 * HOUR + 5).contains(&jump), "{jump}");
    let metrics = hub.metrics().await;
    assert_eq!(metric_value(&metrics, "atende_clock_jumps_total"), 1.0);
    assert_eq!(
        metric_value(&metrics, "atende_clock_last_jump_seconds"),
        jump as f64
    );
    // The session signed in "in the future" goes on; messages keep their order.
    says(ana, "ana-2").await;
    says(bia, "bia-1").await;
    says(ana, "ana-3").await;
    reply(chat.clone(), token.clone(), "reply-2").await;

    // A day and three hours ahead of that: a day ahead of the true time.
    std::fs::write(&offset, format!("{:+}", 24 * HOUR)).unwrap();
    let jump = reported_jump(&client, &hub, |s| s > 20 * HOUR).await;
    assert!((27 * HOUR - 5..=27 * HOUR + 5).contains(&jump), "{jump}");
    // The access token expired by the new time; signing in again works.
    let expired = client
        .get(hub.url("/api/v1/chats"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
    let token = admin_token(&hub).await;
    says(ana, "ana-4").await;
    says(bia, "bia-2").await;

    // Everything answered is there once, in the order it came.
    let chats = all_chats(&hub, &token).await;
    assert_eq!(chats.len(), 2, "one chat per customer");
    let stored = stored_inbound(&hub, &token, &chats).await;
    for wamid in ["ana-1", "ana-2", "ana-3", "ana-4", "bia-1", "bia-2"] {
        assert_eq!(stored.get(wamid), Some(&1), "{wamid} in {stored:?}");
    }
    let path = format!("/api/v1/chats/{chat}/messages?limit=50");
    let page = hub.get_json(&path, &token).await;
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["ana-1", "reply-1", "ana-2", "ana-3", "reply-2", "ana-4"]
    );
    wait_until("both replies sent once", DEADLINE, || async {
        let sent = sent_replies(&sim);
        if sent.get("reply-1") == Some(&1) && sent.get("reply-2") == Some(&1) {
            Ok(())
        } else {
            Err(format!("{sent:?}"))
        }
    })
    .await;
    assert_eq!(readyz(&client, &hub).await["status"], "ready");
    let metrics = hub.metrics().await;
    assert_eq!(metric_value(&metrics, "atende_clock_jumps_total"), 2.0);
}

async fn readyz(client: &reqwest::Client, hub: &HubProcess) -> Value {
    let response = client.get(hub.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits until /readyz reports a jump whose size passes `wanted`, and returns it.
async fn reported_jump(
    client: &reqwest::Client,
    hub: &HubProcess,
    wanted: impl Fn(i64) -> bool,
) -> i64 {
    wait_until("a clock jump reported", DEADLINE, || async {
        let ready = readyz(client, hub).await;
        match ready["clock_jump"]["seconds"]
            .as_i64()
            .filter(|s| wanted(*s))
        {
            Some(seconds) => {
                assert!(ready["clock_jump"]["at"].is_string(), "{ready}");
                Ok(seconds)
            }
            None => Err(ready),
        }
    })
    .await
}
