//! The values templates see, modelled on what Helm hands to Go's text/template.
//!
//! | Go (as Helm has it)                  | here                          |
//! |--------------------------------------|-------------------------------|
//! | nil interface                        | `Value::Nil`                  |
//! | bool                                 | `Value::Bool`                 |
//! | int (template constants, `len`)      | `Value::Int`                  |
//! | int64 (`--set` numbers, Sprig math)  | `Value::Int64`                |
//! | float64 (every YAML/JSON number)     | `Value::Float`                |
//! | string                               | `Value::String`               |
//! | []byte (`.Files.GetBytes`)           | `Value::Bytes`                |
//! | []T (`list`, `splitList`, YAML seqs) | `Value::List`, T in its `Elem`|
//! | map[string]T (`dict`, `.Values`)     | `Value::Map`, T in its `Elem` |
//! | anything with fields or methods      | `Value::Object`               |
//!
//! Maps are shared, as Go maps are references: Sprig's `set`, `unset` and `merge` change a dict
//! in place and charts rely on it (`$_ := set $d "k" v`). Cloning a `Value` never copies a map's
//! entries. Lists are immutable and shared (Sprig's list functions all return new lists), and
//! `Rc::make_mut` copies one only when it is changed while shared.
//!
//! The element type of a list or map is kept because functions and errors observe it:
//! `typeOf (splitList "," "a")` is `[]string`, a missing key of a `map[string]string` reads as
//! `""` under `missingkey=zero`, and passing a `[]string` where `[]interface {}` is declared is
//! a Go type error.
//!
//! Go iterates and prints maps in sorted key order (text/template's `range`, fmt's `%v`,
//! encoding/json), so entries live in a `BTreeMap`.

use std::any::Any;
use std::cell::{Ref, RefCell, RefMut};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::func::{CallCtx, FuncError, Signature};

/// A template value. Cheap to clone: strings, lists, maps and objects are reference counted.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's nil interface: a YAML `null`, a function returning nil, an absent value passed on.
    #[default]
    Nil,
    Bool(bool),
    /// Go's `int`: integer constants in templates, `len`, `atoi`, `until`.
    Int(i64),
    /// Go's `int64`: `--set` numbers, Sprig's integer math.
    Int64(i64),
    /// Go's `float64`: every number in a YAML or JSON values file.
    Float(f64),
    String(Rc<str>),
    /// Go's `[]byte`.
    Bytes(Rc<[u8]>),
    List(List),
    Map(Map),
    Object(Rc<dyn Object>),
}

/// The element type of a Go slice or map, as far as templates can observe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Elem {
    /// `interface {}`: any value (YAML/JSON data, `list`, `dict`).
    #[default]
    Any,
    String,
    Int,
    Int64,
    Float64,
    Bool,
}

impl Elem {
    /// Go's name of the type.
    pub fn go_name(self) -> &'static str {
        match self {
            Elem::Any => "interface {}",
            Elem::String => "string",
            Elem::Int => "int",
            Elem::Int64 => "int64",
            Elem::Float64 => "float64",
            Elem::Bool => "bool",
        }
    }

    /// Go's zero value of the type (`nil` for `interface {}`).
    pub fn zero(self) -> Value {
        match self {
            Elem::Any => Value::Nil,
            Elem::String => Value::from(""),
            Elem::Int => Value::Int(0),
            Elem::Int64 => Value::Int64(0),
            Elem::Float64 => Value::Float(0.0),
            Elem::Bool => Value::Bool(false),
        }
    }
}

/// An immutable, shared Go slice.
#[derive(Clone, Default)]
pub struct List {
    elem: Elem,
    items: Rc<Vec<Value>>,
}

impl List {
    /// A `[]interface {}`.
    pub fn new(items: Vec<Value>) -> List {
        List::typed(Elem::Any, items)
    }

    /// A slice with the given element type; the caller keeps `items` of that type.
    pub fn typed(elem: Elem, items: Vec<Value>) -> List {
        List {
            elem,
            items: Rc::new(items),
        }
    }

    /// A `[]string`.
    pub fn of_strings<S: Into<Rc<str>>>(items: impl IntoIterator<Item = S>) -> List {
        List::typed(
            Elem::String,
            items.into_iter().map(|s| Value::String(s.into())).collect(),
        )
    }

    pub fn elem(&self) -> Elem {
        self.elem
    }

