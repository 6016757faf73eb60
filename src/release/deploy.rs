//! Installing, upgrading and rolling back: a revision recorded pending, its objects applied in
//! dependency order (one [`Group`] after another), objects that left the chart pruned, an
//! optional wait for readiness, and the outcome recorded.
//!
//! Fields Helm's field manager owns move to charter's before an object is applied
//! ([`takeover`]), so fields that left the chart leave the object; while the release stays in
//! Helm's storage they move back after the apply, so Helm can upgrade it again.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::Value;

use super::desired::{Desired, OwnerMarks, manifests_of, prepare_desired, rendered_objects};
use super::error::{OpError, Progress, Report};
use super::hooks::{HookEvent, RunHooks};
use super::live::{LiveIndex, LiveObject, Lookup, covers};
use super::record::{ChartRef, Hook, RECORD_API_VERSION, ReleaseRecord, Status, TargetRef};
use super::session::Session;
use super::takeover::{self, FieldOwners, HELM_MANAGER};
use super::wait::Until;
use crate::cluster::{ApplyOptions, FIELD_MANAGER};
use crate::manifest::{self, Manifest, order};
use crate::object::{ObjectRef, install_rank};

/// How many objects of one group are applied at once.
pub(super) const PARALLEL_APPLIES: usize = 16;

/// What to deploy.
pub struct Deploy {
    /// The revision number (from [`Session::next_revision`]).
    pub revision: u64,
    /// Set when this deploy rolls back to that revision.
    pub rollback_of: Option<u64>,
    /// Chart metadata.
    pub chart: ChartRef,
    /// The merged values.
    pub values: Value,
    /// The user-supplied values.
    pub user_values: Value,
    /// Layers used.
    pub layers: Vec<String>,
    /// Target.
    pub target: Option<TargetRef>,
    /// CRDs from `crds/`.
    pub crds: Vec<Manifest>,
    /// A Helm chart's: its `crds/` CRDs are applied but not recorded in the revision's
    /// manifest and inventory, so uninstall and rollback leave them, as Helm never deletes
    /// them (deleting a CRD deletes every custom resource of its kind).
    pub unrecorded_crds: bool,
    /// Objects in install order.
    pub manifests: Vec<Manifest>,
    /// Rendered notes.
    pub notes: String,
    /// Hooks, recorded with the revision.
    pub hooks: Vec<Hook>,
    /// Generated values.
    pub generated: std::collections::BTreeMap<String, String>,
    /// Description to record.
    pub description: Option<String>,
    /// How its objects are applied.
    pub how: ApplyHow,
    /// Keep at most this many revisions.
    pub history_max: usize,
    /// The revision's labels (`--labels`).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// How objects are applied.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyHow {
    /// Adopt existing objects not owned by this release.
    pub take_ownership: bool,
    /// Take fields owned by other managers.
    pub force_conflicts: bool,
    /// Wait for readiness, up to this long.
    pub wait: Option<Duration>,
    /// How long each group of ordered objects may take to become ready before the next is
    /// applied (`--timeout`, with or without `--wait`); [`GROUP_TIMEOUT`] when `None`.
    pub timeout: Option<Duration>,
    /// Whether the chart's hooks run (`--no-hooks`), and how long each may take.
    pub hooks: RunHooks,
}

/// How long a group of ordered objects may take to become ready when no `--timeout` is given:
/// Helm's default timeout.
pub const GROUP_TIMEOUT: Duration = Duration::from_secs(300);

/// A deploy that returns to `target`'s manifest and values as revision `revision`.
pub fn rollback_deploy(
    target: &ReleaseRecord,
    revision: u64,
    how: ApplyHow,
    history_max: usize,
) -> Result<Deploy, OpError> {
    Ok(Deploy {
        revision,
        rollback_of: Some(target.revision),
        chart: target.chart.clone(),
        values: target.values.clone(),
        user_values: target.user_values.clone(),
        layers: target.layers.clone(),
        target: target.target.clone(),
        crds: Vec::new(),
        unrecorded_crds: false,
        manifests: manifests_of(target)?,
        notes: target.notes.clone(),
        hooks: target.hooks.clone(),
        generated: target.generated.clone(),
        description: None,
        how: ApplyHow {
            take_ownership: false,
            ..how
        },
        history_max,
        labels: target.labels.clone(),
    })
}

