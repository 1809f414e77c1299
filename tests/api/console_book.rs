//! The console's contact book, campaigns, snooze and scheduled messages, in a real
//! (headless) Chromium, in pt-BR.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::campaigns::import_rows;
use crate::helpers::*;

/// Signs in as the admin, the page in Portuguese whatever the browser's languages.
async fn sign_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/")).await;
    browser
        .eval("localStorage.setItem('atende.lang', 'pt-BR')", json!([]))
        .await;
    browser.goto(&app.url("/")).await;
    browser
        .type_into("[data-testid=login-email]", ADMIN_EMAIL)
        .await;
    browser
        .type_into("[data-testid=login-password]", ADMIN_PASSWORD)
        .await;
    browser.click("[data-testid=login-submit]").await;
    browser.find("[data-testid=chat-list]").await;
}

/// A customer's chat, held by the admin; its id.
async fn held_chat(app: &TestApp, admin: &Tokens, phone: &str, text: &str) -> String {
    let chat = app
        .customer_says(phone, &format!("wamid.{phone}"), text)
        .await;
    let id = chat["id"].as_str().unwrap().to_string();
    app.claim(&id, admin).await;
    id
}

/// Signs in as the admin and opens chat `id`.
async fn open_chat(browser: &Browser, app: &TestApp, id: &str) {
    sign_in(browser, app).await;
    browser.goto(&app.url(&format!("/#/chats/{id}"))).await;
}

