//! `uninstall`: a release's objects deleted, and its records (or the last one kept, marked
//! uninstalled).

use std::time::Duration;

use super::{Error, Globals, ReleaseRef, connect, on_release};
use crate::cluster::Cascade;
use crate::object::ObjectRef;
use crate::release::{LockOptions, ReleaseStore, Report, RunHooks, SecretStore, Status};

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
    /// What happens to the dependents of deleted objects.
    pub cascade: Cascade,
    /// Only say what would be deleted.
    pub dry_run: bool,
    /// A release that does not exist is not an error.
    pub ignore_not_found: bool,
    /// Whether the pre-/post-delete hooks run.
    pub hooks: RunHooks,
}

/// What an uninstall did.
#[derive(Debug)]
pub enum Uninstalled {
    /// The release is gone (its last record kept with `keep_history`).
    Done,
    /// A dry run: the objects that would be deleted, in the release's record order.
    DryRun(Vec<ObjectRef>),
    /// There was no such release, and `ignore_not_found` said that is fine.
    NotFound,
}

/// Uninstalls a release.
pub fn run(
    globals: &Globals,
    req: &UninstallRequest,
    report: Report<'_>,
) -> Result<Uninstalled, Error> {
    if req.dry_run || req.ignore_not_found {
        // Read without the lock: a dry run changes nothing, and a release that does not
        // exist has no lock to take.
        let r = &req.release;
        let history = super::runtime()?.block_on(async {
            let cluster = connect(globals, r.target.as_ref()).await?;
            Ok::<_, Error>(
                SecretStore::new(&cluster)
                    .history(&r.namespace, &r.release)
                    .await?,
            )
        })?;
        match history
            .iter()
            .rev()
            .find(|h| h.status != Status::Uninstalled)
        {
            None if req.ignore_not_found => return Ok(Uninstalled::NotFound),
            None => {
                return Err(Error::Invalid(format!(
                    "release {}/{} not found: nothing to uninstall (--ignore-not-found makes that no error)",
                    r.namespace, r.release
                )));
            }
            Some(last) if req.dry_run => return Ok(Uninstalled::DryRun(last.inventory.clone())),
            Some(_) => {}
        }
    }
    on_release(globals, &req.release, &req.lock, report, async |session| {
        session
            .uninstall(req.keep_history, req.wait, req.cascade, req.hooks, report)
            .await?;
        Ok(Uninstalled::Done)
    })
}
