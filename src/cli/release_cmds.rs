//! `charter install`, `upgrade`, `rollback`, `uninstall`, `history`, `get`, `list`, `status`:
//! release operations on a cluster.

use std::time::Duration;

use clap::Args;

use super::args::{ChartArgs, DeployFlags, parse_duration};
use super::output::{
    print_data, print_record_summary, print_summaries, print_table, seconds, source_line,
    summary_json, updated,
};
use super::progress::Reporter;
use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::action::adopt::AdoptRequest;
use crate::action::install::{self, DryRun, InstallRequest, Installed, Mode};
use crate::action::query::{self, ListRequest, Listed};
use crate::action::rollback::RollbackRequest;
use crate::action::uninstall::{UninstallRequest, Uninstalled};
use crate::action::{ReleaseRef, adopt, rollback, uninstall};
use crate::cluster::Cascade;
use crate::release::record::format_age;
use crate::release::store::helm::format::ADOPTED_OWNER;
use crate::release::{ApplyHow, LockOptions, ReleaseRecord, Status, Storage};
use crate::values::SetFlag;

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
    pub dry_run: Option<DryRunArg>,
}

/// `charter install` flags.
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
    /// Name the release `<chart>-<unix seconds>`; give only CHART.
    #[arg(short = 'g', long)]
    pub generate_name: bool,
    /// Install a release none of whose revisions is deployed (a failed install, or one
    /// uninstalled with --keep-history), continuing its revision numbers.
    #[arg(long)]
    pub replace: bool,
}

/// `--dry-run` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRunArg {
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
    /// layers) over the new chart's defaults, then apply this run's layers on top. Helm's
    /// --reuse-values keeps the old chart's defaults too; charter never does, so a default the
    /// new chart changes takes effect.
    #[arg(
        long,
        visible_alias = "reset-then-reuse-values",
        conflicts_with = "reset_values"
    )]
    pub reuse_values: bool,
    /// Start from the chart's defaults (the default): only this run's layers apply.
    #[arg(long)]
    pub reset_values: bool,
    /// When the upgrade fails, delete the objects it created (those that did not exist
    /// before it); objects it changed stay as they are.
    #[arg(long)]
    pub cleanup_on_fail: bool,
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
    /// Only print the objects that would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// A release that does not exist is not an error.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// What happens to the dependents of deleted objects (a Deployment's ReplicaSets and
    /// Pods): background (deleted after), foreground (deleted first), orphan (kept).
    #[arg(long, value_enum, default_value = "background")]
    pub cascade: CascadeArg,
}

/// `uninstall --cascade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CascadeArg {
    /// The objects go at once; their dependents after them.
    Background,
    /// Dependents first, then the objects.
    Foreground,
    /// The dependents stay.
    Orphan,
}

/// `charter adopt` flags.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
    /// Return a release in charter's records to Helm's storage (Secrets), so Helm operates
    /// on it again.
    #[arg(long)]
    pub to_helm: bool,
    /// Delete Helm's records once copied, instead of keeping them as backups labelled
    /// owner=charter-adopted.
    #[arg(long, conflicts_with = "to_helm")]
    pub delete_helm_records: bool,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<Duration>,
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

/// What `charter get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GetWhat {
    /// The values the user supplied (every layer above the chart's defaults); --all: every
    /// value, merged.
    Values,
    /// The rendered manifest.
    Manifest,
    /// The rendered NOTES.txt.
    Notes,
    /// The hooks (`helm.sh/hook`) of the revision: kept with it, or in its manifest.
    Hooks,
    /// Name, chart, versions, namespace, revision, status, deploy time (-o json/yaml: the same
    /// as data).
    Metadata,
    /// A readable summary: metadata, values, hooks, manifest, notes (-o json/yaml: the whole
    /// stored record).
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
    /// With `values`: every value, the chart's defaults merged in, not only those supplied.
    #[arg(short = 'a', long)]
    pub all: bool,
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

/// `charter status` flags.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The release name (with -n), or a deploy-tree target directory.
    pub release: String,
}

/// The status, and how long it has been pending when it is (a pending revision nothing is
/// working on is left by a run that died: `rollback` or `upgrade` recovers it).
fn status_with_age(r: &ReleaseRecord) -> String {
    match r.pending_for() {
        Some(age) => format!("{} ({})", r.status, format_age(age)),
        None => r.status.to_string(),
    }
}

/// A summary with where the release is stored and, when pending, for how many seconds.
fn with_storage(
    mut v: serde_json::Value,
    r: &ReleaseRecord,
    storage: Storage,
) -> serde_json::Value {
    v["storage"] = storage.as_str().into();
    if let Some(age) = r.pending_for() {
        v["pendingSeconds"] = age.as_secs().into();
    }
    v
}

