//! The API reference page at `/docs`: the OpenAPI document rendered on the server as one
//! HTML page with inline styles and no script, so it opens offline and needs no asset
//! from anywhere.

use std::fmt::Write;

use serde_json::Value;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;\
padding:0 1rem;color:#222}h2{margin-top:2.5rem;border-bottom:1px solid #ccc}\
h3{margin:1.8rem 0 .3rem}code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}\
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}\
th,td{text-align:left;vertical-align:top;border-bottom:1px solid #eee;padding:.25rem .5rem}\
.method{display:inline-block;min-width:3.5rem;font-weight:bold;text-transform:uppercase}\
.muted{color:#666}";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The whole page for `doc`.
pub(super) fn render(doc: &Value) -> String {
    let title = text(&doc["info"]["title"]);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body>\
         <h1>{title} <span class=\"muted\">{version}</span></h1><p>{description}</p>\
         <p>The machine-readable contract: <a href=\"/openapi.json\"><code>/openapi.json</code></a> \
         (OpenAPI {openapi}).</p><h2>Operations</h2>",
        version = text(&doc["info"]["version"]),
        description = prose(&doc["info"]["description"]),
        openapi = text(&doc["openapi"]),
    );
    for (path, item) in entries(&doc["paths"]) {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                operation_html(&mut out, method, path, operation);
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    for (name, schema) in entries(&doc["components"]["schemas"]) {
        schema_html(&mut out, name, schema);
    }
    out.push_str("</body></html>");
    out
}

fn operation_html(out: &mut String, method: &str, path: &str, operation: &Value) {
    let _ = write!(
        out,
        "<h3 id=\"{id}\"><span class=\"method\">{method}</span> <code>{path}</code></h3><p>{summary}</p>",
        id = text(&operation["operationId"]),
        path = escape(path),
        summary = prose(&operation["summary"]),
    );
    if let Some(parameters) = operation["parameters"].as_array() {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>");
        for p in parameters {
            let _ = write!(
                out,
                "<tr><td><code>{name}</code>{required}</td><td>{place}</td><td>{ty}</td><td>{description}</td></tr>",
                name = text(&p["name"]),
                required = if p["required"] == true { " (required)" } else { "" },
                place = text(&p["in"]),
                ty = type_of(&p["schema"]),
                description = prose(&p["description"]),
            );
        }
        out.push_str("</table>");
    }
    if let Some(body) = operation["requestBody"]["content"].as_object() {
        for (media, content) in body {
            let _ = write!(
                out,
                "<p>Body: {ty} as <code>{media}</code></p>",
                ty = type_of(&content["schema"]),
                media = escape(media),
            );
        }
    }
    out.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
    for (status, response) in entries(&operation["responses"]) {
        let bodies: Vec<String> = entries(&response["content"])
            .map(|(media, content)| {
                format!(
                    "{} as <code>{}</code>",
                    type_of(&content["schema"]),
                    escape(media)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td>{status}</td><td>{description}</td><td>{bodies}</td></tr>",
            status = escape(status),
            description = prose(&response["description"]),
            bodies = bodies.join("<br>"),
        );
    }
    out.push_str("</table>");
}

fn schema_html(out: &mut String, name: &str, schema: &Value) {
    let _ = write!(
        out,
        "<h3 id=\"schema-{name}\">{name}</h3><p>{description}</p>",
        name = escape(name),
        description = prose(&schema["description"]),
    );
    if let Some(variants) = schema["enum"].as_array() {
        let names: Vec<String> = variants
            .iter()
            .map(|v| format!("<code>{}</code>", text(v)))
            .collect();
        let _ = write!(out, "<p>One of {}.</p>", names.join(", "));
        return;
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("<table><tr><th>field</th><th>type</th><th></th></tr>");
    for (field, property) in entries(&schema["properties"]) {
        let _ =
            write!(
            out,
            "<tr><td><code>{field}</code>{optional}</td><td>{ty}</td><td>{description}</td></tr>",
            field = escape(field),
            optional = if required.contains(&field) { "" } else { " (optional)" },
            ty = type_of(property),
            description = prose(&property["description"]),
        );
    }
    out.push_str("</table>");
}

/// A schema in a few words: its type or the schema it refers to, and its constraints.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = escape(reference.rsplit('/').next().unwrap_or(reference));
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let kinds: Vec<String> = alternatives.iter().map(type_of).collect();
        return kinds.join(" or ");
    }
    let mut kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().map(text).collect::<Vec<_>>().join(" or "),
        Value::Null => "any".to_owned(),
        other => text(other),
    };
    if schema["items"].is_object() {
        let _ = write!(kind, " of {}", type_of(&schema["items"]));
    }
    let constraints: Vec<String> = [
        "format",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "pattern",
    ]
    .iter()
    .filter(|key| !schema[**key].is_null())
    .map(|key| format!("{key} <code>{}</code>", text(&schema[*key])))
    .collect();
    if constraints.is_empty() {
        kind
    } else {
        format!("{kind} ({})", constraints.join(", "))
    }
}

fn entries(value: &Value) -> impl Iterator<Item = (&str, &Value)> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value))
}

/// A JSON value as escaped text: strings bare, anything else as JSON, nothing as nothing.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// Descriptions, escaped, with their `code spans` set as code.
fn prose(value: &Value) -> String {
    let mut out = String::new();
    for (i, part) in text(value).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
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

    #[test]
    fn every_operation_and_schema_is_on_the_page_and_text_is_escaped() {
        let doc = serde_json::from_str(&crate::openapi::document_json()).unwrap();
        let page = render(&doc);
        for anchor in [
            "id=\"create_user\"",
            "id=\"place_order\"",
            "id=\"list_payments\"",
            "id=\"schema-Problem\"",
        ] {
            assert!(page.contains(anchor), "{anchor} is missing");
        }
        assert!(!page.contains("<script"));
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            prose(&Value::from("a `b<c>` d")),
            "a <code>b&lt;c&gt;</code> d"
        );
    }
}
