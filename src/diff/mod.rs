//! The diff: what an upgrade would change, and where the cluster drifted from the last release.
//!
//! A pure library: the caller fetches objects (server-side-apply dry-run results, live objects,
//! and the last release's objects) and this module compares them. It never talks to a cluster
//! and never prints.
//!
//! ```no_run
//! use charter::diff::{diff_objects, render_text, DiffOptions, IgnoreRules, ObjectInput, ObjectRef};
//! # let (desired, live, last) = (serde_json::json!({}), serde_json::json!({}), serde_json::json!({}));
//! let input = ObjectInput {
//!     key: ObjectRef::new("apps/v1", "Deployment", Some("prod"), "web"),
//!     desired: Some(desired),   // the dry-run apply result; None: the object is pruned
//!     live: Some(live),         // None: the object is created
//!     last_applied: Some(last), // as the last release applied it; None: not in it
//! };
//! let mut rules = IgnoreRules::default();
//! rules.add_compact(["Deployment:/spec/replicas"]).unwrap();
//! let report = diff_objects(vec![input], &rules, &DiffOptions::default());
//! print!("{}", render_text(&report, true));
//! std::process::exit(report.summary.exit_code(false));
//! ```
//!
//! # Per object
//! - **change**: the normalized desired object against the normalized live object, as a list of
//!   [`FieldChange`]s; the [`Action`] is `create` (no live object), `prune` (no desired object),
//!   `change` or `unchanged`.
//! - **drift**: the live object against `last_applied`, over the fields `last_applied` sets only
//!   (server defaults and fields other controllers own are never drift): a changed value, a
//!   removed field or keyed-list item, or the whole object deleted by hand (which is then also
//!   a `create`). Each [`DriftItem`] says whether the change overwrites it (the change touches
//!   the same field, or the object is pruned or re-created).
//!
//! Normalization, keyed lists, the path syntax, ignore rules and masking are described in
//! `docs/diff.md`; in short: paths are JSON pointers in which a keyed list item is written
//! `field=value` (`/spec/template/spec/containers/name=web/env/name=LOG_LEVEL/value`), ignore
//! rules remove fields from all three objects before comparing, and a Secret's `data` values
//! are replaced by `<secret: N bytes>` placeholders before anything is rendered.
//!
//! # Order
//! Objects are sorted by install order ([`crate::object::install_rank`] of the kind), then
//! kind, apiVersion, namespace and name; field differences follow document order. Output is a
//! function of the input alone.

mod compare;
mod fingerprint;
mod ignore;
mod keys;
mod mask;
mod normalize;
mod path;
mod render;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;

pub use fingerprint::{canonical_json, live_fingerprint, rendered_fingerprint, sha256};
pub use ignore::{IgnoreRule, IgnoreRuleError, IgnoreRules, IgnoreSpec, RuleSource};
pub use path::{FieldPath, Segment};
pub use render::{JSON_API_VERSION, render_json, render_markdown, render_text, to_json};

pub use crate::object::ObjectRef;

use compare::{diff_values, drift_values};
use mask::mask_pair;
use normalize::{is_secret, normalize};
use path::lookup;

/// One object to compare.
#[derive(Debug, Clone)]
pub struct ObjectInput {
    /// The object.
    pub key: ObjectRef,
    /// The server-side-apply dry-run result; `None`: the object will be pruned.
    pub desired: Option<Value>,
    /// The live object; `None`: the object will be created.
    pub live: Option<Value>,
    /// The object as the last release applied it (from its record); `None`: not in it.
    pub last_applied: Option<Value>,
}

/// Options for [`diff_objects`].
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Show Secret values instead of masking them. The CLI decides whether this is allowed.
    pub show_secrets: bool,
}

/// What applying does to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Created (it is not live, including when it was deleted by hand).
    Create,
    /// Changed in place.
    Change,
    /// Deleted: it is live but no longer rendered.
    Prune,
    /// Nothing to do.
    Unchanged,
}

impl Action {
    /// The sign and the name of the action.
    fn spelled(self) -> (char, &'static str) {
        match self {
            Action::Create => ('+', "create"),
            Action::Change => ('~', "change"),
            Action::Prune => ('-', "prune"),
            Action::Unchanged => ('=', "unchanged"),
        }
    }

    /// `+`, `~`, `-` or `=`.
    pub fn sign(self) -> char {
        self.spelled().0
    }

    /// `create`, `change`, `prune` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        self.spelled().1
    }
}

/// The kind of one difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// The field or item is new.
    Added,
    /// The field or item is gone.
    Removed,
    /// The value differs.
    Changed,
    /// Drift only: the whole object was deleted from the cluster.
    Deleted,
}

