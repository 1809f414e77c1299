//! The served OpenAPI document against the router, inside `cargo test`: every operation
//! it lists is routed and answers only statuses it declares (signed out, and signed in as
//! an admin with an empty body), and every method it does not list answers 405 with
//! `Allow`. The property-based run of schemathesis is `scripts/conformance.sh`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Operations the walk leaves out: signing out ends the walk's own session.
const SKIPPED: [(&str, &str); 1] = [("post", "/api/v1/auth/logout")];

/// `path` with each `{parameter}` filled with a value that names nothing.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "999"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A hub, its admin and the document it serves.
async fn served_document() -> (TestApp, Tokens, Value) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let doc = app.get_json("/api/v1/openapi.json", &admin.access).await;
    (app, admin, doc)
}

/// `method` ("get") as reqwest's method.
fn verb(method: &str) -> Method {
    Method::from_bytes(method.to_uppercase().as_bytes()).expect("an HTTP method")
}

#[actix_web::test]
async fn every_documented_operation_answers_only_what_it_declares() {
    let (app, admin, doc) = served_document().await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 50, "the document lists the API");
    let mut problems = Vec::new();
    let mut walked = 0;
    for (path, item) in paths {
        let url = concrete(path);
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            if SKIPPED.contains(&(method, path.as_str())) || path.ends_with("/ws") {
                continue;
            }
            let declared = |status: u16| op["responses"].get(status.to_string()).is_some();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            for token in [None, Some(admin.access.as_str())] {
                let response = app.send(verb(method), &url, token, &json!({})).await;
                let status = response.status().as_u16();
                walked += 1;
                if token.is_none() && secured && status != 401 {
                    problems.push(format!("{method} {path} signed out: {status}, not 401"));
                }
                if !declared(status) {
                    problems.push(format!("{method} {path}: {status} is not declared"));
                }
                if status == 404 || status == 405 {
                    let body: Value = response.json().await.unwrap_or_default();
                    let code = body["error"]["code"].as_str().unwrap_or_default();
                    if code == "method_not_allowed" || (code == "not_found" && !url.contains("999"))
                    {
                        problems.push(format!("{method} {path} is not routed ({status})"));
                    }
                }
            }
        }
    }
    assert!(walked > 150, "walked {walked} requests");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[actix_web::test]
