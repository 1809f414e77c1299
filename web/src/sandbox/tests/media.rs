//! Media upload, lookup and download, and the template list.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::*;

/// A multipart body with `file` (of `mime`) and the given text fields, and its
/// `Content-Type` header value.
fn form(file: &[u8], mime: &str, fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "atende-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
             Content-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(sim: &CloudApiSim, content_type: String, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/sandbox/media", sim.base_url()))
        .bearer_auth(TOKEN)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("the simulator answers")
}

/// `GET /{media_id}`, then the bytes at the URL it gives.
async fn fetch(sim: &CloudApiSim, media_id: &str) -> (Value, Vec<u8>) {
    let client = reqwest::Client::new();
    let lookup = client
        .get(format!("{}/{media_id}", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("an answer");
    assert_eq!(lookup.status(), 200, "{media_id}");
    let info: Value = lookup.json().await.expect("JSON");
    let url = info["url"].as_str().expect("a URL");
    let download = client.get(url).bearer_auth(TOKEN).send().await;
    let download = download.expect("an answer");
    assert_eq!(download.status(), 200);
    let bytes = download.bytes().await.expect("the bytes").to_vec();
    (info, bytes)
}

#[actix_web::test]
async fn an_uploaded_media_downloads_as_the_same_bytes() {
    let sim = start_sim(Duration::ZERO).await;
    let file = b"%PDF-1.4 not really a pdf".to_vec();
    let fields = [
        ("messaging_product", "whatsapp"),
        ("type", "application/pdf"),
    ];
    let (content_type, body) = form(&file, "application/octet-stream", &fields);

    let response = upload(&sim, content_type, body).await;
    assert_eq!(response.status(), 200);
    let id = response.json::<Value>().await.expect("JSON")["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let (info, bytes) = fetch(&sim, &id).await;

    assert_eq!(bytes, file);
    assert_eq!(
        sim.uploaded(&id),
        Some((file.clone(), "application/pdf".into()))
    );
    assert_eq!(info["messaging_product"], "whatsapp");
    assert_eq!(info["mime_type"], "application/pdf");
    assert_eq!(info["file_size"], file.len());
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["sha256"], STANDARD.encode(Sha256::digest(&file)));
}

#[actix_web::test]
async fn an_upload_without_file_or_product_is_400_with_code_100() {
    let sim = start_sim(Duration::ZERO).await;
    let no_product = form(b"x", "image/png", &[("type", "image/png")]);
    let boundary = "b";
    let no_file = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n\
         whatsapp\r\n--{boundary}--\r\n"
    );
    let cases = [
        no_product,
        (
            format!("multipart/form-data; boundary={boundary}"),
            no_file.into_bytes(),
        ),
        ("application/json".to_string(), b"{}".to_vec()),
    ];

    for (content_type, body) in cases {
        let (status, error) = graph_error(upload(&sim, content_type.clone(), body).await).await;
        assert_eq!(
            (status, error["error"]["code"].as_i64()),
            (400, Some(100)),
            "{content_type}"
        );
    }
}

#[actix_web::test]
async fn added_media_and_placeholders_download_as_valid_files() {
    let sim = start_sim(Duration::ZERO).await;
    let added = sim.add_media(b"OggS fake".to_vec(), "audio/ogg");

    let (info, bytes) = fetch(&sim, &added).await;
    assert_eq!(
        (info["mime_type"].clone(), bytes),
        (Value::from("audio/ogg"), b"OggS fake".to_vec())
    );

    let (info, png) = fetch(&sim, "sim-image-1").await;
    assert_eq!(info["mime_type"], "image/png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(&png[12..16], b"IHDR");
    assert!(png.ends_with(b"IEND\xae\x42\x60\x82"));
    let (info, pdf) = fetch(&sim, "sim-document-3").await;
    assert_eq!(
        (info["mime_type"].clone(), &pdf[..5]),
        (Value::from("application/pdf"), &b"%PDF-"[..])
    );
    let (info, _) = fetch(&sim, "sim-audio-2").await;
    assert_eq!(info["mime_type"], "audio/mpeg");
}

#[actix_web::test]
async fn an_unknown_media_id_is_404_with_code_100() {
    let sim = start_sim(Duration::ZERO).await;
    let client = reqwest::Client::new();
    let root = sim.base_url().replace("/v23.0", "");

    for url in [
        format!("{}/424242", sim.base_url()),
        format!("{root}/download/424242"),
    ] {
        let response = client.get(&url).bearer_auth(TOKEN).send().await;
        let (status, error) = graph_error(response.expect("an answer")).await;
        assert_eq!(
            (status, error["error"]["code"].as_i64()),
            (404, Some(100)),
            "{url}"
        );
    }
}

#[actix_web::test]
async fn templates_list_approved_brazilian_portuguese_templates() {
    let sim = start_sim(Duration::ZERO).await;

    let response = reqwest::Client::new()
        .get(format!("{}/sandbox-waba/message_templates", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("an answer");

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    let templates = body["data"].as_array().expect("a list");
    assert!(templates.len() >= 2);
    assert!(body["paging"]["cursors"].is_object());
    for template in templates {
        assert_eq!(template["status"], "APPROVED");
        assert_eq!(template["language"], "pt_BR");
        assert!(template["id"].is_string() && template["category"].is_string());
        assert_eq!(template["components"][0]["type"], "BODY");
    }
    let pedido = templates.iter().find(|t| t["name"] == "pedido_enviado");
    let text = pedido.expect("pedido_enviado")["components"][0]["text"].as_str();
    assert!(text.is_some_and(|t| t.contains("{{1}}") && t.contains("{{2}}")));
}