/// The lock of an operation without a --lock-ttl flag (uninstall, rollback).
fn short_lock(wait: Option<Duration>) -> LockOptions {
    LockOptions::for_this_process(Duration::from_secs(30), wait)
}

/// What only install (the first two) or only upgrade (the last) takes.
#[derive(Default)]
struct ModeFlags {
    generate_name: bool,
    replace: bool,
    cleanup_on_fail: bool,
}

fn deploy(
    global: &GlobalArgs,
    args: &DeployArgs,
    sets: Vec<SetFlag>,
    mode: Mode,
    only: ModeFlags,
) -> CmdResult {
    let mut options = args.deploy.options().map_err(CliError::new)?;
    options.cleanup_on_fail = only.cleanup_on_fail;
    let req = InstallRequest {
        chart: args.chart.request(sets)?,
        mode,
        options,
        dry_run: args.dry_run.map(|d| match d {
            DryRunArg::Client => DryRun::Client,
            DryRunArg::Server => DryRun::Server,
        }),
        generate_name: only.generate_name,
        replace: only.replace,
    };
    let rep = Reporter::new();
    let done = install::run(&global.globals(), &req, &|p| rep.report(p));
    rep.finish();
    match done? {
        Installed::DryRun(rendered) => {
            let all = rendered.crds.iter().chain(rendered.manifests.iter());
            let mut out = std::io::stdout().lock();
            crate::manifest::write_stream(&mut out, all)?;
            if !rendered.hooks.is_empty() {
                eprintln!(
                    "warning: the chart's Helm hooks would be neither run nor applied (charter does not run hooks yet); printed after the objects: {}",
                    crate::action::install::hooks_not_run(&rendered).join("; ")
                );
                crate::manifest::write_stream(
                    &mut out,
                    rendered.hooks.iter().map(|h| &h.manifest),
                )?;
            }
            if let Some(n) = &rendered.notes {
                outln!("\nNOTES:\n{}", n.trim_end())?;
            }
        }
        Installed::Deployed(record) => {
            print_record_summary(&record, None, global.output.unwrap_or(OutputFormat::Table))?
        }
    }
    Ok(0)
}

/// `charter install`.
pub fn install(global: &GlobalArgs, args: InstallArgs, sets: Vec<SetFlag>) -> CmdResult {
    let only = ModeFlags {
        generate_name: args.generate_name,
        replace: args.replace,
        ..ModeFlags::default()
    };
    deploy(global, &args.deploy, sets, Mode::Install, only)
}

/// `charter upgrade`.
pub fn upgrade(global: &GlobalArgs, args: UpgradeArgs, sets: Vec<SetFlag>) -> CmdResult {
    let mode = Mode::Upgrade {
        install: args.install,
        reuse_values: args.reuse_values,
    };
    let only = ModeFlags {
        cleanup_on_fail: args.cleanup_on_fail,
        ..ModeFlags::default()
    };
    deploy(global, &args.deploy, sets, mode, only)
}

/// `charter uninstall`.
pub fn uninstall(global: &GlobalArgs, args: UninstallArgs) -> CmdResult {
    let globals = global.globals();
    let req = UninstallRequest {
        release: ReleaseRef::from_arg(&globals, &args.release)?,
        keep_history: args.keep_history,
        wait: args.wait.then_some(args.timeout),
        lock: short_lock(None),
        cascade: match args.cascade {
            CascadeArg::Background => Cascade::Background,
            CascadeArg::Foreground => Cascade::Foreground,
            CascadeArg::Orphan => Cascade::Orphan,
        },
        dry_run: args.dry_run,
        ignore_not_found: args.ignore_not_found,
    };
    let rep = Reporter::new();
    let done = uninstall::run(&globals, &req, &|p| rep.report(p));
    rep.finish();
    let name = &req.release.release;
    match done? {
        Uninstalled::Done => outln!("release \"{name}\" uninstalled")?,
        Uninstalled::NotFound => outln!(
            "release \"{name}\" not found in namespace {}: nothing to uninstall",
            req.release.namespace
        )?,
        Uninstalled::DryRun(items) => {
            outln!(
                "release \"{name}\" would be uninstalled (dry run), deleting {} object(s):",
                items.len()
            )?;
            for item in items {
                outln!("  {}", item.display())?;
            }
        }
    }
    Ok(0)
}

