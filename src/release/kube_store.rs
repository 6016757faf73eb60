//! Release records in the cluster: one Secret per revision (plus part Secrets for records
//! over the size limit) in the release's namespace, found by label selector.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Value, json};

use super::record::ReleaseRecord;
use super::store::{self, DATA_KEY, SECRET_TYPE, StoreError, StoredSecret};
use crate::cluster::{ApplyOptions, Cluster, ClusterError};

/// Errors of the cluster store.
#[derive(Debug, thiserror::Error)]
pub enum KubeStoreError {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A stored record is damaged.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A Secret does not have the shape charter writes.
    #[error("Secret {namespace}/{name}: {message}")]
    Malformed {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The release records of one namespace.
pub struct SecretStore<'c> {
    cluster: &'c Cluster,
    namespace: String,
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

fn from_secret_json(v: &Value) -> Result<StoredSecret, KubeStoreError> {
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
        .ok_or_else(|| KubeStoreError::Malformed {
            namespace: namespace.clone(),
            name: name.clone(),
            message: format!("has no `{DATA_KEY}` data key; it was not written by charter"),
        })?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| KubeStoreError::Malformed {
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

impl<'c> SecretStore<'c> {
    /// The store of `namespace`.
    pub fn new(cluster: &'c Cluster, namespace: &str) -> SecretStore<'c> {
        SecretStore {
            cluster,
            namespace: namespace.to_string(),
        }
    }

    async fn secrets(&self, release: &str) -> Result<Vec<StoredSecret>, KubeStoreError> {
        let items = self
            .cluster
            .list(
                "v1",
                "Secret",
                Some(&self.namespace),
                &store::selector(Some(release)),
            )
            .await?;
        items
            .iter()
            .filter(|v| v.get("type").and_then(Value::as_str) == Some(SECRET_TYPE))
            .map(from_secret_json)
            .collect()
    }

    /// Every revision of a release, oldest first. A damaged revision is an error naming its
    /// Secret: charter does not act on a history it cannot trust.
    pub async fn history(&self, release: &str) -> Result<Vec<ReleaseRecord>, KubeStoreError> {
        let secrets = self.secrets(release).await?;
        let parts: Vec<&StoredSecret> = secrets.iter().filter(|s| s.part().is_some()).collect();
        let mut out = Vec::new();
        for main in secrets.iter().filter(|s| s.part().is_none()) {
            out.push(store::from_secrets(main, &parts)?);
        }
        out.sort_by_key(|r| r.revision);
        Ok(out)
    }

    /// One revision.
    pub async fn get(
        &self,
        release: &str,
        revision: u64,
    ) -> Result<Option<ReleaseRecord>, KubeStoreError> {
        let name = store::secret_name(release, revision);
        let Some(main) = self
            .cluster
            .get("v1", "Secret", Some(&self.namespace), &name)
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
                .get("v1", "Secret", Some(&self.namespace), &pname)
                .await?
            {
                parts.push(from_secret_json(&p)?);
            }
        }
        let refs: Vec<&StoredSecret> = parts.iter().collect();
        Ok(Some(store::from_secrets(&main, &refs)?))
    }

    /// Writes (creates or replaces) a revision: parts first, the main Secret last, so a
    /// reader never sees a main Secret whose parts are not there yet; stale parts of an
    /// earlier, larger write are removed.
    pub async fn put(&self, record: &mut ReleaseRecord) -> Result<(), KubeStoreError> {
        record.namespace = self.namespace.clone();
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
                .delete("v1", "Secret", Some(&self.namespace), &stale)
                .await?
            {
                break;
            }
            k += 1;
        }
        Ok(())
    }

    /// Deletes a revision and its parts.
    pub async fn delete(&self, release: &str, revision: u64) -> Result<(), KubeStoreError> {
        let main = store::secret_name(release, revision);
        self.cluster
            .delete("v1", "Secret", Some(&self.namespace), &main)
            .await?;
        let mut k = 1;
        while self
            .cluster
            .delete(
                "v1",
                "Secret",
                Some(&self.namespace),
                &store::part_name(release, revision, k),
            )
            .await?
        {
            k += 1;
        }
        Ok(())
    }
}
