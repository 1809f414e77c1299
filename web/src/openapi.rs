//! The OpenAPI document's frame (the routes add themselves through utoipa-actix-web) and
//! its rendering as a readable HTML reference, made here so `/docs` works offline.

use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's fixed parts: title, description, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atende API",
        description = "HTTP API of the Atende WhatsApp customer-service hub. Times are RFC 3339 UTC; ids are strings. Every error is `{\"error\": {\"code\", \"message\", \"fields\"?}}`. Send `Authorization: Bearer <access_token>` (or an API token, `atd_...`, limited to the routes its scopes admit) on every route except sign-in, refresh, the webhook, health and this document. Outgoing webhooks are POSTs of `{id, event, created_at, data}` signed in `X-Atende-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">`."
    ),
    modifiers(&BearerScheme),
    components(schemas(crate::views::ErrorBody))
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API token")
                    .build(),
            ),
        );
    }
}

/// The HTTP methods of a path item's operations (its other keys are not operations).
pub(crate) const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// Completes the generated document so that it declares every answer a route can give:
/// each response gets a description (its reason phrase when the route gave none), and
/// each operation the refusals every route shares, with the error body: 400 and 429 (the
/// rate limits) everywhere, 401 and 403 where it takes a token, 404 where its path names
/// something, 409 where a JSON body changes something (it may name a record that does not
/// exist), 413 and 415 where it takes a JSON body.
pub fn complete(doc: &mut Value) {
    let error_body = serde_json::json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}});
    // The zones chrono-tz knows, as the settings accept them.
    let zone = &mut doc["components"]["schemas"]["BusinessHoursBody"]["properties"]["timezone"];
    if zone.is_object() {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect();
        zone["enum"] = Value::from(names);
    }
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    // Operation ids are the handlers' names; where two share one, the tag tells them apart.
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for op in paths
        .values()
        .flat_map(|item| METHODS.iter().filter_map(|m| item.get(*m)))
    {
        if let Some(id) = op["operationId"].as_str() {
            *seen.entry(id.to_string()).or_default() += 1;
        }
    }
    for (path, item) in paths.iter_mut() {
        let names_something = path.contains('{');
        for method in METHODS {
            let Some(op) = item.get_mut(*method) else {
                continue;
            };
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            if seen.get(&id).is_some_and(|n| *n > 1) {
                let tag = op["tags"][0].as_str().unwrap_or("api").replace('-', "_");
                op["operationId"] = Value::from(format!("{tag}_{id}"));
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let json_body = op["requestBody"]["content"]
                .get("application/json")
                .is_some();
            let writes = *method != "get" && json_body;
            let shared = [
                (
                    400,
                    true,
                    "the request is not valid: `fields` names each problem",
                ),
                (401, secured, "no token, or one that is no longer valid"),
                (
                    403,
                    secured,
                    "the caller's role or the token's scopes do not admit it",
                ),
                (
                    404,
                    names_something,
                    "nothing by that id, or nothing the caller may see",
                ),
                (
                    409,
                    writes,
                    "the hub's state refuses it: `code` says why, e.g. `unknown_reference` \
                     with `fields` when the body names a record that does not exist",
                ),
                (413, json_body, "the body is larger than the hub accepts"),
                (
                    415,
                    json_body,
                    "the body is not JSON (`Content-Type: application/json`)",
                ),
                (
                    429,
                    true,
                    "too many requests: `Retry-After` says when to try again",
                ),
            ];
            let responses = op["responses"].as_object_mut();
            let Some(responses) = responses else {
                continue;
            };
            for (status, applies, description) in shared {
                if applies && !responses.contains_key(&status.to_string()) {
                    responses.insert(
                        status.to_string(),
                        serde_json::json!({"description": description, "content": error_body}),
                    );
                }
            }
            for (status, response) in responses.iter_mut() {
                let empty = response["description"].as_str().is_none_or(str::is_empty);
                if empty {
                    let phrase = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                        .and_then(|code| code.canonical_reason())
                        .unwrap_or("the answer");
                    response["description"] = Value::from(phrase);
                }
            }
        }
    }
    link_created(paths);
}

/// Links from each creation (`POST /x` answering 201) to the operations on what it made
/// (`/x/{id}`), with the new `id`: how a client, or a stateful fuzzer, goes from creating a
/// record to reading, changing and deleting it.
fn link_created(paths: &mut serde_json::Map<String, Value>) {
    let mut links = Vec::new();
    for (path, item) in paths.iter() {
        if item["post"]["responses"].get("201").is_none() {
            continue;
        }
        let child = paths.iter().find(|(p, _)| {
            p.strip_prefix(path.as_str())
                .and_then(|rest| rest.strip_prefix("/{"))
                .is_some_and(|rest| rest.ends_with('}') && !rest.contains('/'))
        });
        let Some((child_path, child_item)) = child else {
            continue;
        };
        let param = child_path.rsplit_once("/{").map_or("", |(_, p)| p);
        let param = param.trim_end_matches('}').to_string();
        for method in METHODS {
            if let Some(id) = child_item[*method]["operationId"].as_str() {
                let name = format!("{}{}", &method[..1].to_uppercase(), &method[1..]);
                let link = serde_json::json!({
                    "operationId": id,
                    "parameters": {param.as_str(): "$response.body#/id"},
                });
                links.push((path.clone(), name, link));
            }
        }
    }
    for (path, name, link) in links {
        let created = &mut paths[&path]["post"]["responses"]["201"];
        created["links"][name] = link;
    }
}

/// The reference page for `doc` (an OpenAPI document as JSON).
pub fn render_html(doc: &Value) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Atende API reference</title><link rel=\"stylesheet\" href=\"/docs/docs.css\">\
         </head><body><main>",
    );
    let info = &doc["info"];
    html += &format!(
        "<h1>{} <small>{}</small></h1><p>{}</p><p><a href=\"/api/v1/openapi.json\">OpenAPI document (JSON)</a></p>",
        esc(info["title"].as_str().unwrap_or("API")),
        esc(info["version"].as_str().unwrap_or("")),
        esc(info["description"].as_str().unwrap_or(""))
    );
    html += "<h2>Routes</h2>";
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(*method) {
                    html += &operation(method, path, op);
                }
            }
        }
    }
    html += "<h2>Schemas</h2>";
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            html += &schema_section(name, schema);
        }
    }
    html + "</main></body></html>"
}

fn operation(method: &str, path: &str, op: &Value) -> String {
    let mut html = format!(
        "<article class=\"op\"><h3><span class=\"method {method}\">{}</span> <code>{}</code></h3>",
        method.to_uppercase(),
        esc(path)
    );
    for key in ["summary", "description"] {
        if let Some(text) = op[key].as_str() {
            html += &format!("<p>{}</p>", esc(text));
        }
    }
    if op.get("security").is_some() {
        html += "<p class=\"auth\">Requires a bearer access token.</p>";
    }
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        html += "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>";
        for p in params {
            html += &format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                if p["required"].as_bool() == Some(true) {
                    " *"
                } else {
                    ""
                },
                esc(p["in"].as_str().unwrap_or("")),
                type_of(&p["schema"]),
                esc(p["description"].as_str().unwrap_or(""))
            );
        }
        html += "</table>";
    }
    if let Some(body) = op["requestBody"]["content"].as_object() {
        for (mime, media) in body {
            html += &format!(
                "<h4>Body <small>{}</small></h4><p>{}</p>",
                esc(mime),
                type_of(&media["schema"])
            );
        }
    }
    html += "<h4>Responses</h4><ul>";
    if let Some(responses) = op["responses"].as_object() {
        for (status, response) in responses {
            let body = response["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|media| format!(" &mdash; {}", type_of(&media["schema"])))
                .unwrap_or_default();
            html += &format!(
                "<li><b>{}</b> {}{}</li>",
                esc(status),
                esc(response["description"].as_str().unwrap_or("")),
                body
            );
        }
    }
    html + "</ul></article>"
}

fn schema_section(name: &str, schema: &Value) -> String {
    let mut html = format!(
        "<article class=\"schema\" id=\"schema-{0}\"><h3>{0}</h3>",
        esc(name)
    );
    if let Some(text) = schema["description"].as_str() {
        html += &format!("<p>{}</p>", esc(text));
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema["properties"].as_object() {
        html += "<table><tr><th>field</th><th>type</th><th>description</th></tr>";
        for (field, prop) in props {
            html += &format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                esc(field),
                if required.contains(&field.as_str()) {
                    " *"
                } else {
                    ""
                },
                type_of(prop),
                esc(prop["description"].as_str().unwrap_or(""))
            );
        }
        html += "</table>";
    } else {
        html += &format!("<p>{}</p>", type_of(schema));
    }
    html + "</article>"
}

/// A schema in a few words, with links to named schemas.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| esc(&v.to_string())).collect();
        return format!("one of {}", values.join(", "));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            let parts: Vec<String> = options.iter().map(type_of).collect();
            return parts.join(" or ");
        }
    }
    match &schema["type"] {
        Value::String(t) if t == "array" => format!("array of {}", type_of(&schema["items"])),
        Value::String(t) => esc(t),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .map(|t| {
                if t == "array" {
                    format!("array of {}", type_of(&schema["items"]))
                } else {
                    esc(t)
                }
            })
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_escapes_what_it_shows() {
        let doc = json!({
            "info": {"title": "<script>", "version": "1"},
            "paths": {"/x": {"get": {"summary": "a < b", "responses": {"200": {"description": "ok"}}}}}
        });
        let html = render_html(&doc);
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("a &lt; b"));
    }
}
