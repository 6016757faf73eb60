//! Retries: a call that fails with throttling (429), a server error (5xx) or a lost
//! connection is tried again with exponential backoff, within a time budget.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Cluster;
use super::error::is_transient;

/// How long retries of one call may take in total once the server has answered: an API
/// server restarting mid-operation is back within this.
const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// The same before the server has ever answered.
const FIRST_CONTACT_BUDGET: Duration = Duration::from_secs(3);

impl Cluster {
    /// Runs `f`, retrying with exponential backoff on throttling, server errors and connection
    /// loss, for at most [`RETRY_BUDGET`] ([`FIRST_CONTACT_BUDGET`] before any success).
    pub async fn retry<T, F, Fut>(&self, f: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let budget = if self.reached.load(Ordering::Relaxed) {
            RETRY_BUDGET
        } else {
            FIRST_CONTACT_BUDGET
        };
        let out = retry_for(budget, f).await;
        if out.is_ok() {
            self.reached.store(true, Ordering::Relaxed);
        }
        out
    }
}

/// Runs `f`, retrying transient failures with exponential backoff for at most `budget`.
pub async fn retry_for<T, F, Fut>(budget: Duration, mut f: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(100);
    loop {
        match f().await {
            Err(e) if is_transient(&e) && start.elapsed() + delay < budget => {
                tracing::debug!("retrying after transient error: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(3));
            }
            other => return other,
        }
    }
}
