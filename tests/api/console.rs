//! The browser console, in a real (headless) Chromium: what an agent, a supervisor and an
//! admin do all day, through the page itself.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;

const ENTER: &str = "\u{E007}";

/// Signs in through the page.
async fn sign_in(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.goto(&app.url("/")).await;
    submit_login(browser, email, password).await;
    browser.find("[data-testid=chat-list]").await;
}

/// Fills and submits the sign-in form of the page shown (console or simulator).
async fn submit_login(browser: &Browser, email: &str, password: &str) {
    browser.type_into("[data-testid=login-email]", email).await;
    browser
        .type_into("[data-testid=login-password]", password)
        .await;
    browser.click("[data-testid=login-submit]").await;
}

#[actix_web::test]
async fn the_console_is_served_and_runs_its_modules_under_the_strict_policy() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    browser.goto(&app.url("/")).await;
    browser.find("[data-testid=login-form]").await;
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
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    sign_in(&browser, &app, "ana@test.local", "user-password-1").await;
    browser.click("[data-testid=tab-pending]").await;
    // The customer writes while the page is open: the chat appears without a reload.
    app.customer_says("5511912340000", "wamid.UI1", "Meu pedido não chegou")
        .await;
    browser
        .wait_text("[data-testid=chat-rows]", "Meu pedido não chegou")
        .await;
    // A waiting row says how long the customer has waited.
    browser
        .wait_text("[data-testid=chat-row-wait]", "now")
        .await;
    browser.click("[data-testid=chat-row]").await;
    browser.click("[data-testid=claim]").await;
    browser
        .type_into("[data-testid=composer]", "Olá! Vou verificar agora.")
        .await;
    browser.type_into("[data-testid=composer]", ENTER).await;
    let sent = app
        .sim
        .wait_for_sent(1, std::time::Duration::from_secs(20))
        .await
        .expect("sent through the Cloud API");
    assert_eq!(sent[0].body["text"]["body"], "Olá! Vou verificar agora.");
    // The simulated Cloud API reports sent, delivered, read: the tick turns blue.
    browser
        .wait_until("the read tick", "document.querySelector('[data-testid=message-bubble][data-direction=out] [data-testid=tick][data-status=read]')")
        .await;
    browser.screenshot("agent-conversation").await;
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
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    browser.goto(&app.url("/")).await;
    submit_login(&browser, "new@test.local", "first-password").await;
    browser
        .type_into("[data-testid=password-new]", "second-password")
        .await;
    browser
        .type_into("[data-testid=password-confirm]", "second-password")
        .await;
    browser.click("[data-testid=password-submit]").await;
    browser.find("[data-testid=chat-list]").await;
    app.login("new@test.local", "second-password").await;
}

#[actix_web::test]
async fn admins_see_the_admin_view_and_the_page_speaks_english_on_request() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-testid=nav-admin]").await;
    browser
        .wait_text("[data-testid=users-table]", ADMIN_EMAIL)
        .await;
    // The click-to-chat QR code is drawn by the hub and redrawn for a prefilled text.
    browser.click("[data-testid=admin-qr]").await;
    let loaded = "((i) => !!i && !i.hidden && i.complete && i.naturalWidth >= 256)\
                  (document.querySelector('[data-testid=qr-image]'))";
    browser.wait_until("the QR code", loaded).await;
    browser.screenshot("admin-qr").await;
    let first = browser
        .eval(
            "return document.querySelector('[data-testid=qr-image]').src",
            json!([]),
        )
        .await;
    browser
        .type_into("[data-testid=qr-text]", "Vim pelo cartaz")
        .await;
    browser
        .wait_until(
            "the QR code for the prefilled text",
            &format!(
                "{loaded} && document.querySelector('[data-testid=qr-image]').src !== {first}"
            ),
        )
        .await;
    browser.click("[data-testid=nav-supervisor]").await;
    browser.find("[data-testid=sup-agents]").await;
    browser.screenshot("supervisor").await;
    browser.click("[data-testid=nav-chats]").await;
    browser.click("[data-testid=user-menu]").await;
    browser
        .eval(
            "const s = document.querySelector('[data-testid=lang-switch]'); s.value = 'en'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([]),
        )
        .await;
    browser
        .wait_until("English labels", "document.documentElement.lang === 'en'")
        .await;
    browser
        .wait_text("[data-testid=tab-pending]", "Waiting")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