/// `charter rollback`: a new revision with an earlier revision's manifest and values.
pub fn rollback(global: &GlobalArgs, args: RollbackArgs) -> CmdResult {
    let globals = global.globals();
    let req = RollbackRequest {
        release: ReleaseRef::from_arg(&globals, &args.release)?,
        revision: args.revision,
        how: ApplyHow {
            take_ownership: false,
            force_conflicts: args.force_conflicts,
            wait: args.wait.then_some(args.timeout),
            timeout: Some(args.timeout),
        },
        history_max: args.history_max,
        lock: short_lock(args.wait_for_lock),
    };
    let rep = Reporter::new();
    let done = rollback::run(&globals, &req, &|p| rep.report(p));
    rep.finish();
    let done = done?;
    print_record_summary(
        &done.record,
        Some(done.to),
        global.output.unwrap_or(OutputFormat::Table),
    )?;
    Ok(0)
}

/// `charter adopt`: move a release's history between Helm's storage and charter's.
pub fn adopt(global: &GlobalArgs, args: AdoptArgs) -> CmdResult {
    let globals = global.globals();
    let req = AdoptRequest {
        release: ReleaseRef::from_arg(&globals, &args.release)?,
        to_helm: args.to_helm,
        delete_helm_records: args.delete_helm_records,
        lock: short_lock(args.wait_for_lock),
    };
    let done = adopt::run(&globals, &req)?;
    let (ns, name) = (&req.release.namespace, &req.release.release);
    println!(
        "release {ns}/{name}: {} revisions moved from {} to {}",
        done.revisions,
        done.from.describe(),
        done.to.describe()
    );
    if done.to.is_helm() {
        println!(
            "{} objects marked as Helm's, their fields owned by Helm's field manager; charter's records deleted",
            done.objects
        );
    } else if done.deleted {
        println!("Helm's records deleted");
    } else {
        println!(
            "Helm's records kept as backups, hidden from Helm (label owner={}); delete them with `kubectl delete {} -n {ns} -l owner={},name={name}`",
            ADOPTED_OWNER,
            done.from.kubectl_kind(),
            ADOPTED_OWNER,
        );
    }
    Ok(0)
}

/// `charter history`.
pub fn history(global: &GlobalArgs, args: HistoryArgs) -> CmdResult {
    let globals = global.globals();
    let r = ReleaseRef::from_arg(&globals, &args.release)?;
    let records = query::history(&globals, &r, args.max)?;
    match global.output.unwrap_or(OutputFormat::Table) {
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|r| {
                    vec![
                        r.revision.to_string(),
                        seconds(updated(r)),
                        r.status.as_str().to_string(),
                        format!("{}-{}", r.chart.name, r.chart.version),
                        r.chart.app_version.clone().unwrap_or_default(),
                        r.description.clone(),
                    ]
                })
                .collect();
            let header = [
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
                "DESCRIPTION",
            ];
            print_table(&mut std::io::stdout(), &header, &rows)?;
        }
        format => print_summaries(&records.iter().collect::<Vec<_>>(), format)?,
    }
    Ok(0)
}

/// `charter get values|manifest|notes|all`.
pub fn get(global: &GlobalArgs, args: GetArgs) -> CmdResult {
    let globals = global.globals();
    let r = ReleaseRef::from_arg(&globals, &args.release)?;
    let record = query::get(&globals, &r, args.revision)?;
    let out = global.output;
    let values = if args.all || args.what == GetWhat::All {
        &record.values
    } else {
        &record.user_values
    };
    if args.all && args.what != GetWhat::Values {
        return Err(CliError::new(
            "--all is for `charter get values` (every value, not only those supplied)",
        ));
    }
    let metadata = || {
        serde_json::json!({
            "name": record.name,
            "chart": record.chart.name,
            "version": record.chart.version,
            "appVersion": record.chart.app_version,
            "namespace": record.namespace,
            "revision": record.revision,
            "status": record.status,
            "deployedAt": record.last_deployed,
            "labels": record.labels,
        })
    };
    match (args.what, out) {
        (GetWhat::Values, Some(OutputFormat::Json)) => {
            outln!("{}", serde_json::to_string_pretty(values)?)?
        }
        (GetWhat::Values, _) if values.is_null() => out!("{{}}\n")?,
        (GetWhat::Values, _) => out!("{}", crate::yaml::to_yaml(values))?,
        (GetWhat::Manifest, _) => out!("{}", record.manifest)?,
        (GetWhat::Notes, _) => outln!("{}", record.notes.trim_end())?,
        (GetWhat::Hooks, _) => {
            for h in query::hooks(&record) {
                out!("---\n{h}")?;
            }
        }
        (GetWhat::Metadata, Some(OutputFormat::Json)) => {
            outln!("{}", serde_json::to_string_pretty(&metadata())?)?
        }
        (GetWhat::Metadata, Some(OutputFormat::Yaml)) => {
            out!("{}", crate::yaml::to_yaml(&metadata()))?
        }
        (GetWhat::Metadata, _) => outln!(
            "NAME: {}\nCHART: {}\nVERSION: {}\nAPP_VERSION: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nDEPLOYED_AT: {}\nLABELS: {}",
            record.name,
            record.chart.name,
            record.chart.version,
            record.chart.app_version.as_deref().unwrap_or(""),
            record.namespace,
            record.revision,
            record.status,
            seconds(&record.last_deployed),
            record
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        )?,
        (GetWhat::All, Some(OutputFormat::Yaml)) => {
            out!("{}", crate::yaml::to_yaml(&serde_json::to_value(&record)?))?
        }
        (GetWhat::All, Some(OutputFormat::Json)) => {
            outln!("{}", serde_json::to_string_pretty(&record)?)?
        }
        (GetWhat::All, _) => {
            outln!(
                "NAME: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nCHART: {}-{}\nAPP_VERSION: {}\nUPDATED: {}\nDESCRIPTION: {}",
                record.name,
                record.namespace,
                record.revision,
                record.status,
                record.chart.name,
                record.chart.version,
                record.chart.app_version.as_deref().unwrap_or(""),
                seconds(updated(&record)),
                record.description,
            )?;
            let supplied = match &record.user_values {
                serde_json::Value::Null => "{}\n".to_string(),
                v => crate::yaml::to_yaml(v),
            };
            out!("\nUSER-SUPPLIED VALUES:\n{supplied}")?;
            out!(
                "\nCOMPUTED VALUES:\n{}",
                crate::yaml::to_yaml(&record.values)
            )?;
            let hooks = query::hooks(&record);
            if !hooks.is_empty() {
                outln!("\nHOOKS:")?;
                for h in hooks {
                    out!("---\n{h}")?;
                }
            }
            out!("\nMANIFEST:\n{}", record.manifest)?;
            if !record.notes.trim().is_empty() {
                outln!("\nNOTES:\n{}", record.notes.trim_end())?;
            }
        }
    }
    Ok(0)
}

