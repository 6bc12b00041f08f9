//! Closed sets name themselves once: the name of an enum variant in tables, reports, messages and
//! files is its serde name (`#[serde(rename_all = "snake_case")]`), read back by
//! [`variant_name`] instead of being spelled out again in a `match`.
//!
//! [`named!`](crate::named) gives an enum `as_str()` and `Display` from that name. The root crate
//! and the agents use the same helper for their own closed sets.

use serde::Serialize;
use serde::ser::{self, Impossible};

/// The serde name of `value`'s variant (`"partially_filled"` for `OrderStatus::PartiallyFilled`).
///
/// Works for unit, newtype, tuple and struct variants of any enum deriving `Serialize`; for
/// anything that is not an enum variant it returns `"?"` (a programming error, caught by each
/// enum's unit test). Allocates nothing.
pub fn variant_name<T: Serialize + ?Sized>(value: &T) -> &'static str {
    match value.serialize(VariantName) {
        Err(Found::Name(name)) => name,
        _ => "?",
    }
}

/// Implements `as_str()` (the serde name, via [`variant_name`]) and `Display` for enums.
#[macro_export]
macro_rules! named {
    ($($t:ty),+ $(,)?) => {$(
        impl $t {
            /// The name of this value in files, tables and messages (its serde name).
            pub fn as_str(&self) -> &'static str {
                $crate::names::variant_name(self)
            }
        }

        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )+};
}

/// The "error" that carries the name out of the serializer.
#[derive(Debug)]
enum Found {
    Name(&'static str),
    NotAVariant,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not an enum variant")
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Found::NotAVariant
    }
}

struct VariantName;

type Never = Impossible<(), Found>;

macro_rules! not_a_variant {
    ($($f:ident($($t:ty),*)),* $(,)?) => {$(
        fn $f(self $(, _: $t)*) -> Result<(), Found> {
            Err(Found::NotAVariant)
        }
    )*};
}

impl ser::Serializer for VariantName {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = Never;
    type SerializeStructVariant = Never;

    not_a_variant!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Found> {
        Err(Found::NotAVariant)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Found> {
        Err(Found::Name(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Found> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found::Name(variant))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Never, Found> {
        Err(Found::NotAVariant)
    }

    fn serialize_tuple(self, _: usize) -> Result<Never, Found> {
        Err(Found::NotAVariant)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Never, Found> {
        Err(Found::NotAVariant)
    }

    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Never, Found> {
        Err(Found::Name(variant))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Never, Found> {
        Err(Found::NotAVariant)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Never, Found> {
        Err(Found::NotAVariant)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Never, Found> {
        Err(Found::Name(variant))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum E {
        UnitOne,
        #[allow(dead_code)]
        Tuple(u8, u8),
        #[allow(dead_code)]
        Struct {
            x: u8,
        },
        #[allow(dead_code)]
        New(u64),
    }

    #[test]
    fn every_variant_kind_names_itself() {
        assert_eq!(variant_name(&E::UnitOne), "unit_one");
        assert_eq!(variant_name(&E::Tuple(1, 2)), "tuple");
        assert_eq!(variant_name(&E::Struct { x: 1 }), "struct");
        assert_eq!(variant_name(&E::New(3)), "new");
        assert_eq!(variant_name(&5u8), "?");
    }
}
