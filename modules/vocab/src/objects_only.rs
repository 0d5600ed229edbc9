//! Request types read from JSON objects only. serde's derived code for a struct also takes
//! a sequence of its fields in order, so without this `["ada@example.com", "Ada"]` would be
//! a user and `[["BOOK-1", 2, 1999]]` a list of order items.
//!
//! A type opts in with `#[serde(remote = "Self")]` next to its derives, which turns the
//! derived code into the inherent `Self::deserialize` and `Self::serialize`, and with
//! [`objects_only!`], which implements the traits by calling them: serializing unchanged,
//! deserializing through [`ObjectOnly`]. That asks the format for a map where the derived
//! code asks for a struct, so serde_json refuses an array ("invalid type: sequence,
//! expected struct …") and the error keeps its path. Each nested type opts in on its own,
//! since the wrapper only sees its own type's request.

use serde::de::{Deserializer, Visitor};

/// Implements `Deserialize` (objects only) and `Serialize` for each type, whose derives
/// carry `#[serde(remote = "Self")]`.
#[macro_export]
macro_rules! objects_only {
    ($($ty:ident),+ $(,)?) => {$(
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $ty::deserialize($crate::objects_only::ObjectOnly(deserializer))
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $ty::serialize(self, serializer)
            }
        }
    )+};
}

/// A deserializer that reads a struct only from a map; everything else goes to `D` as asked.
pub struct ObjectOnly<D>(pub D);

/// Forwards each `deserialize_*` method that takes only a visitor.
macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use crate::json::parse as parse_json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", deny_unknown_fields)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self")]
    struct Order {
        currency: String,
        items: Vec<Item>,
    }

    crate::objects_only!(Item, Order);

    /// The status and the field named by the problem `json` makes.
    fn refused(json: &str) -> (u16, String) {
        let problem = parse_json::<Order>(json.as_bytes()).unwrap_err();
        let field = problem.errors.first().map(|e| e.field.clone());
        (problem.status, field.unwrap_or_default())
    }

    #[test]
    fn an_object_is_read_and_written_as_derived() {
        let json = r#"{"currency":"EUR","items":[{"sku":"A","quantity":1}]}"#;
        let order: Order = parse_json(json.as_bytes()).unwrap();
        assert_eq!(order.items[0].quantity, 1);
        assert_eq!(serde_json::to_string(&order).unwrap(), json);
    }

    #[test]
    fn a_struct_written_as_an_array_is_refused_where_it_is() {
        assert_eq!(refused(r#"["EUR", []]"#), (422, "body".into()));
        assert_eq!(
            refused(r#"{"currency":"EUR","items":[["A", 1]]}"#),
            (422, "items[0]".into())
        );
    }

    #[test]
    fn errors_inside_keep_their_paths() {
        assert_eq!(
            refused(r#"{"currency":"EUR","items":[{"sku":"A","quantity":-1}]}"#),
            (422, "items[0].quantity".into())
        );
        assert_eq!(
            refused(r#"{"currency":"EUR","items":[{"sku":"A"}]}"#),
            (422, "items[0].quantity".into())
        );
        assert_eq!(
            refused(r#"{"currency":"EUR","items":[{"sku":"A","quantity":1,"x":0}]}"#),
            (422, "items[0].x".into())
        );
    }
}