/// Fails when what `script` measures ([content width, box width]) overflows.
async fn assert_fits(browser: &Browser, what: &str, script: &str) {
    let widths = browser.eval(script, json!([])).await;
    assert!(
        widths[0].as_u64() <= widths[1].as_u64(),
        "{what} overflows: {widths}"
    );
}

const TAB_ROW: &str =
    "const t = document.querySelector('.tabs'); return [t.scrollWidth, t.clientWidth];";
const PAGE: &str = "return [document.documentElement.scrollWidth, window.innerWidth];";

#[actix_web::test]
async fn on_a_phone_the_list_and_the_conversation_are_two_screens() {
    let app = spawn_app().await;
    app.customer_says("5511912349999", "wamid.UI2", "oi do celular")
        .await;
    let Some(browser) = Browser::start(390, 844).await else {
        return;
    };
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Every tab fits the phone's width, none hidden behind a scroll.
    assert_fits(&browser, "the tab row", TAB_ROW).await;
    assert_fits(&browser, "the page", PAGE).await;
    browser.screenshot("phone-list").await;
    // In Portuguese too, whose tab names are longer.
    browser
        .eval("localStorage.setItem('atende.lang', 'pt-BR')", json!([]))
        .await;
    browser.goto(&app.url("/")).await;
    browser
        .wait_text("[data-testid=tab-pending]", "Aguardando")
        .await;
    assert_fits(&browser, "the Portuguese tab row", TAB_ROW).await;
    browser.click("[data-testid=tab-all]").await;
    browser.click("[data-testid=chat-row]").await;
    browser.find("[data-testid=conversation]").await;
    let visible = |css: &str| {
        format!("(() => {{ const e = document.querySelector('{css}'); return !!e && e.getBoundingClientRect().width > 0 && getComputedStyle(e).display !== 'none'; }})()")
    };
    browser
        .wait_until(
            "the conversation alone",
            &format!(
                "{} && !{}",
                visible("[data-testid=conversation]"),
                visible("[data-testid=chat-list]")
            ),
        )
        .await;
    browser.click("[data-testid=back]").await;
    browser
        .wait_until("the list again", &visible("[data-testid=chat-list]"))
        .await;
    // The staff's pages fit the phone too.
    for page in ["contacts", "campaigns", "reports"] {
        browser.click(&format!("[data-testid=nav-{page}]")).await;
        browser.find(&format!("[data-testid={page}]")).await;
        assert_fits(&browser, page, PAGE).await;
        browser.screenshot(&format!("phone-{page}")).await;
    }
}

