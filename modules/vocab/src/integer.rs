//! Integer fields of request bodies. JSON has one number type, and JSON Schema counts any
//! number without a fractional part as an integer, so a client may well send `2.0` where
//! the contract says integer; serde's integer types refuse that. Use on integer fields of
//! request bodies with `#[serde(deserialize_with = "vocab::integer::deserialize")]`.

use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// An integer written as `2` or `2.0`. `2.5`, and values out of `T`'s range, are refused
/// with serde's usual message.
pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = if let Some(n) = number.as_i64() {
        Some(i128::from(n))
    } else if let Some(n) = number.as_u64() {
        Some(i128::from(n))
    } else {
        // `as` saturates: a float beyond i128 lands on its bound, which `T` refuses below.
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0)
            .map(|f| f as i128)
    };
    let expected = std::any::type_name::<T>();
    match whole {
        Some(n) => T::try_from(n).map_err(|_| {
            D::Error::custom(format!(
                "invalid value: integer `{number}`, expected {expected}"
            ))
        }),
        None => Err(D::Error::custom(format!(
            "invalid type: number `{number}`, expected an integer"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    struct Item {
        #[serde(deserialize_with = "super::deserialize")]
        quantity: u32,
        #[serde(deserialize_with = "super::deserialize")]
        price: i64,
    }

    fn parse(json: &str) -> Result<(u32, i64), String> {
        serde_json::from_str::<Item>(json)
            .map(|item| (item.quantity, item.price))
            .map_err(|err| err.to_string())
    }

    #[test]
    fn whole_numbers_in_either_notation_are_integers() {
        assert_eq!(parse(r#"{"quantity":2,"price":-5}"#), Ok((2, -5)));
        assert_eq!(parse(r#"{"quantity":2.0,"price":1e3}"#), Ok((2, 1000)));
    }

    #[test]
    fn fractions_and_out_of_range_values_are_refused() {
        assert!(parse(r#"{"quantity":2.5,"price":1}"#)
            .unwrap_err()
            .contains("expected an integer"));
        assert!(parse(r#"{"quantity":-1,"price":1}"#)
            .unwrap_err()
            .contains("expected u32"));
        assert!(parse(r#"{"quantity":1,"price":1e19}"#)
            .unwrap_err()
            .contains("expected i64"));
        assert!(parse(r#"{"quantity":1,"price":"1"}"#).is_err());
    }
}
