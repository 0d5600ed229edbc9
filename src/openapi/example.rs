//! Example values made from a schema, for the explorer's request bodies and answers: the
//! schema's own example where it gives one, else a value of its type within its bounds.

use serde_json::{json, Map, Value};

/// How deep references are followed: the document's schemas nest less than this.
const MAX_DEPTH: u8 = 6;

/// An example of `schema`, whose references point into `doc`.
pub(super) fn of(schema: &Value, doc: &Value) -> Value {
    example(schema, doc, 0)
}

fn example(schema: &Value, doc: &Value, depth: u8) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(given) = schema.get("example") {
        return given.clone();
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return example(&doc["components"]["schemas"][name], doc, depth + 1);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    if let Some(first) = schema["oneOf"]
        .as_array()
        .and_then(|schemas| schemas.first())
    {
        return example(first, doc, depth + 1);
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        Value::String(kind) => kind.as_str(),
        _ if schema["properties"].is_object() => "object",
        _ => "null",
    };
    match kind {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, property)| (name.clone(), example(property, doc, depth + 1)))
                .collect::<Map<_, _>>(),
        ),
        "array" => json!([example(&schema["items"], doc, depth + 1)]),
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(0).max(1)),
        "number" => json!(schema["minimum"].as_f64().unwrap_or(1.0)),
        "boolean" => json!(true),
        "string" => json!(match schema["format"].as_str() {
            Some("uuid") => "0190c0de-0000-7000-8000-000000000001",
            Some("date-time") => "2026-01-01T12:00:00Z",
            Some("email") => "ada@example.com",
            _ => "text",
        }),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_example_follows_references_and_keeps_given_examples() {
        let doc = json!({"components": {"schemas": {
            "Item": {"type": "object", "properties": {
                "sku": {"type": "string", "example": "BOOK-1"},
                "quantity": {"type": "integer", "minimum": 1},
            }},
        }}});
        let schema = json!({"type": "object", "properties": {
            "user_id": {"type": "string", "format": "uuid"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
            "note": {"type": ["string", "null"]},
        }});
        assert_eq!(
            of(&schema, &doc),
            json!({
                "user_id": "0190c0de-0000-7000-8000-000000000001",
                "items": [{"sku": "BOOK-1", "quantity": 1}],
                "note": "text",
            })
        );
    }
}
