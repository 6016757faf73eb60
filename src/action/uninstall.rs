//! `uninstall`: a release's objects deleted, and its records (or the last one kept, marked
//! uninstalled).

use std::time::Duration;

use super::{Error, Globals, ReleaseRef, connect};
use crate::release::{self, ClusterStore, LockOptions, Report};

/// An uninstall.
pub struct UninstallRequest {
    /// The release.
    pub release: ReleaseRef,
    /// Keep the records, marked uninstalled.
    pub keep_history: bool,
    /// Wait until every object is gone, up to this long.
    pub wait: Option<Duration>,
    /// How to take the lock.
    pub lock: LockOptions,
}

/// Uninstalls a release.
pub fn run(globals: &Globals, req: &UninstallRequest, report: Report<'_>) -> Result<(), Error> {
    super::runtime()?.block_on(async {
        let r = &req.release;
        let cluster = connect(globals, r.target.as_ref()).await?;
        let store = ClusterStore::new(&cluster);
        let mut session =
            release::begin(&cluster, &store, &r.namespace, &r.release, &req.lock).await?;
        let result = session.uninstall(req.keep_history, req.wait, report).await;
        session.finish().await;
        Ok(result?)
    })
}
