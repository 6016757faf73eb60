//! `diff`: what installing or upgrading one target would change, as the server would store
//! it, and where the cluster drifted from the last release. The target is rendered exactly as
//! the next deploy would render it ([`super::next_revision_options`]) and its objects prepared
//! as the deploy would apply them ([`crate::release::preview`]).

use super::prepare::{ChartRequest, Source, prepare_checked};
use super::{Error, Globals, connect, next_revision_options};
use crate::chart::ChartKind;
use crate::diff::{DiffOptions, DiffReport, IgnoreRules, diff_objects, live_fingerprint, sha256};
use crate::manifest::Manifest;
use crate::manifest::order::{Group, Staged};
use crate::release::desired::{OwnerMarks, helm_crds_to_create};
use crate::release::hooks::{HookStep, would_run};
use crate::release::preview::preview;
use crate::release::{ClusterStore, ReleaseStore, Storage};
use crate::render;

/// A diff of one target.
pub struct DiffRequest {
    /// The chart and values.
    pub chart: ChartRequest,
    /// `--ignore` rules, added to those of the target's charter.yaml.
    pub ignore: Vec<String>,
    /// Show Secret values instead of masking them.
    pub show_secrets: bool,
}

/// Whether Secret values may be shown: `--show-secrets` is refused when `CI=true` (they would
/// end up in the CI log) unless forced.
pub fn secrets_shown(show: bool, force: bool) -> Result<bool, Error> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if show && ci && !force {
        return Err(Error::Invalid(
            "--show-secrets is refused when CI=true: Secret values would end up in the CI log. Leave it out (values are shown masked with their size), or pass --force-show-secrets if that is really wanted".into(),
        ));
    }
    Ok(show || force)
}

/// One target's diff, with what a plan records of it.
pub struct TargetDiff {
    /// The release.
    pub release: String,
    /// Its namespace.
    pub namespace: String,
    /// The kube context diffed against.
    pub context: String,
    /// The diff.
    pub report: DiffReport,
    /// A digest of the objects a deploy would apply.
    pub rendered_fingerprint: String,
    /// A digest of the live state the diff saw, the latest revision included.
    pub live_fingerprint: String,
    /// Things to tell the user (e.g. a revision that could not be read back).
    pub warnings: Vec<String>,
    /// The groups a deploy applies one after another when the chart has ordering
    /// annotations; empty otherwise.
    pub groups: Vec<Group>,
    /// The hooks the install or upgrade would run, in order.
    pub hooks: Vec<HookStep>,
    /// A digest of those hooks and their objects ([`crate::release::hooks::would_run`]).
    pub hooks_fingerprint: String,
    /// Whether the deploy would be an install (no deployed revision) rather than an upgrade.
    pub install: bool,
}

/// Diffs one target on a runtime of its own.
pub fn run(globals: &Globals, req: &DiffRequest) -> Result<TargetDiff, Error> {
    run_on(super::runtime()?.handle(), globals, req)
}

/// Diffs one target, its cluster part on `rt` (called from a thread outside the runtime): the
/// chart is prepared first, before the runtime is entered.
pub fn run_on(
    rt: &tokio::runtime::Handle,
    globals: &Globals,
    req: &DiffRequest,
) -> Result<TargetDiff, Error> {
    let mut p = prepare_checked(globals, &req.chart)?;
    let mut rules = IgnoreRules::new(
        p.target
            .as_ref()
            .map(|t| t.ignore.clone())
            .unwrap_or_default(),
    );
    rules
        .add_compact(&req.ignore)
        .map_err(|e| Error::Invalid(format!("--ignore: {e}")))?;
    rt.block_on(async {
        let cluster = connect(globals, p.target.as_ref())
            .await
            .map_err(|e| match &p.target {
                Some(t) => Error::InTarget {
                    name: t.name.clone(),
                    dir: t.dir.clone(),
                    source: Box::new(e),
                },
                None => e,
            })?;
        let store = ClusterStore::new(&cluster);
        let history = store.history(&p.namespace, &p.release).await?;
        let storage = store
            .storage(&p.namespace, &p.release)
            .await?
            .unwrap_or(Storage::Charter);
        let render_opts = next_revision_options(&cluster, &p, &history, false).await?;
        let values = std::mem::take(&mut p.resolved.values);
        let mut rendered = render::render_owned(&p.chart, values, &render_opts)?;
        let install = crate::release::session::deployed(&history).is_none();
        if p.chart.kind == ChartKind::Helm {
            rendered.crds = helm_crds_to_create(&cluster, &rendered.crds, install).await?;
        }
        let all: Vec<&Manifest> = rendered.crds.iter().chain(&rendered.manifests).collect();
        let groups = Staged::of_manifests(&all, Some(&p.namespace))
            .map_err(render::RenderError::from)?
            .map(|s| s.groups())
            .unwrap_or_default();
        let (hooks, hooks_fingerprint) = would_run(&rendered.hooks, install);
        let pv = preview(
            &cluster,
            &p.release,
            &p.namespace,
            &history,
            &rendered.crds,
            &rendered.manifests,
            OwnerMarks::of(storage),
        )
        .await?;
        tracing::info!(
            "{}/{}: {} objects, {} dry runs",
            p.namespace,
            p.release,
            pv.inputs.len(),
            pv.dry_runs
        );
        // The latest revision is part of the live state: a deploy between plan and apply
        // changes what the plan was made against even when it left every object as it was.
        let live_fp = sha256(
            format!(
                "revision {}\n{}",
                pv.latest_revision,
                live_fingerprint(&pv.inputs, &rules)
            )
            .as_bytes(),
        );
        let opts = DiffOptions {
            show_secrets: req.show_secrets,
        };
        let report = diff_objects(pv.inputs, &rules, &opts);
        Ok(TargetDiff {
            release: p.release,
            namespace: p.namespace,
            context: cluster.context.clone(),
            report,
            rendered_fingerprint: pv.rendered_fingerprint,
            live_fingerprint: live_fp,
            warnings: pv.warnings,
            groups,
            hooks,
            hooks_fingerprint,
            install,
        })
    })
}

/// The diff of a deploy-tree target directory with no flags but `ignore`.
pub fn of_target(
    dir: &std::path::Path,
    ignore: &[String],
    show_secrets: bool,
) -> Result<DiffRequest, Error> {
    let source = Source::from_args(&[dir.display().to_string()], None, None, None)?;
    Ok(DiffRequest {
        chart: ChartRequest {
            source,
            ..ChartRequest::target(dir)
        },
        ignore: ignore.to_vec(),
        show_secrets,
    })
}
