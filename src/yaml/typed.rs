//! Reading a typed YAML file (Chart.yaml, charter.yaml, repositories.yaml, Chart.lock, index
//! entries): the document is read with the project's one set of YAML rules ([`super::parse_str`]),
//! then deserialized into the type. A field of string type takes a number or boolean as
//! sigs.k8s.io/yaml (and so Helm) does: `appVersion: 1.10` is the float 1.1 and reads as
//! `"1.1"`, `2` as `"2"`, `yes` as `"true"`. An error names the line and the field.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::Value;

use super::{PathSeg, path_to_string};

/// Why a typed file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TypedError {
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// The field, e.g. `dependencies[0].alias` (empty for the document itself).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.path.is_empty()) {
            (Some(l), false) => write!(f, "line {l}, at {}: {}", self.path, self.message),
            (Some(l), true) => write!(f, "line {l}: {}", self.message),
            (None, false) => write!(f, "at {}: {}", self.path, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// Reads `src` as a `T`; an empty document is an empty map.
pub fn from_str<T: DeserializeOwned>(src: &str) -> Result<T, TypedError> {
    let value = match super::parse_str(src, "") {
        Ok(Value::Null) => Value::Object(Default::default()),
        Ok(v) => v,
        Err(e) => {
            return Err(TypedError {
                line: Some(e.line),
                path: String::new(),
                message: e.message,
            });
        }
    };
    T::deserialize(De {
        value: &value,
        path: &Path::Root,
    })
    .map_err(|e| {
        let path = e.path.unwrap_or_default();
        let line = super::parse_str_with_lines(src, "")
            .ok()
            .and_then(|(_, lines)| lines.line_of(&path));
        TypedError {
            line,
            path: path_to_string(&path),
            message: e.message,
        }
    })
}

/// Reads a value already parsed (one entry of a larger document) as a `T`, with the same rules
/// as [`from_str`]; errors name the field but no line.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, TypedError> {
    T::deserialize(De {
        value,
        path: &Path::Root,
    })
    .map_err(|e| TypedError {
        line: None,
        path: path_to_string(&e.path.unwrap_or_default()),
        message: e.message,
    })
}

/// Where in the document a value is, as a chain back to the root.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn segments(&self) -> Vec<PathSeg> {
        let mut out = Vec::new();
        let mut p = self;
        loop {
            match p {
                Path::Root => break,
                Path::Key(up, k) => {
                    out.push(PathSeg::Key(k.to_string()));
                    p = up;
                }
                Path::Index(up, i) => {
                    out.push(PathSeg::Index(*i));
                    p = up;
                }
            }
        }
        out.reverse();
        out
    }
}

/// A deserialization error and the path of the value it is about (set by the innermost
/// value that knows it).
#[derive(Debug)]
struct Error {
    message: String,
    path: Option<Vec<PathSeg>>,
}

impl Error {
    fn at(mut self, path: &Path<'_>) -> Error {
        if self.path.is_none() {
            self.path = Some(path.segments());
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            path: None,
        }
    }
}

/// A value being deserialized, and where it is.
struct De<'de, 'p> {
    value: &'de Value,
    path: &'p Path<'p>,
}

/// A number or boolean as a string field reads it (sigs.k8s.io/yaml's conversion).
fn scalar_as_string(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => float_as_string(f),
            (None, None, None) => n.to_string(),
        }),
        _ => None,
    }
}

/// A float as a string field reads it: Go's `strconv.FormatFloat(f, 'g', -1, 32)`, the shortest
/// decimal that reads back as the same 32-bit float, in exponent form when the exponent is
/// below -4 or at least 6 (sigs.k8s.io/yaml's conversion).
pub fn float_as_string(f: f64) -> String {
    let x = f as f32;
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let nd = digits.len() as i32;
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    let dp = exp + 1;
    if dp <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{sign}{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        format!("{sign}{int}.{frac}")
    }
}

