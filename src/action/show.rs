//! `show`: what a chart is made of — its Chart.yaml, default values, README and CRDs — without
//! rendering it. The chart is found as every other command finds one
//! ([`crate::repo::resolve::load_chart`]: a directory, an archive, `REPO/NAME` or a URL), so each
//! kind of chart and reference that loads there can be shown.

use serde_json::Value;

use super::Error;
use crate::chart::Chart;
use crate::repo::ChartSpec;

/// Which part of the chart to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `Chart.yaml`.
    Chart,
    /// `values.yaml`.
    Values,
    /// The README.
    Readme,
    /// The CRDs of the chart and of its dependencies.
    Crds,
    /// All of the above, as YAML documents.
    All,
}

/// A `show`.
pub struct ShowRequest {
    /// The chart.
    pub chart: ChartSpec,
    /// `--version`: the range the chart must satisfy.
    pub version: Option<String>,
    /// `--devel`: consider pre-release versions.
    pub devel: bool,
    /// What to show.
    pub part: Part,
}

/// The text of `req.part` of the chart; empty when the chart has no such part.
pub fn run(req: &ShowRequest) -> Result<String, Error> {
    let chart = crate::repo::resolve::load_chart(&req.chart, req.version.as_deref(), req.devel)?;
    Ok(match req.part {
        Part::Chart => chart_yaml(&chart),
        Part::Values => values(&chart),
        Part::Readme => readme(&chart).unwrap_or_default(),
        Part::Crds => crds(&chart),
        Part::All => {
            // Helm's layout: Chart.yaml, values and README as documents, then each CRD.
            let mut out = chart_yaml(&chart);
            for part in [values(&chart), readme(&chart).unwrap_or_default()] {
                if !part.is_empty() {
                    out.push_str("---\n");
                    out.push_str(&with_newline(part));
                }
            }
            let crds = crds(&chart);
            if !crds.is_empty() {
                if !crds.starts_with("---") {
                    out.push_str("---\n");
                }
                out.push_str(&crds);
            }
            out
        }
    })
}

/// Chart.yaml as charter read it, without the fields it leaves empty.
fn chart_yaml(chart: &Chart) -> String {
    let mut meta = serde_json::to_value(&chart.meta).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut meta {
        m.retain(|_, v| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::String(s) => !s.is_empty(),
            Value::Number(_) | Value::Bool(true) => true,
        });
    }
    crate::yaml::to_yaml(&meta)
}

fn values(chart: &Chart) -> String {
    chart
        .values
        .as_ref()
        .map(|v| with_newline(v.content.clone()))
        .unwrap_or_default()
}

/// The chart's top-level README (README.md, README.txt or README, any case).
fn readme(chart: &Chart) -> Option<String> {
    ["readme.md", "readme.txt", "readme"]
        .iter()
        .find_map(|want| {
            chart
                .files
                .iter()
                .find(|(path, _)| path.to_lowercase() == *want)
                .map(|(_, bytes)| with_newline(String::from_utf8_lossy(bytes).into_owned()))
        })
}

/// Every CRD file of the chart and its dependencies, each a document of its own.
fn crds(chart: &Chart) -> String {
    let mut out = String::new();
    collect_crds(chart, &mut out);
    out
}

fn collect_crds(chart: &Chart, out: &mut String) {
    for crd in &chart.crds {
        out.push_str("---\n");
        out.push_str(&with_newline(crd.content.clone()));
    }
    for sub in &chart.subcharts {
        collect_crds(sub, out);
    }
}

fn with_newline(mut s: String) -> String {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn chart(dir: &Path) -> ChartSpec {
        let w = |p: &str, s: &str| {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, s).unwrap();
        };
        w(
            "Chart.yaml",
            "apiVersion: charter/v1\nname: web\nversion: 1.2.0\ndescription: A web app\n",
        );
        w("values.yaml", "replicas: 2\n");
        w("README.md", "# web\n");
        w(
            "crds/a.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: as.x.io\n",
        );
        w(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
        );
        ChartSpec::Path(dir.to_path_buf())
    }

    fn show(spec: &ChartSpec, part: Part) -> String {
        run(&ShowRequest {
            chart: spec.clone(),
            version: None,
            devel: false,
            part,
        })
        .unwrap()
    }

    #[test]
    fn each_part_of_a_chart() {
        let tmp = tempfile::tempdir().unwrap();
        let spec = chart(tmp.path());
        assert_eq!(
            show(&spec, Part::Chart),
            "apiVersion: charter/v1\nname: web\nversion: \"1.2.0\"\ndescription: A web app\ntype: application\n"
        );
        assert_eq!(show(&spec, Part::Values), "replicas: 2\n");
        assert_eq!(show(&spec, Part::Readme), "# web\n");
        assert!(show(&spec, Part::Crds).starts_with("---\napiVersion: apiextensions.k8s.io/v1\n"));
        let all = show(&spec, Part::All);
        let docs: Vec<&str> = all.split("---\n").collect();
        assert_eq!(docs.len(), 4, "{all}");
        assert!(
            docs[0].contains("name: web") && docs[1] == "replicas: 2\n" && docs[2] == "# web\n"
        );
        assert!(docs[3].contains("CustomResourceDefinition"));
    }

    #[test]
    fn a_version_the_chart_does_not_satisfy_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run(&ShowRequest {
            chart: chart(tmp.path()),
            version: Some(">=2".into()),
            devel: false,
            part: Part::Chart,
        })
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("does not satisfy") && err.contains(">=2"),
            "{err}"
        );
    }
}
