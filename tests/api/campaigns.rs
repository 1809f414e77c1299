//! Campaigns through the simulated Cloud API: the audience and its preview, each contact
//! once, statuses and replies counted, replies opening chats in the campaign's queue,
//! opted-out contacts left out, the messaging limit, and the state rules.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

/// Imports `rows` (name;phone;labels) as contacts of the sandbox number.
pub async fn import_rows(app: &TestApp, admin: &Tokens, rows: &[(String, String, &str)]) {
    let mut csv = String::from("nome;telefone;etiquetas\n");
    for (name, phone, labels) in rows {
        csv.push_str(&format!("{name};{phone};{labels}\n"));
    }
    let response = app
        .client
        .post(app.url(&format!("/api/v1/contacts/import?phone_number_id={NUMBER}")))
        .bearer_auth(&admin.access)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn phone(i: usize) -> String {
    format!("55119{:08}", 70_000_000 + i)
}

async fn campaign(app: &TestApp, admin: &Tokens, body: Value) -> Value {
    let response = app
        .post("/api/v1/campaigns", Some(&admin.access), &body)
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    response.json().await.unwrap()
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/campaigns/{id}/{action}"),
        Some(token),
        &json!({}),
    )
    .await
}

#[actix_web::test]
async fn a_campaign_reaches_each_contact_once_and_counts_statuses_and_replies() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let queue = app.queue(&admin, "Vendas").await;
    let mut rows: Vec<(String, String, &str)> = (0..40)
        .map(|i| {
            (
                format!("Cliente{i} Souza"),
                phone(i),
                if i % 4 == 0 { "novo" } else { "vip" },
            )
        })
        .collect();
    rows[1].0 = String::new();
    import_rows(&app, &admin, &rows).await;
    // Two vip customers said SAIR already.
    for i in [2, 3] {
        app.customer_says(&phone(i), &format!("wamid.sair{i}"), "sair")
            .await;
    }
    let draft = campaign(
        &app,
        &admin,
        json!({
            "name": "Oferta de dezembro",
            "phone_number_id": NUMBER,
            "template": {"name": "oferta_do_mes", "language": "pt_BR"},
            "variables": ["{{contact.first_name|cliente}}", "o plano família"],
            "audience": {"labels": ["vip"]},
            "queue_id": queue,
        }),
    )
    .await;
    let id = draft["id"].as_str().unwrap().to_string();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["template"]["category"], "MARKETING");
    let vip = 30;
    assert_eq!(draft["preview"]["audience"], vip - 2);
    assert_eq!(draft["preview"]["opted_out"], 2);
    assert_eq!(
        draft["preview"]["estimated_cost"],
        0.0625 * (vip - 2) as f64
    );
    assert!(
        app.sim.sent().iter().all(|m| m.body["type"] != "template"),
        "a draft sends nothing"
    );

    // Agents do not run campaigns; a draft is not paused or resumed.
    assert_error(
        act(&app, &agent.access, &id, "start").await,
        403,
        "staff_only",
    )
    .await;
    assert_error(
        act(&app, &admin.access, &id, "resume").await,
        409,
        "campaign_not_paused",
    )
    .await;
    assert_eq!(act(&app, &admin.access, &id, "start").await.status(), 200);
    assert_error(
        act(&app, &admin.access, &id, "start").await,
        409,
        "campaign_started",
    )
    .await;

    let path = format!("/api/v1/campaigns/{id}");
    let done = app
        .eventually(&path, &admin.access, "the campaign done and read", |c| {
            c["status"] == "done" && c["counts"]["read"] == vip - 2
        })
        .await;
    assert_eq!(done["counts"]["skipped"], 2);
    assert_eq!(done["counts"]["total"], vip);
    let templates: Vec<Value> = app
        .sim
        .sent()
        .into_iter()
        .filter(|m| m.body["type"] == "template")
        .map(|m| m.body)
        .collect();
    assert_eq!(templates.len(), vip as usize - 2);
    let mut to: Vec<&str> = templates
        .iter()
        .map(|b| b["to"].as_str().unwrap())
        .collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), templates.len(), "each contact once");
    let first = templates.iter().find(|b| b["to"] == phone(5)).unwrap();
    assert_eq!(first["template"]["name"], "oferta_do_mes");
    let params = &first["template"]["components"][0]["parameters"];
    assert_eq!(params[0]["text"], "Cliente5");
    assert_eq!(params[1]["text"], "o plano família");
    let nameless = templates.iter().find(|b| b["to"] == phone(1)).unwrap();
    assert_eq!(
        nameless["template"]["components"][0]["parameters"][0]["text"],
        "cliente"
    );
    assert!(templates
        .iter()
        .all(|b| b["to"] != phone(2) && b["to"] != phone(4)));
    // Starting again, or resuming, sends nothing more.
    assert_error(
        act(&app, &admin.access, &id, "resume").await,
        409,
        "campaign_finished",
    )
    .await;

    // A reply reopens the campaign's chat in its queue, with the offer in the thread.
    app.customer_says(&phone(5), "wamid.reply5", "quero saber mais")
        .await;
    let chats = app
        .get_json(&format!("/api/v1/chats?q={}", phone(5)), &admin.access)
        .await;
    let chat = &chats["items"][0];
    assert_eq!(chat["status"], "pending");
    assert_eq!(chat["queue_id"], queue);
    let messages = app
        .get_json(
            &format!("/api/v1/chats/{}/messages", chat["id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    let texts: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Oi, Cliente5! Este mês o plano família")),
        "{texts:?}"
    );
    assert!(texts.contains(&"quero saber mais"));
    // "Sair" after the offer: opted out, and counted as a reply too.
    app.customer_says(&phone(6), "wamid.sair6", "Sair").await;
    let replied = app
        .eventually(&path, &admin.access, "two replies counted", |c| {
            c["counts"]["replied"] == 2
        })
        .await;
    assert_eq!(
        replied["counts"]["read"],
        vip - 2,
        "replied ones count as read"
    );
    let contact = app
        .get_json(&format!("/api/v1/contacts/{}", phone(6)), &admin.access)
        .await;
    assert_eq!(contact["marketing_opt_out"]["source"], "keyword");
    let skipped = app
        .get_json(&format!("{path}/sends?state=skipped"), &admin.access)
        .await;
    let reasons: Vec<&str> = skipped["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["opted_out", "opted_out"]);

    // A second campaign to the same audience leaves the new opt-out out.
    let again = campaign(
        &app,
        &admin,
        json!({
            "name": "Lembrete",
            "template": {"name": "oferta_do_mes", "language": "pt_BR"},
            "phone_number_id": NUMBER,
            "variables": ["{{contact.name}}", "{{field.plano|o plano}}"],
            "audience": {"labels": ["vip"]},
        }),
    )
    .await;
    assert_eq!(again["preview"]["opted_out"], 3);
}

