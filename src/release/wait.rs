//! Waiting for a release's objects: until every one is ready (see
//! [`crate::cluster::readiness`]), or until every one is gone. Each round reads the objects with
//! one list per kind and namespace, not a GET each.

use std::time::Duration;

use super::error::{OpError, Progress, Report};
use super::live::{LiveIndex, LiveObject, Lookup};
use super::session::Session;
use crate::cluster::Cluster;
use crate::cluster::readiness::{Readiness, readiness};
use crate::object::ObjectRef;

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every object exists and is ready.
    Ready,
    /// No object exists any more (finalizers done).
    Gone,
}

/// How often the objects are read again.
const POLL: Duration = Duration::from_millis(500);

impl Session<'_> {
    /// Waits until every object of `items` is as `until` says, or the timeout passes (an error
    /// naming what was still pending).
    pub async fn wait(
        &self,
        items: &[&ObjectRef],
        until: Until,
        timeout: Duration,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        report(Progress::Phase("waiting", items.len()));
        loop {
            let pending = pending(self.cluster, &self.release, items, until).await?;
            report(Progress::Waiting {
                pending: pending.len(),
                total: items.len(),
                example: pending.first().map(String::as_str).unwrap_or(""),
            });
            if pending.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(OpError::Timeout {
                    seconds: timeout.as_secs(),
                    pending: pending.join(", "),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The objects of `items` (of `release`) that are not yet as `until` says, each as
/// `Kind/name (why)`; empty when all are. One round of a wait, for waits of every shape (a
/// deploy's `--wait`, a rollout gate's soak).
pub async fn pending(
    cluster: &Cluster,
    release: &str,
    items: &[&ObjectRef],
    until: Until,
) -> Result<Vec<String>, OpError> {
    let live = LiveIndex::read(cluster, release, items.iter().copied()).await?;
    let mut pending = Vec::new();
    for item in items {
        if let Some(why) = not_yet(cluster, item, &live, until).await? {
            pending.push(format!("{} ({why})", item.display()));
        }
    }
    Ok(pending)
}

/// Why `item` is not yet as `until` says, or `None` when it is.
async fn not_yet(
    cluster: &Cluster,
    item: &ObjectRef,
    live: &LiveIndex,
    until: Until,
) -> Result<Option<String>, OpError> {
    if until == Until::Gone {
        return Ok(matches!(live.lookup(item), Lookup::Present(_)).then(|| "still there".into()));
    }
    let state = match live.lookup(item) {
        Lookup::Present(LiveObject {
            full: Some(obj), ..
        }) => readiness(obj),
        Lookup::Absent => Readiness::Pending("not found".into()),
        Lookup::Present(_) | Lookup::Unknown => match cluster.get_object(item).await? {
            Some(obj) => readiness(&obj),
            None => Readiness::Pending("not found".into()),
        },
    };
    Ok(match state {
        Readiness::Ready => None,
        Readiness::Pending(why) | Readiness::Failed(why) => Some(why),
    })
}
