//! Helpers for the integration tests that run against the test cluster (`scripts/test-cluster`,
//! docs/testcluster.md). Include them from a test crate with `mod support;`.
//!
//! The convention: a test finds its cluster through `CHARTER_TEST_KUBECONFIG` and through
//! nothing else — never `KUBECONFIG` or `~/.kube/config`, so a test run can never touch a real
//! cluster by accident. `scripts/test-cluster up` prints the export line; `scripts/test` sets it.
//! The kubeconfig has two contexts: [`ADMIN_CONTEXT`] (system:masters) and [`USER_CONTEXT`] (an
//! authenticated user with no permissions beyond the defaults, for RBAC tests).
//!
//! Skip or fail: [`cluster_or_skip!`] skips a test (and says so on the terminal) only when
//! `CHARTER_TEST_KUBECONFIG` is unset and `CI` is not `true`. With `CI=true`, or whenever the
//! variable is set, a test that cannot reach its cluster fails. Tests that need the reference
//! helm do the same ([`tools`]). A skip is said with [`say`]: libtest swallows the output of
//! `println!` and `eprintln!` in a passing test.
//!
//! [`cli`] runs the charter binary and writes test files; [`clusters`] starts more clusters.
#![allow(dead_code, unused_macros, unused_imports)]

pub mod cli;
pub mod clusters;
pub mod proxy;
pub mod registry;
pub mod tools;

pub use cli::{charter, root, write};
pub use clusters::ExtraCluster;
pub use tools::{helm, helm_charts_corpus, helm_command, helm3, reference_tools, run_helm};

use std::fmt::Debug;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

/// The only variable tests read to find their cluster.
pub const KUBECONFIG_ENV: &str = "CHARTER_TEST_KUBECONFIG";
/// Context of the admin user (group system:masters).
pub const ADMIN_CONTEXT: &str = "charter-admin";
/// Context of the unprivileged user `charter-user` (no Role or ClusterRole bound).
pub const USER_CONTEXT: &str = "charter-user";
/// User name behind [`USER_CONTEXT`], as RBAC subjects and error messages spell it.
pub const USER_NAME: &str = "charter-user";
/// Names of the fake nodes kwok keeps Ready.
pub const FAKE_NODES: [&str; 2] = ["kwok-node-1", "kwok-node-2"];
/// Label put on every namespace a test creates.
pub const TEST_NAMESPACE_LABEL: &str = "charter.dev/test";
/// Default bound for waits: generous for a loaded 2-core CI machine.
pub const WAIT: Duration = Duration::from_secs(90);

