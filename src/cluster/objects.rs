//! Objects: server-side apply (with field manager `charter` and strict field validation),
//! merge patch, get, list (paged), list of metadata only, delete.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::{Cluster, ClusterError, FIELD_MANAGER, ObjectMeta, Resource, error, openapi};
use crate::object::ObjectRef;

/// The query of every apply. Field validation is strict, as with `kubectl apply`: the server's
/// default (warn) would drop a misspelt or misplaced field silently, since charter does not
/// print response warnings; strict makes it an error that names the field.
fn apply_params(opts: ApplyOptions) -> PatchParams {
    apply_params_as(FIELD_MANAGER, opts)
}

fn apply_params_as(manager: &str, opts: ApplyOptions) -> PatchParams {
    let mut pp = PatchParams::apply(manager);
    pp.force = opts.force;
    pp.dry_run = opts.dry_run;
    pp.field_validation = Some(kube::api::ValidationDirective::Strict);
    pp
}

/// What happens to the dependents of a deleted object (its Pods, its ReplicaSets): Kubernetes'
/// propagation policies, `--cascade` of uninstall.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cascade {
    /// The object goes at once; the garbage collector deletes its dependents afterwards.
    #[default]
    Background,
    /// The object goes after its dependents.
    Foreground,
    /// The dependents stay, no longer owned.
    Orphan,
}

/// Options of one apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Take fields owned by other managers.
    pub force: bool,
    /// Server-side dry run: nothing is persisted.
    pub dry_run: bool,
}

/// Objects per list page.
const LIST_PAGE: u32 = 500;

