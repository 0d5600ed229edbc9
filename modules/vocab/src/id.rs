//! Ids as the API writes them and its document describes them: hyphenated UUIDs
//! (`01a214f4-8336-7c1e-9f0e-3b2c1d0e4f5a`). The `uuid` crate also reads the simple,
//! braced and URN forms; refusing those keeps every id the API accepts in the one form
//! the OpenAPI document's `format: uuid` allows.

use serde::de::{Deserializer, Error};
use serde::Deserialize;
use uuid::Uuid;

/// What a rejected id is told.
pub const EXPECTED: &str = "must be a UUID such as 01a214f4-8336-7c1e-9f0e-3b2c1d0e4f5a";

/// A hyphenated UUID, or `None`.
pub fn parse(raw: &str) -> Option<Uuid> {
    if raw.len() != 36 {
        return None;
    }
    Uuid::try_parse(raw).ok()
}

/// For id fields of request bodies: `#[serde(deserialize_with = "vocab::id::deserialize")]`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
    let raw = String::deserialize(deserializer)?;
    parse(&raw).ok_or_else(|| D::Error::custom(EXPECTED))
}

/// For optional id filters of query strings, with `#[serde(default, deserialize_with = …)]`.
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Uuid>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|raw| parse(&raw).ok_or_else(|| D::Error::custom(EXPECTED)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hyphenated_form_is_an_id() {
        let id = Uuid::now_v7();
        assert_eq!(parse(&id.to_string()), Some(id));
        assert_eq!(parse(&id.to_string().to_uppercase()), Some(id));
        assert_eq!(parse(&id.simple().to_string()), None);
        assert_eq!(parse(&id.braced().to_string()), None);
        assert_eq!(parse(&id.urn().to_string()), None);
        assert_eq!(parse("not-a-uuid"), None);
    }
}
