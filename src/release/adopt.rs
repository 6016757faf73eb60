//! `charter adopt`: a release's history moved from Helm's storage into charter's records, and
//! (`--to-helm`) back.
//!
//! Adopting copies every revision into charter's Secrets (with their checksums, the lock and
//! split records from then on), then takes Helm's records out of Helm's sight: deleted, or kept
//! as backups relabelled `owner=charter-adopted`. The objects are left as they are: the next
//! charter apply moves the fields Helm owns ([`super::takeover`]) and drops Helm's marks.
//!
//! Returning to Helm writes every revision as a Helm record (refusing, before writing any, one
//! too large for one Secret), gives the deployed revision's objects Helm's ownership marks and
//! moves charter's fields to Helm's manager, so `helm upgrade` meets no conflict, then deletes
//! charter's records.

use serde_json::json;

use super::error::OpError;
use super::session::Session;
use super::store::helm::{Driver, HelmRelease, Inherited, check_size};
use super::store::{ClusterStore, ReleaseStore, Storage};
use super::takeover::{self, HELM_MANAGER};
use crate::cluster::FIELD_MANAGER;
use crate::object::{
    HELM_ANNOTATION_RELEASE, HELM_ANNOTATION_RELEASE_NS, HELM_LABEL_MANAGED_BY, HELM_MANAGED_BY,
};

/// What an adoption did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    /// Where the history was.
    pub from: Storage,
    /// Where it is now.
    pub to: Storage,
    /// How many revisions moved.
    pub revisions: usize,
    /// Whether the records left behind were deleted (else kept as backups).
    pub deleted: bool,
    /// Objects whose fields moved to Helm's manager (`--to-helm`).
    pub objects: usize,
}

impl Session<'_> {
    fn refuse_pending(&self) -> Result<(), OpError> {
        match self.history.last() {
            Some(r) if r.status.is_pending() => Err(OpError::AdoptPending {
                release: self.release.clone(),
                namespace: self.namespace.clone(),
                revision: r.revision,
                status: r.status.to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn not_found(&self) -> OpError {
        OpError::NotFound {
            release: self.release.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// Moves the release's history from Helm's storage into charter's records; Helm's records
    /// are deleted (`delete_helm_records`) or kept as backups.
    pub async fn adopt(
        &mut self,
        stores: &ClusterStore,
        delete_helm_records: bool,
    ) -> Result<Adopted, OpError> {
        if self.history.is_empty() {
            return Err(self.not_found());
        }
        let from = self.storage;
        let driver = match from {
            Storage::HelmSecrets => Driver::Secrets,
            Storage::HelmConfigMaps => Driver::ConfigMaps,
            Storage::Charter => {
                return Err(OpError::AlreadyIn {
                    release: self.release.clone(),
                    namespace: self.namespace.clone(),
                    storage: Storage::Charter.describe().to_string(),
                    hint: "`charter adopt --to-helm` returns it to Helm's".into(),
                });
            }
        };
        self.refuse_pending()?;
        let charter = stores.charter();
        let mut written = Vec::new();
        for record in &mut self.history {
            if let Err(e) = charter.put(&self.namespace, record).await {
                // Leave one storage holding the release, not two.
                for &rev in &written {
                    let _ = charter.delete(&self.namespace, &self.release, rev).await;
                }
                return Err(e.into());
            }
            written.push(record.revision);
        }
        let helm = stores.helm(driver);
        for &rev in &written {
            helm.retire(&self.namespace, &self.release, rev, delete_helm_records)
                .await?;
        }
        self.storage = Storage::Charter;
        Ok(Adopted {
            from,
            to: Storage::Charter,
            revisions: written.len(),
            deleted: delete_helm_records,
            objects: 0,
        })
    }

    /// Writes the release's history back into Helm's storage (Secrets) and deletes charter's
    /// records; the deployed revision's objects get Helm's marks and field ownership.
    pub async fn return_to_helm(&mut self, stores: &ClusterStore) -> Result<Adopted, OpError> {
        if self.history.is_empty() {
            return Err(self.not_found());
        }
        if self.storage.is_helm() {
            return Err(OpError::AlreadyIn {
                release: self.release.clone(),
                namespace: self.namespace.clone(),
                storage: self.storage.describe().to_string(),
                hint: "Helm can operate on it as it is".into(),
            });
        }
        self.refuse_pending()?;
        let driver = Driver::Secrets;
        // Helm 4 upgrades it with server-side apply, as the field ownership moved below expects.
        let inherited = Inherited {
            apply_method: Some("ssa".into()),
            labels: Default::default(),
        };
        for record in &self.history {
            let size = HelmRelease::from_record(record, &inherited).encode().len();
            check_size(&self.namespace, record, size, driver)?;
        }
        let mut objects = 0;
        if let Some(deployed) = self.deployed().cloned() {
            for item in &deployed.inventory {
                let patch = json!({"metadata": {
                    "labels": {HELM_LABEL_MANAGED_BY: HELM_MANAGED_BY},
                    "annotations": {
                        HELM_ANNOTATION_RELEASE: self.release,
                        HELM_ANNOTATION_RELEASE_NS: self.namespace,
                    },
                }});
                if self.cluster.get_object(item).await?.is_none() {
                    continue;
                }
                self.cluster.patch_merge(item, &patch).await?;
                takeover::move_ownership(self.cluster, item, None, FIELD_MANAGER, HELM_MANAGER)
                    .await?;
                objects += 1;
            }
        }
        let helm = stores.helm(driver);
        let mut written = Vec::new();
        for record in &mut self.history {
            if let Err(e) = helm.put_new(&self.namespace, record, &inherited).await {
                // Leave one storage holding the release, not two.
                for &rev in &written {
                    let _ = ReleaseStore::delete(helm, &self.namespace, &self.release, rev).await;
                }
                return Err(e.into());
            }
            written.push(record.revision);
        }
        let charter = stores.charter();
        for record in &self.history {
            charter
                .delete(&self.namespace, &self.release, record.revision)
                .await?;
        }
        self.storage = driver.storage();
        Ok(Adopted {
            from: Storage::Charter,
            to: self.storage,
            revisions: self.history.len(),
            deleted: true,
            objects,
        })
    }
}