#[actix_web::test]
async fn the_sandbox_simulator_plays_a_customer_in_the_browser() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    browser.goto(&app.url("/simulator")).await;
    submit_login(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .fill("[data-testid=sim-new-number]", "5511955551234")
        .await;
    browser
        .type_into("[data-testid=sim-new-name]", "Cliente Simulado")
        .await;
    browser.click("[data-testid=sim-add]").await;
    browser
        .type_into("[data-testid=sim-composer]", "Oi, é um teste")
        .await;
    browser.click("[data-testid=sim-send]").await;
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

/// Opens the first chat of the "all" (staff) or "pending" list and claims it.
async fn open_and_claim(browser: &Browser, tab: &str) {
    browser.click(&format!("[data-testid={tab}]")).await;
    browser.click("[data-testid=chat-row]").await;
    browser.click("[data-testid=claim]").await;
    browser.find("[data-testid=composer]").await;
}

#[actix_web::test]
async fn a_picture_goes_out_and_the_chat_is_closed_from_the_page() {
    let app = spawn_app().await;
    app.customer_says("5511912341111", "wamid.UI3", "manda a foto do produto")
        .await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    open_and_claim(&browser, "tab-pending").await;
    let picture = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    std::fs::write(
        picture.path(),
        atende_web::sandbox::placeholder_media("sim-image-1")
            .unwrap()
            .0,
    )
    .unwrap();
    browser
        .type_into(
            "[data-testid=attach-input]",
            picture.path().to_str().unwrap(),
        )
        .await;
    browser
        .type_into("[data-testid=attach-caption]", "aqui está")
        .await;
    browser.screenshot("attach-preview").await;
    browser.click("[data-testid=attach-send]").await;
    let sent = app
        .sim
        .wait_for_sent(1, std::time::Duration::from_secs(20))
        .await
        .expect("the picture");
    assert_eq!(
        (
            sent[0].body["type"].as_str(),
            sent[0].body["image"]["caption"].as_str()
        ),
        (Some("image"), Some("aqui está"))
    );
    browser.click("[data-testid=close-chat]").await;
    browser
        .type_into("[data-testid=close-note]", "resolvido pelo teste")
        .await;
    browser.click("[data-testid=close-confirm]").await;
    browser.find("[data-testid=closed-notice]").await;
    browser.screenshot("closed").await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn outside_the_window_the_page_offers_templates() {
    let app = spawn_app().await;
    let old = chrono::Utc::now().timestamp() - 25 * 3600;
    let body = inbound_at(
        "5511912342222",
        "wamid.UI4",
        json!({"type": "text", "text": {"body": "oi, ontem"}}),
        old,
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-testid=tab-pending]").await;
    browser.click("[data-testid=chat-row]").await;
    browser.click("[data-testid=claim]").await;
    browser.find("[data-testid=window-closed]").await;
    browser.click("[data-testid=template-open]").await;
    browser.click("[data-testid=template-option]").await;
    browser
        .type_into("[data-testid=template-param]", "Maria")
        .await;
    browser.screenshot("template").await;
    browser.click("[data-testid=template-send]").await;
    let sent = app
        .sim
        .wait_for_sent(1, std::time::Duration::from_secs(20))
        .await
        .expect("the template");
    assert_eq!(sent[0].body["type"], "template");
}

#[actix_web::test]
async fn a_second_agent_does_not_see_the_first_agents_chat_and_html_stays_text() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let _bia = app.user(&admin, "bia@test.local", "agent").await;
    let secret = app
        .customer_says("5511912343333", "wamid.UI5", "assunto da Ana")
        .await;
    app.post(
        &format!("/api/v1/chats/{}/claim", secret["id"].as_str().unwrap()),
        Some(&ana.access),
        &json!({}),
    )
    .await;
    let html = "<img src=x onerror=\"document.title='pwned'\"><b>negrito</b>";
    app.customer_says("5511912344444", "wamid.UI6", html).await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    sign_in(&browser, &app, "bia@test.local", "user-password-1").await;
    browser.click("[data-testid=tab-pending]").await;
    browser
        .wait_text("[data-testid=chat-rows]", "negrito")
        .await;
    let rows = browser.eval("return [...document.querySelectorAll('[data-testid=chat-row]')].map(r => r.dataset.chatId)", json!([])).await;
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "only the waiting chat: {rows}"
    );
    assert_ne!(rows[0], secret["id"]);
    browser.click("[data-testid=chat-row]").await;
    browser
        .wait_text("[data-testid=messages]", "<b>negrito</b>")
        .await;
    let injected = browser.eval("return document.querySelectorAll('[data-testid=messages] b, [data-testid=messages] img[src=x]').length", json!([])).await;
    assert_eq!(injected, 0, "message text is never HTML");
    assert_ne!(
        browser.eval("return document.title", json!([])).await,
        "pwned"
    );
}