/// One field difference of the change: live (`old`) → desired (`new`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Where; the root path for a created or pruned object (whose value is then the object).
    pub path: FieldPath,
    /// Added, removed or changed.
    pub op: Op,
    /// The live value (masked for a Secret); `None` when added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The desired value (masked for a Secret); `None` when removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// One drift item: the last release set `last_applied`, the cluster holds `live`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftItem {
    /// Where; the root path when the object was deleted.
    pub path: FieldPath,
    /// Changed, removed (the field or item), or deleted (the object).
    pub op: Op,
    /// What the last release set (masked for a Secret); `None` for a deleted object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<Value>,
    /// What the cluster holds (masked for a Secret); `None` when removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
    /// Whether applying overwrites (or deletes) this drift.
    pub overwritten: bool,
}

/// The result for one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectDiff {
    /// The object.
    #[serde(flatten)]
    pub key: ObjectRef,
    /// What applying does.
    pub action: Action,
    /// The field differences of the change (empty when unchanged).
    pub changes: Vec<FieldChange>,
    /// Drift from the last release (empty when none).
    pub drift: Vec<DriftItem>,
    /// The normalized live object, ignored fields removed and Secret data masked (what the
    /// text diff shows on its `-` side).
    #[serde(skip)]
    pub before: Option<Value>,
    /// The normalized desired object, likewise (the `+` side).
    #[serde(skip)]
    pub after: Option<Value>,
}

impl ObjectDiff {
    /// Whether any drift item is overwritten by applying.
    pub fn drift_overwritten(&self) -> bool {
        self.drift.iter().any(|d| d.overwritten)
    }
}

/// Object counts, for the summary line and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffSummary {
    /// Objects to create.
    pub create: usize,
    /// Objects to change.
    pub change: usize,
    /// Objects to prune.
    pub prune: usize,
    /// Objects left as they are.
    pub unchanged: usize,
    /// Objects that drifted from the last release.
    pub drift: usize,
    /// Objects whose drift applying would overwrite.
    pub drift_overwritten: usize,
}

impl DiffSummary {
    /// Whether applying would change anything.
    pub fn has_changes(&self) -> bool {
        self.create + self.change + self.prune > 0
    }

    /// Whether anything drifted.
    pub fn has_drift(&self) -> bool {
        self.drift > 0
    }

    /// The CLI exit code: 2 when there are changes (or, with `fail_on_drift`, drift), else 0.
    pub fn exit_code(&self, fail_on_drift: bool) -> i32 {
        if self.has_changes() || (fail_on_drift && self.has_drift()) {
            2
        } else {
            0
        }
    }

    /// Adds another summary (one per target, for a fleet plan).
    pub fn add(&mut self, other: &DiffSummary) {
        self.create += other.create;
        self.change += other.change;
        self.prune += other.prune;
        self.unchanged += other.unchanged;
        self.drift += other.drift;
        self.drift_overwritten += other.drift_overwritten;
    }
}

/// The result of [`diff_objects`].
#[derive(Debug, Clone, PartialEq)]
pub struct DiffReport {
    /// One entry per input object, sorted (see the module docs).
    pub objects: Vec<ObjectDiff>,
    /// Counts.
    pub summary: DiffSummary,
    /// Rules that removed no field from any object they select (likely a typo or stale: the
    /// CLI warns). A rule that matches a field that happens not to differ is not reported.
    pub unmatched_rules: Vec<IgnoreRule>,
}

/// Compares every object; see the module docs.
pub fn diff_objects(
    inputs: Vec<ObjectInput>,
    rules: &IgnoreRules,
    opts: &DiffOptions,
) -> DiffReport {
    let mut matched = vec![0usize; rules.rules.len()];
    let mut objects: Vec<ObjectDiff> = inputs
        .into_iter()
        .map(|i| diff_one(i, rules, opts, &mut matched))
        .collect();
    objects.sort_by(|a, b| a.key.report_cmp(&b.key));
    let mut summary = DiffSummary::default();
    for o in &objects {
        match o.action {
            Action::Create => summary.create += 1,
            Action::Change => summary.change += 1,
            Action::Prune => summary.prune += 1,
            Action::Unchanged => summary.unchanged += 1,
        }
        if !o.drift.is_empty() {
            summary.drift += 1;
        }
        if o.drift_overwritten() {
            summary.drift_overwritten += 1;
        }
    }
    let unmatched_rules = rules
        .rules
        .iter()
        .zip(&matched)
        .filter(|(_, n)| **n == 0)
        .map(|(r, _)| r.clone())
        .collect();
    DiffReport {
        objects,
        summary,
        unmatched_rules,
    }
}

