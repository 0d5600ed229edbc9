//! The public API's contract: one OpenAPI 3.1 document, derived from the handlers of every
//! module and their contract types, and the same in every process and topology. Served at
//! `/openapi.json`, rendered for people at `/docs`, printed by `cleave openapi`.

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use http::header;
use runtime::health::HealthDoc;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, ResponseBuilder};
use utoipa::OpenApi;

use crate::modules::MODULES;
use vocab::{FieldError, Problem};

mod clients;
mod html;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cleave",
        description = "The public API of cleave, the same whether its modules run in one \
            process or several. Every error is `application/problem+json` (RFC 9457); money is \
            integer minor units with a currency code; ids are UUID v7; timestamps RFC 3339 UTC."
    ),
    components(schemas(Problem, FieldError))
)]
struct Contract;

/// The document, assembled from each module's part.
pub fn document() -> serde_json::Value {
    let mut doc = Contract::openapi();
    for module in MODULES {
        doc.merge((module.openapi)());
    }
    doc.merge(HealthDoc::openapi());
    doc.paths
        .paths
        .insert("/metrics".to_owned(), metrics_path());
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    camel_case_links(&mut doc);
    clients::prepare(&mut doc);
    doc
}

/// `/metrics` has no handler of its own to derive it from: the Prometheus exporter renders it.
fn metrics_path() -> PathItem {
    let text = ContentBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build();
    let operation = OperationBuilder::new()
        .operation_id(Some("metrics"))
        .tag("health")
        .summary(Some("Counters and histograms of this process"))
        .description(Some(
            "The Prometheus text exposition format: requests served, their latency, calls \
             to other processes and events delivered.",
        ))
        .response(
            "200",
            ResponseBuilder::new()
                .description("The metrics")
                .content("text/plain", text)
                .build(),
        )
        .build();
    PathItem::new(HttpMethod::Get, operation)
}

/// utoipa 5 writes the fields of a Link Object in snake case (`operation_id`), where
/// OpenAPI names them in camel case (`operationId`); tools that follow links, such as
/// fuzzers walking from `POST /users` to `GET /users/{id}`, would not see them otherwise.
fn camel_case_links(doc: &mut serde_json::Value) {
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let links = operation["responses"]
            .as_object_mut()
            .into_iter()
            .flat_map(|responses| responses.values_mut())
            .filter_map(|response| response.get_mut("links"))
            .filter_map(serde_json::Value::as_object_mut)
            .flat_map(|links| links.values_mut())
            .filter_map(serde_json::Value::as_object_mut);
        for link in links {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(snake) {
                    link.insert(camel.to_owned(), value);
                }
            }
        }
    }
}

/// The document as `cleave openapi` prints it and the repository keeps it.
pub fn document_json() -> String {
    let mut json =
        serde_json::to_string_pretty(&document()).expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// `GET /openapi.json` and `GET /docs`, both rendered once, when the process starts.
pub fn router() -> Router {
    let doc = document();
    let page = html::render(&doc);
    let mut json = serde_json::to_string_pretty(&doc).expect("the OpenAPI document serializes");
    json.push('\n');
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }),
        )
        .route("/docs", get(move || async move { Html(page) }))
}
