//! `charter diff`, `plan` and `apply`: what a deploy would change per target, for one target or
//! a whole deploy tree, and applying a tree (optionally exactly as planned).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::args::{ChartArgs, DeployFlags};
use super::fleet::FleetProgress;
use super::{CliError, CmdResult, Format, GlobalArgs, OutputFormat, printed};
use crate::action::apply::{Applied, ApplyRequest, ApplyTargets, OnFailure, Selection, WaveStatus};
use crate::action::diff::{DiffRequest, TargetDiff, secrets_shown};
use crate::action::fleet::{DEFAULT_PARALLEL, DEFAULT_PER_CLUSTER, Limits};
use crate::action::plan::{Plan, PlanRequest, Planned};
use crate::action::{self, Error};
use crate::diff::{DiffReport, DiffSummary, render_json, render_markdown, render_text, to_json};
use crate::values::SetFlag;

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
    #[command(flatten)]
    pub limits: LimitFlags,
    #[command(flatten)]
    pub diff: DiffFlags,
}

/// How many targets plan and apply work on at once.
#[derive(Debug, Args, Clone)]
pub struct LimitFlags {
    /// How many targets at once, in all. Remote clusters are bound by round trips, not CPU, so
    /// many can go together; each in flight holds its chart, render and objects in memory.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PARALLEL as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// How many targets at once on one cluster (one API server URL).
    #[arg(long, value_name = "M", default_value_t = DEFAULT_PER_CLUSTER as u16, value_parser = clap::value_parser!(u16).range(1..))]
    pub per_cluster: u16,
}

impl LimitFlags {
    fn limits(&self) -> Limits {
        Limits {
            parallel: usize::from(self.parallel),
            per_cluster: usize::from(self.per_cluster),
        }
    }
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
    /// Apply exactly the targets of this plan file (from `charter plan --out`), in its waves,
    /// refusing any whose rendered objects or live state changed since the plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Start no other target once one fails, in its wave or after.
    #[arg(long, conflicts_with = "continue_on_failure")]
    pub fail_fast: bool,
    /// Go on with the next waves when a target or gate fails (by default they are held back).
    #[arg(long)]
    pub continue_on_failure: bool,
    /// Roll out only up to this wave: a wave number, or a level or target (the last wave that
    /// holds a target below it), e.g. `--until staging`.
    #[arg(long, value_name = "WAVE")]
    pub until: Option<String>,
    /// Roll out only these targets, or the targets below these levels (paths below the stack
    /// root, e.g. `prod/eastus`), in their waves. Repeatable, or comma-separated.
    #[arg(long, value_name = "TARGETS", value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub limits: LimitFlags,
    #[command(flatten)]
    pub deploy: DeployFlags,
}

fn warn_unmatched(prefix: &str, report: &DiffReport) {
    for r in &report.unmatched_rules {
        let from = r
            .source
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "--ignore".to_string());
        say!(
            "warning: {prefix}ignore rule `{r}` ({from}) matched no field of any object it selects; remove it or fix its path/selector"
        );
    }
}

fn color(global: &GlobalArgs) -> bool {
    !global.no_color.unwrap_or(false) && std::io::stdout().is_terminal()
}

/// The order a deploy applies the objects in, when the chart has ordering annotations: one
/// line per group, after a blank line; empty without them.
fn groups_text(groups: &[String]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nApplied in groups, each ready before the next (charter.dev/weight, charter.dev/depends-on):\n",
    );
    for g in groups {
        out.push_str(&format!("  {g}\n"));
    }
    out
}

/// `charter diff`.
pub fn diff(global: &GlobalArgs, args: DiffArgs, sets: Vec<SetFlag>) -> CmdResult {
    let req = DiffRequest {
        show_secrets: secrets_shown(args.diff.show_secrets, args.diff.force_show_secrets)?,
        chart: args.chart.request(sets)?,
        ignore: args.diff.ignore.clone(),
    };
    let td = action::diff::run(&global.globals(), &req)?;
    for w in &td.warnings {
        say!("warning: {w}");
    }
    warn_unmatched("", &td.report);
    let text = match global.format {
        Some(Format::Json) => render_json(&td.report),
        Some(Format::Markdown) => {
            let title = format!("charter diff: {}/{}", td.namespace, td.release);
            render_markdown(&td.report, &title)
        }
        Some(Format::Yaml) => crate::yaml::to_yaml(&to_json(&td.report)),
        Some(Format::Table) | None => render_text(&td.report, color(global)),
    };
    let text = match global.format {
        Some(Format::Table | Format::Markdown) | None => text + &groups_text(&td.groups),
        _ => text,
    };
    let code = td.report.summary.exit_code(args.diff.fail_on_drift);
    printed(code, out!("{text}").map_err(Into::into))
}

