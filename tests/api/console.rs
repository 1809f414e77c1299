//! The browser console, in a real (headless) Chromium: what an agent, a supervisor and an
//! admin do all day, through the page itself.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;

const ENTER: &str = "\u{E007}";

/// Signs in through the page.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.goto(&app.url("/")).await;
    browser.type_into("[data-test=login-email]", email).await;
    browser
        .type_into("[data-test=login-password]", password)
        .await;
    browser.click("[data-test=login-submit]").await;
    browser.find("[data-test=chat-list]").await;
}

#[actix_web::test]
async fn the_console_is_served_and_runs_its_modules_under_the_strict_policy() {
    let app = spawn_app().await;
    let browser = Browser::start(1280, 800).await;
    browser.goto(&app.url("/")).await;
    browser.find("[data-test=login-form]").await;
    let page = app.client.get(app.url("/chats/123")).send().await.unwrap();
    assert_eq!(page.status(), 200, "client-side routes get the console");
    let asset = app
        .client
        .get(app.url("/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert!(asset.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let etag = asset.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/assets/app.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        304,
        "unchanged assets are revalidated, not resent"
    );
    assert_error(
        app.client
            .get(app.url("/assets/nothing.js"))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn an_agent_takes_a_waiting_chat_and_answers_it_live() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let _ana = app.user(&admin, "ana@test.local", "agent").await;
    let browser = Browser::start(1280, 800).await;
    sign_in(&browser, &app, "ana@test.local", "user-password-1").await;
    browser.click("[data-test=tab-pending]").await;
    // The customer writes while the page is open: the chat appears without a reload.
    app.customer_says("5511912340000", "wamid.UI1", "Meu pedido não chegou")
        .await;
    browser
        .wait_text("[data-test=chat-rows]", "Meu pedido não chegou")
        .await;
    browser.click("[data-test=chat-row]").await;
    browser.click("[data-test=claim]").await;
    browser
        .type_into("[data-test=composer]", "Olá! Vou verificar agora.")
        .await;
    browser.type_into("[data-test=composer]", ENTER).await;
    let sent = app
        .sim
        .wait_for_sent(1, std::time::Duration::from_secs(20))
        .await
        .expect("sent through the Cloud API");
    assert_eq!(sent[0].body["text"]["body"], "Olá! Vou verificar agora.");
    // The simulated Cloud API reports sent, delivered, read: the tick turns blue.
    browser
        .wait_until("the read tick", "document.querySelector('[data-test=message-bubble][data-direction=out] [data-test=tick][data-status=read]')")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_generated_password_must_be_changed_at_the_first_sign_in() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/api/v1/users", Some(&admin.access), &json!({"email": "new@test.local", "name": "Nova", "role": "agent", "password": "first-password"}))
        .await;
    assert_eq!(created.status(), 201);
    let browser = Browser::start(1280, 800).await;
    browser.goto(&app.url("/")).await;
    browser
        .type_into("[data-test=login-email]", "new@test.local")
        .await;
    browser
        .type_into("[data-test=login-password]", "first-password")
        .await;
    browser.click("[data-test=login-submit]").await;
    browser
        .type_into("[data-test=password-new]", "second-password")
        .await;
    browser
        .type_into("[data-test=password-confirm]", "second-password")
        .await;
    browser.click("[data-test=password-submit]").await;
    browser.find("[data-test=chat-list]").await;
    app.login("new@test.local", "second-password").await;
}

#[actix_web::test]
async fn admins_see_the_admin_view_and_the_page_speaks_english_on_request() {
    let app = spawn_app().await;
    let browser = Browser::start(1280, 800).await;
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-test=nav-admin]").await;
    browser
        .wait_text("[data-test=users-table]", ADMIN_EMAIL)
        .await;
    browser.click("[data-test=nav-supervisor]").await;
    browser.find("[data-test=sup-agents]").await;
    browser.click("[data-test=nav-chats]").await;
    browser.click("[data-test=user-menu]").await;
    browser
        .eval(
            "const s = document.querySelector('[data-test=lang-switch]'); s.value = 'en'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([]),
        )
        .await;
    browser
        .wait_until("English labels", "document.documentElement.lang === 'en'")
        .await;
    browser
        .wait_text("[data-test=tab-pending]", "Waiting")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn on_a_phone_the_list_and_the_conversation_are_two_screens() {
    let app = spawn_app().await;
    app.customer_says("5511912349999", "wamid.UI2", "oi do celular")
        .await;
    let browser = Browser::start(390, 844).await;
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-test=tab-all]").await;
    browser.click("[data-test=chat-row]").await;
    browser.find("[data-test=conversation]").await;
    let visible = |css: &str| {
        format!("(() => {{ const e = document.querySelector('{css}'); return !!e && e.getBoundingClientRect().width > 0 && getComputedStyle(e).display !== 'none'; }})()")
    };
    browser
        .wait_until(
            "the conversation alone",
            &format!(
                "{} && !{}",
                visible("[data-test=conversation]"),
                visible("[data-test=chat-list]")
            ),
        )
        .await;
    browser.click("[data-test=back]").await;
    browser
        .wait_until("the list again", &visible("[data-test=chat-list]"))
        .await;
}

#[actix_web::test]
async fn the_sandbox_simulator_plays_a_customer_in_the_browser() {
    let app = spawn_app().await;
    let browser = Browser::start(1280, 800).await;
    browser.goto(&app.url("/simulator")).await;
    browser
        .type_into("[data-test=login-email]", ADMIN_EMAIL)
        .await;
    browser
        .type_into("[data-test=login-password]", ADMIN_PASSWORD)
        .await;
    browser.click("[data-test=login-submit]").await;
    browser
        .fill("[data-test=sim-new-number]", "5511955551234")
        .await;
    browser
        .type_into("[data-test=sim-new-name]", "Cliente Simulado")
        .await;
    browser.click("[data-test=sim-add]").await;
    browser
        .type_into("[data-test=sim-composer]", "Oi, é um teste")
        .await;
    browser.click("[data-test=sim-send]").await;
    let admin = app.admin().await;
    app.eventually(
        "/api/v1/chats?q=simulado",
        &admin.access,
        "the simulated customer's chat",
        |c| c["items"][0]["last_message"]["preview"] == "Oi, é um teste",
    )
    .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}
