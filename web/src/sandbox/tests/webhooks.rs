//! The status webhooks that follow an accepted message.

use std::time::Duration;

use atende_actors::whatsapp::signature::verify;
use serde_json::Value;

use super::*;

/// The parsed body of a status webhook, after checking its signature.
fn verified(received: &Received) -> Value {
    assert!(
        verify(
            SECRET.as_bytes(),
            &received.body,
            received.signature.as_deref()
        ),
        "a bad signature: {:?}",
        received.signature
    );
    serde_json::from_slice(&received.body).expect("a JSON webhook body")
}

#[actix_web::test]
async fn sent_delivered_and_read_arrive_signed_and_in_order() {
    let receiver = WebhookReceiver::start(0).await;
    let sim = start_sim(Duration::from_millis(20)).await;
    sim.set_webhook_url(receiver.url.clone());

    let response = post_message(&sim, Some(TOKEN), &text_to("5511988887777", "Oi")).await;
    let answer: Value = response.json().await.expect("JSON");
    let wamid = answer["messages"][0]["id"].clone();
    let webhooks = receiver.wait_for(3).await;

    let mut statuses = Vec::new();
    for webhook in &webhooks {
        let body = verified(webhook);
        assert_eq!(body["object"], "whatsapp_business_account");
        assert_eq!(body["entry"][0]["id"], "sandbox-waba");
        let change = &body["entry"][0]["changes"][0];
        assert_eq!(change["field"], "messages");
        assert_eq!(change["value"]["messaging_product"], "whatsapp");
        assert_eq!(change["value"]["metadata"]["phone_number_id"], "sandbox");
        let status = &change["value"]["statuses"][0];
        assert_eq!(status["id"], wamid);
        assert_eq!(status["recipient_id"], "5511988887777");
        assert!(status["timestamp"]
            .as_str()
            .is_some_and(|t| t.parse::<i64>().is_ok()));
        statuses.push(status["status"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(statuses, ["sent", "delivered", "read"]);
}

#[actix_web::test]
async fn a_refused_status_webhook_is_retried_until_it_is_taken() {
    let receiver = WebhookReceiver::start(2).await;
    let sim = start_sim(Duration::ZERO).await;
    sim.set_webhook_url(receiver.url.clone());

    post_message(&sim, Some(TOKEN), &text_to("5511988887777", "Oi")).await;
    let webhooks = receiver.wait_for(3).await;

    let first = verified(&webhooks[0]);
    assert_eq!(
        first["entry"][0]["changes"][0]["value"]["statuses"][0]["status"],
        "sent"
    );
    assert_eq!(receiver.attempts(), 5);
}

#[actix_web::test]
async fn a_webhook_url_set_after_start_receives_the_statuses() {
    let sim = start_sim(Duration::from_millis(300)).await;
    post_message(&sim, Some(TOKEN), &text_to("5511988887777", "Oi")).await;
    let receiver = WebhookReceiver::start(0).await;

    sim.set_webhook_url(receiver.url.clone());

    let webhooks = receiver.wait_for(1).await;
    verified(&webhooks[0]);
}

#[actix_web::test]
async fn each_message_gets_its_own_statuses() {
    let receiver = WebhookReceiver::start(0).await;
    let sim = start_sim(Duration::ZERO).await;
    sim.set_webhook_url(receiver.url.clone());

    for to in ["5511911110000", "5511922220000"] {
        post_message(&sim, Some(TOKEN), &text_to(to, "Oi")).await;
    }
    let webhooks = receiver.wait_for(6).await;

    for message in sim.sent() {
        let statuses: Vec<String> = webhooks
            .iter()
            .map(verified)
            .map(|body| body["entry"][0]["changes"][0]["value"]["statuses"][0].clone())
            .filter(|status| status["id"] == message.wamid.as_str())
            .map(|status| status["status"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(statuses, ["sent", "delivered", "read"], "{}", message.wamid);
    }
}
