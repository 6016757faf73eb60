//! Helm's release storage, read and written as Helm does: one Secret (Helm's default driver) or
//! ConfigMap (`HELM_DRIVER=configmap`) per revision, named `sh.helm.release.v1.<release>.v<N>`
//! and labelled `owner=helm,name=<release>,version=<N>,status=<status>` ([`format`] is the
//! record inside).
//!
//! Helm does not store where a manifest's objects live: a document without a namespace is in
//! the release's namespace when its kind is namespaced. The store asks the cluster's discovery
//! which kinds are (a kind the cluster no longer serves counts as namespaced), so a revision's
//! inventory names the same objects a deploy applies and prunes.

pub mod format;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use base64::Engine;
use futures::FutureExt;
use serde_json::{Value, json};

pub use format::{HelmRelease, Inherited};

use super::{ReleaseHead, ReleaseStore, Storage, StoreError, StoreFuture, latest_heads};
use crate::cluster::{ApplyOptions, Cluster, ClusterError};
use crate::object::ObjectRef;
use crate::release::record::{ReleaseRecord, Status};

/// Which of Helm's drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Secrets of type `helm.sh/release.v1`.
    Secrets,
    /// ConfigMaps.
    ConfigMaps,
}

impl Driver {
    /// The kind the driver stores records in.
    pub fn kind(self) -> &'static str {
        match self {
            Driver::Secrets => "Secret",
            Driver::ConfigMaps => "ConfigMap",
        }
    }

    /// The storage this driver is.
    pub fn storage(self) -> Storage {
        match self {
            Driver::Secrets => Storage::HelmSecrets,
            Driver::ConfigMaps => Storage::HelmConfigMaps,
        }
    }

    /// Whether a listed object is one of Helm's records.
    pub fn holds(self, obj: &Value) -> bool {
        match self {
            Driver::Secrets => obj.get("type").and_then(Value::as_str) == Some(format::SECRET_TYPE),
            Driver::ConfigMaps => obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("sh.helm.release.v1.")),
        }
    }
}

/// The label selector of one release's records (or of every release's).
pub fn selector(release: Option<&str>) -> String {
    match release {
        Some(r) => format!("owner={},name={r}", format::OWNER),
        None => format!("owner={}", format::OWNER),
    }
}

/// One of Helm's records as stored: the object's name, namespace and labels, and the decoded
/// release.
#[derive(Debug, Clone)]
pub struct StoredHelm {
    /// Object name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The release inside.
    pub release: HelmRelease,
}

