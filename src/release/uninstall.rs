//! Uninstalling: a release's objects deleted in reverse install order (with ordering
//! annotations, group by group, the last applied first, each gone before the next), then its
//! records deleted (or the last one kept, marked uninstalled).

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;

use super::deploy::{GROUP_TIMEOUT, PARALLEL_APPLIES};
use super::desired::manifests_of;
use super::error::{OpError, Progress, Report};
use super::hooks::{HookEvent, RunHooks};
use super::record::{ReleaseRecord, Status};
use super::session::Session;
use super::wait::Until;
use crate::cluster::Cascade;
use crate::manifest::Manifest;
use crate::manifest::order::Staged;
use crate::object::{ObjectRef, install_rank};

impl Session<'_> {
    /// Runs the `pre-delete` hooks, deletes the release's objects in reverse install order
    /// (ordered objects group by group, [`Session::deletion_groups`]),
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
        report(Progress::Phase("deleting", last.inventory.len()));
        let groups = self.deletion_groups(&last);
        for (n, group) in groups.iter().enumerate() {
            self.delete_group(group, cascade, report).await?;
            // Each group is gone before the one it came after is touched: a later group may
            // still use an earlier one while it shuts down.
            if n + 1 < groups.len() {
                let timeout = wait.unwrap_or(GROUP_TIMEOUT);
                self.wait(group, Until::Gone, timeout, report).await?;
            }
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

impl Session<'_> {
    /// The inventory of `last` in the groups it is deleted in: with ordering annotations
    /// (docs/ordering.md) the apply groups, last first; else one group. An inventory object
    /// no group names goes with the first. The groups are read from the recorded manifest;
    /// when it does not give them (it always should), one group it is.
    fn deletion_groups<'r>(&self, last: &'r ReleaseRecord) -> Vec<Vec<&'r ObjectRef>> {
        let all = || vec![last.inventory.iter().collect()];
        let Ok(manifests) = manifests_of(last) else {
            return all();
        };
        let refs: Vec<&Manifest> = manifests.iter().collect();
        let Ok(Some(staged)) = Staged::of_manifests(&refs, Some(&self.namespace)) else {
            return all();
        };
        let names = |i: usize, item: &ObjectRef| {
            let e = &staged.entries[i].item;
            e.kind == item.kind
                && e.name == item.name
                && e.namespace.as_deref().unwrap_or(&self.namespace)
                    == item.namespace.as_deref().unwrap_or(&self.namespace)
        };
        let mut groups: Vec<Vec<&ObjectRef>> = staged
            .stages
            .iter()
            .rev()
            .map(|s| {
                last.inventory
                    .iter()
                    .filter(|item| s.members.iter().any(|&i| names(i, item)))
                    .collect()
            })
            .collect();
        let grouped: Vec<&ObjectRef> = groups.iter().flatten().copied().collect();
        let rest = last.inventory.iter().filter(|i| !grouped.contains(i));
        if let Some(first) = groups.first_mut() {
            first.extend(rest);
        }
        groups.retain(|g| !g.is_empty());
        groups
    }

    /// Deletes one group in reverse install order, one kind rank at a time; objects of a
    /// rank go in parallel.
    async fn delete_group(
        &self,
        group: &[&ObjectRef],
        cascade: Cascade,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let mut ranks: BTreeMap<Reverse<usize>, Vec<&ObjectRef>> = BTreeMap::new();
        for item in group {
            ranks
                .entry(Reverse(install_rank(&item.kind)))
                .or_default()
                .push(item);
        }
        for items in ranks.values() {
            futures::stream::iter(items.iter().map(Ok::<_, OpError>))
                .try_for_each_concurrent(PARALLEL_APPLIES, |item| async move {
                    if self.cluster.delete_cascade(item, cascade).await? {
                        report(Progress::Deleted(item));
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }
}
