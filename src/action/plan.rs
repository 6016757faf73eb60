//! `plan`: every target of a deploy tree diffed against its own cluster, many at once
//! ([`super::fleet`]), with the waves `apply` will follow, and the plan file
//! (`schemas/plan.schema.json`) that `apply --plan` checks before it applies.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::diff::{TargetDiff, of_target, run_on};
use super::fleet::{self, Limits};
use super::{Connections, Error, Globals};
use crate::deploy::{Gate, LevelGate, Rollout, Target};
use crate::diff::{DiffSummary, canonical_json, sha256, to_json};
use crate::manifest::order::Group;
use crate::release::hooks::HookStep;

/// The `apiVersion` of a plan file.
pub const PLAN_API_VERSION: &str = "charter.dev/plan/v1";
const PLAN_SCHEMA: &str = include_str!("../../schemas/plan.schema.json");
const CHARTER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A plan of a deploy tree.
pub struct PlanRequest {
    /// The deploy-tree directory: every target below it is planned.
    pub dir: PathBuf,
    /// How many targets are rendered and diffed at once, in all and per cluster.
    pub limits: Limits,
    /// `--ignore` rules, added to each target's own.
    pub ignore: Vec<String>,
    /// Show Secret values in the diffs.
    pub show_secrets: bool,
}

/// One target of a plan: where it is, and its diff or why there is none.
pub struct Planned {
    /// The target below its stack root.
    pub name: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its kube context, when its charter.yaml names one.
    pub context: Option<String>,
    /// The wave it rolls out in.
    pub wave: u32,
    /// Its diff.
    pub result: Result<TargetDiff, Error>,
}

/// Every target's diff, in rollout order (by wave, then by name).
pub struct Plan {
    /// The deploy-tree directory.
    pub root: PathBuf,
    /// The `--ignore` rules.
    pub ignore: Vec<String>,
    /// The targets.
    pub targets: Vec<Planned>,
    /// The gates, each with the wave it runs after.
    pub gates: Vec<(u32, LevelGate)>,
}

/// Diffs every target below `req.dir`, within `req.limits`. Bad input (see [`fleet::rollout`])
/// is refused before any cluster is contacted.
pub fn run(globals: &Globals, req: &PlanRequest) -> Result<Plan, Error> {
    let rollout = fleet::rollout(globals, &req.dir)?;
    let rt = super::runtime()?;
    let handle = rt.handle();
    let globals = &Connections::on(globals);
    let items: Vec<(String, (u32, &Target))> = rollout
        .targets()
        .map(|(w, t)| (fleet::destination(globals, t).cluster, (w, t)))
        .collect();
    let targets = fleet::run_each(req.limits, &items, |&(wave, t)| Planned {
        name: t.name.clone(),
        dir: t.dir.clone(),
        context: t.kube_context.clone(),
        wave,
        result: of_target(&t.dir, &req.ignore, req.show_secrets)
            .and_then(|r| run_on(handle, globals, &r)),
    });
    Ok(Plan {
        root: req.dir.clone(),
        ignore: req.ignore.clone(),
        targets,
        gates: gates_of(&rollout),
    })
}

/// The gates of a rollout with the wave each runs after.
fn gates_of(rollout: &Rollout) -> Vec<(u32, LevelGate)> {
    rollout
        .waves
        .iter()
        .flat_map(|w| w.gates.iter().map(|g| (w.number, g.clone())))
        .collect()
}

impl Plan {
    /// 1 when some target failed, else 2 when some target has changes (or, with
    /// `fail_on_drift`, drift), else 0.
    pub fn exit_code(&self, fail_on_drift: bool) -> i32 {
        if self.targets.iter().any(|p| p.result.is_err()) {
            1
        } else if self
            .targets
            .iter()
            .filter_map(|p| p.result.as_ref().ok())
            .any(|d| d.report.summary.exit_code(fail_on_drift) == 2)
        {
            2
        } else {
            0
        }
    }

