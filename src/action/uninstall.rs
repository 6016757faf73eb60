//! `uninstall`: a release's objects deleted, and its records (or the last one kept, marked
//! uninstalled).

use std::time::Duration;

use super::{Error, Globals, ReleaseRef, on_release};
use crate::release::{LockOptions, Report};

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
    on_release(globals, &req.release, &req.lock, async |session| {
        Ok(session
            .uninstall(req.keep_history, req.wait, report)
            .await?)
    })
}
