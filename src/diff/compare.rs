//! The two comparisons: the change (every field of two normalized objects) and drift (the live
//! object projected onto the fields the last release set).

use serde_json::Value;

use super::Op;
use super::keys::{item_key, list_key};
use super::normalize::is_empty_container;
use super::path::{FieldPath, Segment};

/// A difference found, before values are attached (they are read from the masked objects).
pub(crate) type Found = (FieldPath, Op);

/// Every field difference from `old` to `new`.
pub(crate) fn diff_values(path: &mut Vec<Segment>, old: &Value, new: &Value, out: &mut Vec<Found>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, ov) in o {
                path.push(Segment::Key(k.clone()));
                match n.get(k) {
                    Some(nv) => diff_values(path, ov, nv, out),
                    None => out.push((FieldPath(path.clone()), Op::Removed)),
                }
                path.pop();
            }
            for k in n.keys().filter(|k| !o.contains_key(*k)) {
                path.push(Segment::Key(k.clone()));
                out.push((FieldPath(path.clone()), Op::Added));
                path.pop();
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            let field = last_key(path);
            if let Some(fields) = list_key(field, &[o, n]) {
                diff_keyed(path, o, n, &fields, out);
            } else if all_scalars(o) && all_scalars(n) {
                // A list of strings (args, command, finalizers) reads best as one change.
                if !values_eq(old, new, quantity_context(path)) {
                    out.push((FieldPath(path.clone()), Op::Changed));
                }
            } else {
                for i in 0..o.len().max(n.len()) {
                    path.push(Segment::Index(i));
                    match (o.get(i), n.get(i)) {
                        (Some(ov), Some(nv)) => diff_values(path, ov, nv, out),
                        (Some(_), None) => out.push((FieldPath(path.clone()), Op::Removed)),
                        (None, Some(_)) => out.push((FieldPath(path.clone()), Op::Added)),
                        (None, None) => {}
                    }
                    path.pop();
                }
            }
        }
        _ => {
            if !values_eq(old, new, quantity_context(path)) {
                out.push((FieldPath(path.clone()), Op::Changed));
            }
        }
    }
}

fn diff_keyed(
    path: &mut Vec<Segment>,
    old: &[Value],
    new: &[Value],
    fields: &[&str],
    out: &mut Vec<Found>,
) {
    // list_key checked that every item has a key, unique on its side.
    let old_keys: Vec<_> = old.iter().map(|i| item_key(i, fields)).collect();
    let new_keys: Vec<_> = new.iter().map(|i| item_key(i, fields)).collect();
    for (nv, nk) in new.iter().zip(&new_keys) {
        let Some(nk) = nk else { continue };
        path.push(Segment::Item(nk.clone()));
        match old_keys.iter().position(|k| k.as_ref() == Some(nk)) {
            Some(pos) => diff_values(path, &old[pos], nv, out),
            None => out.push((FieldPath(path.clone()), Op::Added)),
        }
        path.pop();
    }
    for ok in old_keys.iter().flatten() {
        if !new_keys.iter().any(|k| k.as_ref() == Some(ok)) {
            path.push(Segment::Item(ok.clone()));
            out.push((FieldPath(path.clone()), Op::Removed));
            path.pop();
        }
    }
}

/// Drift: where `live` no longer holds what `last` (the last release's object) set. Only the
/// fields `last` sets are compared, so fields the server or other controllers filled in are
/// never drift; items other managers added to a keyed list are not drift either.
pub(crate) fn drift_values(
    path: &mut Vec<Segment>,
    last: &Value,
    live: Option<&Value>,
    out: &mut Vec<Found>,
) {
    let Some(live) = live else {
        // A zero value the server dropped (omitempty: an empty map or list, `false`, `0`, `""`,
        // as in a chart's `hostNetwork: false`) is not a removal.
        if !is_zero_value(last) {
            out.push((FieldPath(path.clone()), Op::Removed));
        }
        return;
    };
    match (last, live) {
        (Value::Object(l), Value::Object(v)) => {
            for (k, lv) in l {
                path.push(Segment::Key(k.clone()));
                drift_values(path, lv, v.get(k), out);
                path.pop();
            }
        }
        (Value::Array(l), Value::Array(v)) => {
            let field = last_key(path);
            if let Some(fields) = list_key(field, &[l, v]) {
                for item in l {
                    let Some(key) = item_key(item, &fields) else {
                        continue;
                    };
                    let found = v
                        .iter()
                        .find(|i| item_key(i, &fields).as_ref() == Some(&key));
                    path.push(Segment::Item(key));
                    drift_values(path, item, found, out);
                    path.pop();
                }
            } else if l.len() == v.len() && !(all_scalars(l) && all_scalars(v)) {
                for (i, (lv, vv)) in l.iter().zip(v).enumerate() {
                    path.push(Segment::Index(i));
                    drift_values(path, lv, Some(vv), out);
                    path.pop();
                }
            } else if !values_eq(last, live, quantity_context(path)) {
                out.push((FieldPath(path.clone()), Op::Changed));
            }
        }
        _ => {
            if !values_eq(last, live, quantity_context(path)) {
                out.push((FieldPath(path.clone()), Op::Changed));
            }
        }
    }
}

/// Whether `v` is what Go's `omitempty` leaves out: an empty map, list or string, `false` or 0.
fn is_zero_value(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => is_empty_container(v),
    }
}

fn last_key(path: &[Segment]) -> Option<&str> {
    match path.last() {
        Some(Segment::Key(k)) => Some(k),
        _ => None,
    }
}

fn all_scalars(items: &[Value]) -> bool {
    items.iter().all(|i| !i.is_object() && !i.is_array())
}

/// Whether values under `path` are resource quantities, which the server rewrites to a
/// canonical form (`cpu: 0.5` is stored as `500m`, `memory: 1` as `"1"`).
fn quantity_context(path: &[Segment]) -> bool {
    path.iter().any(|s| {
        matches!(s, Segment::Key(k) if matches!(k.as_str(),
            "limits" | "requests" | "hard" | "capacity" | "allocatable" | "overhead" | "sizeLimit"))
    })
}

/// Deep equality in which numbers compare by value (`1` = `1.0`) and, where `quantity`,
/// Kubernetes quantities compare by value (`0.5` = `500m`, `1Gi` = `1073741824`).
pub(crate) fn values_eq(a: &Value, b: &Value, quantity: bool) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, xv)| y.get(k).is_some_and(|yv| values_eq(xv, yv, quantity)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_eq(p, q, quantity))
        }
        (Value::Number(x), Value::Number(y)) if x != y => match (x.as_f64(), y.as_f64()) {
            (Some(p), Some(q)) => p == q,
            _ => false,
        },
        _ if a == b => true,
        _ if quantity => match (parse_quantity(a), parse_quantity(b)) {
            (Some(p), Some(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()),
            _ => false,
        },
        _ => false,
    }
}

/// A Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `128974848`) as a number.
pub(crate) fn parse_quantity(v: &Value) -> Option<f64> {
    let s = match v {
        Value::Number(n) => return n.as_f64(),
        Value::String(s) => s.trim(),
        _ => return None,
    };
    let split = s
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '+' || *c == '-'))))
        .map_or(s.len(), |(i, _)| i);
    let (num, suffix) = s.split_at(split);
    let base: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(base * mult)
}