    /// The plan file, checksum set; with `diffs`, each target's diff report too (the
    /// `-o json` output).
    pub fn file(&self, diffs: bool) -> PlanFile {
        let targets = self
            .targets
            .iter()
            .map(|p| match &p.result {
                Ok(d) => PlannedTarget {
                    name: p.name.clone(),
                    dir: p.dir.display().to_string(),
                    wave: p.wave,
                    release: Some(d.release.clone()),
                    namespace: Some(d.namespace.clone()),
                    context: Some(d.context.clone()),
                    rendered_fingerprint: Some(d.rendered_fingerprint.clone()),
                    live_fingerprint: Some(d.live_fingerprint.clone()),
                    hooks_fingerprint: (!d.hooks.is_empty()).then(|| d.hooks_fingerprint.clone()),
                    hooks: d.hooks.clone(),
                    groups: d.groups.clone(),
                    summary: Some(d.report.summary),
                    diff: diffs.then(|| to_json(&d.report)),
                    error: None,
                },
                Err(e) => PlannedTarget {
                    name: p.name.clone(),
                    dir: p.dir.display().to_string(),
                    wave: p.wave,
                    context: p.context.clone(),
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            })
            .collect();
        let mut file = PlanFile {
            api_version: PLAN_API_VERSION.to_string(),
            charter_version: CHARTER_VERSION.to_string(),
            root: self.root.display().to_string(),
            ignore: self.ignore.clone(),
            targets,
            gates: self
                .gates
                .iter()
                .map(|(wave, g)| PlannedGate {
                    after_wave: *wave,
                    root: g.root.display().to_string(),
                    level: g.level.clone(),
                    file: g.file.display().to_string(),
                    line: g.line,
                    gate: g.gate.clone(),
                })
                .collect(),
            checksum: String::new(),
        };
        file.checksum = file.compute_checksum();
        file
    }
}

/// A plan file, as `plan --out` writes it and `apply --plan` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanFile {
    /// Always [`PLAN_API_VERSION`].
    pub api_version: String,
    /// The charter version that made the plan; only that version applies it.
    pub charter_version: String,
    /// The directory given to `plan`.
    pub root: String,
    /// The `--ignore` rules of the plan.
    pub ignore: Vec<String>,
    /// The targets, by wave and name.
    pub targets: Vec<PlannedTarget>,
    /// The gates between waves.
    pub gates: Vec<PlannedGate>,
    /// sha256 over the document without this field, as canonical JSON.
    pub checksum: String,
}

/// A gate of a plan file: run after the last wave that holds a target below its level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedGate {
    /// The wave it runs after.
    pub after_wave: u32,
    /// The stack root of its level.
    pub root: String,
    /// Its level below the root (empty: the root itself).
    pub level: String,
    /// The charter.yaml that sets it.
    pub file: String,
    /// Its line there.
    pub line: usize,
    /// The checks.
    pub gate: Gate,
}

impl PlannedGate {
    /// The gate as a deploy tree states it.
    pub fn to_level_gate(&self) -> LevelGate {
        LevelGate {
            root: PathBuf::from(&self.root),
            level: self.level.clone(),
            gate: self.gate.clone(),
            file: PathBuf::from(&self.file),
            line: self.line,
        }
    }
}

/// One target of a plan file: either its resolved release, context, fingerprints and counts,
/// or the error that kept it from being planned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedTarget {
    /// The target below its stack root.
    pub name: String,
    /// Its directory.
    pub dir: String,
    /// The wave it rolls out in.
    pub wave: u32,
    /// The release it resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The kube context it was diffed against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// A digest of the objects a deploy would apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendered_fingerprint: Option<String>,
    /// A digest of the live state the diff saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_fingerprint: Option<String>,
    /// The hooks the deploy would run, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookStep>,
    /// A digest of those hooks and their objects; absent without hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks_fingerprint: Option<String>,
    /// The groups the deploy applies one after another (ordering annotations only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    /// The diff's counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<DiffSummary>,
    /// The diff report (`-o json` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<Value>,
    /// Why the target could not be planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PlanFile {
    /// sha256 over the canonical JSON of the file without its `checksum`.
    fn compute_checksum(&self) -> String {
        let mut doc = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = doc.as_object_mut() {
            m.shift_remove("checksum");
        }
        sha256(&canonical_json(&doc))
    }

    /// The file as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads and checks a plan file: JSON, apiVersion, schema, checksum, charter version.
    pub fn read(path: &Path) -> Result<PlanFile, Error> {
        let refused = |why: String| Error::Invalid(format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path)
            .map_err(Error::io(format!("cannot read plan {}", path.display())))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            refused(format!(
                "not a plan file: invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ))
        })?;
        let api = doc.get("apiVersion").and_then(Value::as_str);
        if api != Some(PLAN_API_VERSION) {
            return Err(refused(format!(
                "not a charter plan: apiVersion is {}, expected {PLAN_API_VERSION}. Make it with `charter plan DIR --out FILE`",
                api.map_or("missing".to_string(), |a| format!("`{a}`"))
            )));
        }
        if let Err(e) = validate_schema(&doc)? {
            return Err(refused(format!(
                "refused: the plan does not match schemas/plan.schema.json (edited by hand?): {e}. Make the plan again"
            )));
        }
        let file: PlanFile = serde_json::from_value(doc).map_err(|e| {
            refused(format!(
                "refused: not a plan file: {e}. Make the plan again"
            ))
        })?;
        if file.checksum != file.compute_checksum() {
            return Err(refused(
                "refused: its checksum does not match its content, so it was changed after `charter plan` wrote it (edited by hand?). Make the plan again".into(),
            ));
        }
        if file.charter_version != CHARTER_VERSION {
            return Err(refused(format!(
                "refused: the plan was made by charter {}, this is charter {CHARTER_VERSION}; a plan is applied by the version that made it. Make the plan again with this version",
                file.charter_version
            )));
        }
        Ok(file)
    }
}

