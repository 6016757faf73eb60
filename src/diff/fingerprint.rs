//! Fingerprints for a fleet plan: digests that say whether the rendered objects or the live
//! state a plan was made from are still the same when the plan is applied.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::normalize::{is_secret, normalize};
use super::{IgnoreRules, ObjectInput, ObjectRef};

/// JSON with map keys sorted and no whitespace: the same value always gives the same bytes,
/// whatever order its maps were built or parsed in.
pub fn canonical_json(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(k.clone()), out);
                out.push(b':');
                write_canonical(&m[k], out);
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(x, out);
            }
            out.push(b']');
        }
        // Scalars serialize deterministically; a failure is impossible for a scalar Value.
        other => out.extend(serde_json::to_vec(other).unwrap_or_default()),
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A digest of rendered objects (as a deploy applies them, ownership metadata included), in
/// a fixed order so it depends on their content only.
pub fn rendered_fingerprint<'a>(objects: impl IntoIterator<Item = &'a Value>) -> String {
    let mut docs: Vec<(Option<ObjectRef>, Vec<u8>)> = objects
        .into_iter()
        .map(|o| (ObjectRef::of(o), canonical_json(o)))
        .collect();
    docs.sort_by(|(ka, a), (kb, b)| match (ka, kb) {
        (Some(x), Some(y)) => x.report_cmp(y).then_with(|| a.cmp(b)),
        _ => ka.is_some().cmp(&kb.is_some()).then_with(|| a.cmp(b)),
    });
    let mut h = Sha256::new();
    for (_, d) in docs {
        h.update(&d);
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// A digest of the live side of `inputs` as the diff sees it: per object its key, its `uid`,
/// and its normalized content with the ignore rules applied, so a status update or a change
/// to an ignored field does not count, while an edit the diff would show, a re-creation (new
/// uid) or a deletion does. A Secret counts by `uid` and `resourceVersion` instead of its
/// content, so the digest never depends on secret values.
pub fn live_fingerprint(inputs: &[ObjectInput], rules: &IgnoreRules) -> String {
    let mut entries: Vec<(&ObjectRef, String)> = inputs
        .iter()
        .map(|i| {
            let Some(live) = &i.live else {
                return (&i.key, "absent".to_string());
            };
            let meta = |f: &str| {
                live.pointer(&format!("/metadata/{f}"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let content = if is_secret(&i.key.api_version, &i.key.kind) {
                format!("resourceVersion {}", meta("resourceVersion"))
            } else {
                let mut v = normalize(live.clone(), false);
                for r in rules.rules.iter().filter(|r| r.selects(&i.key)) {
                    r.remove_from(&mut v);
                }
                sha256(&canonical_json(&v))
            };
            (&i.key, format!("uid {} {content}", meta("uid")))
        })
        .collect();
    entries.sort_by(|(ka, a), (kb, b)| ka.report_cmp(kb).then_with(|| a.cmp(b)));
    let mut h = Sha256::new();
    for (k, e) in entries {
        h.update(k.to_string().as_bytes());
        h.update([0]);
        h.update(e.as_bytes());
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(live: Option<Value>) -> ObjectInput {
        ObjectInput {
            key: ObjectRef::new("apps/v1", "Deployment", Some("ns"), "web"),
            desired: None,
            live,
            last_applied: None,
        }
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":"s"}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            String::from_utf8_lossy(&canonical_json(&a)),
            r#"{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }

    #[test]
    fn live_fingerprint_ignores_status_and_ignored_fields_only() {
        let base = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "resourceVersion": "1"},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 1}});
        let rules = IgnoreRules::default();
        let fp = live_fingerprint(&[input(Some(base.clone()))], &rules);
        let mut status = base.clone();
        status["status"]["readyReplicas"] = json!(3);
        status["metadata"]["resourceVersion"] = json!("2");
        assert_eq!(fp, live_fingerprint(&[input(Some(status))], &rules));
        let mut scaled = base.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert_ne!(fp, live_fingerprint(&[input(Some(scaled.clone()))], &rules));
        let mut recreated = base.clone();
        recreated["metadata"]["uid"] = json!("u2");
        assert_ne!(fp, live_fingerprint(&[input(Some(recreated))], &rules));
        assert_ne!(fp, live_fingerprint(&[input(None)], &rules));
        let mut ignoring = IgnoreRules::default();
        ignoring.add_compact(["Deployment:/spec/replicas"]).unwrap();
        assert_eq!(
            live_fingerprint(&[input(Some(base))], &ignoring),
            live_fingerprint(&[input(Some(scaled))], &ignoring)
        );
    }

    #[test]
    fn secret_fingerprint_uses_resource_version_not_values() {
        let secret = |data: &str, rv: &str| ObjectInput {
            key: ObjectRef::new("v1", "Secret", Some("ns"), "s"),
            desired: None,
            live: Some(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "s", "namespace": "ns", "uid": "u", "resourceVersion": rv},
                "data": {"k": data}})),
            last_applied: None,
        };
        let rules = IgnoreRules::default();
        let fp = live_fingerprint(&[secret("YQ==", "1")], &rules);
        assert_eq!(fp, live_fingerprint(&[secret("Yg==", "1")], &rules));
        assert_ne!(fp, live_fingerprint(&[secret("Yg==", "2")], &rules));
    }
}