    pub fn items(&self) -> &[Value] {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&Value> {
        self.items.get(index)
    }

    /// The items to change, copied first only if this list is shared.
    pub fn make_mut(&mut self) -> &mut Vec<Value> {
        Rc::make_mut(&mut self.items)
    }

    /// Whether both are the same slice (Go would see one backing array).
    pub fn ptr_eq(&self, other: &List) -> bool {
        Rc::ptr_eq(&self.items, &other.items)
    }
}

// Dropping a value nested thousands deep (a template can build one with `dict` in a loop) must
// not recurse once per level: the last owner of a list or map hands its children to a loop.
impl Drop for List {
    fn drop(&mut self) {
        if let Some(items) = Rc::get_mut(&mut self.items)
            && items.iter().any(is_container)
        {
            drop_iteratively(std::mem::take(items));
        }
    }
}

impl Drop for MapInner {
    fn drop(&mut self) {
        let entries = self.entries.get_mut();
        if entries.values().any(is_container) {
            drop_iteratively(std::mem::take(entries).into_values().collect());
        }
    }
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::List(_) | Value::Map(_))
}

fn drop_iteratively(mut stack: Vec<Value>) {
    while let Some(v) = stack.pop() {
        match v {
            Value::List(mut l) => {
                if let Some(items) = Rc::get_mut(&mut l.items) {
                    stack.append(items);
                }
            }
            Value::Map(m) if Rc::strong_count(&m.inner) == 1 => {
                let entries = std::mem::take(&mut *m.inner.entries.borrow_mut());
                stack.extend(entries.into_values());
            }
            _ => {}
        }
    }
}

impl FromIterator<Value> for List {
    fn from_iter<I: IntoIterator<Item = Value>>(iter: I) -> List {
        List::new(iter.into_iter().collect())
    }
}

/// A shared, mutable Go map with string keys, iterated in key order.
///
/// Borrows (`borrow`, `borrow_mut`) must not be held across a call back into the engine or a
/// template function: a template may change the same map meanwhile.
#[derive(Clone, Default)]
pub struct Map {
    inner: Rc<MapInner>,
    /// A named map type's Go name (Helm's `common.Values`), shown by `%T` and in errors. It
    /// belongs to the handle, not the entries: Go converts a map to a named type without
    /// copying it (Helm's `.Values` of a subchart is its parent's `.Values.sub`).
    name: Option<&'static str>,
}

#[derive(Default)]
struct MapInner {
    elem: Elem,
    entries: RefCell<BTreeMap<String, Value>>,
}

impl Map {
    /// An empty `map[string]interface {}`.
    pub fn new() -> Map {
        Map::typed(Elem::Any)
    }

    /// An empty map with the given element type.
    pub fn typed(elem: Elem) -> Map {
        Map {
            inner: Rc::new(MapInner {
                elem,
                entries: RefCell::new(BTreeMap::new()),
            }),
            name: None,
        }
    }

    /// A `map[string]interface {}` holding `entries`.
    pub fn from_entries(entries: BTreeMap<String, Value>) -> Map {
        Map::named_from(None, entries)
    }

    /// A map of a named Go type whose underlying type is `map[string]interface {}`: Helm's
    /// `common.Values` (the top-level dot, `.Values`, `.Template`). It passes wherever a
    /// `map[string]interface {}` is declared, as Go allows; `%T` and errors show the name.
    pub fn named(name: &'static str, entries: BTreeMap<String, Value>) -> Map {
        Map::named_from(Some(name), entries)
    }

    fn named_from(name: Option<&'static str>, entries: BTreeMap<String, Value>) -> Map {
        Map {
            inner: Rc::new(MapInner {
                elem: Elem::Any,
                entries: RefCell::new(entries),
            }),
            name,
        }
    }

    /// The same map (shared entries) seen as the named type `name`, as Go's conversion
    /// `common.Values(m)` gives it.
    pub fn as_named(&self, name: &'static str) -> Map {
        Map {
            inner: self.inner.clone(),
            name: Some(name),
        }
    }

