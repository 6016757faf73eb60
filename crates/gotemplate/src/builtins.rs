//! text/template's built-in functions, with Go's semantics and error messages.
//!
//! Most built-ins take Go `reflect.Value`s, which can be *invalid* (no value at all: a missing
//! key, a nil pipeline result) or an interface holding nil (a YAML null read from a map). They
//! see a [`Slot`]: `None` for invalid, `Some(Value::Nil)` for the nil interface.

use crate::gofmt;
use crate::value::{Elem, List, Value};

/// A value as Go's reflection sees it: `None` is the invalid (zero) `reflect.Value`.
pub(crate) type Slot = Option<Value>;

/// The built-ins, in Go's `builtins()` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Printf,
    Println,
    Html,
    Js,
    Urlquery,
    Call,
}

pub(crate) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "and" => Builtin::And,
        "or" => Builtin::Or,
        "not" => Builtin::Not,
        "len" => Builtin::Len,
        "index" => Builtin::Index,
        "slice" => Builtin::Slice,
        "eq" => Builtin::Eq,
        "ne" => Builtin::Ne,
        "lt" => Builtin::Lt,
        "le" => Builtin::Le,
        "gt" => Builtin::Gt,
        "ge" => Builtin::Ge,
        "print" => Builtin::Print,
        "printf" => Builtin::Printf,
        "println" => Builtin::Println,
        "html" => Builtin::Html,
        "js" => Builtin::Js,
        "urlquery" => Builtin::Urlquery,
        "call" => Builtin::Call,
        _ => return None,
    })
}

pub(crate) fn is_builtin(name: &str) -> bool {
    lookup(name).is_some()
}

/// How a built-in's parameter is typed in Go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BParam {
    /// `reflect.Value`: receives the slot as is.
    Reflect,
    /// `any`: invalid becomes nil.
    Any,
    /// `string` (printf's format).
    String,
}

impl Builtin {
    /// Fixed parameters and the variadic tail, as Go declares them.
    pub(crate) fn signature(self) -> (&'static [BParam], Option<BParam>) {
        use BParam::*;
        match self {
            Builtin::And | Builtin::Or | Builtin::Index | Builtin::Slice | Builtin::Eq => {
                (&[Reflect], Some(Reflect))
            }
            Builtin::Call => (&[Reflect], Some(Reflect)),
            Builtin::Not | Builtin::Len => (&[Reflect], None),
            Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => {
                (&[Reflect, Reflect], None)
            }
            Builtin::Print | Builtin::Println | Builtin::Html | Builtin::Js | Builtin::Urlquery => {
                (&[], Some(Any))
            }
            Builtin::Printf => (&[String], Some(Any)),
        }
    }

    /// Runs the built-in (all but `and`/`or`, which the executor evaluates lazily).
    /// `ifaces` says which arguments Go still holds in an interface (`slice` refuses those as
    /// indexes); `call_name` is what `call`'s error names its first argument by.
    pub(crate) fn run(
        self,
        args: Vec<Slot>,
        ifaces: &[bool],
        call_name: &str,
    ) -> Result<Slot, String> {
        let value = |s: &Slot| s.clone().unwrap_or(Value::Nil);
        Ok(Some(match self {
            Builtin::And | Builtin::Or => unreachable!("and/or are evaluated by the executor"),
            Builtin::Not => Value::Bool(!truth(&args[0])),
            Builtin::Len => Value::Int(length(&args[0])?),
            Builtin::Index => return index(&args[0], &args[1..]),
            Builtin::Slice => slice(&args[0], &args[1..], &ifaces[1..])?,
            Builtin::Eq => Value::Bool(eq(&args[0], &args[1..])?),
            Builtin::Ne => Value::Bool(!eq(&args[0], &args[1..2])?),
            Builtin::Lt => Value::Bool(lt(&args[0], &args[1])?),
            Builtin::Le => Value::Bool(le(&args[0], &args[1])?),
            Builtin::Gt => Value::Bool(!le(&args[0], &args[1])?),
            Builtin::Ge => Value::Bool(!lt(&args[0], &args[1])?),
            Builtin::Print => {
                Value::from(gofmt::sprint(&args.iter().map(value).collect::<Vec<_>>()))
            }
            Builtin::Println => {
                Value::from(gofmt::sprintln(&args.iter().map(value).collect::<Vec<_>>()))
            }
            Builtin::Printf => {
                let format = match &args[0] {
                    Some(Value::String(s)) => s.clone(),
                    _ => "".into(),
                };
                let rest: Vec<Value> = args[1..].iter().map(value).collect();
                Value::from(gofmt::sprintf(&format, &rest))
            }
            Builtin::Html => Value::from(crate::escape::html(&eval_args(&args))),
            Builtin::Js => Value::from(crate::escape::js(&eval_args(&args))),
            Builtin::Urlquery => Value::from(crate::escape::query(&eval_args(&args))),
            Builtin::Call => {
                return Err(match indirect_interface(&args[0]) {
                    None => "call of nil".into(),
                    Some(v) => format!("non-function {call_name} of type {}", v.type_name()),
                });
            }
        }))
    }
}

