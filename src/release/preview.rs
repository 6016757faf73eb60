//! What a deploy would do, as inputs for [`crate::diff`]: the desired objects exactly as
//! install/upgrade would apply them, the live objects, and the last deployed revision's objects.
//!
//! Cost: live state is read like a deploy reads it ([`LiveIndex`]: one list per kind and
//! namespace, no GET per object), and only objects that need it are sent to the server as a
//! server-side-apply dry run: objects that are new, rendered differently from the last revision,
//! or that the live object no longer covers (drift, deleted by hand). An object rendered as in
//! the last revision whose live copy holds every field it sets is exactly what applying it again
//! leaves, so its desired object is the live one (the change is empty; drift is still computed
//! from live against the last revision). A one-value change in a 3000-object release costs a
//! handful of lists and one dry run.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::desired::{
    Desired, OwnerMarks, manifests_of, not_yet_servable, prepare_desired, rendered_objects,
    without_charter_marks,
};
use super::error::OpError;
use super::live::{LiveIndex, LiveObject, Lookup, covers};
use super::record::ReleaseRecord;
use super::session::deployed as deployed_of;
use super::takeover::{FieldOwners, HELM_MANAGER};
use crate::cluster::{ApplyOptions, Cluster, ClusterError, FIELD_MANAGER};
use crate::diff::{ObjectInput, rendered_fingerprint};
use crate::manifest::Manifest;
use crate::object::{ANNOTATION_RELEASE, ObjectRef};

/// Dry runs sent at once.
const PARALLEL_DRY_RUNS: usize = 16;

/// The result of [`preview`].
#[derive(Debug)]
pub struct Preview {
    /// One input per rendered object and per object to prune.
    pub inputs: Vec<ObjectInput>,
    /// [`rendered_fingerprint`] of the desired objects as a deploy applies them.
    pub rendered_fingerprint: String,
    /// The release's latest revision (0 when it has none).
    pub latest_revision: u64,
    /// The revision the objects were compared with (the last deployed one).
    pub deployed_revision: Option<u64>,
    /// How many objects were sent as dry runs.
    pub dry_runs: usize,
    /// Things the caller should tell the user (e.g. a revision that could not be read back).
    pub warnings: Vec<String>,
}

