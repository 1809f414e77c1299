//! The real binary: restarts, kill -9, refusals at start, the first admin, the CLI.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::helpers::*;
use crate::socket::Socket;

async fn all_user_emails(hub: &HubProcess, token: &str) -> HashSet<String> {
    let mut emails = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/users?limit=200".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = hub.get_json(&path, token).await;
        for user in page["items"].as_array().unwrap() {
            emails.insert(user["email"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return emails,
        }
    }
}

#[actix_web::test]
async fn a_graceful_restart_keeps_users() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut hub = spawn_hub(&data, &[]);
    let token = admin_token(&hub).await;
    let created = http_client()
        .post(hub.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(
            &json!({"email": "ana@test.local", "name": "Ana", "role": "agent",
                      "password": "ana-password", "must_change_password": false}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(hub.terminate().success(), "SIGTERM is a clean stop");
    drop(hub);
    let hub = spawn_hub(&data, &[]);
    assert_eq!(
        login(&hub, "ana@test.local", "ana-password").await.status(),
        200
    );
    // The signing key was kept too: the old access token still works.
    let me = http_client()
        .get(hub.url("/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[actix_web::test]
async fn kill_9_during_a_burst_of_creations_loses_no_answered_user() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let limits = [
        ("ATENDE_RATE_LIMIT", "100000"),
        ("ATENDE_USER_RATE_LIMIT", "100000"),
    ];
    let hub = spawn_hub(&data, &limits);
    let token = admin_token(&hub).await;
    let answered = Arc::new(Mutex::new(Vec::<String>::new()));
    let enough = Arc::new(Notify::new());
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (answered, enough, token) = (answered.clone(), enough.clone(), token.clone());
        let url = hub.url("/api/v1/users");
        workers.push(actix_web::rt::spawn(async move {
            let client = http_client();
            for i in 0..1000 {
                let email = format!("w{worker}-{i}@test.local");
                let body = json!({"email": email, "name": "Burst", "role": "agent", "password": "burst-password"});
                match client.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(response) if response.status() == 201 => {
                        let mut list = answered.lock().unwrap();
                        list.push(email);
                        if list.len() >= 40 {
                            enough.notify_one();
                        }
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(_) => return, // the hub is gone
                }
            }
        }));
    }
    tokio::time::timeout(std::time::Duration::from_secs(60), enough.notified())
        .await
        .expect("40 users were created");
    hub.kill_9();
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();

    let hub = spawn_hub(&data, &limits);
    let token = admin_token(&hub).await;
    let stored = all_user_emails(&hub, &token).await;
    let lost: Vec<_> = answered.iter().filter(|e| !stored.contains(*e)).collect();
    assert!(lost.is_empty(), "answered 201 but lost: {lost:?}");
}

#[actix_web::test]
async fn a_second_hub_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _hub = spawn_hub(&data, &[]);
    let (ok, _, stderr) = run_atende(&data, &[], &[("ATENDE_BIND", "127.0.0.1:0")]);
    assert!(!ok);
    assert!(
        stderr.contains("is in use by another running atende"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn start_up_refuses_bad_configuration_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    for (env, expected) in [
        (
            vec![("ATENDE_BIND", taken_addr.as_str())],
            "the address is already in use",
        ),
        (
            vec![("ATENDE_JWT_SECRET", "too-short")],
            "ATENDE_JWT_SECRET must be at least 32 bytes",
        ),
        (
            vec![("ATENDE_TLS_CERT", missing), ("ATENDE_TLS_KEY", missing)],
            "cannot read the TLS file",
        ),
        (vec![("ATENDE_TLS_CERT", missing)], "must be given together"),
        (
            vec![("ATENDE_BIND", "nowhere")],
            "ATENDE_BIND must be an address with a port",
        ),
        (
            vec![("WHATSAPP_TOKEN", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "1")],
            "WHATSAPP_APP_SECRET is required",
        ),
        (
            vec![("WHATSAPP_RATE_LIMIT", "5000")],
            "WHATSAPP_RATE_LIMIT must be between 1 and 1000",
        ),
        (
            vec![("ATENDE_LOG", "[[[")],
            "ATENDE_LOG is not a valid log filter",
        ),
        (vec![("ATENDE_CACHE_MB", "8")], "--cache-mb"),
    ] {
        let (ok, _, stderr) = run_atende(&data, &[], &env);
        assert!(!ok, "{env:?} must fail");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (ok, _, stderr) = run_atende(&foreign, &[], &[("ATENDE_BIND", "127.0.0.1:0")]);
    assert!(!ok);
    assert!(
        stderr.contains("is not an Atende data directory"),
        "{stderr}"
    );
    drop(taken);
}

#[test]
fn a_dot_env_file_in_the_working_directory_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(
        dir.path().join(".env"),
        "ATENDE_JWT_SECRET=short-from-dot-env\n",
    )
    .unwrap();
    let (ok, _, stderr) = run_atende(&data, &[], &[]);
    assert!(!ok);
    assert!(
        stderr.contains("ATENDE_JWT_SECRET must be at least 32 bytes"),
        "{stderr}"
    );
}

#[actix_web::test]
async fn the_first_start_prints_a_generated_password_once() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command = atende_command(&data);
    command
        .env_remove("ATENDE_ADMIN_PASSWORD")
        .env("ATENDE_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = stdout.next().unwrap().unwrap();
    let password = first
        .split("with the password ")
        .nth(1)
        .expect(&first)
        .trim()
        .to_string();
    let file = data.join("initial-admin-password");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    child.kill().unwrap();
    child.wait().unwrap();

    let hub = spawn_hub(&data, &[("ATENDE_ADMIN_PASSWORD", "ignored-now")]);
    let response = login(&hub, ADMIN_EMAIL, &password).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["must_change_password"], true);
    assert_eq!(login(&hub, ADMIN_EMAIL, "ignored-now").await.status(), 401);
}

#[actix_web::test]
async fn user_create_and_reset_password_work_from_the_command_line() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut create = atende_command(&data);
    create
        .args([
            "user",
            "create",
            "--email",
            "sup@test.local",
            "--name",
            "Sup",
            "--role",
            "supervisor",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = create.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"chosen-password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let (ok, stdout, _) = run_atende(
        &data,
        &["user", "reset-password", "--email", "SUP@test.local"],
        &[],
    );
    assert!(ok, "{stdout}");
    let generated = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_string();

    let (ok, _, stderr) = run_atende(
        &data,
        &[
            "user",
            "create",
            "--email",
            "x@test.local",
            "--name",
            "X",
            "--role",
            "boss",
        ],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("unknown role"), "{stderr}");
    let (ok, _, stderr) = run_atende(
        &data,
        &["user", "reset-password", "--email", "nobody@test.local"],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("no user has the email"), "{stderr}");

    let hub = spawn_hub(&data, &[]);
    assert_eq!(
        login(&hub, "sup@test.local", "chosen-password")
            .await
            .status(),
        401
    );
    let body: Value = login(&hub, "sup@test.local", &generated)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["role"], "supervisor");
    assert_eq!(body["user"]["must_change_password"], true);
}

async fn first_chat(hub: &HubProcess, token: &str) -> Value {
    let chats = hub.get_json("/api/v1/chats", token).await;
    chats["items"][0].clone()
}

#[actix_web::test]
async fn events_announced_before_kill_9_are_replayed_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let (mut socket, ready) = Socket::signed_in_at(hub.address, &token, None).await;
    let before = ready["seq"].as_u64().unwrap();
    let body = inbound("5511955553333", "wamid.E9", text("lembra de mim"));
    let response = signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut seen = Vec::new();
    while !seen.iter().any(|e: &Value| e["event"] == "message.created") {
        seen.push(socket.next().await);
    }
    hub.kill_9();

    // The browser comes back after the restart and resumes where it was.
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let (mut socket, ready) = Socket::signed_in_at(hub.address, &token, Some(before)).await;
    let mut replayed = Vec::new();
    while replayed.len() < seen.len() {
        replayed.push(socket.next().await);
    }
    assert_eq!(replayed, seen, "the same events, with the same numbers");
    assert!(ready["seq"].as_u64().unwrap() >= seen.last().unwrap()["seq"].as_u64().unwrap());
    // New events go on from there.
    let body = inbound("5511955553333", "wamid.E10", text("de novo"));
    signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
    let next = socket.next().await;
    assert!(next["seq"].as_u64().unwrap() > seen.last().unwrap()["seq"].as_u64().unwrap());
}

#[actix_web::test]
async fn a_webhook_answered_200_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [("WHATSAPP_APP_SECRET", APP_SECRET)];
    let hub = spawn_hub(&data, &env);
    let body = inbound(
        "5511955554444",
        "wamid.K9",
        json!({"type": "text", "text": {"body": "não me perca"}}),
    );
    let response = signed_post(&hub, APP_SECRET, &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    hub.kill_9();

    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let chat = first_chat(&hub, &token).await;
    let path = format!(
        "/api/v1/chats/{}/messages",
        chat["id"].as_str().expect("the chat survived")
    );
    let messages = hub.get_json(&path, &token).await;
    assert_eq!(messages["items"].as_array().unwrap().len(), 1);
    assert_eq!(messages["items"][0]["text"], "não me perca");
    // Meta's retry of the same webhook stores nothing new.
    let again: Value = json_of(signed_post(&hub, APP_SECRET, &body)).await;
    assert_eq!(again["duplicates"], 1);
}

#[actix_web::test]
async fn a_reply_answered_202_reaches_the_cloud_api_exactly_once_after_kill_9() {
    use atende_web::sandbox::{CloudApiSim, SimConfig};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sim = CloudApiSim::start(SimConfig::local("sim-token", APP_SECRET))
        .await
        .unwrap();
    let base = sim.base_url();
    let env = [
        ("WHATSAPP_TOKEN", "sim-token"),
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("WHATSAPP_PHONE_NUMBER_ID", NUMBER),
        ("WHATSAPP_API_URL", base.as_str()),
        // The hub may die after marking the send dispatched: it then waits this long for a
        // status webhook naming it (none comes: the API was down) before sending again.
        ("ATENDE_SEND_RECOVERY_WAIT", "1"),
    ];
    let hub = spawn_hub(&data, &env);
    let token = admin_token(&hub).await;
    let body = inbound(
        "5511944443333",
        "wamid.K9R",
        json!({"type": "text", "text": {"body": "oi"}}),
    );
    assert_eq!(
        signed_post(&hub, APP_SECRET, &body)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let chat = first_chat(&hub, &token).await;
    let id = chat["id"].as_str().unwrap().to_string();
    let client = http_client();
    client
        .post(hub.url(&format!("/api/v1/chats/{id}/claim")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    // The Cloud API is down, so the reply can only be in the outbox when the hub dies.
    sim.set_down(true);
    let reply = json!({"client_id": "k9", "type": "text", "text": "já volto"});
    let sent = client
        .post(hub.url(&format!("/api/v1/chats/{id}/messages")))
        .bearer_auth(&token)
        .json(&reply)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202);
    hub.kill_9();
    sim.set_down(false);

    let hub = spawn_hub(&data, &env);
    sim.set_webhook_url(hub.url("/api/v1/webhooks/whatsapp"));
    let delivered = sim
        .wait_for_sent(1, std::time::Duration::from_secs(30))
        .await
        .expect("resumed from the outbox");
    assert_eq!(delivered[0].body["text"]["body"], "já volto");
    // Once the hub has recorded the send, nothing is pending that could go out again.
    let token = admin_token(&hub).await;
    let within = std::time::Duration::from_secs(20);
    wait_until("the send recorded", within, || async {
        let messages: Value = hub
            .get_json(&format!("/api/v1/chats/{id}/messages"), &token)
            .await;
        if messages["items"][1]["wamid"] == delivered[0].wamid.as_str() {
            Ok(())
        } else {
            Err(messages)
        }
    })
    .await;
    assert_eq!(sim.sent().len(), 1, "sent exactly once");
}

#[actix_web::test]
async fn atende_simulate_drives_a_sandbox_hub_with_signed_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hub = spawn_hub(&data, &[]);
    let url = format!("http://{}", hub.address);
    let data_dir = data.to_str().unwrap().to_string();
    let run = std::thread::spawn(move || {
        let args = [
            "simulate",
            "--url",
            &url,
            "--customers",
            "3",
            "--rate",
            "50",
            "--count",
            "9",
            "--data-dir",
            &data_dir,
        ];
        run_atende(std::path::Path::new(&data_dir), &args, &[])
    });
    let (ok, stdout, stderr) = run.join().unwrap();
    assert!(ok, "{stdout}\n{stderr}");
    let token = admin_token(&hub).await;
    let client = http_client();
    let chats: Value = json_of(client.get(hub.url("/api/v1/chats")).bearer_auth(&token)).await;
    let chats = chats["items"].as_array().unwrap();
    // Customers are drawn at random: at most one chat each.
    assert!((1..=3).contains(&chats.len()), "{} chats", chats.len());
    let mut total = 0;
    for chat in chats {
        let path = hub.url(&format!(
            "/api/v1/chats/{}/messages",
            chat["id"].as_str().unwrap()
        ));
        let messages: Value = json_of(client.get(path).bearer_auth(&token)).await;
        total += messages["items"].as_array().unwrap().len();
    }
    assert_eq!(total, 9);
}

#[actix_web::test]
async fn a_backup_taken_under_load_restores_every_message_answered_before_it() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let env = [
        ("WHATSAPP_APP_SECRET", APP_SECRET),
        ("ATENDE_RATE_LIMIT", "100000"),
    ];
    let hub = spawn_hub(&data, &env);
    let say = |n: usize| {
        inbound(
            &format!("55119{n:08}"),
            &format!("wamid.B{n}"),
            json!({"type": "text", "text": {"body": format!("mensagem {n}")}}),
        )
    };
    for n in 0..20 {
        assert_eq!(
            signed_post(&hub, APP_SECRET, &say(n))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    // Load keeps coming while the backup runs.
    let load = {
        let url = hub.url("/api/v1/webhooks/whatsapp");
        actix_web::rt::spawn(async move {
            let client = http_client();
            for n in 20..200 {
                let bytes = serde_json::to_vec(&say(n)).unwrap();
                let signature =
                    atende_actors::whatsapp::signature::sign(APP_SECRET.as_bytes(), &bytes);
                let _ = client
                    .post(&url)
                    .header("x-hub-signature-256", signature)
                    .body(bytes)
                    .send()
                    .await;
            }
        })
    };
    let file = dir.path().join("hub.backup");
    let url = format!("http://{}", hub.address);
    let mut backup = atende_command(&data);
    backup
        .args([
            "backup",
            file.to_str().unwrap(),
            "--url",
            &url,
            "--email",
            ADMIN_EMAIL,
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = backup.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    load.await.unwrap();
    hub.kill_9();

    let restored = dir.path().join("restored");
    let (ok, _, stderr) = run_atende(
        &restored,
        &[
            "restore",
            file.to_str().unwrap(),
            "--data-dir",
            restored.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{stderr}");
    let hub = spawn_hub(&restored, &env);
    let token = admin_token(&hub).await;
    for n in 0..20 {
        let found = hub
            .get_json(&format!("/api/v1/chats?q=55119{n:08}"), &token)
            .await;
        assert_eq!(
            found["items"].as_array().unwrap().len(),
            1,
            "message {n} was answered before the backup"
        );
    }
}

#[test]
fn restore_refuses_damaged_files_and_full_directories_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, stderr) = run_atende(
        &data,
        &["user", "create", "--email", "a@test.local", "--name", "A"],
        &[],
    );
    assert!(ok, "{stderr}");
    let file = dir.path().join("stopped.backup");
    let (ok, stdout, stderr) = run_atende(&data, &["backup", file.to_str().unwrap()], &[]);
    assert!(ok, "{stdout}{stderr}");
    let (ok, _, stderr) = run_atende(&data, &["restore", file.to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(stderr.contains("not empty"), "{stderr}");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&file, &bytes).unwrap();
    let elsewhere = dir.path().join("other");
    let (ok, _, stderr) = run_atende(
        &elsewhere,
        &[
            "restore",
            file.to_str().unwrap(),
            "--data-dir",
            elsewhere.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("damaged or truncated"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

#[actix_web::test]
async fn a_locked_out_user_is_rescued_with_reset_2fa() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hub = spawn_hub(&data, &[]);
    let token = admin_token(&hub).await;
    let client = http_client();
    let setup: Value = json_of(
        client
            .post(hub.url("/api/v1/auth/2fa/setup"))
            .bearer_auth(&token),
    )
    .await;
    let totp = totp_rs::TOTP::from_url(setup["otpauth_url"].as_str().unwrap()).unwrap();
    let code = totp.generate_current().unwrap();
    let enabled = client
        .post(hub.url("/api/v1/auth/2fa/enable"))
        .bearer_auth(&token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), 200);
    assert_eq!(login(&hub, ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 401);
    // The phone is lost with the recovery codes: the operator resets from the shell.
    hub.kill_9();
    let (ok, _, stderr) = run_atende(
        &data,
        &["user", "reset-2fa", "--email", "nobody@test.local"],
        &[],
    );
    assert!(!ok);
    assert!(stderr.contains("no user has the email"), "{stderr}");
    let (ok, stdout, stderr) =
        run_atende(&data, &["user", "reset-2fa", "--email", ADMIN_EMAIL], &[]);
    assert!(ok, "{stdout} {stderr}");
    let hub = spawn_hub(&data, &[]);
    let body: Value = login(&hub, ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["user"]["two_factor_enabled"], false, "{body}");
}
