//! Output formats: a unified text diff (optionally colored), JSON (`schemas/diff.schema.json`)
//! and Markdown for a pull-request comment. Every format reads the masked values of the
//! report only.

use std::fmt::Write as _;

use serde_json::{Value, json};
use similar::{ChangeTag, TextDiff};

use super::{Action, DiffReport, DiffSummary, DriftItem, ObjectDiff, Op};

/// The `apiVersion` of the JSON output; bumped on any incompatible schema change.
pub const JSON_API_VERSION: &str = "charter.dev/diff/v1";

/// Lines of context around each hunk of the text diff.
const CONTEXT: usize = 3;
/// Longest value shown inline in a drift line (characters), so one big value cannot swamp the
/// output; the JSON output always has the whole value.
const MAX_INLINE: usize = 200;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

/// The terminal format: per created, changed, pruned or drifted object a header
/// (`~ apps/v1 Deployment prod/web (change)`), a unified diff of the normalized YAML (live →
/// desired), and a drift section; then a summary line. `color` adds ANSI colors.
pub fn render_text(report: &DiffReport, color: bool) -> String {
    let mut out = String::new();
    for o in shown(report) {
        let (c, r) = if color {
            (action_color(o.action), RESET)
        } else {
            ("", "")
        };
        let bold = if color { BOLD } else { "" };
        let _ = writeln!(out, "{bold}{c}{}{r}", header(o));
        out.push_str(&unified(o, color));
        if !o.drift.is_empty() {
            let (m, r) = if color { (MAGENTA, RESET) } else { ("", "") };
            for line in drift_lines(o) {
                let _ = writeln!(out, "{m}{line}{r}");
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(&report.summary));
    out
}

/// The JSON document as a value (see `schemas/diff.schema.json`); every object is listed,
/// unchanged ones too.
pub fn to_json(report: &DiffReport) -> Value {
    let rules: Vec<Value> = report
        .unmatched_rules
        .iter()
        .map(|r| {
            let mut v = json!({ "rule": r.to_string(), "path": r.path });
            if let Some(s) = &r.source {
                v["source"] = json!(s.to_string());
            }
            v
        })
        .collect();
    // The report types serialize to plain maps with string keys, which cannot fail.
    let to = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    json!({
        "apiVersion": JSON_API_VERSION,
        "summary": to(serde_json::to_value(report.summary)),
        "objects": to(serde_json::to_value(&report.objects)),
        "unmatchedIgnoreRules": rules,
    })
}

/// [`to_json`], pretty-printed with a trailing newline.
pub fn render_json(report: &DiffReport) -> String {
    let mut s = serde_json::to_string_pretty(&to_json(report)).unwrap_or_default();
    s.push('\n');
    s
}

/// Markdown for a pull-request comment: a `### title` heading, the summary, a table of the
/// objects that change or drifted, and one collapsed `<details>` block per object holding its
/// diff (and drift) in fenced code blocks.
pub fn render_markdown(report: &DiffReport, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {}\n", title.trim());
    let _ = writeln!(out, "**{}**\n", summary_line(&report.summary));
    let objects: Vec<&ObjectDiff> = shown(report).collect();
    if objects.is_empty() {
        return out;
    }
    out.push_str("| Action | Object | Fields | Drift |\n|---|---|---|---|\n");
    for o in &objects {
        let fields = match o.action {
            Action::Change => o.changes.len().to_string(),
            _ => String::new(),
        };
        let drift = match (o.drift.len(), o.drift_overwritten()) {
            (0, _) => String::new(),
            (n, true) => format!("{n} (overwritten)"),
            (n, false) => n.to_string(),
        };
        let _ = writeln!(
            out,
            "| {} {} | `{}` | {fields} | {drift} |",
            o.action.sign(),
            o.action.as_str(),
            o.key.to_string().replace('|', "\\|").replace('`', "'"),
        );
    }
    for o in &objects {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code></summary>\n",
            html_escape(&header(o))
        );
        let diff = unified(o, false);
        if !diff.is_empty() {
            fenced(&mut out, "diff", &diff);
        }
        if !o.drift.is_empty() {
            fenced(&mut out, "text", &(drift_lines(o).join("\n") + "\n"));
        }
        out.push_str("</details>\n");
    }
    out
}

/// Objects that appear in the text and Markdown outputs: all but unchanged ones without drift.
fn shown(report: &DiffReport) -> impl Iterator<Item = &ObjectDiff> {
    report
        .objects
        .iter()
        .filter(|o| o.action != Action::Unchanged || !o.drift.is_empty())
}

fn header(o: &ObjectDiff) -> String {
    let mut what = o.action.as_str().to_string();
    if o.drift.iter().any(|d| d.op == Op::Deleted) {
        what.push_str(", deleted by hand");
    } else if !o.drift.is_empty() {
        what.push_str(", drifted");
    }
    format!("{} {} ({what})", o.action.sign(), o.key)
}

fn action_color(a: Action) -> &'static str {
    match a {
        Action::Create => GREEN,
        Action::Change | Action::Unchanged => YELLOW,
        Action::Prune => RED,
    }
}

