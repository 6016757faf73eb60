//! `apply`: a deploy tree rolled out wave by wave ([`crate::deploy::rollout`]), the targets of a
//! wave installed or upgraded (as `upgrade --install`) together within the bounds of
//! [`super::fleet`], each waited ready with `--wait` before its wave counts as done, then the
//! wave's gates ([`super::gate`]). A failed target or gate holds the later waves back unless
//! told to go on. With a plan file: exactly the plan's targets in the plan's waves, each refused
//! when its rendered objects or live state no longer match the plan.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::diff::{TargetDiff, of_target, run_on as diff_on};
use super::fleet::{self, Limits};
use super::gate::{self, GateProgress};
use super::install::{self, DeployOptions, InstallRequest, Installed, Mode};
use super::plan::{PlanFile, PlannedTarget};
use super::prepare::{ChartRequest, Source};
use super::{Connections, Error, Globals};
use crate::deploy::{self, LevelGate, Rollout, Target};
use crate::release::{Progress, ReleaseRecord};

/// What to apply.
pub enum ApplyTargets {
    /// Every target below a deploy-tree directory.
    Tree(PathBuf),
    /// The targets of a plan file.
    Plan(PathBuf),
}

/// What a failed target does to the rest of the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Its wave finishes; the later waves are held back (the default).
    HoldBack,
    /// No other target starts, in its wave or after (`--fail-fast`).
    Stop,
    /// The later waves go on (`--continue-on-failure`).
    Continue,
}

/// A partial rollout.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only the targets at or below these levels (`--only`).
    pub only: Vec<String>,
    /// Up to and including this wave, or the last wave of this level (`--until`).
    pub until: Option<String>,
}

/// An apply.
pub struct ApplyRequest {
    /// What to apply.
    pub targets: ApplyTargets,
    /// What a failure does.
    pub on_failure: OnFailure,
    /// How many targets at once.
    pub limits: Limits,
    /// Which targets.
    pub select: Selection,
    /// How each target is deployed.
    pub options: DeployOptions,
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Installed or upgraded to this revision.
    Applied(u64),
    /// Planned without changes: left alone.
    UpToDate,
    /// Not tried: a target failed and `--fail-fast` was given.
    Skipped,
    /// Not tried: its wave was held back.
    HeldBack,
    /// The plan no longer holds for it: why.
    Refused(String),
    /// Its deploy failed: why.
    Failed(String),
}

impl Outcome {
    /// Whether it counts as a failure of the rollout.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Refused(_) | Outcome::Failed(_))
    }

    /// A word for tables and progress lines.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Applied(_) => "applied",
            Outcome::UpToDate => "up to date",
            Outcome::Skipped => "skipped",
            Outcome::HeldBack => "held back",
            Outcome::Refused(_) => "refused",
            Outcome::Failed(_) => "failed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Applied(rev) => write!(f, "applied (revision {rev})"),
            Outcome::UpToDate => f.write_str("up to date (nothing planned)"),
            Outcome::Skipped => f.write_str("skipped (--fail-fast)"),
            Outcome::HeldBack => f.write_str("held back"),
            Outcome::Refused(why) => f.write_str(why),
            Outcome::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// One target's part in the rollout.
#[derive(Debug, Clone)]
pub struct TargetResult {
    /// The target below its stack root.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its wave.
    pub wave: u32,
    /// What happened.
    pub outcome: Outcome,
    /// How long its deploy (and wait) took.
    pub elapsed: Duration,
    /// The revision written.
    pub record: Option<Box<ReleaseRecord>>,
}

/// How a wave went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaveStatus {
    /// Every target applied (or up to date) and every gate passed.
    Done,
    /// A target or a gate failed.
    Failed,
    /// Not run: why.
    HeldBack(String),
}

/// A gate's result.
#[derive(Debug, Clone)]
pub struct GateResult {
    /// The gate.
    pub gate: LevelGate,
    /// Passed, or why not.
    pub result: Result<(), String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// One wave of the rollout.
#[derive(Debug, Clone)]
pub struct WaveResult {
    /// Its number.
    pub number: u32,
    /// How it went.
    pub status: WaveStatus,
    /// Its targets.
    pub targets: Vec<TargetResult>,
    /// Its gates that ran.
    pub gates: Vec<GateResult>,
}

/// A whole rollout.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Every wave, in order.
    pub waves: Vec<WaveResult>,
}

