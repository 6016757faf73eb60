//! List functions. Sprig takes lists as `interface{}` and walks them by reflection, so any
//! slice works (`[]string` from `splitList`, `[]int` from `until`, `[]interface {}` from
//! `list` or values files) and the results are `[]interface {}`. A non-slice argument is an
//! error in the `must…` variant and a panic (so an error too) in the plain one, with the same
//! text; a nil argument panics inside `reflect` in both.

use gotemplate::{Elem, List, Param, Value};

use crate::conv::{empty, is_slice, slice_items, to_int64};
use crate::{R, Registry, arg, err, int_arg, sig, sig_var};

/// The panic of `reflect.TypeOf(nil).Kind()`.
pub(crate) const NIL_DEREF: &str =
    "runtime error: invalid memory address or nil pointer dereference";

pub(crate) fn register(r: &mut Registry) {
    use Param::{Any, Int};
    for name in ["list", "tuple"] {
        r.add(name, sig_var(&[], Any), |a| {
            Ok(Value::List(List::new(a.to_vec())))
        });
    }
    for name in ["append", "push", "mustAppend", "mustPush"] {
        r.add(name, sig(&[Any, Any]), |a| {
            let mut items = items_of(arg(a, 0), "Cannot push on type")?.into_owned();
            items.push(arg(a, 1).clone());
            Ok(Value::List(List::new(items)))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        r.add(name, sig(&[Any, Any]), |a| {
            let old = items_of(arg(a, 0), "Cannot prepend on type")?;
            let mut items = Vec::with_capacity(old.len() + 1);
            items.push(arg(a, 1).clone());
            items.extend(old.iter().cloned());
            Ok(Value::List(List::new(items)))
        });
    }
    for name in ["first", "mustFirst"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot find first on type")?;
            Ok(items.first().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot find last on type")?;
            Ok(items.last().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot find rest on type")?;
            Ok(Value::List(List::new(
                items.iter().skip(1).cloned().collect(),
            )))
        });
    }
    for name in ["initial", "mustInitial"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot find initial on type")?;
            let n = items.len().saturating_sub(1);
            Ok(Value::List(List::new(items[..n].to_vec())))
        });
    }
    for name in ["reverse", "mustReverse"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot find reverse on type")?;
            Ok(Value::List(List::new(
                items.iter().rev().cloned().collect(),
            )))
        });
    }
    for name in ["compact", "mustCompact"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot compact on type")?;
            Ok(Value::List(List::new(
                items.iter().filter(|v| !empty(v)).cloned().collect(),
            )))
        });
    }
    for name in ["uniq", "mustUniq"] {
        r.add(name, sig(&[Any]), |a| {
            let items = items_of(arg(a, 0), "Cannot find uniq on type")?;
            let mut out: Vec<Value> = Vec::new();
            for v in items.iter() {
                if !out.iter().any(|o| deep_equal(v, o)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::List(List::new(out)))
        });
    }
    for name in ["without", "mustWithout"] {
        r.add(name, sig_var(&[Any], Any), |a| {
            let items = items_of(arg(a, 0), "Cannot find without on type")?;
            let omit = a.get(1..).unwrap_or(&[]);
            Ok(Value::List(List::new(
                items
                    .iter()
                    .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                    .cloned()
                    .collect(),
            )))
        });
    }
    for name in ["has", "mustHas"] {
        r.add(name, sig(&[Any, Any]), |a| {
            let (needle, haystack) = (arg(a, 0), arg(a, 1));
            if haystack.is_nil() {
                return Ok(Value::Bool(false));
            }
            let items = items_of(haystack, "Cannot find has on type")?;
            Ok(Value::Bool(items.iter().any(|v| deep_equal(needle, v))))
        });
    }
    for name in ["slice", "mustSlice"] {
        r.add(name, sig_var(&[Any], Any), slice);
    }
    r.add("concat", sig_var(&[], Any), |a| {
        let mut out = Vec::new();
        for l in a {
            match l {
                Value::Nil => return Err(err(NIL_DEREF)),
                _ => match slice_items(l) {
                    Some(items) => out.extend(items),
                    None => {
                        return Err(err(format!("Cannot concat type {} as list", l.kind_name())));
                    }
                },
            }
        }
        Ok(Value::List(List::new(out)))
    });
    for name in ["chunk", "mustChunk"] {
        r.add(name, sig(&[Int, Any]), |a| chunk(int_arg(a, 0)?, arg(a, 1)));
    }
}

