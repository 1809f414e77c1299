//! [`WsConnection`]: one per browser socket at `GET /api/v1/ws`. It authenticates with the
//! first frame (never a token in the URL), replays what the client missed, forwards live
//! events, relays typing / viewing / presence, pings, and closes silent or lagging sockets.
//! It is the only user of actix-web-actors (deprecated upstream for actix-ws), so a swap
//! stays in this module.

use std::num::NonZeroU32;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{get, web, HttpRequest, HttpResponse};
use actix_web_actors::ws::{self, CloseCode, CloseReason};
use atende_actors::agent_session::{AgentSession, SetPresence};
use atende_actors::chat::scope_of;
use atende_actors::events::{lagged, Attach, Attached, Detach, Payload, Publish, ToConnection};
use atende_actors::metrics::Metrics;
use atende_data::{ChatId, FamilyId, User, Visibility};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::Error;
use crate::middleware::origin_allowed;
use crate::state::AppState;

#[cfg(test)]
mod fuzz;

/// The first frame must authenticate within this time.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the server pings (and checks for silence and lag).
pub const PING_INTERVAL: Duration = Duration::from_secs(10);
/// A socket silent this long is gone.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest client frame; client frames are tiny.
pub const MAX_FRAME: usize = 64 * 1024;
/// Events waiting for a socket before it counts as lagging (a few seconds of a busy hub;
/// a socket further behind resumes from the log).
const MAILBOX: usize = 4096;
/// Client frames per second allowed (typing bursts included), and the burst.
const FRAMES_PER_SECOND: NonZeroU32 = NonZeroU32::new(10).unwrap();
const FRAME_BURST: NonZeroU32 = NonZeroU32::new(30).unwrap();
/// A typing notice per chat at most this often.
const TYPING_EVERY: Duration = Duration::from_secs(2);

/// Close codes: why the server ended a socket.
mod close {
    pub const UNAUTHORIZED: u16 = 4401;
    pub const SILENT: u16 = 4408;
    pub const LAGGING: u16 = 4409;
    pub const FLOOD: u16 = 4429;
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(connect);
}

/// Opens the event socket. Protocol: send `{"type":"auth","token","resume_from"}` within
/// 10 s; receive `{"type":"ready","seq"}`, then missed events or `{"type":"resync"}`, then
/// `{"type":"event","seq","event","data"}` frames. Client frames: typing, viewing,
/// presence, ping. Close codes: 4401 unauthenticated, 4408 silent for 30 s, 4409 fell
/// behind (reconnect and resume), 4429 flooding, 1009 frame too large.
#[utoipa::path(tag = "realtime", responses(
    (status = 101, description = "switching to the WebSocket protocol"),
    (status = 403, description = "`origin_forbidden`: a page of another origin", body = crate::views::ErrorBody),
))]
#[get("/ws")]
async fn connect(
    state: web::Data<AppState>,
    req: HttpRequest,
    stream: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let origin = req.headers().get(actix_web::http::header::ORIGIN);
    if origin.is_some_and(|origin| !origin_allowed(&state.config, origin, req.head())) {
        return Err(Error::Forbidden(atende_data::refusals::ORIGIN_FORBIDDEN).into());
    }
    ws::WsResponseBuilder::new(WsConnection::new(state), &req, stream)
        .frame_size(MAX_FRAME)
        .start()
}

/// What a client may send, as `{"type": ..., fields}` text frames.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, Clone, PartialEq))]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Auth {
        token: String,
        resume_from: Option<u64>,
    },
    Typing {
        chat_id: String,
    },
    Viewing {
        chat_id: Option<String>,
    },
    Presence {
        presence: String,
    },
    Ping,
}

/// Reads a client's text frame: a JSON object whose `type` names a [`ClientFrame`].
fn parse_client_frame(text: &str) -> Result<ClientFrame, serde_json::Error> {
    serde_json::from_str(text)
}

struct Live {
    user: User,
    /// The sign-in the socket was opened with: when it ends (sign-out, a replayed refresh
    /// token, expiry), the socket closes.
    family: FamilyId,
    session: Addr<AgentSession>,
    connection_id: u64,
}

/// One socket.
pub struct WsConnection {
    state: web::Data<AppState>,
    live: Option<Live>,
    authenticating: bool,
    last_heard: Instant,
    lagged: Arc<AtomicBool>,
    /// A token bucket over the client's frames.
    frames: DefaultDirectRateLimiter,
    viewing: Option<ChatId>,
    last_typing: Option<(ChatId, Instant)>,
}

