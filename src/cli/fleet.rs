//! Progress of a rollout (`charter apply DIR`): on a terminal, one line per target with its
//! wave, state and elapsed time, and one per gate, redrawn in place; elsewhere (CI logs,
//! pipes) plain lines, each naming its target or gate. Both on stderr, so stdout stays data.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::{notice, plain_line};
use crate::action::apply::{FleetEvent, Outcome, TargetResult};
use crate::action::gate::GateProgress;
use crate::deploy::LevelGate;
use crate::release::Progress;

/// Turns [`FleetEvent`]s into output.
pub struct FleetProgress {
    /// Bars on a terminal; `None` for plain lines.
    multi: Option<MultiProgress>,
    /// Each target's line, by name (terminal only).
    bars: Mutex<HashMap<String, ProgressBar>>,
    /// Each gate's line, by its charter.yaml (terminal only).
    gate_bars: Mutex<HashMap<String, ProgressBar>>,
    /// The last count of pending objects printed per target or gate (plain lines only).
    last_pending: Mutex<HashMap<String, Option<(usize, String)>>>,
    /// Width of the target column.
    width: Mutex<usize>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

const QUEUED: &str = "{prefix}   {wide_msg}";
const RUNNING: &str = "{prefix} {spinner} {elapsed:>4} {pos:>4}/{len:<4} {wide_msg}";
const DONE: &str = "{prefix} {wide_msg}";

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

impl FleetProgress {
    /// Bars when stderr is a terminal, lines otherwise.
    pub fn new() -> FleetProgress {
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        FleetProgress {
            multi,
            bars: Mutex::default(),
            gate_bars: Mutex::default(),
            last_pending: Mutex::default(),
            width: Mutex::new(0),
        }
    }

