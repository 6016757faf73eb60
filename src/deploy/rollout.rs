//! Rollouts: the order in which the targets of a deploy tree are applied, in waves.
//!
//! Any charter.yaml level may say when its targets go:
//!
//! ```yaml
//! wave: 2                 # this level's targets are in wave 2 (a deeper level's `wave` wins)
//! after: [staging]        # ...and start only once every target under `staging` is done
//! gate: charter test web  # run once this level's targets are done, before the next wave
//! ```
//!
//! A target's wave is the larger of its `wave:` (0 when no level sets one) and one more than
//! the wave of every target it comes `after:`, so `wave:` numbers and `after:` edges combine
//! into one order: waves run in increasing number, the targets of a wave together. With neither
//! anywhere, every target is in wave 0: the tree's order is that of its directories (sorted by
//! path), all at once. `after:` names levels by their path below the stack root; a level with no
//! target in this rollout (applying a subtree) orders nothing. A level's gate runs after the
//! last wave that holds one of its targets. docs/fleet.md has the user's view.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{Setting, Target, TargetError};
use crate::duration::{format_duration, parse_duration};

/// How long a gate may take when its charter.yaml does not say.
pub const DEFAULT_GATE_TIMEOUT: Duration = Duration::from_secs(600);

/// A gate as written in charter.yaml: a command, or a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateSpec {
    /// A shell command (`sh -c`) that must exit 0.
    pub command: Option<String>,
    /// Every object of the level's targets must stay ready this long (`60s`).
    pub ready_for: Option<String>,
    /// How long the gate may take in all (`10m`).
    pub timeout: Option<String>,
}

/// A check between waves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Gate {
    /// A shell command run with `sh -c` in the level's directory; it passes when it exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Every object of the level's targets must be ready, and then stay ready this long.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration_text"
    )]
    pub ready_for: Option<Duration>,
    /// How long the gate may take in all.
    #[serde(with = "duration_text::required")]
    pub timeout: Duration,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(d) = self.ready_for {
            parts.push(format!("every object ready for {}", format_duration(d)));
        }
        if let Some(c) = &self.command {
            parts.push(format!("`{c}` exits 0"));
        }
        write!(
            f,
            "{} (within {})",
            parts.join(", then "),
            format_duration(self.timeout)
        )
    }
}

/// A level's gate: the checks, and whose targets they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelGate {
    /// The stack root of the level.
    pub root: PathBuf,
    /// The level's path below the root (`staging`; empty for the root itself).
    pub level: String,
    /// The checks.
    pub gate: Gate,
    /// The charter.yaml that sets it.
    pub file: PathBuf,
    /// Its line.
    pub line: usize,
}

impl LevelGate {
    /// The level's directory: where the command runs.
    pub fn dir(&self) -> PathBuf {
        if self.level.is_empty() {
            self.root.clone()
        } else {
            self.root.join(&self.level)
        }
    }

    /// Whether `t` is one of the targets it covers.
    pub fn covers(&self, t: &Target) -> bool {
        t.root == self.root && under(&t.name, &self.level)
    }

    /// The level as users name it.
    pub fn level_name(&self) -> &str {
        if self.level.is_empty() {
            "(stack root)"
        } else {
            &self.level
        }
    }
}