/// The items of a slice argument, or Sprig's error (`PREFIX KIND`). A list's items are
/// borrowed, not copied: `first`, `last` and `has` on a large list cost nothing more.
pub(crate) fn items_of<'v>(
    v: &'v Value,
    prefix: &str,
) -> Result<std::borrow::Cow<'v, [Value]>, gotemplate::FuncError> {
    match v {
        Value::Nil => Err(err(NIL_DEREF)),
        Value::List(l) => Ok(std::borrow::Cow::Borrowed(l.items())),
        _ => slice_items(v)
            .map(std::borrow::Cow::Owned)
            .ok_or_else(|| err(format!("{prefix} {}", v.kind_name()))),
    }
}

fn slice(a: &[Value]) -> R {
    let list = arg(a, 0);
    if list.is_nil() {
        return Err(err(NIL_DEREF));
    }
    if !is_slice(list) {
        return Err(err(format!(
            "list should be type of slice or array but {}",
            list.kind_name()
        )));
    }
    let items = slice_items(list).unwrap_or_default();
    let len = items.len() as i64;
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, to_int64);
    let end = a.get(2).map_or(len, to_int64);
    if start < 0 || end < start || end > len {
        return Err(err("reflect.Value.Slice: slice index out of bounds"));
    }
    let part = items[start as usize..end as usize].to_vec();
    Ok(match list {
        Value::Bytes(b) => Value::Bytes(b[start as usize..end as usize].into()),
        Value::List(l) => Value::List(List::typed(l.elem(), part)),
        _ => Value::List(List::new(part)),
    })
}

/// Sprig's `chunk`, with its float arithmetic on the chunk count and Go's `makeslice` panic
/// for the sizes that make it negative.
fn chunk(size: i64, list: &Value) -> R {
    let items = items_of(list, "Cannot chunk type")?;
    let l = items.len() as f64;
    let bad_len = || err("runtime error: makeslice: len out of range");
    let cs = crate::conv::float_to_int64(((l - 1.0) / size as f64).floor() + 1.0);
    if cs < 0 {
        return Err(bad_len());
    }
    let mut out = Vec::with_capacity(cs as usize);
    for i in 0..cs {
        let mut clen = size;
        if i == cs - 1 {
            clen = crate::conv::float_to_int64((l % size as f64).floor());
            if clen == 0 {
                clen = size;
            }
        }
        if clen < 0 {
            return Err(bad_len());
        }
        let mut part = Vec::with_capacity(clen as usize);
        for j in 0..clen {
            let ix = i * size + j;
            match items.get(ix as usize) {
                Some(v) if ix >= 0 => part.push(v.clone()),
                _ => {
                    return Err(err("reflect: slice index out of range"));
                }
            }
        }
        out.push(Value::List(List::new(part)));
    }
    Ok(Value::object(ListOfLists(Value::List(List::typed(
        Elem::Any,
        out,
    )))))
}

/// A `[][]interface {}` (what `chunk` returns): the engine's lists name only scalar element
/// types, so the outer slice is an object over a list, typed as Go types it.
struct ListOfLists(Value);

impl gotemplate::Object for ListOfLists {
    fn type_name(&self) -> &str {
        "[][]interface {}"
    }

    fn kind(&self) -> &str {
        "slice"
    }

    fn underlying(&self) -> Option<Value> {
        Some(self.0.clone())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Go's `reflect.DeepEqual` over template values: same types, same contents.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.elem() == y.elem()
                && x.len() == y.len()
                && (x.ptr_eq(y)
                    || x.items()
                        .iter()
                        .zip(y.items())
                        .all(|(p, q)| deep_equal(p, q)))
        }
        (Value::Map(x), Value::Map(y)) => {
            if x.ptr_eq(y) {
                return true;
            }
            if x.elem() != y.elem() || x.len() != y.len() {
                return false;
            }
            let (xe, ye) = (x.entries(), y.entries());
            xe.iter()
                .zip(ye.iter())
                .all(|((k1, v1), (k2, v2))| k1 == k2 && deep_equal(v1, v2))
        }
        (Value::Object(x), Value::Object(y)) => {
            std::rc::Rc::ptr_eq(x, y)
                || x.type_name() == y.type_name()
                    && x.string() == y.string()
                    && match (x.underlying(), y.underlying()) {
                        (Some(p), Some(q)) => deep_equal(&p, &q),
                        (None, None) => true,
                        _ => false,
                    }
        }
        _ => false,
    }
}
