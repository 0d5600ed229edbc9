//! The API explorer at `/docs`: the OpenAPI document rendered on the server as one page,
//! operations grouped by tag with a sidebar and a search, each with an example request and
//! answer, a curl line and a form that sends the request to the same origin. Its style and
//! script are inline, so it opens offline and loads nothing from anywhere.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::example;

const STYLE: &str = include_str!("explorer.css");
const SCRIPT: &str = include_str!("explorer.js");

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// An operation, with where it is in the document.
struct Operation<'a> {
    method: &'static str,
    path: &'a str,
    operation: &'a Value,
}

/// The whole page for `doc`.
pub(super) fn render(doc: &Value) -> String {
    let title = text(&doc["info"]["title"]);
    let operations: Vec<Operation<'_>> = entries(&doc["paths"])
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |method| {
                item.get(*method).map(|operation| Operation {
                    method,
                    path,
                    operation,
                })
            })
        })
        .collect();
    let shared = shared_errors(&operations);
    let tags: Vec<(&str, &Value)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tag| Some((tag["name"].as_str()?, &tag["description"])))
        .collect();
    let tag_of = |op: &Operation<'_>| op.operation["tags"][0].as_str().unwrap_or("").to_owned();

    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title} API explorer</title><style>{STYLE}</style></head><body>\
         <nav id=\"sidebar\"><p class=\"brand\">{title} <span class=\"muted\">{version}</span></p>\
         <input id=\"search\" type=\"search\" placeholder=\"Search operations\" aria-label=\"Search operations\">",
        version = text(&doc["info"]["version"]),
    );
    for (tag, _) in &tags {
        let _ = write!(out, "<p class=\"tag\">{}</p><ul>", escape(tag));
        for op in operations.iter().filter(|op| tag_of(op) == *tag) {
            let _ = write!(
                out,
                "<li data-op=\"{id}\"><a href=\"#{id}\"><span class=\"method {method}\">{method}</span> {path}</a></li>",
                id = text(&op.operation["operationId"]),
                method = op.method,
                path = escape(op.path),
            );
        }
        out.push_str("</ul>");
    }
    out.push_str(
        "<p class=\"tag\"><a href=\"#errors\">Errors</a> · <a href=\"#schemas\">Schemas</a></p></nav><main>",
    );
    let _ = write!(
        out,
        "<h1>{title} API</h1><p>{description}</p>\
         <p>Every example below can be sent from this page to this server with <b>Try it</b>; \
         the curl line does the same from a shell. The machine-readable contract is \
         <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI {openapi}).</p>",
        description = prose(&doc["info"]["description"]),
        openapi = text(&doc["openapi"]),
    );
    for (tag, description) in &tags {
        let _ = write!(
            out,
            "<h2 id=\"tag-{tag}\">{tag}</h2><p class=\"muted\">{description}</p>",
            tag = escape(tag),
            description = prose(description),
        );
        for op in operations.iter().filter(|op| tag_of(op) == *tag) {
            operation_html(&mut out, op, doc, &shared);
        }
    }
    out.push_str(
        "<h2 id=\"errors\">Errors</h2><p>Every error is an <code>application/problem+json</code> \
         body (<a href=\"#schema-Problem\">Problem</a>); its <code>code</code> says which. \
         Besides the errors each operation lists, any of them may answer:</p>\
         <table><tr><th>status</th><th>meaning</th></tr>",
    );
    for (status, response) in &shared {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(status),
            prose(&response["description"])
        );
    }
    out.push_str("</table><h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in entries(&doc["components"]["schemas"]) {
        schema_html(&mut out, name, schema);
    }
    let _ = write!(out, "</main><script>{SCRIPT}</script></body></html>");
    out
}

/// The error responses that most operations answer alike: written once on the page.
fn shared_errors<'a>(operations: &[Operation<'a>]) -> BTreeMap<&'a str, &'a Value> {
    let mut seen: BTreeMap<(&str, String), (usize, &Value)> = BTreeMap::new();
    for op in operations {
        for (status, response) in entries(&op.operation["responses"]) {
            if status.starts_with(['4', '5']) {
                let entry = seen
                    .entry((status, response["description"].to_string()))
                    .or_insert((0, response));
                entry.0 += 1;
            }
        }
    }
    seen.into_iter()
        .filter(|(_, (count, _))| *count * 2 > operations.len())
        .map(|((status, _), (_, response))| (status, response))
        .collect()
}