/// Makes rustls use the ring provider for the whole process. Idempotent; call before any TLS
/// (every connect function here does).
pub fn install_crypto_provider() {
    // Err means a provider is already installed: the first one wins, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether a test that cannot reach its cluster must fail rather than skip.
pub fn cluster_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The test kubeconfig from `CHARTER_TEST_KUBECONFIG`, if set and non-empty.
pub fn kubeconfig_path() -> Option<PathBuf> {
    std::env::var_os(KUBECONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Writes straight to the process's stderr: libtest captures `eprintln!` of passing tests,
/// and a skip must be seen.
pub fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// A reachable test cluster.
#[derive(Clone)]
pub struct TestCluster {
    /// The kubeconfig file (pass it to the charter binary as `--kubeconfig`).
    pub kubeconfig: PathBuf,
    /// Client for [`ADMIN_CONTEXT`].
    pub client: Client,
}

impl TestCluster {
    /// Connects to the test cluster, or decides to skip: `Ok(None)` means skip (no cluster
    /// configured, not in CI). `Err` means the test must fail.
    pub async fn connect() -> Result<Option<TestCluster>, String> {
        install_crypto_provider();
        let Some(kubeconfig) = kubeconfig_path() else {
            if cluster_required() {
                return Err(format!(
                    "CI=true but {KUBECONFIG_ENV} is not set: cluster tests must run in CI \
                     (scripts/test brings a cluster up and sets it)"
                ));
            }
            return Ok(None);
        };
        let client = client_for(&kubeconfig, ADMIN_CONTEXT).await?;
        // Prove the cluster answers before any test relies on it.
        match tokio::time::timeout(Duration::from_secs(15), client.apiserver_version()).await {
            Ok(Ok(_)) => Ok(Some(TestCluster { kubeconfig, client })),
            Ok(Err(e)) => Err(format!(
                "test cluster from {KUBECONFIG_ENV}={} does not answer: {e} \
                 (is it up? scripts/test-cluster status)",
                kubeconfig.display()
            )),
            Err(_) => Err(format!(
                "test cluster from {KUBECONFIG_ENV}={} did not answer within 15 s",
                kubeconfig.display()
            )),
        }
    }

    /// [`TestCluster::connect`] for test bodies: panics when the test must fail, prints
    /// "skipped: no test cluster" and returns `None` when it may skip.
    pub async fn connect_or_skip(test: &str) -> Option<TestCluster> {
        match TestCluster::connect().await {
            Ok(Some(cluster)) => Some(cluster),
            Ok(None) => {
                say(&format!(
                    "{test}: skipped: no test cluster (scripts/test-cluster up, then export \
                     {KUBECONFIG_ENV}; see docs/testcluster.md)"
                ));
                None
            }
            Err(e) => panic!("{test}: {e}"),
        }
    }

    /// A client for another context of the test kubeconfig, e.g. [`USER_CONTEXT`].
    pub async fn client_as(&self, context: &str) -> Client {
        client_for(&self.kubeconfig, context)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates a fresh namespace for one test; it is deleted when the guard is dropped (also
    /// when the test panics) or by [`TestNamespace::delete`].
    pub async fn namespace(&self, prefix: &str) -> TestNamespace {
        let name = unique_name(prefix);
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": name, "labels": { TEST_NAMESPACE_LABEL: "true" } }
        }))
        .expect("namespace object");
        api.create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("creating test namespace {name}: {e}"));
        let guard = TestNamespace {
            name: name.clone(),
            kubeconfig: self.kubeconfig.clone(),
            client: self.client.clone(),
            armed: true,
        };
        // Pods are refused until the controller-manager made the namespace's default
        // ServiceAccount; wait for it so tests need not.
        let sa: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &name);
        wait_until(
            &format!("ServiceAccount default in namespace {name}"),
            WAIT,
            || async { sa.get_opt("default").await.ok().flatten() },
        )
        .await;
        guard
    }
}

/// Builds a client for `context` of the kubeconfig file at `path`.
pub async fn client_for(path: &Path, context: &str) -> Result<Client, String> {
    install_crypto_provider();
    let kubeconfig = Kubeconfig::read_from(path)
        .map_err(|e| format!("reading test kubeconfig {}: {e}", path.display()))?;
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..KubeConfigOptions::default()
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| format!("test kubeconfig {} context {context}: {e}", path.display()))?;
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(60));
    Client::try_from(config).map_err(|e| format!("client for context {context}: {e}"))
}

/// Connects to the test cluster or returns from the calling test:
/// `let cluster = cluster_or_skip!();`. See the module docs for when it skips.
macro_rules! cluster_or_skip {
    () => {
        match $crate::support::TestCluster::connect_or_skip($crate::support::test_name!()).await {
            Some(cluster) => cluster,
            None => return,
        }
    };
}
pub(crate) use cluster_or_skip;

/// The path of the enclosing test function, e.g. `cluster_smoke::dry_run_works`.
macro_rules! test_name {
    () => {{
        fn f() {}
        fn name_of<T>(_: T) -> &'static str {
            std::any::type_name::<T>()
        }
        let name = name_of(f);
        let name = name.strip_suffix("::f").unwrap_or(name);
        name.trim_end_matches("::{{closure}}")
    }};
}
pub(crate) use test_name;

