//! Undeclared-field detection against the cluster's OpenAPI v3 schemas, on the client.
//!
//! With strict field validation the API server makes a second decoding pass over every apply to
//! find fields the kind does not declare; that pass is about an eighth of an install's server
//! time. Charter finds them itself, before sending, for the built-in kinds, and asks the server
//! to skip the pass (`fieldValidation=Ignore`) only for objects it found clean. Anything it is
//! not sure of (custom resources, unusual schemas) goes with strict validation as before, so a
//! typo is never silently dropped.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::Cluster;

/// What the schema says about an object's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every field is declared.
    Clean,
    /// A field the schema does not declare, as a path like `.spec.prots`.
    Undeclared(String),
    /// The schema cannot decide (not found, or deeper than charter follows).
    Unsure,
}

/// API groups whose schemas come from the API server's own types. Custom resources are pruned
/// by their structural schemas, which this module does not model: they always get strict
/// validation from the server.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
];

/// Whether charter checks objects of this API group itself.
pub fn is_built_in(group: &str) -> bool {
    BUILT_IN_GROUPS.contains(&group)
}

/// One group-version's OpenAPI v3 document, indexed by kind.
#[derive(Debug)]
pub struct GroupVersionSchemas {
    doc: Value,
    /// kind -> schema name in `components.schemas`.
    kinds: HashMap<String, String>,
}

impl GroupVersionSchemas {
    /// Indexes a document served at `/openapi/v3/<apis/group/version|api/v1>` for `group` and
    /// `version`.
    pub fn new(doc: Value, group: &str, version: &str) -> GroupVersionSchemas {
        let mut kinds = HashMap::new();
        if let Some(schemas) = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
        {
            for (name, schema) in schemas {
                let gvks = schema
                    .get("x-kubernetes-group-version-kind")
                    .and_then(Value::as_array);
                for gvk in gvks.into_iter().flatten() {
                    let field = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("");
                    if field("group") == group && field("version") == version {
                        kinds.insert(field("kind").to_string(), name.clone());
                    }
                }
            }
        }
        GroupVersionSchemas { doc, kinds }
    }

    /// Checks an object of `kind` against its schema.
    pub fn check(&self, kind: &str, obj: &Value) -> Verdict {
        let Some(root) = self
            .kinds
            .get(kind)
            .and_then(|name| self.doc.pointer("/components/schemas")?.get(name))
        else {
            return Verdict::Unsure;
        };
        let mut path = String::new();
        self.walk(root, obj, &mut path, 0)
    }

    /// Follows `$ref` and the `allOf: [{$ref}]` wrapper OpenAPI v3 uses to attach a default.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> Option<&'a Value> {
        for _ in 0..16 {
            let target = schema.get("$ref").and_then(Value::as_str).or_else(|| {
                match schema
                    .get("allOf")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                {
                    Some([only]) => only.get("$ref").and_then(Value::as_str),
                    _ => None,
                }
            });
            match target {
                Some(r) => {
                    let name = r.strip_prefix("#/components/schemas/")?;
                    schema = self.doc.pointer("/components/schemas")?.get(name)?;
                }
                None => return Some(schema),
            }
        }
        None
    }

    fn walk(&self, schema: &Value, v: &Value, path: &mut String, depth: usize) -> Verdict {
        if depth > 64 {
            return Verdict::Unsure;
        }
        if !v.is_object() && !v.is_array() {
            // Scalars carry no fields (int-or-string and quantities are `oneOf` scalars).
            return Verdict::Clean;
        }
        let Some(schema) = self.resolve(schema) else {
            return Verdict::Unsure;
        };
        if schema.get("allOf").is_some()
            || schema.get("anyOf").is_some()
            || schema.get("oneOf").is_some()
        {
            return Verdict::Unsure;
        }
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return Verdict::Clean;
        }
        match v {
            Value::Object(m) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let extra = schema.get("additionalProperties");
                if props.is_none() && extra.is_none() {
                    // Opaque on the server too (RawExtension, Quantity, Time, IntOrString).
                    return Verdict::Clean;
                }
                for (k, val) in m {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    let verdict = match (props.and_then(|p| p.get(k)), extra) {
                        (Some(s), _) => self.walk(s, val, path, depth + 1),
                        (None, Some(Value::Bool(true))) => Verdict::Clean,
                        (None, Some(s @ Value::Object(_))) => self.walk(s, val, path, depth + 1),
                        (None, _) => Verdict::Undeclared(path.clone()),
                    };
                    path.truncate(len);
                    if verdict != Verdict::Clean {
                        return verdict;
                    }
                }
                Verdict::Clean
            }
            Value::Array(items) => match schema.get("items") {
                Some(s) => {
                    for (i, item) in items.iter().enumerate() {
                        let len = path.len();
                        path.push_str(&format!("[{i}]"));
                        let verdict = self.walk(s, item, path, depth + 1);
                        path.truncate(len);
                        if verdict != Verdict::Clean {
                            return verdict;
                        }
                    }
                    Verdict::Clean
                }
                None => Verdict::Clean,
            },
            _ => Verdict::Clean,
        }
    }
}

