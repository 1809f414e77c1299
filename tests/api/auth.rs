//! Sign-in, refresh rotation and reuse detection, sign-out, password change.

use reqwest::header;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn login_returns_a_token_pair_and_the_user() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ADMIN@test.local", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert!(body["user"].get("password_hash").is_none());
    let me = app
        .get("/api/v1/auth/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.json::<Value>().await.unwrap()["id"], body["user"]["id"]);
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_accounts_are_the_same_401() {
    let app = spawn_app().await;
    for (email, password) in [
        (ADMIN_EMAIL, "wrong-password"),
        ("nobody@test.local", "whatever"),
    ] {
        let response = app
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"email": email, "password": password}),
            )
            .await;
        let body = assert_error(response, 401, "invalid_credentials").await;
        assert_eq!(
            body["error"]["message"],
            "the email or the password is wrong"
        );
    }
}

#[actix_web::test]
async fn repeated_failed_logins_wait_growing_delays_per_account() {
    let app = spawn_app().await;
    let attempt = |password: &'static str| {
        let body = json!({"email": ADMIN_EMAIL, "password": password});
        let app = &app;
        async move { app.post("/api/v1/auth/login", None, &body).await }
    };
    for _ in 0..6 {
        assert_eq!(attempt("wrong-password").await.status(), 401);
    }
    let limited = attempt("wrong-password").await;
    let retry: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "a short wait: {retry} s");
    assert_error(limited, 429, "rate_limited").await;
    // Even the right password waits that moment: guessing must not go on meanwhile.
    assert_error(attempt(ADMIN_PASSWORD).await, 429, "rate_limited").await;
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = spawn_app().await;
    let first = app.admin().await;
    let refresh = |token: String| {
        let body = json!({"refresh_token": token});
        let app = &app;
        async move { app.post("/api/v1/auth/refresh", None, &body).await }
    };
    let response = refresh(first.refresh.clone()).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first.refresh);
    assert_eq!(
        app.get("/api/v1/auth/me", second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // The spent token comes back (stolen): refused, and the thief's victim is signed out too.
    assert_error(
        refresh(first.refresh.clone()).await,
        401,
        "invalid_refresh_token",
    )
    .await;
    assert_error(refresh(second_refresh).await, 401, "invalid_refresh_token").await;
    // Another sign-in of the same user is not affected.
    let other = app.admin().await;
    assert_eq!(refresh(other.refresh).await.status(), 200);
}

#[actix_web::test]
async fn garbage_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    for token in ["", "nope", &"x".repeat(5000)] {
        let response = app
            .post(
                "/api/v1/auth/refresh",
                None,
                &json!({"refresh_token": token}),
            )
            .await;
        assert_error(response, 401, "invalid_refresh_token").await;
    }
    let response = app.post("/api/v1/auth/refresh", None, &json!({})).await;
    let body = assert_error(response, 400, "validation_failed").await;
    assert_eq!(body["error"]["fields"]["refresh_token"], "is required");
}

#[actix_web::test]
async fn logout_ends_that_sign_in_only() {
    let app = spawn_app().await;
    let a = app.admin().await;
    let b = app.admin().await;
    let response = app
        .post(
            "/api/v1/auth/logout",
            Some(&a.access),
            &json!({"refresh_token": a.refresh}),
        )
        .await;
    assert_eq!(response.status(), 204);
    let again = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": a.refresh}),
        )
        .await;
    assert_eq!(again.status(), 401);
    let other = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": b.refresh}),
        )
        .await;
    assert_eq!(other.status(), 200);
}

#[actix_web::test]
async fn one_user_cannot_sign_out_another() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "ana@test.local", "agent").await;
    let response = app
        .post(
            "/api/v1/auth/logout",
            Some(&agent.access),
            &json!({"refresh_token": admin.refresh}),
        )
        .await;
    assert_eq!(response.status(), 204);
    let still = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": admin.refresh}),
        )
        .await;
    assert_eq!(still.status(), 200);
}

#[actix_web::test]
async fn a_pending_password_change_blocks_everything_but_the_change() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({"email": "bia@test.local", "name": "Bia", "role": "supervisor", "password": "first-password"}),
        )
        .await;
    assert_eq!(
        created.json::<Value>().await.unwrap()["must_change_password"],
        true
    );
    let bia = app.login("bia@test.local", "first-password").await;
    assert_eq!(bia.user["must_change_password"], true);
    assert_error(
        app.get("/api/v1/users", &bia.access).await,
        403,
        "password_change_required",
    )
    .await;
    assert_eq!(app.get("/api/v1/auth/me", &bia.access).await.status(), 200);

    let change = app
        .post(
            "/api/v1/auth/password",
            Some(&bia.access),
            &json!({"current_password": "first-password", "new_password": "second-password"}),
        )
        .await;
    assert_eq!(change.status(), 204);
    // Every session ended with the change, this one included.
    assert_error(
        app.get("/api/v1/auth/me", &bia.access).await,
        401,
        "session_ended",
    )
    .await;
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": bia.refresh}),
        )
        .await;
    assert_eq!(refreshed.status(), 401);
    let bia = app.login("bia@test.local", "second-password").await;
    assert_eq!(bia.user["must_change_password"], false);
    assert_eq!(app.get("/api/v1/users", &bia.access).await.status(), 200);
}

#[actix_web::test]
async fn a_password_change_checks_the_current_password_and_the_new_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for (current, new, field) in [
        ("wrong-password", "a-new-password", "current_password"),
        (ADMIN_PASSWORD, "short", "new_password"),
        (ADMIN_PASSWORD, ADMIN_PASSWORD, "new_password"),
    ] {
        let response = app
            .post(
                "/api/v1/auth/password",
                Some(&admin.access),
                &json!({"current_password": current, "new_password": new}),
            )
            .await;
        let body = assert_error(response, 400, "validation_failed").await;
        assert!(body["error"]["fields"][field].is_string(), "{body}");
    }
    // Nothing changed: the old password still works.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}
