//! Release operations against a cluster: take the release's lock, read its history, apply a
//! rendered revision in dependency order with ownership metadata, prune what left the chart,
//! and record every state change as a release record.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{Value, json};

use super::kube_store::{KubeStoreError, SecretStore};
use super::live::{LiveIndex, LiveObject, Lookup, covers};
use super::lock::{self, Acquired, LockError, LockGuard};
use super::record::{
    ChartRef, InventoryItem, RECORD_API_VERSION, ReleaseRecord, Status, TargetRef,
};
use crate::cluster::readiness::{Readiness, readiness};
use crate::cluster::{ApplyOptions, Cluster, ClusterError};
use crate::manifest::{self, Manifest};

/// Annotation naming the release that owns an object.
pub const ANNOTATION_RELEASE: &str = "charter.dev/release-name";
/// Annotation naming the owning release's namespace.
pub const ANNOTATION_RELEASE_NS: &str = "charter.dev/release-namespace";
/// Label on every object charter applies, for listing a release's objects by selector.
pub const LABEL_RELEASE: &str = "charter.dev/release";
/// Annotation that keeps an object when it leaves the chart (`keep`).
pub const ANNOTATION_POLICY: &str = "charter.dev/resource-policy";

/// What a release operation reports as it goes; the CLI turns it into a progress bar on a
/// terminal and into one line per change otherwise.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A phase (`applying`, `pruning`, `waiting`, `deleting`) starts over `total` objects.
    Phase(&'static str, usize),
    /// An object was applied.
    Applied(&'a InventoryItem),
    /// An object already held what would be applied; nothing was sent.
    Unchanged(&'a InventoryItem),
    /// An object that left the chart was deleted.
    Pruned(&'a InventoryItem),
    /// An object that left the chart was kept (`charter.dev/resource-policy: keep`).
    Kept(&'a InventoryItem),
    /// An object of an uninstalled release was deleted.
    Deleted(&'a InventoryItem),
    /// Still waiting: `pending` of `total` objects are not ready (or not gone); one of them,
    /// with the reason.
    Waiting {
        /// Objects not there yet.
        pending: usize,
        /// Objects waited for.
        total: usize,
        /// One pending object and why.
        example: &'a str,
    },
}

/// Where an operation sends its [`Progress`].
pub type Report<'r> = &'r (dyn Fn(Progress<'_>) + Sync);

/// How many objects of one phase are applied at once.
const PARALLEL_APPLIES: usize = 16;

/// Errors of a release operation.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The cluster failed or refused.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The release history could not be read or written.
    #[error(transparent)]
    Store(#[from] KubeStoreError),
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
    /// A wait ran out.
    #[error("timed out after {seconds}s waiting for {pending}")]
    Timeout {
        /// The timeout.
        seconds: u64,
        /// What was not ready.
        pending: String,
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

/// An operation in progress: the lock is held and the history is read.
pub struct Session<'c> {
    cluster: &'c Cluster,
    store: SecretStore<'c>,
    guard: Option<LockGuard>,
    /// The release name.
    pub release: String,
    /// The namespace.
    pub namespace: String,
    /// Every revision, oldest first.
    pub history: Vec<ReleaseRecord>,
    /// A stale pending revision that was marked failed on taking over an expired lock.
    pub repaired: Option<u64>,
}

/// How to take the release's lock.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// Who is operating (shown to a blocked second operation).
    pub holder: String,
    /// Lease TTL: a crashed operation's lock frees after this.
    pub ttl: Duration,
    /// Wait this long for a held lock instead of failing at once.
    pub wait: Option<Duration>,
}

/// Starts an operation: takes the lock, reads the history, and repairs a stale pending
/// revision left by a run that died.
pub async fn begin<'c>(
    cluster: &'c Cluster,
    namespace: &str,
    release: &str,
    lock_opts: &LockOptions,
) -> Result<Session<'c>, OpError> {
    let (guard, acquired) = lock::acquire(
        cluster.client(),
        namespace,
        release,
        &lock_opts.holder,
        lock_opts.ttl,
        lock_opts.wait,
    )
    .await?;
    let store = SecretStore::new(cluster, namespace);
    let mut history = store.history(release).await?;
    let mut repaired = None;
    if let Some(last) = history.last_mut()
        && last.status.is_pending()
    {
        let who = match &acquired {
            Acquired::TookOver { holder } => format!("`{holder}`"),
            Acquired::Fresh => "an earlier run".to_string(),
        };
        last.description = format!(
            "{} (stale: the operation by {who} stopped without finishing; marked failed by the next run)",
            last.description
        );
        last.status = Status::Failed;
        store.put(last).await?;
        repaired = Some(last.revision);
    }
    Ok(Session {
        cluster,
        store,
        guard: Some(guard),
        release: release.to_string(),
        namespace: namespace.to_string(),
        history,
        repaired,
    })
}

/// What to deploy.
pub struct Deploy {
    /// The revision number (from [`Session::next_revision`]).
    pub revision: u64,
    /// Set when this deploy rolls back to that revision.
    pub rollback_of: Option<u64>,
    /// Chart metadata.
    pub chart: ChartRef,
    /// The merged values.
    pub values: Value,
    /// The user-supplied values.
    pub user_values: Value,
    /// Layers used.
    pub layers: Vec<String>,
    /// Target.
    pub target: Option<TargetRef>,
    /// CRDs from `crds/`.
    pub crds: Vec<Manifest>,
    /// Objects in install order.
    pub manifests: Vec<Manifest>,
    /// Rendered notes.
    pub notes: String,
    /// Generated values.
    pub generated: std::collections::BTreeMap<String, String>,
    /// Description to record.
    pub description: Option<String>,
    /// Adopt existing objects not owned by this release.
    pub take_ownership: bool,
    /// Take fields owned by other managers.
    pub force_conflicts: bool,
    /// Wait for readiness, up to this long.
    pub wait: Option<Duration>,
    /// Keep at most this many revisions.
    pub history_max: usize,
}

/// One object of a deploy, ready to apply.
pub struct Desired {
    /// The object with ownership metadata.
    pub obj: Value,
    /// Its inventory entry.
    pub item: InventoryItem,
    /// Rendered exactly as in the last revision.
    pub same_render: bool,
}

/// apiVersion, kind, namespace as written (may be empty), name of a rendered document.
pub type RenderKey = (String, String, String, String);

fn render_key(m: &Manifest) -> RenderKey {
    (
        m.header.api_version.clone(),
        m.header.kind.clone(),
        m.header.namespace.clone().unwrap_or_default(),
        m.header.name.clone(),
    )
}

/// A revision's rendered objects by identity, for spotting unchanged ones. A revision that
/// cannot be read back gives none: everything is applied.
pub fn rendered_objects(record: &ReleaseRecord) -> HashMap<RenderKey, Value> {
    let Ok(manifests) = manifests_of(record) else {
        return HashMap::new();
    };
    manifests
        .iter()
        .filter_map(|m| {
            let obj = crate::yaml::parse_str(m.text(), &m.source).ok()?;
            Some((render_key(m), obj))
        })
        .collect()
}

/// The objects a stored revision applied, parsed back from its manifest.
pub fn manifests_of(record: &ReleaseRecord) -> Result<Vec<Manifest>, OpError> {
    let source: std::sync::Arc<str> =
        std::sync::Arc::from(format!("{} revision {}", record.name, record.revision));
    let text = std::sync::Arc::new(record.manifest.clone());
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

/// A deploy that returns to `target`'s manifest and values as revision `revision`.
pub fn rollback_deploy(
    target: &ReleaseRecord,
    revision: u64,
    wait: Option<Duration>,
    force_conflicts: bool,
    history_max: usize,
) -> Result<Deploy, OpError> {
    Ok(Deploy {
        revision,
        rollback_of: Some(target.revision),
        chart: target.chart.clone(),
        values: target.values.clone(),
        user_values: target.user_values.clone(),
        layers: target.layers.clone(),
        target: target.target.clone(),
        crds: Vec::new(),
        manifests: manifests_of(target)?,
        notes: target.notes.clone(),
        generated: target.generated.clone(),
        description: None,
        take_ownership: false,
        force_conflicts,
        wait,
        history_max,
    })
}

/// How objects are applied.
struct ApplyHow {
    take_ownership: bool,
    force_conflicts: bool,
    wait: Option<Duration>,
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl<'c> Session<'c> {
    /// The revision the next operation writes.
    pub fn next_revision(&self) -> u64 {
        self.history.last().map_or(1, |r| r.revision + 1)
    }

    /// The revision currently deployed, if any.
    pub fn deployed(&self) -> Option<&ReleaseRecord> {
        self.history
            .iter()
            .rev()
            .find(|r| r.status == Status::Deployed)
    }

    /// Whether the release has a revision that is not uninstalled.
    pub fn exists(&self) -> bool {
        self.history.iter().any(|r| r.status != Status::Uninstalled)
    }

    /// The revision a rollback returns to: `revision` when given (it must exist), else the
    /// last deployed revision when the latest one failed or never finished, else the most
    /// recent earlier revision that was deployed.
    pub fn rollback_target(&self, revision: Option<u64>) -> Result<&ReleaseRecord, OpError> {
        let none = || OpError::NoRollbackTarget {
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            asked: revision,
            available: self
                .history
                .iter()
                .map(|r| format!("{} ({})", r.revision, r.status))
                .collect::<Vec<_>>()
                .join(", "),
        };
        if let Some(n) = revision {
            return self
                .history
                .iter()
                .find(|r| r.revision == n)
                .ok_or_else(none);
        }
        let latest = self.history.last().ok_or_else(none)?;
        if latest.status != Status::Deployed
            && let Some(d) = self.deployed()
        {
            return Ok(d);
        }
        self.history
            .iter()
            .rev()
            .filter(|r| r.revision < latest.revision)
            .find(|r| {
                matches!(
                    r.status,
                    Status::Superseded | Status::Deployed | Status::Uninstalled
                )
            })
            .or_else(|| (latest.status == Status::Uninstalled).then_some(latest))
            .ok_or_else(none)
    }

    /// Reads the history again (after a failed operation wrote to it).
    pub async fn refresh(&mut self) -> Result<(), OpError> {
        self.history = self.store.history(&self.release).await?;
        Ok(())
    }

    /// Releases the lock.
    pub async fn finish(mut self) {
        if let Some(g) = self.guard.take() {
            g.release().await;
        }
    }

    /// Installs or upgrades: writes the pending revision, applies, prunes, waits, and records
    /// the outcome. A failure is recorded as a failed revision and returned.
    pub async fn deploy(
        &mut self,
        d: Deploy,
        report: Report<'_>,
    ) -> Result<ReleaseRecord, OpError> {
        let previous = self.deployed().cloned();
        let is_install = previous.is_none();
        let how = ApplyHow {
            take_ownership: d.take_ownership,
            force_conflicts: d.force_conflicts,
            wait: d.wait,
        };
        let (history_max, description) = (d.history_max, d.description.clone());
        let (pending, verb) = match d.rollback_of {
            Some(n) => (Status::PendingRollback, format!("Rollback to {n}")),
            None if is_install => (Status::PendingInstall, "Install".to_string()),
            None => (Status::PendingUpgrade, "Upgrade".to_string()),
        };
        // Objects rendered exactly as in the last revision are skipped when the cluster already
        // holds them; only when that revision is the latest, since a failed one after it may
        // have applied something else.
        let previous_render = match (&previous, self.history.last()) {
            (Some(p), Some(l)) if p.revision == l.revision => rendered_objects(p),
            _ => HashMap::new(),
        };
        let objects = self
            .prepare_objects(&d.crds, &d.manifests, &previous_render)
            .await?;
        let inventory: Vec<InventoryItem> = objects.iter().map(|o| o.item.clone()).collect();
        let mut manifest_text = String::new();
        for m in d.crds.iter().chain(d.manifests.iter()) {
            manifest_text.push_str("---\n# Source: ");
            manifest_text.push_str(&m.source);
            manifest_text.push('\n');
            manifest_text.push_str(m.text());
            manifest_text.push('\n');
        }
        let first_deployed = self
            .history
            .first()
            .map(|r| r.first_deployed.clone())
            .unwrap_or_else(now);
        let mut record = ReleaseRecord {
            api_version: RECORD_API_VERSION.to_string(),
            name: self.release.clone(),
            namespace: self.namespace.clone(),
            revision: d.revision,
            status: pending,
            description: format!("{verb} running"),
            chart: d.chart,
            values: d.values,
            user_values: d.user_values,
            layers: d.layers,
            target: d.target,
            manifest: manifest_text,
            inventory,
            notes: d.notes,
            generated: d.generated,
            first_deployed,
            last_deployed: now(),
            deleted: None,
            charter_version: env!("CARGO_PKG_VERSION").to_string(),
            checksum: String::new(),
        };
        self.store.put(&mut record).await?;
        let outcome = self
            .apply_all(&objects, previous.as_ref(), &how, report)
            .await;
        match outcome {
            Ok(()) => {
                record.status = Status::Deployed;
                record.description = description.unwrap_or_else(|| format!("{verb} complete"));
                record.last_deployed = now();
                self.store.put(&mut record).await?;
                if let Some(mut prev) = previous {
                    prev.status = Status::Superseded;
                    self.store.put(&mut prev).await?;
                    let revision = prev.revision;
                    if let Some(h) = self.history.iter_mut().find(|r| r.revision == revision) {
                        *h = prev;
                    }
                }
                // The lock keeps other writers out, so the history is known without reading
                // it back (a list right after a write waits on the API server's watch cache,
                // ~50 ms).
                self.history.retain(|r| r.revision != record.revision);
                self.history.push(record.clone());
                self.history.sort_by_key(|r| r.revision);
                self.prune_history(history_max).await?;
                Ok(record)
            }
            Err(e) => {
                record.status = Status::Failed;
                record.description = format!("{verb} failed: {e}");
                record.last_deployed = now();
                self.store.put(&mut record).await?;
                Err(e)
            }
        }
    }

    /// Turns manifests into objects with ownership metadata and their inventory entries.
    async fn prepare_objects(
        &self,
        crds: &[Manifest],
        manifests: &[Manifest],
        previous_render: &HashMap<RenderKey, Value>,
    ) -> Result<Vec<Desired>, OpError> {
        prepare_desired(
            self.cluster,
            &self.release,
            &self.namespace,
            crds,
            manifests,
            previous_render,
        )
        .await
    }

    /// An object as `live` knows it, or from a GET when its kind was not read.
    async fn live_object<'l>(
        &self,
        live: &'l LiveIndex,
        item: &InventoryItem,
    ) -> Result<Option<Cow<'l, LiveObject>>, OpError> {
        Ok(match live.lookup(item) {
            Lookup::Present(o) => Some(Cow::Borrowed(o)),
            Lookup::Absent => None,
            Lookup::Unknown => {
                let ns = (!item.namespace.is_empty()).then_some(item.namespace.as_str());
                self.cluster
                    .get(&item.api_version(), &item.kind, ns, &item.name)
                    .await?
                    .map(|v| Cow::Owned(LiveObject::from_value(v)))
            }
        })
    }

    /// Refuses an existing object that another release, or nobody, owns (unless adopting).
    async fn check_owner(
        &self,
        item: &InventoryItem,
        live: &LiveIndex,
        take_ownership: bool,
    ) -> Result<(), OpError> {
        let Some(obj) = self.live_object(live, item).await? else {
            return Ok(());
        };
        let owner = &obj.owner;
        if owner.0.as_deref() == Some(self.release.as_str())
            && owner.1.as_deref() == Some(self.namespace.as_str())
        {
            return Ok(());
        }
        if take_ownership {
            return Ok(());
        }
        Err(OpError::NotOwned {
            object: item.display(),
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            owner: match owner {
                (Some(r), Some(n)) => format!("owned by release {n}/{r}"),
                _ => "created outside charter".into(),
            },
        })
    }

    async fn apply_all(
        &self,
        objects: &[Desired],
        previous: Option<&ReleaseRecord>,
        d: &ApplyHow,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let opts = ApplyOptions {
            force: d.force_conflicts,
            dry_run: false,
        };
        let touched = objects
            .iter()
            .map(|o| &o.item)
            .chain(previous.iter().flat_map(|p| p.inventory.iter()));
        let live = LiveIndex::read(self.cluster, &self.release, touched).await?;
        // Phases: CRDs (then wait until established), Namespaces, everything else.
        let phase = |o: &&Desired| match o.item.kind.as_str() {
            "CustomResourceDefinition" => 0,
            "Namespace" => 1,
            _ => 2,
        };
        report(Progress::Phase("applying", objects.len()));
        for p in 0..3 {
            let batch: Vec<&Desired> = objects.iter().filter(|o| phase(o) == p).collect();
            if batch.is_empty() {
                continue;
            }
            let live = &live;
            futures::stream::iter(batch.iter().map(Ok::<_, OpError>))
                .try_for_each_concurrent(PARALLEL_APPLIES, |o| async move {
                    self.check_owner(&o.item, live, d.take_ownership).await?;
                    if o.same_render
                        && let Lookup::Present(LiveObject {
                            full: Some(current),
                            ..
                        }) = live.lookup(&o.item)
                        && covers(current, &o.obj)
                    {
                        report(Progress::Unchanged(&o.item));
                        return Ok(());
                    }
                    self.cluster.apply_quiet(&o.obj, opts).await?;
                    report(Progress::Applied(&o.item));
                    Ok(())
                })
                .await?;
            if p == 0 {
                let crds: Vec<&InventoryItem> = batch.iter().map(|o| &o.item).collect();
                self.wait_ready(&crds, Duration::from_secs(60), &|_| {})
                    .await?;
                // Established is not yet served: wait until discovery lists every version.
                for o in &batch {
                    let crd = &o.obj;
                    let group = crd
                        .pointer("/spec/group")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let kind = crd
                        .pointer("/spec/names/kind")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let versions = crd
                        .pointer("/spec/versions")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for v in versions {
                        let served = v.get("served").and_then(Value::as_bool).unwrap_or(false);
                        if let (true, Some(name)) = (served, v.get("name").and_then(Value::as_str))
                        {
                            self.cluster
                                .await_served(
                                    &format!("{group}/{name}"),
                                    kind,
                                    Duration::from_secs(60),
                                )
                                .await?;
                        }
                    }
                }
            }
        }
        if let Some(prev) = previous {
            let keep: BTreeSet<&InventoryItem> = objects.iter().map(|o| &o.item).collect();
            let mut gone: Vec<&InventoryItem> = prev
                .inventory
                .iter()
                .filter(|i| !keep.contains(i))
                .collect();
            gone.sort_by_key(|i| std::cmp::Reverse(manifest::install_rank(&i.kind)));
            if !gone.is_empty() {
                report(Progress::Phase("pruning", gone.len()));
            }
            for item in gone {
                let ns = (!item.namespace.is_empty()).then_some(item.namespace.as_str());
                let Some(obj) = self.live_object(&live, item).await? else {
                    continue;
                };
                if obj.policy.as_deref() == Some("keep") {
                    report(Progress::Kept(item));
                    continue;
                }
                self.cluster
                    .delete(&item.api_version(), &item.kind, ns, &item.name)
                    .await?;
                report(Progress::Pruned(item));
            }
        }
        if let Some(timeout) = d.wait {
            let all: Vec<&InventoryItem> = objects.iter().map(|o| &o.item).collect();
            self.wait_ready(&all, timeout, report).await?;
        }
        Ok(())
    }

    /// Waits until every object is ready (see [`readiness`]) or the timeout passes. Each
    /// round reads the objects with one list per kind, not a GET each.
    pub async fn wait_ready(
        &self,
        items: &[&InventoryItem],
        timeout: Duration,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        report(Progress::Phase("waiting", items.len()));
        loop {
            let live = LiveIndex::read(self.cluster, &self.release, items.iter().copied()).await?;
            let mut pending = Vec::new();
            for item in items {
                let state = match live.lookup(item) {
                    Lookup::Present(LiveObject {
                        full: Some(obj), ..
                    }) => readiness(obj),
                    Lookup::Absent => Readiness::Pending("not found".into()),
                    Lookup::Present(_) | Lookup::Unknown => {
                        let ns = (!item.namespace.is_empty()).then_some(item.namespace.as_str());
                        match self
                            .cluster
                            .get(&item.api_version(), &item.kind, ns, &item.name)
                            .await?
                        {
                            Some(obj) => readiness(&obj),
                            None => Readiness::Pending("not found".into()),
                        }
                    }
                };
                match state {
                    Readiness::Ready => {}
                    Readiness::Pending(why) | Readiness::Failed(why) => {
                        pending.push(format!("{} ({why})", item.display()));
                    }
                }
            }
            if pending.is_empty() {
                report(Progress::Waiting {
                    pending: 0,
                    total: items.len(),
                    example: "",
                });
                return Ok(());
            }
            report(Progress::Waiting {
                pending: pending.len(),
                total: items.len(),
                example: &pending[0],
            });
            if tokio::time::Instant::now() >= deadline {
                return Err(OpError::Timeout {
                    seconds: timeout.as_secs(),
                    pending: pending.join(", "),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Deletes the release's objects in reverse install order, then its records (or marks
    /// the last one uninstalled with `keep_history`).
    pub async fn uninstall(
        &mut self,
        keep_history: bool,
        wait: Option<Duration>,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let Some(last) = self
            .history
            .iter()
            .rev()
            .find(|r| r.status != Status::Uninstalled)
            .cloned()
        else {
            return Err(OpError::NotFound {
                release: self.release.clone(),
                namespace: self.namespace.clone(),
            });
        };
        // Reverse install order, one kind rank at a time; objects of a rank go in parallel.
        let mut ranks: std::collections::BTreeMap<std::cmp::Reverse<usize>, Vec<&InventoryItem>> =
            std::collections::BTreeMap::new();
        for item in &last.inventory {
            ranks
                .entry(std::cmp::Reverse(manifest::install_rank(&item.kind)))
                .or_default()
                .push(item);
        }
        report(Progress::Phase("deleting", last.inventory.len()));
        let this = &*self;
        for items in ranks.values() {
            futures::stream::iter(items.iter().map(Ok::<_, OpError>))
                .try_for_each_concurrent(PARALLEL_APPLIES, |item| async move {
                    let ns = (!item.namespace.is_empty()).then_some(item.namespace.as_str());
                    if this
                        .cluster
                        .delete(&item.api_version(), &item.kind, ns, &item.name)
                        .await?
                    {
                        report(Progress::Deleted(item));
                    }
                    Ok(())
                })
                .await?;
        }
        if let Some(timeout) = wait {
            self.wait_gone(&last.inventory, timeout, report).await?;
        }
        if keep_history {
            let mut rec = last;
            rec.status = Status::Uninstalled;
            rec.description = "Uninstallation complete".into();
            rec.deleted = Some(now());
            self.store.put(&mut rec).await?;
        } else {
            for r in &self.history {
                self.store.delete(&self.release, r.revision).await?;
            }
        }
        Ok(())
    }

    /// Waits until none of `items` exists any more (finalizers done) or the timeout passes.
    async fn wait_gone(
        &self,
        items: &[InventoryItem],
        timeout: Duration,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        report(Progress::Phase("waiting", items.len()));
        loop {
            let live = LiveIndex::read(self.cluster, &self.release, items.iter()).await?;
            let left: Vec<String> = items
                .iter()
                .filter(|i| matches!(live.lookup(i), Lookup::Present(_)))
                .map(|i| format!("{} (still there)", i.display()))
                .collect();
            report(Progress::Waiting {
                pending: left.len(),
                total: items.len(),
                example: left.first().map(String::as_str).unwrap_or(""),
            });
            if left.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(OpError::Timeout {
                    seconds: timeout.as_secs(),
                    pending: left.join(", "),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Deletes the oldest revisions beyond `max` (0: keep all), never a deployed one.
    async fn prune_history(&mut self, max: usize) -> Result<(), OpError> {
        if max == 0 || self.history.len() <= max {
            return Ok(());
        }
        let excess = self.history.len() - max;
        let mut deleted = Vec::new();
        for r in self.history.iter().take(excess) {
            if r.status != Status::Deployed {
                self.store.delete(&self.release, r.revision).await?;
                deleted.push(r.revision);
            }
        }
        self.history.retain(|r| !deleted.contains(&r.revision));
        Ok(())
    }
}

/// Turns rendered manifests into the objects a deploy of `release` in `namespace` applies:
/// namespace set (or removed for cluster-scoped kinds) and ownership label and annotations
/// added; `same_render` marks objects rendered exactly as in `previous_render`. Install,
/// upgrade and `charter diff` all use this, so a diff predicts exactly what a deploy applies.
pub async fn prepare_desired(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    crds: &[Manifest],
    manifests: &[Manifest],
    previous_render: &HashMap<RenderKey, Value>,
) -> Result<Vec<Desired>, OpError> {
    let mut parsed = Vec::new();
    for m in crds.iter().chain(manifests.iter()) {
        let obj = crate::yaml::parse_str(m.text(), &m.source).map_err(|e| OpError::Manifest {
            source_name: m.source.to_string(),
            message: e.to_string(),
        })?;
        parsed.push((m, obj));
    }
    // Custom resources whose CRD is part of this release are not served yet: their scope
    // comes from the CRD in the chart.
    let chart_crd_scope: std::collections::HashMap<(String, String), bool> = parsed
        .iter()
        .filter(|(m, _)| m.header.kind == "CustomResourceDefinition")
        .filter_map(|(_, o)| {
            let group = o.pointer("/spec/group")?.as_str()?.to_string();
            let kind = o.pointer("/spec/names/kind")?.as_str()?.to_string();
            let namespaced = o.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster");
            Some(((group, kind), namespaced))
        })
        .collect();
    let mut out = Vec::new();
    for (m, mut obj) in parsed {
        let same_render = previous_render.get(&render_key(m)) == Some(&obj);
        let namespaced = match cluster
            .is_namespaced(&m.header.api_version, &m.header.kind)
            .await
        {
            Ok(n) => n,
            Err(ClusterError::UnknownKind { .. })
                if chart_crd_scope
                    .contains_key(&(m.header.group().to_string(), m.header.kind.clone())) =>
            {
                chart_crd_scope[&(m.header.group().to_string(), m.header.kind.clone())]
            }
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
            ns
        } else {
            meta.remove("namespace");
            String::new()
        };
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert(LABEL_RELEASE.into(), Value::String(release.to_string()));
        }
        let ann = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = ann.as_object_mut() {
            a.insert(
                ANNOTATION_RELEASE.into(),
                Value::String(release.to_string()),
            );
            a.insert(
                ANNOTATION_RELEASE_NS.into(),
                Value::String(namespace.to_string()),
            );
        }
        let (group, version) = match m.header.api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), m.header.api_version.clone()),
        };
        out.push(Desired {
            obj,
            item: InventoryItem {
                group,
                version,
                kind: m.header.kind.clone(),
                namespace: ns,
                name: m.header.name.clone(),
            },
            same_render,
        });
    }
    Ok(out)
}
