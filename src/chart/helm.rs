//! Loading a Helm chart's files the way Helm v4's loader (`pkg/chart/v2/loader`) sorts them:
//!
//! | file | becomes |
//! |---|---|
//! | `Chart.yaml` | the metadata ([`super::parse_chart_yaml`]) |
//! | `requirements.yaml` | dependencies merged into the metadata; for apiVersion v1 also a file |
//! | `requirements.lock` | a file (v1 only), else nothing |
//! | `Chart.lock` | nothing |
//! | `values.yaml`, `values.schema.json` | default values, schema |
//! | `templates/…` | templates (all of them: partials, NOTES.txt and non-YAML files too) |
//! | `charts/X.tgz`, `charts/X/…` | subcharts; names starting with `_` or `.` are skipped, `.prov` files are files |
//! | anything else (`crds/…` included) | files, which templates read as `.Files` |
//!
//! CRDs are the files under `crds/` ending in `.yaml`, `.yml` or `.json`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{
    Chart, ChartError, ChartKind, ChartMeta, SourceFile, into_utf8, merge_requirements, utf8,
};

/// Builds a Helm chart from `(relative path, bytes)` pairs, its metadata already read.
pub(super) fn from_files(
    origin: &Path,
    mut meta: ChartMeta,
    files: Vec<(String, Vec<u8>)>,
) -> Result<Chart, ChartError> {
    let label = |p: &str| format!("{}/{}", origin.display(), p);
    let v1 = meta.api_version == "v1";
    let mut values = None;
    let mut schema = None;
    let mut templates = Vec::new();
    let mut crds = Vec::new();
    let mut other = Vec::new();
    let mut sub_files: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();

    for (path, bytes) in files {
        match path.as_str() {
            "Chart.yaml" | "Chart.lock" => continue,
            "requirements.yaml" => {
                let text = utf8(&label(&path), strip_bom(&bytes))?;
                merge_requirements(&mut meta, &text, &label(&path))?;
                if v1 {
                    other.push((path, bytes));
                }
                continue;
            }
            "requirements.lock" => {
                if v1 {
                    other.push((path, bytes));
                }
                continue;
            }
            "values.yaml" => {
                let content = into_text(|| label(&path), bytes)?;
                values = Some(SourceFile { path, content });
                continue;
            }
            "values.schema.json" => {
                let content = into_text(|| label(&path), bytes)?;
                let parsed: serde_json::Value =
                    serde_json::from_str(&content).map_err(|e| ChartError::InvalidSchema {
                        path: label(&path),
                        line: e.line(),
                        column: e.column(),
                        message: e.to_string(),
                    })?;
                schema = Some((SourceFile { path, content }, parsed));
                continue;
            }
            _ => {}
        }
        if path.starts_with("templates/") {
            let content = into_text(|| label(&path), bytes)?;
            templates.push(SourceFile { path, content });
        } else if let Some(rest) = path.strip_prefix("charts/") {
            if path.ends_with(".prov") {
                other.push((path, bytes));
                continue;
            }
            let (dir, inner) = rest.split_once('/').unwrap_or((rest, ""));
            sub_files
                .entry(dir.to_string())
                .or_default()
                .push((inner.to_string(), bytes));
        } else {
            if path.starts_with("crds/")
                && [".yaml", ".yml", ".json"].iter().any(|e| path.ends_with(e))
            {
                let content = utf8(&label(&path), strip_bom(&bytes))?;
                crds.push(SourceFile {
                    path: path.clone(),
                    content,
                });
            }
            other.push((path, bytes));
        }
    }
    templates.sort_by(|a, b| a.path.cmp(&b.path));
    crds.sort_by(|a, b| a.path.cmp(&b.path));
    other.sort_by(|a, b| a.0.cmp(&b.0));

    let mut subcharts = Vec::new();
    for (name, files) in sub_files {
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let sub_origin = origin.join("charts").join(&name);
        let unpack = |e: ChartError| ChartError::InvalidMeta {
            path: sub_origin.display().to_string(),
            message: format!("cannot load the subchart `{name}` of {}: {e}", meta.name),
        };
        let sub = if name.ends_with(".tgz") {
            let Some((_, bytes)) = files.iter().find(|(inner, _)| inner.is_empty()) else {
                return Err(unpack(ChartError::InvalidMeta {
                    path: sub_origin.display().to_string(),
                    message: "a directory named like an archive; rename it".into(),
                }));
            };
            Chart::from_archive_bytes(&sub_origin, bytes).map_err(unpack)?
        } else {
            let files: Vec<(String, Vec<u8>)> =
                files.into_iter().filter(|(p, _)| !p.is_empty()).collect();
            if !files.iter().any(|(p, _)| p == "Chart.yaml") {
                return Err(unpack(ChartError::InvalidMeta {
                    path: sub_origin.display().to_string(),
                    message: "it has no Chart.yaml: everything under charts/ must be a chart (a directory or a .tgz); move other files out, or name them with a leading `_` or `.`".into(),
                }));
            }
            Chart::from_files(&sub_origin, files).map_err(unpack)?
        };
        if sub.kind != ChartKind::Helm {
            return Err(ChartError::InvalidMeta {
                path: sub_origin.display().to_string(),
                message: format!(
                    "`{}` is a charter chart (apiVersion {}) inside the Helm chart {}; a Helm chart's subcharts must be Helm charts",
                    sub.meta.name, sub.meta.api_version, meta.name
                ),
            });
        }
        subcharts.push(sub);
    }
    subcharts.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    let display_path = meta.name.clone();
    let mut chart = Chart {
        origin: origin.to_path_buf(),
        kind: ChartKind::Helm,
        meta,
        values,
        schema,
        templates,
        crds,
        files: other,
        subcharts,
        display_path,
    };
    chart.set_display_paths();
    Ok(chart)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(BOM).unwrap_or(bytes)
}