#[actix_web::test]
async fn the_offline_banner_shows_while_the_hub_restarts_and_clears_after() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bind = format!("127.0.0.1:{}", free_port());
    let env = [("ATENDE_BIND", bind.as_str())];
    let mut command = atende_command(&data);
    command
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut hub = command.spawn().unwrap();
    let url = format!("http://{bind}");
    wait_listening(&url).await;
    let Some(browser) = Browser::start(1280, 800).await else {
        let _ = hub.kill();
        let _ = hub.wait();
        return;
    };
    browser.goto(&format!("{url}/")).await;
    submit_login(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.find("[data-testid=chat-list]").await;
    let shown = "(() => { const b = document.querySelector('[data-testid=banner-offline]'); return !!b && !b.hidden; })()";
    hub.kill().unwrap();
    hub.wait().unwrap();
    browser.wait_until("the offline banner", shown).await;
    browser.screenshot("offline").await;
    let mut command = atende_command(&data);
    command
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut again = command.spawn().unwrap();
    wait_listening(&url).await;
    browser
        .wait_until("the banner to clear", &format!("!{shown}"))
        .await;
    let _ = again.kill();
    let _ = again.wait();
}

/// Waits until a hub answers at `url`.
async fn wait_listening(url: &str) {
    let within = std::time::Duration::from_secs(30);
    wait_until("the hub to answer", within, || async {
        reqwest::get(format!("{url}/healthz"))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
}

#[actix_web::test]
async fn the_simulator_shows_the_agents_reply_with_its_ticks() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    browser.goto(&app.url("/simulator")).await;
    submit_login(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .fill("[data-testid=sim-new-number]", "5511955556789")
        .await;
    browser.click("[data-testid=sim-add]").await;
    browser
        .type_into("[data-testid=sim-composer]", "Tem em estoque?")
        .await;
    browser.click("[data-testid=sim-send]").await;
    let chats = app
        .eventually(
            "/api/v1/chats?q=5511955556789",
            &admin.access,
            "the chat",
            |c| c["items"][0]["id"].is_string(),
        )
        .await;
    let id = chats["items"][0]["id"].as_str().unwrap();
    app.claim(id, &admin).await;
    app.post(
        &format!("/api/v1/chats/{id}/messages"),
        Some(&admin.access),
        &json!({"client_id": "sim-rt", "type": "text", "text": "Temos sim!"}),
    )
    .await;
    browser
        .wait_until("the reply, read", "[...document.querySelectorAll('[data-testid=sim-bubble]')].some(b => b.textContent.includes('Temos sim!') && b.dataset.status === 'read')")
        .await;
    browser.screenshot("simulator").await;
}

#[actix_web::test]
async fn a_username_only_customer_and_each_chats_number_are_shown() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    // A customer known only by a username writes to the second number; another, by phone,
    // to the first.
    let username_only = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5521999990000",
                "phone_number_id": atende_web::sandbox::SANDBOX_SECOND_NUMBER_ID},
            "contacts": [{"profile": {"username": "@realsheenanelson"},
                "user_id": "US.13491208655302741918"}],
            "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.UN1",
                "timestamp": chrono::Utc::now().timestamp().to_string(),
                "type": "text", "text": {"body": "Tem em azul?"}}]
        }}]}]
    });
    assert_eq!(app.webhook(&username_only).await.status(), 200);
    app.customer_says("5511912340000", "wamid.UN2", "Bom dia")
        .await;
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-testid=tab-pending]").await;
    browser
        .wait_text("[data-testid=chat-rows]", "@realsheenanelson")
        .await;
    browser
        .wait_text("[data-testid=chat-rows]", "Sandbox 2")
        .await;
    let rows = "[...document.querySelectorAll('[data-testid=chat-row]')]";
    let row = browser
        .eval(
            &format!("return {rows}.findIndex((r) => r.textContent.includes('@realsheenanelson'))"),
            json!([]),
        )
        .await;
    let index = row.as_u64().expect("the username's row");
    browser
        .eval(&format!("{rows}[{index}].click(); return true"), json!([]))
        .await;
    browser
        .wait_text("[data-testid=conv-sub]", "@realsheenanelson")
        .await;
    browser
        .wait_text("[data-testid=conv-sub]", "Sandbox 2")
        .await;
    browser.screenshot("username-only-customer").await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn admins_add_a_number_and_replay_its_kept_webhook_from_the_console() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    let mut body = inbound("5511900020002", "wamid.UI-R1", text("para o número novo"));
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] =
        json!("106540352242922");
    let answer: serde_json::Value = app.webhook(&body).await.json().await.unwrap();
    assert_eq!(answer["unprocessed"], 1);
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-testid=nav-admin]").await;
    browser.click("[data-testid=admin-numbers]").await;
    browser
        .wait_text("[data-testid=numbers-table]", "Sandbox 2")
        .await;
    browser.click("[data-testid=number-create]").await;
    browser
        .type_into("[data-testid=number-id]", "106540352242922")
        .await;
    browser
        .type_into("[data-testid=number-name]", "Vendas")
        .await;
    browser.click("[data-testid=number-save]").await;
    browser
        .wait_text("[data-testid=numbers-table]", "Vendas")
        .await;
    browser.click("[data-testid=admin-unprocessed]").await;
    browser
        .wait_text("[data-testid=unprocessed-reason]", "Number not configured")
        .await;
    browser.click("[data-testid=unprocessed-replay]").await;
    browser
        .wait_text("[data-testid=unprocessed-outcome]", "1 stored")
        .await;
    browser.screenshot("admin-unprocessed").await;
    let admin = app.admin().await;
    app.eventually(
        "/api/v1/chats",
        &admin.access,
        "the replayed chat",
        |page| page["items"][0]["phone_number_id"] == "106540352242922",
    )
    .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn edits_deletions_and_messages_sent_from_the_phone_are_marked_in_the_thread() {
    let app = spawn_app().await;
    let customer = "5511900030003";
    app.customer_says(customer, "wamid.UI-E1", "pedido 123")
        .await;
    app.customer_says(customer, "wamid.UI-E2", "número errado")
        .await;
    let change = |item: serde_json::Value, field: &str, list: &str| {
        let mut body = inbound(customer, "unused", text("x"));
        let value = &mut body["entry"][0]["changes"][0];
        value["field"] = json!(field);
        value["value"].as_object_mut().unwrap().remove("messages");
        value["value"][list] = json!([item]);
        body
    };
    let edit = json!({"from": customer, "id": "wamid.UI-E3", "timestamp": "1749854575", "type": "edit",
        "edit": {"original_message_id": "wamid.UI-E1", "message": {"type": "text", "text": {"body": "pedido 1234"}}}});
    let revoke = json!({"from": customer, "id": "wamid.UI-E4", "timestamp": "1749854575", "type": "revoke",
        "revoke": {"original_message_id": "wamid.UI-E2"}});
    let echo = json!({"from": "5511000000000", "to": customer, "id": "wamid.UI-E5",
        "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text", "text": {"body": "Respondi pelo celular"}});
    for body in [
        change(edit, "messages", "messages"),
        change(revoke, "messages", "messages"),
        change(echo, "smb_message_echoes", "message_echoes"),
    ] {
        let answer: serde_json::Value = app.webhook(&body).await.json().await.unwrap();
        assert_eq!(answer["unprocessed"], 0, "{answer}");
    }
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-testid=tab-pending]").await;
    browser.click("[data-testid=chat-row]").await;
    browser
        .wait_text("[data-testid=message-edited]", "edited")
        .await;
    browser
        .wait_text("[data-testid=message-deleted]", "This message was deleted")
        .await;
    browser
        .wait_text("[data-testid=message-from-phone]", "from the phone")
        .await;
    let thread = "document.querySelector('[data-testid=messages]') || document.body";
    let shown = browser
        .eval(&format!("return ({thread}).textContent"), json!([]))
        .await;
    let shown = shown.as_str().unwrap_or_default();
    assert!(
        shown.contains("pedido 1234") && !shown.contains("número errado"),
        "{shown}"
    );
    browser.screenshot("edited-deleted-phone").await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn the_simulator_plays_a_username_only_customer_of_the_second_number() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    browser.goto(&app.url("/simulator")).await;
    submit_login(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .type_into("[data-testid=sim-new-name]", "Sheena Nelson")
        .await;
    browser.click("[data-testid=sim-username-only]").await;
    browser
        .eval(
            "const s = document.querySelector('[data-testid=sim-number]'); s.value = arguments[0]; return s.value",
            json!([atende_web::sandbox::SANDBOX_SECOND_NUMBER_ID]),
        )
        .await;
    browser.click("[data-testid=sim-add]").await;
    browser
        .type_into("[data-testid=sim-composer]", "Tem em azul?")
        .await;
    browser.click("[data-testid=sim-send]").await;
    let admin = app.admin().await;
    let page = app
        .eventually("/api/v1/chats", &admin.access, "the username's chat", |c| {
            c["items"][0]["last_message"]["preview"] == "Tem em azul?"
        })
        .await;
    let chat = &page["items"][0];
    assert_eq!(
        chat["phone_number_id"],
        atende_web::sandbox::SANDBOX_SECOND_NUMBER_ID
    );
    assert_eq!(chat["contact"]["wa_id"], serde_json::Value::Null);
    assert_eq!(chat["contact"]["username"], "@sheenanelson");
    assert!(chat["contact"]["user_id"]
        .as_str()
        .unwrap()
        .starts_with("BR."));
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_new_waiting_chat_is_announced_with_its_first_message() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let _ana = app.user(&admin, "ana@test.local", "agent").await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    sign_in(&browser, &app, "ana@test.local", "user-password-1").await;
    // The page's notifications, recorded instead of shown.
    browser
        .eval(
            "window.__notes = []; window.Notification = class { \
               static permission = 'granted'; \
               constructor(title, options) { window.__notes.push(title + ' | ' + options.body); } \
               close() {} }; return true",
            json!([]),
        )
        .await;
    app.customer_says("5511912345000", "wamid.UI-N1", "Preciso de ajuda")
        .await;
    browser
        .wait_until(
            "the new-chat notification",
            "window.__notes.some((n) => n.includes('Cliente 5511912345000: Preciso de ajuda'))",
        )
        .await;
    let count = browser
        .eval("return window.__notes.length", json!([]))
        .await;
    assert_eq!(count, 1, "announced once");
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn admins_make_a_token_and_a_webhook_and_read_its_delivery_log_in_the_console() {
    let app = spawn_app_with(&["--hook-retry-ms", "60000"]).await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.click("[data-testid=nav-admin]").await;
    browser.click("[data-testid=admin-integrations]").await;
    browser
        .wait_text("[data-testid=tokens-empty]", "No tokens")
        .await;
    browser.click("[data-testid=token-create]").await;
    browser
        .type_into("[data-testid=token-name]", "CRM <b>x</b>")
        .await;
    browser.click("[data-testid=token-scope-chats-read]").await;
    browser.click("[data-testid=token-save]").await;
    browser.find("[data-testid=token-secret]").await;
    let secret = browser
        .eval(
            "return document.querySelector('[data-testid=token-secret]').value",
            json!([]),
        )
        .await;
    let secret = secret.as_str().expect("the secret is shown").to_string();
    assert!(secret.starts_with("atd_"));
    assert_eq!(app.get("/api/v1/chats", &secret).await.status(), 200);
    browser.click("[data-testid=secret-done]").await;
    // The name is text, never markup.
    browser
        .wait_text("[data-testid=token-row]", "CRM <b>x</b>")
        .await;

    // A receiver that is not there: the log tells why each attempt failed.
    browser.click("[data-testid=webhook-create]").await;
    browser
        .type_into("[data-testid=webhook-url]", "http://127.0.0.1:9/hooks")
        .await;
    browser.click("[data-testid=webhook-save]").await;
    browser.find("[data-testid=webhook-secret]").await;
    browser.click("[data-testid=secret-done]").await;
    browser
        .wait_text("[data-testid=webhook-row]", "127.0.0.1:9")
        .await;
    app.customer_says("5511900040004", "wamid.UI-W1", "oi")
        .await;
    browser.click("[data-testid=webhook-deliveries]").await;
    browser.find("[data-testid=delivery]").await;
    browser
        .wait_until(
            "a failed attempt in the log",
            "(() => { const seen = [...document.querySelectorAll('[data-testid=delivery-last]')]\
             .some(e => e.textContent.includes('no answer')); \
             if (!seen) document.querySelector('[data-testid=deliveries-refresh]').click(); return seen; })()",
        )
        .await;
    browser.screenshot("admin-integrations").await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_quick_reply_with_buttons_goes_out_as_buttons_and_the_tap_shows_as_its_answer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let canned = app
        .post(
            "/api/v1/canned-responses",
            Some(&admin.access),
            &json!({"shortcut": "ajuda", "text": "Posso ajudar em algo mais?", "buttons": ["Sim", "Não, obrigado"]}),
        )
        .await;
    assert_eq!(canned.status(), 201);
    let too_many = app
        .post(
            "/api/v1/canned-responses",
            Some(&admin.access),
            &json!({"shortcut": "x", "text": "x", "buttons": ["a", "b", "c", "d"]}),
        )
        .await;
    assert_error(too_many, 400, "validation_failed").await;
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    app.customer_says("5511900050005", "wamid.UI-Q1", "oi")
        .await;
    sign_in(&browser, &app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    open_and_claim(&browser, "tab-pending").await;
    // The thread tells who took the chat, live.
    browser
        .wait_text("[data-testid=message-activity]", "took the chat")
        .await;
    browser.type_into("[data-testid=composer]", "/aju").await;
    browser.click("[data-testid=quick-reply]").await;
    browser
        .wait_text("[data-testid=buttons-bar]", "Não, obrigado")
        .await;
    browser.type_into("[data-testid=composer]", ENTER).await;
    let sent = app
        .sim
        .wait_for_sent(1, std::time::Duration::from_secs(20))
        .await
        .expect("sent through the Cloud API");
    let buttons = sent
        .iter()
        .find(|m| m.body["type"] == "interactive")
        .expect("buttons sent");
    assert_eq!(
        buttons.body["interactive"]["action"]["buttons"][1]["reply"]["title"],
        "Não, obrigado"
    );
    browser
        .wait_text("[data-testid=message-choices]", "Não, obrigado")
        .await;
    let thread = app
        .eventually(
            "/api/v1/chats?status=open",
            &admin.access,
            "the open chat",
            |p| p["items"][0]["id"].is_string(),
        )
        .await;
    let chat_id = thread["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/chats/{chat_id}/messages");
    let page = app
        .eventually(&path, &admin.access, "the buttons' wamid", |p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["type"] == "interactive" && m["wamid"].is_string())
        })
        .await;
    let question = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == "interactive")
        .unwrap()["id"]
        .clone();
    app.customer_taps(&admin, "5511900050005", &json!(question), "sim")
        .await;
    // The answer quotes the question it answers.
    browser
        .wait_text("[data-testid=message-quote]", "Posso ajudar em algo mais?")
        .await;
    browser.screenshot("quick-reply-buttons").await;
    // The customer says SAIR: the contact panel shows them out of marketing, and why.
    app.customer_says("5511900050005", "wamid.UI-Q2", "sair")
        .await;
    browser.click("[data-testid=contact-info]").await;
    browser
        .wait_text(
            "[data-testid=contact-opt-out-since]",
            "by writing a stop word",
        )
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

