//! The actix-web application and server.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt};

use crate::middleware::{cors, json_errors, rate_limit, request_span, security_headers};
use crate::openapi::ApiDoc;
use crate::routes::{self, docs::ApiDocument};
use crate::state::AppState;

/// Largest JSON body the API takes; routes that take more (the webhook, uploads) set
/// their own limit.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;
/// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
pub const SHUTDOWN_GRACE_SECONDS: u64 = 30;

/// The application: every route behind every layer.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let config = state.config.clone();
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        // Before the /api/v1 scope, which would otherwise claim /api/v1/openapi.json.
        .map(|app| app.configure(routes::docs::configure))
        .configure(routes::health::configure)
        .service(
            scope("/api/v1")
                // First: Meta's posts are the busiest requests, and routes are tried in
                // order (those with path parameters by regular expression).
                .service(scope("/webhooks").configure(routes::webhook::configure))
                .configure(routes::auth::configure)
                .configure(routes::two_factor::configure)
                .configure(routes::users::configure)
                .configure(routes::chats::configure)
                .configure(routes::messages::configure)
                .configure(routes::later::configure)
                .configure(routes::forward::configure)
                .configure(routes::labels::configure)
                .configure(routes::media::configure)
                .configure(routes::contacts::configure)
                .configure(routes::campaigns::configure)
                .configure(routes::templates::configure)
                .configure(routes::settings::configure)
                .configure(routes::queues::configure)
                .configure(routes::numbers::configure)
                .configure(routes::tokens::configure)
                .configure(routes::integrations::configure)
                .configure(routes::canned::configure)
                .configure(routes::audit::configure)
                .configure(routes::backup::configure)
                .configure(routes::privacy::configure)
                .configure(routes::qr::configure)
                .configure(routes::reports::configure)
                .configure(routes::sandbox::configure)
                .configure(crate::ws::configure),
        )
        .split_for_parts();
    app.app_data(state)
        .app_data(web::Data::new(ApiDocument::new(&api)))
        .app_data(web::PayloadConfig::new(JSON_BODY_LIMIT))
        .app_data(crate::extract::query_config())
        .configure(routes::metrics::configure)
        .configure(crate::ui::configure)
        .default_service(web::to(crate::ui::fallback))
        .wrap(from_fn(rate_limit))
        .wrap(cors(&config))
        .wrap(from_fn(json_errors))
        .wrap(security_headers(&config))
        .wrap(from_fn(request_span))
}

/// Starts serving on `listener` (TLS when `tls` is given); the server stops gracefully on
/// SIGINT/SIGTERM unless `signals` is false (tests run many hubs in one process).
pub fn serve(
    state: AppState,
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    signals: bool,
) -> std::io::Result<Server> {
    let workers = state.config.workers;
    let data = web::Data::new(state);
    let mut server =
        HttpServer::new(move || app(data.clone())).shutdown_timeout(SHUTDOWN_GRACE_SECONDS);
    if workers > 0 {
        server = server.workers(workers);
    }
    if !signals {
        server = server.disable_signals();
    }
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}