impl Applied {
    /// Whether any target or gate failed.
    pub fn failed(&self) -> bool {
        self.waves.iter().any(|w| w.status == WaveStatus::Failed)
    }
}

/// What an apply reports as it goes, from several threads at once.
pub enum FleetEvent<'a> {
    /// The rollout about to run, before anything starts.
    Rollout(&'a Rollout),
    /// A wave starts.
    WaveStarted(u32),
    /// A target's deploy starts.
    TargetStarted {
        /// Its wave.
        wave: u32,
        /// The target.
        name: &'a str,
    },
    /// A target's deploy made progress.
    Progress {
        /// The target.
        name: &'a str,
        /// What happened.
        progress: Progress<'a>,
    },
    /// A target is done (or skipped, held back).
    TargetDone(&'a TargetResult),
    /// A gate starts.
    GateStarted {
        /// The wave it follows.
        wave: u32,
        /// The gate.
        gate: &'a LevelGate,
    },
    /// A gate made progress.
    Gate {
        /// The gate.
        gate: &'a LevelGate,
        /// What happened.
        progress: GateProgress<'a>,
    },
    /// A gate is done.
    GateDone(&'a GateResult),
    /// A wave is held back.
    WaveHeldBack {
        /// The wave.
        wave: u32,
        /// Why.
        why: &'a str,
    },
}

/// Where an apply sends its [`FleetEvent`]s.
pub type FleetReport<'r> = &'r (dyn Fn(FleetEvent<'_>) + Sync);

/// Applies the rollout: wave after wave, each wave's targets at once within `req.limits`, then
/// its gates. Bad input (see [`fleet::rollout`]; a plan file that does not hold) is refused
/// before anything is applied.
pub fn run(
    globals: &Globals,
    req: &ApplyRequest,
    events: FleetReport<'_>,
) -> Result<Applied, Error> {
    let (rollout, planned, ignore) = match &req.targets {
        ApplyTargets::Tree(dir) => (fleet::rollout(globals, dir)?, HashMap::new(), Vec::new()),
        ApplyTargets::Plan(plan) => from_plan(globals, plan)?,
    };
    let rollout = select(rollout, &req.select)?;
    events(FleetEvent::Rollout(&rollout));
    let rt = super::runtime()?;
    let globals = &Connections::on(globals);
    let mut held: Option<String> = None;
    let mut waves: Vec<WaveResult> = Vec::new();
    for wave in &rollout.waves {
        if let Some(why) = &held {
            events(FleetEvent::WaveHeldBack {
                wave: wave.number,
                why,
            });
            let targets = wave
                .targets
                .iter()
                .map(|t| not_run(t, wave.number, Outcome::HeldBack))
                .collect();
            waves.push(WaveResult {
                number: wave.number,
                status: WaveStatus::HeldBack(why.clone()),
                targets,
                gates: Vec::new(),
            });
            continue;
        }
        events(FleetEvent::WaveStarted(wave.number));
        let stop = AtomicBool::new(false);
        let items: Vec<(String, &Target)> = wave
            .targets
            .iter()
            .map(|t| (fleet::destination(globals, t).cluster, t))
            .collect();
        let targets = fleet::run_each(req.limits, &items, |t| {
            if stop.load(Ordering::SeqCst) {
                let r = not_run(t, wave.number, Outcome::Skipped);
                events(FleetEvent::TargetDone(&r));
                return r;
            }
            let entry = planned.get(&t.dir);
            let r = apply_one(
                rt.handle(),
                globals,
                req,
                t,
                wave.number,
                entry,
                &ignore,
                events,
            );
            if r.outcome.is_failure() && req.on_failure == OnFailure::Stop {
                stop.store(true, Ordering::SeqCst);
            }
            r
        });
        // A signal ends the rollout here: the targets it stopped are marked failed
        // ("interrupted") by their sessions, the others were not started.
        if let Some(signal) = crate::interrupt::signalled() {
            let done: Vec<&str> = targets
                .iter()
                .filter(|t| matches!(t.outcome, Outcome::Applied(_) | Outcome::UpToDate))
                .map(|t| t.name.as_str())
                .collect();
            return Err(Error::Interrupted {
                signal,
                what: format!(
                    "in wave {}; applied before the signal: {}",
                    wave.number,
                    if done.is_empty() {
                        "none".to_string()
                    } else {
                        done.join(", ")
                    }
                ),
            });
        }
        let failed: Vec<&str> = targets
            .iter()
            .filter(|t| t.outcome.is_failure())
            .map(|t| t.name.as_str())
            .collect();
        let mut status = WaveStatus::Done;
        let mut gates = Vec::new();
        if !failed.is_empty() {
            status = WaveStatus::Failed;
            if req.on_failure != OnFailure::Continue {
                held = Some(format!(
                    "wave {} failed ({})",
                    wave.number,
                    failed.join(", ")
                ));
            }
        }
        if held.is_none() {
            for g in &wave.gates {
                // Every target below the gate's level that this rollout deployed or found
                // up to date, in this wave or an earlier one.
                let covered: Vec<&Target> = waves
                    .iter()
                    .flat_map(|w| &w.targets)
                    .chain(&targets)
                    .filter(|r| matches!(r.outcome, Outcome::Applied(_) | Outcome::UpToDate))
                    .filter_map(|r| rollout.targets().map(|(_, t)| t).find(|t| t.dir == r.dir))
                    .filter(|t| g.covers(t))
                    .collect();
                events(FleetEvent::GateStarted {
                    wave: wave.number,
                    gate: g,
                });
                let start = Instant::now();
                let result = rt.block_on(gate::run(globals, g, &covered, wave.number, &|p| {
                    events(FleetEvent::Gate {
                        gate: g,
                        progress: p,
                    })
                }));
                let r = GateResult {
                    gate: g.clone(),
                    result,
                    elapsed: start.elapsed(),
                };
                events(FleetEvent::GateDone(&r));
                let passed = r.result.is_ok();
                gates.push(r);
                if !passed {
                    status = WaveStatus::Failed;
                    if req.on_failure != OnFailure::Continue {
                        held = Some(format!(
                            "the gate of {} ({}:{}) failed after wave {}",
                            g.level_name(),
                            g.file.display(),
                            g.line,
                            wave.number
                        ));
                        break;
                    }
                }
            }
        }
        waves.push(WaveResult {
            number: wave.number,
            status,
            targets,
            gates,
        });
    }
    Ok(Applied { waves })
}

/// `--only`, then `--until` (which may name a wave or level of what `--only` left).
fn select(rollout: Rollout, select: &Selection) -> Result<Rollout, Error> {
    let rollout = if select.only.is_empty() {
        rollout
    } else {
        rollout
            .only(&select.only)
            .map_err(|e| Error::Invalid(format!("--only: {e}")))?
    };
    match &select.until {
        Some(until) => rollout
            .until(until)
            .map_err(|e| Error::Invalid(format!("--until {until}: {e}"))),
        None => Ok(rollout),
    }
}

/// A plan's targets in the plan's waves, each with its plan entry, and the plan's `--ignore`.
type FromPlan = (Rollout, HashMap<PathBuf, PlannedTarget>, Vec<String>);

/// The rollout a plan file describes. Its targets are resolved again (for their clusters and
/// the gates' levels): one that no longer resolves refuses the whole plan.
fn from_plan(globals: &Globals, plan: &Path) -> Result<FromPlan, Error> {
    let file = PlanFile::read(plan)?;
    let mut items = Vec::new();
    let mut planned = HashMap::new();
    for p in file.targets {
        let dir = PathBuf::from(&p.dir);
        let target = deploy::resolve(&dir).map_err(|e| {
            Error::Invalid(format!(
                "{}: target {} no longer resolves: {e}. Make the plan again",
                plan.display(),
                p.name
            ))
        })?;
        items.push((target, p.wave));
        planned.insert(dir, p);
    }
    fleet::refuse_shared_releases(globals, items.iter().map(|(t, _)| t))?;
    let gates = file.gates.iter().map(|g| g.to_level_gate()).collect();
    Ok((Rollout::from_waves(items, gates), planned, file.ignore))
}

fn not_run(t: &Target, wave: u32, outcome: Outcome) -> TargetResult {
    TargetResult {
        name: t.name.clone(),
        dir: t.dir.clone(),
        wave,
        outcome,
        elapsed: Duration::ZERO,
        record: None,
    }
}

/// Checks a planned target against its plan, then deploys it.
#[allow(clippy::too_many_arguments)]
fn apply_one(
    rt: &tokio::runtime::Handle,
    globals: &Globals,
    req: &ApplyRequest,
    t: &Target,
    wave: u32,
    entry: Option<&PlannedTarget>,
    ignore: &[String],
    events: FleetReport<'_>,
) -> TargetResult {
    let name = t.name.as_str();
    let start = Instant::now();
    events(FleetEvent::TargetStarted { wave, name });
    let result = |outcome: Outcome, record: Option<Box<ReleaseRecord>>| {
        let r = TargetResult {
            name: t.name.clone(),
            dir: t.dir.clone(),
            wave,
            outcome,
            elapsed: start.elapsed(),
            record,
        };
        events(FleetEvent::TargetDone(&r));
        r
    };
    if let Some(entry) = entry {
        match check_planned(rt, globals, entry, ignore) {
            Err(why) => return result(Outcome::Refused(why), None),
            Ok(now) if !now.report.summary.has_changes() => {
                return result(Outcome::UpToDate, None);
            }
            Ok(_) => {}
        }
    }
    // A signal stops every target not yet started; the apply then ends interrupted.
    if crate::interrupt::signalled().is_some() {
        return result(Outcome::Skipped, None);
    }
    let report = |progress: Progress<'_>| events(FleetEvent::Progress { name, progress });
    let deployed =
        Source::from_args(&[t.dir.display().to_string()], None, None, None).and_then(|source| {
            let deploy = InstallRequest {
                chart: ChartRequest {
                    source,
                    ..ChartRequest::target(&t.dir)
                },
                mode: Mode::Upgrade {
                    install: true,
                    reuse_values: false,
                },
                options: req.options.clone(),
                dry_run: None,
                generate_name: false,
                replace: false,
            };
            install::run_on(rt, globals, &deploy, &report)
        });
    match deployed {
        Ok(Installed::Deployed(record)) => result(Outcome::Applied(record.revision), Some(record)),
        Ok(Installed::DryRun(_)) => result(Outcome::UpToDate, None),
        Err(e) => result(Outcome::Failed(e.to_string().trim_end().to_string()), None),
    }
}

/// The target's diff now, or why it may not be applied any more.
fn check_planned(
    rt: &tokio::runtime::Handle,
    globals: &Globals,
    planned: &PlannedTarget,
    ignore: &[String],
) -> Result<TargetDiff, String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    if let Some(e) = &planned.error {
        return Err(format!("refused: it failed when planned ({e})"));
    }
    let now = of_target(Path::new(&planned.dir), ignore, false)
        .and_then(|req| diff_on(rt, globals, &req))
        .map_err(|e| format!("refused: it cannot be diffed now: {e}"))?;
    let was = format!(
        "{}/{} in context {}",
        s(&planned.namespace),
        s(&planned.release),
        s(&planned.context)
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
    if Some(&now.rendered_fingerprint) != planned.rendered_fingerprint.as_ref() {
        return Err(
            "refused: its rendered objects differ from the plan's (the chart, values or charter.yaml changed since, or the chart renders something random); plan again".to_string(),
        );
    }
    let hooks_now = (!now.hooks.is_empty()).then_some(&now.hooks_fingerprint);
    if hooks_now != planned.hooks_fingerprint.as_ref() {
        return Err(
            "refused: the hooks it would run differ from the plan's (a hook was added, removed or changed since, or the deploy turned from install to upgrade); plan again".to_string(),
        );
    }
    if Some(&now.live_fingerprint) != planned.live_fingerprint.as_ref() {
        return Err(format!(
            "refused: the live state of release {was} changed since the plan (an object was edited, created or deleted outside this plan, or the release was deployed); plan again. Now: {} to create, {} to change, {} to prune, {} drifted",
            now.report.summary.create,
            now.report.summary.change,
            now.report.summary.prune,
            now.report.summary.drift
        ));
    }
    Ok(now)
}

/// The machine-readable result of an apply (`-o json`/`-o yaml`, schemas/apply.schema.json).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Every wave, in order.
    pub waves: Vec<WaveReport>,
    /// Whether any target or gate failed.
    pub failed: bool,
}

/// One wave of an [`ApplyReport`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveReport {
    /// Its number.
    pub wave: u32,
    /// `done`, `failed` or `held back`.
    pub status: &'static str,
    /// Why it was held back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back_because: Option<String>,
    /// Its targets.
    pub targets: Vec<TargetReport>,
    /// Its gates that ran.
    pub gates: Vec<GateReport>,
}

/// One target of an [`ApplyReport`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetReport {
    /// The target below its stack root.
    pub name: String,
    /// Its directory.
    pub dir: String,
    /// `applied`, `up to date`, `skipped`, `held back`, `refused` or `failed`.
    pub result: &'static str,
    /// The release, when deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Its namespace, when deployed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The revision written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// Why it was refused or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds its deploy took.
    pub seconds: f64,
}

/// One gate of an [`ApplyReport`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateReport {
    /// Its level.
    pub level: String,
    /// `file:line` of its charter.yaml.
    pub source: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds it took.
    pub seconds: f64,
}

