//! Dict functions. Dicts are shared maps: `set`, `unset`, `merge` and `mergeOverwrite` change
//! their first argument and return it.
//!
//! `merge` and `mergeOverwrite` are dario.cat/mergo's `Merge` and `MergeWithOverwrite` on
//! `map[string]interface{}`, whose rules are less obvious than their names:
//! - a key missing in the destination, or holding an *empty* value (nil, false, 0, "", empty
//!   list or map), takes the source's value (so `merge` replaces a `false` or a `0`);
//! - a nil source value is skipped by `merge`, and written as nil by `mergeOverwrite`;
//! - two maps under a key merge recursively (the destination's map changes in place);
//! - otherwise `merge` keeps the destination's value and `mergeOverwrite` takes the source's,
//!   empty or not.
//!
//! A source map placed under a missing key is shared with the destination, as in Go.

use gotemplate::{Elem, List, Map, Param, Value};

use crate::conv::{empty, strval};
use crate::{R, Registry, arg, err, map_arg, sig, sig_var, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::{Any, String};
    r.add("dict", sig_var(&[], Any), |a| {
        let map = Map::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| string(""));
            map.insert(strval(&pair[0]), value);
        }
        Ok(Value::Map(map))
    });
    r.add("get", sig(&[Param::Map, String]), |a| {
        let map = map_arg(a, 0)?;
        Ok(map.get(str_arg(a, 1)?).unwrap_or_else(|| string("")))
    });
    r.add("set", sig(&[Param::Map, String, Any]), |a| {
        let map = writable_map(a)?;
        map.insert(str_arg(a, 1)?, arg(a, 2).clone());
        Ok(Value::Map(map))
    });
    r.add("unset", sig(&[Param::Map, String]), |a| {
        let map = map_arg(a, 0)?;
        map.remove(str_arg(a, 1)?);
        Ok(Value::Map(map))
    });
    r.add("hasKey", sig(&[Param::Map, String]), |a| {
        Ok(Value::Bool(map_arg(a, 0)?.contains_key(str_arg(a, 1)?)))
    });
    r.add("pluck", sig_var(&[String], Param::Map), |a| {
        let key = str_arg(a, 0)?;
        let mut out = Vec::new();
        for i in 1..a.len() {
            if let Some(v) = map_arg(a, i)?.get(key) {
                out.push(v);
            }
        }
        Ok(Value::List(List::new(out)))
    });
    r.add("keys", sig_var(&[], Param::Map), |a| {
        let mut out = Vec::new();
        for i in 0..a.len() {
            out.extend(map_arg(a, i)?.keys());
        }
        Ok(crate::conv::string_list(out))
    });
    r.add("values", sig(&[Param::Map]), |a| {
        let map = map_arg(a, 0)?;
        let values: Vec<Value> = map.borrow().values().cloned().collect();
        Ok(Value::List(List::new(values)))
    });
    r.add("pick", sig_var(&[Param::Map], String), |a| {
        let (map, out) = (map_arg(a, 0)?, Map::new());
        for i in 1..a.len() {
            let k = str_arg(a, i)?;
            if let Some(v) = map.get(k) {
                out.insert(k, v);
            }
        }
        Ok(Value::Map(out))
    });
    r.add("omit", sig_var(&[Param::Map], String), |a| {
        let map = map_arg(a, 0)?;
        let omit: Vec<&str> = (1..a.len())
            .map(|i| str_arg(a, i))
            .collect::<Result<_, _>>()?;
        let out = Map::new();
        for (k, v) in map.borrow().iter() {
            if !omit.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
        Ok(Value::Map(out))
    });
    r.add("merge", sig_var(&[Param::Map], Param::Map), |a| {
        Ok(merge(a, false).unwrap_or_else(|_| string("")))
    });
    r.add("mustMerge", sig_var(&[Param::Map], Param::Map), |a| {
        merge(a, false)
    });
    r.add("mergeOverwrite", sig_var(&[Param::Map], Param::Map), |a| {
        Ok(merge(a, true).unwrap_or_else(|_| string("")))
    });
    r.add(
        "mustMergeOverwrite",
        sig_var(&[Param::Map], Param::Map),
        |a| merge(a, true),
    );
    for name in ["deepCopy", "mustDeepCopy"] {
        r.add(name, sig(&[Any]), |a| match arg(a, 0) {
            // copystructure asks reflect for the type of nothing.
            Value::Nil => Err(err("reflect: call of reflect.Value.Type on zero Value")),
            v => Ok(deep_copy(v)),
        });
    }
    r.add("dig", sig_var(&[], Any), dig);
}

