//! `test`: a release's test hooks (`helm.sh/hook: test` on a Helm chart, `charter.dev/hook:
//! test` on a charter chart) run against the deployed revision, their runs recorded with it.

use super::{Error, Globals, ReleaseRef, on_release};
use crate::release::hooks::{TestFilter, Tested};
use crate::release::{LockOptions, Report, RunHooks};

/// A test run.
pub struct TestRequest {
    /// The release.
    pub release: ReleaseRef,
    /// Which tests run (`--filter`).
    pub filter: TestFilter,
    /// How long each test may run.
    pub timeout: std::time::Duration,
    /// Read each test Pod's logs (`--logs`).
    pub logs: bool,
    /// How to take the lock.
    pub lock: LockOptions,
}

/// Runs the release's tests. A test that fails is in [`Tested::failure`], not an error: the
/// runs before it and its logs are still shown.
pub fn run(globals: &Globals, req: &TestRequest, report: Report<'_>) -> Result<Tested, Error> {
    on_release(globals, &req.release, &req.lock, report, async |session| {
        Ok(session
            .test(&req.filter, RunHooks::Run(req.timeout), req.logs, report)
            .await?)
    })
}