/// The groups a deploy applies one after another, each done before the next starts: CRDs
/// (then waited until established and served), Namespaces, everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// CustomResourceDefinitions.
    Crds,
    /// Namespaces.
    Namespaces,
    /// Everything else, in parallel.
    Rest,
}

impl Group {
    /// The group of an object of `kind`.
    pub fn of(kind: &str) -> Group {
        match kind {
            "CustomResourceDefinition" => Group::Crds,
            "Namespace" => Group::Namespaces,
            _ => Group::Rest,
        }
    }
}

/// The stages of a deploy's objects, with the entries they index, or `None` when no object
/// carries an ordering annotation. The render already checked the annotations; a revision
/// rolled back to is checked again here.
pub fn stages_of(objects: &[Desired], release: &str) -> Result<Option<order::Staged>, OpError> {
    let annotated = |o: &&Desired| {
        o.obj
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .is_some_and(|a| {
                a.contains_key(order::ANNOTATION_WEIGHT)
                    || a.contains_key(order::ANNOTATION_DEPENDS_ON)
                    || a.contains_key(order::ANNOTATION_DEPENDS_ON_EXTERNAL)
            })
    };
    if !objects.iter().any(|o| annotated(&o)) {
        return Ok(None);
    }
    let source = format!("release {release}");
    let entries: Vec<order::Entry> = objects
        .iter()
        .map(|o| order::Entry::of_object(&o.item, &o.obj, &source, 0))
        .collect();
    Ok(order::Staged::of_entries(entries, None)?)
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl Session<'_> {
    /// Installs, upgrades or rolls back: writes the pending revision, runs the `pre-` hooks of
    /// the operation, applies, prunes, waits, runs its `post-` hooks, and records the outcome
    /// (with each hook's run). A failure is recorded as a failed revision and returned.
    pub async fn deploy(
        &mut self,
        d: Deploy,
        report: Report<'_>,
    ) -> Result<ReleaseRecord, OpError> {
        let previous = self.deployed().cloned();
        let is_install = previous.is_none();
        let (how, history_max, description) = (d.how, d.history_max, d.description.clone());
        let (pending, verb) = match d.rollback_of {
            Some(n) => (Status::PendingRollback, format!("Rollback to {n}")),
            None if is_install => (Status::PendingInstall, "Install".to_string()),
            None => (Status::PendingUpgrade, "Upgrade".to_string()),
        };
        let (pre, post) = match pending {
            Status::PendingRollback => (HookEvent::PreRollback, HookEvent::PostRollback),
            Status::PendingInstall => (HookEvent::PreInstall, HookEvent::PostInstall),
            _ => (HookEvent::PreUpgrade, HookEvent::PostUpgrade),
        };
        // Objects rendered exactly as in the last revision are skipped when the cluster already
        // holds them; only when that revision is the latest, since a failed one after it may
        // have applied something else.
        let previous_render = match (&previous, self.history.last()) {
            (Some(p), Some(l)) if p.revision == l.revision => rendered_objects(p),
            _ => HashMap::new(),
        };
        let objects = prepare_desired(
            self.cluster,
            &self.release,
            &self.namespace,
            &d.crds,
            &d.manifests,
            &previous_render,
            OwnerMarks::of(self.storage),
        )
        .await?;
        // prepare_desired keeps the order: the CRDs come first.
        let unrecorded = if d.unrecorded_crds { d.crds.len() } else { 0 };
        let first_deployed = self
            .history
            .first()
            .map(|r| r.first_deployed.clone())
            .unwrap_or_else(now);
        let mut record = ReleaseRecord {
            api_version: RECORD_API_VERSION.to_string(),
            name: self.release.clone(),
            namespace: self.namespace.clone(),
            revision: d.revision,
            status: pending,
            description: format!("{verb} running"),
            chart: d.chart,
            values: d.values,
            user_values: d.user_values,
            layers: d.layers,
            target: d.target,
            manifest: manifest::to_stream(d.crds[unrecorded..].iter().chain(d.manifests.iter())),
            inventory: objects[unrecorded..]
                .iter()
                .map(|o| o.item.clone())
                .collect(),
            notes: d.notes,
            hooks: d.hooks,
            generated: d.generated,
            labels: d.labels,
            first_deployed,
            last_deployed: now(),
            deleted: None,
            charter_version: env!("CARGO_PKG_VERSION").to_string(),
            checksum: String::new(),
        };
        self.put(&mut record).await?;
        let hooks = &mut record.hooks;
        let outcome = async {
            self.run_hooks(hooks, pre, how.hooks, report).await?;
            self.apply_objects(&objects, previous.as_ref(), &how, report)
                .await?;
            self.run_hooks(hooks, post, how.hooks, report).await?;
            Ok::<_, OpError>(())
        }
        .await;
        match outcome {
            Ok(()) => {
                record.status = Status::Deployed;
                record.description = description.unwrap_or_else(|| format!("{verb} complete"));
                record.last_deployed = now();
                self.put(&mut record).await?;
                if let Some(mut prev) = previous {
                    prev.status = Status::Superseded;
                    self.put(&mut prev).await?;
                    let revision = prev.revision;
                    if let Some(h) = self.history.iter_mut().find(|r| r.revision == revision) {
                        *h = prev;
                    }
                }
                self.remember(&record);
                self.prune_history(history_max).await?;
                Ok(record)
            }
            Err(e) => {
                record.status = Status::Failed;
                // The first line: a hook's failure goes on with its Events, a failed wait's
                // with Pods' Events and logs, which belong in the output, not in every
                // `history` row.
                let e_text = e.to_string();
                let first = e_text.lines().next().unwrap_or_default();
                record.description = format!("{verb} failed: {first}");
                record.last_deployed = now();
                self.put(&mut record).await?;
                // A failed revision counts against --history-max too, or repeated failures
                // grow the history without bound; the deployed revision is never pruned.
                self.remember(&record);
                if let Err(prune) = self.prune_history(history_max).await {
                    tracing::warn!("pruning old revisions after the failure: {prune}");
                }
                Err(e)
            }
        }
    }

    /// Puts a revision just written into the history kept in memory. The lock keeps other
    /// writers out, so the history is known without reading it back (a list right after a
    /// write waits on the API server's watch cache, ~50 ms).
    fn remember(&mut self, record: &ReleaseRecord) {
        self.history.retain(|r| r.revision != record.revision);
        self.history.push(record.clone());
        self.history.sort_by_key(|r| r.revision);
    }

    /// Applies every group in order, prunes what left the chart, and waits when asked. With
    /// ordering annotations ([`order`]) the objects go in stages, each waited ready as its
    /// stage says before the next is applied.
    async fn apply_objects(
        &self,
        objects: &[Desired],
        previous: Option<&ReleaseRecord>,
        how: &ApplyHow,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let touched = objects
            .iter()
            .map(|o| &o.item)
            .chain(previous.iter().flat_map(|p| p.inventory.iter()));
        let live = LiveIndex::read(self.cluster, &self.release, touched).await?;
        match stages_of(objects, &self.release)? {
            None => {
                report(Progress::Phase("applying", objects.len()));
                let all: Vec<&Desired> = objects.iter().collect();
                self.apply_by_kind(&all, &live, how, report).await?;
            }
            Some(staged) => {
                for (stage, line) in staged.stages.iter().zip(staged.describe()) {
                    report(Progress::Stage(&line));
                    if !stage.external.is_empty() {
                        self.await_external(&stage.external, how, report).await?;
                    }
                    let batch: Vec<&Desired> = stage.members.iter().map(|&i| &objects[i]).collect();
                    report(Progress::Phase("applying", batch.len()));
                    self.apply_by_kind(&batch, &live, how, report).await?;
                    if !stage.wait.is_empty() {
                        let ready: Vec<&ObjectRef> =
                            stage.wait.iter().map(|&i| &objects[i].item).collect();
                        let timeout = how.timeout.unwrap_or(GROUP_TIMEOUT);
                        self.wait(&ready, Until::Ready, timeout, report).await?;
                    }
                }
            }
        }
        if let Some(prev) = previous {
            self.prune(objects, prev, &live, report).await?;
        }
        if let Some(timeout) = how.wait {
            let all: Vec<&ObjectRef> = objects.iter().map(|o| &o.item).collect();
            self.wait(&all, Until::Ready, timeout, report).await?;
        }
        Ok(())
    }

    /// Waits until the objects outside the release that a group needs exist or are ready.
    /// Their kinds are resolved by discovery; a name without a namespace is in the release's.
    async fn await_external(
        &self,
        external: &[order::External],
        how: &ApplyHow,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let (mut present, mut ready) = (Vec::new(), Vec::new());
        for x in external {
            let res = self
                .cluster
                .resource_by_kind(&x.kind, x.group.as_deref())
                .await
                .map_err(|e| OpError::Manifest {
                    source_name: x.from.clone(),
                    message: format!(
                        "{} names {}: {e}",
                        order::ANNOTATION_DEPENDS_ON_EXTERNAL,
                        x.display()
                    ),
                })?;
            let ns = res.namespaced.then(|| {
                x.namespace
                    .clone()
                    .unwrap_or_else(|| self.namespace.clone())
            });
            let item = ObjectRef::new(&res.api.api_version, &res.api.kind, ns.as_deref(), &x.name);
            match x.need {
                order::Need::Present => present.push(item),
                order::Need::Ready => ready.push(item),
            }
        }
        let timeout = how.timeout.unwrap_or(GROUP_TIMEOUT);
        for (items, until) in [(present, Until::Present), (ready, Until::Ready)] {
            if !items.is_empty() {
                let refs: Vec<&ObjectRef> = items.iter().collect();
                self.wait(&refs, until, timeout, report).await?;
            }
        }
        Ok(())
    }

    /// Applies `objects` kind group by kind group ([`Group`]): CRDs (waited until served),
    /// Namespaces, then the rest at once.
    async fn apply_by_kind(
        &self,
        objects: &[&Desired],
        live: &LiveIndex,
        how: &ApplyHow,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        for group in [Group::Crds, Group::Namespaces, Group::Rest] {
            let batch: Vec<&Desired> = objects
                .iter()
                .copied()
                .filter(|o| Group::of(&o.item.kind) == group)
                .collect();
            if batch.is_empty() {
                continue;
            }
            self.apply_group(&batch, live, how, report).await?;
            if group == Group::Crds {
                self.await_crds(&batch).await?;
            }
        }
        Ok(())
    }

    /// Applies one group's objects in parallel; an object rendered as in the last revision
    /// that the cluster still holds is not sent again.
    async fn apply_group(
        &self,
        batch: &[&Desired],
        live: &LiveIndex,
        how: &ApplyHow,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let opts = ApplyOptions {
            force: how.force_conflicts,
            dry_run: false,
        };
        futures::stream::iter(batch.iter().map(Ok::<_, OpError>))
            .try_for_each_concurrent(PARALLEL_APPLIES, |o| async move {
                let current = self.check_owner(&o.item, live, how.take_ownership).await?;
                if o.same_render
                    && let Lookup::Present(LiveObject {
                        full: Some(current),
                        ..
                    }) = live.lookup(&o.item)
                    && covers(current, &o.obj)
                {
                    report(Progress::Unchanged(&o.item));
                    return Ok(());
                }
                if let Some(owners) = current.filter(|c| c.has(HELM_MANAGER)) {
                    takeover::move_ownership(
                        self.cluster,
                        &o.item,
                        Some(owners),
                        HELM_MANAGER,
                        FIELD_MANAGER,
                    )
                    .await?;
                }
                if self.storage.is_helm() {
                    let applied = self.cluster.apply(&o.obj, opts).await?;
                    takeover::move_ownership(
                        self.cluster,
                        &o.item,
                        Some(FieldOwners::of(&applied)),
                        FIELD_MANAGER,
                        HELM_MANAGER,
                    )
                    .await?;
                } else {
                    self.cluster.apply_quiet(&o.obj, opts).await?;
                }
                report(Progress::Applied(&o.item));
                Ok(())
            })
            .await
    }

    /// Waits until the CRDs of a group are established, then until discovery serves every
    /// version they declare (established is not yet served).
    async fn await_crds(&self, batch: &[&Desired]) -> Result<(), OpError> {
        let crds: Vec<&ObjectRef> = batch.iter().map(|o| &o.item).collect();
        self.wait(&crds, Until::Ready, Duration::from_secs(60), &|_| {})
            .await?;
        for o in batch {
            let crd = &o.obj;
            let text = |p: &str| crd.pointer(p).and_then(Value::as_str).unwrap_or("");
            let (group, kind) = (text("/spec/group"), text("/spec/names/kind"));
            let versions = crd
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for v in versions {
                let served = v.get("served").and_then(Value::as_bool).unwrap_or(false);
                if let (true, Some(name)) = (served, v.get("name").and_then(Value::as_str)) {
                    self.cluster
                        .await_served(&format!("{group}/{name}"), kind, Duration::from_secs(60))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the objects of `previous` that this deploy does not apply, in reverse install
    /// order; an object marked `charter.dev/resource-policy: keep` stays.
    async fn prune(
        &self,
        objects: &[Desired],
        previous: &ReleaseRecord,
        live: &LiveIndex,
        report: Report<'_>,
    ) -> Result<(), OpError> {
        let keep: BTreeSet<&ObjectRef> = objects.iter().map(|o| &o.item).collect();
        let mut gone: Vec<&ObjectRef> = previous
            .inventory
            .iter()
            .filter(|i| !keep.contains(i))
            .collect();
        gone.sort_by_key(|i| std::cmp::Reverse(install_rank(&i.kind)));
        if !gone.is_empty() {
            report(Progress::Phase("pruning", gone.len()));
        }
        for item in gone {
            let Some(obj) = self.live_object(live, item).await? else {
                continue;
            };
            if obj.ownership.keep() {
                report(Progress::Kept(item));
                continue;
            }
            self.cluster.delete_object(item).await?;
            report(Progress::Pruned(item));
        }
        Ok(())
    }

    /// An object as `live` knows it, or from a GET when its kind was not read.
    async fn live_object<'l>(
        &self,
        live: &'l LiveIndex,
        item: &ObjectRef,
    ) -> Result<Option<Cow<'l, LiveObject>>, OpError> {
        Ok(match live.lookup(item) {
            Lookup::Present(o) => Some(Cow::Borrowed(o)),
            Lookup::Absent => None,
            Lookup::Unknown => self
                .cluster
                .get_object(item)
                .await?
                .map(|v| Cow::Owned(LiveObject::from_value(v))),
        })
    }

    /// Refuses an existing object that another release, or nobody, owns (unless adopting);
    /// returns who owns the fields of the object that exists.
    async fn check_owner(
        &self,
        item: &ObjectRef,
        live: &LiveIndex,
        take_ownership: bool,
    ) -> Result<Option<FieldOwners>, OpError> {
        let Some(obj) = self.live_object(live, item).await? else {
            return Ok(None);
        };
        let owner = &obj.ownership;
        if owner.is(&self.release, &self.namespace) || take_ownership {
            return Ok(Some(obj.owners.clone()));
        }
        Err(OpError::NotOwned {
            object: item.display(),
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            owner: match (&owner.release, &owner.namespace) {
                (Some(r), Some(n)) if owner.by_helm => format!("owned by Helm release {n}/{r}"),
                (Some(r), Some(n)) => format!("owned by release {n}/{r}"),
                _ => "created outside charter".into(),
            },
        })
    }
}