#[actix_web::test]
async fn the_messaging_limit_holds_a_campaign_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rows: Vec<(String, String, &str)> = (0..12)
        .map(|i| (format!("C{i}"), phone(i), "lote"))
        .collect();
    import_rows(&app, &admin, &rows).await;
    let limit = app
        .patch(
            &format!("/api/v1/numbers/{NUMBER}"),
            &admin.access,
            &json!({"messaging_limit": 5}),
        )
        .await;
    assert_eq!(limit.status(), 200);

    // A body that is not valid (400), and one naming what does not exist: the state's
    // refusal (409), with the field.
    for (body, field, status, code) in [
        (
            json!({"name": "x", "phone_number_id": NUMBER, "template": {"name": "nao_existe", "language": "pt_BR"}}),
            "template",
            400,
            "validation_failed",
        ),
        (
            json!({"name": "x", "phone_number_id": NUMBER, "template": {"name": "oferta_do_mes", "language": "pt_BR"}, "variables": ["a"]}),
            "variables",
            400,
            "validation_failed",
        ),
        (
            json!({"name": "x", "phone_number_id": NUMBER, "template": {"name": "oferta_do_mes", "language": "pt_BR"}, "variables": ["a", "b"], "start_at": "amanhã"}),
            "start_at",
            400,
            "validation_failed",
        ),
        (
            json!({"name": "x", "phone_number_id": "other", "template": {"name": "oferta_do_mes", "language": "pt_BR"}, "variables": ["a", "b"]}),
            "phone_number_id",
            409,
            "unknown_reference",
        ),
        (
            json!({"name": "x", "phone_number_id": NUMBER, "template": {"name": "oferta_do_mes", "language": "pt_BR"}, "variables": ["a", "b"], "audience": {"contacts": ["5599999999999"]}}),
            "audience.contacts",
            409,
            "unknown_reference",
        ),
    ] {
        let refused = app
            .post("/api/v1/campaigns", Some(&admin.access), &body)
            .await;
        let error = assert_error(refused, status, code).await;
        assert!(
            error["error"]["fields"][field].is_string(),
            "{field}: {error}"
        );
    }
    let listed = app.get_json("/api/v1/campaigns", &admin.access).await;
    assert!(
        listed["items"].as_array().unwrap().is_empty(),
        "nothing was made"
    );

    let nobody = campaign(
        &app,
        &admin,
        json!({"name": "Ninguém", "phone_number_id": NUMBER, "template": {"name": "oferta_do_mes", "language": "pt_BR"},
               "variables": ["a", "b"], "audience": {"labels": ["sem_ninguem"]}}),
    )
    .await;
    let id = nobody["id"].as_str().unwrap();
    assert_error(
        act(&app, &admin.access, id, "start").await,
        409,
        "audience_empty",
    )
    .await;

    let capped = campaign(
        &app,
        &admin,
        json!({"name": "Limite", "phone_number_id": NUMBER, "template": {"name": "oferta_do_mes", "language": "pt_BR"},
               "variables": ["{{contact.name}}", "o plano"], "audience": {"contacts": (0..12).map(phone).collect::<Vec<_>>()}}),
    )
    .await;
    let id = capped["id"].as_str().unwrap().to_string();
    assert_eq!(capped["preview"]["audience"], 12);
    assert_eq!(act(&app, &admin.access, &id, "start").await.status(), 200);
    let path = format!("/api/v1/campaigns/{id}");
    let held = app
        .eventually(&path, &admin.access, "five sent, the rest held", |c| {
            c["counts"]["sent"] == 5
        })
        .await;
    assert_eq!(held["status"], "running");
    assert_eq!(held["counts"]["queued"], 7);
    // Paused and resumed, it goes on at once when the limit grows.
    assert_eq!(act(&app, &admin.access, &id, "pause").await.status(), 200);
    assert_error(
        act(&app, &admin.access, &id, "pause").await,
        409,
        "campaign_not_running",
    )
    .await;
    app.patch(
        &format!("/api/v1/numbers/{NUMBER}"),
        &admin.access,
        &json!({"messaging_limit": null}),
    )
    .await;
    assert_eq!(act(&app, &admin.access, &id, "resume").await.status(), 200);
    app.eventually(&path, &admin.access, "all twelve sent", |c| {
        c["status"] == "done" && c["counts"]["sent"] == 12
    })
    .await;
    let sent = app
        .sim
        .wait_for_sent(12, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        sent.iter().filter(|m| m.body["type"] == "template").count(),
        12
    );
    assert_eq!(act(&app, &admin.access, &id, "cancel").await.status(), 409);
}