/// The unified diff of the object's normalized, masked YAML, live → desired.
fn unified(o: &ObjectDiff, color: bool) -> String {
    let yaml = |v: &Option<Value>| v.as_ref().map(crate::yaml::to_yaml).unwrap_or_default();
    let (old, new) = (yaml(&o.before), yaml(&o.after));
    if old == new {
        return String::new();
    }
    let diff = TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        let (c, r) = if color { (CYAN, RESET) } else { ("", "") };
        let _ = writeln!(out, "{c}{}{r}", hunk.header());
        for change in hunk.iter_changes() {
            let (sign, c) = match change.tag() {
                ChangeTag::Delete => ('-', RED),
                ChangeTag::Insert => ('+', GREEN),
                ChangeTag::Equal => (' ', ""),
            };
            let (c, r) = if color && !c.is_empty() {
                (c, RESET)
            } else {
                ("", "")
            };
            let line = change.value().trim_end_matches('\n');
            let _ = writeln!(out, "{c}{sign}{line}{r}");
        }
    }
    out
}

fn drift_lines(o: &ObjectDiff) -> Vec<String> {
    let mut lines =
        vec!["drift: the live object differs from what the last release applied".to_string()];
    for d in &o.drift {
        lines.push(drift_line(d, o.action));
    }
    lines
}

fn drift_line(d: &DriftItem, action: Action) -> String {
    let fate = match (d.overwritten, action) {
        (false, _) => "",
        (true, Action::Prune) => " [deleted with the object]",
        (true, Action::Create) => " [re-created by this apply]",
        (true, _) => " [overwritten by this apply]",
    };
    let val = |v: &Option<Value>| v.as_ref().map(inline).unwrap_or_default();
    match d.op {
        Op::Deleted => format!("  ! the object was deleted from the cluster{fate}"),
        Op::Removed => format!(
            "  - {}: {} (removed from the live object){fate}",
            d.path,
            val(&d.last_applied)
        ),
        _ => format!(
            "  ~ {}: {} -> {}{fate}",
            d.path,
            val(&d.last_applied),
            val(&d.live)
        ),
    }
}

/// A value on one line (compact JSON), shortened past [`MAX_INLINE`] characters.
fn inline(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= MAX_INLINE {
        return s;
    }
    let mut short: String = s.chars().take(MAX_INLINE).collect();
    short.push('…');
    short
}

fn summary_line(s: &DiffSummary) -> String {
    let mut line = format!(
        "{} to create, {} to change, {} to prune, {} unchanged",
        s.create, s.change, s.prune, s.unchanged
    );
    if s.drift > 0 {
        let _ = write!(
            line,
            "; {} drifted from the last release ({} overwritten by this apply)",
            s.drift, s.drift_overwritten
        );
    }
    line
}

/// A fenced code block whose fence is longer than any backtick run inside (a ConfigMap may
/// well hold Markdown), so the content cannot end it early.
fn fenced(out: &mut String, lang: &str, body: &str) {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    let _ = write!(out, "{fence}{lang}\n{body}{fence}\n\n");
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
