//! Kubernetes objects as charter names and claims them: [`ObjectRef`], the one identity of an
//! object everywhere (rendered manifests, release inventories, live lookups, diffs), the
//! install order of kinds, and the ownership label and annotations charter puts on every
//! object it applies.
//!
//! An object is the same object at every version of its kind: the API server stores it once
//! and serves it at each version. So two [`ObjectRef`]s are equal when group, kind, namespace
//! and name are, whatever their `apiVersion`; a chart that moves a kind from `v2beta2` to `v2`
//! keeps its object, and neither a prune nor a diff takes it for a new one.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Annotation naming the release that owns an object.
pub const ANNOTATION_RELEASE: &str = "charter.dev/release-name";
/// Annotation naming the owning release's namespace.
pub const ANNOTATION_RELEASE_NS: &str = "charter.dev/release-namespace";
/// Label on every object charter applies, for listing a release's objects by selector.
pub const LABEL_RELEASE: &str = "charter.dev/release";
/// Annotation that keeps an object when it leaves the chart (`keep`).
pub const ANNOTATION_POLICY: &str = "charter.dev/resource-policy";
/// Helm's annotation naming the release that owns an object.
pub const HELM_ANNOTATION_RELEASE: &str = "meta.helm.sh/release-name";
/// Helm's annotation naming the owning release's namespace.
pub const HELM_ANNOTATION_RELEASE_NS: &str = "meta.helm.sh/release-namespace";
/// The label Helm puts on every object it installs (value [`HELM_MANAGED_BY`]).
pub const HELM_LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`HELM_LABEL_MANAGED_BY`] Helm requires.
pub const HELM_MANAGED_BY: &str = "Helm";
/// Helm's annotation that keeps an object when it leaves the chart (`keep`).
pub const HELM_ANNOTATION_POLICY: &str = "helm.sh/resource-policy";

/// Which object: `apiVersion`, `kind`, namespace and name.
///
/// Equality, hashing and [`Ord`] leave the version out (see the module docs);
/// [`ObjectRef::report_cmp`] is the order objects are shown and installed in.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apps/v1`, or `v1` for the core group.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// The namespace; `None` for a cluster-scoped object, or for a rendered one that does not
    /// set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectRef {
    /// A reference from its parts.
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The reference of an object (`apiVersion`, `kind`, `metadata.namespace`,
    /// `metadata.name`); `None` when one of the required fields is missing.
    pub fn of(obj: &Value) -> Option<ObjectRef> {
        let meta = obj.get("metadata")?;
        Some(ObjectRef {
            api_version: obj.get("apiVersion")?.as_str()?.to_string(),
            kind: obj.get("kind")?.as_str()?.to_string(),
            namespace: meta
                .get("namespace")
                .and_then(Value::as_str)
                .map(str::to_string),
            name: meta.get("name")?.as_str()?.to_string(),
        })
    }

    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map(|(g, _)| g)
            .unwrap_or("")
    }

    /// The API version without its group (`v1` of `apps/v1`).
    pub fn version(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map(|(_, v)| v)
            .unwrap_or(&self.api_version)
    }

    /// The namespace as a cluster call takes it.
    pub fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// `Kind/name` or `Kind/namespace/name`, for messages.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    /// The order objects are installed and reported in: install rank of the kind, then kind,
    /// apiVersion, namespace and name.
    pub fn report_cmp(&self, other: &ObjectRef) -> Ordering {
        (
            install_rank(&self.kind),
            &self.kind,
            &self.api_version,
            &self.namespace,
            &self.name,
        )
            .cmp(&(
                install_rank(&other.kind),
                &other.kind,
                &other.api_version,
                &other.namespace,
                &other.name,
            ))
    }

    fn identity(&self) -> (&str, &str, Option<&str>, &str) {
        (self.group(), &self.kind, self.ns(), &self.name)
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for ObjectRef {}

impl Hash for ObjectRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for ObjectRef {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// By group, kind, namespace and name, consistent with equality.
impl Ord for ObjectRef {
    fn cmp(&self, other: &Self) -> Ordering {
        self.identity().cmp(&other.identity())
    }
}

/// `apps/v1 Deployment prod/web` (`v1 Namespace prod` when cluster-scoped): the heading of an
/// object in a diff.
impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ", self.api_version, self.kind)?;
        if let Some(ns) = &self.namespace {
            write!(f, "{ns}/")?;
        }
        f.write_str(&self.name)
    }
}

/// A release record's inventory entry: `{group, version, kind, namespace, name}`, the
/// namespace empty for a cluster-scoped object. Use with `#[serde(with = "...")]` on a
/// `Vec<ObjectRef>`.
pub mod inventory {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Entry<'a> {
        #[serde(borrow)]
        group: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        version: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(default, borrow)]
        namespace: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
    }

    /// Writes the entries.
    pub fn serialize<S: serde::Serializer>(items: &[ObjectRef], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(items.iter().map(|i| Entry {
            group: i.group().into(),
            version: i.version().into(),
            kind: i.kind.as_str().into(),
            namespace: i.ns().unwrap_or("").into(),
            name: i.name.as_str().into(),
        }))
    }

    /// Reads the entries.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ObjectRef>, D::Error> {
        let entries: Vec<Entry<'de>> = Vec::deserialize(d)?;
        Ok(entries
            .into_iter()
            .map(|e| ObjectRef {
                api_version: if e.group.is_empty() {
                    e.version.into_owned()
                } else {
                    format!("{}/{}", e.group, e.version)
                },
                kind: e.kind.into_owned(),
                namespace: (!e.namespace.is_empty()).then(|| e.namespace.into_owned()),
                name: e.name.into_owned(),
            })
            .collect())
    }
}

