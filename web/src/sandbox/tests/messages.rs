//! `POST /{phone_number_id}/messages`: accepting, refusing, failing on purpose.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::sandbox::Failure;

#[actix_web::test]
async fn a_text_message_gets_a_wamid_and_is_recorded() {
    let sim = start_sim(Duration::ZERO).await;

    let response = post_message(&sim, Some(TOKEN), &text_to("5511988887777", "Olá!")).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["contacts"][0]["input"], "5511988887777");
    assert_eq!(body["contacts"][0]["wa_id"], "5511988887777");
    let wamid = body["messages"][0]["id"].as_str().expect("a wamid");
    assert!(wamid.starts_with("wamid."), "{wamid}");
    let sent = sim.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].wamid, wamid);
    assert_eq!(sent[0].body["text"]["body"], "Olá!");
    assert_eq!(sim.received_requests(), 1);
}

#[actix_web::test]
async fn every_message_gets_its_own_wamid() {
    let sim = start_sim(Duration::ZERO).await;
    for n in 0..3 {
        let body = text_to("5511988887777", &format!("mensagem {n}"));
        assert_eq!(post_message(&sim, Some(TOKEN), &body).await.status(), 200);
    }

    let sent = sim.wait_for_sent(3, DEADLINE).await.expect("three sent");

    let mut wamids: Vec<_> = sent.iter().map(|m| m.wamid.clone()).collect();
    wamids.dedup();
    assert_eq!(wamids.len(), 3);
    assert_eq!(sent[2].body["text"]["body"], "mensagem 2");
}

#[actix_web::test]
async fn a_missing_or_wrong_bearer_token_is_401_with_code_190() {
    let sim = start_sim(Duration::ZERO).await;
    let client = reqwest::Client::new();
    let base = sim.base_url();
    let others = [
        client.get(format!("{base}/sim-image-1")),
        client.get(format!(
            "{}/download/sim-image-1",
            base.trim_end_matches("/v23.0")
        )),
        client.get(format!("{base}/sandbox-waba/message_templates")),
    ];

    for token in [None, Some("wrong")] {
        let (status, body) =
            graph_error(post_message(&sim, token, &text_to("55", "x")).await).await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["error"]["code"], 190);
        assert_eq!(body["error"]["type"], "OAuthException");
        assert!(body["error"]["fbtrace_id"].is_string());
    }
    for request in others {
        let response = request
            .bearer_auth("wrong")
            .send()
            .await
            .expect("an answer");
        assert_eq!(graph_error(response).await.0, 401);
    }
    assert!(sim.sent().is_empty());
}

#[actix_web::test]
async fn a_body_the_cloud_api_would_refuse_is_400_with_code_100() {
    let sim = start_sim(Duration::ZERO).await;
    let cases = [
        json!({"to": "5511988887777", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "sms", "to": "55", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "to": "55", "text": {"body": "x"}}),
        json!({"messaging_product": "whatsapp", "to": "55", "type": "fax", "fax": {}}),
        json!({"messaging_product": "whatsapp", "to": "55", "type": "text", "text": {}}),
        json!({"messaging_product": "whatsapp", "to": "55", "type": "image"}),
        json!({"messaging_product": "whatsapp", "status": "read"}),
        json!("not an object"),
    ];

    for case in &cases {
        let (status, body) = graph_error(post_message(&sim, Some(TOKEN), case).await).await;
        assert_eq!(status, 400, "{case}");
        assert_eq!(body["error"]["code"], 100, "{case}");
        assert_eq!(body["error"]["message"], "(#100) Invalid parameter");
        assert!(body["error"]["error_data"]["details"].is_string(), "{case}");
    }
    assert!(sim.sent().is_empty());
    assert_eq!(sim.received_requests(), cases.len());
}

#[actix_web::test]
async fn another_number_or_path_is_answered_like_the_graph_api() {
    let sim = start_sim(Duration::ZERO).await;
    let client = reqwest::Client::new();
    let body = text_to("5511988887777", "x");

    let other_number = client
        .post(format!("{}/999/messages", sim.base_url()))
        .bearer_auth(TOKEN)
        .json(&body);
    let (status, error) = graph_error(other_number.send().await.expect("an answer")).await;
    assert_eq!((status, error["error"]["code"].clone()), (400, json!(100)));

    let root = sim.base_url().replace("/v23.0", "");
    let bad_version = client.post(format!("{root}/latest/sandbox/messages"));
    let response = bad_version.bearer_auth(TOKEN).json(&body).send().await;
    let (status, error) = graph_error(response.expect("an answer")).await;
    assert_eq!((status, error["error"]["code"].clone()), (400, json!(2500)));

    let unknown = client
        .get(format!("{root}/a/b/c/d"))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert_eq!(unknown.expect("an answer").status(), 400);
    assert!(sim.sent().is_empty());
}

