//! The desired state of a deploy: rendered manifests turned into the objects a deploy of a
//! release applies (namespace set or removed by the kind's scope, ownership label and
//! annotations added). Install, upgrade, `--dry-run=server` and `charter diff` all go through
//! [`prepare_desired`], so what a diff or a dry run shows is what a deploy applies.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::error::OpError;
use super::record::ReleaseRecord;
use super::store::Storage;
use crate::cluster::{Cluster, ClusterError};
use crate::manifest::{self, Manifest};
use crate::object::{
    ANNOTATION_RELEASE, ANNOTATION_RELEASE_NS, HELM_ANNOTATION_RELEASE, HELM_ANNOTATION_RELEASE_NS,
    HELM_LABEL_MANAGED_BY, HELM_MANAGED_BY, LABEL_RELEASE, ObjectRef,
};

/// One object of a deploy, ready to apply.
pub struct Desired {
    /// The object with ownership metadata.
    pub obj: Value,
    /// Which object, namespace resolved (`None` when cluster-scoped).
    pub item: ObjectRef,
    /// Rendered exactly as in the last revision.
    pub same_render: bool,
}

/// The `crds/` CRDs of a Helm chart that a deploy creates, as Helm does: on an install (no
/// deployed revision yet) those not present in the cluster, on an upgrade none. Helm never
/// changes a CRD once it exists (a newer version a user applied by hand must not be rolled
/// back by the chart's copy), and charter runs a Helm chart as Helm runs it.
pub async fn helm_crds_to_create(
    cluster: &Cluster,
    crds: &[Manifest],
    installing: bool,
) -> Result<Vec<Manifest>, ClusterError> {
    if !installing {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(crds.len());
    for m in crds {
        if cluster.get_object(&m.header).await?.is_none() {
            out.push(m.clone());
        }
    }
    Ok(out)
}

/// A revision's rendered objects by their identity as rendered (namespace as written), for
/// spotting unchanged ones. A revision that cannot be read back gives none: everything is
/// applied.
pub fn rendered_objects(record: &ReleaseRecord) -> HashMap<ObjectRef, Value> {
    let Ok(manifests) = manifests_of(record) else {
        return HashMap::new();
    };
    manifests
        .iter()
        .filter_map(|m| {
            let obj = crate::yaml::parse_str(m.text(), &m.source).ok()?;
            Some((m.header.clone(), obj))
        })
        .collect()
}

/// The objects a stored revision applied, parsed back from its manifest.
pub fn manifests_of(record: &ReleaseRecord) -> Result<Vec<Manifest>, OpError> {
    let source: Arc<str> = Arc::from(format!("{} revision {}", record.name, record.revision));
    let text = Arc::new(record.manifest.clone());
    manifest::split_documents(&text)
        .into_iter()
        .enumerate()
        .map(|(i, (range, line))| {
            manifest::check_document(&source, &text, range, line, i + 1).map_err(|e| {
                OpError::Manifest {
                    source_name: source.to_string(),
                    message: e.to_string(),
                }
            })
        })
        .collect()
}

/// `obj` without the label and annotations charter adds to every object it applies (empty
/// `labels`/`annotations` maps removed too).
pub fn without_charter_marks(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for (map, keys) in [
            ("labels", &[LABEL_RELEASE][..]),
            (
                "annotations",
                &[ANNOTATION_RELEASE, ANNOTATION_RELEASE_NS][..],
            ),
        ] {
            if let Some(m) = meta.get_mut(map).and_then(Value::as_object_mut) {
                for k in keys {
                    m.remove(*k);
                }
                if m.is_empty() {
                    meta.remove(map);
                }
            }
        }
    }
    out
}

/// Which ownership marks desired objects carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerMarks {
    /// charter's label and annotations.
    Charter,
    /// charter's and Helm's (`app.kubernetes.io/managed-by: Helm`, `meta.helm.sh/release-name`
    /// and `-namespace`): the release stays in Helm's storage, and Helm refuses to take over
    /// an object without them.
    CharterAndHelm,
}

impl OwnerMarks {
    /// The marks of a release whose records are in `storage`.
    pub fn of(storage: Storage) -> OwnerMarks {
        if storage.is_helm() {
            OwnerMarks::CharterAndHelm
        } else {
            OwnerMarks::Charter
        }
    }
}