impl GateSpec {
    /// The gate it describes, or what is wrong with it.
    pub fn to_gate(&self) -> Result<Gate, String> {
        let duration = |what: &str, s: &Option<String>| {
            s.as_deref()
                .map(|s| parse_duration(s).map_err(|e| format!("gate `{what}`: {e}")))
                .transpose()
        };
        let ready_for = duration("readyFor", &self.ready_for)?;
        let timeout = duration("timeout", &self.timeout)?.unwrap_or(DEFAULT_GATE_TIMEOUT);
        let command = self.command.as_ref().map(|c| c.trim().to_string());
        if command.as_deref() == Some("") {
            return Err("gate `command` is empty; write the command to run, or remove it".into());
        }
        if command.is_none() && ready_for.is_none() {
            return Err(
                "a gate needs `command` (a shell command that must exit 0), `readyFor` (how long every object must stay ready), or both".into(),
            );
        }
        if ready_for.is_some_and(|r| r >= timeout) {
            return Err(format!(
                "gate `readyFor` ({}) is not shorter than its `timeout` ({}), so it could never pass; raise `timeout`",
                format_duration(ready_for.unwrap_or_default()),
                format_duration(timeout)
            ));
        }
        Ok(Gate {
            command,
            ready_for,
            timeout,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FullGate {
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    ready_for: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
}

impl<'de> Deserialize<'de> for GateSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GateSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a gate: a shell command, or a map with `command`, `readyFor` and `timeout`",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<GateSpec, E> {
                Ok(GateSpec {
                    command: Some(s.to_string()),
                    ready_for: None,
                    timeout: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GateSpec, A::Error> {
                let f = FullGate::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(GateSpec {
                    command: f.command,
                    ready_for: f.ready_for,
                    timeout: f.timeout,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `after:` as one string or a list of them.
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a level path below the stack root (e.g. `staging`), or a list of them")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Ok(vec![s.to_string()])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// Durations in the plan file as users write them (`60s`).
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::duration::{format_duration, parse_duration};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }

    pub mod required {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&format_duration(*d))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            parse_duration(&String::deserialize(d)?).map_err(serde::de::Error::custom)
        }
    }
}

/// An `after:` entry as a level path below the stack root (`staging`, `prod/eastus`), or why
/// it cannot be one.
pub fn level_path(written: &str, file: &Path, line: usize) -> Result<String, TargetError> {
    let refuse = |why: &str| TargetError::Rollout {
        path: file.to_path_buf(),
        line,
        message: format!(
            "`after: {written}` {why}; name a level by its path below the stack root, e.g. `staging` or `prod/eastus`"
        ),
    };
    let trimmed = written
        .trim()
        .trim_start_matches("./")
        .trim_end_matches('/');
    if trimmed.is_empty() {
        return Err(refuse("is empty"));
    }
    if trimmed.starts_with('/') {
        return Err(refuse("is an absolute path"));
    }
    let parts: Vec<&str> = trimmed
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(refuse("leaves the deploy tree (`..`)"));
    }
    Ok(parts.join("/"))
}

/// Whether the target `name` is at or below `level` (every target is below the root, `""`).
pub fn under(name: &str, level: &str) -> bool {
    level.is_empty()
        || name == level
        || name
            .strip_prefix(level)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The targets of a deploy tree in waves.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// The waves, in the order they run.
    pub waves: Vec<Wave>,
    /// Every gate of the tree, whether or not a target of this rollout is below it.
    gates: Vec<LevelGate>,
}

/// Targets that go together, then the gates that must pass before the next wave.
#[derive(Debug, Clone)]
pub struct Wave {
    /// Its number: waves run in increasing number.
    pub number: u32,
    /// Its targets, in the tree's order.
    pub targets: Vec<Target>,
    /// The gates of the levels whose last targets are in this wave.
    pub gates: Vec<LevelGate>,
}

impl Rollout {
    /// Orders `targets` by their `wave:` and `after:` settings. An `after:` naming no level of
    /// the tree, or `after:` entries that wait for each other in a loop, are refused naming
    /// their charter.yaml files.
    pub fn plan(targets: Vec<Target>) -> Result<Rollout, TargetError> {
        let preds = predecessors(&targets)?;
        let waves = wave_numbers(&targets, &preds)?;
        let gates = distinct_gates(&targets);
        Ok(Rollout::assemble(
            targets.into_iter().zip(waves).collect(),
            gates,
        ))
    }

    /// A rollout with the waves given (`apply --plan`: the plan's waves).
    pub fn from_waves(items: Vec<(Target, u32)>, gates: Vec<LevelGate>) -> Rollout {
        Rollout::assemble(items, gates)
    }

    fn assemble(items: Vec<(Target, u32)>, gates: Vec<LevelGate>) -> Rollout {
        let mut by_wave: BTreeMap<u32, Vec<Target>> = BTreeMap::new();
        for (t, w) in items {
            by_wave.entry(w).or_default().push(t);
        }
        let mut waves: Vec<Wave> = by_wave
            .into_iter()
            .map(|(number, mut targets)| {
                targets.sort_by(|a, b| (&a.name, &a.dir).cmp(&(&b.name, &b.dir)));
                Wave {
                    number,
                    targets,
                    gates: Vec::new(),
                }
            })
            .collect();
        for g in &gates {
            let last = waves
                .iter_mut()
                .rev()
                .find(|w| w.targets.iter().any(|t| g.covers(t)));
            if let Some(w) = last {
                w.gates.push(g.clone());
            }
        }
        Rollout { waves, gates }
    }

    /// Every gate of the tree.
    pub fn all_gates(&self) -> &[LevelGate] {
        &self.gates
    }

    /// Every target, wave by wave.
    pub fn targets(&self) -> impl Iterator<Item = (u32, &Target)> {
        self.waves
            .iter()
            .flat_map(|w| w.targets.iter().map(move |t| (w.number, t)))
    }

    /// The waves up to and including `until`: a wave number, or a level or target (the last
    /// wave that holds a target below it). Names nothing: an error listing what exists.
    pub fn until(self, until: &str) -> Result<Rollout, String> {
        let last = match until.trim().parse::<u32>() {
            Ok(n) => {
                if self.waves.first().is_none_or(|w| w.number > n) {
                    return Err(format!(
                        "no wave is numbered {n} or lower; the waves are {}",
                        self.wave_numbers()
                    ));
                }
                n
            }
            Err(_) => {
                let level = normalize(until);
                self.targets()
                    .filter(|(_, t)| under(&t.name, &level))
                    .map(|(w, _)| w)
                    .max()
                    .ok_or_else(|| {
                        format!(
                            "`{until}` is neither a wave number ({}) nor a level or target of this rollout ({})",
                            self.wave_numbers(),
                            self.level_names()
                        )
                    })?
            }
        };
        let items = self
            .targets()
            .filter(|(w, _)| *w <= last)
            .map(|(w, t)| (t.clone(), w))
            .collect();
        Ok(Rollout::assemble(items, self.gates))
    }

    /// Only the targets at or below the levels `names` (each a level or target path below the
    /// stack root), keeping their waves. A name that matches no target is an error.
    pub fn only(self, names: &[String]) -> Result<Rollout, String> {
        let levels: Vec<String> = names.iter().map(|n| normalize(n)).collect();
        for (written, level) in names.iter().zip(&levels) {
            if !self.targets().any(|(_, t)| under(&t.name, level)) {
                return Err(format!(
                    "`{written}` names no target or level of this rollout; they are: {}",
                    self.level_names()
                ));
            }
        }
        let items = self
            .targets()
            .filter(|(_, t)| levels.iter().any(|l| under(&t.name, l)))
            .map(|(w, t)| (t.clone(), w))
            .collect();
        Ok(Rollout::assemble(items, self.gates))
    }

    fn wave_numbers(&self) -> String {
        let n: Vec<String> = self.waves.iter().map(|w| w.number.to_string()).collect();
        n.join(", ")
    }

    /// Every level and target name of the rollout, shortest first.
    fn level_names(&self) -> String {
        let mut names: Vec<String> = Vec::new();
        for (_, t) in self.targets() {
            let parts: Vec<&str> = t.name.split('/').collect();
            for i in 1..=parts.len() {
                let n = parts[..i].join("/");
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names.sort_by(|a, b| (a.matches('/').count(), a).cmp(&(b.matches('/').count(), b)));
        names.join(", ")
    }
}

fn normalize(name: &str) -> String {
    name.trim()
        .trim_start_matches("./")
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// An edge: the target waits for `on` because of `after`.
struct Edge<'a> {
    on: usize,
    after: &'a Setting<String>,
}

/// For each target, the targets it comes after.
fn predecessors(targets: &[Target]) -> Result<Vec<Vec<Edge<'_>>>, TargetError> {
    let mut by_root: HashMap<&Path, Vec<usize>> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        by_root.entry(&t.root).or_default().push(i);
    }
    let mut preds = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        let mut edges = Vec::new();
        for a in &t.after {
            if !t.root.join(&a.value).is_dir() {
                return Err(TargetError::Rollout {
                    path: a.file.clone(),
                    line: a.line,
                    message: format!(
                        "`after: {}` names no level of the deploy tree {}: there is no directory {}. {}",
                        a.value,
                        t.root.display(),
                        t.root.join(&a.value).display(),
                        existing_levels(&t.root),
                    ),
                });
            }
            for &j in &by_root[t.root.as_path()] {
                if under(&targets[j].name, &a.value) {
                    edges.push(Edge { on: j, after: a });
                }
            }
        }
        if let Some(e) = edges.iter().find(|e| e.on == i) {
            return Err(TargetError::WaveCycle {
                cycle: format!(
                    "{} comes after `{}` ({}), which holds {} itself",
                    t.name,
                    e.after.value,
                    e.after.at(),
                    t.name
                ),
            });
        }
        preds.push(edges);
    }
    Ok(preds)
}

/// What a level path may name at the top of a tree, for an error message.
fn existing_levels(root: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    if names.is_empty() {
        "The stack root has no levels below it".into()
    } else {
        format!("The levels at the top are: {}", names.join(", "))
    }
}

/// Each target's wave: the larger of its `wave:` and one more than the wave of every target it
/// comes after. A loop of `after:` edges is an error that walks the loop.
fn wave_numbers(targets: &[Target], preds: &[Vec<Edge<'_>>]) -> Result<Vec<u32>, TargetError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done(u32),
    }
    let mut marks = vec![Mark::New; targets.len()];
    for start in 0..targets.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Depth-first without recursion: (target, next edge to follow).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::OnPath;
        while let Some(top) = path.last_mut() {
            let t = top.0;
            if let Some(edge) = preds[t].get(top.1) {
                top.1 += 1;
                match marks[edge.on] {
                    Mark::New => {
                        marks[edge.on] = Mark::OnPath;
                        path.push((edge.on, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|(p, _)| *p == edge.on).unwrap_or(0);
                        let steps: Vec<String> = path[from..]
                            .iter()
                            .map(|&(p, n)| {
                                // The edge just taken from p is its (n - 1)th.
                                let e = &preds[p][n.saturating_sub(1)];
                                format!(
                                    "{} comes after `{}` ({}), which holds {}",
                                    targets[p].name,
                                    e.after.value,
                                    e.after.at(),
                                    targets[e.on].name
                                )
                            })
                            .collect();
                        return Err(TargetError::WaveCycle {
                            cycle: steps.join("; "),
                        });
                    }
                    Mark::Done(_) => {}
                }
            } else {
                let own = targets[t].wave.as_ref().map_or(0, |w| w.value);
                let wave = preds[t]
                    .iter()
                    .map(|e| match marks[e.on] {
                        Mark::Done(w) => w.saturating_add(1),
                        _ => 0,
                    })
                    .fold(own, u32::max);
                marks[t] = Mark::Done(wave);
                path.pop();
            }
        }
    }
    Ok(marks
        .into_iter()
        .map(|m| match m {
            Mark::Done(w) => w,
            _ => 0,
        })
        .collect())
}

/// Each level's gate once (every target below a level carries its gate).
fn distinct_gates(targets: &[Target]) -> Vec<LevelGate> {
    let mut out: Vec<LevelGate> = Vec::new();
    for g in targets.iter().flat_map(|t| &t.gates) {
        if !out.iter().any(|o| o.file == g.file) {
            out.push(g.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{leaves, resolve};

    /// A tree of `envs` × `regions` below `app/`, with charter.yaml extras per level.
    fn tree(levels: &[(&str, &str)]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let w = |p: &str, c: &str| {
            let p = t.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        };
        w(".git/HEAD", "");
        w(
            "chart/Chart.yaml",
            "apiVersion: charter/v1\nname: c\nversion: 1.0.0\n",
        );
        w("app/charter.yaml", "chart: ../chart\n");
        for env in ["dev", "staging", "prod"] {
            for region in ["eastus", "westus"] {
                w(&format!("app/{env}/{region}/values.yaml"), "a: 1\n");
            }
        }
        for (level, extra) in levels {
            let file = format!("app/{level}/charter.yaml").replace("//", "/");
            let old = std::fs::read_to_string(t.path().join(&file)).unwrap_or_default();
            w(&file, &format!("{old}{extra}"));
        }
        t
    }

    fn rollout_of(t: &tempfile::TempDir) -> Result<Rollout, TargetError> {
        let targets = leaves(&t.path().join("app"))
            .unwrap()
            .iter()
            .map(|l| resolve(l))
            .collect::<Result<Vec<_>, _>>()?;
        Rollout::plan(targets)
    }

    fn shape(r: &Rollout) -> Vec<(u32, Vec<String>)> {
        r.waves
            .iter()
            .map(|w| (w.number, w.targets.iter().map(|t| t.name.clone()).collect()))
            .collect()
    }

    fn s(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn without_settings_every_target_is_in_wave_0_in_tree_order() {
        let t = tree(&[]);
        let r = rollout_of(&t).unwrap();
        assert_eq!(
            shape(&r),
            [(
                0,
                s(&[
                    "dev/eastus",
                    "dev/westus",
                    "prod/eastus",
                    "prod/westus",
                    "staging/eastus",
                    "staging/westus"
                ])
            )]
        );
    }

    #[test]
    fn after_chains_make_waves_and_a_deeper_level_adds_its_own() {
        // dev -> staging -> prod, and within prod eastus (the canary) before westus.
        let t = tree(&[
            ("staging", "after: dev\n"),
            ("prod", "after: [staging]\n"),
            ("prod/westus", "after:\n  - prod/eastus\n"),
        ]);
        let r = rollout_of(&t).unwrap();
        assert_eq!(
            shape(&r),
            [
                (0, s(&["dev/eastus", "dev/westus"])),
                (1, s(&["staging/eastus", "staging/westus"])),
                (2, s(&["prod/eastus"])),
                (3, s(&["prod/westus"])),
            ]
        );
    }

    #[test]
    fn wave_numbers_and_after_combine() {
        let t = tree(&[
            ("dev", "wave: 1\n"),
            ("staging", "wave: 5\n"),
            // After staging, so at least 6, though it says 2.
            ("prod", "wave: 2\nafter: staging\n"),
            ("prod/westus", "wave: 9\n"),
        ]);
        let r = rollout_of(&t).unwrap();
        assert_eq!(
            shape(&r),
            [
                (1, s(&["dev/eastus", "dev/westus"])),
                (5, s(&["staging/eastus", "staging/westus"])),
                (6, s(&["prod/eastus"])),
                (9, s(&["prod/westus"])),
            ]
        );
    }

    #[test]
    fn a_cycle_is_refused_naming_each_step_and_file() {
        let t = tree(&[
            ("staging", "after: prod\n"),
            ("prod", "# prod goes last\nafter: [dev, staging]\n"),
        ]);
        let err = rollout_of(&t).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, TargetError::WaveCycle { .. }), "{msg}");
        let staging = t.path().join("app/staging/charter.yaml");
        let prod = t.path().join("app/prod/charter.yaml");
        assert!(
            msg.contains(&format!("after `prod` ({}:1)", staging.display()))
                && msg.contains(&format!("after `staging` ({}:2)", prod.display())),
            "{msg}"
        );
        // A level that waits for itself.
        let t = tree(&[("prod", "after: prod\n")]);
        let msg = rollout_of(&t).unwrap_err().to_string();
        assert!(msg.contains("which holds prod/eastus itself"), "{msg}");
    }

    #[test]
    fn after_naming_no_level_is_refused_with_file_and_line() {
        let t = tree(&[("prod", "after:\n  - dev\n  - stageing\n")]);
        let msg = rollout_of(&t).unwrap_err().to_string();
        let prod = t.path().join("app/prod/charter.yaml");
        assert!(
            msg.starts_with(&format!(
                "{}:3: `after: stageing` names no level",
                prod.display()
            )) && msg.contains("dev, prod, staging"),
            "{msg}"
        );
        let t = tree(&[("prod", "after: ../other\n")]);
        let msg = rollout_of(&t).unwrap_err().to_string();
        assert!(msg.contains("leaves the deploy tree"), "{msg}");
    }

    #[test]
    fn gates_run_after_the_last_wave_of_their_level() {
        let t = tree(&[
            ("staging", "after: dev\ngate: ./smoke-test.sh\n"),
            (
                "prod",
                "after: staging\ngate:\n  readyFor: 30s\n  command: charter test app\n",
            ),
            ("prod/westus", "after: prod/eastus\n"),
        ]);
        let r = rollout_of(&t).unwrap();
        let gates: Vec<(u32, String, String)> = r
            .waves
            .iter()
            .flat_map(|w| {
                w.gates
                    .iter()
                    .map(move |g| (w.number, g.level.clone(), g.gate.to_string()))
            })
            .collect();
        assert_eq!(
            gates,
            [
                (
                    1,
                    "staging".to_string(),
                    "`./smoke-test.sh` exits 0 (within 600s)".to_string()
                ),
                (
                    3,
                    "prod".to_string(),
                    "every object ready for 30s, then `charter test app` exits 0 (within 600s)"
                        .to_string()
                ),
            ]
        );
        assert_eq!(r.waves[1].gates[0].dir(), t.path().join("app/staging"));
        // --only moves prod's gate to the last wave holding a chosen prod target.
        let only = r.only(&s(&["prod/eastus", "staging"])).unwrap();
        assert_eq!(only.waves.len(), 2, "{:?}", shape(&only));
        assert_eq!(only.waves[1].number, 2);
        assert_eq!(only.waves[1].gates[0].level, "prod");
        assert_eq!(only.waves[0].gates[0].level, "staging");
    }

    #[test]
    fn malformed_gates_are_refused_with_file_and_line() {
        for (gate, want) in [
            ("gate:\n  timeout: 5m\n", "a gate needs `command`"),
            ("gate:\n  readyFor: soon\n", "`soon` is not a duration"),
            (
                "gate:\n  readyFor: 10m\n  timeout: 5m\n",
                "could never pass",
            ),
            ("gate:\n  comand: x\n", "comand"),
        ] {
            let t = tree(&[("prod", &format!("wave: 1\n{gate}"))]);
            let msg = rollout_of(&t).unwrap_err().to_string();
            let prod = t.path().join("app/prod/charter.yaml");
            assert!(
                msg.starts_with(&prod.display().to_string()) && msg.contains(want),
                "{gate}: {msg}"
            );
            if !gate.contains("comand") {
                assert!(msg.contains("charter.yaml:2:"), "{msg}");
            }
        }
    }

    #[test]
    fn until_and_only_select_waves_and_targets() {
        let t = tree(&[("staging", "after: dev\n"), ("prod", "after: staging\n")]);
        let r = rollout_of(&t).unwrap();
        let until = r.clone().until("staging").unwrap();
        assert_eq!(
            shape(&until),
            [
                (0, s(&["dev/eastus", "dev/westus"])),
                (1, s(&["staging/eastus", "staging/westus"])),
            ]
        );
        assert_eq!(shape(&r.clone().until("0").unwrap()).len(), 1);
        assert_eq!(shape(&r.clone().until("7").unwrap()).len(), 3);
        let err = r.clone().until("qa").unwrap_err();
        assert!(
            err.contains("0, 1, 2") && err.contains("dev, prod, staging, dev/eastus"),
            "{err}"
        );
        let only = r.clone().only(&s(&["prod/westus", "dev"])).unwrap();
        assert_eq!(
            shape(&only),
            [
                (0, s(&["dev/eastus", "dev/westus"])),
                (2, s(&["prod/westus"]))
            ]
        );
        let err = r.only(&s(&["prod/northpole"])).unwrap_err();
        assert!(err.contains("`prod/northpole` names no target"), "{err}");
    }
}
