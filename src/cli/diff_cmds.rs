//! `charter diff`, `plan` and `apply`: what a deploy would change per target, for one target or
//! a whole deploy tree, and applying a tree (optionally exactly as planned).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde_json::{Value, json};

use super::input::{ChartArgs, Prepared, SetFlag, prepare, prepare_with};
use super::release_cmds::{DeployArgs, DeployFlags, connect, deploy_async, runtime};
use super::render_cmds::validate_schema;
use super::{CliError, CmdResult, Format, GlobalArgs};
use crate::diff::{
    DiffOptions, DiffReport, DiffSummary, IgnoreRules, canonical_json, diff_objects,
    live_fingerprint, render_json, render_markdown, render_text, sha256, to_json,
};
use crate::release::Status;
use crate::release::preview::preview;
use crate::release::{ReleaseStore, SecretStore};
use crate::render::{self, Capabilities, ReleaseInfo, RenderOptions};

/// The `apiVersion` of a plan file (`schemas/plan.schema.json`).
pub const PLAN_API_VERSION: &str = "charter.dev/plan/v1";
const PLAN_SCHEMA: &str = include_str!("../../schemas/plan.schema.json");
const CHARTER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Flags that shape a diff, shared by diff and plan.
#[derive(Debug, Args, Clone, Default)]
pub struct DiffFlags {
    /// Ignore a field: `[KIND[/NAMESPACE]/NAME:]POINTER`, e.g. `Deployment/web:/spec/replicas`
    /// (docs/diff.md). Repeatable; added to the `ignore:` rules of the target's charter.yaml.
    #[arg(long = "ignore", value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Exit 2 also when the cluster drifted from the last release (not only on changes).
    #[arg(long)]
    pub fail_on_drift: bool,
    /// Show Secret values instead of masking them. Refused when CI=true (see
    /// --force-show-secrets).
    #[arg(long)]
    pub show_secrets: bool,
    /// Show Secret values even when CI=true: they end up in the CI log.
    #[arg(long)]
    pub force_show_secrets: bool,
}

impl DiffFlags {
    fn options(&self) -> Result<DiffOptions, CliError> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        if self.show_secrets && ci && !self.force_show_secrets {
            return Err(CliError::new(
                "--show-secrets is refused when CI=true: Secret values would end up in the CI log. Leave it out (values are shown masked with their size), or pass --force-show-secrets if that is really wanted",
            ));
        }
        Ok(DiffOptions {
            show_secrets: self.show_secrets || self.force_show_secrets,
        })
    }
}

/// `charter diff` flags.
#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub chart: ChartArgs,
    #[command(flatten)]
    pub diff: DiffFlags,
}

/// `charter plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A deploy tree directory: every target (leaf directory) below it is planned.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Write the plan (fingerprints and counts per target, schemas/plan.schema.json) to FILE,
    /// for `charter apply --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// How many targets are rendered and diffed at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    #[command(flatten)]
    pub diff: DiffFlags,
}

/// `charter apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A deploy tree directory: every target (leaf directory) below it is installed or upgraded.
    #[arg(
        value_name = "DIR",
        required_unless_present = "plan",
        conflicts_with = "plan"
    )]
    pub dir: Option<PathBuf>,
    /// Apply exactly the targets of this plan file (from `charter plan --out`), refusing any
    /// whose rendered objects or live state changed since the plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Stop at the first target that fails (the rest are not applied).
    #[arg(long)]
    pub fail_fast: bool,
    #[command(flatten)]
    pub deploy: DeployFlags,
}

/// One target's diff, with what a plan records of it.
struct TargetDiff {
    release: String,
    namespace: String,
    context: String,
    report: DiffReport,
    rendered_fingerprint: String,
    live_fingerprint: String,
    warnings: Vec<String>,
}

/// Prepares values without line numbers (fast), and again with them when the schema rejects
/// the values, so the error names the file and line.
fn prepare_checked(
    global: &GlobalArgs,
    chart: &ChartArgs,
    sets: &[SetFlag],
) -> Result<Prepared, CliError> {
    let prepared = prepare_with(global, chart, sets, false, None)?;
    if validate_schema(&prepared).is_err() {
        validate_schema(&prepare(global, chart, sets)?)?;
    }
    Ok(prepared)
}