/// Go's `indirectInterface`: a nil interface becomes the invalid value.
pub(crate) fn indirect_interface(s: &Slot) -> Slot {
    match s {
        Some(Value::Nil) | None => None,
        Some(v) => Some(v.clone()),
    }
}

/// Go's `truth`: `isTrue` of the value inside an interface.
pub(crate) fn truth(s: &Slot) -> bool {
    match indirect_interface(s) {
        None => false,
        Some(v) => v.is_true(),
    }
}

/// text/template's `evalArgs`: one string as is, else `fmt.Sprint` with "no value" for nil.
fn eval_args(args: &[Slot]) -> String {
    if let [Some(Value::String(s))] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            None | Some(Value::Nil) => Value::from("<no value>"),
            Some(v) => v.clone(),
        })
        .collect();
    gofmt::sprint(&printable)
}

fn length(item: &Slot) -> Result<i64, String> {
    match item {
        Some(Value::Nil) => Err("len of nil pointer".into()),
        // Go asks the type of the invalid value and reflect panics.
        None => Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Some(v) => match v.underlying() {
            Value::String(s) => Ok(s.len() as i64),
            Value::Bytes(b) => Ok(b.len() as i64),
            Value::List(l) => Ok(l.len() as i64),
            Value::Map(m) => Ok(m.len() as i64),
            _ => Err(format!("len of type {}", v.type_name())),
        },
    }
}

