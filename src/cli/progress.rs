//! Progress of release operations: a bar on a terminal, one line per change otherwise (CI
//! logs, pipes), both on stderr so stdout stays data.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::object::ANNOTATION_POLICY;
use crate::release::Progress;

/// Turns [`Progress`] events into output.
pub struct Reporter {
    /// Whether stderr is a terminal (a bar) or not (lines).
    terminal: bool,
    /// The bar of the operation under way: made on its first event, gone after [`Reporter::finish`]
    /// (an `apply` runs one operation per target).
    bar: Mutex<Option<ProgressBar>>,
    /// The last pending count and example printed while waiting, so a line goes out only
    /// when the state changes.
    last_pending: Mutex<Option<(usize, String)>>,
}

fn new_bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:<10} [{bar:30}] {pos}/{len} {elapsed} {prefix}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

impl Reporter {
    /// A bar when stderr is a terminal, lines otherwise.
    pub fn new() -> Reporter {
        Reporter {
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
            last_pending: Mutex::new(None),
        }
    }

    /// The bar, made when the first event arrives; `None` when not on a terminal.
    fn bar(&self) -> Option<ProgressBar> {
        if !self.terminal {
            return None;
        }
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        Some(bar.get_or_insert_with(new_bar).clone())
    }

    /// A message that is not progress (a repaired revision, an --atomic rollback).
    pub fn line(&self, msg: &str) {
        match self.bar() {
            Some(bar) => bar.println(msg),
            None => say!("{msg}"),
        }
    }

    /// Handles one event.
    pub fn report(&self, p: Progress<'_>) {
        if let Some(msg) = notice(p) {
            return self.line(&msg);
        }
        if let Some(bar) = self.bar() {
            match p {
                Progress::Phase(name, total) => {
                    bar.set_length(total as u64);
                    bar.set_position(0);
                    bar.set_message(name);
                    bar.set_prefix("");
                }
                Progress::Applied(_) | Progress::Unchanged(_) => bar.inc(1),
                Progress::Pruned(i) => bar.println(format!("pruned {}", i.display())),
                Progress::Kept(i) => {
                    bar.println(format!("kept {} ({ANNOTATION_POLICY}: keep)", i.display()))
                }
                Progress::Hook { .. } => {
                    let mut none = None;
                    if let Some(l) = plain_line(p, &mut none) {
                        bar.println(l);
                    }
                }
                Progress::Deleted(_) => bar.inc(1),
                Progress::Waiting {
                    pending,
                    total,
                    example,
                } => {
                    bar.set_position(total.saturating_sub(pending) as u64);
                    bar.set_prefix(example.to_string());
                }
                Progress::Repaired { .. }
                | Progress::RollingBack { .. }
                | Progress::WaitingForLock { .. } => {}
            }
            return;
        }
        let mut last = self.last_pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(line) = plain_line(p, &mut last) {
            say!("{line}");
        }
    }

    /// Clears the bar before the command prints its result.
    pub fn finish(&self) {
        let bar = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        *self.last_pending.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The message of an event that is not progress but news (a repaired revision, an --atomic
/// rollback), shown on a terminal too.
pub fn notice(p: Progress<'_>) -> Option<String> {
    match p {
        Progress::Repaired {
            release,
            namespace,
            revision,
        } => Some(format!(
            "release {namespace}/{release}: revision {revision} was left pending by an operation that died; marked failed"
        )),
        Progress::RollingBack { error, revision } => Some(format!(
            "--atomic: {error}; rolling back to revision {revision}"
        )),
        Progress::WaitingForLock {
            release,
            namespace,
            holder,
            since,
        } => Some(format!(
            "waiting for the lock of release {namespace}/{release}: held by `{holder}` since {since} (--wait-for-lock)"
        )),
        _ => None,
    }
}

/// The line a [`Progress`] event prints where there is no terminal (CI logs, pipes), if any:
/// one per change, and a waiting line only when the count of pending objects or the reason
/// shown changed since `last_pending`.
pub fn plain_line(p: Progress<'_>, last_pending: &mut Option<(usize, String)>) -> Option<String> {
    match p {
        Progress::Phase(..)
        | Progress::Unchanged(_)
        | Progress::Repaired { .. }
        | Progress::RollingBack { .. }
        | Progress::WaitingForLock { .. } => None,
        Progress::Hook { event, hook, phase } => {
            Some(format!("hook {event} {}: {phase}", hook.display()))
        }
        Progress::Applied(i) => Some(format!("applied {}", i.display())),
        Progress::Pruned(i) => Some(format!("pruned {}", i.display())),
        Progress::Kept(i) => Some(format!("kept {} ({ANNOTATION_POLICY}: keep)", i.display())),
        Progress::Deleted(i) => Some(format!("deleted {}", i.display())),
        Progress::Waiting {
            pending,
            total,
            example,
        } => {
            let now = (pending, example.to_string());
            if last_pending.as_ref() == Some(&now) {
                return None;
            }
            *last_pending = Some(now);
            Some(if pending == 0 {
                format!("ready: all {total}")
            } else {
                format!("waiting: {pending} of {total} not ready, e.g. {example}")
            })
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}
