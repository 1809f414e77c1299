//! The browser console, in a real (headless) Chromium.

use crate::browser::Browser;
use crate::helpers::*;

#[actix_web::test]
async fn the_console_is_served_and_runs_its_modules_under_the_strict_policy() {
    let app = spawn_app().await;
    let browser = Browser::start(1280, 800).await;
    browser.goto(&app.url("/")).await;
    browser.find("#app").await;
    // The module ran (no inline script is allowed, so this proves the policy lets it).
    browser
        .wait_until(
            "the console module to render",
            "document.querySelector('#app').childNodes.length > 0",
        )
        .await;
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
}
