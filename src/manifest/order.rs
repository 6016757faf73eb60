//! Ordering a release's objects into stages from charter's ordering annotations, for Helm and
//! Tera charts alike:
//!
//! - `charter.dev/weight: "N"` (an integer, default 0): lower weights are applied first; objects
//!   of one weight are applied together, and all of them are ready before a higher weight
//!   starts.
//! - `charter.dev/depends-on: "Kind/name[=ready|present], ..."` (`Kind/namespace/name` where a
//!   name alone is ambiguous): the object is applied only once each target exists (`present`)
//!   or is ready (`ready`, the default). Targets are objects of the same release.
//! - `charter.dev/depends-on-external: "Kind[.group]/[namespace/]name[=ready|present], ..."`:
//!   the same for objects outside the release (another release's database, a Secret an
//!   operator makes), looked up when the object's group is about to be applied.
//!
//! A chart without either annotation keeps the order it always had (CRDs, Namespaces, then
//! everything else at once), and costs only a substring search per document. CRDs and
//! Namespaces without annotations go first, as without ordering: other objects need them.
//!
//! Everything here is pure and runs when a chart is rendered, so a bad weight, an unknown
//! target or a cycle is reported before anything is applied.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Manifest;
use crate::object::ObjectRef;

/// The weight annotation.
pub const ANNOTATION_WEIGHT: &str = "charter.dev/weight";
/// The dependency annotation.
pub const ANNOTATION_DEPENDS_ON: &str = "charter.dev/depends-on";
/// The annotation of dependencies outside the release.
pub const ANNOTATION_DEPENDS_ON_EXTERNAL: &str = "charter.dev/depends-on-external";

/// What a dependency waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The target exists.
    Present,
    /// The target is ready.
    Ready,
}

/// One object to order: identity, where it was rendered, and its ordering annotations.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The object (namespace as known: as rendered, or resolved by a deploy).
    pub item: ObjectRef,
    /// The template (or revision) it came from.
    pub source: String,
    /// Its line in the rendered output; 0 when unknown.
    pub line: usize,
    /// `charter.dev/weight`, as written.
    pub weight: Option<String>,
    /// `charter.dev/depends-on`, as written.
    pub depends_on: Option<String>,
    /// `charter.dev/depends-on-external`, as written.
    pub depends_on_external: Option<String>,
}

impl Entry {
    /// The entry of an object: its annotations read from the object itself.
    pub fn of_object(item: &ObjectRef, obj: &Value, source: &str, line: usize) -> Entry {
        let annotation = |key: &str| {
            let v = obj.pointer("/metadata/annotations")?.get(key)?;
            Some(match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        Entry {
            item: item.clone(),
            source: source.to_string(),
            line,
            weight: annotation(ANNOTATION_WEIGHT),
            depends_on: annotation(ANNOTATION_DEPENDS_ON),
            depends_on_external: annotation(ANNOTATION_DEPENDS_ON_EXTERNAL),
        }
    }

    fn annotated(&self) -> bool {
        self.weight.is_some() || self.depends_on.is_some() || self.depends_on_external.is_some()
    }

    fn at(&self) -> String {
        let what = format!("{}/{}", self.item.kind, self.item.name);
        match self.line {
            0 => format!("{} ({what})", self.source),
            n => format!("{}:{n} ({what})", self.source),
        }
    }
}

/// The entries of rendered manifests. Only documents that mention an ordering annotation are
/// parsed; a document that does not parse is left to the checks that report it.
pub fn entries(manifests: &[&Manifest]) -> Vec<Entry> {
    manifests
        .iter()
        .map(|m| {
            let text = m.text();
            let obj = if text.contains(ANNOTATION_WEIGHT) || text.contains(ANNOTATION_DEPENDS_ON) {
                crate::yaml::parse_str(text, &m.source).unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            Entry::of_object(&m.header, &obj, &m.source, m.line)
        })
        .collect()
}

/// A group of objects applied together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The weight of its objects; `None` for the leading CRDs and Namespaces.
    pub weight: Option<i64>,
    /// Indices of its objects into the entries, in their order there.
    pub members: Vec<usize>,
    /// The objects (indices) that must be ready before the next stage starts: all objects of a
    /// weight before a higher weight, else the targets of `ready` dependencies.
    pub wait: Vec<usize>,
    /// What this stage waits for among earlier stages, for display: `Kind/name=need`.
    pub after: Vec<String>,
    /// Objects outside the release its objects need, waited for before it is applied.
    pub external: Vec<External>,
}

/// An object outside the release that an object depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// Its kind, as written (matched case-insensitively).
    pub kind: String,
    /// Its API group, when written (`Certificate.cert-manager.io`).
    pub group: Option<String>,
    /// Its namespace; `None`: the release's (or none, for a cluster-scoped kind).
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Present or ready.
    pub need: Need,
    /// The dependent object and where it was rendered, for errors.
    pub from: String,
}

impl External {
    /// `Kind/namespace/name=need` as written, for messages.
    pub fn display(&self) -> String {
        let kind = match &self.group {
            Some(g) => format!("{}.{g}", self.kind),
            None => self.kind.clone(),
        };
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!("{kind}/{ns}{}={}", self.name, self.need.word())
    }
}

impl Need {
    fn word(self) -> &'static str {
        match self {
            Need::Ready => "ready",
            Need::Present => "present",
        }
    }
}

