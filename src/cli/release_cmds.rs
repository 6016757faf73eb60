//! `charter install`, `upgrade`, `rollback`, `uninstall`, `history`, `get`, `list`, `status`:
//! release operations on a cluster.

use std::time::Duration;

use clap::Args;

use super::args::{ChartArgs, DeployFlags, parse_duration};
use super::output::{print_data, print_record_summary, print_summaries, source_line, summary_json};
use super::progress::Reporter;
use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::action::adopt::AdoptRequest;
use crate::action::install::{self, DryRun, InstallRequest, Installed, Mode};
use crate::action::query::{self, ListRequest, Listed};
use crate::action::rollback::RollbackRequest;
use crate::action::uninstall::UninstallRequest;
use crate::action::{ReleaseRef, adopt, rollback, uninstall};
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
    /// The merged values.
    Values,
    /// The rendered manifest.
    Manifest,
    /// The rendered NOTES.txt.
    Notes,
    /// The hooks (`helm.sh/hook`) recorded with the revision.
    Hooks,
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

fn deploy(global: &GlobalArgs, args: &DeployArgs, sets: Vec<SetFlag>, mode: Mode) -> CmdResult {
    let req = InstallRequest {
        chart: args.chart.request(sets)?,
        mode,
        options: args.deploy.options(),
        dry_run: args.dry_run.map(|d| match d {
            DryRunArg::Client => DryRun::Client,
            DryRunArg::Server => DryRun::Server,
        }),
    };
    let rep = Reporter::new();
    let done = install::run(&global.globals(), &req, &|p| rep.report(p));
    rep.finish();
    match done? {
        Installed::DryRun(rendered) => {
            let all = rendered.crds.iter().chain(rendered.manifests.iter());
            let mut out = std::io::stdout().lock();
            crate::manifest::write_stream(&mut out, all)?;
            if let Some(n) = &rendered.notes {
                println!("\nNOTES:\n{}", n.trim_end());
            }
        }
        Installed::Deployed(record) => {
            print_record_summary(&record, global.output.unwrap_or(OutputFormat::Table))?
        }
    }
    Ok(0)
}

/// `charter install`.
pub fn install(global: &GlobalArgs, args: DeployArgs, sets: Vec<SetFlag>) -> CmdResult {
    deploy(global, &args, sets, Mode::Install)
}

/// `charter upgrade`.
pub fn upgrade(global: &GlobalArgs, args: UpgradeArgs, sets: Vec<SetFlag>) -> CmdResult {
    let mode = Mode::Upgrade {
        install: args.install,
        reuse_values: args.reuse_values,
    };
    deploy(global, &args.deploy, sets, mode)
}

/// `charter uninstall`.
pub fn uninstall(global: &GlobalArgs, args: UninstallArgs) -> CmdResult {
    let globals = global.globals();
    let req = UninstallRequest {
        release: ReleaseRef::from_arg(&globals, &args.release)?,
        keep_history: args.keep_history,
        wait: args.wait.then_some(args.timeout),
        lock: short_lock(None),
    };
    let rep = Reporter::new();
    let done = uninstall::run(&globals, &req, &|p| rep.report(p));
    rep.finish();
    done?;
    println!("release \"{}\" uninstalled", req.release.release);
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
        },
        history_max: args.history_max,
        lock: short_lock(args.wait_for_lock),
    };
    let rep = Reporter::new();
    let done = rollback::run(&globals, &req, &|p| rep.report(p));
    rep.finish();
    print_record_summary(&done?, global.output.unwrap_or(OutputFormat::Table))?;
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
            println!(
                "{:<9} {:<26} {:<16} {:<16} {:<12} DESCRIPTION",
                "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"
            );
            for r in &records {
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
    match args.what {
        GetWhat::Values => match out {
            Some(OutputFormat::Json) => {
                println!("{}", serde_json::to_string_pretty(&record.values)?)
            }
            _ => print!("{}", crate::yaml::to_yaml(&record.values)),
        },
        GetWhat::Manifest => print!("{}", record.manifest),
        GetWhat::Notes => println!("{}", record.notes.trim_end()),
        GetWhat::Hooks => {
            for h in &record.hooks {
                println!("---\n# Source: {}\n{}", h.path, h.manifest.trim_end());
            }
        }
        GetWhat::All => match out {
            Some(OutputFormat::Yaml) => {
                print!("{}", crate::yaml::to_yaml(&serde_json::to_value(&record)?))
            }
            _ => println!("{}", serde_json::to_string_pretty(&record)?),
        },
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
            println!(
                "{:<24} {:<20} {:<9} {:<32} {:<16} {:<16} {:<12} STORAGE",
                "NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"
            );
            for Listed { record: r, storage } in &rows {
                println!(
                    "{:<24} {:<20} {:<9} {:<32} {:<16} {:<16} {:<12} {storage}",
                    r.name,
                    r.namespace,
                    r.revision,
                    r.last_deployed,
                    status_with_age(r),
                    format!("{}-{}", r.chart.name, r.chart.version),
                    r.chart.app_version.as_deref().unwrap_or("")
                );
            }
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
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", crate::yaml::to_yaml(&v));
            }
        }
        OutputFormat::Table => {
            println!(
                "NAME: {}\nNAMESPACE: {}\nREVISION: {}\nSTATUS: {}\nCHART: {}-{}\n{}UPDATED: {}\nSTORAGE: {} ({})\nDESCRIPTION: {}",
                r.name,
                r.namespace,
                r.revision,
                status_with_age(r),
                r.chart.name,
                r.chart.version,
                source_line(r),
                r.last_deployed,
                s.storage,
                s.storage.describe(),
                r.description
            );
            println!("\nRESOURCES:");
            for (o, s) in &s.resources {
                println!("  {o:<56} {s}");
            }
            if !r.notes.trim().is_empty() {
                println!("\nNOTES:\n{}", r.notes.trim_end());
            }
        }
    }
    Ok(0)
}
