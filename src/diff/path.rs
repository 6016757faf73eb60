//! Field paths: where in an object a difference is, written like a JSON pointer in which an
//! item of a keyed list is named by its key (`containers/name=web`) instead of its index.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::keys::item_key;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A position in a list that has no key (compared item by item).
    Index(usize),
    /// An item of a keyed list, named by its key fields and their values
    /// (`[("containerPort", "80"), ("protocol", "TCP")]`).
    Item(Vec<(String, String)>),
}

/// A path to a field: `/spec/template/spec/containers/name=web/env/name=LOG_LEVEL/value`.
///
/// Written like a JSON pointer (RFC 6901: `~` is `~0` and `/` is `~1` inside a segment); a
/// keyed list item is `field=value` (`,`-joined for a composite key). The empty path is the
/// whole object.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the whole object.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// RFC 6901 escaping of one segment.
pub(crate) fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Key(k) => f.write_str(&escape(k)),
            Segment::Index(i) => write!(f, "{i}"),
            Segment::Item(pairs) => {
                for (n, (k, v)) in pairs.iter().enumerate() {
                    if n > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}={}", escape(k), escape(v))?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            write!(f, "/{seg}")?;
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The value at `path` in `value`, resolving keyed items by their key.
pub(crate) fn lookup<'v>(value: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    let mut cur = value;
    for seg in path {
        cur = match (seg, cur) {
            (Segment::Key(k), Value::Object(m)) => m.get(k)?,
            (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
            (Segment::Item(pairs), Value::Array(a)) => {
                let fields: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                a.iter()
                    .find(|item| item_key(item, &fields).as_ref() == Some(pairs))?
            }
            _ => return None,
        };
    }
    Some(cur)
}
