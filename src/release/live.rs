//! What the cluster holds of the objects a deploy touches, read with a list call or two per
//! kind and namespace instead of a GET per object: a 3000-object release costs a handful of
//! requests before its applies, not 3000.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::takeover::FieldOwners;
use crate::cluster::{Cluster, ClusterError};
use crate::object::{LABEL_RELEASE, ObjectRef, Ownership};

/// Group, kind, namespace: where one list call looks.
type Scope = (String, String, Option<String>);

/// Up to this many missing names of one kind are looked up one by one; more are listed.
const GET_LIMIT: usize = 3;
/// Kinds listed at once.
const PARALLEL_LISTS: usize = 8;

/// A live object as far as a deploy needs it.
#[derive(Debug, Clone)]
pub struct LiveObject {
    /// Its owner and resource policy, from charter's annotations.
    pub ownership: Ownership,
    /// The whole object, when it was listed as one of this release's objects.
    pub full: Option<Value>,
    /// Who owns its fields, as read.
    pub owners: FieldOwners,
}

/// The live state of a set of objects.
#[derive(Debug, Default)]
pub struct LiveIndex {
    objects: HashMap<ObjectRef, LiveObject>,
    scopes: HashSet<Scope>,
}

/// The answer of [`LiveIndex::lookup`].
#[derive(Debug)]
pub enum Lookup<'a> {
    /// The object exists.
    Present(&'a LiveObject),
    /// Its kind was read and it is not there.
    Absent,
    /// Its kind was not read: ask the cluster.
    Unknown,
}

fn scope(i: &ObjectRef) -> Scope {
    (i.group().to_string(), i.kind.clone(), i.namespace.clone())
}

impl LiveObject {
    /// Reads owner and policy from a whole object.
    pub fn from_value(full: Value) -> Self {
        LiveObject {
            ownership: Ownership::of(&full),
            owners: FieldOwners::of(&full),
            full: Some(full),
        }
    }
}

impl LiveIndex {
    /// Reads the live state of `items`: per kind and namespace, this release's objects whole
    /// (one list by label), then the names still missing (a few GETs, or one metadata list).
    /// Kinds the server does not serve yet (custom resources of a CRD this deploy installs)
    /// have no objects.
    pub async fn read<'a>(
        cluster: &Cluster,
        release: &str,
        items: impl IntoIterator<Item = &'a ObjectRef>,
    ) -> Result<LiveIndex, ClusterError> {
        let mut groups: HashMap<Scope, (String, HashSet<String>)> = HashMap::new();
        for i in items {
            groups
                .entry(scope(i))
                .or_insert_with(|| (i.api_version.clone(), HashSet::new()))
                .1
                .insert(i.name.clone());
        }
        let selector = format!("{LABEL_RELEASE}={release}");
        let found: Vec<(Scope, Vec<(ObjectRef, LiveObject)>)> = futures::stream::iter(groups)
            .map(|(scope, (api_version, names))| {
                let selector = &selector;
                async move {
                    let objs = read_scope(cluster, &scope, &api_version, names, selector).await?;
                    Ok::<_, ClusterError>((scope, objs))
                }
            })
            .buffer_unordered(PARALLEL_LISTS)
            .try_collect()
            .await?;
        let mut index = LiveIndex::default();
        for (scope, objs) in found {
            index.objects.extend(objs);
            index.scopes.insert(scope);
        }
        Ok(index)
    }

    /// Moves the whole object out of the index, for a caller that needs it once: `Some(None)`
    /// when it is known to be absent, `None` when the cluster must be asked (its kind was not
    /// read, or it was not listed whole). Its ownership stays in the index.
    pub fn take_whole(&mut self, item: &ObjectRef) -> Option<Option<Value>> {
        match self.objects.get_mut(item) {
            Some(o) => o.full.take().map(Some),
            None if self.scopes.contains(&scope(item)) => Some(None),
            None => None,
        }
    }

    /// What is known of one object.
    pub fn lookup(&self, item: &ObjectRef) -> Lookup<'_> {
        if let Some(o) = self.objects.get(item) {
            return Lookup::Present(o);
        }
        if self.scopes.contains(&scope(item)) {
            Lookup::Absent
        } else {
            Lookup::Unknown
        }
    }
}

