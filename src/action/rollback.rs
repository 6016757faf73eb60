//! `rollback`: a new revision with an earlier revision's manifest and values.

use super::{Error, Globals, ReleaseRef, connect};
use crate::release::{self, ApplyHow, ClusterStore, LockOptions, ReleaseRecord, Report};

/// A rollback.
pub struct RollbackRequest {
    /// The release.
    pub release: ReleaseRef,
    /// The revision to return to (default: the previous deployed revision).
    pub revision: Option<u64>,
    /// Conflicts and the readiness wait (ownership is never taken over).
    pub how: ApplyHow,
    /// Keep at most this many revisions (0 = unlimited).
    pub history_max: usize,
    /// How to take the lock.
    pub lock: LockOptions,
}

/// Rolls a release back; returns the revision written.
pub fn run(
    globals: &Globals,
    req: &RollbackRequest,
    report: Report<'_>,
) -> Result<ReleaseRecord, Error> {
    super::runtime()?.block_on(async {
        let r = &req.release;
        let cluster = connect(globals, r.target.as_ref()).await?;
        let store = ClusterStore::new(&cluster);
        let mut session =
            release::begin(&cluster, &store, &r.namespace, &r.release, &req.lock).await?;
        let result = async {
            let target = session.rollback_target(req.revision)?.clone();
            let deploy = release::rollback_deploy(
                &target,
                session.next_revision(),
                req.how,
                req.history_max,
            )?;
            session.deploy(deploy, report).await
        }
        .await;
        session.finish().await;
        Ok(result?)
    })
}