impl Cluster {
    fn api(&self, res: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
        match (res.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &res.api),
            (true, None) => Api::all_with(self.client.clone(), &res.api),
            (false, _) => Api::all_with(self.client.clone(), &res.api),
        }
    }

    /// Server-side applies an object with field manager `charter`. Returns the object as the
    /// server stored it (or would, with `dry_run`).
    pub async fn apply(&self, obj: &Value, opts: ApplyOptions) -> Result<Value, ClusterError> {
        self.apply_as(FIELD_MANAGER, obj, opts).await
    }

    /// [`Cluster::apply`] as field manager `manager`: a dry run as the manager that owns an
    /// object's fields predicts which of them an apply by that owner removes.
    pub async fn apply_as(
        &self,
        manager: &str,
        obj: &Value,
        opts: ApplyOptions,
    ) -> Result<Value, ClusterError> {
        let ObjectRef {
            api_version,
            kind,
            namespace: ns,
            name,
        } = reference(obj);
        let res = self.resource(&api_version, &kind).await?;
        let api = self.api(&res, ns.as_deref());
        let pp = apply_params_as(manager, opts);
        let patch = Patch::Apply(obj);
        let out = self
            .retry(|| async { api.patch(&name, &pp, &patch).await })
            .await
            .map_err(|e| {
                self.map_err(
                    e,
                    "patch",
                    &res.api.plural,
                    ns.as_deref(),
                    &display(&kind, ns.as_deref(), &name),
                )
            })?;
        serde_json::to_value(out).map_err(|e| ClusterError::Other {
            what: display(&kind, ns.as_deref(), &name),
            message: e.to_string(),
        })
    }

    /// [`Cluster::apply`] without reading the stored object back: the server answers in
    /// protobuf, which costs it less to encode than JSON, and the answer is only checked for
    /// success. A refusal is asked again in JSON (an apply that failed changed nothing), so
    /// errors read the same as from [`Cluster::apply`].
    pub async fn apply_quiet(&self, obj: &Value, opts: ApplyOptions) -> Result<(), ClusterError> {
        let ObjectRef {
            api_version,
            kind,
            namespace: ns,
            name,
        } = reference(obj);
        let res = self.resource(&api_version, &kind).await?;
        let api = self.api(&res, ns.as_deref());
        let mut pp = apply_params(opts);
        if self.verdict(&api_version, &kind, obj).await == openapi::Verdict::Clean {
            // Checked here against the server's own schema: skip its second decoding pass.
            pp.field_validation = Some(kube::api::ValidationDirective::Ignore);
        }
        let patch = Patch::Apply(obj);
        let request = kube::core::Request::new(api.resource_url());
        let ok = self
            .retry(|| async {
                let mut req = request
                    .patch(&name, &pp, &patch)
                    .map_err(kube::Error::BuildRequest)?;
                req.headers_mut().insert(
                    http::header::ACCEPT,
                    http::HeaderValue::from_static("application/vnd.kubernetes.protobuf"),
                );
                let resp = self.client.send(req.map(kube::client::Body::from)).await?;
                let status = resp.status();
                let body = resp.into_body().collect_bytes().await.unwrap_or_default();
                if status.is_server_error()
                    && error::is_untyped_patch(&String::from_utf8_lossy(&body))
                {
                    // Not transient: the JSON re-ask below reports it.
                    return Ok(false);
                }
                if status.is_server_error() || status.as_u16() == 429 {
                    // Retried like any other transient answer.
                    return Err(kube::Error::Api(Box::new(
                        kube::core::Status::failure("transient", "ServerError")
                            .with_code(status.as_u16()),
                    )));
                }
                Ok(status.is_success())
            })
            .await;
        match ok {
            Ok(true) => Ok(()),
            _ => self.apply(obj, opts).await.map(|_| ()),
        }
    }

    /// Gets an object; `None` when it does not exist.
    pub async fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ClusterError> {
        let res = self.resource(api_version, kind).await?;
        let api = self.api(&res, namespace);
        let out = self
            .retry(|| async { api.get_opt(name).await })
            .await
            .map_err(|e| {
                self.map_err(
                    e,
                    "get",
                    &res.api.plural,
                    namespace,
                    &display(kind, namespace, name),
                )
            })?;
        out.map(serde_json::to_value)
            .transpose()
            .map_err(|e| ClusterError::Other {
                what: display(kind, namespace, name),
                message: e.to_string(),
            })
    }

    /// Lists objects of a kind, in a namespace or all, filtered by a label selector (may be
    /// empty). Pages through the result so a large list is not one huge response.
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let items = self
            .paged(
                api_version,
                kind,
                namespace,
                selector,
                |api, lp| async move { api.list(&lp).await },
            )
            .await?;
        items
            .into_iter()
            .map(|o| {
                // The object as `serde_json::to_value` writes a `DynamicObject` (type, metadata,
                // then the rest in order), without serializing the rest again: it is moved.
                let mut m = serde_json::Map::new();
                if let Some(t) = o.types {
                    m.insert("apiVersion".into(), Value::String(t.api_version));
                    m.insert("kind".into(), Value::String(t.kind));
                }
                let meta = serde_json::to_value(o.metadata).map_err(|e| ClusterError::Other {
                    what: format!("{kind} list"),
                    message: e.to_string(),
                })?;
                m.insert("metadata".into(), meta);
                match o.data {
                    Value::Object(rest) => m.extend(rest),
                    Value::Null => {}
                    other => {
                        return Err(ClusterError::Other {
                            what: format!("{kind} list"),
                            message: format!("an item is not an object: {other}"),
                        });
                    }
                }
                m.insert("apiVersion".into(), Value::String(api_version.to_string()));
                m.insert("kind".into(), Value::String(kind.to_string()));
                Ok(Value::Object(m))
            })
            .collect()
    }

    /// Lists only the metadata (name, namespace, labels, annotations, ...) of a kind's
    /// objects: enough to see whether names are taken and who owns them, at a fraction of the
    /// transfer of full objects.
    pub async fn list_metadata(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<ObjectMeta>, ClusterError> {
        let items = self
            .paged(
                api_version,
                kind,
                namespace,
                selector,
                |api, lp| async move { api.list_metadata(&lp).await },
            )
            .await?;
        Ok(items.into_iter().map(|o| o.metadata).collect())
    }

    /// Runs a list call of a kind page by page ([`LIST_PAGE`] objects each), with retries.
    async fn paged<K, F, Fut>(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
        list: F,
    ) -> Result<Vec<K>, ClusterError>
    where
        K: Clone + serde::de::DeserializeOwned,
        F: Fn(Api<DynamicObject>, ListParams) -> Fut,
        Fut: std::future::Future<Output = Result<kube::core::ObjectList<K>, kube::Error>>,
    {
        let res = self.resource(api_version, kind).await?;
        let api = self.api(&res, namespace);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(LIST_PAGE);
            if !selector.is_empty() {
                lp = lp.labels(selector);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = self
                .retry(|| list(api.clone(), lp.clone()))
                .await
                .map_err(|e| {
                    self.map_err(
                        e,
                        "list",
                        &res.api.plural,
                        namespace,
                        &format!("{kind} list"),
                    )
                })?;
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            out.extend(page.items);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Deletes an object with background propagation. Returns false when it was already gone.
    pub async fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<bool, ClusterError> {
        let r = ObjectRef::new(api_version, kind, namespace, name);
        self.delete_cascade(&r, Cascade::Background).await
    }

    /// Deletes the object `r` names, its dependents as `cascade` says. Returns false when it
    /// was already gone.
    pub async fn delete_cascade(
        &self,
        r: &ObjectRef,
        cascade: Cascade,
    ) -> Result<bool, ClusterError> {
        let (api_version, kind, namespace, name) = (&r.api_version, &r.kind, r.ns(), &r.name);
        let res = self.resource(api_version, kind).await?;
        let api = self.api(&res, namespace);
        let dp = match cascade {
            Cascade::Background => DeleteParams::background(),
            Cascade::Foreground => DeleteParams::foreground(),
            Cascade::Orphan => DeleteParams::orphan(),
        };
        match self.retry(|| async { api.delete(name, &dp).await }).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(self.map_err(
                e,
                "delete",
                &res.api.plural,
                namespace,
                &display(kind, namespace, name),
            )),
        }
    }

    /// Applies a JSON merge patch (RFC 7386) to the object `r` names, as field manager
    /// `charter`; returns the object as stored. A `metadata.resourceVersion` in the patch is a
    /// precondition: the server refuses (409) when the object changed since.
    pub async fn patch_merge(&self, r: &ObjectRef, patch: &Value) -> Result<Value, ClusterError> {
        let res = self.resource(&r.api_version, &r.kind).await?;
        let api = self.api(&res, r.ns());
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..Default::default()
        };
        let patch = Patch::Merge(patch);
        let out = self
            .retry(|| async { api.patch(&r.name, &pp, &patch).await })
            .await
            .map_err(|e| self.map_err(e, "patch", &res.api.plural, r.ns(), &r.display()))?;
        serde_json::to_value(out).map_err(|e| ClusterError::Other {
            what: r.display(),
            message: e.to_string(),
        })
    }

    /// Gets the object `r` names; `None` when it does not exist.
    pub async fn get_object(&self, r: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        self.get(&r.api_version, &r.kind, r.ns(), &r.name).await
    }

    /// Deletes the object `r` names; false when it was already gone.
    pub async fn delete_object(&self, r: &ObjectRef) -> Result<bool, ClusterError> {
        self.delete_cascade(r, Cascade::Background).await
    }
}

/// The reference of an object to apply; fields it lacks are left empty, and the server's
/// answer names what is wrong.
fn reference(obj: &Value) -> ObjectRef {
    ObjectRef::of(obj).unwrap_or_else(|| {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        let ns = s("/metadata/namespace");
        ObjectRef::new(
            s("/apiVersion"),
            s("/kind"),
            (!ns.is_empty()).then_some(ns),
            s("/metadata/name"),
        )
    })
}

fn display(kind: &str, ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}