/// Computes the diff inputs of deploying `crds` + `manifests` (rendered for the next revision)
/// as `release` in `namespace`, whose revisions are `history` (oldest first). Nothing is
/// changed in the cluster and no lock is taken.
pub async fn preview(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    history: &[ReleaseRecord],
    crds: &[Manifest],
    manifests: &[Manifest],
    marks: OwnerMarks,
) -> Result<Preview, OpError> {
    let deployed = deployed_of(history);
    let latest = history.last();
    let mut warnings = Vec::new();
    // As in a deploy: objects count as "rendered as before" only against the latest revision.
    let previous_render = match (deployed, latest) {
        (Some(d), Some(l)) if d.revision == l.revision => rendered_objects(d),
        _ => HashMap::new(),
    };
    let desired = prepare_desired(
        cluster,
        release,
        namespace,
        crds,
        manifests,
        &previous_render,
        marks,
    )
    .await?;
    let rendered_fp = rendered_fingerprint(desired.iter().map(|d| &d.obj));

    let mut last_applied: HashMap<ObjectRef, Value> = HashMap::new();
    if let Some(d) = deployed {
        let parsed = match manifests_of(d) {
            Ok(ms) => prepare_desired(
                cluster,
                release,
                namespace,
                &[],
                &ms,
                &HashMap::new(),
                marks,
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match parsed {
            Ok(objs) => {
                for o in objs {
                    last_applied.insert(o.item, o.obj);
                }
            }
            Err(e) => warnings.push(format!(
                "revision {} of {namespace}/{release} could not be read back ({e}); drift is not shown",
                d.revision
            )),
        }
    }

    let wanted: HashSet<&ObjectRef> = desired.iter().map(|d| &d.item).collect();
    let pruned: Vec<&ObjectRef> = deployed
        .map(|d| d.inventory.iter().filter(|i| !wanted.contains(i)).collect())
        .unwrap_or_default();
    let mut live = LiveIndex::read(
        cluster,
        release,
        desired
            .iter()
            .map(|d| &d.item)
            .chain(pruned.iter().copied()),
    )
    .await?;

    // Each rendered object's live and last-applied copies move out of the index and the map:
    // each is used once here, and the objects to prune are not among them.
    let known: Vec<(Option<Option<Value>>, Option<Value>)> = desired
        .iter()
        .map(|d| (live.take_whole(&d.item), last_applied.remove(&d.item)))
        .collect();
    let mut inputs: Vec<(ObjectInput, bool)> = futures::stream::iter(desired.iter().zip(known))
        .map(|(d, (known, last))| async move {
            let current = match known {
                Some(v) => v,
                None => get(cluster, &d.item).await?,
            };
            let (obj, dry_run, current) = consistent_prediction(cluster, d, current).await?;
            let last_applied = last.map(|l| as_applied(l, current.as_ref()));
            Ok::<_, OpError>((
                ObjectInput {
                    key: d.item.clone(),
                    desired: Some(obj),
                    live: current,
                    last_applied,
                },
                dry_run,
            ))
        })
        .buffered(PARALLEL_DRY_RUNS)
        .try_collect()
        .await?;
    let dry_runs = inputs.iter().filter(|(_, d)| *d).count();
    for item in pruned {
        let fetched;
        let obj = match live.lookup(item) {
            Lookup::Absent => continue,
            Lookup::Present(o) if o.full.is_some() => o,
            _ => match get(cluster, item).await? {
                Some(v) => {
                    fetched = LiveObject::from_value(v);
                    &fetched
                }
                None => continue,
            },
        };
        // A kept object stays in the cluster: no prune, nothing to show.
        if obj.ownership.keep() {
            continue;
        }
        inputs.push((
            ObjectInput {
                key: item.clone(),
                desired: None,
                live: obj.full.clone(),
                last_applied: last_applied
                    .remove(item)
                    .map(|l| as_applied(l, obj.full.as_ref())),
            },
            false,
        ));
    }
    Ok(Preview {
        inputs: inputs.into_iter().map(|(i, _)| i).collect(),
        rendered_fingerprint: rendered_fp,
        latest_revision: latest.map_or(0, |r| r.revision),
        deployed_revision: deployed.map(|d| d.revision),
        dry_runs,
        warnings,
    })
}

async fn get(cluster: &Cluster, item: &ObjectRef) -> Result<Option<Value>, ClusterError> {
    match cluster.get_object(item).await {
        // A custom resource whose CRD is not installed yet does not exist either.
        Err(ClusterError::UnknownKind { .. }) => Ok(None),
        other => other,
    }
}

/// The last revision's object as it was applied: a revision Helm applied put Helm's marks on
/// the object, not charter's, so where the live object has none of charter's they are not
/// looked for (no drift reported for marks charter never set).
fn as_applied(last: Value, live: Option<&Value>) -> Value {
    let charters = live
        .and_then(|l| l.pointer("/metadata/annotations"))
        .and_then(|a| a.get(ANNOTATION_RELEASE));
    match (live, charters) {
        (Some(_), None) => without_charter_marks(&last),
        _ => last,
    }
}

/// Attempts at pairing a dry run with the live object it was computed from.
const CONSISTENT_ATTEMPTS: usize = 3;

/// [`predicted`], with the live object the prediction started from. A controller may write the
/// object between the read of live state and the dry run (the Deployment controller bumps
/// `deployment.kubernetes.io/revision` right after a rollout): the dry run then carries the
/// newer write and the diff would show someone else's change as the deploy's. A dry run does
/// not persist, so it keeps the resourceVersion it was computed on; when that is not the one
/// read, live is read again and compared once more.
async fn consistent_prediction(
    cluster: &Cluster,
    d: &Desired,
    mut current: Option<Value>,
) -> Result<(Value, bool, Option<Value>), ClusterError> {
    let mut attempt = 1;
    loop {
        let (obj, dry_run) = predicted(cluster, d, current.as_ref()).await?;
        let live_rv = current.as_ref().and_then(resource_version);
        if !dry_run || live_rv.is_none() || live_rv == resource_version(&obj) {
            return Ok((obj, dry_run, current));
        }
        if attempt == CONSISTENT_ATTEMPTS {
            return Ok((obj, dry_run, current));
        }
        attempt += 1;
        current = get(cluster, &d.item).await?;
    }
}

fn resource_version(v: &Value) -> Option<&str> {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
}

/// The object as the server would store it after this deploy, and whether a dry run was sent.
async fn predicted(
    cluster: &Cluster,
    d: &Desired,
    live: Option<&Value>,
) -> Result<(Value, bool), ClusterError> {
    if d.same_render
        && let Some(l) = live
        && covers(l, &d.obj)
    {
        return Ok((l.clone(), false));
    }
    // force: the diff shows what the deploy sets, also where another field manager (a
    // `kubectl scale`, an edit) owns the field now; a deploy without --force-conflicts would
    // report that conflict instead.
    let opts = ApplyOptions {
        force: true,
        dry_run: true,
    };
    // Fields Helm's manager applied move to charter's before the deploy applies, so the deploy
    // removes those the chart no longer sets: a dry run as `helm` shows that. (Fields Helm 3
    // owns by update are not predicted removed.)
    let manager = match live {
        Some(l) if FieldOwners::of(l).applies(HELM_MANAGER) => HELM_MANAGER,
        _ => FIELD_MANAGER,
    };
    match cluster.apply_as(manager, &d.obj, opts).await {
        Ok(v) => Ok((v, true)),
        Err(e) if live.is_none() && not_yet_servable(&e) => Ok((d.obj.clone(), true)),
        Err(e) => Err(e),
    }
}
