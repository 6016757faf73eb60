//! Waiting for a release's objects: until every one is ready (see
//! [`crate::cluster::readiness`]), or until every one is gone. Each round reads the objects with
//! one list per kind and namespace, not a GET each.
//!
//! A workload that is not ready says why in its own status only as a count ("0/5 replicas
//! available"); the reason is on its Pods (not schedulable, an image that does not pull, a
//! crash) or in Warning Events. So every few seconds, and when the wait times out, the Pods and
//! Events of the namespaces with pending workloads are read once each and the first reason
//! found is added to what is reported.
//!
//! An object that failed for good (a Job out of retries) ends the wait at once. When a wait
//! fails or times out, the error carries what an operator looks at next: the Warning Events of
//! the objects still pending, and the Events and last log lines of their failing Pods.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::error::{OpError, Progress, Report, WaitRow};
use super::live::{LiveIndex, LiveObject, Lookup};
use super::session::Session;
use crate::cluster::Cluster;
use crate::cluster::readiness::{Readiness, pod_problem, readiness, selects};
use crate::object::ObjectRef;

/// What a wait waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every object exists and is ready.
    Ready,
    /// No object exists any more (finalizers done).
    Gone,
    /// Every object exists.
    Present,
}

/// How often the objects are read again.
const POLL: Duration = Duration::from_millis(500);

/// How often the reasons of pending workloads are looked up (Pods and Events read).
const EXPLAIN_EVERY: Duration = Duration::from_secs(3);

/// How many pending objects, and Pods of each, a failure's diagnostics show.
const DIAGNOSED_OBJECTS: usize = 3;
const DIAGNOSED_PODS: usize = 2;
/// How many Events (the latest) and log lines (the last) of each a failure shows.
const DIAGNOSED_EVENTS: usize = 10;
const LOG_LINES: i64 = 20;

/// Kinds whose readiness depends on Pods they select.
const WITH_PODS: [&str; 5] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
];

/// An object not yet as waited for: why, its live state when it was read, and whether it
/// failed for good.
struct Pending<'a> {
    item: &'a ObjectRef,
    why: String,
    live: Option<Value>,
    failed: bool,
}

