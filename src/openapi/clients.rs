//! What generated clients need of the document beyond what the handlers derive: lists
//! whose items name their schema, a server, and the headers every response carries.

use serde_json::{json, Map, Value};

/// Applies every change below to `doc`.
pub(super) fn prepare(doc: &mut Value) {
    list_items_by_reference(doc);
    doc["servers"] = json!([{
        "url": "/",
        "description": "The server that serves this document: the gateway, or any process of the deployment",
    }]);
    response_headers(doc);
}

/// utoipa inlines the item schema of a generic `Page<T>` (`Page_Order`); a generated client
/// then names the items after the page (`PageOrderDataItem`) instead of `Order`. Where the
/// inline copy is the component itself, it becomes a reference to it.
fn list_items_by_reference(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object().cloned() else {
        return;
    };
    for (name, schema) in &schemas {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        let inline = &schema["properties"]["data"]["items"];
        if schemas.get(item) == Some(inline) {
            doc["components"]["schemas"][name]["properties"]["data"]["items"] =
                json!({ "$ref": format!("#/components/schemas/{item}") });
        }
    }
}

/// `x-request-id` on every response; `Retry-After` on those that may say when to come back.
fn response_headers(doc: &mut Value) {
    let request_id = json!({
        "description": "The request's id: the one it came with, or a new one. Every log line \
            the request causes names it; quote it when reporting a problem.",
        "schema": { "type": "string" },
    });
    let retry_after = json!({
        "description": "Seconds after which the request may succeed if sent again (also \
            `retry_after` in the body); absent when the server cannot tell.",
        "schema": { "type": "integer", "minimum": 0 },
    });
    let responses = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation["responses"].as_object_mut())
        .flat_map(|responses| responses.iter_mut());
    for (status, response) in responses {
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        let headers = response
            .entry("headers")
            .or_insert_with(|| Value::Object(Map::new()));
        headers["x-request-id"] = request_id.clone();
        if status == "429" || status == "503" {
            headers["Retry-After"] = retry_after.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_refers_to_its_item_only_where_the_copy_is_the_item() {
        let order = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let mut doc = json!({"components": {"schemas": {
            "Order": order,
            "Page_Order": {"properties": {"data": {"type": "array", "items": order}}},
            "Page_Other": {"properties": {"data": {"type": "array", "items": {"type": "string"}}}},
        }}});
        list_items_by_reference(&mut doc);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Page_Order"]["properties"]["data"]["items"],
            json!({"$ref": "#/components/schemas/Order"})
        );
        assert_eq!(
            schemas["Page_Other"]["properties"]["data"]["items"],
            json!({"type": "string"})
        );
    }
}
