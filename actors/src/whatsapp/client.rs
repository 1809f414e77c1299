//! The Cloud API client: real HTTP through reqwest, errors sorted into "try again" and
//! "give up" the way Meta documents its codes.

use std::time::Duration;

use serde_json::{json, Value};

/// Cloud API error codes that mean "later", not "never": throttling, pair rate limit,
/// generic and temporary failures, service unavailable.
const RETRYABLE_CODES: &[i64] = &[
    1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004, 133005,
];

/// What went wrong with a Cloud API request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CloudApiError {
    /// Worth trying again later (network, timeout, 5xx, throttling). `answer_lost`: the
    /// request may have reached Meta and only its answer is missing (a timeout, a broken
    /// connection after sending), so a send may have gone out.
    #[error("temporary Cloud API failure: {reason}")]
    Retryable { reason: String, answer_lost: bool },
    /// Meta refused it for good; the code and title go on the message.
    #[error("Cloud API error {code}: {title}")]
    Permanent { code: i64, title: String },
}

/// Where a media file can be downloaded (valid for about five minutes).
#[derive(Debug, Clone)]
pub struct MediaInfo {
    pub url: String,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A client of one Cloud API base URL with one access token.
#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl CloudClient {
    /// A client of `base` (e.g. `https://graph.facebook.com/v23.0`) with `token`.
    /// Each request may take `timeout`.
    pub fn new(base: &str, token: &str, timeout: Duration) -> CloudClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        CloudClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Sends a message body to `/{number}/messages`; returns its wamid.
    pub async fn send(&self, number: &str, body: &Value) -> Result<String, CloudApiError> {
        let url = format!("{}/{number}/messages", self.base);
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await;
        let value = read(response).await?;
        value["messages"][0]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CloudApiError::lost("the answer had no message id"))
    }

    /// Marks the customer's message `wamid` read.
    pub async fn mark_read(&self, number: &str, wamid: &str) -> Result<(), CloudApiError> {
        let body = json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid});
        let url = format!("{}/{number}/messages", self.base);
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await;
        read(response).await.map(drop)
    }

    /// Uploads a file for `number`; returns the Cloud API's media id.
    pub async fn upload(
        &self,
        number: &str,
        bytes: Vec<u8>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, CloudApiError> {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(mime_type)
            .map_err(|e| CloudApiError::Permanent {
                code: 100,
                title: e.to_string(),
            })?;
        let form = reqwest::multipart::Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime_type.to_string())
            .part("file", part);
        let url = format!("{}/{number}/media", self.base);
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await;
        let value = read(response).await?;
        value["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CloudApiError::lost("the upload answer had no id"))
    }

    /// Asks where an inbound media file can be downloaded.
    pub async fn media_info(&self, media_id: &str) -> Result<MediaInfo, CloudApiError> {
        let url = format!("{}/{media_id}", self.base);
        let value = read(self.http.get(url).bearer_auth(&self.token).send().await).await?;
        Ok(MediaInfo {
            url: value["url"]
                .as_str()
                .ok_or_else(|| CloudApiError::lost("no media url"))?
                .to_string(),
            mime_type: value["mime_type"].as_str().map(str::to_string),
            file_size: value["file_size"]
                .as_u64()
                .or_else(|| value["file_size"].as_str()?.parse().ok()),
        })
    }

    /// Downloads media bytes from a URL given by [`CloudClient::media_info`].
    pub async fn download(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, CloudApiError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(network)?;
        if !response.status().is_success() {
            return Err(status_error(response.status().as_u16(), &Value::Null));
        }
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(CloudApiError::Permanent {
                code: 413,
                title: "media file too large".into(),
            });
        }
        let bytes = response.bytes().await.map_err(network)?;
        Ok(bytes.to_vec())
    }

    /// The business account's message templates.
    pub async fn templates(&self, waba_id: &str) -> Result<Vec<Value>, CloudApiError> {
        let url = format!("{}/{waba_id}/message_templates?limit=200", self.base);
        let value = read(self.http.get(url).bearer_auth(&self.token).send().await).await?;
        Ok(value["data"].as_array().cloned().unwrap_or_default())
    }
}

async fn read(response: reqwest::Result<reqwest::Response>) -> Result<Value, CloudApiError> {
    let response = response.map_err(network)?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(status_error(status, &body))
    }
}

fn network(error: reqwest::Error) -> CloudApiError {
    if error.is_connect() {
        // Nothing was sent.
        return CloudApiError::Retryable {
            reason: "cannot connect".into(),
            answer_lost: false,
        };
    }
    CloudApiError::lost(if error.is_timeout() {
        "timed out"
    } else {
        "network error"
    })
}

impl CloudApiError {
    /// A temporary failure after which the request may have been taken.
    fn lost(reason: &str) -> CloudApiError {
        CloudApiError::Retryable {
            reason: reason.into(),
            answer_lost: true,
        }
    }
}

/// Sorts an error answer: Meta's code decides when there is one, else the HTTP status.
fn status_error(status: u16, body: &Value) -> CloudApiError {
    let error = &body["error"];
    let code = error["code"].as_i64();
    let title = error["error_data"]["details"]
        .as_str()
        .or(error["message"].as_str())
        .or(error["title"].as_str())
        .unwrap_or("request refused")
        .to_string();
    match code {
        Some(code) if RETRYABLE_CODES.contains(&code) => CloudApiError::Retryable {
            reason: format!("code {code}"),
            answer_lost: false,
        },
        _ if status >= 500 || status == 429 || status == 408 => CloudApiError::Retryable {
            reason: format!("HTTP {status}"),
            answer_lost: false,
        },
        Some(BSUID_NOT_SUPPORTED) => CloudApiError::Permanent {
            code: BSUID_NOT_SUPPORTED,
            title: BSUID_NOT_SUPPORTED_TITLE.into(),
        },
        Some(code) => CloudApiError::Permanent { code, title },
        None => CloudApiError::Permanent {
            code: i64::from(status),
            title,
        },
    }
}

/// Meta's 131062: this kind of message cannot go to a BSUID (a customer known only by
/// their username), e.g. an authentication template.
pub const BSUID_NOT_SUPPORTED: i64 = 131062;
/// What an agent is told of it (Meta's own text says only "not supported").
const BSUID_NOT_SUPPORTED_TITLE: &str = "This kind of message cannot be sent to a customer \
    known only by their WhatsApp username (no phone number); send another kind of message";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_by_meta_code_then_status() {
        let meta = |code: i64, status: u16| {
            status_error(
                status,
                &json!({"error": {"code": code, "message": "m", "error_data": {"details": "d"}}}),
            )
        };
        assert!(matches!(meta(130429, 400), CloudApiError::Retryable { .. }));
        assert!(matches!(meta(131056, 400), CloudApiError::Retryable { .. }));
        assert_eq!(
            meta(131047, 400),
            CloudApiError::Permanent {
                code: 131047,
                title: "d".into()
            }
        );
        assert_eq!(
            meta(131026, 400),
            CloudApiError::Permanent {
                code: 131026,
                title: "d".into()
            }
        );
        assert!(matches!(
            status_error(503, &Value::Null),
            CloudApiError::Retryable { .. }
        ));
        assert!(matches!(
            status_error(404, &Value::Null),
            CloudApiError::Permanent { code: 404, .. }
        ));
    }
}
