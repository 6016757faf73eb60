//! Normalization: what is removed or rewritten before objects are compared.

use base64::Engine;
use serde_json::{Map, Value};

/// metadata fields the server writes for its own bookkeeping; never part of a change or drift.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Annotations that hold a copy of the object (kubectl client-side apply) and would both
/// duplicate every change and, for a Secret, leak its values.
const DROPPED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// Whether an object is a core Secret (whose `data` is masked).
pub(crate) fn is_secret(api_version: &str, kind: &str) -> bool {
    api_version == "v1" && kind == "Secret"
}

/// Returns the object as compared: no `status`, no server bookkeeping in `metadata`, no nulls
/// (a rendered `foo: null` means "unset", and the server stores pod templates with
/// `creationTimestamp: null`), no empty `labels`/`annotations`, and for a Secret `stringData`
/// folded into `data` (base64), as the API server does on write.
pub(crate) fn normalize(mut v: Value, secret: bool) -> Value {
    drop_nulls(&mut v);
    let Value::Object(m) = &mut v else {
        return v;
    };
    m.shift_remove("status");
    // apiVersion and kind first, as written and as the server returns single objects: a list
    // response carries them elsewhere, and the text diff shows document order.
    if m.keys().take(2).ne(["apiVersion", "kind"]
        .iter()
        .copied()
        .filter(|k| m.contains_key(*k)))
    {
        let rest = std::mem::take(m);
        for k in ["apiVersion", "kind"] {
            if let Some(v) = rest.get(k) {
                m.insert(k.to_string(), v.clone());
            }
        }
        for (k, v) in rest {
            if !m.contains_key(&k) {
                m.insert(k, v);
            }
        }
    }
    if let Some(Value::Object(meta)) = m.get_mut("metadata") {
        for f in SERVER_METADATA {
            meta.shift_remove(*f);
        }
        if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
            for a in DROPPED_ANNOTATIONS {
                ann.shift_remove(*a);
            }
        }
        for f in ["annotations", "labels"] {
            if meta.get(f).is_some_and(is_empty_container) {
                meta.shift_remove(f);
            }
        }
    }
    if secret && let Some(Value::Object(sd)) = m.shift_remove("stringData") {
        let data = m.entry("data").or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Value::Object(data) = data {
            for (k, val) in sd {
                // stringData wins over data for the same key, as in the API.
                let text = match val {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let enc = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                data.insert(k, Value::String(enc));
            }
        }
    }
    v
}

/// `{}` or `[]`.
pub(crate) fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
