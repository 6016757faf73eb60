//! `install` and `upgrade`: one engine, the [`Mode`] says which. The chart is prepared before
//! the runtime starts; on the cluster the release's lock is taken, the next revision rendered
//! ([`super::next_revision_options`]) and deployed, and with `--atomic` a failure is rolled
//! back. `--dry-run=client` renders offline; `--dry-run=server` prepares the desired objects
//! exactly as a deploy does and has the API server dry-run apply them.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::prepare::{ChartRequest, Detail, Prepared, ReuseValues, prepare};
use super::{Error, Globals, InMissingNamespace, connect, in_session, next_revision_options};
use crate::chart::ChartKind;
use crate::cluster::{ApplyOptions, Cluster};
use crate::release::desired::{
    Desired, OwnerMarks, helm_crds_to_create, not_yet_servable, prepare_desired,
};
use crate::release::{
    self, ApplyHow, ChartRef, ClusterStore, Deploy, LockOptions, Progress, ReleaseRecord,
    ReleaseStore, Report, Session, Storage, TargetRef,
};
use crate::render::{self, ReleaseInfo, RenderOptions, Rendered};

/// Install, or upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new release; an existing one is an error.
    Install,
    /// A new revision of an existing release.
    Upgrade {
        /// Install the release when it does not exist (`--install`).
        install: bool,
        /// Start from the values the deployed revision was given (`--reuse-values`).
        reuse_values: bool,
    },
}

/// `--dry-run` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    /// Render only; no cluster is contacted.
    Client,
    /// Render and dry-run apply every object on the server; nothing is persisted.
    Server,
}

/// How a deploy goes: what install, upgrade and apply share.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Create the release namespace if it does not exist.
    pub create_namespace: bool,
    /// Ownership, conflicts and the readiness wait.
    pub how: ApplyHow,
    /// Description recorded with the revision.
    pub description: Option<String>,
    /// Keep at most this many revisions (0 = unlimited).
    pub history_max: usize,
    /// How long the release lock outlives a run that died without releasing it.
    pub lock_ttl: Duration,
    /// Wait this long for another operation's lock instead of failing at once.
    pub wait_for_lock: Option<Duration>,
    /// On failure, return to the last deployed revision (or remove a failed install).
    pub atomic: bool,
    /// On a failed upgrade, delete the objects this upgrade created (`--cleanup-on-fail`).
    pub cleanup_on_fail: bool,
    /// Leave out the chart's `crds/` (`--skip-crds`).
    pub skip_crds: bool,
    /// Do not check values against `values.schema.json` (`--skip-schema-validation`).
    pub skip_schema_validation: bool,
    /// Labels of the revision, set on its record Secret (`--labels`).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// An install or upgrade.
pub struct InstallRequest {
    /// The chart and values.
    pub chart: ChartRequest,
    /// Install or upgrade.
    pub mode: Mode,
    /// How.
    pub options: DeployOptions,
    /// Change nothing, only show.
    pub dry_run: Option<DryRun>,
    /// Name the release `<chart>-<unix seconds>` (`--generate-name`; the chart only is given).
    pub generate_name: bool,
    /// Install even though the release has revisions, when none of them is deployed (a failed
    /// install, a release uninstalled with --keep-history): `--replace`.
    pub replace: bool,
}

/// What an install or upgrade did.
pub enum Installed {
    /// A dry run: what would be applied.
    DryRun(Rendered),
    /// The revision written.
    Deployed(Box<ReleaseRecord>),
}

/// Runs an install or upgrade on a runtime of its own.
pub fn run(
    globals: &Globals,
    req: &InstallRequest,
    report: Report<'_>,
) -> Result<Installed, Error> {
    run_on(super::runtime()?.handle(), globals, req, report)
}

/// Runs an install or upgrade on `rt` (called from a thread outside the runtime): the chart is
/// prepared first, before the runtime is entered.
pub fn run_on(
    rt: &tokio::runtime::Handle,
    globals: &Globals,
    req: &InstallRequest,
    report: Report<'_>,
) -> Result<Installed, Error> {
    let mut prepared = prepare(globals, &req.chart, Detail::Full)?;
    if req.generate_name {
        prepared.release = generated_name(&req.chart.source, &prepared.chart.meta.name)?;
    }
    if !req.options.skip_schema_validation {
        prepared.validate_schema()?;
    }
    if req.dry_run == Some(DryRun::Client) {
        let opts = RenderOptions {
            release: Some(ReleaseInfo::install(&prepared.release, &prepared.namespace)),
            target: prepared.target_info(),
            notes: true,
            ..Default::default()
        };
        let mut rendered = render::render(&prepared.chart, &prepared.resolved.values, &opts)?;
        if req.options.skip_crds {
            rendered.crds.clear();
        }
        return Ok(Installed::DryRun(rendered));
    }
    rt.block_on(on_cluster(globals, req, prepared, report))
}

