//! A Helm chart's dependencies as Helm processes them before rendering (Helm v4's
//! `ProcessDependencies`, `pkg/chart/v2/util/dependencies.go`), in two steps:
//!
//! 1. [`expand_helm_dependencies`] (values do not matter): each Chart.yaml dependency takes a
//!    copy of the chart under `charts/` of its name whose version satisfies its range, named
//!    after its `alias` if it has one (so one chart can be used twice); charts no dependency
//!    takes stay under their own names; a dependency of the top chart with no chart of its name
//!    under `charts/` is an error (Helm's "found in Chart.yaml, but missing in charts/").
//! 2. [`prune_helm_dependencies`]: with the values coalesced over every chart, `tags` and then
//!    `condition` decide which dependencies stay; the others leave the tree, and with them
//!    their templates and default values.
//!
//! As in Helm, a chart whose Chart.yaml lists no dependencies is not looked into: the charts
//! below it all stay, under their own names.
//!
//! One difference: Helm evaluates the conditions of a subchart's own dependencies on values
//! coalesced again at that level (with the subchart's defaults merged at the top); charter
//! evaluates every condition on the values coalesced once over the whole tree, which differs
//! only when a subchart's `values.yaml` sets a top-level `tags` map or a grandchild's own
//! defaults decide a condition under an alias.

use serde_json::Value;

use super::{Chart, ChartError, Constraint, parse_version_lenient};

/// The chart with its dependencies expanded as Helm expands them (module docs, step 1).
pub fn expand_helm_dependencies(chart: &Chart) -> Result<Chart, ChartError> {
    for dep in &chart.meta.dependencies {
        if !chart.subcharts.iter().any(|c| c.meta.name == dep.name) {
            return Err(ChartError::MissingDependency {
                chart: chart.meta.name.clone(),
                name: dep.name.clone(),
            });
        }
    }
    let mut out = expand(chart);
    out.set_display_paths();
    Ok(out)
}

fn expand(chart: &Chart) -> Chart {
    let mut out = Chart {
        subcharts: Vec::new(),
        ..shallow(chart)
    };
    if chart.meta.dependencies.is_empty() {
        out.subcharts = chart.subcharts.clone();
        return out;
    }
    let taken = |c: &Chart| {
        chart
            .meta
            .dependencies
            .iter()
            .any(|d| d.name == c.meta.name && compatible(d.version.as_deref(), &c.meta.version))
    };
    for existing in &chart.subcharts {
        if !taken(existing) {
            out.subcharts.push(expand(existing));
        }
    }
    for dep in &chart.meta.dependencies {
        if let Some(c) = chart.subcharts.iter().find(|c| {
            c.meta.name == dep.name && compatible(dep.version.as_deref(), &c.meta.version)
        }) {
            let mut copy = expand(c);
            if let Some(alias) = &dep.alias {
                copy.meta.name = alias.clone();
            }
            out.subcharts.push(copy);
        }
    }
    out
}

/// The chart without its subcharts (which the caller fills in).
fn shallow(chart: &Chart) -> Chart {
    Chart {
        origin: chart.origin.clone(),
        kind: chart.kind,
        meta: chart.meta.clone(),
        values: chart.values.clone(),
        schema: chart.schema.clone(),
        templates: chart.templates.clone(),
        crds: chart.crds.clone(),
        files: chart.files.clone(),
        subcharts: Vec::new(),
        display_path: chart.display_path.clone(),
    }
}

/// Helm's `IsCompatibleRange`: false when the range or the version does not parse (a
/// dependency without a version takes no chart).
fn compatible(range: Option<&str>, version: &str) -> bool {
    let (Some(range), Ok(v)) = (range, parse_version_lenient(version)) else {
        return false;
    };
    Constraint::parse(range).is_ok_and(|c| c.matches(&v))
}

/// Whether any chart of the tree has a dependency that `tags` or a `condition` can disable
/// (when none has, the values need not be coalesced to decide).
pub fn has_helm_conditions(chart: &Chart) -> bool {
    chart
        .meta
        .dependencies
        .iter()
        .any(|d| d.condition.is_some() || !d.tags.is_empty())
        || (!chart.meta.dependencies.is_empty() && chart.subcharts.iter().any(has_helm_conditions))
}

