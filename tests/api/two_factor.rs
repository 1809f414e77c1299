//! Two-factor sign-in (issue 20, item 3): an authenticator enrolled by QR code, codes
//! that sign in once, ten single-use recovery codes, rate-limited tries, a role that must
//! have it, and an admin's reset for a lost phone.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use totp_rs::TOTP;

use crate::helpers::*;
use crate::socket::Socket;

const PASSWORD: &str = "user-password-1";

/// An enrolled authenticator: what the phone app would hold.
struct Phone {
    totp: TOTP,
    recovery_codes: Vec<String>,
}

impl Phone {
    /// The code the app shows `steps` periods of 30 s from now.
    fn code(&self, steps: i64) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let at = now.as_secs() as i64 + steps * 30;
        self.totp.generate(at as u64)
    }
}

async fn setup(app: &TestApp, user: &Tokens) -> TOTP {
    let response = app
        .post("/api/v1/auth/2fa/setup", Some(&user.access), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let url = body["otpauth_url"].as_str().unwrap();
    let totp = TOTP::from_url(url).unwrap();
    assert_eq!(totp.get_secret_base32(), body["secret"].as_str().unwrap());
    totp
}

/// Enrols an authenticator for `user` and returns it.
async fn enrol(app: &TestApp, user: &Tokens) -> Phone {
    let totp = setup(app, user).await;
    let code = totp.generate_current().unwrap();
    let response = app
        .post(
            "/api/v1/auth/2fa/enable",
            Some(&user.access),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let recovery_codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    Phone {
        totp,
        recovery_codes,
    }
}

async fn login_with(app: &TestApp, email: &str, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    app.post("/api/v1/auth/login", None, &body).await
}

#[actix_web::test]
async fn an_authenticator_enrols_by_qr_code_and_each_code_signs_in_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let status: Value = app.get_json("/api/v1/auth/2fa", &ana.access).await;
    assert_eq!(status["enabled"], false);
    assert_eq!(status["required"], false);

    let response = app
        .post("/api/v1/auth/2fa/setup", Some(&ana.access), &json!({}))
        .await;
    let body: Value = response.json().await.unwrap();
    let url = body["otpauth_url"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/Atende:ana%40test.local?"),
        "{url}"
    );
    assert!(body["qr_svg"].as_str().unwrap().contains("<svg"));
    // Until a code confirms it, sign-in asks for nothing.
    assert_eq!(login_with(&app, "ana@test.local", None).await.status(), 200);
    // Starting again replaces the secret: a code of the first one does not confirm.
    let first = TOTP::from_url(url).unwrap();
    let second = setup(&app, &ana).await;
    let stale = first.generate_current().unwrap();
    if stale != second.generate_current().unwrap() {
        let response = app
            .post(
                "/api/v1/auth/2fa/enable",
                Some(&ana.access),
                &json!({"code": stale}),
            )
            .await;
        let body = assert_error(response, 400, "validation_failed").await;
        assert!(body["error"]["fields"]["code"].is_string(), "{body}");
    }
    let code = second.generate_current().unwrap();
    let response = app
        .post(
            "/api/v1/auth/2fa/enable",
            Some(&ana.access),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let codes: Value = response.json().await.unwrap();
    assert_eq!(codes["recovery_codes"].as_array().unwrap().len(), 10);
    let again = app
        .post("/api/v1/auth/2fa/setup", Some(&ana.access), &json!({}))
        .await;
    assert_error(again, 409, "two_factor_on").await;
    let phone = Phone {
        totp: second,
        recovery_codes: serde_json::from_value(codes["recovery_codes"].clone()).unwrap(),
    };

    // The password alone no longer signs in, and says only that a code is missing.
    let bare = login_with(&app, "ana@test.local", None).await;
    assert_error(bare, 401, "two_factor_required").await;
    let wrong_password = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ana@test.local", "password": "wrong-password", "code": code}),
        )
        .await;
    assert_error(wrong_password, 401, "invalid_credentials").await;
    // The code that confirmed the enrolment was spent: it does not sign in again.
    let replay = login_with(&app, "ana@test.local", Some(&code)).await;
    assert_error(replay, 401, "invalid_two_factor_code").await;
    // The next period's code (a phone's clock a little ahead) signs in, once.
    let next = phone.code(1);
    let signed: Value = login_with(&app, "ana@test.local", Some(&next))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signed["user"]["two_factor_enabled"], true);
    let twice = login_with(&app, "ana@test.local", Some(&next)).await;
    assert_error(twice, 401, "invalid_two_factor_code").await;

    // A recovery code signs in once, however it is typed.
    let typed = phone.recovery_codes[0].to_uppercase().replace('-', " ");
    assert_eq!(
        login_with(&app, "ana@test.local", Some(&typed))
            .await
            .status(),
        200
    );
    let reused = login_with(&app, "ana@test.local", Some(&phone.recovery_codes[0])).await;
    assert_error(reused, 401, "invalid_two_factor_code").await;
    let status: Value = app.get_json("/api/v1/auth/2fa", &ana.access).await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["recovery_codes_left"], 9);

    // New recovery codes take the password, and the old ones stop working.
    let refused = app
        .post(
            "/api/v1/auth/2fa/recovery-codes",
            Some(&ana.access),
            &json!({"password": "wrong-password"}),
        )
        .await;
    let body = assert_error(refused, 400, "validation_failed").await;
    assert!(body["error"]["fields"]["password"].is_string(), "{body}");
    let fresh: Value = app
        .post(
            "/api/v1/auth/2fa/recovery-codes",
            Some(&ana.access),
            &json!({"password": PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
    let fresh: Vec<String> = serde_json::from_value(fresh["recovery_codes"].clone()).unwrap();
    assert_eq!(fresh.len(), 10);
    let old = login_with(&app, "ana@test.local", Some(&phone.recovery_codes[1])).await;
    assert_error(old, 401, "invalid_two_factor_code").await;
    assert_eq!(
        login_with(&app, "ana@test.local", Some(&fresh[1]))
            .await
            .status(),
        200
    );

    // Turning it off takes the password; then the password alone signs in again.
    let off = app
        .post(
            "/api/v1/auth/2fa/disable",
            Some(&ana.access),
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(off.status(), 204);
    assert_eq!(login_with(&app, "ana@test.local", None).await.status(), 200);
    let off_again = app
        .post(
            "/api/v1/auth/2fa/disable",
            Some(&ana.access),
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_error(off_again, 409, "two_factor_off").await;

    let audit: Value = app.get_json("/api/v1/audit?limit=100", &admin.access).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "auth.2fa_enabled",
        "auth.2fa_failed",
        "auth.2fa_recovery_code_used",
        "auth.2fa_recovery_codes",
        "auth.2fa_disabled",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[actix_web::test]
async fn wrong_codes_make_the_account_wait_wherever_they_come_from() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let phone = enrol(&app, &ana).await;
    let right = phone.code(0);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    for _ in 0..6 {
        let response = login_with(&app, "ana@test.local", Some(wrong)).await;
        assert_error(response, 401, "invalid_two_factor_code").await;
    }
    // Now the account waits, and even the right code waits: tries cannot be raced.
    let waiting = login_with(&app, "ana@test.local", Some(&phone.code(1))).await;
    assert!(waiting.headers().contains_key("retry-after"));
    assert_error(waiting, 429, "rate_limited").await;
    // Another account is not held back.
    app.user(&admin, "bia@test.local", "agent").await;
    assert_eq!(login_with(&app, "bia@test.local", None).await.status(), 200);
}

#[actix_web::test]
async fn a_role_that_must_have_it_enrols_before_anything_else() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let (token, _) = {
        let response = app
            .post(
                "/api/v1/tokens",
                Some(&admin.access),
                &json!({"name": "CRM", "scopes": ["admin"]}),
            )
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        (body["token"].as_str().unwrap().to_string(), body)
    };
    let (mut working, _) = Socket::signed_in(&app, &ana.access, None).await;
    let mut settings: Value = app.get_json("/api/v1/settings", &admin.access).await;
    assert_eq!(settings["two_factor_roles"], json!([]));
    settings["two_factor_roles"] = json!([" Agent", "agent"]);
    let saved = app.put("/api/v1/settings", &admin.access, &settings).await;
    assert_eq!(saved.status(), 200);
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(saved["two_factor_roles"], json!(["agent"]));

    // Ana's socket closes at once; her session, and a new one, reach only what enrolment
    // needs.
    assert_eq!(working.closed_with().await, 4401);
    let chats = app.get("/api/v1/chats", &ana.access).await;
    assert_error(chats, 403, "two_factor_setup_required").await;
    let fresh = app.login("ana@test.local", PASSWORD).await;
    let chats = app.get("/api/v1/chats", &fresh.access).await;
    assert_error(chats, 403, "two_factor_setup_required").await;
    assert_eq!(
        app.get("/api/v1/auth/me", &fresh.access).await.status(),
        200
    );
    let status: Value = app.get_json("/api/v1/auth/2fa", &fresh.access).await;
    assert_eq!(status["required"], true);
    let mut socket = Socket::open(&app).await;
    socket
        .send(json!({"type": "auth", "token": fresh.access, "resume_from": null}))
        .await;
    assert_eq!(socket.next_or_close().await.unwrap_err(), 4401);
    // An API token is not a person: it goes on.
    assert_eq!(app.get("/api/v1/chats", &token).await.status(), 200);

    enrol(&app, &fresh).await;
    assert_eq!(app.get("/api/v1/chats", &fresh.access).await.status(), 200);
    let off = app
        .post(
            "/api/v1/auth/2fa/disable",
            Some(&fresh.access),
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_error(off, 409, "two_factor_mandatory").await;
    // Supervisors were not named.
    let sup = app.user(&admin, "sup@test.local", "supervisor").await;
    assert_eq!(app.get("/api/v1/chats", &sup.access).await.status(), 200);
}

#[actix_web::test]
async fn an_admin_resets_the_second_factor_of_a_user_who_lost_their_phone() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    enrol(&app, &ana).await;
    let path = format!("/api/v1/users/{}/2fa", ana.id());
    assert_error(app.delete(&path, &bia.access).await, 403, "admin_only").await;
    assert_error(
        app.delete("/api/v1/users/999999/2fa", &admin.access).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(app.delete(&path, &admin.access).await.status(), 204);
    // Her sessions ended; the password alone signs her in.
    assert_error(
        app.get("/api/v1/auth/me", &ana.access).await,
        401,
        "session_ended",
    )
    .await;
    let signed: Value = login_with(&app, "ana@test.local", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(signed["user"]["two_factor_enabled"], false);
    let audit: Value = app.get_json("/api/v1/audit?limit=100", &admin.access).await;
    assert!(audit.to_string().contains("user.2fa_reset"), "{audit}");
}

#[actix_web::test]
async fn an_admin_enrols_before_making_it_mandatory_for_admins() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut settings: Value = app.get_json("/api/v1/settings", &admin.access).await;
    settings["two_factor_roles"] = json!(["admin"]);
    let refused = app.put("/api/v1/settings", &admin.access, &settings).await;
    assert_error(refused, 409, "two_factor_enrol_first").await;
    let unchanged: Value = app.get_json("/api/v1/settings", &admin.access).await;
    assert_eq!(unchanged["two_factor_roles"], json!([]));
    enrol(&app, &admin).await;
    let saved = app.put("/api/v1/settings", &admin.access, &settings).await;
    assert_eq!(saved.status(), 200);
    // Another admin without it now enrols first; the one who made the rule goes on.
    let other = app.user(&admin, "chefe@test.local", "admin").await;
    let refused = app.get("/api/v1/users", &other.access).await;
    assert_error(refused, 403, "two_factor_setup_required").await;
    assert_eq!(app.get("/api/v1/users", &admin.access).await.status(), 200);
}
