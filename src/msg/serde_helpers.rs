//! serde adapters the generated message code uses for arrays and byte sequences.

/// `uint8[]`/`byte[]` fields: one bulk copy instead of a serde call per byte.
pub mod bytes {
    use serde::{Deserialize as _, Deserializer, Serializer};

    /// Serializes the bytes as one CDR octet sequence.
    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }

    /// Deserializes an octet sequence with a single copy.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        serde_bytes::ByteBuf::deserialize(deserializer).map(serde_bytes::ByteBuf::into_vec)
    }
}

/// Fixed-size arrays `T[N]` of any length (serde alone stops at 32), without a length prefix.
pub mod array {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Error as _, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Serializes the array as a tuple of N elements.
    pub fn serialize<S, T, const N: usize>(value: &[T; N], serializer: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        let mut tuple = serializer.serialize_tuple(N)?;
        for item in value {
            tuple.serialize_element(item)?;
        }
        tuple.end()
    }

    /// Deserializes exactly N elements.
    pub fn deserialize<'de, D, T, const N: usize>(deserializer: D) -> Result<[T; N], D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        struct ArrayVisitor<T, const N: usize>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for ArrayVisitor<T, N> {
            type Value = [T; N];

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an array of {N} elements")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
                let mut items = Vec::with_capacity(N);
                while items.len() < N {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => return Err(A::Error::invalid_length(items.len(), &self)),
                    }
                }
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(N + 1, &self));
                }
                items
                    .try_into()
                    .map_err(|_| A::Error::invalid_length(N, &self))
            }
        }

        deserializer.deserialize_tuple(N, ArrayVisitor::<T, N>(PhantomData))
    }
}

/// Bounded strings and sequences (`string<=N`, `T[<=N]`): the checks the generated code runs
/// after decoding and before encoding such a field, so that neither direction accepts a value
/// longer than its bound. Each error names the field (`package/msg/Type.field`) and the bound.
pub mod bounded {
    /// Checks a `string<=bound` value: at most `bound` bytes (as the C and C++ type support
    /// count a string; the wire holds bytes).
    pub fn check_string(value: &str, bound: usize, field: &str) -> Result<(), String> {
        if value.len() > bound {
            return Err(format!(
                "field {field} has a string of {} bytes, more than its bound string<={bound}",
                value.len()
            ));
        }
        Ok(())
    }

    /// Checks the length of a `T[<=bound]` sequence.
    pub fn check_len(len: usize, bound: usize, field: &str) -> Result<(), String> {
        if len > bound {
            return Err(format!(
                "field {field} has {len} elements, more than its bound [<={bound}]"
            ));
        }
        Ok(())
    }

    /// Checks every element of a sequence or an array of `string<=bound`.
    pub fn check_strings(values: &[String], bound: usize, field: &str) -> Result<(), String> {
        values
            .iter()
            .try_for_each(|value| check_string(value, bound, field))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn bounds_are_inclusive_and_errors_name_the_field() {
            assert!(check_string("abcd", 4, "p/msg/T.f").is_ok());
            let e = check_string("abcde", 4, "p/msg/T.f").expect_err("too long");
            assert!(e.contains("p/msg/T.f") && e.contains("string<=4"), "{e}");
            assert!(check_len(3, 3, "p/msg/T.f").is_ok());
            assert!(check_len(4, 3, "p/msg/T.f")
                .expect_err("too long")
                .contains("[<=3]"));
            assert!(check_strings(&["ab".into(), "abc".into()], 2, "p/msg/T.f").is_err());
        }
    }
}