impl WsConnection {
    fn new(state: web::Data<AppState>) -> Self {
        WsConnection {
            state,
            live: None,
            authenticating: false,
            last_heard: Instant::now(),
            lagged: Arc::new(AtomicBool::new(false)),
            frames: RateLimiter::direct(
                Quota::per_second(FRAMES_PER_SECOND).allow_burst(FRAME_BURST),
            ),
            viewing: None,
            last_typing: None,
        }
    }

    fn end(&self, ctx: &mut ws::WebsocketContext<Self>, code: u16, reason: &str) {
        ctx.close(Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(reason.into()),
        }));
        ctx.stop();
    }

    fn error(&self, ctx: &mut ws::WebsocketContext<Self>, code: &str, message: &str) {
        ctx.text(json!({"type": "error", "code": code, "message": message}).to_string());
    }

    /// A token bucket over client frames; false when the client is flooding.
    fn admit_frame(&mut self) -> bool {
        self.frames.check().is_ok()
    }

    fn authenticate(
        &mut self,
        token: &str,
        resume_from: Option<u64>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let Some((user, family)) = self.user_of(token) else {
            return self.end(
                ctx,
                close::UNAUTHORIZED,
                "the token is missing, invalid or expired",
            );
        };
        self.authenticating = true;
        let attach = Attach {
            user: user.clone(),
            family,
            connection: ctx.address().recipient(),
            lagged: self.lagged.clone(),
            resume_from,
        };
        let sent = self.state.hub.bus.send(attach).into_actor(self);
        // `wait`: nothing else is handled until the replay is written, so live events that
        // arrive meanwhile follow it in order.
        ctx.wait(sent.map(move |result, conn, ctx| match result {
            Ok(attached) => conn.go_live(user, family, attached, ctx),
            Err(_) => conn.end(ctx, 1011, "the hub is shutting down"),
        }));
    }

    fn user_of(&self, token: &str) -> Option<(User, FamilyId)> {
        let (user, family) = crate::auth::signed_in(&self.state, token).ok()?;
        matches!(crate::auth::step_owed(&self.state, &user), Ok(None)).then_some((user, family))
    }

    /// Whether the socket's sign-in still lasts (true before it is signed in).
    fn sign_in_lasts(&self) -> bool {
        self.live.as_ref().is_none_or(|live| {
            let lasts =
                self.state
                    .store
                    .session_lasts(live.user.id, live.family, chrono::Utc::now());
            !matches!(lasts, Ok(false))
        })
    }

    fn go_live(
        &mut self,
        user: User,
        family: FamilyId,
        attached: Attached,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        ctx.text(json!({"type": "ready", "seq": attached.seq}).to_string());
        match attached.replay {
            Some(events) => events.iter().for_each(|e| ctx.text(e.frame())),
            None => ctx.text(json!({"type": "resync"}).to_string()),
        }
        self.live = Some(Live {
            user,
            family,
            session: attached.session,
            connection_id: attached.connection_id,
        });
    }

    fn on_frame(&mut self, frame: ClientFrame, ctx: &mut ws::WebsocketContext<Self>) {
        let signed_in = self.live.is_some() || self.authenticating;
        match frame {
            ClientFrame::Ping => ctx.text(r#"{"type":"pong"}"#),
            ClientFrame::Auth { .. } if signed_in => self.error(
                ctx,
                "already_authenticated",
                "this socket is already signed in",
            ),
            ClientFrame::Auth { token, resume_from } => self.authenticate(&token, resume_from, ctx),
            _ if self.live.is_none() => {
                self.end(ctx, close::UNAUTHORIZED, "send the auth frame first")
            }
            ClientFrame::Presence { presence } => match (presence.as_str(), &self.live) {
                ("online" | "away", Some(live)) => live.session.do_send(SetPresence {
                    away: presence == "away",
                }),
                _ => self.error(ctx, "bad_frame", "presence must be online or away"),
            },
            ClientFrame::Typing { chat_id } => self.typing(&chat_id, ctx),
            ClientFrame::Viewing { chat_id } => self.view(chat_id.as_deref(), ctx),
        }
    }

    /// A chat this socket's user may see, or an error frame.
    fn visible_chat(
        &self,
        raw: &str,
        ctx: &mut ws::WebsocketContext<Self>,
    ) -> Option<atende_data::Chat> {
        let user = &self.live.as_ref()?.user;
        let chat = raw
            .parse()
            .ok()
            .and_then(|id| self.state.store.chat(id).ok().flatten());
        let visibility = Visibility {
            user: user.id,
            queues: user.queue_ids.clone(),
        };
        match chat {
            Some(chat) if user.role.is_staff() || visibility.allows(&chat) => Some(chat),
            _ => {
                self.error(ctx, "not_found", "no such chat");
                None
            }
        }
    }

    fn typing(&mut self, raw: &str, ctx: &mut ws::WebsocketContext<Self>) {
        let Some(chat) = self.visible_chat(raw, ctx) else {
            return;
        };
        if self
            .last_typing
            .is_some_and(|(id, at)| id == chat.id && at.elapsed() < TYPING_EVERY)
        {
            return;
        }
        self.last_typing = Some((chat.id, Instant::now()));
        self.announce("typing", &chat, true);
    }

    fn view(&mut self, raw: Option<&str>, ctx: &mut ws::WebsocketContext<Self>) {
        let chat = match raw {
            Some(raw) => match self.visible_chat(raw, ctx) {
                Some(chat) => Some(chat),
                None => return,
            },
            None => None,
        };
        if chat.as_ref().map(|c| c.id) == self.viewing {
            return;
        }
        if let Some(previous) = self
            .viewing
            .take()
            .and_then(|id| self.state.store.chat(id).ok().flatten())
        {
            self.announce("viewing", &previous, false);
        }
        if let Some(chat) = chat {
            self.viewing = Some(chat.id);
            self.announce("viewing", &chat, true);
        }
    }

    fn announce(&self, name: &'static str, chat: &atende_data::Chat, active: bool) {
        let Some(live) = &self.live else { return };
        let data = json!({
            "chat_id": chat.id.to_string(),
            "user_id": live.user.id.to_string(),
            "name": live.user.name,
            "active": active,
        });
        self.state.hub.bus.do_send(Publish {
            name,
            scope: scope_of(chat),
            payload: Payload::Json(data),
            flushed: true,
            intent: None,
        });
    }
}