async fn a_method_the_document_does_not_list_answers_405_with_allow() {
    let (app, admin, doc) = served_document().await;
    let paths = doc["paths"].as_object().expect("paths");
    // A less specific path that also matches (`/contacts/{key}` for `/contacts/export`)
    // takes the request: its handler answers 404, as no contact has such a key.
    let matches = |template: &str, url: &str| {
        let (t, u): (Vec<_>, Vec<_>) = (template.split('/').collect(), url.split('/').collect());
        t.len() == u.len() && t.iter().zip(&u).all(|(t, u)| t == u || t.starts_with('{'))
    };
    let mut problems = Vec::new();
    for (path, item) in paths {
        let url = concrete(path);
        let mut served: Vec<String> = METHODS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        served.sort();
        for method in METHODS.iter().filter(|m| item.get(**m).is_none()) {
            let response = app
                .send(verb(method), &url, Some(&admin.access), &json!({}))
                .await;
            let other = paths
                .iter()
                .any(|(t, i)| t != path && matches(t, &url) && i.get(*method).is_some());
            if other && response.status() == 404 {
                continue;
            }
            let allow = response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(", ").map(str::to_string).collect::<Vec<_>>());
            if response.status() != 405 {
                problems.push(format!("{method} {path}: {}", response.status()));
            } else if allow.as_ref() != Some(&served) {
                problems.push(format!(
                    "{method} {path}: Allow {allow:?}, serves {served:?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[actix_web::test]
async fn the_document_names_exactly_the_events_and_scopes_the_hub_takes() {
    let (_app, _, doc) = served_document().await;
    let names = |schema: &str| -> Vec<String> {
        let values = doc["components"]["schemas"][schema]["enum"].as_array();
        let values = values.unwrap_or_else(|| panic!("{schema} is an enum"));
        values
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let mut events: Vec<String> = atende_actors::hooks::HOOK_EVENTS
        .iter()
        .map(|e| e.to_string())
        .collect();
    events.push("*".into());
    assert_eq!(names("HookEventName"), events);
    let scopes: Vec<String> = atende_data::TokenScope::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    assert_eq!(names("ScopeName"), scopes);
}

#[actix_web::test]
async fn each_creation_links_to_what_it_made() {
    let (_app, _admin, doc) = served_document().await;
    let links = &doc["paths"]["/api/v1/queues"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["Patch"]["parameters"]["id"], "$response.body#/id");
    let patch = links["Patch"]["operationId"]
        .as_str()
        .expect("a linked operation");
    assert_eq!(
        doc["paths"]["/api/v1/queues/{id}"]["patch"]["operationId"],
        patch
    );
    let zones = &doc["components"]["schemas"]["BusinessHoursBody"]["properties"]["timezone"];
    let zones = zones["enum"].as_array().expect("the zones listed");
    assert!(zones.iter().any(|z| z == "America/Sao_Paulo"));
}

/// What a person obviously means is taken as meant; what the document forbids is refused.
#[actix_web::test]
async fn forgiving_inputs_are_taken_as_a_person_means_them() {
    let (app, admin, _doc) = served_document().await;
    let queue: Value = app
        .post(
            "/api/v1/queues",
            Some(&admin.access),
            &json!({"name": "Suporte", "color": "#111111", "greeting": "  "}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["greeting"], Value::Null, "an empty greeting is none");

    let hook = app
        .post(
            "/api/v1/integrations/webhooks",
            Some(&admin.access),
            &json!({"url": "https://crm.example/hook", "events": ["*"], "description": "", "bot_id": " "}),
        )
        .await;
    assert_eq!(hook.status(), 201);
    let hook: Value = hook.json().await.unwrap();
    assert_eq!(
        (&hook["description"], &hook["bot_id"]),
        (&Value::Null, &Value::Null)
    );
    let not_a_bot = app
        .post(
            "/api/v1/integrations/webhooks",
            Some(&admin.access),
            &json!({"url": "https://crm.example/hook", "events": ["*"], "bot_id": "424242"}),
        )
        .await;
    assert_error(not_a_bot, 409, "unknown_reference").await;

    let canned: Value = app
        .post(
            "/api/v1/canned-responses",
            Some(&admin.access),
            &json!({"shortcut": "/pix", "text": "Pode pagar?", "buttons": ["Sim", " sim ", "Não"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        canned["buttons"],
        json!(["Sim", "Não"]),
        "a title given twice is one"
    );

    let mut settings = app.get_json("/api/v1/settings", &admin.access).await;
    let question = settings["csat"]["question"].clone();
    settings["csat"] =
        json!({"enabled": false, "question": "", "template": {"name": "", "language": ""}});
    settings["business_hours"] = json!({"timezone": "america/sao_paulo", "days": [{"weekday": "mon", "open": "9:00", "close": " 18:00 "}]});
    let saved = app.put("/api/v1/settings", &admin.access, &settings).await;
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(
        saved["csat"]["question"], question,
        "an empty question keeps the one there is"
    );
    assert_eq!(saved["csat"]["template"], Value::Null);
    assert_eq!(saved["business_hours"]["timezone"], "America/Sao_Paulo");
    assert_eq!(
        saved["business_hours"]["days"][0],
        json!({"weekday": "mon", "open": "09:00", "close": "18:00"})
    );

    let id = app
        .claimed_chat(&admin, "5511987654321", "wamid.f1", "oi")
        .await;
    let transfer = format!("/api/v1/chats/{id}/transfer");
    for neither_or_both in [json!({}), json!({"user_id": "1", "queue_id": "suporte"})] {
        let refused = app
            .post(&transfer, Some(&admin.access), &neither_or_both)
            .await;
        let error = assert_error(refused, 400, "validation_failed").await;
        assert!(
            error["error"]["fields"]["body"].is_string(),
            "{neither_or_both}: {error}"
        );
    }
    let blank_tag = app
        .patch(
            &format!("/api/v1/chats/{id}"),
            &admin.access,
            &json!({"tags": [" "]}),
        )
        .await;
    assert_error(blank_tag, 400, "validation_failed").await;
}