/// One parsed dependency: kind, namespace, name, need.
type Target<'a> = (&'a str, Option<&'a str>, &'a str, Need);

/// Reads one dependency entry, `Kind/name` or `Kind/namespace/name`, with an optional
/// `=ready` or `=present`; the error says what is wrong.
fn parse_target(raw: &str) -> Result<Target<'_>, String> {
    let (target, need) = match raw.split_once('=') {
        None => (raw, Need::Ready),
        Some((t, "ready")) => (t.trim(), Need::Ready),
        Some((t, "present")) => (t.trim(), Need::Present),
        Some((_, other)) => return Err(format!("{other:?} is neither ready nor present")),
    };
    let parts: Vec<&str> = target.split('/').map(str::trim).collect();
    let (kind, ns, name) = match parts.as_slice() {
        [k, n] => (*k, None, *n),
        [k, ns, n] => (*k, Some(*ns), *n),
        _ => return Err("not Kind/name or Kind/namespace/name".into()),
    };
    if kind.is_empty() || name.is_empty() || ns.is_some_and(str::is_empty) {
        return Err("an empty kind, namespace or name".into());
    }
    Ok((kind, ns, name, need))
}

/// The entries of a comma-separated dependency annotation, blanks skipped.
fn dependency_entries(annotation: Option<&String>) -> impl Iterator<Item = &str> {
    annotation
        .into_iter()
        .flat_map(|d| d.split(','))
        .map(str::trim)
        .filter(|raw| !raw.is_empty())
}

/// Why the ordering annotations cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A weight that is not an integer.
    #[error(
        "{at}: {ANNOTATION_WEIGHT} is {value:?}, not an integer; write a whole number such as \"10\" or \"-5\""
    )]
    Weight {
        /// Where.
        at: String,
        /// The value written.
        value: String,
    },
    /// A dependency that cannot be read.
    #[error(
        "{at}: {ANNOTATION_DEPENDS_ON} entry {entry:?}: {why}; write Kind/name or Kind/namespace/name, optionally followed by =ready (the default) or =present, entries separated by commas"
    )]
    Syntax {
        /// Where.
        at: String,
        /// The entry.
        entry: String,
        /// What is wrong.
        why: String,
    },
    /// A dependency naming no object of the release.
    #[error(
        "{at}: {ANNOTATION_DEPENDS_ON} names {target}, which is not an object of this release{hint}"
    )]
    Unknown {
        /// Where.
        at: String,
        /// The target as written.
        target: String,
        /// Objects of that name, if any.
        hint: String,
    },
    /// A dependency naming several objects.
    #[error(
        "{at}: {ANNOTATION_DEPENDS_ON} names {target}, which matches {matches}; write Kind/namespace/name"
    )]
    Ambiguous {
        /// Where.
        at: String,
        /// The target as written.
        target: String,
        /// The objects it matches.
        matches: String,
    },
    /// Dependencies that form a cycle.
    #[error("{ANNOTATION_DEPENDS_ON} forms a cycle: {cycle}; remove one of these dependencies")]
    Cycle {
        /// The objects of the cycle, each with where it was rendered, first repeated last.
        cycle: String,
    },
    /// A dependency on an object of a higher weight.
    #[error(
        "{at}: has weight {weight} but depends on {target} of weight {target_weight}, which lower weights come before; give it weight {target_weight} or more"
    )]
    Backwards {
        /// Where.
        at: String,
        /// Its weight.
        weight: i64,
        /// The target.
        target: String,
        /// The target's weight.
        target_weight: i64,
    },
}

