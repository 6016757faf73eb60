//! `charter install`, `upgrade`, `uninstall`, `history`: release operations on a cluster.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use sha2::Digest;

use super::input::{ChartArgs, Prepared, ReuseValues, SetFlag, prepare, prepare_with};
use super::progress::Reporter;
use super::render_cmds::validate_schema;
use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::chart::Chart;
use crate::cluster::Cluster;
use crate::release::{
    self as ops, ApplyHow, Deploy, LockOptions, Progress, ReleaseStore, SecretStore,
};
use crate::release::{ChartRef, ReleaseRecord, TargetRef};
use crate::render::{self, Capabilities, LookupFn, ReleaseInfo, RenderOptions};
use crate::target::Target;

/// How a deploy goes: the flags install, upgrade and apply share.
#[derive(Debug, Clone, Args)]
pub struct DeployFlags {
    /// Create the release namespace if it does not exist.
    #[arg(long)]
    pub create_namespace: bool,
    /// Wait until every object is ready (rolled out, complete, bound, established).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (e.g. 300s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Adopt existing objects that no release owns (or another release owns).
    #[arg(long)]
    pub take_ownership: bool,
    /// Take fields owned by other field managers instead of reporting the conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Description recorded with the revision.
    #[arg(long)]
    pub description: Option<String>,
    /// Keep at most this many revisions (0 = unlimited).
    #[arg(long, default_value_t = 10)]
    pub history_max: usize,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<Duration>,
    /// On failure, return to the last deployed revision (or remove a failed install).
    #[arg(long)]
    pub atomic: bool,
    /// How long the release lock outlives a run that died without releasing it.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lock_ttl: Duration,
}

/// Flags shared by install and upgrade.
#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub chart: ChartArgs,
    #[command(flatten)]
    pub deploy: DeployFlags,
    /// Do not change anything: `client` renders offline; `server` also has the API server
    /// validate and default every object (server-side apply dry run). Prints the manifest.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    pub dry_run: Option<DryRun>,
}

/// `--dry-run` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    /// Render only; no cluster is contacted.
    Client,
    /// Render and dry-run apply every object on the server; nothing is persisted.
    Server,
}

/// `charter upgrade` flags.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Install the release if it does not exist.
    #[arg(short = 'i', long)]
    pub install: bool,
    /// Start from the values the deployed revision was given (its -f/--set and deploy-tree
    /// layers), then apply this run's layers on top.
    #[arg(long, conflicts_with = "reset_values")]
    pub reuse_values: bool,
    /// Start from the chart's defaults (the default): only this run's layers apply.
    #[arg(long)]
    pub reset_values: bool,
}

/// `charter uninstall` flags.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
    /// Keep the release records, marked uninstalled.
    #[arg(long)]
    pub keep_history: bool,
    /// Wait until every object is gone (finalizers included) before returning.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait may take.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// `charter history` flags.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
    /// Show at most this many revisions (newest).
    #[arg(long, default_value_t = 256)]
    pub max: usize,
}

/// Parses `90s`, `5m`, `1h`, `1h30m` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration: use e.g. 90s, 5m, 1h30m");
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))
}