/// Renders a target as the next deploy would and compares it with the cluster.
async fn diff_target(
    global: &GlobalArgs,
    chart: &ChartArgs,
    sets: &[SetFlag],
    flags: &DiffFlags,
) -> Result<TargetDiff, CliError> {
    let opts = flags.options()?;
    let mut p = prepare_checked(global, chart, sets)?;
    let mut rules = IgnoreRules::new(
        p.target
            .as_ref()
            .map(|t| t.ignore.clone())
            .unwrap_or_default(),
    );
    rules
        .add_compact(&flags.ignore)
        .map_err(|e| CliError::new(format!("--ignore: {e}")))?;
    let cluster = connect(global, p.target.as_ref())
        .await
        .map_err(|e| match &p.target {
            Some(t) => CliError::new(format!(
                "target {} ({}): {}",
                t.name,
                t.dir.display(),
                e.message
            )),
            None => e,
        })?;
    let history = SecretStore::new(&cluster)
        .history(&p.namespace, &p.release)
        .await
        .map_err(CliError::new)?;
    // The render options of install/upgrade (release_cmds::deploy_in_session) for the next
    // revision, so templates that use the revision or generated values render the same.
    let deployed = history.iter().rev().find(|r| r.status == Status::Deployed);
    let exists = deployed.is_some();
    let render_opts = RenderOptions {
        release: Some(ReleaseInfo {
            name: p.release.clone(),
            namespace: p.namespace.clone(),
            revision: history.last().map_or(1, |r| r.revision + 1),
            is_install: !exists,
            is_upgrade: exists,
            service: "charter",
        }),
        target: p.target_info(),
        capabilities: Capabilities {
            kube_version: cluster.server_version().await?,
            api_versions: cluster.api_versions().await?,
        },
        previous_generated: deployed.map(|r| r.generated.clone()).unwrap_or_default(),
        notes: false,
        lookup: Some(super::release_cmds::live_lookup(&cluster)),
    };
    let values = std::mem::take(&mut p.resolved.values);
    let rendered = render::render_owned(&p.chart, values, &render_opts)?;
    let pv = preview(
        &cluster,
        &p.release,
        &p.namespace,
        &history,
        &rendered.crds,
        &rendered.manifests,
    )
    .await?;
    tracing::info!(
        "{}/{}: {} objects, {} dry runs",
        p.namespace,
        p.release,
        pv.inputs.len(),
        pv.dry_runs
    );
    // The latest revision is part of the live state: a deploy between plan and apply changes
    // what the plan was made against even when it left every object as it was.
    let live_fp = sha256(
        format!(
            "revision {}\n{}",
            pv.latest_revision,
            live_fingerprint(&pv.inputs, &rules)
        )
        .as_bytes(),
    );
    let report = diff_objects(pv.inputs, &rules, &opts);
    Ok(TargetDiff {
        release: p.release,
        namespace: p.namespace,
        context: cluster.context.clone(),
        report,
        rendered_fingerprint: pv.rendered_fingerprint,
        live_fingerprint: live_fp,
        warnings: pv.warnings,
    })
}

fn warn_unmatched(prefix: &str, report: &DiffReport) {
    for r in &report.unmatched_rules {
        let from = r
            .source
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "--ignore".to_string());
        eprintln!(
            "warning: {prefix}ignore rule `{r}` ({from}) matched no field of any object it selects; remove it or fix its path/selector"
        );
    }
}

fn color(global: &GlobalArgs) -> bool {
    !global.no_color.unwrap_or(false) && std::io::stdout().is_terminal()
}

/// `charter diff`.
pub fn diff(global: &GlobalArgs, args: DiffArgs, sets: Vec<SetFlag>) -> CmdResult {
    let td = runtime()?.block_on(diff_target(global, &args.chart, &sets, &args.diff))?;
    for w in &td.warnings {
        eprintln!("warning: {w}");
    }
    warn_unmatched("", &td.report);
    match global.format {
        Some(Format::Json) => print!("{}", render_json(&td.report)),
        Some(Format::Markdown) => {
            let title = format!("charter diff: {}/{}", td.namespace, td.release);
            print!("{}", render_markdown(&td.report, &title));
        }
        Some(Format::Yaml) => print!("{}", crate::yaml::to_yaml(&to_json(&td.report))),
        Some(Format::Table) | None => print!("{}", render_text(&td.report, color(global))),
    }
    Ok(td.report.summary.exit_code(args.diff.fail_on_drift))
}

