//! Actions: what each command does, between the command line and the library. A command's
//! flags become a typed request once, in `cli`; an action takes the request, drives the
//! pipeline (chart → values → render → manifest → diff → cluster → release) and returns a
//! typed result, which `cli` prints. Nothing here parses flags or prints.
//!
//! | action | requests and results |
//! |---|---|
//! | [`template`] | render a target offline; `values` with provenance |
//! | [`lint`] | a chart's structure, or every target of a deploy tree |
//! | [`install`] | install and upgrade (one engine; the mode says which), dry runs, `--atomic` |
//! | [`rollback`], [`uninstall`] | release operations on recorded revisions |
//! | [`query`] | history, get, status, list: lock-free reads of release records |
//! | [`diff`] | what an install/upgrade of one target would change, and drift |
//! | [`plan`], [`apply`] | a whole deploy tree: a typed plan file, and applying it in waves |
//! | [`fleet`], [`gate`] | many targets at once within bounds; the checks between waves |
//! | [`repo`] | packages, repositories, search, pull, dependencies |
//! | [`registry`] | push to OCI registries, registry logins |
//! | [`show`] | a chart's Chart.yaml, values.yaml, README or CRDs |
//! | [`create`] | a new chart |
//!
//! Charts are resolved (a repository chart downloaded, an `oci://` chart pulled) before any
//! async runtime starts ([`prepare`]); the cluster part of an action then runs on one runtime
//! ([`runtime`]). Registry access refuses to run inside the runtime.

pub mod adopt;
pub mod apply;
pub mod create;
pub mod diff;
pub mod env;
pub mod fleet;
pub mod gate;
pub mod install;
pub mod lint;
pub mod plan;
pub mod prepare;
pub mod query;
pub mod registry;
pub mod repo;
pub mod rollback;
pub mod show;
pub mod template;
pub mod test;
pub mod uninstall;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::OnceCell;

pub use prepare::{ChartRequest, Detail, Prepared, Source};

use crate::cluster::{Cluster, ClusterError};
use crate::deploy::{self, Target, TargetError};
use crate::release::lock::LockError;
use crate::release::record::ReleaseRecord;
use crate::release::session::{deployed, next_revision};
use crate::release::{ClusterStore, LockOptions, OpError, Session, StoreError};
use crate::render::{Capabilities, LookupFn, ReleaseInfo, RenderError, RenderOptions};

/// Why an action failed. Every message names the file, flag, object or release concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request that cannot be carried out as given (names the flag or argument).
    #[error("{0}")]
    Invalid(String),
    /// A deploy tree.
    #[error(transparent)]
    Target(Box<TargetError>),
    /// A chart, its repository or its download.
    #[error(transparent)]
    Repo(Box<crate::repo::RepoError>),
    /// A chart on disk.
    #[error(transparent)]
    Chart(Box<crate::chart::ChartError>),
    /// An OCI registry.
    #[error(transparent)]
    Oci(Box<crate::oci::OciError>),
    /// Values files and flags.
    #[error(transparent)]
    Values(Box<crate::values::ValuesError>),
    /// A `--set*` flag.
    #[error(transparent)]
    Set(Box<crate::values::SetError>),
    /// Values the chart's schema rejects.
    #[error(transparent)]
    Schema(Box<crate::values::SchemaErrors>),
    /// Rendering.
    #[error(transparent)]
    Render(Box<RenderError>),
    /// The cluster.
    #[error(transparent)]
    Cluster(Box<ClusterError>),
    /// A release operation.
    #[error(transparent)]
    Release(Box<OpError>),
    /// The release records.
    #[error(transparent)]
    Store(Box<StoreError>),
    /// A file could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// `--atomic`: the deploy failed, and was rolled back (or the failed install removed).
    #[error(
        "{error}. {}",
        match rolled_back_to {
            Some(n) => format!("Rolled back to revision {n} (--atomic)"),
            None => "The failed install was removed (--atomic)".to_string(),
        }
    )]
    Atomic {
        /// Why the deploy failed.
        error: Box<OpError>,
        /// The revision returned to; `None` when a failed install was removed.
        rolled_back_to: Option<u64>,
    },
    /// `--cleanup-on-fail`: the upgrade failed, and the objects it created were deleted.
    #[error("{error}. {cleanup} (--cleanup-on-fail)")]
    CleanedUp {
        /// Why the upgrade failed.
        error: Box<OpError>,
        /// What was deleted, or why not all of it.
        cleanup: String,
    },
    /// A signal stopped the operation (exit code 130 or 143).
    #[error(
        "interrupted by {}: {what}",
        signal.name()
    )]
    Interrupted {
        /// The signal.
        signal: crate::interrupt::Signal,
        /// What was left behind: the revision marked failed, the lock released.
        what: String,
    },
    /// The same error, inside one target of a deploy tree.
    #[error("target {name} ({}): {source}", dir.display())]
    InTarget {
        /// The target's name below its stack root.
        name: String,
        /// Its directory.
        dir: PathBuf,
        /// What failed.
        source: Box<Error>,
    },
}