async fn on_cluster(
    globals: &Globals,
    req: &InstallRequest,
    mut p: Prepared,
    report: Report<'_>,
) -> Result<Installed, Error> {
    let cluster = connect(globals, p.target.as_ref()).await?;
    let store = ClusterStore::new(&cluster);
    if req.dry_run == Some(DryRun::Server) {
        return server_dry_run(&cluster, &store, &p, &req.options).await;
    }
    if req.options.create_namespace {
        ensure_namespace(&cluster, &p.namespace).await?;
    }
    let lock = LockOptions::for_this_process(req.options.lock_ttl, req.options.wait_for_lock);
    let doing = match req.mode {
        Mode::Install | Mode::Upgrade { install: true, .. } => InMissingNamespace::Install,
        Mode::Upgrade { install: false, .. } => InMissingNamespace::Upgrade,
    };
    let (namespace, release) = (p.namespace.clone(), p.release.clone());
    let record = in_session(
        &cluster,
        &namespace,
        &release,
        &lock,
        report,
        doing,
        async |session| {
            if let Mode::Upgrade {
                reuse_values: true, ..
            } = req.mode
                && let Some(prev) = session.deployed()
            {
                // On top of the deployed revision's own values.
                let reuse = ReuseValues {
                    values: &prev.user_values,
                    revision: prev.revision,
                };
                p.relayer(&req.chart, Detail::Full, Some(reuse))?;
                if !req.options.skip_schema_validation {
                    p.validate_schema()?;
                }
            }
            deploy_in_session(&cluster, session, &p, req, report).await
        },
    )
    .await?;
    Ok(Installed::Deployed(Box::new(record)))
}

/// The objects of `deploy` that neither the deployed revision holds nor exist now: those the
/// upgrade creates, which `--cleanup-on-fail` deletes when it fails.
async fn to_be_created(
    cluster: &Cluster,
    session: &Session<'_>,
    p: &Prepared,
    deploy: &Deploy,
) -> Result<Vec<crate::object::ObjectRef>, Error> {
    let held: HashSet<&crate::object::ObjectRef> = session
        .deployed()
        .map(|r| r.inventory.iter().collect())
        .unwrap_or_default();
    let desired = prepare_desired(
        cluster,
        &p.release,
        &p.namespace,
        &deploy.crds,
        &deploy.manifests,
        &HashMap::new(),
        OwnerMarks::of(session.storage),
    )
    .await?;
    let mut out = Vec::new();
    for d in desired {
        if !held.contains(&d.item) && cluster.get_object(&d.item).await?.is_none() {
            out.push(d.item);
        }
    }
    Ok(out)
}

/// `--generate-name`: `<chart>-<unix seconds>`, for a chart given without a release name.
fn generated_name(source: &super::Source, chart: &str) -> Result<String, Error> {
    if !matches!(source, super::Source::Chart { release: None, .. }) {
        return Err(Error::Invalid(
            "--generate-name names the release: give only CHART (a deploy-tree target or RELEASE CHART already names it)".into(),
        ));
    }
    let suffix = format!("-{}", jiff::Timestamp::now().as_second());
    // Release names are at most 53 characters (Helm's limit, which charter keeps).
    let head: String = chart.chars().take(53 - suffix.len()).collect();
    Ok(format!("{}{suffix}", head.trim_end_matches('-')))
}

async fn ensure_namespace(cluster: &Cluster, namespace: &str) -> Result<(), Error> {
    if cluster
        .get("v1", "Namespace", None, namespace)
        .await?
        .is_none()
    {
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
        cluster.apply(&ns, Default::default()).await?;
    }
    Ok(())
}

