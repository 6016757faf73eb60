//! One operation at a time per release: a `coordination.k8s.io` Lease named after the release,
//! held and renewed while an operation runs. A crashed run's lease expires after its TTL and
//! the next run takes it over (and is told, so it can repair the stale pending revision).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, DeleteParams, PostParams};

use super::error::{Progress, Report};
use crate::cluster::retry_for;
use serde_json::json;

/// Errors taking a release lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds the lock.
    #[error(
        "release {namespace}/{release} is locked by `{holder}` since {since} (lease {lease}, expires {ttl}s after its last renewal); wait for it to finish, or retry with --wait-for-lock DURATION"
    )]
    Held {
        /// Namespace.
        namespace: String,
        /// Release.
        release: String,
        /// Who holds it.
        holder: String,
        /// Since when (RFC 3339).
        since: String,
        /// The Lease name.
        lease: String,
        /// The lease duration.
        ttl: i32,
    },
    /// The release's namespace does not exist.
    #[error("namespace `{namespace}` does not exist")]
    NoNamespace {
        /// Namespace.
        namespace: String,
    },
    /// The API server refused or failed.
    #[error("lease {lease} in {namespace}: {message}")]
    Api {
        /// Namespace.
        namespace: String,
        /// The Lease name.
        lease: String,
        /// The message.
        message: String,
    },
}

/// The lease name for a release.
pub fn lease_name(release: &str) -> String {
    format!("charter-release-{release}")
}

/// What acquiring found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The lease was free.
    Fresh,
    /// An expired lease of `holder` was taken over: its operation died.
    TookOver {
        /// The previous holder.
        holder: String,
    },
}

