//! Uninstalling: a release's objects deleted in reverse install order, then its records
//! deleted (or the last one kept, marked uninstalled).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;

use super::deploy::PARALLEL_APPLIES;
use super::error::{OpError, Progress, Report};
use super::hooks::{HookEvent, RunHooks};
use super::record::Status;
use super::session::Session;
use super::wait::Until;
use crate::cluster::Cascade;
use crate::object::{ObjectRef, install_rank};

impl Session<'_> {
    /// Runs the `pre-delete` hooks, deletes the release's objects in reverse install order,
    /// their dependents as `cascade` says, runs the `post-delete` hooks, then deletes its
    /// records (or marks the last one uninstalled with `keep_history`). A failed hook stops
    /// the uninstall; the release stays.
    pub async fn uninstall(
        &mut self,
        keep_history: bool,
        wait: Option<Duration>,
        cascade: Cascade,
        hooks: RunHooks,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let Some(mut last) = self
            .history
            .iter()
            .rev()
            .find(|r| r.status != Status::Uninstalled)
            .cloned()
        else {
            return Err(OpError::NotFound {
                release: self.release.clone(),
                namespace: self.namespace.clone(),
            });
        };
        self.run_hooks(&mut last.hooks, HookEvent::PreDelete, hooks, report)
            .await?;
        // Reverse install order, one kind rank at a time; objects of a rank go in parallel.
        let mut ranks: BTreeMap<Reverse<usize>, Vec<&ObjectRef>> = BTreeMap::new();
        for item in &last.inventory {
            ranks
                .entry(Reverse(install_rank(&item.kind)))
                .or_default()
                .push(item);
        }
        report(Progress::Phase("deleting", last.inventory.len()));
        let this = &*self;
        for items in ranks.values() {
            futures::stream::iter(items.iter().map(Ok::<_, OpError>))
                .try_for_each_concurrent(PARALLEL_APPLIES, |item| async move {
                    if this.cluster.delete_cascade(item, cascade).await? {
                        report(Progress::Deleted(item));
                    }
                    Ok(())
                })
                .await?;
        }
        if let Some(timeout) = wait {
            let all: Vec<&ObjectRef> = last.inventory.iter().collect();
            self.wait(&all, Until::Gone, timeout, report).await?;
        }
        self.run_hooks(&mut last.hooks, HookEvent::PostDelete, hooks, report)
            .await?;
        if keep_history {
            let mut rec = last;
            rec.status = Status::Uninstalled;
            rec.description = "Uninstallation complete".into();
            rec.deleted = Some(jiff::Timestamp::now().to_string());
            self.put(&mut rec).await?;
        } else {
            for r in &self.history {
                self.store
                    .delete(&self.namespace, &self.release, r.revision)
                    .await?;
            }
        }
        Ok(())
    }
}
