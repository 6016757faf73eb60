//! `adopt`: a release's history moved from Helm's storage into charter's records, or back.

use super::{Error, Globals, ReleaseRef, connect};
use crate::release::adopt::Adopted;
use crate::release::{self, ClusterStore, LockOptions};

/// An adoption.
pub struct AdoptRequest {
    /// The release.
    pub release: ReleaseRef,
    /// Return it to Helm's storage instead.
    pub to_helm: bool,
    /// Delete Helm's records instead of keeping them as backups.
    pub delete_helm_records: bool,
    /// How to take the lock.
    pub lock: LockOptions,
}

/// Moves a release's history; returns what moved.
pub fn run(globals: &Globals, req: &AdoptRequest) -> Result<Adopted, Error> {
    super::runtime()?.block_on(async {
        let r = &req.release;
        let cluster = connect(globals, r.target.as_ref()).await?;
        let stores = ClusterStore::new(&cluster);
        let mut session = release::begin(
            &cluster,
            &stores,
            &r.namespace,
            &r.release,
            &req.lock,
            &|_| {},
        )
        .await?;
        let result = match req.to_helm {
            true => session.return_to_helm(&stores).await,
            false => session.adopt(&stores, req.delete_helm_records).await,
        };
        session.finish().await;
        Ok(result?)
    })
}
