//! `apply`: every target of a deploy tree installed or upgraded (as `upgrade --install`), one
//! after another; or exactly the targets of a plan file, each refused when its rendered objects
//! or live state no longer match the plan.

use std::path::PathBuf;

use super::diff::{TargetDiff, of_target, run_on as diff_on};
use super::install::{self, DeployOptions, InstallRequest, Installed, Mode};
use super::plan::{PlanFile, PlannedTarget};
use super::prepare::{ChartRequest, Source};
use super::{Error, Globals, leaves, target_name};
use crate::release::{ReleaseRecord, Report};

/// What to apply.
pub enum ApplyTargets {
    /// Every target below a deploy-tree directory.
    Tree(PathBuf),
    /// The targets of a plan file.
    Plan(PathBuf),
}

/// An apply.
pub struct ApplyRequest {
    /// What to apply.
    pub targets: ApplyTargets,
    /// Stop at the first target that fails (the rest are not applied).
    pub fail_fast: bool,
    /// How each target is deployed.
    pub options: DeployOptions,
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Installed or upgraded.
    Applied,
    /// Planned without changes: left alone.
    UpToDate,
    /// Not tried: an earlier target failed and `--fail-fast` was given.
    Skipped,
    /// The plan no longer holds for it: why.
    Refused(String),
    /// Its deploy failed: the first line of why.
    Failed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Applied => f.write_str("applied"),
            Outcome::UpToDate => f.write_str("up to date (nothing planned)"),
            Outcome::Skipped => f.write_str("skipped (--fail-fast)"),
            Outcome::Refused(why) => f.write_str(why),
            Outcome::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// What an apply reports as it goes, target by target.
pub enum TargetEvent<'a> {
    /// A target's deploy starts.
    Started {
        /// The target.
        name: &'a str,
        /// Its directory.
        dir: &'a PathBuf,
    },
    /// A target was deployed.
    Deployed(&'a ReleaseRecord),
    /// A target was refused or failed.
    Failed {
        /// The target.
        name: &'a str,
        /// Its directory.
        dir: &'a PathBuf,
        /// Why.
        why: String,
    },
}

/// A target to apply: its name, directory, and its entry in the plan (with a plan).
type ApplyTarget = (String, PathBuf, Option<PlannedTarget>);

/// Applies the targets one after another: each deploy reports its progress as it goes, and
/// interleaved progress of several releases would be unreadable. Returns each target's
/// outcome, in order.
pub fn run(
    globals: &Globals,
    req: &ApplyRequest,
    report: Report<'_>,
    events: &mut dyn FnMut(TargetEvent<'_>),
) -> Result<Vec<(String, Outcome)>, Error> {
    let rt = super::runtime()?;
    let (targets, ignore): (Vec<ApplyTarget>, Vec<String>) = match &req.targets {
        ApplyTargets::Plan(plan) => {
            let file = PlanFile::read(plan)?;
            let targets = file
                .targets
                .into_iter()
                .map(|t| (t.name.clone(), PathBuf::from(&t.dir), Some(t)))
                .collect();
            (targets, file.ignore)
        }
        ApplyTargets::Tree(dir) => {
            let leaves = leaves(dir)?;
            super::check_collisions(globals, &leaves)?;
            let targets = leaves
                .into_iter()
                .map(|l| (target_name(&l).0, l, None))
                .collect();
            (targets, Vec::new())
        }
    };
    let mut results = Vec::new();
    let mut failed = false;
    for (name, dir, entry) in &targets {
        if req.fail_fast && failed {
            results.push((name.clone(), Outcome::Skipped));
            continue;
        }
        // A signal that arrived as the previous target finished stops the rest.
        if let Some(signal) = crate::interrupt::signalled() {
            return Err(Error::Interrupted {
                signal,
                what: format!("before target {name}; the targets before it were applied"),
            });
        }
        if let Some(entry) = entry {
            match check_planned(rt.handle(), globals, entry, &ignore) {
                Err(why) => {
                    events(TargetEvent::Failed {
                        name,
                        dir,
                        why: why.clone(),
                    });
                    results.push((name.clone(), Outcome::Refused(why)));
                    failed = true;
                    continue;
                }
                Ok(now) if !now.report.summary.has_changes() => {
                    results.push((name.clone(), Outcome::UpToDate));
                    continue;
                }
                Ok(_) => {}
            }
        }
        events(TargetEvent::Started { name, dir });
        let deployed =
            Source::from_args(&[dir.display().to_string()], None, None, None).and_then(|source| {
                let deploy = InstallRequest {
                    chart: ChartRequest {
                        source,
                        ..ChartRequest::target(dir)
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
                install::run_on(&rt, globals, &deploy, report)
            });
        match deployed {
            Ok(Installed::Deployed(record)) => {
                events(TargetEvent::Deployed(&record));
                results.push((name.clone(), Outcome::Applied));
            }
            Ok(Installed::DryRun(_)) => results.push((name.clone(), Outcome::Applied)),
            // A signal stops the whole apply, not only this target.
            Err(Error::Interrupted { signal, what }) => {
                return Err(Error::Interrupted {
                    signal,
                    what: format!("target {name}: {what}"),
                });
            }
            Err(e) => {
                let why = e.to_string();
                let first = why.lines().next().unwrap_or_default().to_string();
                events(TargetEvent::Failed {
                    name,
                    dir,
                    why: why.trim_end().to_string(),
                });
                results.push((name.clone(), Outcome::Failed(first)));
                failed = true;
            }
        }
    }
    Ok(results)
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
    let now = of_target(std::path::Path::new(&planned.dir), ignore, false)
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