fn summary_table(planned: &[Planned], markdown: bool) -> String {
    let mut rows = vec![[
        "WAVE".to_string(),
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
                format!(
                    "error: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            ),
        };
        let n =
            |f: fn(&DiffSummary) -> usize| s.as_ref().map(|s| f(s).to_string()).unwrap_or_default();
        rows.push([
            p.wave.to_string(),
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
        let widths: Vec<usize> = (0..rows[0].len())
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

/// The waves of a plan, when there is more than one or a gate: each wave's targets, then its
/// gates. `None` for a tree without `wave:`, `after:` or `gate:`.
fn waves_text(plan: &Plan, markdown: bool) -> Option<String> {
    let mut waves: Vec<(u32, Vec<&str>)> = Vec::new();
    for p in &plan.targets {
        match waves.last_mut() {
            Some((w, names)) if *w == p.wave => names.push(&p.name),
            _ => waves.push((p.wave, vec![&p.name])),
        }
    }
    if waves.len() < 2 && plan.gates.is_empty() {
        return None;
    }
    let code = |s: &str| {
        if markdown {
            format!("`{s}`")
        } else {
            s.to_string()
        }
    };
    let mut out = if markdown {
        "\n## Rollout\n\n".to_string()
    } else {
        format!("\nRollout: {} waves, one after another\n", waves.len())
    };
    for (w, names) in &waves {
        let names: Vec<String> = names.iter().map(|n| code(n)).collect();
        let bullet = if markdown { "- " } else { "  " };
        out.push_str(&format!("{bullet}wave {w}: {}\n", names.join(", ")));
        for (_, g) in plan.gates.iter().filter(|(gw, _)| gw == w) {
            out.push_str(&format!(
                "{}then gate {} ({}:{}): {}\n",
                if markdown { "  - " } else { "    " },
                code(g.level_name()),
                g.file.display(),
                g.line,
                g.gate
            ));
        }
    }
    Some(out)
}

/// `charter plan`.
pub fn plan(global: &GlobalArgs, args: PlanArgs) -> CmdResult {
    let req = PlanRequest {
        dir: args.dir.clone(),
        limits: args.limits.limits(),
        ignore: args.diff.ignore.clone(),
        show_secrets: secrets_shown(args.diff.show_secrets, args.diff.force_show_secrets)?,
    };
    let plan = action::plan::run(&global.globals(), &req)?;
    let planned = &plan.targets;
    for p in planned {
        match &p.result {
            Ok(d) => {
                for w in &d.warnings {
                    say!("warning: target {}: {w}", p.name);
                }
                warn_unmatched(&format!("target {}: ", p.name), &d.report);
            }
            // Connection errors already name the target.
            Err(e @ Error::InTarget { .. }) => say!("error: {e}"),
            Err(e) => say!("error: target {} ({}): {e}", p.name, p.dir.display()),
        }
    }
    let code = plan.exit_code(args.diff.fail_on_drift);
    let shown = print_plan(global, &args, &plan);
    if let Some(out) = &args.out {
        std::fs::write(out, plan.file(false).to_json()).map_err(|e| {
            CliError::new(format!("cannot write the plan to {}: {e}", out.display()))
        })?;
        say!("plan written to {}", out.display());
    }
    printed(code, shown)
}

/// Prints a plan: each target's diff and the summary table, or the plan as data.
fn print_plan(
    global: &GlobalArgs,
    args: &PlanArgs,
    plan: &action::plan::Plan,
) -> Result<(), CliError> {
    let planned = &plan.targets;
    let header = |p: &Planned, d: &TargetDiff| {
        format!(
            "target {}: release {}/{}, context {}",
            p.name, d.namespace, d.release, d.context
        )
    };
    match global.format {
        Some(Format::Json) => {
            outln!("{}", serde_json::to_string_pretty(&plan.file(true))?)?;
        }
        Some(Format::Yaml) => {
            let doc = serde_json::to_value(plan.file(true))?;
            out!("{}", crate::yaml::to_yaml(&doc))?;
        }
        Some(Format::Markdown) => {
            outln!("# charter plan: {}\n", args.dir.display())?;
            out!("{}", summary_table(planned, true))?;
            if let Some(w) = waves_text(plan, true) {
                out!("{w}")?;
            }
            for p in planned {
                if let Ok(d) = &p.result
                    && (d.report.summary.has_changes() || d.report.summary.has_drift())
                {
                    outln!()?;
                    out!("{}", render_markdown(&d.report, &header(p, d)))?;
                    out!("{}", groups_text(&d.groups))?;
                }
            }
        }
        Some(Format::Table) | None => {
            let color = color(global);
            for p in planned {
                if let Ok(d) = &p.result
                    && (d.report.summary.has_changes() || d.report.summary.has_drift())
                {
                    outln!("=== {}\n", header(p, d))?;
                    out!("{}", render_text(&d.report, color))?;
                    out!("{}", groups_text(&d.groups))?;
                    outln!()?;
                }
            }
            out!("{}", summary_table(planned, false))?;
            if let Some(w) = waves_text(plan, false) {
                out!("{w}")?;
            }
        }
    }
    Ok(())
}

/// `charter apply`.
pub fn apply(global: &GlobalArgs, args: ApplyArgs) -> CmdResult {
    let targets = match (args.plan, args.dir) {
        (Some(plan), _) => ApplyTargets::Plan(plan),
        (None, Some(dir)) => ApplyTargets::Tree(dir),
        (None, None) => {
            return Err(CliError::new(
                "nothing to apply: pass a deploy tree directory or --plan FILE",
            ));
        }
    };
    let req = ApplyRequest {
        targets,
        on_failure: if args.fail_fast {
            OnFailure::Stop
        } else if args.continue_on_failure {
            OnFailure::Continue
        } else {
            OnFailure::HoldBack
        },
        limits: args.limits.limits(),
        select: Selection {
            only: args.only,
            until: args.until,
        },
        options: args.deploy.options().map_err(CliError::new)?,
    };
    let progress = FleetProgress::new();
    let applied = action::apply::run(&global.globals(), &req, &|e| progress.report(e));
    progress.finish();
    let applied = applied?;
    let code = if applied.failed() { 1 } else { 0 };
    let shown = match global.output.unwrap_or(OutputFormat::Table) {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&applied.report())?),
        OutputFormat::Yaml => out!(
            "{}",
            crate::yaml::to_yaml(&serde_json::to_value(applied.report())?)
        ),
        OutputFormat::Table => out!("{}", apply_table(&applied)),
    };
    printed(code, shown.map_err(CliError::from))
}

/// Every target's result by wave, then what became of each wave and gate.
fn apply_table(applied: &Applied) -> String {
    let mut rows = vec![[
        "WAVE".to_string(),
        "TARGET".to_string(),
        "RESULT".to_string(),
        "TIME".to_string(),
    ]];
    for w in &applied.waves {
        for t in &w.targets {
            let result = t.outcome.to_string();
            rows.push([
                w.number.to_string(),
                t.name.clone(),
                result.lines().next().unwrap_or_default().to_string(),
                if t.elapsed.is_zero() {
                    String::new()
                } else {
                    format!("{:.1}s", t.elapsed.as_secs_f64())
                },
            ]);
        }
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::from("\n");
    for r in &rows {
        let cells: Vec<String> = [&r[0], &r[1], &r[3], &r[2]]
            .iter()
            .zip([widths[0], widths[1], widths[3], widths[2]])
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push('\n');
    for w in &applied.waves {
        let line = match &w.status {
            WaveStatus::Done => format!("wave {}: done", w.number),
            WaveStatus::Failed => {
                let failed: Vec<&str> = w
                    .targets
                    .iter()
                    .filter(|t| t.outcome.is_failure())
                    .map(|t| t.name.as_str())
                    .collect();
                if failed.is_empty() {
                    format!("wave {}: applied, but a gate failed", w.number)
                } else {
                    format!("wave {}: failed ({})", w.number, failed.join(", "))
                }
            }
            WaveStatus::HeldBack(why) => format!("wave {}: held back: {why}", w.number),
        };
        out.push_str(&line);
        out.push('\n');
        for g in &w.gates {
            let state = match &g.result {
                Ok(()) => format!("passed in {:.1}s", g.elapsed.as_secs_f64()),
                Err(why) => format!("failed: {why}"),
            };
            out.push_str(&format!("  gate {}: {state}\n", g.gate.level_name()));
        }
    }
    out
}
