//! Secret masking: every value under a Secret's `data` is replaced by a placeholder that tells
//! its decoded size, and, on the newer side, whether it changed, before anything is rendered.

use base64::Engine;
use serde_json::Value;

/// Masks `data` of an older and a newer version of the same Secret (either may be absent).
/// Equal values get equal placeholders and different values different ones (the newer says
/// `changed`), so a diff of the masked objects shows exactly the keys that changed.
pub(crate) fn mask_pair(mut old: Option<&mut Value>, mut new: Option<&mut Value>) {
    // `data` that is not a map is invalid, but must not be shown either.
    for side in [old.as_deref_mut(), new.as_deref_mut()]
        .into_iter()
        .flatten()
    {
        if let Some(data) = side.get_mut("data")
            && !data.is_object()
        {
            *data = Value::String("<secret: not a map>".to_string());
        }
    }
    let old_data = old.as_ref().and_then(|o| o.get("data")).cloned();
    if let Some(Value::Object(data)) = new.and_then(|n| n.get_mut("data")) {
        for (k, v) in data.iter_mut() {
            let changed = old_data
                .as_ref()
                .and_then(|d| d.get(k))
                .is_some_and(|ov| ov != v);
            *v = placeholder(v, changed);
        }
    }
    if let Some(Value::Object(data)) = old.and_then(|o| o.get_mut("data")) {
        for v in data.values_mut() {
            *v = placeholder(v, false);
        }
    }
}

fn placeholder(v: &Value, changed: bool) -> Value {
    let size = match v {
        Value::String(s) => match base64::engine::general_purpose::STANDARD.decode(s.trim()) {
            Ok(bytes) => format!("{} bytes", bytes.len()),
            Err(_) => format!("{} characters, not base64", s.chars().count()),
        },
        _ => "not a string".to_string(),
    };
    let changed = if changed { ", changed" } else { "" };
    Value::String(format!("<secret: {size}{changed}>"))
}
