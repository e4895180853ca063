//! Converts a message into JSON with long arrays and strings abbreviated, without ever holding
//! the long ones as JSON: what `topic echo` prints, in memory proportional to what is shown.
//!
//! An array longer than the limit becomes the string `<sequence type: uint8, length: N>`
//! (`<array type: ...>` for a fixed-size array), as `ros2 topic echo --no-arr` prints it; a
//! string longer than the limit keeps its first `limit` characters and ends in `...`, as
//! `ros2 topic echo` does.

use std::cell::Cell;

use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

type Error = serde_json::Error;

/// Serializes `value` into JSON, abbreviating arrays and strings longer than `limit` (`None`:
/// nothing is abbreviated).
pub fn to_abbreviated_json<T: Serialize + ?Sized>(
    value: &T,
    limit: Option<usize>,
) -> Result<Value, Error> {
    let last = Cell::new("");
    value.serialize(Abbreviate {
        limit: limit.unwrap_or(usize::MAX),
        last: &last,
    })
}

/// The serializer; `last` is the ROS type name of the value serialized last (for the
/// abbreviation of an array, taken from its first item).
#[derive(Clone, Copy)]
struct Abbreviate<'a> {
    limit: usize,
    last: &'a Cell<&'static str>,
}

impl Abbreviate<'_> {
    fn scalar(&self, ros_type: &'static str, value: Value) -> Result<Value, Error> {
        self.last.set(ros_type);
        Ok(value)
    }
}

/// Items of an array being serialized: the first `limit` as JSON, the rest only counted.
struct Items<'a> {
    ser: Abbreviate<'a>,
    kind: &'static str,
    items: Vec<Value>,
    count: usize,
    item_type: &'static str,
}

impl<'a> Items<'a> {
    fn new(ser: Abbreviate<'a>, kind: &'static str, len: Option<usize>) -> Self {
        let reserve = len.unwrap_or(0).min(ser.limit).min(1024);
        Self {
            ser,
            kind,
            items: Vec::with_capacity(reserve),
            count: 0,
            item_type: "",
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if self.count < self.ser.limit {
            self.items.push(value.serialize(self.ser)?);
            if self.count == 0 {
                self.item_type = self.ser.last.get();
            }
        }
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Value {
        self.ser.last.set("sequence");
        if self.count > self.ser.limit {
            Value::String(format!(
                "<{} type: {}, length: {}>",
                self.kind, self.item_type, self.count
            ))
        } else {
            Value::Array(self.items)
        }
    }
}

/// Fields of a struct or map being serialized.
struct Fields<'a> {
    ser: Abbreviate<'a>,
    name: &'static str,
    map: Map<String, Value>,
    key: Option<String>,
}

impl<'a> ser::Serializer for Abbreviate<'a> {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Items<'a>;
    type SerializeTupleStruct = Items<'a>;
    type SerializeTupleVariant = Items<'a>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Fields<'a>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        self.scalar("boolean", Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        self.scalar("int8", v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        self.scalar("int16", v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        self.scalar("int32", v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        self.scalar("int64", v.into())
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        self.scalar("uint8", v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        self.scalar("uint16", v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        self.scalar("uint32", v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        self.scalar("uint64", v.into())
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        let value = serde_json::value::Serializer.serialize_f32(v)?;
        self.scalar("float32", value)
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        let value = serde_json::value::Serializer.serialize_f64(v)?;
        self.scalar("float64", value)
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        self.scalar("char", Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        let text = match v.char_indices().nth(self.limit) {
            Some((end, _)) => format!("{}...", &v[..end]),
            None => v.to_string(),
        };
        self.scalar("string", Value::String(text))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        let mut items = Items::new(self, "sequence", Some(v.len()));
        if v.len() > self.limit {
            // Only the count and the item type matter: no item is converted.
            items.count = v.len();
            items.item_type = "uint8";
            return Ok(items.finish());
        }
        for b in v {
            items.push(b)?;
        }
        Ok(items.finish())
    }
    fn serialize_none(self) -> Result<Value, Error> {
        self.scalar("", Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        self.scalar("", Value::Null)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, Error> {
        self.scalar(name, Value::Object(Map::new()))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        self.scalar("", Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(variant.to_string(), value.serialize(self)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items<'a>, Error> {
        Ok(Items::new(self, "sequence", len))
    }
    fn serialize_tuple(self, len: usize) -> Result<Items<'a>, Error> {
        Ok(Items::new(self, "array", Some(len)))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Items<'a>, Error> {
        Ok(Items::new(self, "array", Some(len)))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Items<'a>, Error> {
        Ok(Items::new(self, "array", Some(len)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Fields<'a>, Error> {
        Ok(Fields {
            ser: self,
            name: "",
            map: Map::new(),
            key: None,
        })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Fields<'a>, Error> {
        Ok(Fields {
            ser: self,
            name,
            map: Map::new(),
            key: None,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Fields<'a>, Error> {
        self.serialize_struct(name, 0)
    }
}

impl ser::SerializeSeq for Items<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Items<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Items<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for Items<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl Fields<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let value = value.serialize(self.ser)?;
        self.map.insert(key.to_string(), value);
        Ok(())
    }

    fn finish(self) -> Value {
        self.ser.last.set(self.name);
        Value::Object(self.map)
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for Fields<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeMap for Fields<'_> {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key = match key.serialize(self.ser)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().unwrap_or_default();
        self.field(&key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(self.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{geometry_msgs, sensor_msgs};

    #[test]
    fn long_arrays_and_strings_are_abbreviated_with_their_length() {
        let image = sensor_msgs::Image {
            width: 100,
            data: vec![7; 1000],
            encoding: "x".repeat(200),
            ..Default::default()
        };
        let v = to_abbreviated_json(&image, Some(128)).expect("serializes");
        assert_eq!(v["data"], "<sequence type: uint8, length: 1000>");
        assert_eq!(v["width"], 100);
        assert_eq!(v["encoding"], format!("{}...", "x".repeat(128)));
        // Full length: the same as serde_json.
        let full = to_abbreviated_json(&image, None).expect("serializes");
        assert_eq!(full, serde_json::to_value(&image).expect("json"));

        let cloud = geometry_msgs::PoseArray {
            poses: vec![geometry_msgs::Pose::default(); 5],
            ..Default::default()
        };
        let v = to_abbreviated_json(&cloud, Some(3)).expect("serializes");
        assert_eq!(v["poses"], "<sequence type: Pose, length: 5>");
        let v = to_abbreviated_json(&cloud, Some(5)).expect("serializes");
        assert_eq!(v["poses"].as_array().map(Vec::len), Some(5));

        let info = sensor_msgs::CameraInfo::default();
        let v = to_abbreviated_json(&info, Some(4)).expect("serializes");
        assert_eq!(v["k"], "<array type: float64, length: 9>");
        assert_eq!(v["d"], serde_json::json!([]));
    }
}