impl Applied {
    /// The report for machines.
    pub fn report(&self) -> ApplyReport {
        let secs = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        let waves = self
            .waves
            .iter()
            .map(|w| WaveReport {
                wave: w.number,
                status: match w.status {
                    WaveStatus::Done => "done",
                    WaveStatus::Failed => "failed",
                    WaveStatus::HeldBack(_) => "held back",
                },
                held_back_because: match &w.status {
                    WaveStatus::HeldBack(why) => Some(why.clone()),
                    _ => None,
                },
                targets: w
                    .targets
                    .iter()
                    .map(|t| TargetReport {
                        name: t.name.clone(),
                        dir: t.dir.display().to_string(),
                        result: t.outcome.word(),
                        release: t.record.as_ref().map(|r| r.name.clone()),
                        namespace: t.record.as_ref().map(|r| r.namespace.clone()),
                        revision: t.record.as_ref().map(|r| r.revision),
                        error: match &t.outcome {
                            Outcome::Refused(e) | Outcome::Failed(e) => Some(e.clone()),
                            _ => None,
                        },
                        seconds: secs(t.elapsed),
                    })
                    .collect(),
                gates: w
                    .gates
                    .iter()
                    .map(|g| GateReport {
                        level: g.gate.level.clone(),
                        source: format!("{}:{}", g.gate.file.display(), g.gate.line),
                        passed: g.result.is_ok(),
                        error: g.result.clone().err(),
                        seconds: secs(g.elapsed),
                    })
                    .collect(),
            })
            .collect();
        ApplyReport {
            waves,
            failed: self.failed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::Gate;

    fn target(name: &str, wave: u32, outcome: Outcome) -> TargetResult {
        TargetResult {
            name: name.into(),
            dir: PathBuf::from("deploy/app").join(name),
            wave,
            outcome,
            elapsed: Duration::from_millis(1234),
            record: None,
        }
    }

    #[test]
    fn the_report_matches_its_schema_and_says_why_a_wave_was_held_back() {
        let gate = LevelGate {
            root: PathBuf::from("deploy/app"),
            level: "staging".into(),
            gate: Gate {
                command: Some("./smoke".into()),
                ready_for: None,
                timeout: Duration::from_secs(60),
            },
            file: PathBuf::from("deploy/app/staging/charter.yaml"),
            line: 3,
        };
        let applied = Applied {
            waves: vec![
                WaveResult {
                    number: 0,
                    status: WaveStatus::Done,
                    targets: vec![target("dev/a", 0, Outcome::UpToDate)],
                    gates: vec![],
                },
                WaveResult {
                    number: 1,
                    status: WaveStatus::Failed,
                    targets: vec![
                        target("staging/a", 1, Outcome::Failed("timed out".into())),
                        target("staging/b", 1, Outcome::Skipped),
                    ],
                    gates: vec![GateResult {
                        gate,
                        result: Err("`./smoke` failed (exit status: 1)".into()),
                        elapsed: Duration::from_secs(2),
                    }],
                },
                WaveResult {
                    number: 2,
                    status: WaveStatus::HeldBack("wave 1 failed (staging/a)".into()),
                    targets: vec![target("prod/a", 2, Outcome::HeldBack)],
                    gates: vec![],
                },
            ],
        };
        assert!(applied.failed());
        let doc = serde_json::to_value(applied.report()).unwrap();
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/apply.schema.json")).unwrap();
        let mut compiler = boon::Compiler::new();
        let mut schemas = boon::Schemas::new();
        compiler.add_resource("apply.schema.json", schema).unwrap();
        let idx = compiler.compile("apply.schema.json", &mut schemas).unwrap();
        schemas.validate(&doc, idx).unwrap();
        assert_eq!(
            doc["waves"][2]["heldBackBecause"],
            "wave 1 failed (staging/a)"
        );
        assert_eq!(doc["waves"][1]["targets"][0]["error"], "timed out");
        assert_eq!(doc["waves"][1]["targets"][1]["result"], "skipped");
        assert_eq!(doc["waves"][1]["gates"][0]["passed"], false);
        assert_eq!(doc["waves"][0]["targets"][0]["seconds"], 1.234);
    }
}
