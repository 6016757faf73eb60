//! The cluster: a kube client with kubeconfig/context selection, aggregated discovery mapping
//! kinds to resources, server-side apply with field manager `charter`, get/list/delete, and
//! retries with backoff on throttling, server errors and lost connections.

pub mod client;
pub mod openapi;
pub mod readiness;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use serde_json::Value;
use tokio::sync::RwLock;

/// The field manager charter applies with.
pub const FIELD_MANAGER: &str = "charter";

/// Installs the ring crypto provider as the process default. Call once before any TLS.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A field another manager owns that an apply tried to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The field path as the server reports it.
    pub field: String,
    /// The manager that owns it.
    pub manager: String,
}

/// Errors talking to the cluster. Each says which object, verb or URL, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No kubeconfig file where one was looked for.
    #[error("no kubeconfig found: looked for {looked}. Pass --kubeconfig FILE or set KUBECONFIG")]
    NoKubeconfig {
        /// The places looked at.
        looked: String,
    },
    /// The kubeconfig could not be read.
    #[error("kubeconfig {file}: {message}")]
    Kubeconfig {
        /// The file.
        file: String,
        /// The problem.
        message: String,
    },
    /// The context does not exist.
    #[error("kube context `{context}` is not in {file}; contexts there: {available}")]
    NoContext {
        /// The context asked for.
        context: String,
        /// The kubeconfig.
        file: String,
        /// The contexts that exist.
        available: String,
    },
    /// The API server cannot be reached.
    #[error(
        "cannot reach the Kubernetes API server at {url} (context `{context}`): {cause}. Check that the cluster is running and the kubeconfig points to it"
    )]
    Unreachable {
        /// Server URL.
        url: String,
        /// The kube context.
        context: String,
        /// The last cause.
        cause: String,
    },
    /// RBAC forbids an operation.
    #[error("forbidden: user `{user}` cannot {verb} {resource}{in_ns}: {message}")]
    Forbidden {
        /// The user.
        user: String,
        /// The verb.
        verb: String,
        /// The resource.
        resource: String,
        /// " in namespace X" or "".
        in_ns: String,
        /// The server's message.
        message: String,
    },
    /// Server-side apply conflicts with other field managers.
    #[error("{object}: apply conflicts with fields owned by other managers:\n{}\nRe-run with --force-conflicts to take ownership of these fields", format_conflicts(.conflicts))]
    Conflict {
        /// The object.
        object: String,
        /// The conflicting fields.
        conflicts: Vec<FieldConflict>,
    },
    /// The object has a field its kind's schema does not declare (field validation is strict).
    #[error(
        "{object}: {field} is not a field of this kind (a typo, or misplaced): fix the template that renders it. The API server said: {message}"
    )]
    UnknownField {
        /// The object.
        object: String,
        /// The field path, e.g. `.spec.prots`.
        field: String,
        /// The server's message.
        message: String,
    },
    /// The server rejected the object.
    #[error("{object}: the API server rejected it ({code} {reason}): {message}")]
    Rejected {
        /// The object.
        object: String,
        /// HTTP code.
        code: u16,
        /// Reason.
        reason: String,
        /// Message (names the field path for validation errors).
        message: String,
    },
    /// The kind is not served by the cluster.
    #[error(
        "{api_version} {kind} is not served by the cluster at {url}; install its CRD first or fix apiVersion/kind"
    )]
    UnknownKind {
        /// apiVersion.
        api_version: String,
        /// kind.
        kind: String,
        /// Server URL.
        url: String,
    },
    /// Anything else from the client.
    #[error("{what}: {message}")]
    Other {
        /// What was being done.
        what: String,
        /// The message.
        message: String,
    },
}

fn format_conflicts(c: &[FieldConflict]) -> String {
    c.iter()
        .map(|c| format!("  {} (owned by {})", c.field, c.manager))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A resolved resource type.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The resource (group, version, kind, plural).
    pub api: ApiResource,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
}

/// The query of every apply. Field validation is strict, as with `kubectl apply`: the server's
/// default (warn) would drop a misspelt or misplaced field silently, since charter does not
/// print response warnings; strict makes it an error that names the field.
fn apply_params(opts: ApplyOptions) -> PatchParams {
    let mut pp = PatchParams::apply(FIELD_MANAGER);
    pp.force = opts.force;
    pp.dry_run = opts.dry_run;
    pp.field_validation = Some(kube::api::ValidationDirective::Strict);
    pp
}