/// The authenticator of an enrolment shown on the page: its key, as the user would type it
/// into an app.
async fn authenticator_on_page(browser: &Browser) -> totp_rs::TOTP {
    browser.find("[data-testid=twofa-secret]").await;
    let key = browser
        .eval(
            "return document.querySelector('[data-testid=twofa-secret]').textContent;",
            json!([]),
        )
        .await;
    let key = key.as_str().unwrap().replace(' ', "");
    let secret = totp_rs::Secret::Encoded(key).to_bytes().unwrap();
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        "test".into(),
    )
    .unwrap()
}

#[actix_web::test]
async fn a_role_that_must_have_two_step_verification_enrols_then_signs_in_with_a_code() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.user(&admin, "ana@test.local", "agent").await;
    let mut settings: serde_json::Value = app.get_json("/api/v1/settings", &admin.access).await;
    settings["two_factor_roles"] = json!(["agent"]);
    assert_eq!(
        app.put("/api/v1/settings", &admin.access, &settings)
            .await
            .status(),
        200
    );
    let Some(browser) = Browser::start(1280, 800).await else {
        return;
    };
    browser.goto(&app.url("/")).await;
    submit_login(&browser, "ana@test.local", "user-password-1").await;
    // Before the console: the enrolment, with a QR code the strict policy lets show.
    browser.find("[data-testid=enrol-page]").await;
    browser
        .wait_until(
            "the QR code drawn",
            "document.querySelector('[data-testid=twofa-qr]')?.naturalWidth > 0",
        )
        .await;
    let phone = authenticator_on_page(&browser).await;
    browser.screenshot("two-step-enrol").await;
    browser
        .type_into("[data-testid=twofa-code]", "000000")
        .await;
    browser.click("[data-testid=twofa-confirm]").await;
    browser
        .find("[data-testid=twofa-error]:not([hidden])")
        .await;
    browser
        .fill(
            "[data-testid=twofa-code]",
            &phone.generate_current().unwrap(),
        )
        .await;
    browser.click("[data-testid=twofa-confirm]").await;
    browser.find("[data-testid=twofa-recovery-codes]").await;
    let codes = browser
        .eval(
            "return [...document.querySelectorAll('[data-testid=twofa-recovery-codes] code')].map((c) => c.textContent);",
            json!([]),
        )
        .await;
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    assert_eq!(codes.len(), 10);
    browser.click("[data-testid=twofa-kept]").await;
    browser.click("[data-testid=twofa-done]").await;
    browser.find("[data-testid=chat-list]").await;

    // The menu says it is on and, the role needing it, offers no way to turn it off.
    browser.click("[data-testid=user-menu]").await;
    browser.click("[data-testid=open-2fa]").await;
    browser.find("[data-testid=twofa-required]").await;
    browser
        .wait_until(
            "no turn-off button",
            "!document.querySelector('[data-testid=twofa-turn-off]')",
        )
        .await;
    browser.click("[data-testid=dialog-close]").await;

    // Signing in again asks for a code; a recovery code does it.
    browser.click("[data-testid=user-menu]").await;
    browser.click("[data-testid=logout]").await;
    submit_login(&browser, "ana@test.local", "user-password-1").await;
    browser.type_into("[data-testid=login-code]", "12345").await;
    browser.click("[data-testid=login-code-submit]").await;
    browser
        .find("[data-testid=login-code-error]:not([hidden])")
        .await;
    browser.fill("[data-testid=login-code]", &codes[0]).await;
    browser.click("[data-testid=login-code-submit]").await;
    browser.find("[data-testid=chat-list]").await;
    let again = json!({"email": "ana@test.local", "password": "user-password-1", "code": codes[0]});
    let response = app.post("/api/v1/auth/login", None, &again).await;
    assert_error(response, 401, "invalid_two_factor_code").await;
}