/// Turns rendered manifests into the objects a deploy of `release` in `namespace` applies:
/// namespace set (or removed for cluster-scoped kinds) and ownership label and annotations
/// added (`marks`); `same_render` marks objects rendered exactly as in `previous_render`.
pub async fn prepare_desired(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    crds: &[Manifest],
    manifests: &[Manifest],
    previous_render: &HashMap<ObjectRef, Value>,
    marks: OwnerMarks,
) -> Result<Vec<Desired>, OpError> {
    let mut parsed = Vec::new();
    for m in crds.iter().chain(manifests.iter()) {
        let obj = crate::yaml::parse_str(m.text(), &m.source).map_err(|e| OpError::Manifest {
            source_name: m.source.to_string(),
            message: e.to_string(),
        })?;
        parsed.push((m, obj));
    }
    let chart_crds = chart_crd_scopes(parsed.iter().map(|(m, o)| (&m.header, o)));
    let mut out = Vec::new();
    for (m, mut obj) in parsed {
        let same_render = previous_render.get(&m.header) == Some(&obj);
        let namespaced = match cluster
            .is_namespaced(&m.header.api_version, &m.header.kind)
            .await
        {
            Ok(n) => n,
            Err(e @ ClusterError::UnknownKind { .. }) => *chart_crds
                .get(&(m.header.group().to_string(), m.header.kind.clone()))
                .ok_or(e)?,
            Err(e) => return Err(e.into()),
        };
        let meta = obj
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| OpError::Manifest {
                source_name: m.source.to_string(),
                message: "metadata is not a map".into(),
            })?;
        let ns = if namespaced {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| namespace.to_string());
            meta.insert("namespace".into(), Value::String(ns.clone()));
            Some(ns)
        } else {
            meta.remove("namespace");
            None
        };
        mark(meta, release, namespace, marks);
        out.push(Desired {
            obj,
            item: ObjectRef {
                namespace: ns,
                ..m.header.clone()
            },
            same_render,
        });
    }
    Ok(out)
}

/// Adds the ownership label and annotations (`marks`) to an object's `metadata`. A template
/// that renders `labels:` or `annotations:` with nothing under it (as Bitnami's charts do when
/// no annotation is configured) gives null, which Helm treats as an empty map: so does this,
/// or the object would be applied without any owner mark.
fn mark(meta: &mut Map<String, Value>, release: &str, namespace: &str, marks: OwnerMarks) {
    let helm = marks == OwnerMarks::CharterAndHelm;
    if let Some(l) = map_in(meta, "labels") {
        l.insert(LABEL_RELEASE.into(), Value::String(release.to_string()));
        if helm {
            l.insert(HELM_LABEL_MANAGED_BY.into(), HELM_MANAGED_BY.into());
        }
    }
    if let Some(a) = map_in(meta, "annotations") {
        let mut set = |k: &str, v: &str| a.insert(k.into(), Value::String(v.to_string()));
        set(ANNOTATION_RELEASE, release);
        set(ANNOTATION_RELEASE_NS, namespace);
        if helm {
            set(HELM_ANNOTATION_RELEASE, release);
            set(HELM_ANNOTATION_RELEASE_NS, namespace);
        }
    }
}

/// The map under `key`, created when missing or null; `None` when it holds something else (the
/// server rejects the object then).
fn map_in<'a>(meta: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Map<String, Value>> {
    let v = meta.entry(key).or_insert(Value::Null);
    if v.is_null() {
        *v = json!({});
    }
    v.as_object_mut()
}

/// Custom resources whose CRD is part of this release are not served yet: their scope
/// (namespaced or not) comes from the CRD in the chart, by group and kind.
fn chart_crd_scopes<'a>(
    objects: impl Iterator<Item = (&'a ObjectRef, &'a Value)>,
) -> HashMap<(String, String), bool> {
    objects
        .filter(|(r, _)| r.kind == "CustomResourceDefinition")
        .filter_map(|(_, o)| {
            let group = o.pointer("/spec/group")?.as_str()?.to_string();
            let kind = o.pointer("/spec/names/kind")?.as_str()?.to_string();
            let namespaced = o.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster");
            Some(((group, kind), namespaced))
        })
        .collect()
}

/// Whether a dry run of a *new* object failed only for what the deploy creates before it: the
/// server does not serve its kind yet (its CRD is in the same deploy) or answers 404 (its
/// namespace is created by the deploy or `--create-namespace`). A diff or a server dry run
/// then shows the object as rendered.
pub fn not_yet_servable(e: &ClusterError) -> bool {
    matches!(
        e,
        ClusterError::UnknownKind { .. } | ClusterError::Rejected { code: 404, .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `labels:` and `annotations:` rendered with nothing under them (null) still get the
    /// marks: Helm reads them as empty maps, and without the marks neither Helm nor charter
    /// recognises the object as the release's.
    #[test]
    fn null_labels_and_annotations_get_the_marks() {
        let mut obj = json!({"name": "web", "labels": null, "annotations": null});
        let meta = obj.as_object_mut().unwrap();
        mark(meta, "web", "prod", OwnerMarks::CharterAndHelm);
        assert_eq!(
            obj,
            json!({
                "name": "web",
                "labels": {"charter.dev/release": "web", "app.kubernetes.io/managed-by": "Helm"},
                "annotations": {
                    "charter.dev/release-name": "web",
                    "charter.dev/release-namespace": "prod",
                    "meta.helm.sh/release-name": "web",
                    "meta.helm.sh/release-namespace": "prod"
                }
            })
        );
    }

    #[test]
    fn marks_join_existing_labels_and_annotations() {
        let mut obj = json!({"labels": {"app": "x"}, "annotations": {"note": "y"}});
        mark(
            obj.as_object_mut().unwrap(),
            "web",
            "prod",
            OwnerMarks::Charter,
        );
        assert_eq!(
            obj,
            json!({
                "labels": {"app": "x", "charter.dev/release": "web"},
                "annotations": {
                    "note": "y",
                    "charter.dev/release-name": "web",
                    "charter.dev/release-namespace": "prod"
                }
            })
        );
    }
}