impl StoredHelm {
    /// What the next revision takes over from this one.
    pub fn inherited(&self) -> Inherited {
        Inherited {
            apply_method: self.release.apply_method.clone(),
            labels: self
                .labels
                .iter()
                .filter(|(k, _)| !format::SYSTEM_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Release records in one of Helm's storages.
pub struct HelmStore {
    cluster: Cluster,
    driver: Driver,
    /// Per (namespace, release): what a new revision takes over from the latest one read.
    inherited: Mutex<HashMap<(String, String), Inherited>>,
}

impl HelmStore {
    /// Helm's records in `cluster`, through `driver`.
    pub fn new(cluster: &Cluster, driver: Driver) -> HelmStore {
        HelmStore {
            cluster: cluster.clone(),
            driver,
            inherited: Mutex::default(),
        }
    }

    /// The driver.
    pub fn driver(&self) -> Driver {
        self.driver
    }

    fn damaged(&self, namespace: &str, name: &str, message: String) -> StoreError {
        StoreError::HelmRecord {
            kind: self.driver.kind(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            message,
        }
    }

    /// Decodes a listed or fetched Secret/ConfigMap.
    pub fn read_object(&self, obj: &Value) -> Result<StoredHelm, StoreError> {
        let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
        let (name, namespace) = (text("/metadata/name"), text("/metadata/namespace"));
        let labels = obj
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let data = obj
            .pointer(&format!("/data/{}", format::DATA_KEY))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                self.damaged(
                    namespace,
                    name,
                    format!("has no `{}` data key", format::DATA_KEY),
                )
            })?;
        let encoded = match self.driver {
            Driver::Secrets => base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|e| self.damaged(namespace, name, format!("data is not base64: {e}")))?,
            Driver::ConfigMaps => data.as_bytes().to_vec(),
        };
        let release =
            HelmRelease::decode(&encoded).map_err(|m| self.damaged(namespace, name, m))?;
        Ok(StoredHelm {
            name: name.to_string(),
            namespace: namespace.to_string(),
            labels,
            release,
        })
    }

    fn to_object(
        &self,
        name: &str,
        namespace: &str,
        labels: &BTreeMap<String, String>,
        encoded: Vec<u8>,
    ) -> Value {
        let meta = json!({"name": name, "namespace": namespace, "labels": labels});
        match self.driver {
            Driver::Secrets => json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": meta,
                "type": format::SECRET_TYPE,
                "data": {format::DATA_KEY: base64::engine::general_purpose::STANDARD.encode(&encoded)},
            }),
            Driver::ConfigMaps => json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": meta,
                "data": {format::DATA_KEY: String::from_utf8_lossy(&encoded)},
            }),
        }
    }

    /// The records of one release, as listed (undecoded objects).
    pub async fn list_release(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let items = self
            .cluster
            .list(
                "v1",
                self.driver.kind(),
                Some(namespace),
                &selector(Some(release)),
            )
            .await?;
        Ok(items.into_iter().filter(|o| self.driver.holds(o)).collect())
    }

    /// Decodes listed records into revisions, oldest first, remembering what the next revision
    /// inherits from the latest.
    pub async fn history_from(
        &self,
        namespace: &str,
        release: &str,
        objects: &[Value],
    ) -> Result<Vec<ReleaseRecord>, StoreError> {
        let mut stored = objects
            .iter()
            .map(|o| self.read_object(o))
            .collect::<Result<Vec<_>, _>>()?;
        stored.sort_by_key(|s| s.release.version);
        if let Some(latest) = stored.last() {
            self.remember(namespace, release, latest.inherited());
        }
        self.to_records(&stored).await
    }

    fn remember(&self, namespace: &str, release: &str, inherited: Inherited) {
        let mut m = self.inherited.lock().unwrap_or_else(|e| e.into_inner());
        m.insert((namespace.to_string(), release.to_string()), inherited);
    }

    /// Revisions of decoded records, their inventories placed by the cluster's discovery.
    pub async fn to_records(
        &self,
        stored: &[StoredHelm],
    ) -> Result<Vec<ReleaseRecord>, StoreError> {
        let mut objects = Vec::with_capacity(stored.len());
        let mut kinds: HashSet<(String, String)> = HashSet::new();
        for s in stored {
            let objs = s
                .release
                .objects()
                .map_err(|m| self.damaged(&s.namespace, &s.name, m))?;
            kinds.extend(objs.iter().map(|o| (o.api_version.clone(), o.kind.clone())));
            objects.push(objs);
        }
        let mut namespaced: HashMap<(String, String), bool> = HashMap::new();
        for (api_version, kind) in kinds {
            let scope = match self.cluster.is_namespaced(&api_version, &kind).await {
                Ok(n) => n,
                Err(ClusterError::UnknownKind { .. }) => true,
                Err(e) => return Err(e.into()),
            };
            namespaced.insert((api_version, kind), scope);
        }
        let is_namespaced = |o: &ObjectRef| {
            namespaced
                .get(&(o.api_version.clone(), o.kind.clone()))
                .copied()
                .unwrap_or(true)
        };
        stored
            .iter()
            .map(|s| {
                let inventory = s
                    .release
                    .inventory(&is_namespaced)
                    .map_err(|m| self.damaged(&s.namespace, &s.name, m))?;
                Ok(s.release.to_record(inventory))
            })
            .collect()
    }

    async fn fetch(&self, namespace: &str, name: &str) -> Result<Option<Value>, StoreError> {
        Ok(self
            .cluster
            .get("v1", self.driver.kind(), Some(namespace), name)
            .await?)
    }

    /// The stored record of a revision, if Helm's storage holds it (a backup left by
    /// `charter adopt` is not Helm's any more).
    async fn stored(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
    ) -> Result<Option<StoredHelm>, StoreError> {
        let name = format::object_name(release, revision);
        match self.fetch(namespace, &name).await? {
            Some(o)
                if self.driver.holds(&o)
                    && o.pointer("/metadata/labels/owner").and_then(Value::as_str)
                        == Some(format::OWNER) =>
            {
                Ok(Some(self.read_object(&o)?))
            }
            _ => Ok(None),
        }
    }

    async fn get(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
    ) -> Result<Option<ReleaseRecord>, StoreError> {
        let Some(s) = self.stored(namespace, release, revision).await? else {
            return Ok(None);
        };
        Ok(self.to_records(std::slice::from_ref(&s)).await?.pop())
    }

    /// Writes a revision: an existing record of Helm's keeps everything but what an operation
    /// changes ([`HelmRelease::set_state`]); a new one is written from `record`, with what it
    /// inherits from the latest revision read.
    async fn put(&self, namespace: &str, record: &mut ReleaseRecord) -> Result<(), StoreError> {
        record.namespace = namespace.to_string();
        let existing = self
            .stored(namespace, &record.name, record.revision)
            .await?;
        let (release, mut labels, stamp) = match existing {
            Some(mut s) => {
                s.release.set_state(record);
                (s.release, s.labels, "modifiedAt")
            }
            None => {
                let inherited = {
                    let m = self.inherited.lock().unwrap_or_else(|e| e.into_inner());
                    m.get(&(namespace.to_string(), record.name.clone()))
                        .cloned()
                        .unwrap_or_default()
                };
                (
                    HelmRelease::from_record(record, &inherited),
                    inherited.labels,
                    "createdAt",
                )
            }
        };
        self.write(namespace, record, &release, &mut labels, stamp)
            .await
    }

    /// Writes `record` as a new Helm record, replacing whatever has its name (`adopt
    /// --to-helm`).
    pub async fn put_new(
        &self,
        namespace: &str,
        record: &mut ReleaseRecord,
        inherited: &Inherited,
    ) -> Result<(), StoreError> {
        record.namespace = namespace.to_string();
        let release = HelmRelease::from_record(record, inherited);
        let mut labels = inherited.labels.clone();
        self.write(namespace, record, &release, &mut labels, "createdAt")
            .await
    }

    async fn write(
        &self,
        namespace: &str,
        record: &ReleaseRecord,
        release: &HelmRelease,
        labels: &mut BTreeMap<String, String>,
        stamp: &str,
    ) -> Result<(), StoreError> {
        let encoded = release.encode();
        check_size(namespace, record, encoded.len(), self.driver)?;
        labels.insert("name".into(), record.name.clone());
        labels.insert("owner".into(), format::OWNER.into());
        labels.insert("status".into(), record.status.as_str().into());
        labels.insert("version".into(), record.revision.to_string());
        labels.insert(stamp.into(), jiff::Timestamp::now().as_second().to_string());
        let name = format::object_name(&record.name, record.revision);
        let obj = self.to_object(&name, namespace, labels, encoded);
        let opts = ApplyOptions {
            force: true,
            dry_run: false,
        };
        self.cluster.apply(&obj, opts).await?;
        Ok(())
    }

    /// Takes a revision out of Helm's storage after `charter adopt` copied it: deleted, or
    /// kept as a backup Helm and charter no longer read (its `owner` label becomes
    /// [`format::ADOPTED_OWNER`]; setting it back to `helm` restores it).
    pub async fn retire(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
        delete: bool,
    ) -> Result<(), StoreError> {
        let name = format::object_name(release, revision);
        if delete {
            return self.delete(namespace, release, revision).await;
        }
        let item = ObjectRef::new("v1", self.driver.kind(), Some(namespace), &name);
        let patch = json!({"metadata": {"labels": {"owner": format::ADOPTED_OWNER}}});
        self.cluster.patch_merge(&item, &patch).await?;
        Ok(())
    }

    async fn delete(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
    ) -> Result<(), StoreError> {
        self.cluster
            .delete(
                "v1",
                self.driver.kind(),
                Some(namespace),
                &format::object_name(release, revision),
            )
            .await?;
        Ok(())
    }

    /// The latest revision of every release, from labels only.
    async fn list(&self, namespace: Option<&str>) -> Result<Vec<ReleaseHead>, StoreError> {
        let metas = self
            .cluster
            .list_metadata("v1", self.driver.kind(), namespace, &selector(None))
            .await?;
        let storage = self.driver.storage();
        let heads = metas.into_iter().filter_map(|m| {
            if !m.name.as_deref()?.starts_with("sh.helm.release.v1.") {
                return None;
            }
            let labels = m.labels.as_ref()?;
            Some(ReleaseHead {
                namespace: m.namespace.clone().unwrap_or_default(),
                name: labels.get("name")?.clone(),
                revision: labels.get("version")?.parse().ok()?,
                status: labels.get("status").and_then(|s| Status::parse(s)),
                storage,
            })
        });
        Ok(latest_heads(heads))
    }
}