    /// The Go type's name if it is a named type.
    pub fn type_name(&self) -> Option<&'static str> {
        self.name
    }

    pub fn elem(&self) -> Elem {
        self.inner.elem
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        self.inner.entries.borrow().get(key).cloned()
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.inner.entries.borrow().contains_key(key)
    }

    /// Sets `key`, returning the previous value.
    pub fn insert(&self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.inner.entries.borrow_mut().insert(key.into(), value)
    }

    pub fn remove(&self, key: &str) -> Option<Value> {
        self.inner.entries.borrow_mut().remove(key)
    }

    pub fn len(&self) -> usize {
        self.inner.entries.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.entries.borrow().is_empty()
    }

    /// The keys in Go's iteration order (sorted).
    pub fn keys(&self) -> Vec<String> {
        self.inner.entries.borrow().keys().cloned().collect()
    }

    /// A snapshot of the entries in key order, safe to hold while templates run.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.inner
            .entries
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn borrow(&self) -> Ref<'_, BTreeMap<String, Value>> {
        self.inner.entries.borrow()
    }

    pub fn borrow_mut(&self) -> RefMut<'_, BTreeMap<String, Value>> {
        self.inner.entries.borrow_mut()
    }

    /// Whether both are the same map.
    pub fn ptr_eq(&self, other: &Map) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }

    /// A new map with the same element type and entries (one level: nested maps stay shared).
    pub fn shallow_copy(&self) -> Map {
        Map {
            inner: Rc::new(MapInner {
                elem: self.inner.elem,
                entries: RefCell::new(self.inner.entries.borrow().clone()),
            }),
            name: self.name,
        }
    }
}

/// A Go value with fields or methods: `.Chart`, `.Capabilities`, `.Files`, semver versions,
/// certificates, time values. Implemented by the embedding program.
///
/// Go's field lookup order applies: a method of that name first, then a field, then (for a
/// named map or slice type such as Helm's `Files`) the underlying value's keys.
pub trait Object: Any {
    /// Go's type name as `%T` prints it, e.g. `*chart.Metadata`, `chartutil.Files`.
    fn type_name(&self) -> &str;

    /// The kind as `reflect.Kind` names it (`ptr`, `struct`, `map`, `slice`): Sprig's `kindOf`.
    fn kind(&self) -> &str {
        "ptr"
    }

    /// A field's value; `None` when there is no such field.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    /// The parameters of a method; `None` when there is no such method. The engine checks the
    /// arguments against them, with Go's errors, before calling `call_method`.
    fn method(&self, _name: &str) -> Option<Signature> {
        None
    }

    /// Calls a method that `method` declared.
    fn call_method(
        &self,
        name: &str,
        _ctx: &mut CallCtx<'_>,
        _args: &[Value],
    ) -> Result<Value, FuncError> {
        Err(FuncError::new(format!(
            "{} has no method {name}",
            self.type_name()
        )))
    }

    /// What the Go type's `String()` method returns, if it has one (fmt prints that for `%v`
    /// and `%s`).
    fn string(&self) -> Option<String> {
        None
    }

    /// For a struct (or pointer to one) without `String()`: its exported fields in declaration
    /// order, so `%v` prints Go's `{a b}` (`&{a b}` for a pointer type) and `%+v` `{A:a B:b}`.
    fn struct_fields(&self) -> Option<Vec<(String, Value)>> {
        None
    }

    /// For a named map or slice type (Helm's `Files` is a `map[string][]byte`, its
    /// `VersionSet` a `[]string`): the value `range`, `index`, `len` and printing see.
    fn underlying(&self) -> Option<Value> {
        None
    }

    /// For downcasting to the implementing type.
    fn as_any(&self) -> &dyn Any;
}