/// Who owns a live object, from charter's annotations (or, on an object Helm installed,
/// Helm's), and whether it is kept on prune.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership {
    /// The owning release's name.
    pub release: Option<String>,
    /// The owning release's namespace.
    pub namespace: Option<String>,
    /// `charter.dev/resource-policy`, else `helm.sh/resource-policy`.
    pub policy: Option<String>,
    /// Whether the owner was read from Helm's annotations (charter's are absent).
    pub by_helm: bool,
}

impl Ownership {
    /// Reads the annotations through `get` (a map lookup of any shape). A release with the
    /// same name and namespace is the same release whichever tool wrote it: Helm's
    /// annotations name the owner of an object Helm installed, where charter's are absent.
    pub fn from_annotations(get: impl Fn(&str) -> Option<String>) -> Ownership {
        let policy = get(ANNOTATION_POLICY).or_else(|| get(HELM_ANNOTATION_POLICY));
        match get(ANNOTATION_RELEASE) {
            Some(release) => Ownership {
                release: Some(release),
                namespace: get(ANNOTATION_RELEASE_NS),
                policy,
                by_helm: false,
            },
            None => {
                let release = get(HELM_ANNOTATION_RELEASE);
                Ownership {
                    by_helm: release.is_some(),
                    release,
                    namespace: get(HELM_ANNOTATION_RELEASE_NS),
                    policy,
                }
            }
        }
    }

    /// Reads an object's `metadata.annotations`.
    pub fn of(obj: &Value) -> Ownership {
        let annotations = obj.pointer("/metadata/annotations");
        Ownership::from_annotations(|k| {
            annotations?
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    }

    /// Whether release `release` in `namespace` owns it.
    pub fn is(&self, release: &str, namespace: &str) -> bool {
        self.release.as_deref() == Some(release) && self.namespace.as_deref() == Some(namespace)
    }

    /// Whether it stays when it leaves the chart (`charter.dev/resource-policy: keep`, or
    /// Helm's `helm.sh/resource-policy: keep`).
    pub fn keep(&self) -> bool {
        self.policy.as_deref() == Some("keep")
    }
}

/// Install order by kind: namespaces and CRDs first, then policy, identity and RBAC, config,
/// storage, services, workloads, then the rest; kinds charter does not know go last.
pub const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "CustomResourceDefinition",
    "PriorityClass",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The position of a kind in [`INSTALL_ORDER`]; unknown kinds sort last.
pub fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_object_at_another_version_is_the_same_object() {
        let beta = ObjectRef::new(
            "autoscaling/v2beta2",
            "HorizontalPodAutoscaler",
            Some("ns"),
            "web",
        );
        let ga = ObjectRef::new(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            Some("ns"),
            "web",
        );
        assert_eq!(beta, ga);
        let set: std::collections::HashSet<ObjectRef> = [beta.clone()].into();
        assert!(set.contains(&ga));
        assert_ne!(
            ga,
            ObjectRef::new("autoscaling/v2", "HorizontalPodAutoscaler", None, "web")
        );
        assert_ne!(
            beta,
            ObjectRef::new("other.io/v2", "HorizontalPodAutoscaler", Some("ns"), "web")
        );
        assert_eq!((ga.group(), ga.version()), ("autoscaling", "v2"));
        let core = ObjectRef::new("v1", "Namespace", None, "prod");
        assert_eq!((core.group(), core.version()), ("", "v1"));
        assert_eq!(core.display(), "Namespace/prod");
        assert_eq!(ga.display(), "HorizontalPodAutoscaler/ns/web");
        assert_eq!(core.to_string(), "v1 Namespace prod");
    }

    #[test]
    fn inventory_entries_keep_the_record_format() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct R {
            #[serde(with = "inventory")]
            inventory: Vec<ObjectRef>,
        }
        let r = R {
            inventory: vec![
                ObjectRef::new("apps/v1", "Deployment", Some("x"), "web"),
                ObjectRef::new("v1", "Namespace", None, "x"),
            ],
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"inventory": [
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "x", "name": "web"},
                {"group": "", "version": "v1", "kind": "Namespace", "namespace": "", "name": "x"},
            ]})
        );
        let back: R = serde_json::from_value(json).unwrap();
        assert_eq!(back.inventory[1].namespace, None);
        assert_eq!(back.inventory[0].api_version, "apps/v1");
        assert_eq!(back, r);
    }

    #[test]
    fn helm_annotations_name_the_owner_where_charters_are_absent() {
        let helm = serde_json::json!({"metadata": {"annotations": {
            "meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "prod",
            "helm.sh/resource-policy": "keep"}}});
        let o = Ownership::of(&helm);
        assert!(o.is("web", "prod") && o.by_helm && o.keep());
        assert!(!o.is("web", "dev"));
        let both = serde_json::json!({"metadata": {"annotations": {
            "meta.helm.sh/release-name": "web", "meta.helm.sh/release-namespace": "prod",
            "charter.dev/release-name": "api", "charter.dev/release-namespace": "prod"}}});
        let o = Ownership::of(&both);
        assert!(o.is("api", "prod") && !o.is("web", "prod") && !o.by_helm && !o.keep());
    }

    #[test]
    fn install_order() {
        assert!(install_rank("Namespace") < install_rank("CustomResourceDefinition"));
        assert!(install_rank("CustomResourceDefinition") < install_rank("ClusterRole"));
        assert!(install_rank("ConfigMap") < install_rank("Service"));
        assert!(install_rank("Service") < install_rank("Deployment"));
        assert_eq!(install_rank("Widget"), INSTALL_ORDER.len());
    }
}
