//! Release records in the cluster: one Secret per revision (plus part Secrets for records
//! over the size limit) in the release's namespace, found by label selector.

use std::collections::BTreeMap;

use base64::Engine;
use futures::FutureExt;
use serde_json::{Value, json};

use super::encoding::{
    self as store, DATA_KEY, LABEL_NAME, LABEL_REVISION, LABEL_STATUS, SECRET_TYPE, StoredSecret,
};
use super::{ReleaseHead, ReleaseStore, StoreError, StoreFuture, latest_heads};
use crate::cluster::{ApplyOptions, Cluster};
use crate::release::record::{ReleaseRecord, Status};

/// Release records as Secrets in a cluster.
#[derive(Clone)]
pub struct SecretStore {
    cluster: Cluster,
}

fn to_secret_json(s: &StoredSecret) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": s.name,
            "namespace": s.namespace,
            "labels": s.labels,
            "annotations": s.annotations,
        },
        "type": SECRET_TYPE,
        "data": { DATA_KEY: base64::engine::general_purpose::STANDARD.encode(&s.data) },
    })
}

/// Reads a listed or fetched Secret charter wrote.
pub(super) fn from_secret_json(v: &Value) -> Result<StoredSecret, StoreError> {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, namespace) = (s("/metadata/name"), s("/metadata/namespace"));
    let map = |p: &str| -> BTreeMap<String, String> {
        v.pointer(p)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let encoded = v
        .pointer(&format!("/data/{DATA_KEY}"))
        .and_then(Value::as_str)
        .ok_or_else(|| StoreError::Malformed {
            namespace: namespace.clone(),
            name: name.clone(),
            message: format!("has no `{DATA_KEY}` data key; it was not written by charter"),
        })?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| StoreError::Malformed {
            namespace: namespace.clone(),
            name: name.clone(),
            message: format!("data is not base64: {e}"),
        })?;
    Ok(StoredSecret {
        labels: map("/metadata/labels"),
        annotations: map("/metadata/annotations"),
        name,
        namespace,
        data,
    })
}

impl SecretStore {
    /// The records of `cluster`.
    pub fn new(cluster: &Cluster) -> SecretStore {
        SecretStore {
            cluster: cluster.clone(),
        }
    }

    async fn secrets(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<StoredSecret>, StoreError> {
        let items = self
            .cluster
            .list(
                "v1",
                "Secret",
                Some(namespace),
                &store::selector(Some(release)),
            )
            .await?;
        items
            .iter()
            .filter(|v| v.get("type").and_then(Value::as_str) == Some(SECRET_TYPE))
            .map(from_secret_json)
            .collect()
    }

    async fn history(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<ReleaseRecord>, StoreError> {
        store::records(&self.secrets(namespace, release).await?)
    }

    async fn get(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
    ) -> Result<Option<ReleaseRecord>, StoreError> {
        let name = store::secret_name(release, revision);
        let Some(main) = self
            .cluster
            .get("v1", "Secret", Some(namespace), &name)
            .await?
        else {
            return Ok(None);
        };
        let main = from_secret_json(&main)?;
        let count: usize = main
            .annotations
            .get(store::ANNOTATION_PARTS)
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let mut parts = Vec::new();
        for k in 1..count {
            let pname = store::part_name(release, revision, k);
            if let Some(p) = self
                .cluster
                .get("v1", "Secret", Some(namespace), &pname)
                .await?
            {
                parts.push(from_secret_json(&p)?);
            }
        }
        let refs: Vec<&StoredSecret> = parts.iter().collect();
        Ok(Some(store::from_secrets(&main, &refs)?))
    }

    /// Parts first, the main Secret last, so a reader never sees a main Secret whose parts
    /// are not there yet; stale parts of an earlier, larger write are removed.
    async fn put(&self, namespace: &str, record: &mut ReleaseRecord) -> Result<(), StoreError> {
        record.namespace = namespace.to_string();
        let t0 = std::time::Instant::now();
        let secrets = store::to_secrets(record);
        tracing::debug!(
            "revision {} encoded in {:?} ({} Secret(s), {} bytes)",
            record.revision,
            t0.elapsed(),
            secrets.len(),
            secrets.iter().map(|s| s.data.len()).sum::<usize>()
        );
        let opts = ApplyOptions {
            force: true,
            dry_run: false,
        };
        for s in secrets.iter().skip(1) {
            self.cluster.apply(&to_secret_json(s), opts).await?;
        }
        self.cluster
            .apply(&to_secret_json(&secrets[0]), opts)
            .await?;
        let mut k = secrets.len();
        loop {
            let stale = store::part_name(&record.name, record.revision, k);
            if !self
                .cluster
                .delete("v1", "Secret", Some(namespace), &stale)
                .await?
            {
                break;
            }
            k += 1;
        }
        Ok(())
    }

    async fn delete(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
    ) -> Result<(), StoreError> {
        let main = store::secret_name(release, revision);
        self.cluster
            .delete("v1", "Secret", Some(namespace), &main)
            .await?;
        let mut k = 1;
        while self
            .cluster
            .delete(
                "v1",
                "Secret",
                Some(namespace),
                &store::part_name(release, revision, k),
            )
            .await?
        {
            k += 1;
        }
        Ok(())
    }

    /// Reads the labels of every main Secret; no record is decoded.
    async fn list(&self, namespace: Option<&str>) -> Result<Vec<ReleaseHead>, StoreError> {
        let secrets = self
            .cluster
            .list("v1", "Secret", namespace, &store::selector(None))
            .await?;
        let heads = secrets.iter().filter_map(|s| {
            if s.get("type").and_then(Value::as_str) != Some(SECRET_TYPE) {
                return None;
            }
            let label = |k: &str| {
                s.pointer(&format!("/metadata/labels/{k}"))
                    .and_then(Value::as_str)
            };
            let (name, revision, status) = (
                label(LABEL_NAME)?,
                label(LABEL_REVISION)?.parse::<u64>().ok()?,
                label(LABEL_STATUS)?,
            );
            Some(ReleaseHead {
                namespace: s
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                name: name.to_string(),
                revision,
                status: Status::parse(status),
                storage: super::Storage::Charter,
            })
        });
        Ok(latest_heads(heads))
    }
}

impl ReleaseStore for SecretStore {
    fn history<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Vec<ReleaseRecord>> {
        SecretStore::history(self, namespace, release).boxed()
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<ReleaseRecord>> {
        SecretStore::get(self, namespace, release, revision).boxed()
    }

    fn put<'a>(&'a self, namespace: &'a str, record: &'a mut ReleaseRecord) -> StoreFuture<'a, ()> {
        SecretStore::put(self, namespace, record).boxed()
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, ()> {
        SecretStore::delete(self, namespace, release, revision).boxed()
    }

    fn list<'a>(&'a self, namespace: Option<&'a str>) -> StoreFuture<'a, Vec<ReleaseHead>> {
        SecretStore::list(self, namespace).boxed()
    }
}
