//! Health, the API document, the error format, limits and the layers around every route.

use std::time::Duration;

use reqwest::header;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[actix_web::test]
async fn every_response_carries_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    let headers = response.headers();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers["x-request-id"].len(), 16);
}

#[actix_web::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let doc: Value = json_of(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/me", "get"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/users", "get"),
        ("/api/v1/users", "post"),
        ("/api/v1/users/{id}", "get"),
        ("/api/v1/users/{id}", "patch"),
        ("/api/v1/users/{id}", "delete"),
        ("/api/v1/numbers", "get"),
        ("/api/v1/numbers", "post"),
        ("/api/v1/numbers/{id}", "patch"),
        ("/api/v1/numbers/{id}", "delete"),
        ("/api/v1/contacts/{key}", "get"),
        ("/api/v1/contacts/{key}", "patch"),
        ("/api/v1/webhooks/unprocessed", "get"),
        ("/api/v1/webhooks/unprocessed/{id}/replay", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    assert!(doc["components"]["schemas"]["UserView"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[actix_web::test]
async fn the_reference_page_renders_offline_from_the_document() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/api/v1/auth/login"));
    assert!(html.contains("href=\"/docs/docs.css\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    let css = app
        .client
        .get(app.url("/docs/docs.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
}

#[actix_web::test]
async fn unknown_api_routes_are_json_404s() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/nothing-here",
        "/api/v2/users",
        "/api/v1/users/1/nope",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_error(response, 404, "not_found").await;
    }
}

#[actix_web::test]
async fn protected_routes_refuse_missing_and_bad_tokens() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_error(response, 401, "unauthorized").await;
    for token in ["garbage", "a.b.c", ""] {
        let response = app.get("/api/v1/auth/me", token).await;
        assert_error(response, 401, "unauthorized").await;
    }
    // A token signed with another key is refused too.
    let other = spawn_app().await;
    let foreign = other.admin().await;
    let response = app.get("/api/v1/auth/me", &foreign.access).await;
    assert_error(response, 401, "unauthorized").await;
}

#[actix_web::test]
async fn bodies_that_are_not_json_or_too_large_are_refused_cleanly() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let url = app.url("/api/v1/users");
    let send = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(&url)
            .bearer_auth(&admin.access)
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };
    assert_error(
        send(b"{not json".to_vec(), "application/json")
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        send(vec![0xff, 0xfe, 0x00], "application/json")
            .await
            .unwrap(),
        400,
        "validation_failed",
    )
    .await;
    assert_error(
        send(b"{}".to_vec(), "text/plain").await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(200_000));
    assert_error(
        send(huge.into_bytes(), "application/json").await.unwrap(),
        413,
        "too_large",
    )
    .await;
    let users: Value = app.get_json("/api/v1/users", &admin.access).await;
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
}

#[actix_web::test]
async fn the_api_rate_limit_answers_429_with_retry_after() {
    let app = spawn_app_with(&["--rate-limit", "1", "--rate-limit-burst", "5"]).await;
    let mut limited = None;
    for _ in 0..20 {
        let response = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("the limit was reached");
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_error(response, 429, "rate_limited").await;
    // Health checks are outside the API's limit.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[actix_web::test]
async fn cors_allows_listed_and_same_origins_only() {
    let app = spawn_app_with(&["--cors-origins", "https://console.example.com"]).await;
    let preflight = |origin: String| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .send()
    };
    let allowed = preflight("https://console.example.com".into())
        .await
        .unwrap();
    assert_eq!(
        allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://console.example.com"
    );
    let same = preflight(format!("http://{}", app.address)).await.unwrap();
    assert!(same
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let evil = preflight("https://evil.example.net".into()).await.unwrap();
    assert!(!evil
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert!(evil.status().is_client_error());
}

#[actix_web::test]
async fn metrics_are_served_to_allowed_addresses_and_the_token_only() {
    let app = spawn_app_with(&[
        "--metrics-token",
        "scrape-me",
        "--metrics-allow",
        "10.9.9.9",
    ])
    .await;
    let chat = app.customer_says("5511988880000", "wamid.MT", "oi").await;
    let refused = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_error(refused, 403, "metrics_denied").await;
    let scrape = || async {
        let scraped = app
            .client
            .get(app.url("/metrics"))
            .bearer_auth("scrape-me")
            .send()
            .await
            .unwrap();
        assert_eq!(scraped.status(), 200);
        scraped.text().await.unwrap()
    };
    let text = scrape().await;
    for line in [
        "atende_webhooks_received_total 1",
        "atende_messages_in_total 1",
        "atende_chats{status=\"pending\"} 1",
        "# TYPE atende_http_request_duration_seconds histogram",
        "atende_storage_bytes",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
    // A reply held while the Cloud API is down shows in its number's outbox gauges, and
    // leaves them when it goes out.
    let admin = app.admin().await;
    let id = chat["id"].as_str().unwrap();
    app.claim(id, &admin).await;
    app.sim.set_down(true);
    let reply = json!({"client_id": "m-1", "type": "text", "text": "já vejo"});
    let sent = app
        .post(
            &format!("/api/v1/chats/{id}/messages"),
            Some(&admin.access),
            &reply,
        )
        .await;
    assert_eq!(sent.status(), 202);
    let gauge =
        |text: &str, name: &str| metric_value(text, &format!("{name}{{number=\"{NUMBER}\"}}"));
    wait_until(
        "the reply in the outbox gauges",
        Duration::from_secs(10),
        || async {
            let text = scrape().await;
            let waiting = gauge(&text, "atende_outbox_depth") >= 1.0
                && gauge(&text, "atende_outbox_oldest_seconds") > 0.0;
            if waiting {
                Ok(())
            } else {
                Err(text)
            }
        },
    )
    .await;
    app.sim.set_down(false);
    app.sim
        .wait_for_sent(1, Duration::from_secs(30))
        .await
        .expect("the reply goes out");
    wait_until("the outbox to empty", Duration::from_secs(10), || async {
        let text = scrape().await;
        let empty = gauge(&text, "atende_outbox_depth") == 0.0
            && gauge(&text, "atende_outbox_oldest_seconds") == 0.0;
        if empty {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    // Loopback is allowed by default.
    let local = spawn_app().await;
    assert_eq!(
        local
            .client
            .get(local.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[actix_web::test]
async fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
    let login = |app: &TestApp, forwarded: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": "nobody@test.local", "password": "wrong-password"}))
            .send()
    };
    let behind_proxy = spawn_app_with(&["--trusted-proxies", "127.0.0.1"]).await;
    login(&behind_proxy, "203.0.113.7").await.unwrap();
    let direct = spawn_app().await;
    login(&direct, "203.0.113.7").await.unwrap();
    for (app, expected) in [(&behind_proxy, "203.0.113.7"), (&direct, "127.0.0.1")] {
        let admin = app.admin().await;
        let log: Value = app
            .get_json("/api/v1/audit?action=auth.login_failed", &admin.access)
            .await;
        assert_eq!(log["items"][0]["address"], expected);
    }
}

#[actix_web::test]
async fn the_hub_serves_https_itself_from_a_pem_certificate_and_key() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("a self-signed certificate");
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let app = spawn_app_with(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let https = |path: &str| format!("https://localhost:{}{path}", app.address.port());
    let health = client
        .get(https("/healthz"))
        .send()
        .await
        .expect("TLS handshake");
    assert_eq!(health.status(), 200);
    // Browsers are told to keep to HTTPS.
    assert!(health
        .headers()
        .contains_key(header::STRICT_TRANSPORT_SECURITY));
    let login = client
        .post(https("/api/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    // Plain HTTP on the TLS port gets no answer from the API.
    let plain = app.client.get(app.url("/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}