/// One target of a plan: where it is, and its diff or why there is none.
struct Planned {
    name: String,
    dir: PathBuf,
    context: Option<String>,
    result: Result<TargetDiff, String>,
}

/// The target's name below its stack root (`prod/westus`), or its path when it cannot be
/// resolved (the diff then reports why).
fn target_name(dir: &Path) -> (String, Option<String>) {
    match crate::target::resolve(dir) {
        Ok(t) => (t.name, t.kube_context),
        Err(_) => (dir.display().to_string(), None),
    }
}

async fn plan_all(
    global: &GlobalArgs,
    dir: &Path,
    parallel: usize,
    flags: &DiffFlags,
) -> Result<Vec<Planned>, CliError> {
    let leaves = crate::target::leaves(dir)?;
    if leaves.is_empty() {
        return Err(CliError::new(format!(
            "{}: no targets below it (a target is a leaf directory with a values.yaml or charter.yaml)",
            dir.display()
        )));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = Vec::new();
    for leaf in leaves {
        let (global, flags, limit) = (global.clone(), flags.clone(), limit.clone());
        // Each target on its own thread: renders (CPU) of different targets run in parallel
        // too. (block_on on a blocking thread: the diff's future need not be Send.)
        let handle = tokio::runtime::Handle::current();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            tokio::task::spawn_blocking(move || {
                let (name, context) = target_name(&leaf);
                let chart = ChartArgs {
                    args: vec![leaf.display().to_string()],
                    ..Default::default()
                };
                let result = handle
                    .block_on(diff_target(&global, &chart, &[], &flags))
                    .map_err(|e| e.message);
                Planned {
                    name,
                    dir: leaf,
                    context,
                    result,
                }
            })
            .await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        let joined = t
            .await
            .map_err(|e| CliError::new(format!("a plan task failed: {e}")))?;
        out.push(joined.map_err(|e| CliError::new(format!("a plan task failed: {e}")))?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The plan document (schemas/plan.schema.json) with its checksum; `diffs` adds each target's
/// diff report (the `-o json` output).
fn plan_document(root: &Path, flags: &DiffFlags, planned: &[Planned], diffs: bool) -> Value {
    let targets: Vec<Value> = planned
        .iter()
        .map(|p| {
            let mut t = json!({
                "name": p.name,
                "dir": p.dir.display().to_string(),
            });
            match &p.result {
                Ok(d) => {
                    t["release"] = json!(d.release);
                    t["namespace"] = json!(d.namespace);
                    t["context"] = json!(d.context);
                    t["renderedFingerprint"] = json!(d.rendered_fingerprint);
                    t["liveFingerprint"] = json!(d.live_fingerprint);
                    t["summary"] = json!(d.report.summary);
                    if diffs {
                        t["diff"] = to_json(&d.report);
                    }
                }
                Err(e) => {
                    if let Some(c) = &p.context {
                        t["context"] = json!(c);
                    }
                    t["error"] = json!(e);
                }
            }
            t
        })
        .collect();
    let mut doc = json!({
        "apiVersion": PLAN_API_VERSION,
        "charterVersion": CHARTER_VERSION,
        "root": root.display().to_string(),
        "ignore": flags.ignore,
        "targets": targets,
    });
    doc["checksum"] = json!(plan_checksum(&doc));
    doc
}

/// sha256 over the canonical JSON of the document without its `checksum`.
fn plan_checksum(doc: &Value) -> String {
    let mut d = doc.clone();
    if let Some(m) = d.as_object_mut() {
        m.shift_remove("checksum");
    }
    sha256(&canonical_json(&d))
}

fn plan_exit_code(planned: &[Planned], fail_on_drift: bool) -> i32 {
    if planned.iter().any(|p| p.result.is_err()) {
        1
    } else if planned
        .iter()
        .filter_map(|p| p.result.as_ref().ok())
        .any(|d| d.report.summary.exit_code(fail_on_drift) == 2)
    {
        2
    } else {
        0
    }
}

fn summary_table(planned: &[Planned], markdown: bool) -> String {
    let mut rows = vec![[
        "TARGET".to_string(),
        "RELEASE".to_string(),
        "CONTEXT".to_string(),
        "ADD".to_string(),
        "CHANGE".to_string(),
        "PRUNE".to_string(),
        "DRIFT".to_string(),
        "RESULT".to_string(),
    ]];
    let mut total = DiffSummary::default();
    for p in planned {
        let (release, context, s, result) = match &p.result {
            Ok(d) => {
                total.add(&d.report.summary);
                let s = d.report.summary;
                let result = if s.has_changes() {
                    "changes"
                } else if s.has_drift() {
                    "drift only"
                } else {
                    "up to date"
                };
                (
                    format!("{}/{}", d.namespace, d.release),
                    d.context.clone(),
                    Some(s),
                    result.to_string(),
                )
            }
            Err(e) => (
                String::new(),
                p.context.clone().unwrap_or_default(),
                None,
                format!("error: {}", e.lines().next().unwrap_or_default()),
            ),
        };
        let n =
            |f: fn(&DiffSummary) -> usize| s.as_ref().map(|s| f(s).to_string()).unwrap_or_default();
        rows.push([
            p.name.clone(),
            release,
            context,
            n(|s| s.create),
            n(|s| s.change),
            n(|s| s.prune),
            n(|s| s.drift),
            result,
        ]);
    }
    let mut out = String::new();
    if markdown {
        for (i, r) in rows.iter().enumerate() {
            let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
            if i == 0 {
                out.push_str(&format!("|{}\n", "---|".repeat(r.len())));
            }
        }
    } else {
        let widths: Vec<usize> = (0..8)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\n{} targets: {} to create, {} to change, {} to prune, {} drifted; {} failed\n",
        planned.len(),
        total.create,
        total.change,
        total.prune,
        total.drift,
        planned.iter().filter(|p| p.result.is_err()).count()
    ));
    out
}

/// `charter plan`.
pub fn plan(global: &GlobalArgs, args: PlanArgs) -> CmdResult {
    args.diff.options()?;
    let planned = runtime()?.block_on(plan_all(
        global,
        &args.dir,
        usize::from(args.parallel),
        &args.diff,
    ))?;
    for p in &planned {
        match &p.result {
            Ok(d) => {
                for w in &d.warnings {
                    eprintln!("warning: target {}: {w}", p.name);
                }
                warn_unmatched(&format!("target {}: ", p.name), &d.report);
            }
            // Connection errors already name the target.
            Err(e) if e.starts_with(&format!("target {} ", p.name)) => eprintln!("error: {e}"),
            Err(e) => eprintln!("error: target {} ({}): {e}", p.name, p.dir.display()),
        }
    }
    let header = |p: &Planned, d: &TargetDiff| {
        format!(
            "target {}: release {}/{}, context {}",
            p.name, d.namespace, d.release, d.context
        )
    };
    match global.format {
        Some(Format::Json) => {
            let doc = plan_document(&args.dir, &args.diff, &planned, true);
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Some(Format::Yaml) => {
            let doc = plan_document(&args.dir, &args.diff, &planned, true);
            print!("{}", crate::yaml::to_yaml(&doc));
        }
        Some(Format::Markdown) => {
            println!("# charter plan: {}\n", args.dir.display());
            print!("{}", summary_table(&planned, true));
            for p in &planned {
                if let Ok(d) = &p.result
                    && (d.report.summary.has_changes() || d.report.summary.has_drift())
                {
                    println!();
                    print!("{}", render_markdown(&d.report, &header(p, d)));
                }
            }
        }
        Some(Format::Table) | None => {
            let color = color(global);
            for p in &planned {
                if let Ok(d) = &p.result
                    && (d.report.summary.has_changes() || d.report.summary.has_drift())
                {
                    println!("=== {}\n", header(p, d));
                    print!("{}", render_text(&d.report, color));
                    println!();
                }
            }
            print!("{}", summary_table(&planned, false));
        }
    }
    if let Some(out) = &args.out {
        let doc = plan_document(&args.dir, &args.diff, &planned, false);
        let text = serde_json::to_string_pretty(&doc)? + "\n";
        std::fs::write(out, text).map_err(|e| {
            CliError::new(format!("cannot write the plan to {}: {e}", out.display()))
        })?;
        eprintln!("plan written to {}", out.display());
    }
    Ok(plan_exit_code(&planned, args.diff.fail_on_drift))
}

/// Reads and checks a plan file: JSON, schema, checksum, charter version.
fn read_plan(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("cannot read plan {}: {e}", path.display())))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::new(format!(
            "{}: not a plan file: invalid JSON at line {} column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let api = doc.get("apiVersion").and_then(Value::as_str);
    if api != Some(PLAN_API_VERSION) {
        return Err(CliError::new(format!(
            "{}: not a charter plan: apiVersion is {}, expected {PLAN_API_VERSION}. Make it with `charter plan DIR --out FILE`",
            path.display(),
            api.map_or("missing".to_string(), |a| format!("`{a}`"))
        )));
    }
    let schema: Value = serde_json::from_str(PLAN_SCHEMA)
        .map_err(|e| CliError::new(format!("internal: plan schema: {e}")))?;
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("plan.schema.json", schema)
        .map_err(|e| CliError::new(format!("internal: plan schema: {e}")))?;
    let idx = compiler
        .compile("plan.schema.json", &mut schemas)
        .map_err(|e| CliError::new(format!("internal: plan schema: {e}")))?;
    if let Err(e) = schemas.validate(&doc, idx) {
        return Err(CliError::new(format!(
            "{}: refused: the plan does not match schemas/plan.schema.json (edited by hand?): {e}. Make the plan again",
            path.display()
        )));
    }
    let stored = doc.get("checksum").and_then(Value::as_str).unwrap_or("");
    if stored != plan_checksum(&doc) {
        return Err(CliError::new(format!(
            "{}: refused: its checksum does not match its content, so it was changed after `charter plan` wrote it (edited by hand?). Make the plan again",
            path.display()
        )));
    }
    let version = doc
        .get("charterVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if version != CHARTER_VERSION {
        return Err(CliError::new(format!(
            "{}: refused: the plan was made by charter {version}, this is charter {CHARTER_VERSION}; a plan is applied by the version that made it. Make the plan again with this version",
            path.display()
        )));
    }
    Ok(doc)
}

fn deploy_args(args: &ApplyArgs, dir: &Path) -> DeployArgs {
    DeployArgs {
        chart: ChartArgs {
            args: vec![dir.display().to_string()],
            ..Default::default()
        },
        deploy: args.deploy.clone(),
        dry_run: None,
    }
}

/// Why a planned target may not be applied any more, if it may not.
async fn check_planned(
    global: &GlobalArgs,
    planned: &Value,
    ignore: &[String],
) -> Result<Option<TargetDiff>, String> {
    let s = |k: &str| planned.get(k).and_then(Value::as_str).unwrap_or("");
    if let Some(e) = planned.get("error").and_then(Value::as_str) {
        return Err(format!("refused: it failed when planned ({e})"));
    }
    let chart = ChartArgs {
        args: vec![s("dir").to_string()],
        ..Default::default()
    };
    let flags = DiffFlags {
        ignore: ignore.to_vec(),
        ..Default::default()
    };
    let now = diff_target(global, &chart, &[], &flags)
        .await
        .map_err(|e| format!("refused: it cannot be diffed now: {}", e.message))?;
    let was = format!(
        "{}/{} in context {}",
        s("namespace"),
        s("release"),
        s("context")
    );
    let is = format!(
        "{}/{} in context {}",
        now.namespace, now.release, now.context
    );
    if was != is {
        return Err(format!(
            "refused: it was planned as release {was} and now resolves to {is}"
        ));
    }
    if now.rendered_fingerprint != s("renderedFingerprint") {
        return Err(
            "refused: its rendered objects differ from the plan's (the chart, values or charter.yaml changed since, or the chart renders something random); plan again".to_string(),
        );
    }
    if now.live_fingerprint != s("liveFingerprint") {
        return Err(format!(
            "refused: the live state of release {was} changed since the plan (an object was edited, created or deleted outside this plan, or the release was deployed); plan again. Now: {} to create, {} to change, {} to prune, {} drifted",
            now.report.summary.create,
            now.report.summary.change,
            now.report.summary.prune,
            now.report.summary.drift
        ));
    }
    Ok(Some(now))
}

/// A target to apply: its name, directory, and its entry in the plan (with --plan).
type ApplyTarget = (String, PathBuf, Option<Value>);

/// `charter apply`.
pub fn apply(global: &GlobalArgs, args: ApplyArgs) -> CmdResult {
    let rt = runtime()?;
    let (targets, ignore): (Vec<ApplyTarget>, Vec<String>) = match (&args.plan, &args.dir) {
        (Some(plan), _) => {
            let doc = read_plan(plan)?;
            let ignore = doc
                .get("ignore")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let targets = doc
                .get("targets")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|t| {
                    let s = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    (s("name"), PathBuf::from(s("dir")), Some(t))
                })
                .collect();
            (targets, ignore)
        }
        (None, Some(dir)) => {
            let leaves = crate::target::leaves(dir)?;
            if leaves.is_empty() {
                return Err(CliError::new(format!(
                    "{}: no targets below it (a target is a leaf directory with a values.yaml or charter.yaml)",
                    dir.display()
                )));
            }
            let targets = leaves
                .into_iter()
                .map(|l| (target_name(&l).0, l, None))
                .collect();
            (targets, Vec::new())
        }
        (None, None) => {
            return Err(CliError::new(
                "nothing to apply: pass a deploy tree directory or --plan FILE",
            ));
        }
    };
    let mut results: Vec<(String, String)> = Vec::new();
    let mut failed = 0;
    // Targets are applied one after another: each deploy logs its progress as it goes, and
    // interleaved logs of several releases would be unreadable.
    for (name, dir, entry) in &targets {
        if args.fail_fast && failed > 0 {
            results.push((name.clone(), "skipped (--fail-fast)".into()));
            continue;
        }
        if let Some(entry) = entry {
            match rt.block_on(check_planned(global, entry, &ignore)) {
                Err(why) => {
                    eprintln!("error: target {name} ({}): {why}", dir.display());
                    results.push((name.clone(), why));
                    failed += 1;
                    continue;
                }
                Ok(Some(now)) if !now.report.summary.has_changes() => {
                    results.push((name.clone(), "up to date (nothing planned)".into()));
                    continue;
                }
                Ok(_) => {}
            }
        }
        eprintln!("==> target {name} ({})", dir.display());
        let deploy = deploy_args(&args, dir);
        match rt.block_on(deploy_async(global, &deploy, &[], true, true, false)) {
            Ok(_) => results.push((name.clone(), "applied".into())),
            Err(e) => {
                eprintln!(
                    "error: target {name} ({}): {}",
                    dir.display(),
                    e.message.trim_end()
                );
                results.push((
                    name.clone(),
                    format!("failed: {}", e.message.lines().next().unwrap_or_default()),
                ));
                failed += 1;
            }
        }
    }
    let w = results.iter().map(|r| r.0.len()).max().unwrap_or(6).max(6);
    println!("\n{:<w$}  RESULT", "TARGET");
    for (n, r) in &results {
        println!("{n:<w$}  {r}");
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_plan(dir: &Path, doc: &Value) -> PathBuf {
        let p = dir.join("plan.json");
        std::fs::write(&p, serde_json::to_string_pretty(doc).unwrap()).unwrap();
        p
    }

    fn plan(version: &str) -> Value {
        let mut doc = json!({
            "apiVersion": PLAN_API_VERSION,
            "charterVersion": version,
            "root": "deploy/app",
            "ignore": [],
            "targets": [{"name": "prod/east", "dir": "deploy/app/prod/east", "error": "x"}],
        });
        doc["checksum"] = json!(plan_checksum(&doc));
        doc
    }

    #[test]
    fn plans_from_another_version_or_edited_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = write_plan(tmp.path(), &plan(CHARTER_VERSION));
        assert!(read_plan(&ok).is_ok());

        let other = write_plan(tmp.path(), &plan("0.0.1-other"));
        let err = read_plan(&other).unwrap_err().message;
        assert!(err.contains("made by charter 0.0.1-other"), "{err}");

        let mut edited = plan(CHARTER_VERSION);
        edited["root"] = json!("deploy/other");
        let err = read_plan(&write_plan(tmp.path(), &edited))
            .unwrap_err()
            .message;
        assert!(err.contains("checksum"), "{err}");

        let mut bad = plan(CHARTER_VERSION);
        bad["targets"][0]["extra"] = json!(1);
        bad["checksum"] = json!(plan_checksum(&bad));
        let err = read_plan(&write_plan(tmp.path(), &bad))
            .unwrap_err()
            .message;
        assert!(err.contains("schema"), "{err}");
    }

    #[test]
    fn the_checksum_does_not_depend_on_formatting() {
        let doc = plan(CHARTER_VERSION);
        let compact: Value = serde_json::from_str(&doc.to_string()).unwrap();
        assert_eq!(plan_checksum(&doc), plan_checksum(&compact));
    }
}