/// A DNS-1123 label unique across tests and test processes: `<prefix>-<pid>-<n>-<time>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(30)
        .collect();
    let prefix = prefix.trim_matches('-');
    let prefix = if prefix.is_empty() { "t" } else { prefix };
    format!("{prefix}-{:x}-{n}-{:x}", std::process::id(), nanos)
}

/// A namespace owned by one test. Dropping it deletes the namespace (from a separate thread
/// with its own runtime, so it also works while a test unwinds); [`TestNamespace::delete`]
/// does the same from async code and reports errors.
pub struct TestNamespace {
    pub name: String,
    kubeconfig: PathBuf,
    client: Client,
    armed: bool,
}

impl TestNamespace {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the namespace now (without waiting for it to finalize).
    pub async fn delete(mut self) {
        self.armed = false;
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.delete(&self.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(e) => panic!("deleting test namespace {}: {e}", self.name),
        }
    }

    /// Stops the guard from deleting the namespace (the test deletes it itself).
    pub fn disarm(mut self) -> String {
        self.armed = false;
        std::mem::take(&mut self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let name = std::mem::take(&mut self.name);
        let kubeconfig = self.kubeconfig.clone();
        // The test's client is bound to the test's runtime, which is blocked in this drop: use
        // a new runtime and a new client on another thread.
        let result = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let client = client_for(&kubeconfig, ADMIN_CONTEXT).await?;
                let api: Api<Namespace> = Api::all(client);
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
                    Err(e) => Err(format!("deleting test namespace {name}: {e}")),
                }
            })
        })
        .join();
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => say(&format!("warning: {e}")),
            Err(_) => say("warning: test namespace cleanup thread panicked"),
        }
    }
}

/// Polls `probe` every 200 ms until it returns `Some`, and returns that value; panics naming
/// `what` after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Like [`wait_until`], but `probe` also says what it saw last, for the panic message.
pub async fn wait_for<T, S: Debug, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, S>>,
{
    let start = Instant::now();
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for {what}; last seen: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the named object no longer exists (404).
pub async fn wait_gone<K>(api: &Api<K>, name: &str, timeout: Duration)
where
    K: kube::Resource + Clone + Debug + serde::de::DeserializeOwned,
{
    wait_for(&format!("{name} to be deleted"), timeout, || async {
        match api.get_opt(name).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err("still exists".to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// Whether a Pod is Running with condition Ready=True.
pub fn pod_ready(pod: &Pod) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    status.phase.as_deref() == Some("Running")
        && status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Waits until `count` Pods match `selector` in the API's namespace and all are Ready;
/// returns them.
pub async fn wait_pods_ready(
    api: &Api<Pod>,
    selector: &str,
    count: usize,
    timeout: Duration,
) -> Vec<Pod> {
    wait_for(
        &format!("{count} Ready pods with {selector}"),
        timeout,
        || async {
            let pods = match api.list(&ListParams::default().labels(selector)).await {
                Ok(pods) => pods,
                Err(e) => return Err(vec![e.to_string()]),
            };
            let seen: Vec<String> = pods
                .items
                .iter()
                .map(|p| {
                    format!(
                        "{} phase={:?} node={:?} ready={}",
                        p.metadata.name.as_deref().unwrap_or("?"),
                        p.status.as_ref().and_then(|s| s.phase.clone()),
                        p.spec.as_ref().and_then(|s| s.node_name.clone()),
                        pod_ready(p)
                    )
                })
                .collect();
            if pods.items.len() == count && pods.items.iter().all(pod_ready) {
                Ok(pods.items)
            } else {
                Err(seen)
            }
        },
    )
    .await
}

/// The `Status` inside an API error, or a panic that shows what came instead.
pub fn api_status<T: Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        Err(other) => panic!("expected an API error status, got another error: {other:?}"),
        Ok(v) => panic!("expected an API error, but the request succeeded: {v:?}"),
    }
}
