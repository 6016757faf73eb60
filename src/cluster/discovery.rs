//! Discovery: which API versions and kinds the cluster serves, and how a kind maps to a
//! resource (plural, scope), cached per connection and refreshed on a miss.

use std::sync::Arc;
use std::time::Duration;

use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};

use super::{Cluster, ClusterError, Resource};

impl Cluster {
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

    /// Maps a kind alone (case-insensitive), optionally of one API group, to the resource of
    /// its group's preferred version, as kubectl resolves `deployment/web`: the core group
    /// first, then groups in discovery order. Refreshes discovery once on a miss.
    pub async fn resource_by_kind(
        &self,
        kind: &str,
        group: Option<&str>,
    ) -> Result<Resource, ClusterError> {
        for refresh in [false, true] {
            let d = self.discover(refresh).await?;
            let mut groups: Vec<_> = d
                .groups()
                .filter(|g| group.is_none_or(|want| g.name() == want))
                .collect();
            groups.sort_by_key(|g| !g.name().is_empty());
            let found = groups.iter().find_map(|g| {
                g.recommended_resources()
                    .into_iter()
                    .find(|(ar, _)| ar.kind.eq_ignore_ascii_case(kind))
            });
            if let Some((ar, caps)) = found {
                return Ok(resource_of(ar, &caps));
            }
        }
        Err(ClusterError::Other {
            what: match group {
                Some(g) => format!("kind {kind} of API group {g}"),
                None => format!("kind {kind}"),
            },
            message: format!(
                "not served by the cluster at {}; install its CRD first or fix the kind (Kind.group names the API group)",
                self.url
            ),
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

    /// Whether a resource is namespaced (false for cluster-scoped kinds like Namespace).
    pub async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, ClusterError> {
        Ok(self.resource(api_version, kind).await?.namespaced)
    }
}

fn resource_of(api: ApiResource, caps: &ApiCapabilities) -> Resource {
    Resource {
        api,
        namespaced: caps.scope == Scope::Namespaced,
    }
}
