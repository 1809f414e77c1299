//! Media both ways: inbound files fetched from the Cloud API and served to those who may
//! see the chat; uploads sniffed against WhatsApp's types and limits, then sent.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::helpers::*;

const CUSTOMER: &str = "5511977776666";

fn png() -> Vec<u8> {
    atende_web::sandbox::placeholder_media("sim-image-1")
        .expect("placeholder")
        .0
}

async fn upload(
    app: &TestApp,
    token: &str,
    bytes: Vec<u8>,
    name: &str,
    mime: &str,
) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap();
    app.client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_inbound_image_is_downloaded_and_served_to_who_may_see_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ana = app.user(&admin, "ana@test.local", "agent").await;
    let bia = app.user(&admin, "bia@test.local", "agent").await;
    let media_id = app.sim.add_media(png(), "image/png");
    let body = inbound(
        CUSTOMER,
        "wamid.IMG",
        json!({"type": "image", "image": {"id": media_id, "mime_type": "image/png", "caption": "meu boleto"}}),
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chats: Value = app.get_json("/api/v1/chats", &admin.access).await;
    let chat_id = chats["items"][0]["id"].as_str().unwrap().to_string();
    app.claim(&chat_id, &ana).await;
    let messages: Value = app
        .get_json(&format!("/api/v1/chats/{chat_id}/messages"), &ana.access)
        .await;
    let message = &messages["items"][0];
    assert_eq!(message["type"], "image");
    assert_eq!(message["caption"], "meu boleto");
    let url = message["media"]["url"].as_str().unwrap().to_string();
    let bytes = wait_until("the download", Duration::from_secs(20), || async {
        let response = app.get(&url, &ana.access).await;
        if response.status() != 200 {
            return Err(response.status());
        }
        assert_eq!(response.headers()["content-type"], "image/png");
        Ok(response.bytes().await.unwrap())
    })
    .await;
    assert_eq!(bytes.as_ref(), png().as_slice());
    assert_error(app.get(&url, &bia.access).await, 404, "not_found").await;
    assert_error(
        app.client.get(app.url(&url)).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
}

#[actix_web::test]
async fn an_uploaded_image_is_sent_through_the_cloud_api_media_endpoint() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let id = app
        .claimed_chat(&admin, CUSTOMER, "wamid.U", "manda a foto")
        .await;
    let uploaded = upload(&app, &admin.access, png(), "foto.png", "image/png").await;
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    assert_eq!(uploaded["type"], "image");
    assert_eq!(uploaded["mime_type"], "image/png");
    let body = json!({"client_id": "img-1", "type": "image", "media_id": uploaded["id"], "caption": "aqui está"});
    assert_eq!(
        app.post(
            &format!("/api/v1/chats/{id}/messages"),
            Some(&admin.access),
            &body
        )
        .await
        .status(),
        202
    );
    let sent = app
        .sim
        .wait_for_sent(1, Duration::from_secs(20))
        .await
        .expect("sent");
    assert_eq!(sent[0].body["type"], "image");
    assert_eq!(sent[0].body["image"]["caption"], "aqui está");
    let cloud_id = sent[0].body["image"]["id"]
        .as_str()
        .expect("a Cloud API media id");
    let (bytes, mime) = app.sim.uploaded(cloud_id).expect("uploaded first");
    assert_eq!((bytes, mime.as_str()), (png(), "image/png"));
}

#[actix_web::test]
async fn many_uploads_at_once_take_turns_and_each_file_comes_back_whole() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Three times as many as may hold their file in memory at once.
    let files: Vec<Vec<u8>> = (0..12u8)
        .map(|n| {
            let mut file = png();
            file.extend(std::iter::repeat_n(n, 200_000 + usize::from(n)));
            file
        })
        .collect();
    let uploads = files
        .iter()
        .map(|file| upload(&app, &admin.access, file.clone(), "foto.png", "image/png"));
    let answers = futures_util::future::join_all(uploads).await;
    for (answer, file) in answers.into_iter().zip(&files) {
        assert_eq!(answer.status(), 201);
        let id = answer.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        // Served in chunks, whole and with its length.
        let served = app.get(&format!("/api/v1/media/{id}"), &admin.access).await;
        assert_eq!(
            served.content_length(),
            Some(file.len() as u64),
            "Content-Length"
        );
        assert_eq!(served.bytes().await.unwrap().as_ref(), file.as_slice());
    }
}

