//! Settings: read by staff, replaced whole by admins, checked, applied at once.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::socket::Socket;

fn valid() -> Value {
    json!({
        "greeting_message": "Olá! Em que podemos ajudar?",
        "away_message": null,
        "business_hours": {"timezone": "America/Sao_Paulo", "days": [
            {"weekday": "mon", "open": "08:00", "close": "12:00"},
            {"weekday": "mon", "open": "13:00", "close": "18:00"},
            {"weekday": "sat", "open": "09:00", "close": "13:00"}
        ]},
        "auto_assign": true,
        "default_max_concurrent_chats": 7,
        "reopen_window_minutes": 30,
        "retention_media_days": null,
        "retention_message_days": null
    })
}

#[actix_web::test]
async fn an_admin_replaces_the_settings_and_staff_read_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let sup = app.user(&admin, "sup@test.local", "supervisor").await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let defaults: Value = app.get_json("/api/v1/settings", &sup.access).await;
    assert_eq!(defaults["business_hours"]["timezone"], "America/Sao_Paulo");
    assert_error(
        app.get("/api/v1/settings", &agent.access).await,
        403,
        "staff_only",
    )
    .await;
    assert_error(
        app.send(Method::PUT, "/api/v1/settings", Some(&sup.access), &valid())
            .await,
        403,
        "admin_only",
    )
    .await;
    let saved = app
        .send(
            Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &valid(),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let mut read: Value = app.get_json("/api/v1/settings", &sup.access).await;
    // Left out of the PUT, the survey settings stay as they were (off by default).
    let csat = read.as_object_mut().unwrap().remove("csat").unwrap();
    assert_eq!(csat["enabled"], false);
    let opt_out = read
        .as_object_mut()
        .unwrap()
        .remove("opt_out_keywords")
        .unwrap();
    assert_eq!(opt_out, json!(["SAIR", "PARAR", "STOP"]));
    read.as_object_mut().unwrap().remove("opt_in_keywords");
    let two_factor = read.as_object_mut().unwrap().remove("two_factor_roles");
    assert_eq!(
        two_factor,
        Some(json!([])),
        "no role must have a second factor"
    );
    assert_eq!(read, valid());
    // The default capacity applies to the next user at once.
    let created: Value = app
        .post("/api/v1/users", Some(&admin.access), &json!({"email": "n@test.local", "name": "N", "role": "agent", "password": "password-1"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["max_concurrent_chats"], 7);
}

#[actix_web::test]
async fn bad_settings_name_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let with = |path: &[&str], value: Value| {
        let mut body = valid();
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    for (body, field) in [
        (
            with(&["business_hours", "timezone"], json!("Mars/Olympus")),
            "business_hours.timezone",
        ),
        (
            with(
                &["business_hours", "days"],
                json!([{"weekday": "mon", "open": "18:00", "close": "08:00"}]),
            ),
            "business_hours.days[0].close",
        ),
        (
            with(
                &["business_hours", "days"],
                json!([{"weekday": "mon", "open": "8h", "close": "18:00"}]),
            ),
            "business_hours.days[0].open",
        ),
        (
            with(
                &["business_hours", "days"],
                json!([{"weekday": "funday", "open": "08:00", "close": "18:00"}]),
            ),
            "business_hours.days[0].weekday",
        ),
        (
            with(
                &["business_hours", "days"],
                json!([{"weekday": "mon", "open": "08:00", "close": "14:00"}, {"weekday": "mon", "open": "13:00", "close": "18:00"}]),
            ),
            "business_hours.days",
        ),
        (
            with(&["away_message"], json!("x".repeat(5000))),
            "away_message",
        ),
        (
            with(&["default_max_concurrent_chats"], json!(0)),
            "default_max_concurrent_chats",
        ),
        (
            with(&["reopen_window_minutes"], json!(100_000)),
            "reopen_window_minutes",
        ),
        (with(&["surprise"], json!(1)), "surprise"),
    ] {
        let response = app
            .send(Method::PUT, "/api/v1/settings", Some(&admin.access), &body)
            .await;
        let error = assert_error(response, 400, "validation_failed").await;
        assert!(
            error["error"]["fields"][field].is_string(),
            "{field}: {error}"
        );
    }
    let read: Value = app.get_json("/api/v1/settings", &admin.access).await;
    assert_eq!(read["reopen_window_minutes"], 0, "nothing half-applied");
}

#[actix_web::test]
async fn a_customer_writing_within_the_reopen_window_continues_the_closed_chat() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.send(
        Method::PUT,
        "/api/v1/settings",
        Some(&admin.access),
        &valid(),
    )
    .await;
    let chat = app.customer_says("5511922221111", "wamid.W1", "oi").await;
    let id = chat["id"].as_str().unwrap().to_string();
    app.claim(&id, &admin).await;
    app.post(
        &format!("/api/v1/chats/{id}/close"),
        Some(&admin.access),
        &json!({}),
    )
    .await;
    let again = app
        .customer_says("5511922221111", "wamid.W2", "esqueci uma coisa")
        .await;
    assert_eq!(again["id"], id.as_str(), "the same chat");
    assert_eq!(again["status"], "open");
    assert_eq!(again["assignee_id"], admin.id());
}

#[actix_web::test]
async fn canned_responses_are_written_by_admins_and_read_by_everyone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let body =
        json!({"shortcut": "horario", "text": "Atendemos de segunda a sexta, das 8h às 18h."});
    let created = app
        .post("/api/v1/canned-responses", Some(&admin.access), &body)
        .await;
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        app.post("/api/v1/canned-responses", Some(&admin.access), &body)
            .await,
        409,
        "shortcut_taken",
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/canned-responses",
            Some(&agent.access),
            &json!({"shortcut": "x", "text": "y"}),
        )
        .await,
        403,
        "admin_only",
    )
    .await;
    let bad = app
        .post(
            "/api/v1/canned-responses",
            Some(&admin.access),
            &json!({"shortcut": "com espaço", "text": "x".repeat(10_000)}),
        )
        .await;
    let error = assert_error(bad, 400, "validation_failed").await;
    assert!(
        error["error"]["fields"]["shortcut"].is_string()
            && error["error"]["fields"]["text"].is_string()
    );
    let list: Value = app
        .get_json("/api/v1/canned-responses", &agent.access)
        .await;
    assert_eq!(list["items"][0]["shortcut"], "horario");
    let path = format!("/api/v1/canned-responses/{id}");
    let changed = app
        .patch(&path, &admin.access, &json!({"text": "Novo horário"}))
        .await;
    assert_eq!(
        changed.json::<Value>().await.unwrap()["text"],
        "Novo horário"
    );
    assert_eq!(app.delete(&path, &admin.access).await.status(), 204);
    assert_error(app.delete(&path, &admin.access).await, 404, "not_found").await;
}

