//! Every release in a cluster, wherever its records are: charter's Secrets, Helm's Secrets or
//! Helm's ConfigMaps. Reading a release costs two list calls at once: the Secrets of both
//! owners (`owner in (charter,helm)`) and Helm's ConfigMaps. Where a release was found is
//! remembered, so its writes go to the same storage; a release not found anywhere is new and
//! goes to charter's.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::FutureExt;
use serde_json::Value;

use super::encoding::{self, SECRET_TYPE};
use super::helm::{self, Driver, HelmStore};

use super::secret::from_secret_json;
use super::{
    ReleaseHead, ReleaseStore, SecretStore, Storage, StoreError, StoreFuture, TwoStorages,
};
use crate::cluster::{Cluster, ClusterError};
use crate::release::record::ReleaseRecord;

/// Release records in every storage of a cluster.
pub struct ClusterStore {
    cluster: Cluster,
    charter: SecretStore,
    helm_secrets: HelmStore,
    helm_configmaps: HelmStore,
    /// Where each release read so far was found (`None`: nowhere).
    located: Mutex<HashMap<(String, String), Option<Storage>>>,
}

/// What one release has in each storage, as listed.
struct Found {
    charter: Vec<Value>,
    helm_secrets: Vec<Value>,
    helm_configmaps: Vec<Value>,
}

impl Found {
    fn by_storage(&self) -> [(Storage, &Vec<Value>); 3] {
        [
            (Storage::Charter, &self.charter),
            (Storage::HelmSecrets, &self.helm_secrets),
            (Storage::HelmConfigMaps, &self.helm_configmaps),
        ]
    }
}