#[actix_web::test]
async fn scripted_failures_come_out_in_order_then_sending_resumes() {
    let sim = start_sim(Duration::ZERO).await;
    sim.script([
        Failure::Status(500),
        Failure::CloudError {
            http_status: 400,
            code: 131047,
            title: "Re-engagement message".into(),
        },
        Failure::Status(429),
    ]);
    let body = text_to("5511988887777", "x");

    let mut answers = Vec::new();
    for _ in 0..3 {
        let (status, error) = graph_error(post_message(&sim, Some(TOKEN), &body).await).await;
        answers.push((status, error["error"]["code"].as_i64()));
    }
    let resumed = post_message(&sim, Some(TOKEN), &body).await;

    assert_eq!(
        answers,
        [(500, Some(2)), (400, Some(131047)), (429, Some(130429))]
    );
    assert_eq!(resumed.status(), 200);
    assert_eq!(sim.sent().len(), 1);
    assert_eq!(sim.received_requests(), 4);
}

#[actix_web::test]
async fn a_scripted_cloud_error_is_shaped_like_metas() {
    let sim = start_sim(Duration::ZERO).await;
    sim.script([Failure::CloudError {
        http_status: 400,
        code: 131026,
        title: "Message undeliverable".into(),
    }]);

    let response = post_message(&sim, Some(TOKEN), &text_to("5511988887777", "x")).await;

    let (status, body) = graph_error(response).await;
    assert_eq!(status, 400);
    let error = &body["error"];
    assert_eq!(error["message"], "Message undeliverable");
    assert_eq!(error["type"], "OAuthException");
    assert_eq!(error["code"], 131026);
    assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
    assert_eq!(error["error_data"]["details"], "Message undeliverable");
    assert!(error["fbtrace_id"].is_string());
}

#[actix_web::test]
async fn a_delayed_answer_outlasts_the_client_timeout_and_is_not_accepted() {
    let sim = start_sim(Duration::ZERO).await;
    sim.script([Failure::Delay(Duration::from_secs(5))]);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("a client");
    let url = format!("{}/sandbox/messages", sim.base_url());

    let first = impatient
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&text_to("5511988887777", "x"))
        .send()
        .await;
    let second = post_message(&sim, Some(TOKEN), &text_to("5511988887777", "x")).await;

    assert!(first.is_err_and(|e| e.is_timeout()));
    assert_eq!(second.status(), 200);
    assert_eq!(sim.sent().len(), 1);
}

#[actix_web::test]
async fn while_down_every_message_is_503_until_lifted() {
    let sim = start_sim(Duration::ZERO).await;
    sim.script([Failure::Status(500)]);
    sim.set_down(true);
    let body = text_to("5511988887777", "x");

    for _ in 0..3 {
        let (status, error) = graph_error(post_message(&sim, Some(TOKEN), &body).await).await;
        assert_eq!(status, 503);
        assert_eq!(error["error"]["is_transient"], true);
    }
    sim.set_down(false);

    assert_eq!(post_message(&sim, Some(TOKEN), &body).await.status(), 500);
    assert_eq!(post_message(&sim, Some(TOKEN), &body).await.status(), 200);
    assert_eq!(sim.sent().len(), 1);
}

#[actix_web::test]
async fn a_read_receipt_is_recorded_and_not_sent() {
    let sim = start_sim(Duration::ZERO).await;
    let receipt =
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"});

    let response = post_message(&sim, Some(TOKEN), &receipt).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({"success": true}));
    assert_eq!(sim.read_receipts(), ["wamid.IN1"]);
    assert!(sim.sent().is_empty());
}

#[actix_web::test]
async fn waiting_for_more_than_was_sent_gives_up_at_the_deadline_with_what_was_sent() {
    let sim = start_sim(Duration::ZERO).await;
    post_message(&sim, Some(TOKEN), &text_to("5511988887777", "x")).await;

    let waited = sim.wait_for_sent(2, Duration::from_millis(100)).await;

    assert!(waited.is_err_and(|sent| sent.len() == 1));
}