/// Options of one apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Take fields owned by other managers.
    pub force: bool,
    /// Server-side dry run: nothing is persisted.
    pub dry_run: bool,
}

/// A connection to one cluster. Clones share the connection pool, discovery cache and state.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    /// The API server URL.
    pub url: String,
    /// The kube context used.
    pub context: String,
    /// The user name of the context.
    pub user: String,
    discovery: Arc<RwLock<Option<Arc<Discovery>>>>,
    /// Whether a request has succeeded: until then a connection failure is most likely a
    /// wrong address or a cluster that is down, and retrying long only delays the answer.
    reached: Arc<AtomicBool>,
    /// OpenAPI v3 schemas by group-version path (`api/v1`, `apis/apps/v1`), fetched on first
    /// use; `None` when the server does not serve one.
    schemas: Arc<tokio::sync::Mutex<SchemaCache>>,
}

#[derive(Default)]
struct SchemaCache {
    /// `/openapi/v3`: group-version path -> URL of its document; `None` once it failed.
    index: Option<Option<HashMap<String, String>>>,
    docs: HashMap<String, Option<Arc<openapi::GroupVersionSchemas>>>,
}

/// Which kubeconfig file applies: the flag, else $KUBECONFIG (first existing entry), else
/// ~/.kube/config.
pub fn kubeconfig_path(flag: Option<&Path>) -> Result<PathBuf, ClusterError> {
    if let Some(p) = flag {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(ClusterError::NoKubeconfig {
            looked: p.display().to_string(),
        });
    }
    let mut looked = Vec::new();
    if let Ok(env) = std::env::var("KUBECONFIG") {
        for p in std::env::split_paths(&env) {
            if p.is_file() {
                return Ok(p);
            }
            looked.push(p.display().to_string());
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = PathBuf::from(home).join(".kube/config");
        if p.is_file() {
            return Ok(p);
        }
        looked.push(p.display().to_string());
    }
    Err(ClusterError::NoKubeconfig {
        looked: looked.join(", "),
    })
}

impl Cluster {
    /// Connects using a kubeconfig (see [`kubeconfig_path`]) and an optional context; inside a
    /// Pod without a kubeconfig, uses the in-cluster config.
    pub async fn connect(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> Result<Cluster, ClusterError> {
        install_crypto_provider();
        let path = match kubeconfig_path(kubeconfig) {
            Ok(p) => p,
            Err(e) => {
                if kubeconfig.is_none()
                    && context.is_none()
                    && let Ok(cfg) = kube::Config::incluster()
                {
                    let url = cfg.cluster_url.to_string();
                    let client = client::build(cfg).map_err(|e| ClusterError::Other {
                        what: "in-cluster config".into(),
                        message: e.to_string(),
                    })?;
                    return Ok(Cluster::new(
                        client,
                        url,
                        "in-cluster".into(),
                        "service account".into(),
                    ));
                }
                return Err(e);
            }
        };
        let file = path.display().to_string();
        let kc = Kubeconfig::read_from(&path).map_err(|e| ClusterError::Kubeconfig {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let ctx_name = match context {
            Some(c) => c.to_string(),
            None => kc
                .current_context
                .clone()
                .ok_or_else(|| ClusterError::Kubeconfig {
                    file: file.clone(),
                    message: "no current-context is set; pass --kube-context".into(),
                })?,
        };
        let Some(ctx) = kc.contexts.iter().find(|c| c.name == ctx_name) else {
            let available: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(ClusterError::NoContext {
                context: ctx_name,
                file,
                available: if available.is_empty() {
                    "none".into()
                } else {
                    available.join(", ")
                },
            });
        };
        let user = ctx
            .context
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        let options = KubeConfigOptions {
            context: Some(ctx_name.clone()),
            ..Default::default()
        };
        let cfg = kube::Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(|e| ClusterError::Kubeconfig {
                file: file.clone(),
                message: e.to_string(),
            })?;
        let url = cfg.cluster_url.to_string();
        let client = client::build(cfg).map_err(|e| ClusterError::Kubeconfig {
            file,
            message: e.to_string(),
        })?;
        let cluster = Cluster::new(client, url, ctx_name, user);
        // One cheap request now, so an unreachable server is one clear error up front rather
        // than a failure halfway into whatever the command does first.
        cluster.server_version().await?;
        Ok(cluster)
    }

    fn new(client: kube::Client, url: String, context: String, user: String) -> Cluster {
        Cluster {
            client,
            url: url.trim_end_matches('/').to_string(),
            context,
            user,
            discovery: Arc::new(RwLock::new(None)),
            reached: Arc::new(AtomicBool::new(false)),
            schemas: Arc::default(),
        }
    }

    /// The underlying kube client.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The server's version, e.g. `v1.37.2`.
    pub async fn server_version(&self) -> Result<String, ClusterError> {
        let info = self
            .retry(|| async { self.client.apiserver_version().await })
            .await
            .map_err(|e| self.map_err(e, "get", "version", None, "server version"))?;
        Ok(info.git_version)
    }

    async fn discover(&self, refresh: bool) -> Result<Arc<Discovery>, ClusterError> {
        if !refresh && let Some(d) = self.discovery.read().await.clone() {
            return Ok(d);
        }
        let mut slot = self.discovery.write().await;
        if !refresh && let Some(d) = slot.clone() {
            return Ok(d);
        }
        let d = self
            .retry(|| async {
                match Discovery::new(self.client.clone()).run_aggregated().await {
                    Ok(d) => Ok(d),
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 406 => {
                        Discovery::new(self.client.clone()).run().await
                    }
                    Err(e) => Err(e),
                }
            })
            .await
            .map_err(|e| self.map_err(e, "discover", "API resources", None, "discovery"))?;
        let d = Arc::new(d);
        *slot = Some(d.clone());
        Ok(d)
    }

    /// All API versions the cluster serves (`apps/v1`) and kinds (`apps/v1/Deployment`).
    pub async fn api_versions(&self) -> Result<Vec<String>, ClusterError> {
        let d = self.discover(false).await?;
        let mut out = Vec::new();
        for g in d.groups() {
            for v in g.versions() {
                let gv = if g.name().is_empty() {
                    v.to_string()
                } else {
                    format!("{}/{}", g.name(), v)
                };
                for (ar, _) in g.versioned_resources(v) {
                    out.push(format!("{gv}/{}", ar.kind));
                }
                out.push(gv);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Maps apiVersion + kind to a resource. Refreshes discovery once on a miss, so a CRD
    /// created moments ago is found.
    pub async fn resource(&self, api_version: &str, kind: &str) -> Result<Resource, ClusterError> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        for refresh in [false, true] {
            let d = self.discover(refresh).await?;
            if let Some((ar, caps)) = d.resolve_gvk(&gvk) {
                return Ok(resource_of(ar, &caps));
            }
        }
        Err(ClusterError::UnknownKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            url: self.url.clone(),
        })
    }

    /// Waits until discovery serves apiVersion + kind (a CRD that just became Established can
    /// take a moment to appear in discovery).
    pub async fn await_served(
        &self,
        api_version: &str,
        kind: &str,
        timeout: Duration,
    ) -> Result<(), ClusterError> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.discover(true).await?.resolve_gvk(&gvk).is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    url: self.url.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

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
        let (api_version, kind, ns, name) = identity(obj);
        let res = self.resource(&api_version, &kind).await?;
        let api = self.api(&res, ns.as_deref());
        let pp = apply_params(opts);
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
        let (api_version, kind, ns, name) = identity(obj);
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
                if status.is_server_error() && is_untyped_patch(&String::from_utf8_lossy(&body)) {
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

    /// What the cluster's OpenAPI v3 schema says about `obj`'s fields ([`openapi`]).
    pub async fn verdict(&self, api_version: &str, kind: &str, obj: &Value) -> openapi::Verdict {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if !openapi::is_built_in(group) {
            return openapi::Verdict::Unsure;
        }
        let path = if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        };
        let verdict = match self.group_version_schemas(&path, group, version).await {
            Some(s) => s.check(kind, obj),
            None => openapi::Verdict::Unsure,
        };
        if verdict != openapi::Verdict::Clean {
            tracing::debug!("{kind} ({api_version}): {verdict:?}; the server validates it");
        }
        verdict
    }

    async fn group_version_schemas(
        &self,
        path: &str,
        group: &str,
        version: &str,
    ) -> Option<Arc<openapi::GroupVersionSchemas>> {
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
        let schemas = doc.map(|d| Arc::new(openapi::GroupVersionSchemas::new(d, group, version)));
        cache.docs.insert(path.to_string(), schemas.clone());
        schemas
    }

    /// A GET of a raw path as JSON; `None` on any failure (the caller then falls back).
    async fn get_json(&self, path: &str) -> Option<Value> {
        let req = http::Request::get(path).body(Vec::new()).ok()?;
        let text = self.client.request_text(req).await.ok()?;
        serde_json::from_str(&text).ok()
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
        let res = self.resource(api_version, kind).await?;
        let api = self.api(&res, namespace);
        let items = self
            .paged(
                selector,
                |lp| {
                    let api = &api;
                    async move { api.list(&lp).await }
                },
                |e| self.list_err(e, &res, kind, namespace),
            )
            .await?;
        items
            .into_iter()
            .map(|o| {
                let mut v = serde_json::to_value(o).map_err(|e| ClusterError::Other {
                    what: format!("{kind} list"),
                    message: e.to_string(),
                })?;
                if let Some(m) = v.as_object_mut() {
                    m.insert("apiVersion".into(), Value::String(api_version.to_string()));
                    m.insert("kind".into(), Value::String(kind.to_string()));
                }
                Ok(v)
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
        let res = self.resource(api_version, kind).await?;
        let api = self.api(&res, namespace);
        let items = self
            .paged(
                selector,
                |lp| {
                    let api = &api;
                    async move { api.list_metadata(&lp).await }
                },
                |e| self.list_err(e, &res, kind, namespace),
            )
            .await?;
        Ok(items.into_iter().map(|o| o.metadata).collect())
    }

    /// Runs a list call page by page ([`LIST_PAGE`] objects each), with retries.
    async fn paged<K, F, Fut>(
        &self,
        selector: &str,
        list: F,
        err: impl Fn(kube::Error) -> ClusterError,
    ) -> Result<Vec<K>, ClusterError>
    where
        K: Clone + serde::de::DeserializeOwned,
        F: Fn(ListParams) -> Fut,
        Fut: std::future::Future<Output = Result<kube::core::ObjectList<K>, kube::Error>>,
    {
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
            let page = self.retry(|| list(lp.clone())).await.map_err(&err)?;
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            out.extend(page.items);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    fn list_err(
        &self,
        e: kube::Error,
        res: &Resource,
        kind: &str,
        namespace: Option<&str>,
    ) -> ClusterError {
        self.map_err(
            e,
            "list",
            &res.api.plural,
            namespace,
            &format!("{kind} list"),
        )
    }

    /// Deletes an object with background propagation. Returns false when it was already gone.
    pub async fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<bool, ClusterError> {
        let res = self.resource(api_version, kind).await?;
        let api = self.api(&res, namespace);
        let dp = DeleteParams::background();
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

    /// Whether a resource is namespaced (false for cluster-scoped kinds like Namespace).
    pub async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        Ok(self.resource(api_version, kind).await?.namespaced)
    }

    fn map_err(
        &self,
        e: kube::Error,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        object: &str,
    ) -> ClusterError {
        match e {
            kube::Error::Api(s) => {
                if s.code == 403 {
                    return ClusterError::Forbidden {
                        user: self.user.clone(),
                        verb: verb.to_string(),
                        resource: resource.to_string(),
                        in_ns: namespace
                            .map(|n| format!(" in namespace {n}"))
                            .unwrap_or_default(),
                        message: s.message.clone(),
                    };
                }
                if s.code == 409 && s.reason == "Conflict" && verb == "patch" {
                    let conflicts = parse_conflicts(&s);
                    if !conflicts.is_empty() {
                        return ClusterError::Conflict {
                            object: object.to_string(),
                            conflicts,
                        };
                    }
                }
                if let Some(field) = undeclared_field(&s.message) {
                    return ClusterError::UnknownField {
                        object: object.to_string(),
                        field,
                        message: s.message.clone(),
                    };
                }
                ClusterError::Rejected {
                    object: object.to_string(),
                    code: s.code,
                    reason: s.reason.clone(),
                    message: s.message.clone(),
                }
            }
            e if is_transient(&e) => ClusterError::Unreachable {
                url: self.url.clone(),
                context: self.context.clone(),
                cause: root_cause(&e),
            },
            e => ClusterError::Other {
                what: object.to_string(),
                message: root_cause(&e),
            },
        }
    }
}

fn resource_of(api: ApiResource, caps: &ApiCapabilities) -> Resource {
    Resource {
        api,
        namespaced: caps.scope == Scope::Namespaced,
    }
}

fn identity(obj: &Value) -> (String, String, Option<String>, String) {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let ns = s("/metadata/namespace");
    (
        s("/apiVersion"),
        s("/kind"),
        (!ns.is_empty()).then_some(ns),
        s("/metadata/name"),
    )
}

fn display(kind: &str, ns: Option<&str>, name: &str) -> String {
    match ns {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// Extracts `field (manager)` pairs from an apply conflict: the server lists them in
/// `details.causes` with type `FieldManagerConflict`, message `conflict with "mgr": .spec.x`.
fn parse_conflicts(s: &kube::core::Status) -> Vec<FieldConflict> {
    let mut out = Vec::new();
    if let Some(details) = &s.details {
        for c in &details.causes {
            let msg = c.message.as_str();
            let manager = msg
                .split('"')
                .nth(1)
                .unwrap_or("another manager")
                .to_string();
            let field = if c.field.is_empty() {
                msg.rsplit(": ").next().unwrap_or(msg).to_string()
            } else {
                c.field.clone()
            };
            out.push(FieldConflict { field, manager });
        }
    }
    out
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg = format!("{msg}: {m}");
        }
        src = s.source();
    }
    msg
}

fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || (s.code >= 500 && !is_untyped_patch(&s.message)),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Whether a server error is a server-side apply that cannot be typed against the kind's
/// schema (an undeclared field under strict validation): the API server answers 500, but
/// asking again gives the same answer.
fn is_untyped_patch(message: &str) -> bool {
    message.contains("failed to create typed patch object")
}

/// The field path of a strict-validation refusal, e.g. `.spec.prots` from
/// `... (ns/x; /v1, Kind=Service): .spec.prots: field not declared in schema`, or from
/// `strict decoding error: unknown field "spec.prots"`.
fn undeclared_field(message: &str) -> Option<String> {
    if let Some(end) = message.find(": field not declared in schema") {
        let head = &message[..end];
        let start = head.rfind(": ").map_or(0, |i| i + 2);
        return Some(head[start..].to_string());
    }
    let rest = &message[message.find("unknown field \"")? + "unknown field \"".len()..];
    Some(format!(".{}", &rest[..rest.find('"')?]))
}

/// Objects per list page.
const LIST_PAGE: u32 = 500;

/// How long retries of one call may take in total once the server has answered: an API
/// server restarting mid-operation is back within this.
const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// The same before the server has ever answered.
const FIRST_CONTACT_BUDGET: Duration = Duration::from_secs(3);

impl Cluster {
    /// Runs `f`, retrying with exponential backoff on throttling, server errors and connection
    /// loss, for at most [`RETRY_BUDGET`] ([`FIRST_CONTACT_BUDGET`] before any success).
    pub async fn retry<T, F, Fut>(&self, f: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let budget = if self.reached.load(Ordering::Relaxed) {
            RETRY_BUDGET
        } else {
            FIRST_CONTACT_BUDGET
        };
        let out = retry_for(budget, f).await;
        if out.is_ok() {
            self.reached.store(true, Ordering::Relaxed);
        }
        out
    }
}

/// Runs `f`, retrying transient failures with exponential backoff for at most `budget`.
pub async fn retry_for<T, F, Fut>(budget: Duration, mut f: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match f().await {
            Err(e) if is_transient(&e) && start.elapsed() + delay < budget => {
                tracing::debug!("retrying after transient error: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_validation_refusals_name_the_field_and_are_not_retried() {
        let ssa = "failed to create typed patch object (st1/x-svc; /v1, Kind=Service): .spec.prots: field not declared in schema";
        assert_eq!(undeclared_field(ssa).as_deref(), Some(".spec.prots"));
        let decode = r#"Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.prots""#;
        assert_eq!(undeclared_field(decode).as_deref(), Some(".spec.prots"));
        assert_eq!(undeclared_field("spec.replicas: Invalid value: -1"), None);
        let status = |code, message: &str| {
            kube::Error::Api(Box::new(
                kube::core::Status::failure(message, "InternalError").with_code(code),
            ))
        };
        assert!(!is_transient(&status(500, ssa)));
        assert!(is_transient(&status(500, "etcdserver: leader changed")));
        assert!(is_transient(&status(429, "slow down")));
        assert!(!is_transient(&status(422, "invalid")));
    }
}