#[actix_web::test]
async fn the_greeting_and_the_away_message_go_out_once_as_the_settings_say() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Open only on a day that is not today, in the business's zone: closed now.
    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::west_opt(3 * 3600).unwrap());
    let other = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [(chrono::Datelike::weekday(&today).num_days_from_monday() as usize + 3) % 7];
    let mut settings = valid();
    settings["greeting_message"] = json!("Olá! Já vamos atender.");
    settings["away_message"] = json!("Estamos fora do horário.");
    settings["auto_assign"] = json!(false);
    settings["business_hours"] = json!({"timezone": "America/Sao_Paulo", "days": [{"weekday": other, "open": "08:00", "close": "18:00"}]});
    assert_eq!(
        app.send(
            Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &settings
        )
        .await
        .status(),
        200
    );
    let chat = app.customer_says("5511966660000", "wamid.G1", "oi").await;
    let sent = app
        .sim
        .wait_for_sent(2, std::time::Duration::from_secs(20))
        .await
        .expect("greeting and away");
    let texts: Vec<&str> = sent
        .iter()
        .map(|s| s.body["text"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Olá! Já vamos atender.", "Estamos fora do horário."]
    );
    app.customer_says("5511966660000", "wamid.G2", "alô?").await;
    let path = format!("/api/v1/chats/{}/messages", chat["id"].as_str().unwrap());
    let messages: Value = app.get_json(&path, &admin.access).await;
    let automatic: Vec<&Value> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["details"]["automatic"].is_string())
        .collect();
    assert_eq!(automatic.len(), 2, "once per chat");
    assert_eq!(app.sim.received_requests(), 2);
}

#[actix_web::test]
async fn the_audit_log_records_sign_ins_changes_and_claims() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let failed = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ana@test.local", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(failed.status(), 401);
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    app.send(
        Method::PUT,
        "/api/v1/settings",
        Some(&admin.access),
        &valid(),
    )
    .await;
    let chat = app.customer_says("5511977770000", "wamid.AU", "oi").await;
    app.post(
        &format!("/api/v1/chats/{}/claim", chat["id"].as_str().unwrap()),
        Some(&ana.access),
        &json!({}),
    )
    .await;
    let log: Value = app.get_json("/api/v1/audit?limit=200", &admin.access).await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "auth.login",
        "auth.login_failed",
        "user.created",
        "settings.changed",
        "chat.claimed",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert_eq!(actions[0], "chat.claimed", "newest first");
    let failed = &log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "auth.login_failed")
        .unwrap();
    assert_eq!(
        (failed["target"].as_str(), failed["address"].as_str()),
        (Some("ana@test.local"), Some("127.0.0.1"))
    );
    let only: Value = app
        .get_json(
            &format!("/api/v1/audit?actor={}&action=chat.", ana.id()),
            &admin.access,
        )
        .await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_error(
        app.get("/api/v1/audit", &ana.access).await,
        403,
        "admin_only",
    )
    .await;
    assert_error(
        app.get("/api/v1/audit?from=yesterday", &admin.access).await,
        400,
        "validation_failed",
    )
    .await;
}

