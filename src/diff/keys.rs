//! Which lists are compared by key, and what the key is.
//!
//! The table follows the Kubernetes strategic-merge `patchMergeKey`s (and the list-map keys
//! server-side apply uses) of the core kinds; a list of objects that all have a unique string
//! `name` is keyed by `name` whatever its field is called, which covers most CRDs. A list whose
//! items do not all carry a unique key is compared by position instead, so a malformed or
//! unusual list never loses items.

use std::collections::BTreeSet;

use serde_json::Value;

/// The key fields for a list stored under `field`, given the items on every side being
/// compared; `None` means compare by position.
pub(crate) fn list_key(field: Option<&str>, sides: &[&[Value]]) -> Option<Vec<&'static str>> {
    let all = || sides.iter().flat_map(|s| s.iter());
    // An empty list has nothing to match by key.
    all().next()?;
    let has = |f: &str| all().all(|i| i.get(f).is_some_and(|v| !v.is_null()));
    let fields: Vec<&'static str> = match field {
        Some("containers" | "initContainers" | "ephemeralContainers" | "env" | "volumes")
        | Some("imagePullSecrets" | "resourceClaims" | "schedulingGates" | "webhooks") => {
            vec!["name"]
        }
        Some("volumeMounts") => vec!["mountPath"],
        Some("volumeDevices") => vec!["devicePath"],
        Some("hostAliases") => vec!["ip"],
        Some("readinessGates") => vec!["conditionType"],
        Some("topologySpreadConstraints") => vec!["topologyKey", "whenUnsatisfiable"],
        Some("ownerReferences") => vec!["uid"],
        // Container ports are a list-map on containerPort+protocol, Service ports on
        // port+protocol: the same port number may appear once per protocol.
        Some("ports") if has("containerPort") => vec!["containerPort", "protocol"],
        Some("ports") if has("port") => vec!["port", "protocol"],
        _ if all().all(|i| i.get("name").is_some_and(Value::is_string)) => vec!["name"],
        _ => return None,
    };
    for side in sides {
        let mut seen = BTreeSet::new();
        for item in side.iter() {
            let k = item_key(item, &fields)?;
            if !seen.insert(k) {
                return None;
            }
        }
    }
    Some(fields)
}

/// The key of one list item: `(field, value)` pairs, the first field required. A missing
/// `protocol` is the API default `TCP`, so a rendered port without one matches the live port
/// the server defaulted.
pub(crate) fn item_key<S: AsRef<str>>(item: &Value, fields: &[S]) -> Option<Vec<(String, String)>> {
    let obj = item.as_object()?;
    let mut out = Vec::with_capacity(fields.len());
    for (n, f) in fields.iter().enumerate() {
        let f = f.as_ref();
        match obj.get(f).and_then(scalar_text) {
            Some(v) => out.push((f.to_string(), v)),
            None if f == "protocol" => out.push((f.to_string(), "TCP".to_string())),
            None if n == 0 => return None,
            None => {}
        }
    }
    Some(out)
}

/// A scalar as text (for keys and selectors); `None` for null, maps and lists.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