/// The text of a file whose bytes are no longer needed, without a leading BOM (Helm strips
/// it), in the file's own buffer.
fn into_text(label: impl FnOnce() -> String, mut bytes: Vec<u8>) -> Result<String, ChartError> {
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
    }
    into_utf8(label, bytes)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn sorts_files_as_helm_does() {
        let chart = Chart::from_files(
            Path::new("web"),
            files(&[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: web\nversion: 1.0.0\nextra: ignored\n",
                ),
                ("values.yaml", "a: 1\n"),
                ("templates/_helpers.tpl", "{{ define \"x\" }}{{ end }}"),
                ("templates/NOTES.txt", "hi"),
                ("templates/cm.yaml", "kind: ConfigMap"),
                ("crds/crd.yaml", "kind: CustomResourceDefinition"),
                ("crds/README.md", "docs"),
                ("config/app.ini", "k=v"),
                (
                    "charts/db/Chart.yaml",
                    "apiVersion: v2\nname: db\nversion: 2.0.0\n",
                ),
                ("charts/db/templates/s.yaml", "kind: S"),
                ("charts/_skip/Chart.yaml", "junk"),
                ("charts/db-1.0.0.tgz.prov", "signature"),
                ("Chart.lock", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(chart.kind, ChartKind::Helm);
        assert_eq!(chart.templates.len(), 3);
        assert_eq!(chart.crds.len(), 1);
        let names: Vec<&str> = chart.files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "charts/db-1.0.0.tgz.prov",
                "config/app.ini",
                "crds/README.md",
                "crds/crd.yaml"
            ]
        );
        assert_eq!(chart.subcharts.len(), 1);
        assert_eq!(chart.subcharts[0].display_path, "web/charts/db");
    }

    #[test]
    fn text_files_lose_a_leading_bom_and_must_be_utf8() {
        let bom = |s: &str| [BOM, s.as_bytes()].concat();
        let chart = Chart::from_files(
            Path::new("web"),
            vec![
                (
                    "Chart.yaml".to_string(),
                    b"apiVersion: v2\nname: web\nversion: 1.0.0\n".to_vec(),
                ),
                ("values.yaml".to_string(), bom("a: 1\n")),
                ("values.schema.json".to_string(), bom("{}")),
                ("templates/cm.yaml".to_string(), bom("kind: ConfigMap")),
                ("files/raw.txt".to_string(), bom("as is")),
            ],
        )
        .unwrap();
        assert_eq!(chart.values.unwrap().content, "a: 1\n");
        assert_eq!(chart.schema.unwrap().0.content, "{}");
        assert_eq!(chart.templates[0].content, "kind: ConfigMap");
        assert_eq!(chart.files[0].1, bom("as is"));

        let err = Chart::from_files(
            Path::new("web"),
            vec![
                (
                    "Chart.yaml".to_string(),
                    b"apiVersion: v2\nname: web\nversion: 1.0.0\n".to_vec(),
                ),
                ("templates/bad.yaml".to_string(), vec![b'a', 0xFF, b'b']),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("web/templates/bad.yaml"), "{err}");
    }

    #[test]
    fn v1_dependencies_come_from_requirements_yaml() {
        let chart = Chart::from_files(
            Path::new("old"),
            files(&[
                ("Chart.yaml", "apiVersion: v1\nname: old\nversion: 0.1.0\n"),
                (
                    "requirements.yaml",
                    "dependencies:\n- name: db\n  version: 1.x\n  alias: store\n",
                ),
                (
                    "charts/db/Chart.yaml",
                    "apiVersion: v1\nname: db\nversion: 1.2.0\n",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(chart.meta.dependencies[0].key(), "store");
        assert_eq!(chart.files[0].0, "requirements.yaml");
    }

    #[test]
    fn stray_file_under_charts_is_an_error() {
        let err = Chart::from_files(
            Path::new("web"),
            files(&[
                ("Chart.yaml", "apiVersion: v2\nname: web\nversion: 1.0.0\n"),
                ("charts/README.md", "x"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("subchart `README.md`") && err.contains("no Chart.yaml"),
            "{err}"
        );
    }

    #[test]
    fn helm_metadata_errors() {
        let cases = [
            (
                "apiVersion: v2\nversion: 1.0.0\n",
                "missing required field `name`",
            ),
            (
                "apiVersion: v2\nname: a\n",
                "missing required field `version`",
            ),
            (
                "apiVersion: v2\nname: a\nversion: one\n",
                "not a semantic version",
            ),
            (
                "apiVersion: v2\nname: a\nversion: 1.0.0\ntype: app\n",
                "not a chart type",
            ),
            ("apiVersion: v3\nname: a\nversion: 1.0.0\n", "experimental"),
            (
                "apiVersion: v2\nname: a\nversion: 1.0.0\ndependencies:\n- name: b\n- name: b\n",
                "more than one dependency",
            ),
            (
                "apiVersion: v2\nname: a\nversion: 1.0.0\nkeywords: 3\n",
                "keywords",
            ),
            ("apiVersion: v2\nname: [a\n", "Chart.yaml"),
        ];
        for (src, want) in cases {
            let err = super::super::parse_chart_yaml(src, "x/Chart.yaml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{src:?}: {err}");
        }
        let ok = super::super::parse_chart_yaml(
            "apiVersion: v2\nname: My_Chart\nversion: v1.2\nappVersion: 1.10\nunknown: {a: 1}\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(ok.kind(), ChartKind::Helm);
        assert_eq!(ok.app_version.as_deref(), Some("1.1"));
    }
}