impl Value {
    /// Go's `%T`: `int`, `float64`, `[]interface {}`, `map[string]string`, `<nil>`.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Float(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::List(l) => format!("[]{}", l.elem().go_name()),
            Value::Map(m) => match m.type_name() {
                Some(name) => name.to_string(),
                None => format!("map[string]{}", m.elem().go_name()),
            },
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// Go's `reflect.Kind` name: Sprig's `kindOf`; `invalid` for nil.
    pub fn kind_name(&self) -> &str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind(),
        }
    }

    /// Go's truth (text/template's `isTrue`): false, 0, "", nil and empty lists and maps are
    /// false; everything else, objects included, is true.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.underlying().is_none_or(|u| u.is_true()),
        }
    }

    /// Go's `reflect.DeepEqual`: same type and same contents (an int is not an int64 or a
    /// float64 of the same number; NaN equals nothing; objects are equal when they are the same
    /// object).
    pub fn deep_equal(&self, other: &Value) -> bool {
        crate::exec::grow(|| self.deep_equal_inner(other))
    }

    fn deep_equal_inner(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.elem() == b.elem()
                    && a.len() == b.len()
                    && a.items()
                        .iter()
                        .zip(b.items())
                        .all(|(x, y)| x.deep_equal(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                if a.ptr_eq(b) {
                    return true;
                }
                if a.type_name() != b.type_name() || a.elem() != b.elem() {
                    return false;
                }
                let (a, b) = (a.entries(), b.entries());
                a.len() == b.len()
                    && a.iter()
                        .zip(&b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.deep_equal(vb))
            }
            (Value::Object(a), Value::Object(b)) => std::ptr::addr_eq(Rc::as_ptr(a), Rc::as_ptr(b)),
            _ => false,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value itself, or for an object with an underlying map or slice, that value.
    pub fn underlying(&self) -> Value {
        match self {
            Value::Object(o) => o.underlying().unwrap_or_else(|| self.clone()),
            _ => self.clone(),
        }
    }

    /// A wrapped object, for `Value::Object(Rc::new(x))`.
    pub fn object(object: impl Object) -> Value {
        Value::Object(Rc::new(object))
    }

    /// Converts JSON data as Helm reads a values file: every number becomes a float64.
    pub fn from_json(json: &serde_json::Value) -> Value {
        Value::convert_json(json, false)
    }

    /// Converts JSON data as Helm reads `--set` values: integral numbers become int64.
    pub fn from_json_ints(json: &serde_json::Value) -> Value {
        Value::convert_json(json, true)
    }

    fn convert_json(json: &serde_json::Value, ints: bool) -> Value {
        crate::exec::grow(|| Value::convert_json_inner(json, ints))
    }

    fn convert_json_inner(json: &serde_json::Value, ints: bool) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) if ints => Value::Int64(i),
                _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(items) => Value::List(List::new(
                items.iter().map(|v| Value::convert_json(v, ints)).collect(),
            )),
            serde_json::Value::Object(entries) => Value::Map(Map::from_entries(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::convert_json(v, ints)))
                    .collect(),
            )),
        }
    }

    /// Converts to JSON data as encoding/json marshals it: maps sorted by key, bytes as base64.
    /// Non-finite floats become null (encoding/json refuses them); an object becomes its
    /// underlying value, else its `String()` form, else null.
    pub fn to_json(&self) -> serde_json::Value {
        crate::exec::grow(|| self.to_json_inner())
    }

    fn to_json_inner(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) | Value::Int64(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Bytes(b) => serde_json::Value::String(base64(b)),
            Value::List(l) => {
                serde_json::Value::Array(l.items().iter().map(Value::to_json).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => match o.underlying() {
                Some(u) => u.to_json(),
                None => o
                    .string()
                    .map(serde_json::Value::String)
                    .unwrap_or(serde_json::Value::Null),
            },
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(Rc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Rc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl From<List> for Value {
    fn from(l: List) -> Value {
        Value::List(l)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Map(m)
    }
}

/// Go's `%v` of the value (`map[a:1]`, `[a b]`, `<nil>`, `1e+06`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::gofmt::sprint(std::slice::from_ref(self)))
    }
}

/// `%T(%v)`, for test failures and logs.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.type_name(), self)
    }
}

/// Standard base64 with padding, as encoding/json writes a `[]byte`.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_equal_compares_types_and_contents_as_go_does() {
        let a = Value::from_json(&serde_json::json!({"a": [1, "x", null], "b": {"c": true}}));
        let b = Value::from_json(&serde_json::json!({"b": {"c": true}, "a": [1, "x", null]}));
        assert!(a.deep_equal(&b));
        assert!(!Value::Int(1).deep_equal(&Value::Int64(1)));
        assert!(!Value::Int(1).deep_equal(&Value::Float(1.0)));
        assert!(!Value::Float(f64::NAN).deep_equal(&Value::Float(f64::NAN)));
        let strings = Value::List(List::of_strings(["a"]));
        let any = Value::List(List::new(vec![Value::from("a")]));
        assert!(
            !strings.deep_equal(&any),
            "[]string is not []interface {{}}"
        );
    }

    #[test]
    fn maps_are_shared_and_json_round_trips_sorted() {
        let m = Map::new();
        let v = Value::Map(m.clone());
        m.insert("z", Value::Int64(1));
        m.insert("a", Value::Bytes(Rc::from(&b"hi"[..])));
        assert_eq!(v.to_json().to_string(), r#"{"a":"aGk=","z":1}"#);
        assert_eq!(v.to_string(), "map[a:[104 105] z:1]");
        assert_eq!(v.type_name(), "map[string]interface {}");
    }
}