/// The schemas of every group-version fetched so far, per connection.
#[derive(Default)]
pub(super) struct SchemaCache {
    /// `/openapi/v3`: group-version path -> URL of its document; `None` once it failed.
    index: Option<Option<HashMap<String, String>>>,
    docs: HashMap<String, Option<Arc<GroupVersionSchemas>>>,
}

impl Cluster {
    /// What the cluster's OpenAPI v3 schema says about `obj`'s fields ([`openapi`]).
    pub async fn verdict(&self, api_version: &str, kind: &str, obj: &Value) -> Verdict {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if !is_built_in(group) {
            return Verdict::Unsure;
        }
        let path = if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        };
        let verdict = match self.group_version_schemas(&path, group, version).await {
            Some(s) => s.check(kind, obj),
            None => Verdict::Unsure,
        };
        if verdict != Verdict::Clean {
            tracing::debug!("{kind} ({api_version}): {verdict:?}; the server validates it");
        }
        verdict
    }

    async fn group_version_schemas(
        &self,
        path: &str,
        group: &str,
        version: &str,
    ) -> Option<Arc<GroupVersionSchemas>> {
        let mut cache = self.schemas.lock().await;
        if let Some(found) = cache.docs.get(path) {
            return found.clone();
        }
        if cache.index.is_none() {
            let index = self.get_json("/openapi/v3").await.and_then(|v| {
                let paths = v.get("paths")?.as_object()?;
                Some(
                    paths
                        .iter()
                        .filter_map(|(k, v)| {
                            Some((k.clone(), v.get("serverRelativeURL")?.as_str()?.to_string()))
                        })
                        .collect::<HashMap<_, _>>(),
                )
            });
            cache.index = Some(index);
        }
        let url = cache.index.as_ref()?.as_ref()?.get(path)?.clone();
        let doc = self.get_json(&url).await;
        let schemas = doc.map(|d| Arc::new(GroupVersionSchemas::new(d, group, version)));
        cache.docs.insert(path.to_string(), schemas.clone());
        schemas
    }

    /// A GET of a raw path as JSON; `None` on any failure (the caller then falls back).
    async fn get_json(&self, path: &str) -> Option<Value> {
        let req = http::Request::get(path).body(Vec::new()).ok()?;
        let text = self.client.request_text(req).await.ok()?;
        serde_json::from_str(&text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schemas() -> GroupVersionSchemas {
        let doc = json!({"components": {"schemas": {
            "Svc": {
                "type": "object",
                "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Service"}],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"allOf": [{"$ref": "#/components/schemas/Meta"}], "default": {}},
                    "spec": {"$ref": "#/components/schemas/Spec"}
                }
            },
            "Meta": {"type": "object", "properties": {
                "name": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            }},
            "Spec": {"type": "object", "properties": {
                "ports": {"type": "array", "items": {"$ref": "#/components/schemas/Port"}},
                "selector": {"type": "object", "additionalProperties": {"type": "string"}},
                "raw": {"$ref": "#/components/schemas/Raw"},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }},
            "Port": {"type": "object", "properties": {
                "port": {"type": "integer"},
                "targetPort": {"$ref": "#/components/schemas/IntOrString"}
            }},
            "IntOrString": {"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]},
            "Raw": {"type": "object"}
        }}});
        GroupVersionSchemas::new(doc, "", "v1")
    }

    #[test]
    fn declared_fields_are_clean_and_undeclared_ones_are_named() {
        let s = schemas();
        let good = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {"selector": {"app": "a"}, "ports": [{"port": 80, "targetPort": "http"}],
                     "raw": {"anything": {"goes": 1}}, "free": {"x": [1]}}});
        assert_eq!(s.check("Service", &good), Verdict::Clean);
        let typo = json!({"kind": "Service", "spec": {"prots": [{"port": 80}]}});
        assert_eq!(
            s.check("Service", &typo),
            Verdict::Undeclared(".spec.prots".into())
        );
        let deep = json!({"spec": {"ports": [{"port": 80}, {"prot": 81}]}});
        assert_eq!(
            s.check("Service", &deep),
            Verdict::Undeclared(".spec.ports[1].prot".into())
        );
        let meta = json!({"metadata": {"nmae": "a"}});
        assert_eq!(
            s.check("Service", &meta),
            Verdict::Undeclared(".metadata.nmae".into())
        );
        assert_eq!(s.check("Deployment", &good), Verdict::Unsure);
    }

    #[test]
    fn only_built_in_groups_are_checked_here() {
        assert!(is_built_in("") && is_built_in("apps") && is_built_in("networking.k8s.io"));
        assert!(!is_built_in("example.com") && !is_built_in("monitoring.coreos.com"));
    }
}
