//! Field ownership between Helm's field manager and charter's, moved the way `kubectl` moves a
//! client-side-applied object to server-side apply (client-go's `csaupgrade`): the fields one
//! manager owns are merged into the other's `Apply` entry of `metadata.managedFields`, and the
//! first manager's entries removed, in one patch guarded by the object's resourceVersion.
//!
//! Why not apply with `--force-conflicts` alone: forcing takes the fields charter sets, but a
//! field Helm set that the chart no longer renders would stay Helm's and stay in the object.
//! Once charter's `Apply` entry owns everything Helm's did, applying the new render removes
//! exactly the fields that left the chart, and nothing conflicts.
//!
//! Helm 4 owns its fields with `Apply` (server-side); Helm 3 with `Update` (client-side; its
//! entry also holds fields the server defaulted at create, which charter's next apply drops and
//! the server defaults again). Both move. Entries of another `apiVersion` than the target
//! entry's are dropped, not merged, as `csaupgrade` does: field paths differ between versions.
//!
//! While a release stays in Helm's storage, ownership goes back to `helm` after each apply
//! ([`HELM_MANAGER`] `Apply`), so Helm 4's server-side upgrade and rollback of it meet no
//! conflict with charter; `charter adopt` ends that.

use serde_json::{Map, Value, json};

use crate::cluster::{Cluster, ClusterError};
use crate::object::ObjectRef;

/// Helm's field manager (Helm 3 and 4).
pub const HELM_MANAGER: &str = "helm";

/// How often a move is tried again when the object changed in between.
const ATTEMPTS: usize = 5;

/// An object's `metadata.managedFields` and `resourceVersion`, as last read.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldOwners {
    /// The entries.
    pub entries: Vec<Value>,
    /// The resourceVersion they belong to.
    pub resource_version: String,
}

impl FieldOwners {
    /// Reads them from a whole object.
    pub fn of(obj: &Value) -> FieldOwners {
        FieldOwners {
            entries: obj
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            resource_version: obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        }
    }

    /// Whether `manager` owns fields of the object itself (not of a subresource).
    pub fn has(&self, manager: &str) -> bool {
        self.entries.iter().any(|e| is_main(e, manager))
    }

    /// Whether `manager` owns fields of the object itself through server-side apply.
    pub fn applies(&self, manager: &str) -> bool {
        self.entries
            .iter()
            .any(|e| is_main(e, manager) && text(e, "operation") == "Apply")
    }
}

fn text<'a>(e: &'a Value, k: &str) -> &'a str {
    e.get(k).and_then(Value::as_str).unwrap_or("")
}

fn is_main(e: &Value, manager: &str) -> bool {
    text(e, "manager") == manager && text(e, "subresource").is_empty()
}

