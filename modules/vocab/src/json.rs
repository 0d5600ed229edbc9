//! Reading a request body's one JSON document into a request type, with the problem a
//! client gets when it does not fit: 400 when it is not JSON, 422 naming the field at
//! fault (`items[0].quantity`) when it is JSON of the wrong shape.

use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::problem::{FieldError, Problem};

/// Parses one JSON document, reporting where in it a value did not fit. Anything after
/// the document but whitespace makes it malformed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            malformed(&inner)
        } else {
            let message = strip_position(&inner);
            Problem::invalid(vec![FieldError::new(
                field_at_fault(&path, &message),
                message,
            )])
        }
    })?;
    de.end().map_err(|err| malformed(&err))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON")
        .with_detail(err.to_string())
}

/// The path of the value at fault. For a missing field, serde's path ends at the object
/// that lacks it; the field's own name is only in the message.
fn field_at_fault(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// serde_json appends "at line 1 column 42" to its messages; the field path says it better.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Order {
        currency: String,
        items: Vec<Item>,
    }

    fn field(json: &str) -> (u16, String) {
        let problem = parse::<Order>(json.as_bytes()).unwrap_err();
        let field = problem
            .errors
            .first()
            .map(|e| e.field.clone())
            .unwrap_or_default();
        (problem.status, field)
    }

    #[test]
    fn parses_what_fits() {
        let order: Order =
            parse(br#"{"currency":"EUR","items":[{"sku":"A","quantity":1}]}"#).unwrap();
        assert_eq!(
            (
                order.currency.as_str(),
                order.items[0].sku.as_str(),
                order.items[0].quantity
            ),
            ("EUR", "A", 1)
        );
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(field(r#"{"items":[]}"#), (422, "currency".into()));
        assert_eq!(
            field(r#"{"currency":"EUR","items":[{"quantity":1}]}"#),
            (422, "items[0].sku".into())
        );
        assert_eq!(
            field(r#"{"currency":"EUR","items":[{"sku":"A","quantity":-1}]}"#),
            (422, "items[0].quantity".into())
        );
        assert_eq!(field(r#""text""#), (422, "body".into()));
        assert_eq!(field(r#"{"currency":"#).0, 400);
    }

    #[test]
    fn nothing_but_whitespace_may_follow_the_document() {
        let order = r#"{"currency":"EUR","items":[]}"#;
        assert!(parse::<Order>(format!("{order} \n").as_bytes()).is_ok());
        for trailing in [format!("{order} garbage"), format!("{order}{order}")] {
            let problem = parse::<Order>(trailing.as_bytes()).unwrap_err();
            assert_eq!(
                (problem.status, problem.code.as_str()),
                (400, "malformed-json")
            );
        }
    }
}