#[actix_web::test]
async fn uploads_are_sniffed_and_held_to_whatsapp_limits() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let exe = upload(
        &app,
        &admin.access,
        b"MZ\x90\x00 not a picture".to_vec(),
        "foto.png",
        "image/png",
    )
    .await;
    assert_error(exe, 415, "unsupported_media_type").await;
    let mut big = png();
    big.resize(6 * 1024 * 1024, 0);
    assert_error(
        upload(&app, &admin.access, big, "big.png", "image/png").await,
        413,
        "too_large",
    )
    .await;
    let text = upload(
        &app,
        &admin.access,
        "lista de preços".as_bytes().to_vec(),
        "precos.txt",
        "text/plain",
    )
    .await;
    assert_eq!(text.status(), 201);
    assert_eq!(text.json::<Value>().await.unwrap()["type"], "document");
    let not_multipart = app
        .post("/api/v1/media", Some(&admin.access), &json!({"file": "x"}))
        .await;
    assert!(not_multipart.status().is_client_error());
    let missing = app.get("/api/v1/media/123456", &admin.access).await;
    assert_error(missing, 404, "not_found").await;
}

#[actix_web::test]
async fn a_message_is_forwarded_with_a_copy_of_its_file_and_pinned_for_the_team() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let media_id = app.sim.add_media(png(), "image/png");
    let body = inbound(
        CUSTOMER,
        "wamid.FWD",
        json!({"type": "image", "image": {"id": media_id, "mime_type": "image/png", "caption": "comprovante"}}),
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let from = app.get_json("/api/v1/chats", &admin.access).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.claim(&from, &admin).await;
    let to = app.customer_says("5511900001111", "wamid.to", "oi").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.claim(&to, &admin).await;
    let image = app
        .eventually(
            &format!("/api/v1/chats/{from}/messages"),
            &admin.access,
            "the image downloaded",
            |page| page["items"][0]["media"]["id"].is_string(),
        )
        .await["items"][0]
        .clone();
    let image_id = image["id"].as_str().unwrap();
    let path = format!("/api/v1/chats/{from}/messages/{image_id}/forward");
    // Wait for the file: a forward copies its bytes.
    let forwarded = wait_until("the image forwarded", Duration::from_secs(20), || async {
        let response = app
            .post(
                &path,
                Some(&admin.access),
                &json!({"to_chat_id": to, "client_id": "fwd-1"}),
            )
            .await;
        match response.status().as_u16() {
            202 => Ok(response.json::<Value>().await.unwrap()),
            status => Err(status),
        }
    })
    .await;
    assert_eq!(forwarded["chat_id"], to);
    assert_eq!(forwarded["type"], "image");
    assert_eq!(forwarded["caption"], "comprovante");
    assert_eq!(forwarded["details"]["forwarded"]["message_id"], image_id);
    assert_ne!(
        forwarded["media"]["id"], image["media"]["id"],
        "its own copy of the file"
    );
    let files = app.media_files();
    let again = app
        .post(
            &path,
            Some(&admin.access),
            &json!({"to_chat_id": to, "client_id": "fwd-1"}),
        )
        .await;
    assert_eq!(again.status(), 200, "the same client id sends nothing more");
    assert_eq!(app.media_files(), files, "nor copies the file again");
    let sent = app.sent_of_type("image").await;
    assert_eq!(sent["image"]["caption"], "comprovante");
    // Into a chat the caller may not see, or a message of another kind: refused.
    let agent = app.user(&admin, "agent@test.local", "agent").await;
    let refused = app
        .post(
            &path,
            Some(&agent.access),
            &json!({"to_chat_id": to, "client_id": "fwd-2"}),
        )
        .await;
    assert_eq!(refused.status(), 404);
    // Into a closed chat: refused before the file is copied.
    let close = format!("/api/v1/chats/{to}/close");
    let closed = app.post(&close, Some(&admin.access), &json!({})).await;
    assert_eq!(closed.status(), 200);
    let into_closed = app
        .post(
            &path,
            Some(&admin.access),
            &json!({"to_chat_id": to, "client_id": "fwd-3"}),
        )
        .await;
    assert_error(into_closed, 409, "chat_closed_write").await;
    assert_eq!(app.media_files(), files, "a refused forward copies nothing");

    let pin = format!("/api/v1/chats/{from}/messages/{image_id}");
    let pinned = app
        .patch(&pin, &admin.access, &json!({"pinned": true}))
        .await;
    assert_eq!(pinned.status(), 200);
    let listed = app
        .get_json(
            &format!("/api/v1/chats/{from}/messages?pinned=true"),
            &admin.access,
        )
        .await;
    assert_eq!(listed["items"][0]["id"], image_id);
    app.patch(&pin, &admin.access, &json!({"pinned": false}))
        .await;
    let listed = app
        .get_json(
            &format!("/api/v1/chats/{from}/messages?pinned=true"),
            &admin.access,
        )
        .await;
    assert!(listed["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn a_browser_recording_is_kept_as_an_ogg_voice_note_and_sent_as_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let webm = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/voice/chrome-recording.webm"
    ))
    .unwrap();
    let uploaded = upload(&app, &admin.access, webm, "voice.webm", "audio/webm").await;
    assert_eq!(uploaded.status(), 201);
    let uploaded: Value = uploaded.json().await.unwrap();
    assert_eq!(uploaded["type"], "audio", "{uploaded}");
    assert!(
        uploaded["mime_type"]
            .as_str()
            .unwrap()
            .starts_with("audio/ogg"),
        "{uploaded}"
    );
    let id = app
        .claimed_chat(&admin, CUSTOMER, "wamid.voice", "manda áudio")
        .await;
    let sent = app
        .post(
            &format!("/api/v1/chats/{id}/messages"),
            Some(&admin.access),
            &json!({"client_id": "v1", "type": "audio", "media_id": uploaded["id"]}),
        )
        .await;
    assert_eq!(sent.status(), 202);
    let body = app.sent_of_type("audio").await;
    assert_eq!(body["audio"]["voice"], true);
    let (bytes, _) = app
        .sim
        .uploaded(body["audio"]["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(&bytes[..4], b"OggS");
    // A WebM without Opus audio is refused, not kept.
    let not_opus = upload(
        &app,
        &admin.access,
        b"\x1aE\xdf\xa3 not really".to_vec(),
        "x.webm",
        "video/webm",
    )
    .await;
    assert!(not_opus.status().is_client_error(), "{}", not_opus.status());
    // Elements declaring sizes far past the upload (2^56 bytes) are a field error, and the
    // hub goes on: a demuxer that allocated what they declare aborted the process.
    let hostile = b"\x1aE\xdf\xa3\x8aB\x82\x01\xff\xff\xff\xff\xff\xff\xfe\x18S\x80g\x01\xff\xff\xff\xff\xff\xff\xff\x16T\xaek\x01\x00\x00\x00\xff\xff\xff\xff";
    let refused = upload(
        &app,
        &admin.access,
        hostile.to_vec(),
        "x.webm",
        "audio/webm",
    )
    .await;
    assert_error(refused, 400, "validation_failed").await;
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
}

#[actix_web::test]
async fn a_file_that_does_not_match_its_checksum_is_kept_flagged_and_counted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let media_id = app.sim.add_media(png(), "image/png");
    // 32 zero bytes in base64: not the file's SHA-256.
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let body = inbound(
        CUSTOMER,
        "wamid.BAD",
        json!({"type": "image", "image": {"id": media_id, "mime_type": "image/png", "sha256": wrong}}),
    );
    assert_eq!(app.webhook(&body).await.status(), 200);
    let chat = app.get_json("/api/v1/chats", &admin.access).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = app
        .eventually(
            &format!("/api/v1/chats/{chat}/messages"),
            &admin.access,
            "the file kept, flagged",
            |page| page["items"][0]["media"]["unverified"] == true,
        )
        .await;
    let url = page["items"][0]["media"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let file = app.get(&url, &admin.access).await;
    assert_eq!(file.status(), 200, "the agent sees it");
    assert_eq!(file.bytes().await.unwrap().to_vec(), png());
    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(&metrics, "atende_media_unverified_total"),
        1.0,
        "{metrics}"
    );
}