/// `lookup` for templates rendered for a cluster: reads the live object (or, with an empty
/// name, lists them as `{items: [...]}`) while the chart renders. Template functions are
/// synchronous, so the request runs on the runtime from a thread allowed to block.
pub(crate) fn live_lookup(cluster: &Cluster) -> LookupFn {
    let cluster = cluster.clone();
    let handle = tokio::runtime::Handle::current();
    Arc::new(
        move |api_version: &str, kind: &str, namespace: &str, name: &str| {
            let ns = (!namespace.is_empty()).then_some(namespace);
            let fetch = async {
                if name.is_empty() {
                    let items = cluster
                        .list(api_version, kind, ns, "")
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(Some(serde_json::json!({
                        "apiVersion": "v1",
                        "kind": "List",
                        "items": items,
                    })))
                } else {
                    cluster
                        .get(api_version, kind, ns, name)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            match tokio::runtime::Handle::try_current() {
                Ok(_) => tokio::task::block_in_place(|| handle.block_on(fetch)),
                Err(_) => handle.block_on(fetch),
            }
        },
    )
}

pub(crate) async fn connect(
    global: &GlobalArgs,
    target: Option<&Target>,
) -> Result<Cluster, CliError> {
    let context = global
        .kube_context
        .clone()
        .or_else(|| target.and_then(|t| t.kube_context.clone()));
    let kubeconfig = global
        .kubeconfig
        .clone()
        .or_else(|| target.and_then(|t| t.kubeconfig.clone()));
    Ok(Cluster::connect(kubeconfig.as_deref(), context.as_deref()).await?)
}

/// A release named on the command line: `RELEASE` (with `-n`), or a deploy-tree target
/// directory, which names the release, its namespace and its kube context.
fn release_ref(
    global: &GlobalArgs,
    arg: &str,
) -> Result<(String, String, Option<Target>), CliError> {
    let path = std::path::Path::new(arg);
    if path.is_dir() && crate::target::is_in_deploy_tree(path) {
        let t = crate::target::resolve(path)?;
        let ns = global
            .namespace
            .clone()
            .or_else(|| t.namespace.clone())
            .unwrap_or_else(|| "default".into());
        return Ok((t.release.clone(), ns, Some(t)));
    }
    super::input::validate_release_name(arg)?;
    let ns = global.namespace.clone().unwrap_or_else(|| "default".into());
    Ok((arg.to_string(), ns, None))
}

/// A digest over everything the chart renders from.
fn chart_digest(chart: &Chart) -> String {
    let mut h = sha2::Sha256::new();
    h.update(serde_json::to_vec(&chart.meta).unwrap_or_default());
    for f in chart
        .values
        .iter()
        .chain(chart.templates.iter())
        .chain(chart.crds.iter())
    {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.content.as_bytes());
        h.update([0]);
    }
    for (p, b) in &chart.files {
        h.update(p.as_bytes());
        h.update([0]);
        h.update(b);
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

pub(crate) async fn deploy_async(
    global: &GlobalArgs,
    args: &DeployArgs,
    sets: &[SetFlag],
    upgrade: bool,
    install_ok: bool,
    reuse_values: bool,
) -> CmdResult {
    let prepared = prepare(global, &args.chart, sets)?;
    validate_schema(&prepared)?;
    if args.dry_run == Some(DryRun::Client) {
        let opts = RenderOptions {
            release: Some(ReleaseInfo::install(&prepared.release, &prepared.namespace)),
            target: prepared.target_info(),
            notes: true,
            ..Default::default()
        };
        let rendered = render::render(&prepared.chart, &prepared.resolved.values, &opts)?;
        print_dry_run(
            &rendered.crds,
            &rendered.manifests,
            rendered.notes.as_deref(),
        );
        return Ok(0);
    }
    let cluster = connect(global, prepared.target.as_ref()).await?;
    if args.dry_run == Some(DryRun::Server) {
        let caps = Capabilities {
            kube_version: cluster.server_version().await?,
            api_versions: cluster.api_versions().await?,
        };
        let opts = RenderOptions {
            release: Some(ReleaseInfo::install(&prepared.release, &prepared.namespace)),
            target: prepared.target_info(),
            capabilities: caps,
            notes: true,
            lookup: Some(live_lookup(&cluster)),
            ..Default::default()
        };
        let rendered = render::render(&prepared.chart, &prepared.resolved.values, &opts)?;
        for m in rendered.crds.iter().chain(rendered.manifests.iter()) {
            let mut obj = crate::yaml::parse_str(m.text(), &m.source).map_err(CliError::new)?;
            if cluster
                .is_namespaced(&m.header.api_version, &m.header.kind)
                .await?
                && obj.pointer("/metadata/namespace").is_none()
                && let Some(meta) = obj.get_mut("metadata").and_then(|v| v.as_object_mut())
            {
                meta.insert("namespace".into(), prepared.namespace.clone().into());
            }
            cluster
                .apply(
                    &obj,
                    crate::cluster::ApplyOptions {
                        force: args.deploy.force_conflicts,
                        dry_run: true,
                    },
                )
                .await?;
        }
        print_dry_run(
            &rendered.crds,
            &rendered.manifests,
            rendered.notes.as_deref(),
        );
        return Ok(0);
    }
    if args.deploy.create_namespace {
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": prepared.namespace}});
        if cluster
            .get("v1", "Namespace", None, &prepared.namespace)
            .await?
            .is_none()
        {
            cluster.apply(&ns, Default::default()).await?;
        }
    }
    let lock = LockOptions::for_this_process(args.deploy.lock_ttl, args.deploy.wait_for_lock);
    let store = SecretStore::new(&cluster);
    let mut session = ops::begin(
        &cluster,
        &store,
        &prepared.namespace,
        &prepared.release,
        &lock,
    )
    .await?;
    let result = async {
        // --reuse-values: prepare again on top of the deployed revision's own values.
        let reprepared = match (reuse_values, session.deployed()) {
            (true, Some(prev)) => Some(prepare_with(
                global,
                &args.chart,
                sets,
                true,
                Some(ReuseValues {
                    values: &prev.user_values,
                    revision: prev.revision,
                }),
            )?),
            _ => None,
        };
        let p = reprepared.as_ref().unwrap_or(&prepared);
        if reprepared.is_some() {
            validate_schema(p)?;
        }
        deploy_in_session(&cluster, &mut session, p, args, upgrade, install_ok).await
    }
    .await;
    session.finish().await;
    let record = result?;
    let out = global.output.unwrap_or(OutputFormat::Table);
    print_record_summary(&record, out)?;
    Ok(0)
}

async fn deploy_in_session(
    cluster: &Cluster,
    session: &mut ops::Session<'_>,
    p: &Prepared,
    args: &DeployArgs,
    upgrade: bool,
    install_ok: bool,
) -> Result<ReleaseRecord, CliError> {
    let rep = Reporter::new();
    let report = |p: Progress<'_>| rep.report(p);
    if let Some(rev) = session.repaired {
        rep.line(&format!(
            "release {}/{}: revision {rev} was left pending by an operation that died; marked failed",
            p.namespace, p.release
        ));
    }
    let exists = session.deployed().is_some();
    if !upgrade && session.exists() {
        return Err(CliError::new(format!(
            "release {}/{} already exists; use `charter upgrade` to change it",
            p.namespace, p.release
        )));
    }
    if upgrade && !session.exists() && !install_ok {
        return Err(CliError::new(format!(
            "release {}/{} does not exist; use `charter install`, or `charter upgrade --install`",
            p.namespace, p.release
        )));
    }
    let revision = session.next_revision();
    let caps = Capabilities {
        kube_version: cluster.server_version().await?,
        api_versions: cluster.api_versions().await?,
    };
    let opts = RenderOptions {
        release: Some(ReleaseInfo {
            name: p.release.clone(),
            namespace: p.namespace.clone(),
            revision,
            is_install: !exists,
            is_upgrade: exists,
            service: "charter",
        }),
        target: p.target_info(),
        capabilities: caps,
        previous_generated: session
            .deployed()
            .map(|r| r.generated.clone())
            .unwrap_or_default(),
        notes: true,
        lookup: Some(live_lookup(cluster)),
    };
    let rendered = render::render(&p.chart, &p.resolved.values, &opts)?;
    let deploy = Deploy {
        revision,
        rollback_of: None,
        chart: ChartRef {
            name: p.chart.meta.name.clone(),
            version: p.chart.meta.version.clone(),
            app_version: p.chart.meta.app_version.clone(),
            description: p.chart.meta.description.clone(),
            digest: chart_digest(&p.chart),
        },
        values: p.resolved.values.clone(),
        user_values: p.user_values.clone().unwrap_or(serde_json::Value::Null),
        layers: p.user_layers.clone(),
        target: p.target.as_ref().map(|t| TargetRef {
            env: t.env.clone(),
            region: t.region.clone(),
            name: t.name.clone(),
        }),
        crds: rendered.crds,
        manifests: rendered.manifests,
        notes: rendered.notes.unwrap_or_default(),
        generated: rendered.generated,
        description: args.deploy.description.clone(),
        how: ApplyHow {
            take_ownership: args.deploy.take_ownership,
            force_conflicts: args.deploy.force_conflicts,
            wait: args.deploy.wait.then_some(args.deploy.timeout),
        },
        history_max: args.deploy.history_max,
    };
    match session.deploy(deploy, &report).await {
        Ok(r) => Ok(r),
        Err(e) if args.deploy.atomic => {
            session.refresh().await?;
            match session.deployed().cloned() {
                Some(prev) => {
                    rep.line(&format!(
                        "--atomic: {e}; rolling back to revision {}",
                        prev.revision
                    ));
                    let rb = ops::rollback_deploy(
                        &prev,
                        session.next_revision(),
                        ApplyHow {
                            take_ownership: false,
                            force_conflicts: args.deploy.force_conflicts,
                            wait: args.deploy.wait.then_some(args.deploy.timeout),
                        },
                        args.deploy.history_max,
                    )?;
                    session.deploy(rb, &report).await?;
                    Err(CliError::new(format!(
                        "{e}. Rolled back to revision {} (--atomic)",
                        prev.revision
                    )))
                }
                None => {
                    session.uninstall(false, None, &report).await?;
                    Err(CliError::new(format!(
                        "{e}. The failed install was removed (--atomic)"
                    )))
                }
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn print_dry_run(
    crds: &[crate::manifest::Manifest],
    manifests: &[crate::manifest::Manifest],
    notes: Option<&str>,
) {
    let all: Vec<&crate::manifest::Manifest> = crds.iter().chain(manifests.iter()).collect();
    let mut out = std::io::stdout().lock();
    let _ = super::output::write_manifests(&mut out, &all);
    if let Some(n) = notes {
        println!("\nNOTES:\n{}", n.trim_end());
    }
}

fn print_record_summary(r: &ReleaseRecord, out: OutputFormat) -> Result<(), CliError> {
    match out {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary_json(r))?),
        OutputFormat::Yaml => print!("{}", crate::yaml::to_yaml(&summary_json(r))),
        OutputFormat::Table => {
            println!("NAME: {}", r.name);
            println!("NAMESPACE: {}", r.namespace);
            println!("REVISION: {}", r.revision);
            println!("STATUS: {}", r.status);
            println!("CHART: {}-{}", r.chart.name, r.chart.version);
            println!("DESCRIPTION: {}", r.description);
            if !r.notes.trim().is_empty() {
                println!("\nNOTES:\n{}", r.notes.trim_end());
            }
        }
    }
    Ok(())
}

fn summary_json(r: &ReleaseRecord) -> serde_json::Value {
    serde_json::json!({
        "name": r.name,
        "namespace": r.namespace,
        "revision": r.revision,
        "status": r.status,
        "chart": format!("{}-{}", r.chart.name, r.chart.version),
        "appVersion": r.chart.app_version,
        "updated": r.last_deployed,
        "description": r.description,
        "notes": r.notes,
    })
}

/// `charter install`.
pub fn install(global: &GlobalArgs, args: DeployArgs, sets: Vec<SetFlag>) -> CmdResult {
    runtime()?.block_on(deploy_async(global, &args, &sets, false, true, false))
}

/// `charter upgrade`.
pub fn upgrade(global: &GlobalArgs, args: UpgradeArgs, sets: Vec<SetFlag>) -> CmdResult {
    runtime()?.block_on(deploy_async(
        global,
        &args.deploy,
        &sets,
        true,
        args.install,
        args.reuse_values,
    ))
}

/// The lock of an operation without a --lock-ttl flag (uninstall, rollback).
fn short_lock(wait: Option<Duration>) -> LockOptions {
    LockOptions::for_this_process(Duration::from_secs(30), wait)
}

/// `charter uninstall`.
pub fn uninstall(global: &GlobalArgs, args: UninstallArgs) -> CmdResult {
    runtime()?.block_on(async {
        let (release, ns, target) = release_ref(global, &args.release)?;
        let cluster = connect(global, target.as_ref()).await?;
        let lock = short_lock(None);
        let store = SecretStore::new(&cluster);
        let mut session = ops::begin(&cluster, &store, &ns, &release, &lock).await?;
        let rep = Reporter::new();
        let r = session
            .uninstall(args.keep_history, args.wait.then_some(args.timeout), &|p| {
                rep.report(p)
            })
            .await;
        rep.finish();
        session.finish().await;
        r?;
        println!("release \"{}\" uninstalled", release);
        Ok(0)
    })
}

/// Connects for a release and reads its history; a release without revisions is an error.
async fn read_history(
    global: &GlobalArgs,
    arg: &str,
) -> Result<(Cluster, String, String, Vec<ReleaseRecord>), CliError> {
    let (release, ns, target) = release_ref(global, arg)?;
    let cluster = connect(global, target.as_ref()).await?;
    let records = SecretStore::new(&cluster)
        .history(&ns, &release)
        .await
        .map_err(CliError::new)?;
    if records.is_empty() {
        return Err(CliError::new(format!(
            "release {ns}/{release} not found: it has no revisions in namespace {ns}"
        )));
    }
    Ok((cluster, release, ns, records))
}

/// `charter history`.
pub fn history(global: &GlobalArgs, args: HistoryArgs) -> CmdResult {
    runtime()?.block_on(async {
        let (_, _, _, records) = read_history(global, &args.release).await?;
        let shown: Vec<&ReleaseRecord> = records.iter().rev().take(args.max).rev().collect();
        match global.output.unwrap_or(OutputFormat::Table) {
            OutputFormat::Json => {
                let v: Vec<_> = shown.iter().map(|r| summary_json(r)).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            OutputFormat::Yaml => {
                let v: Vec<_> = shown.iter().map(|r| summary_json(r)).collect();
                print!("{}", crate::yaml::to_yaml(&serde_json::Value::Array(v)));
            }
            OutputFormat::Table => {
                println!(
                    "{:<9} {:<26} {:<16} {:<16} {:<12} DESCRIPTION",
                    "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"
                );
                for r in shown {
                    println!(
                        "{:<9} {:<26} {:<16} {:<16} {:<12} {}",
                        r.revision,
                        r.last_deployed,
                        r.status.as_str(),
                        format!("{}-{}", r.chart.name, r.chart.version),
                        r.chart.app_version.as_deref().unwrap_or(""),
                        r.description
                    );
                }
            }
        }
        Ok(0)
    })
}

/// `charter rollback` flags.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
    /// The revision to return to (default: the previous deployed revision).
    pub revision: Option<u64>,
    /// Wait until every object is ready.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Take fields owned by other field managers.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Keep at most this many revisions (0 = unlimited).
    #[arg(long, default_value_t = 10)]
    pub history_max: usize,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<Duration>,
}

/// `charter rollback`: a new revision with an earlier revision's manifest and values.
pub fn rollback(global: &GlobalArgs, args: RollbackArgs) -> CmdResult {
    runtime()?.block_on(async {
        let (release, ns, target) = release_ref(global, &args.release)?;
        let cluster = connect(global, target.as_ref()).await?;
        let lock = short_lock(args.wait_for_lock);
        let store = SecretStore::new(&cluster);
        let mut session = ops::begin(&cluster, &store, &ns, &release, &lock).await?;
        let rep = Reporter::new();
        let result = async {
            let target = session.rollback_target(args.revision)?.clone();
            let deploy = ops::rollback_deploy(
                &target,
                session.next_revision(),
                ApplyHow {
                    take_ownership: false,
                    force_conflicts: args.force_conflicts,
                    wait: args.wait.then_some(args.timeout),
                },
                args.history_max,
            )?;
            session.deploy(deploy, &|p| rep.report(p)).await
        }
        .await;
        rep.finish();
        session.finish().await;
        let record = result?;
        print_record_summary(&record, global.output.unwrap_or(OutputFormat::Table))?;
        Ok(0)
    })
}

/// What `charter get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GetWhat {
    /// The merged values.
    Values,
    /// The rendered manifest.
    Manifest,
    /// The rendered NOTES.txt.
    Notes,
    /// The whole record.
    All,
}

/// `charter get` flags.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to print.
    #[arg(value_enum)]
    pub what: GetWhat,
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
    /// The revision (default: the latest).
    #[arg(long)]
    pub revision: Option<u64>,
}

/// `charter get values|manifest|notes|all`.
pub fn get(global: &GlobalArgs, args: GetArgs) -> CmdResult {
    runtime()?.block_on(async {
        let (_, release, ns, history) = read_history(global, &args.release).await?;
        let record = match args.revision {
            Some(n) => history.iter().find(|r| r.revision == n).ok_or_else(|| {
                CliError::new(format!(
                    "release {ns}/{} has no revision {n}; revisions: {}",
                    release,
                    history
                        .iter()
                        .map(|r| r.revision.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?,
            None => history.last().ok_or_else(|| {
                CliError::new(format!(
                    "release {ns}/{} not found: it has no revisions in namespace {ns}",
                    release
                ))
            })?,
        };
        let out = global.output;
        match args.what {
            GetWhat::Values => match out {
                Some(OutputFormat::Json) => {
                    println!("{}", serde_json::to_string_pretty(&record.values)?)
                }
                _ => print!("{}", crate::yaml::to_yaml(&record.values)),
            },
            GetWhat::Manifest => print!("{}", record.manifest),
            GetWhat::Notes => println!("{}", record.notes.trim_end()),
            GetWhat::All => match out {
                Some(OutputFormat::Yaml) => {
                    print!("{}", crate::yaml::to_yaml(&serde_json::to_value(record)?))
                }
                _ => println!("{}", serde_json::to_string_pretty(record)?),
            },
        }
        Ok(0)
    })
}

/// `charter list` flags.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Releases in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Every status (default: deployed, failed and pending releases).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only releases whose latest revision has this status; repeatable.
    #[arg(long = "status", value_name = "STATUS")]
    pub statuses: Vec<String>,
}

/// `charter list`: the latest revision of every release.
pub fn list(global: &GlobalArgs, args: ListArgs) -> CmdResult {
    use crate::release::Status;
    let wanted: Vec<Status> = args
        .statuses
        .iter()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                CliError::new(format!(
                    "--status {s}: unknown status; use one of pending-install, pending-upgrade, pending-rollback, deployed, superseded, failed, uninstalling, uninstalled"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    runtime()?.block_on(async {
        let ns = global.namespace.clone().unwrap_or_else(|| "default".into());
        let cluster = connect(global, None).await?;
        let scope = (!args.all_namespaces).then_some(ns.as_str());
        let store = SecretStore::new(&cluster);
        let mut rows = Vec::new();
        for head in store.list(scope).await.map_err(CliError::new)? {
            let shown = if !wanted.is_empty() {
                head.status.is_some_and(|s| wanted.contains(&s))
            } else {
                args.all || !matches!(head.status, Some(Status::Uninstalled | Status::Superseded))
            };
            if !shown {
                continue;
            }
            let history = store
                .history(&head.namespace, &head.name)
                .await
                .map_err(CliError::new)?;
            if let Some(r) = history.last() {
                rows.push(r.clone());
            }
        }
        match global.output.unwrap_or(OutputFormat::Table) {
            OutputFormat::Json => {
                let v: Vec<_> = rows.iter().map(summary_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
            OutputFormat::Yaml => {
                let v: Vec<_> = rows.iter().map(summary_json).collect();
                print!("{}", crate::yaml::to_yaml(&serde_json::Value::Array(v)));
            }
            OutputFormat::Table => {
                println!(
                    "{:<24} {:<20} {:<9} {:<32} {:<16} {:<16} APP VERSION",
                    "NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART"
                );
                for r in &rows {
                    println!(
                        "{:<24} {:<20} {:<9} {:<32} {:<16} {:<16} {}",
                        r.name,
                        r.namespace,
                        r.revision,
                        r.last_deployed,
                        r.status.as_str(),
                        format!("{}-{}", r.chart.name, r.chart.version),
                        r.chart.app_version.as_deref().unwrap_or("")
                    );
                }
            }
        }
        Ok(0)
    })
}

/// `charter status` flags.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
}

/// `charter status`: the latest revision, its objects and their readiness, and the notes.
pub fn status(global: &GlobalArgs, args: StatusArgs) -> CmdResult {
    use crate::cluster::readiness::{Readiness, readiness};
    runtime()?.block_on(async {
        let (cluster, release, ns, history) = read_history(global, &args.release).await?;
        let r = history
            .last()
            .ok_or_else(|| CliError::new(format!("release {ns}/{release} has no revisions")))?;
        let mut resources = Vec::new();
        for item in &r.inventory {
            let live = cluster.get_object(item).await?;
            let state = match live.map(|l| readiness(&l)) {
                None => "missing".to_string(),
                Some(Readiness::Ready) => "ready".to_string(),
                Some(Readiness::Pending(why)) => format!("pending: {why}"),
                Some(Readiness::Failed(why)) => format!("failed: {why}"),
            };
            resources.push((item.display(), state));
        }
        match global.output.unwrap_or(OutputFormat::Table) {
            OutputFormat::Json | OutputFormat::Yaml => {
                let mut v = summary_json(r);
                v["resources"] = resources
                    .iter()
                    .map(|(o, s)| serde_json::json!({"object": o, "state": s}))
                    .collect();
                if global.output == Some(OutputFormat::Json) {
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    print!("{}", crate::yaml::to_yaml(&v));
                }
            }
            OutputFormat::Table => {
                println!("NAME: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nCHART: {}-{}\nUPDATED: {}\nDESCRIPTION: {}", r.name, r.namespace, r.revision, r.status, r.chart.name, r.chart.version, r.last_deployed, r.description);
                println!("\nRESOURCES:");
                for (o, s) in &resources {
                    println!("  {o:<56} {s}");
                }
                if !r.notes.trim().is_empty() {
                    println!("\nNOTES:\n{}", r.notes.trim_end());
                }
            }
        }
        Ok(0)
    })
}
