//! A WebSocket client for the tests: real sockets to `/api/v1/ws`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

/// How long a test waits for a frame before it fails.
pub const FRAME_DEADLINE: Duration = Duration::from_secs(10);

/// One browser tab.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The `seq` of the newest event received.
    pub last_seq: u64,
}

impl Socket {
    /// Opens a socket (not yet signed in).
    pub async fn open(app: &TestApp) -> Socket {
        Socket::open_at(app.address).await
    }

    /// Opens a socket to the hub at `address`.
    pub async fn open_at(address: std::net::SocketAddr) -> Socket {
        let url = format!("ws://{address}/api/v1/ws");
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket opens");
        Socket { ws, last_seq: 0 }
    }

    /// Opens a socket, signs in, and returns it with the `ready` sequence.
    pub async fn signed_in(
        app: &TestApp,
        token: &str,
        resume_from: Option<u64>,
    ) -> (Socket, Value) {
        Socket::signed_in_at(app.address, token, resume_from).await
    }

    /// The same, to the hub at `address`.
    pub async fn signed_in_at(
        address: std::net::SocketAddr,
        token: &str,
        resume_from: Option<u64>,
    ) -> (Socket, Value) {
        let mut socket = Socket::open_at(address).await;
        socket
            .send(json!({"type": "auth", "token": token, "resume_from": resume_from}))
            .await;
        let ready = socket.next().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        // Replayed events come after `ready` with numbers above `resume_from`.
        socket.last_seq = resume_from.unwrap_or_else(|| ready["seq"].as_u64().unwrap());
        (socket, ready)
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("frame sent");
    }

    pub async fn send_raw(&mut self, message: Message) {
        let _ = self.ws.send(message).await;
    }

    /// The next JSON frame, or a panic at the deadline or on close.
    pub async fn next(&mut self) -> Value {
        match self.next_or_close().await {
            Ok(frame) => frame,
            Err(code) => panic!("closed with {code}"),
        }
    }

    /// The next JSON frame, or the close code.
    pub async fn next_or_close(&mut self) -> Result<Value, u16> {
        loop {
            let message = tokio::time::timeout(FRAME_DEADLINE, self.ws.next())
                .await
                .expect("a frame before the deadline");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).expect("JSON frame");
                    if let Some(seq) = frame["seq"].as_u64().filter(|_| frame["type"] == "event") {
                        assert!(
                            seq > self.last_seq,
                            "sequence went backwards: {seq} after {}",
                            self.last_seq
                        );
                        self.last_seq = seq;
                    }
                    return Ok(frame);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map(|f| u16::from(f.code)).unwrap_or(1005))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Err(1006),
            }
        }
    }

    /// Events until (and including) the first named `name` that satisfies `check`.
    pub async fn events_until<F: Fn(&Value) -> bool>(
        &mut self,
        name: &str,
        check: F,
    ) -> Vec<Value> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + FRAME_DEADLINE;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "no {name} event in time; saw {seen:?}"
            );
            let frame = self.next().await;
            if frame["type"] != "event" {
                continue;
            }
            let done = frame["event"] == name && check(&frame["data"]);
            seen.push(frame);
            if done {
                return seen;
            }
        }
    }

    /// The next frame that is not an event (an error, a pong ...).
    pub async fn events_or_error(&mut self) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] != "event" {
                return frame;
            }
        }
    }

    /// The close code the server ends the socket with (frames before it are skipped).
    pub async fn closed_with(&mut self) -> u16 {
        loop {
            if let Err(code) = self.next_or_close().await {
                return code;
            }
        }
    }
}