async fn deploy_in_session(
    cluster: &Cluster,
    session: &mut Session<'_>,
    p: &Prepared,
    req: &InstallRequest,
    report: Report<'_>,
) -> Result<ReleaseRecord, Error> {
    if let Some(revision) = session.repaired {
        report(Progress::Repaired {
            release: &p.release,
            namespace: &p.namespace,
            revision,
        });
    }
    match req.mode {
        // --replace: a release none of whose revisions is deployed is installed again.
        Mode::Install if req.replace && session.deployed().is_none() => {}
        Mode::Install if session.exists() => {
            return Err(Error::Invalid(format!(
                "release {}/{} already exists; use `charter upgrade` to change it",
                p.namespace, p.release
            )));
        }
        Mode::Upgrade { install: false, .. } if !session.exists() => {
            return Err(Error::Invalid(format!(
                "release {}/{} does not exist; use `charter install`, or `charter upgrade --install`",
                p.namespace, p.release
            )));
        }
        _ => {}
    }
    let opts = next_revision_options(cluster, p, &session.history, true).await?;
    let rendered = render::render(&p.chart, &p.resolved.values, &opts)?;
    let o = &req.options;
    let deploy = Deploy {
        revision: session.next_revision(),
        rollback_of: None,
        chart: ChartRef::of(&p.chart, p.source.as_ref()),
        values: p.resolved.values.clone(),
        user_values: p.user_values.clone().unwrap_or(serde_json::Value::Null),
        layers: p.user_layers.clone(),
        target: p.target.as_ref().map(|t| TargetRef {
            env: t.env.clone(),
            region: t.region.clone(),
            name: t.name.clone(),
        }),
        crds: if o.skip_crds {
            Vec::new()
        } else if p.chart.kind == ChartKind::Helm {
            helm_crds_to_create(cluster, &rendered.crds, session.deployed().is_none()).await?
        } else {
            rendered.crds
        },
        unrecorded_crds: p.chart.kind == ChartKind::Helm,
        manifests: rendered.manifests,
        notes: rendered.notes.unwrap_or_default(),
        hooks: release::hooks::recorded(&rendered.hooks),
        generated: rendered.generated,
        description: o.description.clone(),
        how: o.how,
        history_max: o.history_max,
        labels: o.labels.clone(),
    };
    let created = if o.cleanup_on_fail && !o.atomic && session.deployed().is_some() {
        to_be_created(cluster, session, p, &deploy).await?
    } else {
        Vec::new()
    };
    match session.deploy(deploy, report).await {
        Ok(r) => Ok(r),
        Err(e) if !created.is_empty() => {
            let mut deleted = 0;
            let mut failed = Vec::new();
            for item in &created {
                match cluster.delete_object(item).await {
                    Ok(true) => {
                        deleted += 1;
                        report(Progress::Deleted(item));
                    }
                    Ok(false) => {}
                    Err(err) => failed.push(format!("{}: {err}", item.display())),
                }
            }
            let cleanup = if failed.is_empty() {
                format!("Deleted the {deleted} object(s) the upgrade created")
            } else {
                format!(
                    "Deleted {deleted} of the objects the upgrade created; not deleted: {}",
                    failed.join("; ")
                )
            };
            Err(Error::CleanedUp {
                error: Box::new(e),
                cleanup,
            })
        }
        Err(e) if o.atomic => {
            session.refresh().await?;
            match session.deployed().cloned() {
                Some(prev) => {
                    report(Progress::RollingBack {
                        error: &e.to_string(),
                        revision: prev.revision,
                    });
                    let rb = release::rollback_deploy(
                        &prev,
                        session.next_revision(),
                        o.how,
                        o.history_max,
                    )?;
                    session.deploy(rb, report).await?;
                    Err(Error::Atomic {
                        error: Box::new(e),
                        rolled_back_to: Some(prev.revision),
                    })
                }
                None => {
                    session
                        .uninstall(false, None, Default::default(), o.how.hooks, report)
                        .await?;
                    Err(Error::Atomic {
                        error: Box::new(e),
                        rolled_back_to: None,
                    })
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Renders the next revision and has the API server dry-run apply every object as the deploy
/// would send it (ownership metadata, resolved namespaces). An object the server cannot take
/// before the deploy creates its CRD or namespace is shown as rendered.
async fn server_dry_run(
    cluster: &Cluster,
    store: &dyn ReleaseStore,
    p: &Prepared,
    options: &DeployOptions,
) -> Result<Installed, Error> {
    let history = store.history(&p.namespace, &p.release).await?;
    let storage = store
        .storage(&p.namespace, &p.release)
        .await?
        .unwrap_or(Storage::Charter);
    let opts = next_revision_options(cluster, p, &history, true).await?;
    let rendered = render::render(&p.chart, &p.resolved.values, &opts)?;
    let desired = prepare_desired(
        cluster,
        &p.release,
        &p.namespace,
        &rendered.crds,
        &rendered.manifests,
        &HashMap::new(),
        OwnerMarks::of(storage),
    )
    .await?;
    let created = Created::by(&desired, options.create_namespace.then_some(&*p.namespace));
    let apply = ApplyOptions {
        force: options.how.force_conflicts,
        dry_run: true,
    };
    for d in &desired {
        match cluster.apply(&d.obj, apply).await {
            Ok(_) => {}
            Err(e) if not_yet_servable(&e) && created.needs(d) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Installed::DryRun(rendered))
}

/// What a deploy creates that its other objects may need first: the kinds its CRDs define
/// and the namespaces it makes.
struct Created<'a> {
    kinds: HashSet<(&'a str, &'a str)>,
    namespaces: HashSet<&'a str>,
}

impl<'a> Created<'a> {
    fn by(desired: &'a [Desired], create_namespace: Option<&'a str>) -> Created<'a> {
        let text = |d: &'a Desired, p: &str| d.obj.pointer(p).and_then(|v| v.as_str());
        let kinds = desired
            .iter()
            .filter(|d| d.item.kind == "CustomResourceDefinition")
            .filter_map(|d| Some((text(d, "/spec/group")?, text(d, "/spec/names/kind")?)))
            .collect();
        let namespaces = desired
            .iter()
            .filter(|d| d.item.kind == "Namespace" && d.item.group().is_empty())
            .map(|d| d.item.name.as_str())
            .chain(create_namespace)
            .collect();
        Created { kinds, namespaces }
    }

    /// Whether `d`'s kind or namespace comes with this deploy.
    fn needs(&self, d: &Desired) -> bool {
        self.kinds.contains(&(d.item.group(), d.item.kind.as_str()))
            || d.item.ns().is_some_and(|ns| self.namespaces.contains(ns))
    }
}