/// Validates a document against the shipped plan schema: the outer error is charter's own
/// (the schema does not compile), the inner one the document's.
fn validate_schema(doc: &Value) -> Result<Result<(), String>, Error> {
    let internal =
        |e: &dyn std::fmt::Display| Error::Invalid(format!("internal: plan schema: {e}"));
    let schema: Value = serde_json::from_str(PLAN_SCHEMA).map_err(|e| internal(&e))?;
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("plan.schema.json", schema)
        .map_err(|e| internal(&e))?;
    let idx = compiler
        .compile("plan.schema.json", &mut schemas)
        .map_err(|e| internal(&e))?;
    Ok(schemas.validate(doc, idx).map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_plan(dir: &Path, doc: &Value) -> PathBuf {
        let p = dir.join("plan.json");
        std::fs::write(&p, serde_json::to_string_pretty(doc).unwrap()).unwrap();
        p
    }

    fn checksum(doc: &Value) -> String {
        let mut d = doc.clone();
        d.as_object_mut().unwrap().shift_remove("checksum");
        sha256(&canonical_json(&d))
    }

    fn plan(version: &str) -> Value {
        let mut doc = serde_json::json!({
            "apiVersion": PLAN_API_VERSION,
            "charterVersion": version,
            "root": "deploy/app",
            "ignore": [],
            "targets": [{"name": "prod/east", "dir": "deploy/app/prod/east", "wave": 0, "error": "x"}],
            "gates": [],
        });
        doc["checksum"] = serde_json::json!(checksum(&doc));
        doc
    }

    #[test]
    fn plans_from_another_version_or_edited_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = write_plan(tmp.path(), &plan(CHARTER_VERSION));
        let read = PlanFile::read(&ok).unwrap();
        assert_eq!(read.targets[0].error.as_deref(), Some("x"));
        assert_eq!(read.checksum, read.compute_checksum());

        let other = write_plan(tmp.path(), &plan("0.0.1-other"));
        let err = PlanFile::read(&other).unwrap_err().to_string();
        assert!(err.contains("made by charter 0.0.1-other"), "{err}");

        let mut edited = plan(CHARTER_VERSION);
        edited["root"] = serde_json::json!("deploy/other");
        let err = PlanFile::read(&write_plan(tmp.path(), &edited))
            .unwrap_err()
            .to_string();
        assert!(err.contains("checksum"), "{err}");

        let mut bad = plan(CHARTER_VERSION);
        bad["targets"][0]["extra"] = serde_json::json!(1);
        bad["checksum"] = serde_json::json!(checksum(&bad));
        let err = PlanFile::read(&write_plan(tmp.path(), &bad))
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema"), "{err}");
    }

    #[test]
    fn the_checksum_does_not_depend_on_formatting() {
        let doc = plan(CHARTER_VERSION);
        let compact: Value = serde_json::from_str(&doc.to_string()).unwrap();
        assert_eq!(checksum(&doc), checksum(&compact));
        let typed: PlanFile = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(typed.compute_checksum(), checksum(&doc));
    }
}