impl Actor for WsConnection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        Metrics::bump(&self.state.hub.metrics.websocket_connections);
        ctx.set_mailbox_capacity(MAILBOX);
        ctx.run_later(AUTH_TIMEOUT, |conn, ctx| {
            if conn.live.is_none() {
                conn.end(ctx, close::UNAUTHORIZED, "no auth frame within 10 seconds");
            }
        });
        ctx.run_interval(PING_INTERVAL, |conn, ctx| {
            if conn.last_heard.elapsed() >= SILENCE_TIMEOUT {
                conn.end(ctx, close::SILENT, "silent for 30 seconds");
            } else if lagged(&conn.lagged) {
                conn.end(ctx, close::LAGGING, "fell behind; reconnect and resume");
            } else if !conn.sign_in_lasts() {
                conn.end(ctx, close::UNAUTHORIZED, "the sign-in ended");
            } else {
                ctx.ping(b"");
            }
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let connections = &self.state.hub.metrics.websocket_connections;
        connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(previous) = self
            .viewing
            .take()
            .and_then(|id| self.state.store.chat(id).ok().flatten())
        {
            self.announce("viewing", &previous, false);
        }
        if let Some(live) = &self.live {
            self.state.hub.bus.do_send(Detach {
                user: live.user.id,
                connection_id: live.connection_id,
            });
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for WsConnection {
    fn handle(&mut self, item: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        let message = match item {
            Ok(message) => message,
            Err(ws::ProtocolError::Overflow) => return self.end(ctx, 1009, "frame too large"),
            Err(_) => return self.end(ctx, 1002, "protocol error"),
        };
        match message {
            ws::Message::Text(text) => {
                if !self.admit_frame() {
                    return self.end(ctx, close::FLOOD, "too many frames");
                }
                match parse_client_frame(&text) {
                    Ok(frame) => self.on_frame(frame, ctx),
                    Err(_) => self.error(ctx, "bad_frame", "send a JSON frame of a known type"),
                }
            }
            ws::Message::Binary(_) => self.error(ctx, "bad_frame", "send JSON text frames"),
            ws::Message::Ping(bytes) => ctx.pong(&bytes),
            ws::Message::Close(_) => ctx.stop(),
            ws::Message::Pong(_) | ws::Message::Continuation(_) | ws::Message::Nop => {}
        }
    }
}

impl Handler<ToConnection> for WsConnection {
    type Result = ();

    fn handle(&mut self, msg: ToConnection, ctx: &mut Self::Context) {
        match msg {
            ToConnection::Event(frame) => ctx.text(frame),
            ToConnection::Close { code, reason } => self.end(ctx, code, reason),
        }
    }
}
