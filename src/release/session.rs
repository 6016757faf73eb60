//! An operation on one release: its lock held, its history read, a stale pending revision left
//! by a run that died repaired. Deploys ([`super::deploy`]), waits ([`super::wait`]) and
//! uninstalls ([`super::uninstall`]) run inside a [`Session`].

use std::time::Duration;

use super::error::{OpError, Report};
use super::lock::{self, Acquired, LockGuard};
use super::record::{ReleaseRecord, Status};
use super::store::{ReleaseStore, Storage};
use crate::cluster::Cluster;

/// An operation in progress: the lock is held and the history is read.
pub struct Session<'c> {
    pub(super) cluster: &'c Cluster,
    pub(super) store: &'c dyn ReleaseStore,
    guard: Option<LockGuard>,
    /// The release name.
    pub release: String,
    /// The namespace.
    pub namespace: String,
    /// Every revision, oldest first.
    pub history: Vec<ReleaseRecord>,
    /// Where the records are (charter's for a new release).
    pub storage: Storage,
    /// A stale pending revision that was marked failed on taking over an expired lock.
    pub repaired: Option<u64>,
    /// The first revision this operation may write: what [`Session::interrupted`] may mark.
    first_own_revision: u64,
    /// While the lock is held, a signal is the operation's to handle ([`crate::interrupt`]).
    _shield: crate::interrupt::Shield,
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

impl LockOptions {
    /// A lock for this process (user, host and pid as the holder).
    pub fn for_this_process(ttl: Duration, wait: Option<Duration>) -> LockOptions {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        LockOptions {
            holder: format!("{}@{} pid {}", user_name(), host.trim(), std::process::id()),
            ttl,
            wait,
        }
    }
}

/// Who runs this process: $USER or $LOGNAME, else the name /etc/passwd gives the process's
/// user id (CI runners and containers often set neither variable), else `uid N`.
fn user_name() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.is_empty()
        {
            return u;
        }
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
        });
    let Some(uid) = uid else {
        return "unknown".into();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            (f.nth(1)? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Starts an operation: takes the lock, reads the history, and repairs a stale pending
/// revision left by a run that died (in Helm's storage: one older than the lock's TTL).
pub async fn begin<'c>(
    cluster: &'c Cluster,
    store: &'c dyn ReleaseStore,
    namespace: &str,
    release: &str,
    lock_opts: &LockOptions,
    report: Report<'_>,
) -> Result<Session<'c>, OpError> {
    let (guard, acquired) = lock::acquire(
        cluster.client(),
        namespace,
        release,
        &lock_opts.holder,
        lock_opts.ttl,
        lock_opts.wait,
        report,
    )
    .await?;
    let mut history = store.history(namespace, release).await?;
    let storage = store
        .storage(namespace, release)
        .await?
        .unwrap_or(Storage::Charter);
    let mut repaired = None;
    if let Some(last) = history.last_mut()
        && last.status.is_pending()
    {
        // charter's own runs hold the lock while a revision is pending; Helm's hold none, so a
        // pending Helm revision counts as a crashed run only once it is as old as a lock that
        // nobody renews.
        let age = last.pending_for().unwrap_or_default();
        if storage.is_helm() && age < lock_opts.ttl {
            let e = OpError::HelmPending {
                release: release.to_string(),
                namespace: namespace.to_string(),
                revision: last.revision,
                status: last.status.to_string(),
                age: age.as_secs(),
                ttl: lock_opts.ttl.as_secs(),
            };
            guard.release().await;
            return Err(e);
        }
        let who = match &acquired {
            Acquired::TookOver { holder } => format!("`{holder}`"),
            Acquired::Fresh => "an earlier run".to_string(),
        };
        last.description = format!(
            "{} (stale: the operation by {who} stopped without finishing; marked failed by the next run)",
            last.description
        );
        last.status = Status::Failed;
        store.put(namespace, last).await?;
        repaired = Some(last.revision);
    }
    Ok(Session {
        cluster,
        store,
        guard: Some(guard),
        release: release.to_string(),
        namespace: namespace.to_string(),
        first_own_revision: next_revision(&history),
        history,
        storage,
        repaired,
        _shield: crate::interrupt::Shield::new(),
    })
}

/// The revision after the latest of `history` (oldest first).
pub fn next_revision(history: &[ReleaseRecord]) -> u64 {
    history.last().map_or(1, |r| r.revision + 1)
}

/// The revision of `history` currently deployed, if any.
pub fn deployed(history: &[ReleaseRecord]) -> Option<&ReleaseRecord> {
    history.iter().rev().find(|r| r.status == Status::Deployed)
}

impl<'c> Session<'c> {
    /// The revision the next operation writes.
    pub fn next_revision(&self) -> u64 {
        next_revision(&self.history)
    }

    /// The revision currently deployed, if any.
    pub fn deployed(&self) -> Option<&ReleaseRecord> {
        deployed(&self.history)
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
        if self.history.is_empty() {
            return Err(OpError::NotFound {
                release: self.release.clone(),
                namespace: self.namespace.clone(),
            });
        }
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
        self.history = self.store.history(&self.namespace, &self.release).await?;
        Ok(())
    }

    /// After the operation was stopped by `signal` wherever it stood: marks the revision it
    /// left pending failed (saying so), and returns that revision. Objects applied so far stay
    /// as they are; the next upgrade or a rollback takes over from there.
    pub async fn interrupted(&mut self, signal: &str) -> Result<Option<u64>, OpError> {
        self.refresh().await?;
        let first_own = self.first_own_revision;
        let Some(last) = self.history.last_mut() else {
            return Ok(None);
        };
        if !last.status.is_pending() || last.revision < first_own {
            return Ok(None);
        }
        let verb = match last.status {
            Status::PendingInstall => "Install",
            Status::PendingRollback => "Rollback",
            Status::Uninstalling => "Uninstall",
            _ => "Upgrade",
        };
        last.status = Status::Failed;
        last.description = format!(
            "{verb} interrupted by {signal} before it finished; objects applied until then stay as they are"
        );
        last.last_deployed = jiff::Timestamp::now().to_string();
        let revision = last.revision;
        let mut record = last.clone();
        self.store.put(&self.namespace, &mut record).await?;
        Ok(Some(revision))
    }

    /// Releases the lock.
    pub async fn finish(mut self) {
        if let Some(g) = self.guard.take() {
            g.release().await;
        }
    }

    /// Writes a revision of this release.
    pub(super) async fn put(&self, record: &mut ReleaseRecord) -> Result<(), OpError> {
        Ok(self.store.put(&self.namespace, record).await?)
    }

    /// Deletes the oldest revisions until at most `max` are left (0: keep all), never the
    /// deployed one nor the latest.
    pub(super) async fn prune_history(&mut self, max: usize) -> Result<(), OpError> {
        if max == 0 || self.history.len() <= max {
            return Ok(());
        }
        let mut excess = self.history.len() - max;
        let latest = self.history.last().map(|r| r.revision);
        let mut deleted = Vec::new();
        for r in &self.history {
            if excess == 0 {
                break;
            }
            if r.status != Status::Deployed && Some(r.revision) != latest {
                self.store
                    .delete(&self.namespace, &self.release, r.revision)
                    .await?;
                deleted.push(r.revision);
                excess -= 1;
            }
        }
        self.history.retain(|r| !deleted.contains(&r.revision));
        Ok(())
    }
}