/// Removes the dependencies that `tags` and `condition` disable under `values` (the values
/// coalesced over every chart of the expanded tree), as Helm does (module docs, step 2).
pub fn prune_helm_dependencies(chart: &mut Chart, values: &Value) {
    prune(chart, values, "");
}

fn prune(chart: &mut Chart, values: &Value, path: &str) {
    if chart.meta.dependencies.is_empty() {
        return;
    }
    let tags = values.get("tags").and_then(Value::as_object);
    let mut disabled: Vec<String> = Vec::new();
    for dep in &chart.meta.dependencies {
        let mut enabled = true;
        if let Some(tags) = tags {
            let flags: Vec<bool> = dep
                .tags
                .iter()
                .filter_map(|t| tags.get(t).and_then(Value::as_bool))
                .collect();
            enabled = flags.contains(&true) || !flags.contains(&false);
        }
        if let Some(condition) = &dep.condition {
            for part in condition.trim().split(',') {
                if part.is_empty() {
                    continue;
                }
                if let Some(Value::Bool(b)) =
                    crate::values::path_value(values, &format!("{path}{part}"))
                {
                    enabled = *b;
                    break;
                }
            }
        }
        if !enabled {
            disabled.push(dep.key().to_string());
        }
    }
    chart.subcharts.retain(|c| !disabled.contains(&c.meta.name));
    chart
        .meta
        .dependencies
        .retain(|d| !disabled.iter().any(|k| k == d.key()));
    for sub in &mut chart.subcharts {
        let sub_path = format!("{path}{}.", sub.meta.name);
        prune(sub, values, &sub_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn chart(files: &[(&str, &str)]) -> Chart {
        Chart::from_files(
            Path::new("top"),
            files
                .iter()
                .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
                .collect(),
        )
        .unwrap()
    }

    fn names(c: &Chart) -> Vec<String> {
        let mut n: Vec<String> = c.subcharts.iter().map(|s| s.display_path.clone()).collect();
        n.sort();
        n
    }

    #[test]
    fn aliases_copy_charts_and_unlisted_charts_stay() {
        let c = chart(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: db\n  version: 1.x\n  alias: main\n- name: db\n  version: '>=1'\n  alias: replica\n- name: cache\n  version: 2.x\n",
            ),
            (
                "charts/db/Chart.yaml",
                "apiVersion: v2\nname: db\nversion: 1.2.0\n",
            ),
            (
                "charts/cache/Chart.yaml",
                "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
            ),
            (
                "charts/extra/Chart.yaml",
                "apiVersion: v2\nname: extra\nversion: 1.0.0\n",
            ),
        ]);
        let e = expand_helm_dependencies(&c).unwrap();
        // cache 1.0.0 does not satisfy 2.x: Helm keeps it as an unlisted chart.
        assert_eq!(
            names(&e),
            [
                "top/charts/cache",
                "top/charts/extra",
                "top/charts/main",
                "top/charts/replica"
            ]
        );
    }

    #[test]
    fn missing_dependency_of_the_top_chart_is_an_error() {
        let c = chart(&[(
            "Chart.yaml",
            "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: db\n  version: 1.x\n",
        )]);
        let err = expand_helm_dependencies(&c).unwrap_err().to_string();
        assert!(err.contains("`db`") && err.contains("charts/"), "{err}");
    }

    #[test]
    fn tags_then_conditions_decide() {
        let c = chart(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: a\n  version: '*'\n  tags: [front]\n- name: b\n  version: '*'\n  tags: [front]\n  condition: b.on,global.b\n- name: c\n  version: '*'\n  condition: c.enabled\n",
            ),
            (
                "charts/a/Chart.yaml",
                "apiVersion: v2\nname: a\nversion: 1.0.0\n",
            ),
            (
                "charts/b/Chart.yaml",
                "apiVersion: v2\nname: b\nversion: 1.0.0\n",
            ),
            (
                "charts/c/Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 1.0.0\n",
            ),
        ]);
        let mut e = expand_helm_dependencies(&c).unwrap();
        prune_helm_dependencies(
            &mut e,
            &json!({"tags": {"front": false}, "b": {"on": "yes"}, "global": {"b": true}, "c": {"enabled": false}}),
        );
        assert_eq!(names(&e), ["top/charts/b"]);
        assert_eq!(e.meta.dependencies.len(), 1);
    }
}