/// A map argument that Go could write to (a nil map panics on assignment).
fn writable_map(a: &[Value]) -> Result<Map, gotemplate::FuncError> {
    match arg(a, 0) {
        Value::Nil => Err(err("assignment to entry in nil map")),
        _ => map_arg(a, 0),
    }
}

/// Deeper than any values file; a map that contains itself stops here instead of overflowing
/// the stack.
const MAX_DEPTH: usize = 10_000;

fn merge(a: &[Value], overwrite: bool) -> R {
    let dst = map_arg(a, 0)?;
    for i in 1..a.len() {
        let src = map_arg(a, i)?;
        merge_into(&dst, &src, overwrite, 0)?;
    }
    Ok(Value::Map(dst))
}

fn merge_into(
    dst: &Map,
    src: &Map,
    overwrite: bool,
    depth: usize,
) -> Result<(), gotemplate::FuncError> {
    if depth > MAX_DEPTH {
        return Err(err(
            "maps nested too deeply to merge (a map contains itself?)",
        ));
    }
    if dst.ptr_eq(src) {
        return Ok(());
    }
    for (key, s) in src.entries() {
        let d = dst.get(&key);
        if s.is_nil() {
            if overwrite {
                dst.insert(key, Value::Nil);
            }
            continue;
        }
        match (&s, &d) {
            (Value::Map(sm), Some(Value::Map(dm))) => merge_into(dm, sm, overwrite, depth + 1)?,
            // mergo's slice branch stores the source slice first when overwriting (or when
            // the destination map is empty), before the checks below.
            (Value::List(_) | Value::Bytes(_), _) if overwrite || dst.is_empty() => {
                dst.insert(key.clone(), s.clone());
            }
            _ => {}
        }
        if let Some(dv) = &d
            && !empty(dv)
        {
            let src_is_slice = matches!(s, Value::List(_) | Value::Bytes(_));
            let both_maps = matches!((&s, dv), (Value::Map(_), Value::Map(_)));
            if src_is_slice || both_maps {
                continue;
            }
        }
        if overwrite || d.as_ref().is_none_or(empty) {
            dst.insert(key, s);
        }
    }
    Ok(())
}

/// copystructure's `Copy`: new maps and lists all the way down, the same element types.
pub(crate) fn deep_copy(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let copy = Map::typed(m.elem());
            for (k, x) in m.entries() {
                copy.insert(k, deep_copy(&x));
            }
            Value::Map(copy)
        }
        Value::List(l) => Value::List(List::typed(
            l.elem(),
            l.items().iter().map(deep_copy).collect(),
        )),
        _ => v.clone(),
    }
}

/// `dig KEY… DEFAULT DICT`, with Go's type-assertion panics as errors.
fn dig(a: &[Value]) -> R {
    if a.len() < 3 {
        return Err(err("dig needs at least three arguments"));
    }
    let mut dict = as_dict(&a[a.len() - 1])?;
    let default = &a[a.len() - 2];
    let keys = &a[..a.len() - 2];
    for k in keys {
        if !matches!(k, Value::String(_)) {
            return Err(assertion(k, "string"));
        }
    }
    for (i, k) in keys.iter().enumerate() {
        let Some(step) = dict.get(k.as_str().unwrap_or("")) else {
            return Ok(default.clone());
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        dict = as_dict(&step)?;
    }
    Ok(default.clone())
}

fn as_dict(v: &Value) -> Result<Map, gotemplate::FuncError> {
    match v {
        Value::Map(m) if m.elem() == Elem::Any => Ok(m.clone()),
        _ => Err(assertion(v, "map[string]interface {}")),
    }
}

/// Go's panic for a failed `x.(T)` on an `interface {}`.
pub(crate) fn assertion(v: &Value, want: &str) -> gotemplate::FuncError {
    let got = if v.is_nil() {
        "nil".to_string()
    } else {
        v.type_name()
    };
    err(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}