/// A held lock; renewing in the background until [`LockGuard::release`] (or drop).
pub struct LockGuard {
    api: Api<Lease>,
    name: String,
    holder: String,
    renew: Option<tokio::task::JoinHandle<()>>,
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn expired(lease: &Lease) -> bool {
    let Some(spec) = &lease.spec else { return true };
    let ttl = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let last = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    match last {
        Some(t) => jiff::Timestamp::now().as_second() - t.as_second() > ttl,
        None => true,
    }
}

/// How long lock requests are retried through an API server outage.
const LOCK_RETRY: Duration = Duration::from_secs(30);

/// Takes the lock of `release` in `namespace` for `holder`. With `wait`, retries until the
/// lock is free or the wait runs out; otherwise fails at once with who holds it since when.
pub async fn acquire(
    client: kube::Client,
    namespace: &str,
    release: &str,
    holder: &str,
    ttl: Duration,
    wait: Option<Duration>,
    report: Report<'_>,
) -> Result<(LockGuard, Acquired), LockError> {
    let api: Api<Lease> = Api::namespaced(client, namespace);
    let name = lease_name(release);
    let ttl_s = i32::try_from(ttl.as_secs().max(1)).unwrap_or(i32::MAX);
    let api_err = |e: kube::Error| match e {
        kube::Error::Api(s)
            if s.code == 404 && s.details.as_ref().is_some_and(|d| d.kind == "namespaces") =>
        {
            LockError::NoNamespace {
                namespace: namespace.to_string(),
            }
        }
        e => LockError::Api {
            namespace: namespace.to_string(),
            lease: name.clone(),
            message: crate::cluster::describe(&e),
        },
    };
    let deadline = wait.map(|w| std::time::Instant::now() + w);
    // The holder last reported as waited for: said once per holder.
    let mut reported: Option<String> = None;
    let pp = PostParams::default();
    loop {
        let fresh: Lease = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace, "labels": {"owner": "charter", "name": release}},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": ttl_s},
        }))
        .map_err(|e| LockError::Api {
            namespace: namespace.to_string(),
            lease: name.clone(),
            message: e.to_string(),
        })?;
        let mut fresh = fresh;
        if let Some(spec) = fresh.spec.as_mut() {
            spec.acquire_time = Some(now());
            spec.renew_time = Some(now());
        }
        let outcome = match retry_for(LOCK_RETRY, || api.create(&pp, &fresh)).await {
            Ok(_) => Some(Acquired::Fresh),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Held, or expired: an expired lease is replaced, guarded by resourceVersion so
                // two runs cannot both take it over.
                let current = match retry_for(LOCK_RETRY, || api.get_opt(&name))
                    .await
                    .map_err(api_err)?
                {
                    Some(l) => l,
                    None => continue,
                };
                let holder_now = current
                    .spec
                    .as_ref()
                    .and_then(|s| s.holder_identity.as_deref());
                if holder_now == Some(holder) {
                    // Our own create went through but its answer was lost to a dropped
                    // connection, and the retry found the lease taken: by us.
                    Some(Acquired::Fresh)
                } else if expired(&current) {
                    let previous = current
                        .spec
                        .as_ref()
                        .and_then(|s| s.holder_identity.clone())
                        .unwrap_or_default();
                    fresh.metadata.resource_version = current.metadata.resource_version.clone();
                    match retry_for(LOCK_RETRY, || api.replace(&name, &pp, &fresh)).await {
                        Ok(_) => Some(Acquired::TookOver { holder: previous }),
                        Err(kube::Error::Api(s)) if s.code == 409 => None,
                        Err(e) => return Err(api_err(e)),
                    }
                } else {
                    let spec = current.spec.unwrap_or_default();
                    let holder_now = spec.holder_identity.unwrap_or_default();
                    let since = spec
                        .acquire_time
                        .map(|t| t.0.to_string())
                        .unwrap_or_else(|| "an unknown time".into());
                    if deadline.is_none_or(|d| std::time::Instant::now() >= d) {
                        return Err(LockError::Held {
                            namespace: namespace.to_string(),
                            release: release.to_string(),
                            holder: holder_now,
                            since,
                            lease: name.clone(),
                            ttl: spec.lease_duration_seconds.unwrap_or(0),
                        });
                    }
                    if reported.as_ref() != Some(&holder_now) {
                        report(Progress::WaitingForLock {
                            release,
                            namespace,
                            holder: &holder_now,
                            since: &since,
                        });
                        reported = Some(holder_now);
                    }
                    None
                }
            }
            Err(e) => return Err(api_err(e)),
        };
        if let Some(acquired) = outcome {
            let renew = spawn_renewal(api.clone(), name.clone(), holder.to_string(), ttl);
            return Ok((
                LockGuard {
                    api,
                    name,
                    holder: holder.to_string(),
                    renew: Some(renew),
                },
                acquired,
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn spawn_renewal(
    api: Api<Lease>,
    name: String,
    holder: String,
    ttl: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = (ttl / 3).max(Duration::from_secs(1));
        loop {
            tokio::time::sleep(every).await;
            let Ok(Some(mut lease)) = api.get_opt(&name).await else {
                continue;
            };
            let ours = lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                == Some(holder.as_str());
            if !ours {
                tracing::warn!("lease {name} was taken over by another holder");
                return;
            }
            if let Some(spec) = lease.spec.as_mut() {
                spec.renew_time = Some(now());
            }
            if let Err(e) = api.replace(&name, &PostParams::default(), &lease).await {
                tracing::debug!("renewing lease {name}: {e}");
            }
        }
    })
}

impl LockGuard {
    /// Stops renewing and deletes the lease (only if still ours).
    pub async fn release(mut self) {
        if let Some(h) = self.renew.take() {
            h.abort();
        }
        if let Ok(Some(lease)) = self.api.get_opt(&self.name).await
            && lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                == Some(self.holder.as_str())
        {
            let _ = self.api.delete(&self.name, &DeleteParams::default()).await;
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Without an explicit release the lease simply expires after its TTL.
        if let Some(h) = self.renew.take() {
            h.abort();
        }
    }
}