fn operation_html(
    out: &mut String,
    op: &Operation<'_>,
    doc: &Value,
    shared: &BTreeMap<&str, &Value>,
) {
    let operation = op.operation;
    let id = text(&operation["operationId"]);
    let _ = write!(
        out,
        "<section class=\"op\" id=\"{id}\" data-search=\"{search}\">\
         <h3><span class=\"method {method}\">{method}</span> <code>{path}</code></h3><p>{summary}</p>",
        search = escape(&format!(
            "{} {} {} {}",
            op.method,
            op.path,
            operation["summary"].as_str().unwrap_or(""),
            operation["tags"][0].as_str().unwrap_or("")
        ))
        .to_lowercase(),
        method = op.method,
        path = escape(op.path),
        summary = prose(&operation["summary"]),
    );
    if operation["description"].is_string() {
        let _ = write!(out, "<p>{}</p>", prose(&operation["description"]));
    }
    let parameters: Vec<&Value> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    if !parameters.is_empty() {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>");
        for p in &parameters {
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
    let body = operation["requestBody"]["content"]["application/json"]["schema"].clone();
    let body_example = (!body.is_null()).then(|| pretty(&example::of(&body, doc)));
    if let Some(example) = &body_example {
        let _ = write!(
            out,
            "<p>Body: {ty} as <code>application/json</code>, for example:</p><pre>{example}</pre>",
            ty = type_of(&body),
            example = escape(example),
        );
    }
    for (status, response) in entries(&operation["responses"]).filter(|(s, _)| s.starts_with('2')) {
        let _ = write!(
            out,
            "<p>Answers <b>{}</b>: {}",
            escape(status),
            prose(&response["description"])
        );
        for (media, content) in entries(&response["content"]) {
            let _ = write!(
                out,
                " — {} as <code>{}</code>",
                type_of(&content["schema"]),
                escape(media)
            );
        }
        out.push_str("</p>");
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            let _ = write!(
                out,
                "<pre class=\"answer-example\">{}</pre>",
                escape(&pretty(&example::of(schema, doc)))
            );
        }
    }
    let own: Vec<(&str, &Value)> = entries(&operation["responses"])
        .filter(|(status, response)| {
            status.starts_with(['4', '5'])
                && shared
                    .get(status)
                    .is_none_or(|common| common["description"] != response["description"])
        })
        .collect();
    let common: Vec<&str> = entries(&operation["responses"])
        .map(|(status, _)| status)
        .filter(|status| shared.contains_key(status) && !own.iter().any(|(s, _)| s == status))
        .collect();
    let _ = write!(
        out,
        "<details class=\"errors\"><summary>Errors: {list}</summary><table><tr><th>status</th><th>meaning</th></tr>",
        list = own
            .iter()
            .map(|(status, _)| escape(status))
            .chain((!common.is_empty()).then(|| format!("and {}", common.join(", "))))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (status, response) in &own {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(status),
            prose(&response["description"])
        );
    }
    if !common.is_empty() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>as any operation: see <a href=\"#errors\">Errors</a></td></tr>",
            common.join(", ")
        );
    }
    out.push_str("</table></details>");
    try_it(out, op, &parameters, body_example.as_deref());
    out.push_str("</section>");
}

/// The form that sends the request from the page, and its curl line (filled in by the
/// script with the page's origin and the form's values).
fn try_it(out: &mut String, op: &Operation<'_>, parameters: &[&Value], body: Option<&str>) {
    let _ = write!(
        out,
        "<div class=\"try\" data-method=\"{method}\" data-path=\"{path}\"><p class=\"try-title\">Try it</p>",
        method = op.method.to_uppercase(),
        path = escape(op.path),
    );
    for p in parameters {
        let placeholder = match p["in"].as_str() {
            Some("path") => text(&example::of(&p["schema"], &Value::Null)),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<label>{name} <span class=\"muted\">({place})</span> \
             <input data-in=\"{place}\" name=\"{name}\" placeholder=\"{placeholder}\"></label>",
            name = text(&p["name"]),
            place = text(&p["in"]),
        );
    }
    if let Some(body) = body {
        let _ = write!(
            out,
            "<label class=\"body\">body <textarea name=\"body\" rows=\"{rows}\" spellcheck=\"false\">{body}</textarea></label>",
            rows = body.lines().count().clamp(3, 14),
            body = escape(body),
        );
    }
    out.push_str(
        "<pre class=\"curl\"></pre><button type=\"button\" class=\"send\">Send</button>\
         <pre class=\"answer\" hidden></pre></div>",
    );
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
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
        for remote in ["src=", "href=\"http", "@import", "url("] {
            assert!(!page.contains(remote), "the page loads something: {remote}");
        }
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
