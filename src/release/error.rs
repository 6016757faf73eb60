//! What a release operation reports as it goes, and how it fails.

use super::lock::LockError;
use super::store::StoreError;
use crate::cluster::ClusterError;
use crate::object::ObjectRef;

/// What a release operation reports as it goes; the CLI turns it into a progress bar on a
/// terminal and into one line per change otherwise.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A phase (`applying`, `pruning`, `waiting`, `deleting`) starts over `total` objects.
    Phase(&'static str, usize),
    /// An object was applied.
    Applied(&'a ObjectRef),
    /// An object already held what would be applied; nothing was sent.
    Unchanged(&'a ObjectRef),
    /// An object that left the chart was deleted.
    Pruned(&'a ObjectRef),
    /// An object that left the chart was kept (`charter.dev/resource-policy: keep`).
    Kept(&'a ObjectRef),
    /// An object of an uninstalled release was deleted.
    Deleted(&'a ObjectRef),
    /// A stage of ordered objects starts: its number, weight, what it waits for, and its
    /// objects ([`crate::manifest::order::describe`]).
    Stage(&'a str),
    /// Still waiting: `pending` of `total` objects are not ready (or not gone); one of them,
    /// with the reason.
    Waiting {
        /// Objects not there yet.
        pending: usize,
        /// Objects waited for.
        total: usize,
        /// One pending object and why.
        example: &'a str,
        /// Every pending object with its state and the reason found, for a live table.
        rows: &'a [WaitRow],
    },
    /// Taking the lock found `revision` left pending by an operation that died, and marked it
    /// failed.
    Repaired {
        /// The release.
        release: &'a str,
        /// Its namespace.
        namespace: &'a str,
        /// The revision marked failed.
        revision: u64,
    },
    /// A Helm chart's hooks that this operation does not run (hooks are not run yet): each
    /// as `EVENTS KIND/NAME (TEMPLATE)`.
    HooksNotRun(&'a [String]),
    /// `--wait-for-lock`: another operation holds the release's lock; waiting for it.
    WaitingForLock {
        /// The release.
        release: &'a str,
        /// Its namespace.
        namespace: &'a str,
        /// Who holds the lock.
        holder: &'a str,
        /// Since when (RFC 3339).
        since: &'a str,
    },
    /// `--atomic`: the operation failed with `error`; returning to `revision`.
    RollingBack {
        /// Why the operation failed.
        error: &'a str,
        /// The revision returned to.
        revision: u64,
    },
}

/// An object a wait is still waiting for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitRow {
    /// The object.
    pub item: ObjectRef,
    /// Its state (`1/3 replicas available`, `not found`).
    pub state: String,
    /// Why, when its Pods or Events say (`pod web-7f9: container app: ImagePullBackOff`).
    pub why: Option<String>,
}

/// Where an operation sends its [`Progress`].
pub type Report<'r> = &'r (dyn Fn(Progress<'_>) + Sync);

/// Errors of a release operation.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The cluster failed or refused.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The release history could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The release is locked.
    #[error(transparent)]
    Lock(Box<LockError>),
    /// An object exists and belongs to someone else.
    #[error(
        "{object} already exists and is not owned by release {namespace}/{release} ({owner}); pass --take-ownership to adopt it"
    )]
    NotOwned {
        /// The object.
        object: String,
        /// This release.
        release: String,
        /// Its namespace.
        namespace: String,
        /// Who owns it now.
        owner: String,
    },
    /// A rendered document could not be turned into an object.
    #[error("{source_name}: {message}")]
    Manifest {
        /// The template.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// The ordering annotations of the objects cannot be followed.
    #[error(transparent)]
    Order(#[from] crate::manifest::order::OrderError),
    /// A wait ran out.
    #[error("timed out after {seconds}s waiting for {pending}{details}")]
    Timeout {
        /// The timeout.
        seconds: u64,
        /// What was not ready.
        pending: String,
        /// The Events and last log lines of the failing Pods, each line after a newline.
        details: String,
    },
    /// An object waited for failed and will not become ready without a change (a Job out of
    /// retries, a Deployment past its progress deadline).
    #[error("{object} failed: {why}{details}")]
    Failed {
        /// The object.
        object: String,
        /// Why.
        why: String,
        /// The Events and last log lines of the failing Pods, each line after a newline.
        details: String,
    },
    /// No revision to roll back to.
    #[error(
        "release {namespace}/{release}: {} ; revisions: {available}",
        match asked { Some(n) => format!("revision {n} does not exist"), None => "no earlier deployed revision to roll back to".to_string() }
    )]
    NoRollbackTarget {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
        /// The revision asked for.
        asked: Option<u64>,
        /// The revisions that exist.
        available: String,
    },
    /// The latest revision in Helm's storage is pending and recent: Helm, which takes no lock
    /// charter sees, may still be running.
    #[error(
        "release {namespace}/{release}: revision {revision} in Helm's records is {status} since {age}s ago; a Helm run may still be working on it (Helm takes no lock charter can see). Wait until it finishes, or run again once it is {ttl}s old: charter then takes it as a crashed run, marks it failed and goes on"
    )]
    HelmPending {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
        /// The pending revision.
        revision: u64,
        /// Its status.
        status: String,
        /// How long it has been pending, in seconds.
        age: u64,
        /// The age from which it counts as crashed (the lock TTL), in seconds.
        ttl: u64,
    },
    /// `adopt` of a release already where it would move to.
    #[error("release {namespace}/{release} is already in {storage}; {hint}")]
    AlreadyIn {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
        /// Where it is.
        storage: String,
        /// What to do instead.
        hint: String,
    },
    /// `adopt` of a release whose latest revision is pending.
    #[error(
        "release {namespace}/{release}: revision {revision} is {status}; charter moves a history only when no operation is running. Run `charter rollback {release} -n {namespace}` (or upgrade) to finish it first"
    )]
    AdoptPending {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
        /// The pending revision.
        revision: u64,
        /// Its status.
        status: String,
    },
    /// The release does not exist.
    #[error(
        "release {namespace}/{release} not found; `charter list -n {namespace}` shows the releases there"
    )]
    NotFound {
        /// Release.
        release: String,
        /// Namespace.
        namespace: String,
    },
}

impl From<LockError> for OpError {
    fn from(e: LockError) -> Self {
        OpError::Lock(Box::new(e))
    }
}
