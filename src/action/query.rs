//! `history`, `get`, `status` and `list`: release records read without the release's lock.

use super::{Error, Globals, ReleaseRef, connect};
use crate::cluster::Cluster;
use crate::cluster::readiness::{Readiness, readiness};
use crate::release::{ClusterStore, ReleaseRecord, ReleaseStore, Status, Storage};

/// Connects for a release and reads its history and where it is stored; a release without
/// revisions is an error.
async fn read_history(
    globals: &Globals,
    r: &ReleaseRef,
) -> Result<(Cluster, Vec<ReleaseRecord>, Storage), Error> {
    let cluster = connect(globals, r.target.as_ref()).await?;
    let store = ClusterStore::new(&cluster);
    let records = store.history(&r.namespace, &r.release).await?;
    let storage = store
        .storage(&r.namespace, &r.release)
        .await?
        .unwrap_or(Storage::Charter);
    if records.is_empty() {
        if cluster
            .get("v1", "Namespace", None, &r.namespace)
            .await?
            .is_none()
        {
            return Err(super::missing_namespace(
                &cluster,
                &r.namespace,
                &r.release,
                super::InMissingNamespace::Release,
            ));
        }
        return Err(Error::Invalid(format!(
            "release {ns}/{release} not found: it has no revisions in namespace {ns}",
            ns = r.namespace,
            release = r.release
        )));
    }
    Ok((cluster, records, storage))
}

/// A release's revisions, oldest first (at most `max`, the newest).
pub fn history(globals: &Globals, r: &ReleaseRef, max: usize) -> Result<Vec<ReleaseRecord>, Error> {
    let (_, mut records, _) = super::runtime()?.block_on(read_history(globals, r))?;
    let skip = records.len().saturating_sub(max);
    records.drain(..skip);
    Ok(records)
}

/// One revision of a release (default: the latest).
pub fn get(
    globals: &Globals,
    r: &ReleaseRef,
    revision: Option<u64>,
) -> Result<ReleaseRecord, Error> {
    let (_, mut history, _) = super::runtime()?.block_on(read_history(globals, r))?;
    let found = match revision {
        Some(n) => history.iter().position(|h| h.revision == n),
        None => history.len().checked_sub(1),
    };
    match found {
        Some(i) => Ok(history.swap_remove(i)),
        None => Err(Error::Invalid(match revision {
            Some(n) => format!(
                "release {}/{} has no revision {n}; revisions: {}",
                r.namespace,
                r.release,
                history
                    .iter()
                    .map(|r| r.revision.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => format!(
                "release {ns}/{} not found: it has no revisions in namespace {ns}",
                r.release,
                ns = r.namespace
            ),
        })),
    }
}

/// A release's latest revision and the state of each of its objects.
pub struct ReleaseStatus {
    /// The latest revision.
    pub record: ReleaseRecord,
    /// Where the release's records are.
    pub storage: Storage,
    /// Each object of its inventory (`Kind/namespace/name`) and its state: `ready`,
    /// `pending: why`, `failed: why` or `missing`.
    pub resources: Vec<(String, String)>,
}

/// The latest revision of a release, its objects and their readiness.
pub fn status(globals: &Globals, r: &ReleaseRef) -> Result<ReleaseStatus, Error> {
    super::runtime()?.block_on(async {
        let (cluster, mut history, storage) = read_history(globals, r).await?;
        let record = history.pop().ok_or_else(|| {
            Error::Invalid(format!(
                "release {}/{} has no revisions",
                r.namespace, r.release
            ))
        })?;
        let mut resources = Vec::new();
        for item in &record.inventory {
            let state = match cluster.get_object(item).await?.map(|l| readiness(&l)) {
                None => "missing".to_string(),
                Some(Readiness::Ready) => "ready".to_string(),
                Some(Readiness::Pending(why)) => format!("pending: {why}"),
                Some(Readiness::Failed(why)) => format!("failed: {why}"),
            };
            resources.push((item.display(), state));
        }
        Ok(ReleaseStatus {
            record,
            storage,
            resources,
        })
    })
}

/// Which releases to list.
pub struct ListRequest {
    /// Every namespace, not only `-n` (default `default`).
    pub all_namespaces: bool,
    /// Every status (default: deployed, failed and pending releases).
    pub all: bool,
    /// Only releases whose latest revision has one of these statuses.
    pub statuses: Vec<Status>,
}

/// A release as `list` shows it.
pub struct Listed {
    /// Its latest revision.
    pub record: ReleaseRecord,
    /// Where its records are.
    pub storage: Storage,
}

/// The latest revision of every release the request selects, by namespace and name. A release
/// with records in two storages is listed once per storage.
pub fn list(globals: &Globals, req: &ListRequest) -> Result<Vec<Listed>, Error> {
    super::runtime()?.block_on(async {
        let ns = globals
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let cluster = connect(globals, None).await?;
        let store = ClusterStore::new(&cluster);
        let scope = (!req.all_namespaces).then_some(ns.as_str());
        let mut rows = Vec::new();
        for head in store.list(scope).await? {
            let shown = if !req.statuses.is_empty() {
                head.status.is_some_and(|s| req.statuses.contains(&s))
            } else {
                req.all || !matches!(head.status, Some(Status::Uninstalled | Status::Superseded))
            };
            if !shown {
                continue;
            }
            let history = store
                .of(head.storage)
                .history(&head.namespace, &head.name)
                .await?;
            rows.extend(history.into_iter().last().map(|record| Listed {
                record,
                storage: head.storage,
            }));
        }
        Ok(rows)
    })
}

/// The hooks of a revision, each as a YAML document with its `# Source:` line (and a
/// `# Last run:` line when it ran): those kept apart in the record (as Helm keeps them), then
/// documents of its manifest annotated `helm.sh/hook`.
pub fn hooks(record: &ReleaseRecord) -> Vec<String> {
    record
        .hooks
        .iter()
        .map(|h| {
            let run = h.last_run.as_ref().map_or(String::new(), |r| {
                format!(
                    "# Last run: {} (started {}, completed {})\n",
                    r.phase, r.started_at, r.completed_at
                )
            });
            format!("# Source: {}\n{run}{}\n", h.path, h.manifest.trim_end())
        })
        .chain(manifest_hooks(&record.manifest))
        .collect()
}

/// The documents of `manifest` annotated `helm.sh/hook`, in manifest order.
pub fn manifest_hooks(manifest: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in manifest.lines().chain(std::iter::once("---")) {
        if line == "---" {
            let is_hook = crate::yaml::parse_str(&cur, "manifest").is_ok_and(|v| {
                v.pointer("/metadata/annotations/helm.sh~1hook")
                    .is_some_and(|h| !h.is_null())
            });
            if is_hook {
                docs.push(std::mem::take(&mut cur));
            }
            cur.clear();
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_are_the_documents_annotated_as_manifest_hooks() {
        let manifest = "---\n# Source: a/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n---\n# Source: a/templates/job.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-upgrade\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: other\n  annotations:\n    example.com/hook: x\n";
        assert_eq!(
            manifest_hooks(manifest),
            [
                "# Source: a/templates/job.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-upgrade\n"
            ]
        );
        assert!(manifest_hooks("").is_empty());
    }
}
