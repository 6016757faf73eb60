//! Progress of release operations: a bar on a terminal, one line per change otherwise (CI
//! logs, pipes, `CI=true`), both on stderr so stdout stays data. While a deploy waits, the
//! terminal shows a live table of the objects not yet ready, with their state and why.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::object::ANNOTATION_POLICY;
use crate::release::Progress;
use crate::release::error::WaitRow;

/// How many pending objects the live table shows, and how wide a row may be: a row that wraps
/// would break the redraw.
const TABLE_ROWS: usize = 12;
const ROW_WIDTH: usize = 118;

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
    /// A bar when stderr is a terminal, lines otherwise (and in CI, whose log viewers may
    /// present a terminal but keep every redraw).
    pub fn new() -> Reporter {
        Reporter {
            terminal: std::io::stderr().is_terminal()
                && std::env::var("CI").as_deref() != Ok("true"),
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
                Progress::Deleted(_) => bar.inc(1),
                Progress::Waiting {
                    pending,
                    total,
                    rows,
                    ..
                } => {
                    bar.set_position(total.saturating_sub(pending) as u64);
                    bar.set_prefix(table(rows));
                }
                Progress::Stage(line) => {
                    bar.println(format!("group {line}"));
                    bar.set_prefix("");
                }
                Progress::Repaired { .. }
                | Progress::RollingBack { .. }
                | Progress::HooksNotRun(_)
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
        Progress::HooksNotRun(hooks) => Some(format!(
            "warning: the chart's Helm hooks are neither run nor applied (charter does not run hooks yet): {}",
            hooks.join("; ")
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
        | Progress::HooksNotRun(_)
        | Progress::WaitingForLock { .. } => None,
        Progress::Applied(i) => Some(format!("applied {}", i.display())),
        Progress::Pruned(i) => Some(format!("pruned {}", i.display())),
        Progress::Kept(i) => Some(format!("kept {} ({ANNOTATION_POLICY}: keep)", i.display())),
        Progress::Deleted(i) => Some(format!("deleted {}", i.display())),
        Progress::Stage(line) => Some(format!("group {line}")),
        Progress::Waiting {
            pending,
            total,
            example,
            ..
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

/// The live table of a wait: one row per pending object (kind, namespace/name, state and why),
/// columns aligned, each row cut to fit a line; empty when nothing is pending.
pub fn table(rows: &[WaitRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let name = |r: &WaitRow| match r.item.ns() {
        Some(ns) => format!("{ns}/{}", r.item.name),
        None => r.item.name.clone(),
    };
    let shown = &rows[..rows.len().min(TABLE_ROWS)];
    let kind_w = shown.iter().map(|r| r.item.kind.len()).max().unwrap_or(0);
    let name_w = shown.iter().map(|r| name(r).len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in shown {
        let why = match &r.why {
            Some(w) => format!("{}: {w}", r.state),
            None => r.state.clone(),
        };
        let row = format!("  {:<kind_w$}  {:<name_w$}  {why}", r.item.kind, name(r));
        out.push('\n');
        out.push_str(&cut(&row, ROW_WIDTH));
    }
    if rows.len() > shown.len() {
        out.push_str(&format!("\n  … and {} more", rows.len() - shown.len()));
    }
    out
}

/// `s` cut to at most `width` characters, an ellipsis marking the cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;

    #[test]
    fn the_live_table_aligns_and_cuts_rows() {
        let row = |kind: &str, name: &str, state: &str, why: Option<&str>| WaitRow {
            item: ObjectRef::new("v1", kind, Some("prod"), name),
            state: state.into(),
            why: why.map(str::to_string),
        };
        let long = "x".repeat(200);
        let t = table(&[
            row(
                "Deployment",
                "web",
                "1/3 replicas available",
                Some("pod web-7f9: container app: ImagePullBackOff"),
            ),
            row("Job", "migrate-db", "0 succeeded", None),
            row("ConfigMap", "c", "not found", Some(&long)),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "  Deployment  prod/web         1/3 replicas available: pod web-7f9: container app: ImagePullBackOff"
        );
        assert_eq!(lines[2], "  Job         prod/migrate-db  0 succeeded");
        assert_eq!(lines[3].chars().count(), ROW_WIDTH);
        assert!(lines[3].ends_with('…'));
        let many: Vec<WaitRow> = (0..15)
            .map(|i| row("Pod", &format!("p{i}"), "pod not ready", None))
            .collect();
        let t = table(&many);
        assert_eq!(t.lines().count(), 1 + TABLE_ROWS + 1);
        assert!(t.ends_with("… and 3 more"));
        assert_eq!(table(&[]), "");
    }

    #[test]
    fn plain_lines_name_groups_and_change_only_when_the_wait_does() {
        let mut last = None;
        assert_eq!(
            plain_line(Progress::Stage("2/3 weight 0: Deployment/web"), &mut last).as_deref(),
            Some("group 2/3 weight 0: Deployment/web")
        );
        let w = |pending, example| Progress::Waiting {
            pending,
            total: 3,
            example,
            rows: &[],
        };
        assert!(plain_line(w(2, "Job/prod/m (0 succeeded)"), &mut last).is_some());
        assert!(plain_line(w(2, "Job/prod/m (0 succeeded)"), &mut last).is_none());
        assert_eq!(
            plain_line(w(0, ""), &mut last).as_deref(),
            Some("ready: all 3")
        );
    }
}