async fn read_scope(
    cluster: &Cluster,
    scope: &Scope,
    api_version: &str,
    mut names: HashSet<String>,
    selector: &str,
) -> Result<Vec<(ObjectRef, LiveObject)>, ClusterError> {
    let ns = scope.2.as_deref();
    let kind = scope.1.as_str();
    let at = |name: &str| ObjectRef::new(api_version, kind, ns, name);
    let ours = match cluster.list(api_version, kind, ns, selector).await {
        Ok(v) => v,
        Err(ClusterError::UnknownKind { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for obj in ours {
        let Some(name) = obj.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        if names.remove(name) {
            out.push((at(name), LiveObject::from_value(obj)));
        }
    }
    if names.is_empty() {
        return Ok(out);
    }
    if names.len() <= GET_LIMIT {
        for name in names {
            if let Some(obj) = cluster.get(api_version, kind, ns, &name).await? {
                out.push((at(&name), LiveObject::from_value(obj)));
            }
        }
        return Ok(out);
    }
    for meta in cluster.list_metadata(api_version, kind, ns, "").await? {
        let Some(name) = meta.name.as_ref().filter(|n| names.contains(*n)) else {
            continue;
        };
        let ownership = Ownership::from_annotations(|k| {
            meta.annotations.as_ref().and_then(|a| a.get(k)).cloned()
        });
        let owners = FieldOwners {
            entries: meta
                .managed_fields
                .iter()
                .flatten()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect(),
            resource_version: meta.resource_version.clone().unwrap_or_default(),
        };
        out.push((
            at(name),
            LiveObject {
                ownership,
                full: None,
                owners,
            },
        ));
    }
    Ok(out)
}

/// Whether `live` already holds everything `desired` sets: every field of `desired` is in
/// `live` with the same value, lists item by item with the same length. Fields the server
/// added (defaults, status) do not matter; a field someone removed or changed does. Applying
/// an object this covers, with the same configuration as the last apply, changes nothing.
pub fn covers(live: &Value, desired: &Value) -> bool {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d
            .iter()
            .all(|(k, dv)| l.get(k).is_some_and(|lv| covers(lv, dv))),
        (Value::Array(l), Value::Array(d)) => {
            l.len() == d.len() && l.iter().zip(d).all(|(lv, dv)| covers(lv, dv))
        }
        (Value::Number(l), Value::Number(d)) => l.as_f64() == d.as_f64(),
        (l, d) => l == d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn take_whole_moves_a_listed_object_out_once() {
        let web = ObjectRef::new("v1", "ConfigMap", Some("ns"), "web");
        let gone = ObjectRef::new("v1", "ConfigMap", Some("ns"), "gone");
        let unread = ObjectRef::new("apps/v1", "Deployment", Some("ns"), "web");
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "namespace": "ns"}, "data": {"a": "1"}});
        let mut index = LiveIndex {
            objects: HashMap::from([(web.clone(), LiveObject::from_value(obj.clone()))]),
            scopes: HashSet::from([scope(&web)]),
        };
        assert_eq!(index.take_whole(&web), Some(Some(obj)));
        // Taken: the cluster must be asked again, and the object still counts as present.
        assert_eq!(index.take_whole(&web), None);
        assert!(matches!(index.lookup(&web), Lookup::Present(_)));
        assert_eq!(index.take_whole(&gone), Some(None));
        assert_eq!(index.take_whole(&unread), None);
    }

    #[test]
    fn covers_ignores_server_fields_but_not_changes() {
        let desired = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1"}]}}}});
        let live = json!({"spec": {"replicas": 3, "revisionHistoryLimit": 10, "template": {"spec": {
            "containers": [{"name": "web", "image": "nginx:1", "terminationMessagePath": "/dev/termination-log"}],
            "dnsPolicy": "ClusterFirst"}}}, "status": {"replicas": 3}});
        assert!(covers(&live, &desired));
        let scaled = json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1"}]}}}});
        assert!(!covers(&scaled, &desired));
        let extra = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1"}, {"name": "sidecar", "image": "x"}]}}}});
        assert!(
            !covers(&extra, &desired),
            "a list with an extra item differs"
        );
        let missing = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1"}]}}}});
        assert!(!covers(&missing, &desired));
        assert!(covers(&json!({"a": 1.0}), &json!({"a": 1})));
        assert!(!covers(&json!({"a": "1"}), &json!({"a": 1})));
    }
}