/// Library errors become action errors boxed: the enum stays small for the `Result`s that
/// carry it.
macro_rules! boxed_from {
    ($($variant:ident: $ty:ty),* $(,)?) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Error {
                Error::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from! {
    Target: TargetError,
    Repo: crate::repo::RepoError,
    Chart: crate::chart::ChartError,
    Oci: crate::oci::OciError,
    Values: crate::values::ValuesError,
    Set: crate::values::SetError,
    Schema: crate::values::SchemaErrors,
    Render: RenderError,
    Cluster: ClusterError,
    Release: OpError,
    Store: StoreError,
}

impl Error {
    /// An I/O error, naming what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// Where actions send warnings: input that works but deserves a note (an ignored `--set`
/// form, a scalar replacing a map default). The CLI prints them on stderr, once each; without a
/// sink they are dropped.
#[derive(Clone, Default)]
pub struct Warnings(Option<Arc<WarningSink>>);

type WarningSink = dyn Fn(&str) + Send + Sync;

impl Warnings {
    /// Warnings sent to `sink`.
    pub fn to(sink: impl Fn(&str) + Send + Sync + 'static) -> Warnings {
        Warnings(Some(Arc::new(sink)))
    }

    /// Sends one warning.
    pub fn warn(&self, message: &str) {
        if let Some(sink) = &self.0 {
            sink(message);
        }
    }
}

impl std::fmt::Debug for Warnings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Warnings(sink)"
        } else {
            "Warnings(dropped)"
        })
    }
}

/// The flags of every command that actions read: which cluster and which namespace.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    /// `--kubeconfig` (default: the target's charter.yaml `kubeconfig`, else $KUBECONFIG,
    /// else ~/.kube/config).
    pub kubeconfig: Option<PathBuf>,
    /// `--kube-context`.
    pub kube_context: Option<String>,
    /// `-n/--namespace` (default: the target's charter.yaml, else `default`).
    pub namespace: Option<String>,
    /// Where warnings go.
    pub warnings: Warnings,
    /// `--request-timeout`: how long connecting to the API server and its first answer may
    /// take (default [`crate::cluster::DEFAULT_REQUEST_TIMEOUT`]).
    pub request_timeout: Option<std::time::Duration>,
    /// Connections the targets of one `plan` or `apply` share (see [`Connections`]); `None`
    /// connects afresh each time.
    pub connections: Option<Connections>,
}

/// One connection per kubeconfig and context, shared by the targets of a deploy tree: the TLS
/// handshake, `/version` and discovery are paid once per cluster instead of once per target.
/// A client's connections live on the runtime they were made on, so one of these belongs to
/// one runtime ([`Connections::on`]) and is dropped with it.
#[derive(Clone, Default)]
pub struct Connections(Arc<std::sync::Mutex<HashMap<ConnectionKey, Arc<OnceCell<Cluster>>>>>);

type ConnectionKey = (Option<PathBuf>, Option<String>);

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connections")
    }
}