/// Go's `indexArg`: an integer index within `0..=cap`.
fn index_arg(index: &Slot, cap: usize) -> Result<usize, String> {
    let x = match index {
        Some(Value::Int(i) | Value::Int64(i)) => *i,
        None => return Err("cannot index slice/array with nil".into()),
        Some(v) => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Slot, indexes: &[Slot]) -> Result<Slot, String> {
    let Some(mut item) = indirect_interface(item) else {
        return Err("index of untyped nil".into());
    };
    for index in indexes {
        let index = indirect_interface(index);
        if item.is_nil() {
            return Err("index of nil pointer".into());
        }
        let under = item.underlying();
        item = match &under {
            Value::List(l) => {
                let x = index_arg(&index, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) => {
                let x = index_arg(&index, s.len())?;
                match s.as_bytes().get(x) {
                    Some(&b) => Value::Int(i64::from(b)),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(&index, b.len())?;
                match b.get(x) {
                    Some(&b) => Value::Int(i64::from(b)),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::Map(m) => {
                let key = match &index {
                    Some(Value::String(k)) => k.clone(),
                    None => return Err("value is nil; should be of type string".into()),
                    Some(v) => {
                        return Err(format!(
                            "value has type {}; should be string",
                            v.type_name()
                        ));
                    }
                };
                m.get(&key).unwrap_or_else(|| m.elem().zero())
            }
            _ => return Err(format!("can't index item of type {}", item.type_name())),
        };
    }
    Ok(Some(item))
}

fn slice(item: &Slot, indexes: &[Slot], ifaces: &[bool]) -> Result<Value, String> {
    let Some(item) = indirect_interface(item) else {
        return Err("slice of untyped nil".into());
    };
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let under = item.underlying();
    let len = match &under {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        _ => return Err(format!("can't slice item of type {}", item.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, index) in indexes.iter().enumerate() {
        // Unlike index, slice takes its indexes as they are: one still in an interface (read
        // from a map) is no integer to it.
        if ifaces.get(i).copied().unwrap_or_default() {
            return Err("cannot index slice/array with type interface {}".into());
        }
        idx[i] = index_arg(index, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (a, b) = (idx[0], idx[1]);
    Ok(match under {
        Value::String(s) => Value::from(String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned()),
        Value::List(l) => Value::List(List::typed(l.elem(), l.items()[a..b].to_vec())),
        Value::Bytes(bytes) => Value::Bytes(bytes[a..b].into()),
        _ => unreachable!("checked above"),
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BasicKind {
    Invalid,
    Bool,
    Int,
    Float,
    String,
}

fn basic_kind(v: &Slot) -> BasicKind {
    match v {
        Some(Value::Bool(_)) => BasicKind::Bool,
        Some(Value::Int(_) | Value::Int64(_)) => BasicKind::Int,
        Some(Value::Float(_)) => BasicKind::Float,
        Some(Value::String(_)) => BasicKind::String,
        _ => BasicKind::Invalid,
    }
}

/// Go's reflect.Kind of a value, for "non-comparable" decisions.
fn reflect_kind(v: &Slot) -> &str {
    match v {
        None => "invalid",
        Some(v) => v.kind_name(),
    }
}

fn is_comparable(v: &Value) -> bool {
    !matches!(v, Value::List(_) | Value::Map(_) | Value::Bytes(_))
}

fn eq(arg1: &Slot, arg2: &[Slot]) -> Result<bool, String> {
    let a = indirect_interface(arg1);
    if arg2.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a);
    for b in arg2 {
        let b = indirect_interface(b);
        let k2 = basic_kind(&b);
        let truth = if k1 != k2 {
            if let (Some(x), Some(y)) = (&a, &b) {
                return Err(format!(
                    "incompatible types for comparison: {} and {}",
                    x.type_name(),
                    y.type_name()
                ));
            }
            false
        } else {
            match (&a, &b) {
                (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
                (Some(Value::Int(x) | Value::Int64(x)), Some(Value::Int(y) | Value::Int64(y))) => {
                    x == y
                }
                (Some(Value::Float(x)), Some(Value::Float(y))) => x == y,
                (Some(Value::String(x)), Some(Value::String(y))) => x == y,
                _ => {
                    if reflect_kind(&a) != reflect_kind(&b) && a.is_some() && b.is_some() {
                        let (x, y) = (
                            a.as_ref().unwrap_or(&Value::Nil),
                            b.as_ref().unwrap_or(&Value::Nil),
                        );
                        // Go formats the left value with %s (so its numbers print as
                        // %!s(float64=1)) and the right one with %v.
                        return Err(gofmt::sprintf(
                            "non-comparable types %s: %v, %s: %v",
                            &[
                                x.clone(),
                                Value::from(x.type_name()),
                                Value::from(y.type_name()),
                                y.clone(),
                            ],
                        ));
                    }
                    match (&a, &b) {
                        (None, None) => true,
                        (None, _) | (_, None) => false,
                        (Some(x), Some(y)) => {
                            if !is_comparable(y) {
                                return Err(gofmt::sprintf(
                                    "non-comparable type %s: %v",
                                    &[y.clone(), Value::from(y.type_name())],
                                ));
                            }
                            match (x, y) {
                                (Value::Object(p), Value::Object(q)) => {
                                    std::ptr::addr_eq(p.as_ref(), q.as_ref())
                                }
                                // A comparable left side against an incomparable one: Go
                                // panics comparing them; an object with a list cannot occur.
                                _ => false,
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(arg1: &Slot, arg2: &Slot) -> Result<bool, String> {
    let a = indirect_interface(arg1);
    let k1 = basic_kind(&a);
    if k1 == BasicKind::Invalid {
        return Err("invalid type for comparison".into());
    }
    let b = indirect_interface(arg2);
    let k2 = basic_kind(&b);
    if k2 == BasicKind::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        let (x, y) = (a.unwrap_or_default(), b.unwrap_or_default());
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            x.type_name(),
            y.type_name()
        ));
    }
    Ok(match (a, b) {
        (Some(Value::Bool(_)), _) => return Err("invalid type for comparison".into()),
        (Some(Value::Int(x) | Value::Int64(x)), Some(Value::Int(y) | Value::Int64(y))) => x < y,
        (Some(Value::Float(x)), Some(Value::Float(y))) => x < y,
        (Some(Value::String(x)), Some(Value::String(y))) => x < y,
        _ => false,
    })
}

fn le(arg1: &Slot, arg2: &Slot) -> Result<bool, String> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}

/// The zero of an element type for a typed nil passed where a list or map is expected.
pub(crate) fn empty_list(elem: Elem) -> Value {
    Value::List(List::typed(elem, Vec::new()))
}