/// Refuses a record Kubernetes would not take in one Secret or ConfigMap, naming its size.
pub fn check_size(
    namespace: &str,
    record: &ReleaseRecord,
    encoded: usize,
    driver: Driver,
) -> Result<(), StoreError> {
    let limit = format::MAX_DATA_BYTES - format::DATA_KEY.len();
    if encoded > limit {
        return Err(StoreError::TooLargeForHelm {
            namespace: namespace.to_string(),
            release: record.name.clone(),
            revision: record.revision,
            size: encoded,
            limit,
            kind: driver.kind(),
        });
    }
    Ok(())
}

impl ReleaseStore for HelmStore {
    fn history<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Vec<ReleaseRecord>> {
        async move {
            let objects = self.list_release(namespace, release).await?;
            self.history_from(namespace, release, &objects).await
        }
        .boxed()
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<ReleaseRecord>> {
        HelmStore::get(self, namespace, release, revision).boxed()
    }

    fn put<'a>(&'a self, namespace: &'a str, record: &'a mut ReleaseRecord) -> StoreFuture<'a, ()> {
        HelmStore::put(self, namespace, record).boxed()
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, ()> {
        HelmStore::delete(self, namespace, release, revision).boxed()
    }

    fn list<'a>(&'a self, namespace: Option<&'a str>) -> StoreFuture<'a, Vec<ReleaseHead>> {
        HelmStore::list(self, namespace).boxed()
    }

    fn storage<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Option<Storage>> {
        async move {
            let found = !self.list_release(namespace, release).await?.is_empty();
            Ok(found.then_some(self.driver.storage()))
        }
        .boxed()
    }
}