impl Connections {
    /// `globals` with a fresh set of shared connections, for work on one runtime.
    pub fn on(globals: &Globals) -> Globals {
        Globals {
            connections: Some(Connections::default()),
            ..globals.clone()
        }
    }

    /// The slot of one kubeconfig and context: whoever comes first connects, the others wait
    /// for it. A failed connect leaves the slot empty, so the next target tries again and
    /// reports its own error.
    fn slot(&self, key: ConnectionKey) -> Arc<OnceCell<Cluster>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().clone()
    }
}

/// A release named on the command line: `RELEASE` (with `-n`), or a deploy-tree target
/// directory, which names the release, its namespace and its kube context.
#[derive(Debug, Clone)]
pub struct ReleaseRef {
    /// The release name.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// The deploy-tree target, when one was named.
    pub target: Option<Target>,
}

impl ReleaseRef {
    /// Reads `arg` as a deploy-tree directory if it is one, else as a release name.
    pub fn from_arg(globals: &Globals, arg: &str) -> Result<ReleaseRef, Error> {
        let path = Path::new(arg);
        if path.is_dir() && deploy::is_in_deploy_tree(path) {
            let t = deploy::resolve(path)?;
            let namespace = globals
                .namespace
                .clone()
                .or_else(|| t.namespace.clone())
                .unwrap_or_else(|| "default".into());
            return Ok(ReleaseRef {
                release: t.release.clone(),
                namespace,
                target: Some(t),
            });
        }
        prepare::validate_release_name(arg)?;
        Ok(ReleaseRef {
            release: arg.to_string(),
            namespace: globals
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            target: None,
        })
    }
}

/// The async runtime an action's cluster work runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::io("cannot start the async runtime"))
}

/// Connects to the cluster of the flags, else of the target's charter.yaml.
pub async fn connect(globals: &Globals, target: Option<&Target>) -> Result<Cluster, Error> {
    let context = globals
        .kube_context
        .clone()
        .or_else(|| target.and_then(|t| t.kube_context.clone()));
    let kubeconfig = globals
        .kubeconfig
        .clone()
        .or_else(|| target.and_then(|t| t.kubeconfig.clone()));
    let timeout = globals
        .request_timeout
        .unwrap_or(crate::cluster::DEFAULT_REQUEST_TIMEOUT);
    let fresh = || Cluster::connect_within(kubeconfig.as_deref(), context.as_deref(), timeout);
    match &globals.connections {
        Some(shared) => {
            let slot = shared.slot((kubeconfig.clone(), context.clone()));
            Ok(slot.get_or_try_init(fresh).await?.clone())
        }
        None => Ok(fresh().await?),
    }
}

/// What an operation was about to do in a namespace that turned out not to exist, which
/// decides what the message suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InMissingNamespace {
    /// Install a release: `--create-namespace` creates it.
    Install,
    /// Upgrade a release, which therefore does not exist either.
    Upgrade,
    /// Act on an existing release: it is not found.
    Release,
}

/// Starts an operation on a release: its lock taken and its history read. A namespace that
/// does not exist is said so plainly, naming the cluster, with what to do.
pub async fn begin<'c>(
    cluster: &'c Cluster,
    store: &'c dyn crate::release::ReleaseStore,
    namespace: &str,
    release: &str,
    lock: &crate::release::LockOptions,
    report: crate::release::Report<'_>,
    doing: InMissingNamespace,
) -> Result<crate::release::Session<'c>, Error> {
    match crate::release::begin(cluster, store, namespace, release, lock, report).await {
        Ok(s) => Ok(s),
        Err(OpError::Lock(e)) if matches!(*e, LockError::NoNamespace { .. }) => {
            Err(missing_namespace(cluster, namespace, release, doing))
        }
        Err(e) => Err(e.into()),
    }
}

/// The error for a namespace that does not exist.
pub fn missing_namespace(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
    doing: InMissingNamespace,
) -> Error {
    let missing = format!(
        "namespace `{namespace}` does not exist in the cluster at {} (context {})",
        cluster.url, cluster.context
    );
    Error::Invalid(match doing {
        InMissingNamespace::Install => {
            format!(
                "{missing}: pass --create-namespace to create it, or install into another -n NAMESPACE"
            )
        }
        InMissingNamespace::Upgrade => format!(
            "release {namespace}/{release} not found: {missing}; `charter upgrade --install --create-namespace` installs it and creates the namespace"
        ),
        InMissingNamespace::Release => {
            format!("release {namespace}/{release} not found: {missing}")
        }
    })
}

