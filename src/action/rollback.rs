//! `rollback`: a new revision with an earlier revision's manifest and values.

use super::{Error, Globals, ReleaseRef, on_release};
use crate::release::{self, ApplyHow, LockOptions, ReleaseRecord, Report};

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
    on_release(globals, &req.release, &req.lock, async |session| {
        let target = session.rollback_target(req.revision)?.clone();
        let next = session.next_revision();
        let deploy = release::rollback_deploy(&target, next, req.how, req.history_max)?;
        Ok(session.deploy(deploy, report).await?)
    })
}