/// `charter list`: the latest revision of every release.
pub fn list(global: &GlobalArgs, args: ListArgs) -> CmdResult {
    let statuses: Vec<Status> = args
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
    let req = ListRequest {
        all_namespaces: args.all_namespaces,
        all: args.all,
        statuses,
    };
    let rows = query::list(&global.globals(), &req)?;
    match global.output.unwrap_or(OutputFormat::Table) {
        OutputFormat::Table => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|Listed { record: r, storage }| {
                    vec![
                        r.name.clone(),
                        r.namespace.clone(),
                        r.revision.to_string(),
                        seconds(updated(r)),
                        status_with_age(r),
                        format!("{}-{}", r.chart.name, r.chart.version),
                        r.chart.app_version.clone().unwrap_or_default(),
                        storage.to_string(),
                    ]
                })
                .collect();
            let header = [
                "NAME",
                "NAMESPACE",
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
                "STORAGE",
            ];
            print_table(&mut std::io::stdout(), &header, &table)?;
        }
        format => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|l| with_storage(summary_json(&l.record), &l.record, l.storage))
                .collect();
            print_data(format, &v)?;
        }
    }
    Ok(0)
}

/// `charter status`: the latest revision, its objects and their readiness, and the notes.
pub fn status(global: &GlobalArgs, args: StatusArgs) -> CmdResult {
    let globals = global.globals();
    let r = ReleaseRef::from_arg(&globals, &args.release)?;
    let s = query::status(&globals, &r)?;
    let r = &s.record;
    match global.output.unwrap_or(OutputFormat::Table) {
        OutputFormat::Json | OutputFormat::Yaml => {
            let mut v = with_storage(summary_json(r), r, s.storage);
            v["resources"] = s
                .resources
                .iter()
                .map(|(o, s)| serde_json::json!({"object": o, "state": s}))
                .collect();
            if global.output == Some(OutputFormat::Json) {
                outln!("{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                out!("{}", crate::yaml::to_yaml(&v))?;
            }
        }
        OutputFormat::Table => {
            outln!(
                "NAME: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nCHART: {}-{}\n{}UPDATED: {}\nSTORAGE: {} ({})\nDESCRIPTION: {}",
                r.name,
                r.namespace,
                r.revision,
                status_with_age(r),
                r.chart.name,
                r.chart.version,
                source_line(r),
                seconds(updated(r)),
                s.storage,
                s.storage.describe(),
                r.description
            )?;
            outln!("\nRESOURCES:")?;
            for (o, s) in &s.resources {
                outln!("  {o:<56} {s}")?;
            }
            // An uninstalled release's notes describe objects that are gone.
            if r.status != Status::Uninstalled && !r.notes.trim().is_empty() {
                outln!("\nNOTES:\n{}", r.notes.trim_end())?;
            }
        }
    }
    Ok(0)
}