impl<'de> Deserializer<'de> for De<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Seq {
                items: items.iter().enumerate(),
                path: self.path,
            }),
            Value::Object(map) => visitor.visit_map(Map {
                entries: map.iter(),
                pending: None,
                path: self.path,
            }),
        };
        r.map_err(|e| e.at(self.path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match scalar_as_string(self.value) {
            Some(s) => visitor.visit_string(s).map_err(|e: Error| e.at(self.path)),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor
                .visit_enum(s.as_str().into_deserializer())
                .map_err(|e: Error| e.at(self.path)),
            _ => {
                let e: Error = de::Error::invalid_type(unexpected(self.value), &"a string");
                Err(e.at(self.path))
            }
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// Deserializes the value at `path` with `seed`, naming `path` in its error.
fn child<'de, T: DeserializeSeed<'de>>(
    seed: T,
    value: &'de Value,
    path: &Path<'_>,
) -> Result<T::Value, Error> {
    seed.deserialize(De { value, path }).map_err(|e| e.at(path))
}

struct Seq<'de, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'p Path<'p>,
}

impl<'de> SeqAccess<'de> for Seq<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some((i, value)) = self.items.next() else {
            return Ok(None);
        };
        child(seed, value, &Path::Index(self.path, i)).map(Some)
    }
}

struct Map<'de, 'p> {
    entries: serde_json::map::Iter<'de>,
    pending: Option<(&'de str, &'de Value)>,
    path: &'p Path<'p>,
}

impl<'de> MapAccess<'de> for Map<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        self.pending = Some((k, v));
        let path = Path::Key(self.path, k);
        seed.deserialize(k.as_str().into_deserializer())
            .map(Some)
            .map_err(|e: Error| e.at(&path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let Some((k, value)) = self.pending.take() else {
            return Err(de::Error::custom("a map value without its key"));
        };
        child(seed, value, &Path::Key(self.path, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Meta {
        name: String,
        #[serde(default)]
        app_version: Option<String>,
        #[serde(default)]
        keywords: Vec<String>,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default)]
        deps: Vec<Dep>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Application,
        Library,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Dep {
        name: String,
        #[serde(default)]
        count: u32,
    }

    #[test]
    fn string_fields_take_scalars_as_helm_does() {
        let m: Meta = from_str(
            "name: 0755\nappVersion: 1.10\nkeywords: [yes, 2, 1e3, 1.0, -0.5, 1000000.0, 1234567.0, 0.00001]\nkind: library\n",
        )
        .unwrap();
        assert_eq!(m.name, "493");
        assert_eq!(m.app_version.as_deref(), Some("1.1"));
        assert_eq!(
            m.keywords,
            [
                "true",
                "2",
                "1000",
                "1",
                "-0.5",
                "1e+06",
                "1.234567e+06",
                "1e-05"
            ]
        );
        assert_eq!(m.kind, Some(Kind::Library));
        let empty: Meta = from_str("name: x\nappVersion:\n").unwrap();
        assert_eq!(empty.app_version, None);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let e = from_str::<Meta>("name: a\nbogus: 1\n").unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (Some(2), "bogus"));
        assert!(e.to_string().contains("unknown field `bogus`"), "{e}");
        let e =
            from_str::<Meta>("name: a\ndeps:\n- name: x\n- name: y\n  count: many\n").unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (Some(5), "deps[1].count"), "{e}");
        assert!(
            e.to_string()
                .starts_with("line 5, at deps[1].count: invalid type"),
            "{e}"
        );
        let e = from_str::<Meta>("appVersion: x\n").unwrap_err();
        assert!(e.to_string().contains("missing field `name`"), "{e}");
        let e = from_str::<Meta>("name: [x\n").unwrap_err();
        assert_eq!(e.path, "");
        assert!(e.to_string().starts_with("line "), "{e}");
        let e = from_str::<Meta>("name: a\nkind: other\n").unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (Some(2), "kind"), "{e}");
    }
}
