//! The cluster: a kube client with kubeconfig/context selection ([`connect`]), aggregated
//! discovery mapping kinds to resources ([`discovery`]), server-side apply with field manager
//! `charter` and get/list/delete ([`objects`]), errors that say which object, verb or URL and
//! what to do ([`error`]), Pod logs ([`pods`]), and retries with backoff on throttling, server errors and lost
//! connections ([`retry`]: the only retry layer; the client stack under it does not retry).

pub mod client;
mod connect;
mod discovery;
mod error;
mod objects;
pub mod openapi;
pub mod pods;
pub mod readiness;
mod retry;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::discovery::{ApiResource, Discovery};
use tokio::sync::RwLock;

pub use connect::{DEFAULT_REQUEST_TIMEOUT, kubeconfig_path, server_url};
pub use error::{ClusterError, FieldConflict, describe};
pub use objects::{ApplyOptions, Cascade};
pub use retry::retry_for;

/// The field manager charter applies with.
pub const FIELD_MANAGER: &str = "charter";

/// Installs the ring crypto provider as the process default. Call once before any TLS.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A resolved resource type.
#[derive(Debug, Clone)]
pub struct Resource {
    /// The resource (group, version, kind, plural).
    pub api: ApiResource,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
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
    schemas: Arc<tokio::sync::Mutex<openapi::SchemaCache>>,
}

impl Cluster {
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
}