#[actix_web::test]
async fn the_contact_book_imports_a_sheet_with_its_report_and_edits_a_contact() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let fields = json!({"items": [{"key": "cidade", "label": "Cidade", "kind": "choice", "options": ["Recife", "Natal"]}]});
    let put = app
        .put("/api/v1/contact-fields", &admin.access, &fields)
        .await;
    assert_eq!(put.status(), 200);
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app).await;
    browser.click("[data-testid=nav-contacts]").await;
    browser.find("[data-testid=contacts]").await;

    let dir = tempfile::tempdir().unwrap();
    let sheet = dir.path().join("clientes.csv");
    std::fs::write(
        &sheet,
        "Nome;Telefone;Etiquetas;Cidade\nAna Lima;(11) 98888-0001;vip;recife\nBia;123;vip;Recife\n",
    )
    .unwrap();
    browser.click("[data-testid=contacts-import]").await;
    if browser
        .eval(
            "return document.querySelectorAll('[data-testid=import-number]').length",
            json!([]),
        )
        .await
        != 0
    {
        browser
            .eval(&format!("const s = document.querySelector('[data-testid=import-number]'); s.value = '{NUMBER}';"), json!([]))
            .await;
    }
    browser
        .type_into("[data-testid=import-file]", &sheet.display().to_string())
        .await;
    browser.click("[data-testid=import-go]").await;
    browser
        .wait_text("[data-testid=import-summary]", "1 criados, 0 mesclados")
        .await;
    browser.wait_text("[data-testid=import-refused]", "3").await;
    browser
        .wait_text("[data-testid=import-refused]", "phone")
        .await;
    browser.screenshot("contacts-import-report").await;
    browser.click("[data-testid=import-close]").await;
    browser
        .wait_text("[data-testid=contacts-table]", "Ana Lima")
        .await;

    browser.click("[data-testid=contact-row]").await;
    browser
        .wait_text("[data-testid=contact-detail-name]", "Ana Lima")
        .await;
    let city = browser
        .eval(
            "return document.querySelector('[data-testid=field-cidade]').value",
            json!([]),
        )
        .await;
    assert_eq!(city, "Recife");
    browser
        .fill("[data-testid=contact-edit-name]", "Ana Souza")
        .await;
    browser.click("[data-testid=contact-save]").await;
    browser
        .wait_text("[data-testid=contact-detail-name]", "Ana Souza")
        .await;
    let found = app.get_json("/api/v1/contacts?q=ana", &admin.access).await;
    assert_eq!(found["items"][0]["name"], "Ana Souza");
    assert_eq!(found["items"][0]["fields"]["cidade"], "Recife");
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_campaign_is_made_previewed_started_and_followed_live_in_the_console() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let rows: Vec<(String, String, &str)> = (0..3)
        .map(|i| (format!("Cliente {i}"), format!("5511955500{i:03}"), "vip"))
        .collect();
    import_rows(&app, &admin, &rows).await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app).await;
    browser.click("[data-testid=nav-campaigns]").await;
    browser.click("[data-testid=campaign-create]").await;
    browser
        .type_into("[data-testid=campaign-name]", "Natal")
        .await;
    browser
        .eval(
            "const s = document.querySelector('[data-testid=campaign-template]');
             s.value = [...s.options].find((o) => o.text.startsWith('oferta_do_mes')).value;
             s.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    browser
        .type_into("[data-testid=campaign-variable-2]", "o plano família")
        .await;
    browser
        .type_into("[data-testid=campaign-labels]", "vip")
        .await;
    browser.click("[data-testid=campaign-save]").await;
    browser
        .wait_text("[data-testid=campaign-preview-audience]", "3 contatos")
        .await;
    browser
        .wait_text("[data-testid=campaign-preview-cost]", "USD 0.19")
        .await;
    browser.click("[data-testid=campaign-start]").await;
    // Followed live: the counts move without a reload.
    browser
        .wait_text("[data-testid=campaign-count-read]", "3")
        .await;
    browser
        .wait_text("[data-testid=campaign-status]", "Concluída")
        .await;
    browser.screenshot("campaign-done").await;
    let offers = app
        .sim
        .sent()
        .iter()
        .filter(|m| m.body["type"] == "template")
        .count();
    assert_eq!(offers, 3);
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn an_agent_snoozes_a_chat_and_schedules_a_message_from_the_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = held_chat(&app, &admin, "5511977770000", "me chama amanhã").await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &id).await;
    browser.click("[data-testid=snooze]").await;
    browser.click("[data-testid=snooze-reply]").await;
    browser.click("[data-testid=snooze-confirm]").await;
    browser
        .wait_text("[data-testid=conv-sub]", "adiada até responder")
        .await;
    browser.click("[data-testid=tab-snoozed]").await;
    browser
        .wait_text("[data-testid=chat-rows]", "me chama amanhã")
        .await;
    browser.click("[data-testid=unsnooze]").await;
    browser.click("[data-testid=tab-mine]").await;
    browser
        .wait_text("[data-testid=chat-rows]", "me chama amanhã")
        .await;

    browser.click("[data-testid=schedule]").await;
    browser
        .type_into(
            "[data-testid=schedule-text]",
            "Bom dia! Como combinado, aqui está o boleto.",
        )
        .await;
    // Two seconds from now, as the page's datetime-local field holds it (local time).
    browser
        .eval(
            "const at = new Date(Date.now() + 2000);
             const pad = (n) => String(n).padStart(2, '0');
             document.querySelector('[data-testid=schedule-at]').value =
               `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}T${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`;",
            json!([]),
        )
        .await;
    browser.click("[data-testid=schedule-confirm]").await;
    browser.find("[data-testid=scheduled-item]").await;
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("the scheduled message goes out");
    assert_eq!(
        sent[0].body["text"]["body"],
        "Bom dia! Como combinado, aqui está o boleto."
    );
    browser
        .wait_until(
            "the strip cleared",
            "!document.querySelector('[data-testid=scheduled-item]')",
        )
        .await;
    let scheduled: Value = app
        .get_json(&format!("/api/v1/chats/{id}/scheduled"), &admin.access)
        .await;
    assert_eq!(scheduled["items"][0]["state"], "sent");

    // One for tomorrow, found and cancelled on the Agendadas page.
    let later = (chrono::Utc::now() + chrono::Duration::hours(20)).to_rfc3339();
    let made = app
        .post(
            &format!("/api/v1/chats/{id}/scheduled"),
            Some(&admin.access),
            &json!({"text": "Lembrete do boleto", "send_at": later}),
        )
        .await;
    assert_eq!(made.status(), 201);
    browser.click("[data-testid=nav-scheduled]").await;
    browser
        .wait_text("[data-testid=scheduled-table]", "Lembrete do boleto")
        .await;
    browser
        .wait_text("[data-testid=scheduled-table]", "Cliente 5511977770000")
        .await;
    browser.click("[data-testid=scheduled-row-cancel]").await;
    browser.find("[data-testid=scheduled-empty]").await;
    let pending = app.get_json("/api/v1/scheduled", &admin.access).await;
    assert!(pending["items"].as_array().unwrap().is_empty());
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_chat_is_labelled_from_the_picker_and_the_list_filters_by_label() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let labels = json!({"items": [{"name": "Urgente", "color": "#e53935"}, {"name": "Boleto", "color": "#25d366"}]});
    assert_eq!(
        app.put("/api/v1/labels", &admin.access, &labels)
            .await
            .status(),
        200
    );
    let chat = app
        .customer_says("5511966660000", "wamid.lb1", "segunda via do boleto")
        .await;
    app.customer_says("5511966661111", "wamid.lb2", "outra conversa")
        .await;
    let id = chat["id"].as_str().unwrap().to_string();
    app.claim(&id, &admin).await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &id).await;
    browser.click("[data-testid=chat-labels]").await;
    browser
        .eval(
            "[...document.querySelectorAll('[data-testid=label-option]')].find((i) => i.value === 'Boleto').click()",
            json!([]),
        )
        .await;
    browser.click("[data-testid=label-save]").await;
    browser
        .wait_text("[data-testid=conv-labels]", "Boleto")
        .await;
    browser.click("[data-testid=tab-all]").await;
    browser
        .wait_text("[data-testid=chat-rows]", "outra conversa")
        .await;
    browser
        .eval(
            "const s = document.querySelector('[data-testid=label-filter]'); s.value = 'Boleto'; s.dispatchEvent(new Event('change'));",
            json!([]),
        )
        .await;
    browser
        .wait_until(
            "only the labelled chat listed",
            "document.querySelectorAll('[data-testid=chat-row]').length === 1 && document.querySelector('[data-testid=chat-rows]').textContent.includes('segunda via')",
        )
        .await;
    let color = browser
        .eval("return getComputedStyle(document.querySelector('[data-testid=chat-row] [data-testid=label-chip]')).backgroundColor", json!([]))
        .await;
    assert_eq!(color, "rgb(37, 211, 102)");
    browser.screenshot("labels").await;
    let stored = app
        .get_json(&format!("/api/v1/chats/{id}"), &admin.access)
        .await;
    assert_eq!(stored["tags"], json!(["Boleto"]));
    // The contact's own labels, from the picker in the contact panel.
    browser.click("[data-testid=contact-info]").await;
    browser.click("[data-testid=contact-labels-pick]").await;
    browser
        .eval(
            "[...document.querySelectorAll('[data-testid=label-option]')].find((i) => i.value === 'Urgente').click()",
            json!([]),
        )
        .await;
    browser.click("[data-testid=label-save]").await;
    browser
        .wait_text("[data-testid=contact-labels]", "Urgente")
        .await;
    browser.click("[data-testid=contact-save]").await;
    app.eventually(
        "/api/v1/contacts?q=5511966660000",
        &admin.access,
        "the contact labelled",
        |page| page["items"][0]["tags"] == json!(["Urgente"]),
    )
    .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn an_emoji_is_found_by_its_portuguese_name_sent_and_offered_first_next_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = held_chat(&app, &admin, "5511955551234", "valeu!").await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &id).await;
    browser
        .type_into("[data-testid=composer]", "Obrigado ")
        .await;
    browser.click("[data-testid=emoji-open]").await;
    browser
        .type_into("[data-testid=emoji-search]", "obrigado")
        .await;
    browser
        .wait_until(
            "one match",
            "document.querySelectorAll('[data-testid=emoji-pick]').length === 1",
        )
        .await;
    browser.click("[data-testid=emoji-pick]").await;
    browser
        .type_into("[data-testid=composer]", "\u{E007}")
        .await;
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["text"]["body"], "Obrigado 🙏");
    browser.click("[data-testid=emoji-open]").await;
    let first = browser
        .eval(
            "return document.querySelector('[data-testid=emoji-pick]').textContent",
            json!([]),
        )
        .await;
    assert_eq!(first, "🙏", "the recent one first");
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn the_reports_page_draws_its_charts_from_the_apis_numbers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (i, phone) in ["5511940000001", "5511940000002", "5511940000003"]
        .iter()
        .enumerate()
    {
        let id = app
            .claimed_chat(&admin, phone, &format!("wamid.rep{i}"), "oi")
            .await;
        app.send_text(&id, &format!("r{i}"), "Olá!", &admin).await;
        if i < 2 {
            app.chat_action(&id, "close", &admin.access, &json!({}))
                .await;
        }
    }
    let summary = app.get_json("/api/v1/reports/summary", &admin.access).await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app).await;
    browser.click("[data-testid=nav-reports]").await;
    browser
        .wait_text(
            "[data-testid=report-opened]",
            &summary["chats_opened"].to_string(),
        )
        .await;
    browser.wait_text("[data-testid=report-closed]", "2").await;
    let drawn = browser
        .eval(
            "const sum = (sel) => [...document.querySelectorAll(sel)].reduce((n, r) => n + Number(r.dataset.value), 0);
             return [sum('[data-testid=chart-messages] rect.bar-a'), sum('[data-testid=chart-messages] rect.bar-b'),
                     sum('[data-testid=chart-chats] rect.bar-a'), sum('[data-testid=chart-chats] rect.bar-b')];",
            json!([]),
        )
        .await;
    assert_eq!(
        drawn,
        json!([
            summary["messages_in"],
            summary["messages_out"],
            summary["chats_opened"],
            summary["chats_closed"]
        ])
    );
    browser
        .find("[data-testid=chart-first-response] rect")
        .await;
    browser.screenshot("reports").await;
    browser.click("[data-testid=nav-admin]").await;
    browser.click("[data-testid=admin-audit]").await;
    browser
        .wait_text("[data-testid=audit-table]", "auth.login")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn the_board_turns_a_queue_red_past_its_threshold_and_counts_the_team() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let queue = app.queue(&admin, "Cobrança").await;
    let set = app
        .patch(
            &format!("/api/v1/queues/{queue}"),
            &admin.access,
            &json!({"sla_wait_seconds": 120}),
        )
        .await;
    assert_eq!(set.status(), 200);
    let refused = app
        .patch(
            &format!("/api/v1/queues/{queue}"),
            &admin.access,
            &json!({"sla_wait_seconds": 5}),
        )
        .await;
    assert_error(refused, 400, "validation_failed").await;
    let chat = app
        .customer_says("5511930000001", "wamid.sla", "quero negociar")
        .await;
    let id = chat["id"].as_str().unwrap();
    let moved = app
        .patch(
            &format!("/api/v1/chats/{id}"),
            &admin.access,
            &json!({"queue_id": queue}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app).await;
    browser.click("[data-testid=nav-supervisor]").await;
    let card = format!("[data-testid=queue-card][data-queue-id={queue}]");
    browser
        .wait_until(
            "the queue within its limit",
            &format!("document.querySelector('{card}')?.dataset.sla === 'ok'"),
        )
        .await;
    browser
        .wait_text("[data-testid=sup-total-online]", "1")
        .await;
    // Three minutes later, as the page's clock has it: past the two-minute limit.
    browser
        .eval(
            "const real = Date.now.bind(Date); Date.now = () => real() + 180000;",
            json!([]),
        )
        .await;
    browser
        .wait_until(
            "the queue red",
            &format!("document.querySelector('{card}').dataset.sla === 'late'"),
        )
        .await;
    browser.screenshot("board-late").await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_search_inside_a_chat_jumps_to_an_old_message_and_the_list_marks_matches() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let phone = "5511921212121";
    let chat = app
        .customer_says(phone, "wamid.old", "o boleto venceu ontem")
        .await;
    let id = chat["id"].as_str().unwrap().to_string();
    for i in 0..70 {
        let body = inbound(
            phone,
            &format!("wamid.more{i}"),
            text(&format!("mensagem {i}")),
        );
        assert_eq!(app.webhook(&body).await.status(), 200);
    }
    app.claim(&id, &admin).await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &id).await;
    browser
        .wait_text("[data-testid=conversation]", "mensagem 69")
        .await;
    browser.click("[data-testid=find-open]").await;
    browser
        .type_into("[data-testid=find-input]", "venceu")
        .await;
    browser
        .wait_text("[data-testid=find-count]", "1 de 1")
        .await;
    browser
        .wait_until(
            "the old message shown",
            "[...document.querySelectorAll('[data-testid=message-bubble]')].some((b) => b.textContent.includes('o boleto venceu ontem'))",
        )
        .await;
    browser
        .type_into("[data-testid=chat-search]", "cliente 55119212")
        .await;
    browser
        .wait_until(
            "a mark in the list",
            "!!document.querySelector('[data-testid=chat-rows] mark')",
        )
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_message_is_forwarded_to_another_chat_and_pinned_from_the_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let from = app
        .customer_says("5511987650001", "wamid.fw1", "endereço: Rua A, 10")
        .await;
    let to = app
        .customer_says("5511987650002", "wamid.fw2", "qual o endereço?")
        .await;
    let (from, to) = (
        from["id"].as_str().unwrap().to_string(),
        to["id"].as_str().unwrap().to_string(),
    );
    app.claim(&from, &admin).await;
    app.claim(&to, &admin).await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &from).await;
    browser
        .wait_text("[data-testid=conversation]", "Rua A, 10")
        .await;
    browser
        .eval("document.querySelector('[data-testid=message-bubble][data-direction=in] [data-testid=forward-button]').click()", json!([]))
        .await;
    browser
        .type_into("[data-testid=forward-filter]", "0002")
        .await;
    browser.click("[data-testid=forward-option]").await;
    browser.click("[data-testid=forward-confirm]").await;
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("forwarded");
    assert_eq!(sent[0].body["to"], "5511987650002");
    assert_eq!(sent[0].body["text"]["body"], "endereço: Rua A, 10");
    browser
        .eval("document.querySelector('[data-testid=message-bubble][data-direction=in] [data-testid=pin-button]').click()", json!([]))
        .await;
    browser
        .wait_text("[data-testid=pinned-strip]", "Rua A, 10")
        .await;
    browser.goto(&app.url(&format!("/#/chats/{to}"))).await;
    browser
        .wait_text("[data-testid=message-forwarded]", "Encaminhada")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_voice_note_is_recorded_sent_as_ogg_opus_and_plays_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = held_chat(&app, &admin, "5511912121212", "pode mandar áudio").await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &id).await;
    // The microphone stands where the send button is while nothing is written.
    browser.click("[data-testid=voice-record]").await;
    browser.wait_text("[data-testid=voice-clock]", "0:01").await;
    browser.click("[data-testid=voice-send]").await;
    let body = app.sent_of_type("audio").await;
    assert_eq!(body["audio"]["voice"], true, "{body}");
    let media = body["audio"]["id"].as_str().unwrap();
    let (bytes, mime) = app.sim.uploaded(media).expect("the file was uploaded");
    assert!(mime.starts_with("audio/ogg"), "{mime}");
    assert_eq!(&bytes[..4], b"OggS");
    assert_eq!(&bytes[28..36], b"OpusHead", "an Ogg/Opus stream");
    assert!(bytes.len() < 512 * 1024, "{} bytes", bytes.len());
    // It plays back in the thread, at the speed asked.
    browser
        .click("[data-testid=message-bubble][data-direction=out] [data-testid=voice-play]")
        .await;
    browser
        .wait_until(
            "the note playing",
            "document.querySelector('[data-testid=message-bubble][data-direction=out] [data-testid=message-voice]').audio.currentTime > 0",
        )
        .await;
    browser
        .click("[data-testid=message-bubble][data-direction=out] [data-testid=voice-speed]")
        .await;
    browser
        .wait_text(
            "[data-testid=message-bubble][data-direction=out] [data-testid=voice-speed]",
            "1.5x",
        )
        .await;
    browser.screenshot("voice-note").await;
    // The chat's row says what it is and how long.
    browser.click("[data-testid=tab-mine]").await;
    browser
        .wait_text("[data-testid=chat-row-preview]", "🎤 Áudio 0:0")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_refused_field_is_told_in_portuguese_next_to_it() {
    let app = spawn_app().await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    sign_in(&browser, &app).await;
    browser.goto(&app.url("/#/admin/labels")).await;
    browser.click("[data-testid=label-create]").await;
    browser.fill("[data-testid=label-name]", "   ").await;
    browser.click("[data-testid=label-edit-save]").await;
    browser
        .wait_text(
            "[data-testid=label-edit-dialog] .field-error",
            "não pode ficar vazio",
        )
        .await;
    // The browser logs the 400 itself; nothing else went wrong.
    let errors = browser.console_errors().await;
    assert!(
        errors.iter().all(|e| e.contains("status of 400")),
        "{errors:?}"
    );
}

#[actix_web::test]
async fn a_transfer_and_a_close_are_lines_of_the_thread_with_the_close_note() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let queue = app.queue(&admin, "Suporte").await;
    let id = held_chat(&app, &admin, "5511913131313", "preciso de ajuda").await;
    let Some(browser) = Browser::start(1440, 900).await else {
        return;
    };
    open_chat(&browser, &app, &id).await;
    let moved = app
        .chat_action(&id, "transfer", &admin.access, &json!({"queue_id": queue}))
        .await;
    assert_eq!(moved.status(), 200);
    browser
        .wait_text(
            "[data-testid=conversation]",
            "transferiu a conversa para a fila Suporte",
        )
        .await;
    app.claim(&id, &admin).await;
    browser.click("[data-testid=close-chat]").await;
    browser
        .type_into("[data-testid=close-note]", "Resolvido por telefone")
        .await;
    browser.click("[data-testid=close-confirm]").await;
    browser
        .wait_text("[data-testid=conversation]", "finalizou a conversa")
        .await;
    browser
        .wait_text("[data-testid=conversation]", "Resolvido por telefone")
        .await;
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}