/// The stages of `entries`, or `None` when no object carries an ordering annotation (the
/// deploy keeps its usual order). `default_ns` is the namespace of objects rendered without
/// one, for targets written `Kind/namespace/name`.
pub fn stages(
    entries: &[Entry],
    default_ns: Option<&str>,
) -> Result<Option<Vec<Stage>>, OrderError> {
    if !entries.iter().any(Entry::annotated) {
        return Ok(None);
    }
    let mut weights = Vec::with_capacity(entries.len());
    for e in entries {
        weights.push(match &e.weight {
            None => 0,
            Some(w) => w.trim().parse::<i64>().map_err(|_| OrderError::Weight {
                at: e.at(),
                value: w.clone(),
            })?,
        });
    }
    let leading: Vec<bool> = entries
        .iter()
        .map(|e| {
            !e.annotated()
                && matches!(
                    e.item.kind.as_str(),
                    "CustomResourceDefinition" | "Namespace"
                )
        })
        .collect();
    let deps = dependencies(entries, default_ns)?;
    let outside = externals(entries)?;
    find_cycle(entries, &deps)?;
    for (i, ds) in deps.iter().enumerate() {
        for &(j, _) in ds {
            if !leading[j] && weights[j] > weights[i] {
                return Err(OrderError::Backwards {
                    at: entries[i].at(),
                    weight: weights[i],
                    target: entries[j].item.display(),
                    target_weight: weights[j],
                });
            }
        }
    }
    // Depth within a weight: one more than the deepest same-weight target.
    let mut depth: Vec<Option<usize>> = vec![None; entries.len()];
    fn depth_of(
        i: usize,
        deps: &[Vec<(usize, Need)>],
        same: &dyn Fn(usize, usize) -> bool,
        memo: &mut [Option<usize>],
    ) -> usize {
        if let Some(d) = memo[i] {
            return d;
        }
        let d = deps[i]
            .iter()
            .filter(|(j, _)| same(i, *j))
            .map(|&(j, _)| depth_of(j, deps, same, memo) + 1)
            .max()
            .unwrap_or(0);
        memo[i] = Some(d);
        d
    }
    let same = |i: usize, j: usize| !leading[j] && weights[i] == weights[j];
    let mut keyed: BTreeMap<(i64, usize), Vec<usize>> = BTreeMap::new();
    let mut first = Vec::new();
    for i in 0..entries.len() {
        if leading[i] {
            first.push(i);
        } else {
            let d = depth_of(i, &deps, &same, &mut depth);
            keyed.entry((weights[i], d)).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    if !first.is_empty() {
        out.push(Stage {
            weight: None,
            members: first,
            wait: Vec::new(),
            after: Vec::new(),
            external: Vec::new(),
        });
    }
    let keys: Vec<(i64, usize)> = keyed.keys().copied().collect();
    for (n, key) in keys.iter().enumerate() {
        let members = keyed[key].clone();
        let weight_ends = keys.get(n + 1).is_some_and(|next| next.0 != key.0);
        let wait = if weight_ends {
            keyed
                .iter()
                .filter(|(k, _)| k.0 == key.0)
                .flat_map(|(_, m)| m.iter().copied())
                .collect()
        } else if n + 1 < keys.len() {
            members
                .iter()
                .copied()
                .filter(|&j| {
                    deps.iter()
                        .flatten()
                        .any(|&(t, need)| t == j && need == Need::Ready)
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut after: Vec<String> = members
            .iter()
            .flat_map(|&i| deps[i].iter())
            .map(|&(j, need)| {
                format!(
                    "{}/{}={}",
                    entries[j].item.kind,
                    entries[j].item.name,
                    need.word()
                )
            })
            .collect();
        let external: Vec<External> = members
            .iter()
            .flat_map(|&i| outside[i].iter().cloned())
            .collect();
        after.extend(
            external
                .iter()
                .map(|x| format!("{} (outside the release)", x.display())),
        );
        after.sort();
        after.dedup();
        out.push(Stage {
            weight: Some(key.0),
            members,
            wait,
            after,
            external,
        });
    }
    Ok(Some(out))
}

/// Each entry's dependencies as (target index, need).
fn dependencies(
    entries: &[Entry],
    default_ns: Option<&str>,
) -> Result<Vec<Vec<(usize, Need)>>, OrderError> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let mut ds = Vec::new();
        for raw in dependency_entries(e.depends_on.as_ref()) {
            let (kind, ns, name, need) = parse_target(raw).map_err(|why| OrderError::Syntax {
                at: e.at(),
                entry: raw.to_string(),
                why,
            })?;
            let target = raw.split_once('=').map_or(raw, |(t, _)| t.trim());
            let matches: Vec<usize> = entries
                .iter()
                .enumerate()
                .filter(|(_, c)| c.item.kind.eq_ignore_ascii_case(kind) && c.item.name == name)
                .filter(|(_, c)| {
                    ns.is_none_or(|ns| c.item.namespace.as_deref().or(default_ns) == Some(ns))
                })
                .map(|(j, _)| j)
                .collect();
            match matches.as_slice() {
                [j] => ds.push((*j, need)),
                [] => {
                    let same_name: Vec<String> = entries
                        .iter()
                        .filter(|c| c.item.name == name)
                        .map(|c| c.item.display())
                        .collect();
                    return Err(OrderError::Unknown {
                        at: e.at(),
                        target: target.to_string(),
                        hint: if same_name.is_empty() {
                            String::new()
                        } else {
                            format!(" (objects of that name: {})", same_name.join(", "))
                        },
                    });
                }
                many => {
                    return Err(OrderError::Ambiguous {
                        at: e.at(),
                        target: target.to_string(),
                        matches: many
                            .iter()
                            .map(|&j| entries[j].item.display())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        out.push(ds);
    }
    Ok(out)
}

/// Each entry's dependencies outside the release.
fn externals(entries: &[Entry]) -> Result<Vec<Vec<External>>, OrderError> {
    entries
        .iter()
        .map(|e| {
            dependency_entries(e.depends_on_external.as_ref())
                .map(|raw| {
                    let (kind, ns, name, need) =
                        parse_target(raw).map_err(|why| OrderError::Syntax {
                            at: e.at(),
                            entry: raw.to_string(),
                            why: format!("{why} (in {ANNOTATION_DEPENDS_ON_EXTERNAL})"),
                        })?;
                    let (kind, group) = match kind.split_once('.') {
                        Some((k, g)) => (k, Some(g.to_string())),
                        None => (kind, None),
                    };
                    Ok(External {
                        kind: kind.to_string(),
                        group,
                        namespace: ns.map(str::to_string),
                        name: name.to_string(),
                        need,
                        from: e.at(),
                    })
                })
                .collect()
        })
        .collect()
}

/// The first dependency cycle found, as an error listing its objects.
fn find_cycle(entries: &[Entry], deps: &[Vec<(usize, Need)>]) -> Result<(), OrderError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; entries.len()];
    for start in 0..entries.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: the path so far, each with the next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(&mut (node, ref mut edge)) = path.last_mut() {
            match deps[node].get(*edge) {
                Some(&(next, _)) => {
                    *edge += 1;
                    match mark[next] {
                        Mark::New => {
                            mark[next] = Mark::Open;
                            path.push((next, 0));
                        }
                        Mark::Open => {
                            let from = path.iter().position(|&(n, _)| n == next).unwrap_or(0);
                            let mut cycle: Vec<String> =
                                path[from..].iter().map(|&(n, _)| entries[n].at()).collect();
                            cycle.push(entries[next].at());
                            return Err(OrderError::Cycle {
                                cycle: cycle.join(" -> "),
                            });
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[node] = Mark::Done;
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

/// Objects' entries and the stages that index them.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The objects.
    pub entries: Vec<Entry>,
    /// Their stages, in order.
    pub stages: Vec<Stage>,
}

impl Staged {
    /// The stages of rendered manifests, `None` without ordering annotations.
    pub fn of_manifests(
        manifests: &[&Manifest],
        default_ns: Option<&str>,
    ) -> Result<Option<Staged>, OrderError> {
        let mentions = |m: &&&Manifest| {
            let text = m.text();
            text.contains(ANNOTATION_WEIGHT) || text.contains(ANNOTATION_DEPENDS_ON)
        };
        if !manifests.iter().any(|m| mentions(&m)) {
            return Ok(None);
        }
        Staged::of_entries(entries(manifests), default_ns)
    }

    /// The stages of `entries`, `None` without ordering annotations.
    pub fn of_entries(
        entries: Vec<Entry>,
        default_ns: Option<&str>,
    ) -> Result<Option<Staged>, OrderError> {
        Ok(stages(&entries, default_ns)?.map(|stages| Staged { entries, stages }))
    }

    /// One line per stage ([`describe`]).
    pub fn describe(&self) -> Vec<String> {
        describe(&self.stages, &self.entries)
    }
}

/// One line per stage, for progress, diff and plan: `2/3 weight 0, after Deployment/db=ready:
/// Deployment/web, Service/web`.
pub fn describe(stages: &[Stage], entries: &[Entry]) -> Vec<String> {
    stages
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let objects: Vec<String> = s
                .members
                .iter()
                .map(|&i| format!("{}/{}", entries[i].item.kind, entries[i].item.name))
                .collect();
            let weight = match s.weight {
                None => "CRDs and Namespaces".to_string(),
                Some(w) => format!("weight {w}"),
            };
            let after = if s.after.is_empty() {
                String::new()
            } else {
                format!(", after {}", s.after.join(", "))
            };
            format!(
                "{}/{} {weight}{after}: {}",
                n + 1,
                stages.len(),
                objects.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, name: &str, weight: Option<&str>, deps: Option<&str>) -> Entry {
        Entry {
            item: ObjectRef::new("v1", kind, Some("prod"), name),
            source: format!("app/templates/{name}.yaml"),
            line: 1,
            weight: weight.map(str::to_string),
            depends_on: deps.map(str::to_string),
            depends_on_external: None,
        }
    }

    fn members(stages: &[Stage], entries: &[Entry]) -> Vec<Vec<String>> {
        stages
            .iter()
            .map(|s| {
                s.members
                    .iter()
                    .map(|&i| entries[i].item.name.clone())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn without_annotations_there_is_no_ordering() {
        let e = [
            entry("ConfigMap", "a", None, None),
            entry("Namespace", "n", None, None),
        ];
        assert_eq!(stages(&e, None), Ok(None));
    }

    #[test]
    fn weights_make_groups_lowest_first_and_leading_namespaces_and_crds() {
        let e = [
            entry("Deployment", "web", Some("10"), None),
            entry("Namespace", "n", None, None),
            entry("Deployment", "db", Some("-5"), None),
            entry("ConfigMap", "cfg", None, None),
            entry("Service", "db", Some(" -5 "), None),
            entry("CustomResourceDefinition", "w", None, None),
        ];
        let s = stages(&e, None).unwrap().unwrap();
        assert_eq!(
            members(&s, &e),
            [vec!["n", "w"], vec!["db", "db"], vec!["cfg"], vec!["web"]]
        );
        assert_eq!(s[0].weight, None);
        assert_eq!(s[1].weight, Some(-5));
        // Each weight is waited ready before the next; the last is the deploy's own --wait.
        assert_eq!(s[1].wait, vec![2, 4]);
        assert_eq!(s[2].wait, vec![3]);
        assert!(s[3].wait.is_empty());
        assert_eq!(
            describe(&s, &e)[1],
            "2/4 weight -5: Deployment/db, Service/db"
        );
    }

    #[test]
    fn dependencies_split_a_weight_and_wait_only_for_ready_targets() {
        let e = [
            entry(
                "Deployment",
                "web",
                None,
                Some("Deployment/db, ConfigMap/cfg=present"),
            ),
            entry("Deployment", "db", None, None),
            entry("ConfigMap", "cfg", None, None),
            entry("Job", "smoke", None, Some("deployment/prod/web=ready")),
        ];
        let s = stages(&e, None).unwrap().unwrap();
        assert_eq!(
            members(&s, &e),
            [vec!["db", "cfg"], vec!["web"], vec!["smoke"]]
        );
        assert_eq!(s[0].wait, vec![1], "only db is needed ready");
        assert_eq!(s[1].wait, vec![0]);
        assert_eq!(s[1].after, ["ConfigMap/cfg=present", "Deployment/db=ready"]);
        assert_eq!(
            describe(&s, &e)[1],
            "2/3 weight 0, after ConfigMap/cfg=present, Deployment/db=ready: Deployment/web"
        );
    }

    #[test]
    fn a_lower_weight_may_be_depended_on_but_not_a_higher_one() {
        let e = [
            entry("Deployment", "web", Some("5"), Some("Deployment/db")),
            entry("Deployment", "db", Some("1"), None),
        ];
        let s = stages(&e, None).unwrap().unwrap();
        assert_eq!(members(&s, &e), [vec!["db"], vec!["web"]]);
        let e = [
            entry("Deployment", "web", None, Some("Deployment/db")),
            entry("Deployment", "db", Some("1"), None),
        ];
        let err = stages(&e, None).unwrap_err().to_string();
        assert_eq!(
            err,
            "app/templates/web.yaml:1 (Deployment/web): has weight 0 but depends on Deployment/prod/db of weight 1, which lower weights come before; give it weight 1 or more"
        );
    }

    #[test]
    fn bad_input_names_the_file_and_object() {
        let err = |e: &[Entry]| stages(e, Some("prod")).unwrap_err().to_string();
        assert_eq!(
            err(&[entry("Job", "migrate", Some("1.5"), None)]),
            "app/templates/migrate.yaml:1 (Job/migrate): charter.dev/weight is \"1.5\", not an integer; write a whole number such as \"10\" or \"-5\""
        );
        let unknown = err(&[
            entry("Deployment", "web", None, Some("Deployment/dbb")),
            entry("Service", "dbb", None, None),
        ]);
        assert!(
            unknown.starts_with("app/templates/web.yaml:1 (Deployment/web): charter.dev/depends-on names Deployment/dbb, which is not an object of this release (objects of that name: Service/prod/dbb)"),
            "{unknown}"
        );
        assert!(
            err(&[entry(
                "Deployment",
                "web",
                None,
                Some("Deployment/other/web")
            )])
            .contains("not an object of this release")
        );
        let syntax = err(&[entry("Deployment", "web", None, Some("db"))]);
        assert!(syntax.contains("entry \"db\": not Kind/name"), "{syntax}");
        let need = err(&[entry(
            "Deployment",
            "web",
            None,
            Some("Deployment/web=done"),
        )]);
        assert!(
            need.contains("\"done\" is neither ready nor present"),
            "{need}"
        );
    }

    #[test]
    fn external_dependencies_hold_back_their_objects_group() {
        let mut web = entry("Deployment", "web", None, Some("ConfigMap/cfg"));
        web.depends_on_external =
            Some("Secret/platform/db-creds=present, Certificate.cert-manager.io/tls".into());
        let e = [web, entry("ConfigMap", "cfg", None, None)];
        let s = stages(&e, None).unwrap().unwrap();
        assert_eq!(s.len(), 2);
        assert!(s[0].external.is_empty());
        let x = &s[1].external;
        assert_eq!(
            (x[0].kind.as_str(), x[0].namespace.as_deref(), x[0].need),
            ("Secret", Some("platform"), Need::Present)
        );
        assert_eq!(
            (
                x[1].kind.as_str(),
                x[1].group.as_deref(),
                x[1].namespace.as_deref(),
                x[1].need
            ),
            ("Certificate", Some("cert-manager.io"), None, Need::Ready)
        );
        assert_eq!(
            describe(&s, &e)[1],
            "2/2 weight 0, after Certificate.cert-manager.io/tls=ready (outside the release), ConfigMap/cfg=ready, Secret/platform/db-creds=present (outside the release): Deployment/web"
        );
        let mut bad = entry("Deployment", "web", None, None);
        bad.depends_on_external = Some("Secret".into());
        assert!(
            stages(&[bad], None)
                .unwrap_err()
                .to_string()
                .contains("entry \"Secret\": not Kind/name or Kind/namespace/name (in charter.dev/depends-on-external)")
        );
    }

    #[test]
    fn cycles_are_named_whole() {
        let e = [
            entry("Deployment", "a", None, Some("Deployment/b")),
            entry("Deployment", "b", None, Some("Deployment/c")),
            entry("Deployment", "c", None, Some("Deployment/a")),
            entry("Deployment", "d", None, Some("Deployment/d")),
        ];
        assert_eq!(
            stages(&e, None).unwrap_err().to_string(),
            "charter.dev/depends-on forms a cycle: app/templates/a.yaml:1 (Deployment/a) -> app/templates/b.yaml:1 (Deployment/b) -> app/templates/c.yaml:1 (Deployment/c) -> app/templates/a.yaml:1 (Deployment/a); remove one of these dependencies"
        );
        let own = [entry("Deployment", "d", None, Some("Deployment/d"))];
        assert!(
            stages(&own, None)
                .unwrap_err()
                .to_string()
                .contains("(Deployment/d) -> app/templates/d.yaml:1 (Deployment/d)")
        );
    }

    #[test]
    fn ambiguous_names_need_a_namespace() {
        let mut other = entry("ConfigMap", "cfg", None, None);
        other.item.namespace = Some("other".into());
        let e = [
            entry("Deployment", "web", None, Some("ConfigMap/cfg")),
            entry("ConfigMap", "cfg", None, None),
            other,
        ];
        assert!(stages(&e, None).unwrap_err().to_string().contains(
            "matches ConfigMap/prod/cfg, ConfigMap/other/cfg; write Kind/namespace/name"
        ));
        let mut e = e;
        e[0].depends_on = Some("ConfigMap/other/cfg".into());
        let s = stages(&e, None).unwrap().unwrap();
        assert_eq!(s[0].wait, vec![2]);
    }

    #[test]
    fn annotations_are_read_from_rendered_documents_that_mention_them() {
        let m = Manifest::new(
            "app/templates/db.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\n  annotations:\n    charter.dev/weight: \"-3\"\n    charter.dev/depends-on: Secret/s=present\n",
            ObjectRef::new("v1", "ConfigMap", None, "db"),
        );
        let plain = Manifest::new(
            "app/templates/s.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
            ObjectRef::new("v1", "Secret", None, "s"),
        );
        let e = entries(&[&m, &plain]);
        assert_eq!(e[0].weight.as_deref(), Some("-3"));
        assert_eq!(e[0].depends_on.as_deref(), Some("Secret/s=present"));
        assert_eq!((e[1].weight.clone(), e[1].depends_on.clone()), (None, None));
        let w = Manifest::new(
            "app/templates/n.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n\n  annotations:\n    charter.dev/weight: 7\n",
            ObjectRef::new("v1", "ConfigMap", None, "n"),
        );
        assert_eq!(entries(&[&w])[0].weight.as_deref(), Some("7"));
    }
}