#[actix_web::test]
async fn the_click_to_chat_qr_code_is_an_svg_made_by_the_hub() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let response = app
        .get(
            "/api/v1/qr.svg?text=Ol%C3%A1%2C%20vim%20pelo%20cartaz",
            &admin.access,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let svg = response.text().await.unwrap();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));
    assert_error(
        app.get(
            &format!("/api/v1/qr.svg?text={}", "x".repeat(400)),
            &admin.access,
        )
        .await,
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        app.get("/api/v1/qr.svg", &agent.access).await,
        403,
        "staff_only",
    )
    .await;
}

#[actix_web::test]
async fn the_report_counts_what_happened_per_day_and_per_agent() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    for n in 0..2 {
        let chat = app
            .customer_says(&format!("551190123000{n}"), &format!("wamid.RP{n}"), "oi")
            .await;
        let id = chat["id"].as_str().unwrap();
        app.claim(id, &ana).await;
        app.post(
            &format!("/api/v1/chats/{id}/messages"),
            Some(&ana.access),
            &json!({"client_id": format!("r{n}"), "type": "text", "text": "olá"}),
        )
        .await;
        if n == 0 {
            app.post(
                &format!("/api/v1/chats/{id}/close"),
                Some(&ana.access),
                &json!({}),
            )
            .await;
        }
    }
    let today = chrono::Utc::now().date_naive();
    let report: Value = app
        .get_json(
            &format!("/api/v1/reports/summary?from={today}&to={today}"),
            &admin.access,
        )
        .await;
    assert_eq!(
        (
            report["chats_opened"].as_u64(),
            report["chats_closed"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(
        (
            report["messages_in"].as_u64(),
            report["messages_out"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(
        (
            report["chats_open"].as_u64(),
            report["chats_pending"].as_u64()
        ),
        (Some(1), Some(0))
    );
    assert_eq!(report["resolution_rate"], 0.5);
    assert!(report["avg_first_response_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(report["per_day"][0]["date"], today.to_string());
    assert_eq!(report["per_agent"][0]["user_id"], ana.id().as_str());
    assert_eq!(report["per_agent"][0]["chats_closed"], 1);
    let over_long = app
        .get_json(
            "/api/v1/reports/summary?from=2026-01-01&to=1926-01-01",
            &admin.access,
        )
        .await;
    assert_eq!(
        (over_long["from"].as_str(), over_long["to"].as_str()),
        (Some("2024-11-28"), Some("2026-01-01")),
        "taken in either order, the 400 days ending at the later date"
    );
    for bad in ["from=yesterday", "to=2026-13-01"] {
        assert_error(
            app.get(&format!("/api/v1/reports/summary?{bad}"), &admin.access)
                .await,
            400,
            "validation_failed",
        )
        .await;
    }
    assert_error(
        app.get("/api/v1/reports/summary", &ana.access).await,
        403,
        "staff_only",
    )
    .await;
}

#[actix_web::test]
async fn a_customer_answering_the_menu_with_a_number_enters_that_queue() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (id, name, greeting) in [
        ("suporte", "Suporte", Some("Suporte aqui: qual o problema?")),
        ("vendas", "Vendas", None),
    ] {
        let body = json!({"id": id, "name": name, "color": "#000000", "greeting": greeting});
        assert_eq!(
            app.post("/api/v1/queues", Some(&admin.access), &body)
                .await
                .status(),
            201
        );
    }
    let mut settings = valid();
    settings["greeting_message"] = json!("Olá! Escolha:");
    settings["business_hours"]["days"] = json!([]);
    settings["auto_assign"] = json!(false);
    app.send(
        Method::PUT,
        "/api/v1/settings",
        Some(&admin.access),
        &settings,
    )
    .await;
    let chat = app.customer_says("5511900090000", "wamid.Q1", "oi").await;
    let greeting = app
        .sim
        .wait_for_sent(1, std::time::Duration::from_secs(20))
        .await
        .expect("greeting");
    assert_eq!(
        greeting[0].body["text"]["body"],
        "Olá! Escolha:\n\n1 - Suporte\n2 - Vendas"
    );
    let chosen = app.customer_says("5511900090000", "wamid.Q2", " 1 ").await;
    assert_eq!(chosen["id"], chat["id"]);
    assert_eq!(chosen["queue_id"], "suporte");
    let sent = app
        .sim
        .wait_for_sent(2, std::time::Duration::from_secs(20))
        .await
        .expect("the queue's greeting");
    assert_eq!(
        sent[1].body["text"]["body"],
        "Suporte aqui: qual o problema?"
    );
    // Later numbers are just text.
    let later = app.customer_says("5511900090000", "wamid.Q3", "2").await;
    assert_eq!(later["queue_id"], "suporte");
}

#[actix_web::test]
async fn a_contact_is_exported_and_erased_on_request_and_old_messages_expire() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let number = "5511933334444";
    let old = chrono::Utc::now().timestamp() - 40 * 86_400;
    let body = inbound_at(
        number,
        "wamid.OLD1",
        json!({"type": "text", "text": {"body": "mensagem antiga"}}),
        old,
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chat = app
        .customer_says(number, "wamid.NEW1", "mensagem nova")
        .await;
    let id = chat["id"].as_str().unwrap().to_string();
    // Erasure waits until the chat is closed.
    assert_error(
        app.delete(&format!("/api/v1/contacts/{number}"), &admin.access)
            .await,
        409,
        "contact_has_open_chats",
    )
    .await;
    app.claim(&id, &admin).await;
    app.post(
        &format!("/api/v1/chats/{id}/close"),
        Some(&admin.access),
        &json!({}),
    )
    .await;

    let mut settings = valid();
    settings["retention_message_days"] = json!(30);
    app.send(
        Method::PUT,
        "/api/v1/settings",
        Some(&admin.access),
        &settings,
    )
    .await;
    let swept: Value = app
        .post("/api/v1/retention/run", Some(&admin.access), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(swept["messages_deleted"], 1);
    let left: Value = app
        .get_json(&format!("/api/v1/chats/{id}/messages"), &admin.access)
        .await;
    let texts: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["mensagem nova"]);

    let export: Value = app
        .get_json(&format!("/api/v1/contacts/{number}/export"), &admin.access)
        .await;
    assert_eq!(export["contact"]["wa_id"], number);
    assert_eq!(export["messages"].as_array().unwrap().len(), 1);
    let (_, ready) = Socket::signed_in(&app, &admin.access, None).await;
    let before = ready["seq"].as_u64().unwrap();
    let erased = app
        .delete(&format!("/api/v1/contacts/{number}"), &admin.access)
        .await;
    assert_eq!(erased.status(), 204);
    assert_error(
        app.get(&format!("/api/v1/contacts/{number}"), &admin.access)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/chats/{id}"), &admin.access).await,
        404,
        "not_found",
    )
    .await;
    // The chat's actor was still live (closed a moment ago); it stopped with the erasure,
    // so a command to the chat finds nothing to write back.
    assert_error(
        app.post(
            &format!("/api/v1/chats/{id}/reopen"),
            Some(&admin.access),
            &json!({}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.get(&format!("/api/v1/chats/{id}"), &admin.access).await,
        404,
        "not_found",
    )
    .await;
    let search: Value = app
        .get_json(&format!("/api/v1/chats?q={number}"), &admin.access)
        .await;
    assert_eq!(search["items"], json!([]));
    // The event log held the contact's messages too: it is gone, and a browser resuming
    // from before the erasure reloads.
    let (mut socket, _) = Socket::signed_in(&app, &admin.access, Some(before - 1)).await;
    assert_eq!(socket.next().await["type"], "resync");
    let bad = app
        .send(
            Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &json!({"retention_media_days": 0}),
        )
        .await;
    assert_eq!(bad.status(), 400);
}

#[actix_web::test]
async fn what_an_admin_obviously_means_is_taken_as_meant() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // A leading "/" is how agents think of a shortcut: it is the shortcut.
    let created = app
        .post(
            "/api/v1/canned-responses",
            Some(&admin.access),
            &json!({"shortcut": " /Ola ", "text": "Olá! Como posso ajudar?"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["shortcut"], "ola");
    let again = app
        .post(
            "/api/v1/canned-responses",
            Some(&admin.access),
            &json!({"shortcut": "ola", "text": "outra"}),
        )
        .await;
    assert_error(again, 409, "shortcut_taken").await;
    // An empty greeting is no greeting, as the console means it.
    let mut settings = valid();
    settings["greeting_message"] = json!("");
    settings["away_message"] = json!("   ");
    let saved = app
        .send(
            Method::PUT,
            "/api/v1/settings",
            Some(&admin.access),
            &settings,
        )
        .await;
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["greeting_message"], Value::Null);
    assert_eq!(saved["away_message"], Value::Null);
}