/// `Kind name, name` of listed records, a few of them, for messages.
fn names(objects: &[Value]) -> String {
    let mut names: Vec<&str> = objects
        .iter()
        .filter_map(|o| o.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    names.sort();
    let shown = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    match names.len() {
        n if n > 3 => format!("{shown} and {} more", n - 3),
        _ => shown,
    }
}

impl ClusterStore {
    /// The records of `cluster`.
    pub fn new(cluster: &Cluster) -> ClusterStore {
        ClusterStore {
            cluster: cluster.clone(),
            charter: SecretStore::new(cluster),
            helm_secrets: HelmStore::new(cluster, Driver::Secrets),
            helm_configmaps: HelmStore::new(cluster, Driver::ConfigMaps),
            located: Mutex::default(),
        }
    }

    /// charter's own records.
    pub fn charter(&self) -> &SecretStore {
        &self.charter
    }

    /// Helm's records through `driver`.
    pub fn helm(&self, driver: Driver) -> &HelmStore {
        match driver {
            Driver::Secrets => &self.helm_secrets,
            Driver::ConfigMaps => &self.helm_configmaps,
        }
    }

    /// The store of `storage`.
    pub fn of(&self, storage: Storage) -> &dyn ReleaseStore {
        match storage {
            Storage::Charter => &self.charter,
            Storage::HelmSecrets => &self.helm_secrets,
            Storage::HelmConfigMaps => &self.helm_configmaps,
        }
    }

    async fn find(&self, namespace: &str, release: &str) -> Result<Found, StoreError> {
        let selector = format!("owner in (charter,{}),name={release}", helm::format::OWNER);
        let secrets = self
            .cluster
            .list("v1", "Secret", Some(namespace), &selector);
        // A user who may not read ConfigMaps has no Helm releases stored in them to act on.
        let configmaps = async {
            match self.helm_configmaps.list_release(namespace, release).await {
                Err(ClusterError::Forbidden { .. }) => Ok(Vec::new()),
                other => other,
            }
        };
        let (secrets, helm_configmaps) = futures::try_join!(secrets, configmaps)?;
        let (charter, rest): (Vec<Value>, Vec<Value>) = secrets
            .into_iter()
            .partition(|s| s.get("type").and_then(Value::as_str) == Some(SECRET_TYPE));
        let helm_secrets = rest
            .into_iter()
            .filter(|s| Driver::Secrets.holds(s))
            .collect();
        Ok(Found {
            charter,
            helm_secrets,
            helm_configmaps,
        })
    }

    /// Where the release's records are (`None`: nowhere), refusing a release in two storages.
    fn locate(
        &self,
        namespace: &str,
        release: &str,
        found: &Found,
    ) -> Result<Option<Storage>, StoreError> {
        let holding: Vec<(Storage, &Vec<Value>)> = found
            .by_storage()
            .into_iter()
            .filter(|(_, objects)| !objects.is_empty())
            .collect();
        if let [(a, a_objs), (b, b_objs), ..] = holding.as_slice() {
            return Err(StoreError::InTwoStorages(Box::new(TwoStorages {
                namespace: namespace.to_string(),
                release: release.to_string(),
                first: format!("{} ({})", a.describe(), names(a_objs)),
                second: format!("{} ({})", b.describe(), names(b_objs)),
                first_delete: a.delete_command(namespace, release),
                second_delete: b.delete_command(namespace, release),
            })));
        }
        let storage = holding.first().map(|(s, _)| *s);
        let mut located = self.located.lock().unwrap_or_else(|e| e.into_inner());
        located.insert((namespace.to_string(), release.to_string()), storage);
        Ok(storage)
    }

    /// Where the release's records are, from the last read of them, else read now.
    async fn storage_of(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Option<Storage>, StoreError> {
        let known = {
            let located = self.located.lock().unwrap_or_else(|e| e.into_inner());
            located
                .get(&(namespace.to_string(), release.to_string()))
                .copied()
        };
        match known {
            Some(s) => Ok(s),
            None => {
                let found = self.find(namespace, release).await?;
                self.locate(namespace, release, &found)
            }
        }
    }

    async fn history(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<ReleaseRecord>, StoreError> {
        let found = self.find(namespace, release).await?;
        match self.locate(namespace, release, &found)? {
            None => Ok(Vec::new()),
            Some(Storage::Charter) => {
                let secrets = found
                    .charter
                    .iter()
                    .map(from_secret_json)
                    .collect::<Result<Vec<_>, _>>()?;
                encoding::records(&secrets)
            }
            Some(Storage::HelmSecrets) => {
                self.helm_secrets
                    .history_from(namespace, release, &found.helm_secrets)
                    .await
            }
            Some(Storage::HelmConfigMaps) => {
                self.helm_configmaps
                    .history_from(namespace, release, &found.helm_configmaps)
                    .await
            }
        }
    }

    async fn list(&self, namespace: Option<&str>) -> Result<Vec<ReleaseHead>, StoreError> {
        let configmaps = async {
            match self.helm_configmaps.list(namespace).await {
                Err(StoreError::Cluster(ClusterError::Forbidden { .. })) => Ok(Vec::new()),
                other => other,
            }
        };
        let (charter, helm_secrets, helm_configmaps) = futures::try_join!(
            self.charter.list(namespace),
            self.helm_secrets.list(namespace),
            configmaps
        )?;
        let mut all: Vec<ReleaseHead> = charter
            .into_iter()
            .chain(helm_secrets)
            .chain(helm_configmaps)
            .collect();
        all.sort_by(|a, b| {
            (&a.namespace, &a.name, a.storage).cmp(&(&b.namespace, &b.name, b.storage))
        });
        Ok(all)
    }
}

impl ReleaseStore for ClusterStore {
    fn history<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Vec<ReleaseRecord>> {
        ClusterStore::history(self, namespace, release).boxed()
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<ReleaseRecord>> {
        async move {
            match self.storage_of(namespace, release).await? {
                Some(s) => self.of(s).get(namespace, release, revision).await,
                None => Ok(None),
            }
        }
        .boxed()
    }

    fn put<'a>(&'a self, namespace: &'a str, record: &'a mut ReleaseRecord) -> StoreFuture<'a, ()> {
        async move {
            let storage = self
                .storage_of(namespace, &record.name)
                .await?
                .unwrap_or(Storage::Charter);
            self.of(storage).put(namespace, record).await?;
            let mut located = self.located.lock().unwrap_or_else(|e| e.into_inner());
            located.insert((namespace.to_string(), record.name.clone()), Some(storage));
            Ok(())
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, ()> {
        async move {
            match self.storage_of(namespace, release).await? {
                Some(s) => self.of(s).delete(namespace, release, revision).await,
                None => Ok(()),
            }
        }
        .boxed()
    }

    fn list<'a>(&'a self, namespace: Option<&'a str>) -> StoreFuture<'a, Vec<ReleaseHead>> {
        ClusterStore::list(self, namespace).boxed()
    }

    fn storage<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Option<Storage>> {
        self.storage_of(namespace, release).boxed()
    }
}