/// The union of two field sets in `fieldsV1` form: a node `{}` is a member with nothing below,
/// a map holds children by path element (`f:name`, `k:{...}`, `v:...`, `i:N`), with `.` when
/// the node is a member too. The root is never a member.
fn union(a: &Value, b: &Value, root: bool) -> Value {
    let empty = Map::new();
    let am = a.as_object().unwrap_or(&empty);
    let bm = b.as_object().unwrap_or(&empty);
    let member = |m: &Map<String, Value>| m.is_empty() || m.contains_key(".");
    let mut out = Map::new();
    for (k, v) in am.iter().chain(bm.iter()) {
        if k == "." {
            continue;
        }
        let merged = match out.get(k) {
            Some(have) => union(have, v, false),
            None => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    if !root && !out.is_empty() && (member(am) || member(bm)) {
        out.insert(".".into(), json!({}));
    }
    Value::Object(out)
}

/// `entries` after moving what `from` owns of the object (its `Apply` and `Update` entries)
/// into `to`'s `Apply` entry, which is created from one of `from`'s when `to` has none.
/// `None` when `from` owns nothing.
pub fn moved(entries: &[Value], from: &str, to: &str) -> Option<Vec<Value>> {
    let sources: Vec<usize> = (0..entries.len())
        .filter(|&i| is_main(&entries[i], from))
        .collect();
    if sources.is_empty() {
        return None;
    }
    let target = entries
        .iter()
        .position(|e| is_main(e, to) && text(e, "operation") == "Apply")
        .or_else(|| {
            sources
                .iter()
                .copied()
                .find(|&i| text(&entries[i], "operation") == "Apply")
        })
        .unwrap_or(sources[0]);
    let api_version = text(&entries[target], "apiVersion").to_string();
    let mut fields = entries[target]
        .get("fieldsV1")
        .cloned()
        .unwrap_or_else(|| json!({}));
    for &i in &sources {
        if i != target && text(&entries[i], "apiVersion") == api_version {
            let theirs = entries[i].get("fieldsV1").cloned().unwrap_or(json!({}));
            fields = union(&fields, &theirs, true);
        }
    }
    let mut entry = entries[target].clone();
    entry["manager"] = to.into();
    entry["operation"] = "Apply".into();
    entry["fieldsType"] = "FieldsV1".into();
    entry["fieldsV1"] = fields;
    Some(
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match i {
                _ if i == target => Some(entry.clone()),
                _ if sources.contains(&i) => None,
                _ => Some(e.clone()),
            })
            .collect(),
    )
}

/// Moves the live object's field ownership from `from` to `to` ([`moved`]), starting from
/// `known` (read earlier; read again when the object changed since). Returns the object as
/// stored after the move, or `None` when `from` owned nothing (or the object is gone).
pub async fn move_ownership(
    cluster: &Cluster,
    item: &ObjectRef,
    known: Option<FieldOwners>,
    from: &str,
    to: &str,
) -> Result<Option<Value>, ClusterError> {
    let mut current = known;
    for _ in 0..ATTEMPTS {
        let owners = match current.take() {
            Some(o) => o,
            None => match cluster.get_object(item).await? {
                Some(obj) => FieldOwners::of(&obj),
                None => return Ok(None),
            },
        };
        let Some(entries) = moved(&owners.entries, from, to) else {
            return Ok(None);
        };
        let patch = json!({"metadata": {
            "managedFields": entries,
            "resourceVersion": owners.resource_version,
        }});
        match cluster.patch_merge(item, &patch).await {
            Ok(obj) => return Ok(Some(obj)),
            // Changed since it was read: read it again.
            Err(ClusterError::Rejected { code: 409, .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ClusterError::Other {
        what: item.display(),
        message: format!(
            "the object changed {ATTEMPTS} times while its fields were moved from field manager `{from}` to `{to}`; run the command again"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(manager: &str, op: &str, api: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": op, "apiVersion": api, "time": "2026-11-30T14:13:47Z",
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    #[test]
    fn helm_4_apply_entry_becomes_charters() {
        let helm = entry(
            "helm",
            "Apply",
            "v1",
            json!({"f:data": {"f:extra": {}, "f:message": {}}}),
        );
        let status = json!({"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                            "subresource": "status", "fieldsV1": {"f:status": {}}});
        let out = moved(&[helm.clone(), status.clone()], "helm", "charter").unwrap();
        let mut want = helm;
        want["manager"] = "charter".into();
        assert_eq!(out, [want, status]);
        assert_eq!(moved(&out, "helm", "charter"), None, "nothing left to move");
    }

    #[test]
    fn helm_3_update_entries_merge_into_an_existing_apply_entry() {
        let charter = entry(
            "charter",
            "Apply",
            "apps/v1",
            json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}}}}),
        );
        let helm = entry(
            "helm",
            "Update",
            "apps/v1",
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                   "f:spec": {"f:progressDeadlineSeconds": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"web\"}": {".": {}, "f:name": {}}, "k:{\"name\":\"side\"}": {}}}}}}),
        );
        let old_helm = entry(
            "helm",
            "Update",
            "apps/v1beta1",
            json!({"f:spec": {"f:paused": {}}}),
        );
        let other = entry(
            "kubectl-edit",
            "Update",
            "apps/v1",
            json!({"f:spec": {"f:minReadySeconds": {}}}),
        );
        let out = moved(&[helm, charter, old_helm, other.clone()], "helm", "charter").unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["manager"], "charter");
        assert_eq!(out[0]["operation"], "Apply");
        assert_eq!(
            out[0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                   "f:spec": {"f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"side\"}": {},
                "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(out[1], other);
    }

    #[test]
    fn a_member_meeting_children_keeps_its_membership() {
        // `{}` (the map itself is owned) with `{f:x}` (only a child is) is both.
        assert_eq!(
            union(&json!({"f:a": {}}), &json!({"f:a": {"f:x": {}}}), true),
            json!({"f:a": {".": {}, "f:x": {}}})
        );
        assert_eq!(
            union(
                &json!({"f:a": {"f:y": {}}}),
                &json!({"f:a": {"f:x": {}}}),
                true
            ),
            json!({"f:a": {"f:x": {}, "f:y": {}}})
        );
        assert_eq!(
            union(&json!({}), &json!({"f:a": {}}), true),
            json!({"f:a": {}})
        );
    }

    #[test]
    fn a_lone_update_entry_is_converted() {
        let helm = entry(
            "helm",
            "Update",
            "v1",
            json!({"f:data": {".": {}, "f:a": {}}}),
        );
        let out = moved(std::slice::from_ref(&helm), "helm", "charter").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["operation"], "Apply");
        assert_eq!(out[0]["fieldsV1"], helm["fieldsV1"]);
        let owners = FieldOwners {
            entries: out,
            resource_version: "1".into(),
        };
        assert!(owners.has("charter") && !owners.has("helm"));
        assert!(owners.applies("charter") && !owners.applies("helm"));
    }
}