impl Session<'_> {
    /// Waits until every object of `items` is as `until` says, or the timeout passes (an error
    /// naming what was still pending, and why).
    pub async fn wait(
        &self,
        items: &[&ObjectRef],
        until: Until,
        timeout: Duration,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let deadline = tokio::time::Instant::now() + timeout;
        report(Progress::Phase("waiting", items.len()));
        let mut explained: Option<tokio::time::Instant> = None;
        let mut reasons: HashMap<ObjectRef, String> = HashMap::new();
        loop {
            let pending = pending_items(self.cluster, &self.release, items, until).await?;
            let now = tokio::time::Instant::now();
            let timed_out = now >= deadline;
            let failed = pending.iter().any(|p| p.failed);
            if until == Until::Ready
                && !pending.is_empty()
                && (timed_out || failed || explained.is_none_or(|t| now - t >= EXPLAIN_EVERY))
            {
                reasons = self.explain(&pending).await;
                explained = Some(now);
            }
            let rows: Vec<WaitRow> = pending
                .iter()
                .map(|p| WaitRow {
                    item: p.item.clone(),
                    state: p.why.clone(),
                    why: reasons.get(p.item).cloned(),
                })
                .collect();
            let described: Vec<String> = rows.iter().map(describe_row).collect();
            report(Progress::Waiting {
                pending: described.len(),
                total: items.len(),
                example: described.first().map(String::as_str).unwrap_or(""),
                rows: &rows,
            });
            if described.is_empty() {
                return Ok(());
            }
            if let Some(failed) = pending.iter().position(|p| p.failed) {
                let failing: Vec<&Pending> = pending.iter().filter(|p| p.failed).collect();
                return Err(OpError::Failed {
                    object: pending[failed].item.display(),
                    why: match &rows[failed].why {
                        Some(r) => format!("{}; {r}", rows[failed].state),
                        None => rows[failed].state.clone(),
                    },
                    details: self.diagnose(&failing).await,
                });
            }
            if timed_out {
                let all: Vec<&Pending> = pending.iter().collect();
                return Err(OpError::Timeout {
                    seconds: timeout.as_secs(),
                    pending: described.join(", "),
                    details: self.diagnose(&all).await,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The reason each pending workload (or Pod) is not ready, where one can be found: a
    /// problem its Pods' status names, else the latest Warning Event about it, its ReplicaSets
    /// or its Pods. Best effort: a failed read only leaves the reason out.
    async fn explain(&self, pending: &[Pending<'_>]) -> HashMap<ObjectRef, String> {
        let mut out = HashMap::new();
        let mut pods: HashMap<&str, Vec<Value>> = HashMap::new();
        let mut events: HashMap<&str, Vec<Value>> = HashMap::new();
        for p in pending {
            let (Some(obj), Some(ns)) = (&p.live, p.item.ns()) else {
                continue;
            };
            let kind = p.item.kind.as_str();
            let reason = if kind == "Pod" {
                pod_problem(obj)
            } else if WITH_PODS.contains(&kind) {
                let selector = obj
                    .pointer("/spec/selector/matchLabels")
                    .cloned()
                    .unwrap_or(Value::Null);
                if !pods.contains_key(ns) {
                    let listed = self.cluster.list("v1", "Pod", Some(ns), "").await;
                    pods.insert(ns, listed.unwrap_or_default());
                }
                pods[ns]
                    .iter()
                    .filter(|pod| selects(&selector, pod))
                    .find_map(|pod| {
                        let name = pod.pointer("/metadata/name").and_then(Value::as_str)?;
                        Some(format!("pod {name}: {}", pod_problem(pod)?))
                    })
            } else {
                None
            };
            let reason = match reason {
                Some(r) => Some(r),
                None if kind == "Pod" || WITH_PODS.contains(&kind) => {
                    if !events.contains_key(ns) {
                        let listed = self.cluster.list("v1", "Event", Some(ns), "").await;
                        events.insert(ns, listed.unwrap_or_default());
                    }
                    latest_warning(&events[ns], &p.item.name)
                }
                None => None,
            };
            if let Some(r) = reason {
                out.insert(p.item.clone(), r);
            }
        }
        out
    }

    /// What an operator looks at when a wait fails: for each of the first pending objects,
    /// the Warning Events about it, and for its Pods that are not ready (or the Pod itself) the
    /// problem, the Events and the last log lines of each container. Each line starts with a
    /// newline; empty when nothing could be read. Best effort: a failed read is said in place.
    async fn diagnose(&self, pending: &[&Pending<'_>]) -> String {
        let mut out = String::new();
        let mut pods: HashMap<&str, Vec<Value>> = HashMap::new();
        let mut events: HashMap<&str, Vec<Value>> = HashMap::new();
        for p in pending.iter().take(DIAGNOSED_OBJECTS) {
            let (Some(obj), Some(ns)) = (&p.live, p.item.ns()) else {
                continue;
            };
            let kind = p.item.kind.as_str();
            if !events.contains_key(ns) {
                let listed = self.cluster.list("v1", "Event", Some(ns), "").await;
                events.insert(ns, listed.unwrap_or_default());
            }
            let failing: Vec<Value> = if kind == "Pod" {
                vec![obj.clone()]
            } else if WITH_PODS.contains(&kind) {
                if !pods.contains_key(ns) {
                    let listed = self.cluster.list("v1", "Pod", Some(ns), "").await;
                    pods.insert(ns, listed.unwrap_or_default());
                }
                let selector = obj
                    .pointer("/spec/selector/matchLabels")
                    .cloned()
                    .unwrap_or(Value::Null);
                let mut mine: Vec<&Value> = pods[ns]
                    .iter()
                    .filter(|pod| selects(&selector, pod) && !readiness(pod).is_ready())
                    .collect();
                // Pods whose status names a problem first: they are the likely cause.
                mine.sort_by_key(|pod| pod_problem(pod).is_none());
                mine.into_iter().take(DIAGNOSED_PODS).cloned().collect()
            } else {
                Vec::new()
            };
            let about_object = events_about(&events[ns], kind, &p.item.name, kind != "Pod");
            if about_object.is_empty() && failing.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{}:", p.item.display()));
            for e in about_object {
                out.push_str(&format!("\n  event: {e}"));
            }
            for pod in &failing {
                out.push_str(&self.diagnose_pod(ns, pod, &events[ns]).await);
            }
        }
        out
    }

    /// One Pod's part of [`Session::diagnose`]: its problem, its Events and its containers'
    /// last log lines.
    async fn diagnose_pod(&self, ns: &str, pod: &Value, events: &[Value]) -> String {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let state = pod_problem(pod).unwrap_or_else(|| {
            let phase = pod.pointer("/status/phase").and_then(Value::as_str);
            format!("phase {}", phase.unwrap_or("unknown"))
        });
        let mut out = format!("\n  Pod {name}: {state}");
        for e in events_about(events, "Pod", name, false) {
            out.push_str(&format!("\n    event: {e}"));
        }
        let containers = ["initContainers", "containers"]
            .iter()
            .filter_map(|k| pod.pointer(&format!("/spec/{k}"))?.as_array())
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str));
        for c in containers {
            if !started(pod, c) {
                out.push_str(&format!("\n    container {c} has not started: no log"));
                continue;
            }
            match self.cluster.logs(ns, name, Some(c), Some(LOG_LINES)).await {
                Ok(log) if log.trim().is_empty() => {
                    out.push_str(&format!("\n    log of container {c}: empty"));
                }
                Ok(log) => {
                    out.push_str(&format!(
                        "\n    log of container {c} (last {LOG_LINES} lines):"
                    ));
                    for line in log.lines() {
                        out.push_str(&format!("\n      | {line}"));
                    }
                }
                Err(e) => out.push_str(&format!("\n    log of container {c}: not available ({e})")),
            }
        }
        out
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
    Ok(pending_items(cluster, release, items, until)
        .await?
        .iter()
        .map(|p| format!("{} ({})", p.item.display(), p.why))
        .collect())
}

/// The objects of `items` not yet as `until` says, with why and their live state.
async fn pending_items<'i>(
    cluster: &Cluster,
    release: &str,
    items: &[&'i ObjectRef],
    until: Until,
) -> Result<Vec<Pending<'i>>, OpError> {
    let live = LiveIndex::read(cluster, release, items.iter().copied()).await?;
    let mut pending = Vec::new();
    for item in items {
        if let Some(p) = not_yet(cluster, item, &live, until).await? {
            pending.push(p);
        }
    }
    Ok(pending)
}

/// Why `item` is not yet as `until` says (and its live state), or `None` when it is.
async fn not_yet<'i>(
    cluster: &Cluster,
    item: &'i ObjectRef,
    live: &LiveIndex,
    until: Until,
) -> Result<Option<Pending<'i>>, OpError> {
    let pending = |why: &str, live: Option<Value>| Pending {
        item,
        why: why.to_string(),
        live,
        failed: false,
    };
    if until == Until::Gone {
        return Ok(
            matches!(live.lookup(item), Lookup::Present(_)).then(|| pending("still there", None))
        );
    }
    if until == Until::Present {
        let there = match live.lookup(item) {
            Lookup::Present(_) => true,
            Lookup::Absent => false,
            Lookup::Unknown => cluster.get_object(item).await?.is_some(),
        };
        return Ok((!there).then(|| pending("not found", None)));
    }
    let obj = match live.lookup(item) {
        Lookup::Present(LiveObject {
            full: Some(obj), ..
        }) => Some(obj.clone()),
        Lookup::Absent => None,
        Lookup::Present(_) | Lookup::Unknown => cluster.get_object(item).await?,
    };
    let Some(obj) = obj else {
        return Ok(Some(pending("not found", None)));
    };
    Ok(match readiness(&obj) {
        Readiness::Ready => None,
        Readiness::Pending(why) => Some(pending(&why, Some(obj))),
        Readiness::Failed(why) => Some(Pending {
            failed: true,
            ..pending(&why, Some(obj))
        }),
    })
}

/// `Kind/namespace/name (state; why)`, as errors and plain progress lines name a pending
/// object.
fn describe_row(r: &WaitRow) -> String {
    match &r.why {
        Some(why) => format!("{} ({}; {why})", r.item.display(), r.state),
        None => format!("{} ({})", r.item.display(), r.state),
    }
}

/// The latest [`DIAGNOSED_EVENTS`] Events about the object `kind`/`name` (only Warnings when
/// `warnings_only`), oldest first, each as `Type Reason: message (xN)`.
fn events_about(events: &[Value], kind: &str, name: &str, warnings_only: bool) -> Vec<String> {
    let text = |e: &Value, p: &str| {
        e.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let mut about: Vec<&Value> = events
        .iter()
        .filter(|e| {
            text(e, "/involvedObject/kind") == kind && text(e, "/involvedObject/name") == name
        })
        .filter(|e| !warnings_only || text(e, "/type") == "Warning")
        .collect();
    about.sort_by_key(|e| event_time(e));
    let skip = about.len().saturating_sub(DIAGNOSED_EVENTS);
    about[skip..]
        .iter()
        .map(|e| {
            let count = e.get("count").and_then(Value::as_i64).unwrap_or(1);
            let times = if count > 1 {
                format!(" (x{count})")
            } else {
                String::new()
            };
            format!(
                "{} {}: {}{times}",
                text(e, "/type"),
                text(e, "/reason"),
                text(e, "/message").trim_end()
            )
        })
        .collect()
}

/// Whether container `name` of `pod` ever ran (running, or terminated now or before): only
/// then can it have a log.
fn started(pod: &Value, name: &str) -> bool {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/status/{k}"))?.as_array())
        .flatten()
        .filter(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .any(|c| {
            c.pointer("/state/running").is_some()
                || c.pointer("/state/terminated").is_some()
                || c.pointer("/lastState/terminated").is_some()
        })
}

/// When an Event last happened, as an RFC 3339 string (they sort as times).
fn event_time(e: &Value) -> String {
    [
        "/lastTimestamp",
        "/eventTime",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .filter_map(|p| e.pointer(p).and_then(Value::as_str))
    .find(|t| !t.is_empty())
    .unwrap_or_default()
    .to_string()
}

/// The latest Warning Event about an object whose name starts with `name` (the workload, its
/// ReplicaSets `name-hash`, its Pods `name-hash-id`): `Reason: message (object)`.
fn latest_warning(events: &[Value], name: &str) -> Option<String> {
    let text = |e: &Value, p: &str| {
        e.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    events
        .iter()
        .filter(|e| text(e, "/type") == "Warning")
        .filter(|e| {
            let about = text(e, "/involvedObject/name");
            about == name || about.starts_with(&format!("{name}-"))
        })
        .max_by_key(|e| event_time(e))
        .map(|e| {
            format!(
                "{}: {} ({} {})",
                text(e, "/reason"),
                text(e, "/message").trim_end(),
                text(e, "/involvedObject/kind"),
                text(e, "/involvedObject/name")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_latest_warning_about_the_workload_or_its_pods() {
        let ev = |name: &str, ty: &str, reason: &str, at: &str| {
            json!({"type": ty, "reason": reason, "message": "m", "lastTimestamp": at,
                   "involvedObject": {"kind": "Pod", "name": name}})
        };
        let events = [
            ev(
                "web-7d9-abc",
                "Warning",
                "FailedMount",
                "2026-01-01T00:00:02Z",
            ),
            ev("web-7d9-abc", "Warning", "BackOff", "2026-01-01T00:00:05Z"),
            ev("web-7d9-abc", "Normal", "Pulling", "2026-01-01T00:00:09Z"),
            ev("webhook-1", "Warning", "Other", "2026-01-01T00:00:09Z"),
        ];
        assert_eq!(
            latest_warning(&events, "web").as_deref(),
            Some("BackOff: m (Pod web-7d9-abc)")
        );
        assert_eq!(latest_warning(&events, "db"), None);
    }
}