fn diff_one(
    input: ObjectInput,
    rules: &IgnoreRules,
    opts: &DiffOptions,
    matched: &mut [usize],
) -> ObjectDiff {
    let key = input.key;
    let secret = is_secret(&key.api_version, &key.kind);
    let norm = |v: Option<Value>| v.map(|v| normalize(v, secret));
    let mut desired = norm(input.desired);
    let mut live = norm(input.live);
    let mut last = norm(input.last_applied);
    for (rule, count) in rules.rules.iter().zip(matched.iter_mut()) {
        if rule.selects(&key) {
            for v in [&mut desired, &mut live, &mut last].into_iter().flatten() {
                *count += rule.remove_from(v);
            }
        }
    }

    let mut found = Vec::new();
    if let (Some(d), Some(l)) = (&desired, &live) {
        diff_values(&mut Vec::new(), l, d, &mut found);
    }
    let action = match (&desired, &live) {
        (Some(_), None) => Action::Create,
        (None, Some(_)) => Action::Prune,
        (Some(_), Some(_)) if !found.is_empty() => Action::Change,
        _ => Action::Unchanged,
    };
    let mut drift_found = Vec::new();
    if let (Some(la), Some(l)) = (&last, &live) {
        drift_values(&mut Vec::new(), la, Some(l), &mut drift_found);
    }

    // Overwritten: the change touches the drifted field (the same path, a parent or a child),
    // or applying deletes the object.
    let touches = |p: &FieldPath| {
        found.iter().any(|(c, _)| {
            let n = c.0.len().min(p.0.len());
            c.0[..n] == p.0[..n]
        })
    };
    let overwritten = |p: &FieldPath| action == Action::Prune || touches(p);

    // Values shown come from masked copies only, so no output can carry a Secret value.
    // Without masking the normalized objects are read in place: no copy per object.
    let mask = secret && !opts.show_secrets;
    let masked = mask.then(|| {
        let (mut before, mut after) = (live.clone(), desired.clone());
        let (mut drift_last, mut drift_live) = (last.clone(), live.clone());
        mask_pair(before.as_mut(), after.as_mut());
        mask_pair(drift_last.as_mut(), drift_live.as_mut());
        [before, after, drift_last, drift_live]
    });
    let [before, after, drift_last, drift_live] = match &masked {
        Some([b, a, dl, dv]) => [b.as_ref(), a.as_ref(), dl.as_ref(), dv.as_ref()],
        None => [
            live.as_ref(),
            desired.as_ref(),
            last.as_ref(),
            live.as_ref(),
        ],
    };
    let at = |v: Option<&Value>, p: &FieldPath| v.and_then(|v| lookup(v, &p.0)).cloned();

    let changes = match action {
        Action::Create => vec![FieldChange {
            path: FieldPath::default(),
            op: Op::Added,
            old: None,
            new: after.cloned(),
        }],
        Action::Prune => vec![FieldChange {
            path: FieldPath::default(),
            op: Op::Removed,
            old: before.cloned(),
            new: None,
        }],
        _ => found
            .iter()
            .map(|(p, op)| FieldChange {
                old: if *op == Op::Added {
                    None
                } else {
                    at(before, p)
                },
                new: if *op == Op::Removed {
                    None
                } else {
                    at(after, p)
                },
                path: p.clone(),
                op: *op,
            })
            .collect(),
    };
    let mut drift: Vec<DriftItem> = drift_found
        .iter()
        .map(|(p, op)| DriftItem {
            last_applied: at(drift_last, p),
            live: if *op == Op::Removed {
                None
            } else {
                at(drift_live, p)
            },
            overwritten: overwritten(p),
            path: p.clone(),
            op: *op,
        })
        .collect();
    if last.is_some() && live.is_none() {
        drift.push(DriftItem {
            path: FieldPath::default(),
            op: Op::Deleted,
            last_applied: None,
            live: None,
            overwritten: desired.is_some(),
        });
    }
    // The text outputs show only objects that change or drifted; an unchanged object keeps
    // no copies (a plan holds every target's report until it prints).
    let (before, after) = if action == Action::Unchanged && drift.is_empty() {
        (None, None)
    } else {
        match masked {
            Some([b, a, _, _]) => (b, a),
            None => (live, desired),
        }
    };
    ObjectDiff {
        key,
        action,
        changes,
        drift,
        before,
        after,
    }
}