/// Runs `op` on an operation of release `release` in `namespace`: its lock taken (and released
/// afterwards whatever `op` returns), its history read, through the cluster's release store.
/// A namespace that does not exist is said so as `doing` decides ([`begin`]). A signal
/// (SIGINT, SIGTERM) stops `op` where it stands — in the middle of applying or waiting — and
/// the revision it left pending is marked failed before the lock is released; a second signal
/// ends the process at once ([`crate::interrupt`]).
pub async fn in_session<T>(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
    lock: &LockOptions,
    report: crate::release::Report<'_>,
    doing: InMissingNamespace,
    op: impl AsyncFnOnce(&mut Session<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let store = ClusterStore::new(cluster);
    let mut session = begin(cluster, &store, namespace, release, lock, report, doing).await?;
    let outcome = tokio::select! {
        // Work that is done wins over a signal that arrived at the same moment.
        biased;
        r = op(&mut session) => Ok(r),
        signal = crate::interrupt::wait() => Err(signal),
    };
    let result = match outcome {
        Ok(r) => r,
        Err(signal) => {
            let release = format!("{}/{}", session.namespace, session.release);
            let what = match session.interrupted(signal.name()).await {
                Ok(Some(n)) => format!(
                    "revision {n} of release {release} marked failed, its lock released; objects applied until then stay as they are (`charter status`, then upgrade or roll back)"
                ),
                Ok(None) => format!("release {release}: its lock released"),
                Err(e) => format!(
                    "release {release}: the pending revision could not be marked failed ({e}); the next operation on it does that. Its lock released"
                ),
            };
            Err(Error::Interrupted { signal, what })
        }
    };
    session.finish().await;
    result
}

/// Runs `op` on an operation of the existing release `r`, on a runtime of its own: connected
/// to the release's cluster, then [`in_session`].
pub fn on_release<T>(
    globals: &Globals,
    r: &ReleaseRef,
    lock: &LockOptions,
    report: crate::release::Report<'_>,
    op: impl AsyncFnOnce(&mut Session<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    runtime()?.block_on(async {
        let cluster = connect(globals, r.target.as_ref()).await?;
        let doing = InMissingNamespace::Release;
        in_session(&cluster, &r.namespace, &r.release, lock, report, doing, op).await
    })
}

/// What the cluster serves, for `capabilities` in templates.
pub async fn capabilities(cluster: &Cluster) -> Result<Capabilities, Error> {
    Ok(Capabilities {
        kube_version: cluster.server_version().await?,
        api_versions: cluster.api_versions().await?,
        from_cluster: true,
    })
}

/// The render options of the next revision of `p`'s release, whose revisions are `history`:
/// its revision number, install or upgrade, the generated values of the deployed revision,
/// the cluster's capabilities and live `lookup`. Install, upgrade, their server dry run and
/// `charter diff` all render with these, so they render the same objects.
pub async fn next_revision_options(
    cluster: &Cluster,
    p: &Prepared,
    history: &[ReleaseRecord],
    notes: bool,
) -> Result<RenderOptions, Error> {
    let deployed = deployed(history);
    let exists = deployed.is_some();
    Ok(RenderOptions {
        release: Some(ReleaseInfo {
            name: p.release.clone(),
            namespace: p.namespace.clone(),
            revision: next_revision(history),
            is_install: !exists,
            is_upgrade: exists,
            service: "charter",
        }),
        target: p.target_info(),
        capabilities: capabilities(cluster).await?,
        previous_generated: deployed.map(|r| r.generated.clone()).unwrap_or_default(),
        notes,
        lookup: Some(live_lookup(cluster)),
    })
}

/// `lookup` for templates rendered for a cluster: reads the live object (or, with an empty
/// name, lists them as `{items: [...]}`) while the chart renders. Template functions are
/// synchronous, so the request runs on the runtime from a thread allowed to block.
pub fn live_lookup(cluster: &Cluster) -> LookupFn {
    let cluster = cluster.clone();
    let handle = tokio::runtime::Handle::current();
    Arc::new(
        move |api_version: &str, kind: &str, namespace: &str, name: &str| {
            let ns = (!namespace.is_empty()).then_some(namespace);
            let fetch = async {
                if name.is_empty() {
                    let items = cluster
                        .list(api_version, kind, ns, "")
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(Some(serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "List",
                        "items": items,
                    })))
                } else {
                    cluster
                        .get(api_version, kind, ns, name)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            match tokio::runtime::Handle::try_current() {
                Ok(_) => tokio::task::block_in_place(|| handle.block_on(fetch)),
                Err(_) => handle.block_on(fetch),
            }
        },
    )
}

/// Every target below a deploy-tree directory; none is an error naming the directory.
pub fn leaves(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let leaves = deploy::leaves(dir)?;
    if leaves.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no targets below it (a target is a leaf directory with a values.yaml or charter.yaml)",
            dir.display()
        )));
    }
    Ok(leaves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// An API server that answers `/version` only, over plain HTTP with keep-alive, counting
    /// the connections it accepts and the requests it answers.
    fn version_server() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (conns, reqs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (c, r) = (conns.clone(), reqs.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                c.fetch_add(1, Ordering::SeqCst);
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut out = stream.try_clone().unwrap();
                    let mut lines = BufReader::new(stream);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line != "\r\n" {
                            continue;
                        }
                        r.fetch_add(1, Ordering::SeqCst);
                        let body = r#"{"major":"1","minor":"33","gitVersion":"v1.33.9","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":""}"#;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        if out.write_all(format!("{head}{body}").as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, conns, reqs)
    }

    fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  context:\n    cluster: k\n    user: u\nusers:\n- name: u\n  user: {{}}\n"
            ),
        )
        .unwrap();
        path
    }

    /// Connects `n` targets at once, as a plan's pool does.
    fn connect_many(globals: &Globals, n: usize) -> Vec<Result<Cluster, Error>> {
        runtime().unwrap().block_on(futures::future::join_all(
            (0..n).map(|_| connect(globals, None)),
        ))
    }

    #[test]
    fn targets_of_one_plan_share_one_connection_and_one_first_contact() {
        let (url, conns, reqs) = version_server();
        let dir = tempfile::tempdir().unwrap();
        let plain = Globals {
            kubeconfig: Some(kubeconfig(dir.path(), &url)),
            ..Globals::default()
        };
        assert!(connect_many(&plain, 4).iter().all(Result::is_ok));
        assert_eq!(
            reqs.load(Ordering::SeqCst),
            4,
            "without sharing, each connects"
        );
        assert_eq!(conns.load(Ordering::SeqCst), 4);

        let shared = Connections::on(&plain);
        let clusters = connect_many(&shared, 4);
        assert_eq!(
            reqs.load(Ordering::SeqCst),
            5,
            "shared: one /version for all four"
        );
        assert_eq!(conns.load(Ordering::SeqCst), 5);
        assert!(
            clusters
                .iter()
                .all(|c| c.as_ref().is_ok_and(|c| c.url == url))
        );
    }

    #[test]
    fn a_failed_connect_is_not_kept_and_each_target_reports_its_own_error() {
        // A port nobody listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let globals = Connections::on(&Globals {
            kubeconfig: Some(kubeconfig(dir.path(), &format!("http://127.0.0.1:{port}"))),
            request_timeout: Some(std::time::Duration::from_secs(2)),
            ..Globals::default()
        });
        let results = connect_many(&globals, 2);
        assert!(results.iter().all(Result::is_err));
        let Some(shared) = &globals.connections else {
            panic!("Connections::on sets the connections")
        };
        let slot = shared.slot((globals.kubeconfig.clone(), None));
        assert!(!slot.initialized(), "a failure must not be shared");
    }
}
