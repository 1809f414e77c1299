//! User administration and role checks.

use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn an_admin_creates_reads_and_lists_users() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    assert_eq!(app.queue(&admin, "Vendas").await, "vendas");
    let response = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({"email": "Ana@Test.local", "name": " Ana Souza ", "role": "agent",
                    "password": "ana-password", "max_concurrent_chats": 3, "queue_ids": ["vendas"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let ana: Value = response.json().await.unwrap();
    assert_eq!(ana["email"], "ana@test.local");
    assert_eq!(ana["name"], "Ana Souza");
    assert_eq!(ana["role"], "agent");
    assert_eq!(ana["active"], true);
    assert_eq!(ana["max_concurrent_chats"], 3);
    assert_eq!(ana["queue_ids"], json!(["vendas"]));
    assert_eq!(ana["presence"], "offline");
    let id = ana["id"].as_str().unwrap();
    let read: Value = app
        .get_json(&format!("/api/v1/users/{id}"), &admin.access)
        .await;
    assert_eq!(read, ana);
    let list: Value = app.get_json("/api/v1/users", &admin.access).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["next_cursor"], Value::Null);
}

#[actix_web::test]
async fn the_user_list_pages_with_a_cursor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for i in 0..4 {
        app.user(&admin, &format!("u{i}@test.local"), "agent").await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/users?limit=2".to_string();
    loop {
        let page: Value = app.get_json(&path, &admin.access).await;
        for user in page["items"].as_array().unwrap() {
            seen.push(user["email"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/users?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    seen.dedup();
    assert_eq!(seen.len(), 5, "no user twice");
    for bad in ["limit=0", "limit=201", "limit=x", "cursor=abc"] {
        let response = app
            .get(&format!("/api/v1/users?{bad}"), &admin.access)
            .await;
        assert_error(response, 400, "validation_failed").await;
    }
}

#[actix_web::test]
async fn a_taken_email_is_a_conflict() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.user(&admin, "ana@test.local", "agent").await;
    let response = app
        .post(
            "/api/v1/users",
            Some(&admin.access),
            &json!({"email": "ANA@test.local", "name": "Other", "role": "agent", "password": "password-2"}),
        )
        .await;
    assert_error(response, 409, "email_taken").await;
}

#[actix_web::test]
async fn bad_user_bodies_name_the_field_and_create_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let base =
        json!({"email": "x@test.local", "name": "X", "role": "agent", "password": "password-1"});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    for (body, field) in [
        (with("role", json!("boss")), "role"),
        (with("role", json!(7)), "role"),
        (with("email", json!("not-an-email")), "email"),
        (
            with("email", json!(format!("{}@x.io", "a".repeat(300)))),
            "email",
        ),
        (with("name", json!("")), "name"),
        (with("name", json!("n".repeat(101))), "name"),
        (with("password", json!("short")), "password"),
        (
            with("max_concurrent_chats", json!(0)),
            "max_concurrent_chats",
        ),
        (
            with("max_concurrent_chats", json!(-1)),
            "max_concurrent_chats",
        ),
        (with("queue_ids", json!([""])), "queue_ids"),
        (with("surprise", json!(true)), "surprise"),
        (without("password"), "password"),
        (without("email"), "email"),
    ] {
        let response = app.post("/api/v1/users", Some(&admin.access), &body).await;
        let error = assert_error(response, 400, "validation_failed").await;
        assert!(
            error["error"]["fields"][field].is_string(),
            "{field}: {error}"
        );
    }
    let list: Value = app.get_json("/api/v1/users", &admin.access).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn agents_and_supervisors_cannot_administer_users() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let supervisor = app.user(&admin, "sup@test.local", "supervisor").await;
    let new_user =
        json!({"email": "n@test.local", "name": "N", "role": "admin", "password": "password-1"});
    for who in [&agent, &supervisor] {
        let response = app
            .post("/api/v1/users", Some(&who.access), &new_user)
            .await;
        assert_error(response, 403, "admin_only").await;
        let path = format!("/api/v1/users/{}", admin.id());
        let patch = app
            .patch(&path, &who.access, &json!({"role": "agent"}))
            .await;
        assert_error(patch, 403, "admin_only").await;
        let delete = app.delete(&path, &who.access).await;
        assert_error(delete, 403, "admin_only").await;
    }
    // Supervisors read; agents read only themselves.
    assert_eq!(
        app.get("/api/v1/users", &supervisor.access).await.status(),
        200
    );
    assert_error(
        app.get("/api/v1/users", &agent.access).await,
        403,
        "staff_only",
    )
    .await;
    let own = app
        .get(&format!("/api/v1/users/{}", agent.id()), &agent.access)
        .await;
    assert_eq!(own.status(), 200);
    let other = app
        .get(&format!("/api/v1/users/{}", admin.id()), &agent.access)
        .await;
    assert_error(other, 403, "staff_only").await;
}

#[actix_web::test]
async fn an_admin_changes_a_user_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let path = format!("/api/v1/users/{}", ana.id());
    let response = app.patch(&path, &admin.access, &json!({"name": "Ana S.", "role": "supervisor", "max_concurrent_chats": 8, "email": "ana.s@test.local"})).await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["name"], "Ana S.");
    assert_eq!(changed["role"], "supervisor");
    assert_eq!(changed["email"], "ana.s@test.local");
    // A change of role or name does not end sessions.
    assert_eq!(app.get("/api/v1/auth/me", &ana.access).await.status(), 200);
    app.login("ana.s@test.local", "user-password-1").await;
    for missing in ["/api/v1/users/999999", "/api/v1/users/abc"] {
        assert_error(app.get(missing, &admin.access).await, 404, "not_found").await;
        let patch = app
            .patch(missing, &admin.access, &json!({"name": "x"}))
            .await;
        assert_error(patch, 404, "not_found").await;
    }
}

#[actix_web::test]
async fn deactivating_a_user_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    assert_eq!(app.get("/api/v1/auth/me", &ana.access).await.status(), 200);
    let path = format!("/api/v1/users/{}", ana.id());
    let response = app.delete(&path, &admin.access).await;
    assert_eq!(response.status(), 204);
    assert_error(
        app.get("/api/v1/auth/me", &ana.access).await,
        401,
        "session_ended",
    )
    .await;
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": ana.refresh}),
        )
        .await;
    assert_eq!(refresh.status(), 401);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ana@test.local", "password": "user-password-1"}),
        )
        .await;
    assert_error(login, 401, "invalid_credentials").await;
    // History keeps the name: the user is still there, inactive.
    let kept: Value = app.get_json(&path, &admin.access).await;
    assert_eq!(kept["active"], false);
    assert_eq!(kept["name"], "Test User");
}

#[actix_web::test]
async fn a_password_reset_by_an_admin_ends_sessions_and_forces_a_change() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let path = format!("/api/v1/users/{}", ana.id());
    let response = app
        .patch(&path, &admin.access, &json!({"password": "temporary-pass"}))
        .await;
    assert_eq!(response.status(), 200);
    assert_error(
        app.get("/api/v1/auth/me", &ana.access).await,
        401,
        "session_ended",
    )
    .await;
    let again = app.login("ana@test.local", "temporary-pass").await;
    assert_eq!(again.user["must_change_password"], true);
}

#[actix_web::test]
async fn the_last_active_admin_cannot_be_lost() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let path = format!("/api/v1/users/{}", admin.id());
    let demote = app
        .patch(&path, &admin.access, &json!({"role": "agent"}))
        .await;
    assert_error(demote, 409, "last_admin").await;
    let deactivate = app.delete(&path, &admin.access).await;
    assert_error(deactivate, 409, "last_admin").await;
    // With a second admin it is allowed.
    app.user(&admin, "second@test.local", "admin").await;
    let demote = app
        .patch(&path, &admin.access, &json!({"role": "agent"}))
        .await;
    assert_eq!(demote.status(), 200);
}