    /// A line that is not a target's state: above the bars on a terminal.
    fn line(&self, msg: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(msg);
            }
            None => say!("{msg}"),
        }
    }

    fn bar(&self, name: &str) -> Option<ProgressBar> {
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    fn gate_bar(&self, gate: &LevelGate) -> Option<ProgressBar> {
        self.gate_bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&gate.file.display().to_string())
            .cloned()
    }

    fn prefix(&self, wave: u32, name: &str) -> String {
        let w = *self.width.lock().unwrap_or_else(|e| e.into_inner());
        format!("wave {wave:<3} {name:<w$}")
    }

    /// A plain line for `key` (a target or gate), unless it repeats the last pending count.
    fn plain_progress(&self, key: &str, p: Progress<'_>) -> Option<String> {
        let mut last = self.last_pending.lock().unwrap_or_else(|e| e.into_inner());
        plain_line(p, last.entry(key.to_string()).or_default())
    }

    /// Handles one event.
    pub fn report(&self, event: FleetEvent<'_>) {
        match event {
            FleetEvent::Rollout(rollout) => {
                let width = rollout
                    .targets()
                    .map(|(_, t)| t.name.chars().count())
                    .max()
                    .unwrap_or(0);
                *self.width.lock().unwrap_or_else(|e| e.into_inner()) = width;
                for w in &rollout.waves {
                    let names: Vec<&str> = w.targets.iter().map(|t| t.name.as_str()).collect();
                    let gates: Vec<String> = w
                        .gates
                        .iter()
                        .map(|g| format!("; then gate {}", g.level_name()))
                        .collect();
                    if self.multi.is_none() {
                        say!("wave {}: {}{}", w.number, names.join(", "), gates.concat());
                    }
                }
                if let Some(m) = &self.multi {
                    let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                    for (wave, t) in rollout.targets() {
                        let bar = m.add(ProgressBar::new(0));
                        bar.set_style(style(QUEUED));
                        bar.set_prefix(self.prefix(wave, &t.name));
                        bar.set_message("waiting for its wave");
                        bars.insert(t.name.clone(), bar);
                    }
                }
            }
            FleetEvent::WaveStarted(n) => {
                if self.multi.is_none() {
                    say!("==> wave {n}");
                }
            }
            FleetEvent::TargetStarted { wave, name } => match self.bar(name) {
                Some(bar) => {
                    bar.set_style(style(RUNNING));
                    bar.set_message("starting");
                    bar.reset_elapsed();
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
                None => say!("{name}: deploying (wave {wave})"),
            },
            FleetEvent::Progress { name, progress } => {
                if let Some(msg) = notice(progress) {
                    return self.line(&format!("{name}: {msg}"));
                }
                match self.bar(name) {
                    Some(bar) => {
                        target_bar(&bar, progress, |line| self.line(&format!("{name}: {line}")))
                    }
                    None => {
                        if let Some(line) = self.plain_progress(name, progress) {
                            say!("{name}: {line}");
                        }
                    }
                }
            }
            FleetEvent::TargetDone(r) => self.target_done(r),
            FleetEvent::GateStarted { wave, gate } => {
                let head = format!(
                    "gate {} after wave {wave} ({}:{}): {}",
                    gate.level_name(),
                    gate.file.display(),
                    gate.line,
                    gate.gate
                );
                match &self.multi {
                    Some(m) => {
                        let bar = m.add(ProgressBar::new(0));
                        bar.set_style(style(RUNNING));
                        bar.set_prefix(self.prefix(wave, &format!("gate {}", gate.level_name())));
                        bar.set_message("running");
                        bar.enable_steady_tick(Duration::from_millis(120));
                        let _ = m.println(&head);
                        self.gate_bars
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(gate.file.display().to_string(), bar);
                    }
                    None => say!("==> {head}"),
                }
            }
            FleetEvent::Gate { gate, progress } => {
                let level = gate.level_name();
                match progress {
                    GateProgress::Output(line) => self.line(&format!("gate {level} | {line}")),
                    GateProgress::Soaking {
                        pending,
                        total,
                        ready_for,
                    } => {
                        let want = gate.gate.ready_for.unwrap_or_default();
                        let msg = if pending > 0 {
                            format!("{pending} of {total} objects not ready")
                        } else {
                            format!(
                                "all {total} ready for {}s of {}s",
                                ready_for.as_secs(),
                                want.as_secs()
                            )
                        };
                        match self.gate_bar(gate) {
                            Some(bar) => {
                                bar.set_length(total as u64);
                                bar.set_position(total.saturating_sub(pending) as u64);
                                bar.set_message(msg);
                            }
                            None => {
                                let key = format!("gate {}", gate.file.display());
                                let mut last =
                                    self.last_pending.lock().unwrap_or_else(|e| e.into_inner());
                                let seen = last.entry(key).or_default();
                                let now = (pending, String::new());
                                if seen.as_ref() != Some(&now) {
                                    *seen = Some(now);
                                    say!("gate {level}: {msg}");
                                }
                            }
                        }
                    }
                }
            }
            FleetEvent::GateDone(r) => {
                let level = r.gate.level_name();
                let msg = match &r.result {
                    Ok(()) => format!("passed in {}", seconds(r.elapsed)),
                    Err(why) => format!("failed after {}: {why}", seconds(r.elapsed)),
                };
                match self.gate_bar(&r.gate) {
                    Some(bar) => {
                        bar.set_style(style(DONE));
                        bar.finish_with_message(msg.clone());
                        if r.result.is_err() {
                            self.line(&format!("error: gate {level}: {msg}"));
                        }
                    }
                    None => say!("gate {level}: {msg}"),
                }
            }
            FleetEvent::WaveHeldBack { wave, why } => match &self.multi {
                Some(_) => {
                    let bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
                    for bar in bars.values() {
                        if bar.prefix().starts_with(&format!("wave {wave:<3} ")) {
                            bar.finish_with_message(format!("held back: {why}"));
                        }
                    }
                }
                None => say!("==> wave {wave} held back: {why}"),
            },
        }
    }

    fn target_done(&self, r: &TargetResult) {
        let state = match &r.outcome {
            Outcome::Failed(_) => "failed".to_string(),
            Outcome::Refused(_) => "refused".to_string(),
            other => other.to_string(),
        };
        let msg = if r.elapsed.is_zero() {
            state
        } else {
            format!("{state} in {}", seconds(r.elapsed))
        };
        match self.bar(&r.name) {
            Some(bar) => {
                bar.set_style(style(DONE));
                bar.finish_with_message(msg);
            }
            None => say!("{}: {msg}", r.name),
        }
        if let Outcome::Failed(why) | Outcome::Refused(why) = &r.outcome {
            self.line(&format!(
                "error: target {} ({}): {why}",
                r.name,
                r.dir.display()
            ));
        }
    }

    /// Clears the bars before the command prints its result.
    pub fn finish(&self) {
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

/// A target's deploy progress on its bar: the phase and count, the example while waiting;
/// prunes and kept objects as lines above the bars (through `line`).
fn target_bar(bar: &ProgressBar, p: Progress<'_>, line: impl Fn(String)) {
    match p {
        Progress::Phase(name, total) => {
            bar.set_length(total as u64);
            bar.set_position(0);
            bar.set_message(name);
        }
        Progress::Applied(_) | Progress::Unchanged(_) | Progress::Deleted(_) => bar.inc(1),
        Progress::Pruned(_) | Progress::Kept(_) => {
            let mut none = None;
            if let Some(l) = plain_line(p, &mut none) {
                line(l);
            }
        }
        Progress::Stage(_) => {
            let mut none = None;
            if let Some(l) = plain_line(p, &mut none) {
                line(l);
            }
        }
        Progress::Waiting {
            pending,
            total,
            example,
            ..
        } => {
            bar.set_position(total.saturating_sub(pending) as u64);
            bar.set_message(if pending == 0 {
                "ready".to_string()
            } else {
                format!("waiting, e.g. {example}")
            });
        }
        Progress::WaitingForLock { holder, .. } => {
            bar.set_message(format!("waiting for the lock held by {holder}"));
        }
        Progress::HooksNotRun(_) => {
            if let Some(l) = notice(p) {
                line(l);
            }
        }
        Progress::Repaired { .. } | Progress::RollingBack { .. } => {}
    }
}

impl Drop for FleetProgress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{Rollout, leaves, resolve};

    /// Terminal mode, drawn nowhere: the bars keep their state for the test to read.
    fn on_a_terminal() -> FleetProgress {
        FleetProgress {
            multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::hidden())),
            bars: Mutex::default(),
            gate_bars: Mutex::default(),
            last_pending: Mutex::default(),
            width: Mutex::new(0),
        }
    }

    fn rollout(tmp: &std::path::Path) -> Rollout {
        let write = |rel: &str, text: &str| {
            let p = tmp.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write(".git/HEAD", "");
        write(
            "chart/Chart.yaml",
            "apiVersion: charter/v1\nname: c\nversion: 1.0.0\n",
        );
        write("app/charter.yaml", "chart: ../chart\n");
        write("app/staging/charter.yaml", "after: dev\n");
        for t in ["dev/eastus", "dev/westus", "staging/eastus"] {
            write(&format!("app/{t}/values.yaml"), "a: 1\n");
        }
        let targets = leaves(&tmp.join("app"))
            .unwrap()
            .iter()
            .map(|l| resolve(l).unwrap())
            .collect();
        Rollout::plan(targets).unwrap()
    }

    fn state(p: &FleetProgress, name: &str) -> (String, String, bool) {
        let bar = p.bar(name).unwrap();
        (
            bar.prefix().trim_end().to_string(),
            bar.message(),
            bar.is_finished(),
        )
    }

    #[test]
    fn a_terminal_gets_one_line_per_target_with_its_wave_and_state() {
        let tmp = tempfile::tempdir().unwrap();
        let rollout = rollout(tmp.path());
        let p = on_a_terminal();
        p.report(FleetEvent::Rollout(&rollout));
        for (name, wave) in [("dev/eastus", 0), ("dev/westus", 0), ("staging/eastus", 1)] {
            let (prefix, msg, done) = state(&p, name);
            // Names padded to the longest, so the states line up.
            assert_eq!(prefix, format!("wave {wave:<3} {name}"));
            assert_eq!(p.bar(name).unwrap().prefix().len(), "wave 0   ".len() + 14);
            assert_eq!((msg.as_str(), done), ("waiting for its wave", false));
        }

        p.report(FleetEvent::WaveStarted(0));
        p.report(FleetEvent::TargetStarted {
            wave: 0,
            name: "dev/eastus",
        });
        p.report(FleetEvent::Progress {
            name: "dev/eastus",
            progress: Progress::Phase("waiting", 4),
        });
        p.report(FleetEvent::Progress {
            name: "dev/eastus",
            progress: Progress::Waiting {
                pending: 1,
                total: 4,
                example: "Deployment/app-dev/web (0/1 replicas available)",
                rows: &[],
            },
        });
        let bar = p.bar("dev/eastus").unwrap();
        assert_eq!((bar.position(), bar.length()), (3, Some(4)));
        assert_eq!(
            bar.message(),
            "waiting, e.g. Deployment/app-dev/web (0/1 replicas available)"
        );

        let done = |name: &str, outcome: Outcome| TargetResult {
            name: name.into(),
            dir: tmp.path().join("app").join(name),
            wave: 0,
            outcome,
            elapsed: Duration::from_millis(4600),
            record: None,
        };
        p.report(FleetEvent::TargetDone(&done(
            "dev/eastus",
            Outcome::Applied(4),
        )));
        p.report(FleetEvent::TargetDone(&done(
            "dev/westus",
            Outcome::Failed("timed out".into()),
        )));
        p.report(FleetEvent::WaveHeldBack {
            wave: 1,
            why: "wave 0 failed (dev/westus)",
        });
        let finished = |name: &str| {
            let (_, msg, done) = state(&p, name);
            assert!(done, "{name}: {msg}");
            msg
        };
        assert_eq!(finished("dev/eastus"), "applied (revision 4) in 4.6s");
        assert_eq!(finished("dev/westus"), "failed in 4.6s");
        assert_eq!(
            finished("staging/eastus"),
            "held back: wave 0 failed (dev/westus)"
        );
    }
}
