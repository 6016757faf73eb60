//! Chart loading: `Chart.yaml`, default values, schema, templates, CRDs, files and subcharts,
//! from a directory or (read-only, in memory) from a `.tgz` archive.
//!
//! Loading never renders anything and never touches the network; it only turns files into
//! plain data that `values` and `render` consume.

mod archive;
pub mod constraint;
mod dependencies;
pub mod gomatch;
mod helm;
pub mod ignore;
mod meta;
mod package;

pub use archive::{ArchiveLimits, read_archive};
pub use constraint::{Constraint, ConstraintError, parse_version_lenient};
pub use dependencies::{expand_helm_dependencies, has_helm_conditions, prune_helm_dependencies};
pub use ignore::{ChartIgnore, HELM_IGNORE_FILE, HelmIgnore, IGNORE_FILE, list_chart_files};
pub use meta::{
    ChartMeta, ChartType, Dependency, Maintainer, is_dns1123_label, merge_requirements,
    parse_chart_yaml,
};
pub use package::{PACKAGE_MTIME, Package, PackageOptions, package_chart, sha256_hex};

use std::path::{Path, PathBuf};

/// The `apiVersion` every charter chart declares in its `Chart.yaml`.
pub const API_VERSION: &str = "charter/v1";

/// Errors raised while loading a chart. Each names the file (and line where known).
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The chart path does not exist or is neither a directory nor an archive.
    #[error(
        "chart not found at {path}: expected a chart directory (with Chart.yaml) or a .tgz archive"
    )]
    NotFound {
        /// The path that was looked at.
        path: PathBuf,
    },
    /// A directory without a Chart.yaml.
    #[error(
        "{dir} is not a chart: it has no Chart.yaml. Point at a chart directory, a .tgz, or a deploy-tree target"
    )]
    NoChartYaml {
        /// The directory that was looked at.
        dir: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A Helm chart format charter does not read.
    #[error(
        "{path}: apiVersion {api_version} is Helm's experimental chart format (Helm v4 reads it only with HELM_EXPERIMENTAL_CHART_V3); charter reads Helm charts of apiVersion v2 and v1, and its own `apiVersion: {API_VERSION}`"
    )]
    HelmChart {
        /// The Chart.yaml.
        path: String,
        /// The apiVersion found.
        api_version: String,
    },
    /// Chart.yaml is malformed or misses required fields.
    #[error("{path}: {message}")]
    InvalidMeta {
        /// The Chart.yaml.
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file that must be UTF-8 text is not.
    #[error("{path}: not valid UTF-8 text; templates, values and CRDs must be UTF-8")]
    NotUtf8 {
        /// The file.
        path: String,
    },
    /// values.schema.json is not valid JSON.
    #[error("{path}:{line}:{column}: values.schema.json is not valid JSON: {message}")]
    InvalidSchema {
        /// The schema file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message.
        message: String,
    },
    /// The archive is unsafe or malformed.
    #[error("{archive}: {message}")]
    Archive {
        /// The archive path.
        archive: String,
        /// What is wrong (names the entry).
        message: String,
    },
    /// A dependency declared in Chart.yaml is missing from `charts/`.
    #[error(
        "{chart}: dependency `{name}` is declared in Chart.yaml but not present in charts/; run `charter dep update` or add it under charts/"
    )]
    MissingDependency {
        /// The parent chart name.
        chart: String,
        /// The dependency name.
        name: String,
    },
}

/// A text file of a chart, with its path relative to the chart root (`templates/x.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path relative to the chart root, with `/` separators.
    pub path: String,
    /// The file's text.
    pub content: String,
}

/// Which template engine renders a chart, by its `apiVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// `charter/v1`: Tera templates.
    Tera,
    /// Helm's `v2` and `v1`: Go templates with Sprig and Helm's functions, rendered as
    /// `helm template` renders them.
    Helm,
}

/// A loaded chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Where the chart was loaded from (directory or archive), for messages.
    pub origin: PathBuf,
    /// Its template engine, from `apiVersion`.
    pub kind: ChartKind,
    /// `Chart.yaml`.
    pub meta: ChartMeta,
    /// `values.yaml`, if present.
    pub values: Option<SourceFile>,
    /// `values.schema.json`, parsed.
    pub schema: Option<(SourceFile, serde_json::Value)>,
    /// Files under `templates/`, sorted by path; partials (`_*`) included.
    pub templates: Vec<SourceFile>,
    /// Files under `crds/`, sorted by path; applied before everything else, never templated.
    pub crds: Vec<SourceFile>,
    /// Every other file of the chart (not Chart.yaml, values, templates, charts/); for a
    /// Helm chart the files `.Files` holds, `crds/` included.
    pub files: Vec<(String, Vec<u8>)>,
    /// Dependency charts found under `charts/` (directories or archives), sorted by name.
    pub subcharts: Vec<Chart>,
    /// The chart's path inside its parent (`parent/charts/sub`), used in `# Source:` lines.
    pub display_path: String,
}

impl Chart {
    /// Loads a chart from a directory or a `.tgz` archive.
    pub fn load(path: &Path) -> Result<Chart, ChartError> {
        let meta = std::fs::metadata(path).map_err(|_| ChartError::NotFound {
            path: path.to_path_buf(),
        })?;
        if meta.is_dir() {
            let files = read_dir_files(path)?;
            if !files.iter().any(|(p, _)| p == "Chart.yaml") {
                return Err(ChartError::NoChartYaml {
                    dir: path.to_path_buf(),
                });
            }
            Chart::from_files(path, files)
        } else if meta.is_file() {
            let bytes = std::fs::read(path).map_err(|source| ChartError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Chart::from_archive_bytes(path, &bytes)
        } else {
            Err(ChartError::NotFound {
                path: path.to_path_buf(),
            })
        }
    }

    /// Loads a chart from the bytes of a `.tgz` archive (`<name>/Chart.yaml` inside).
    pub fn from_archive_bytes(origin: &Path, bytes: &[u8]) -> Result<Chart, ChartError> {
        let entries = read_archive(origin, bytes, &ArchiveLimits::default())?;
        Chart::from_files(origin, entries)
    }

    /// Builds a chart from `(relative path, bytes)` pairs rooted at the chart directory.
    pub fn from_files(origin: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Chart, ChartError> {
        let label = |p: &str| format!("{}/{}", origin.display(), p);
        let chart_yaml = files
            .iter()
            .find(|(p, _)| p == "Chart.yaml")
            .ok_or_else(|| ChartError::NoChartYaml {
                dir: origin.to_path_buf(),
            })?;
        let chart_yaml_label = label("Chart.yaml");
        let meta = parse_chart_yaml(&utf8(&chart_yaml_label, &chart_yaml.1)?, &chart_yaml_label)?;
        if meta.kind() == ChartKind::Helm {
            return helm::from_files(origin, meta, files);
        }

        let mut values = None;
        let mut schema = None;
        let mut templates = Vec::new();
        let mut crds = Vec::new();
        let mut other = Vec::new();
        let mut sub_files: std::collections::BTreeMap<String, Vec<(String, Vec<u8>)>> =
            Default::default();
        let mut sub_archives: Vec<(String, Vec<u8>)> = Vec::new();

        for (path, bytes) in files {
            if path == "Chart.yaml" || path == "Chart.lock" || path == ".chartignore" {
                continue;
            }
            if let Some(rest) = path.strip_prefix("charts/") {
                match rest.split_once('/') {
                    Some((dir, inner)) => sub_files
                        .entry(dir.to_string())
                        .or_default()
                        .push((inner.to_string(), bytes)),
                    None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => {
                        sub_archives.push((rest.to_string(), bytes))
                    }
                    None => {}
                }
                continue;
            }
            if path == "values.yaml" {
                let content = into_utf8(|| label(&path), bytes)?;
                values = Some(SourceFile { path, content });
            } else if path == "values.schema.json" {
                let content = into_utf8(|| label(&path), bytes)?;
                let parsed: serde_json::Value =
                    serde_json::from_str(&content).map_err(|e| ChartError::InvalidSchema {
                        path: label(&path),
                        line: e.line(),
                        column: e.column(),
                        message: e.to_string(),
                    })?;
                schema = Some((SourceFile { path, content }, parsed));
            } else if path.starts_with("templates/") {
                let content = into_utf8(|| label(&path), bytes)?;
                templates.push(SourceFile { path, content });
            } else if path.starts_with("crds/") {
                let content = into_utf8(|| label(&path), bytes)?;
                crds.push(SourceFile { path, content });
            } else {
                other.push((path, bytes));
            }
        }
        templates.sort_by(|a, b| a.path.cmp(&b.path));
        crds.sort_by(|a, b| a.path.cmp(&b.path));
        other.sort_by(|a, b| a.0.cmp(&b.0));

        let mut subcharts = Vec::new();
        for (dir, files) in sub_files {
            if !files.iter().any(|(p, _)| p == "Chart.yaml") {
                continue;
            }
            subcharts.push(Chart::from_files(&origin.join("charts").join(&dir), files)?);
        }
        for (name, bytes) in sub_archives {
            subcharts.push(Chart::from_archive_bytes(
                &origin.join("charts").join(&name),
                &bytes,
            )?);
        }
        if let Some(helm) = subcharts.iter().find(|c| c.kind != ChartKind::Tera) {
            return Err(ChartError::InvalidMeta {
                path: helm.origin.display().to_string(),
                message: format!(
                    "`{}` is a Helm chart (apiVersion {}) inside the charter chart {}; a charter chart's subcharts must be charter charts",
                    helm.meta.name, helm.meta.api_version, meta.name
                ),
            });
        }
        subcharts.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        for dep in &meta.dependencies {
            if !subcharts.iter().any(|c| c.meta.name == dep.name) {
                return Err(ChartError::MissingDependency {
                    chart: meta.name.clone(),
                    name: dep.name.clone(),
                });
            }
        }
        let display_path = meta.name.clone();
        let mut chart = Chart {
            origin: origin.to_path_buf(),
            kind: ChartKind::Tera,
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

    fn set_display_paths(&mut self) {
        let parent = self.display_path.clone();
        for sub in &mut self.subcharts {
            sub.display_path = format!("{parent}/charts/{}", sub.meta.name);
            sub.set_display_paths();
        }
    }

    /// The rendered (non-partial) templates, sorted by path. NOTES.txt is excluded.
    pub fn renderable_templates(&self) -> impl Iterator<Item = &SourceFile> {
        self.templates
            .iter()
            .filter(|t| !is_partial(&t.path) && !is_notes(&t.path))
    }

    /// `templates/NOTES.txt`, if present.
    pub fn notes(&self) -> Option<&SourceFile> {
        self.templates.iter().find(|t| is_notes(&t.path))
    }

    /// The dependency entry of Chart.yaml that declares `sub`, if any.
    pub fn dependency_for(&self, sub: &Chart) -> Option<&Dependency> {
        self.meta
            .dependencies
            .iter()
            .find(|d| d.name == sub.meta.name)
    }

    /// `sha256:<hex>` over everything the chart renders from: its metadata, values, templates,
    /// CRDs and other files.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(serde_json::to_vec(&self.meta).unwrap_or_default());
        for f in self
            .values
            .iter()
            .chain(self.templates.iter())
            .chain(self.crds.iter())
        {
            h.update(f.path.as_bytes());
            h.update([0]);
            h.update(f.content.as_bytes());
            h.update([0]);
        }
        for (p, b) in &self.files {
            h.update(p.as_bytes());
            h.update([0]);
            h.update(b);
            h.update([0]);
        }
        format!("sha256:{}", hex::encode(h.finalize()))
    }

    /// The key a subchart's values live under in its parent's values: alias, else name (a
    /// Helm chart's expanded subcharts carry their alias as their name).
    pub fn scope_key_for(&self, sub: &Chart) -> String {
        if self.kind == ChartKind::Helm {
            return sub.meta.name.clone();
        }
        self.dependency_for(sub)
            .and_then(|d| d.alias.clone())
            .unwrap_or_else(|| sub.meta.name.clone())
    }
}

/// Whether the directory's `Chart.yaml` declares a Helm chart (`apiVersion: v1`/`v2`); false
/// when it cannot be read (the loader then reports why).
pub(crate) fn dir_holds_helm_chart(dir: &Path) -> bool {
    let Ok(src) = std::fs::read_to_string(dir.join("Chart.yaml")) else {
        return false;
    };
    matches!(
        crate::yaml::parse_str(&src, "Chart.yaml")
            .ok()
            .as_ref()
            .and_then(|v| v.get("apiVersion"))
            .and_then(|v| v.as_str()),
        Some("v1" | "v2")
    )
}

/// A template file is a partial when its file name starts with `_`: it defines components
/// and renders nothing itself.
pub fn is_partial(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|f| f.starts_with('_'))
}

fn is_notes(path: &str) -> bool {
    path == "templates/NOTES.txt"
}

fn utf8(label: &str, bytes: &[u8]) -> Result<String, ChartError> {
    into_utf8(|| label.to_string(), bytes.to_vec())
}

/// [`utf8`] for bytes the caller no longer needs: the text keeps their buffer instead of a
/// copy (a chart's templates and values are most of its bytes). `label` names the file in
/// the error.
fn into_utf8(label: impl FnOnce() -> String, bytes: Vec<u8>) -> Result<String, ChartError> {
    String::from_utf8(bytes).map_err(|_| ChartError::NotUtf8 { path: label() })
}

/// Reads every file of the chart directory `root` that `.chartignore` keeps, as
/// `(relative path, bytes)` sorted by path (see [`ignore`] for the rules: hidden VCS
/// directories are skipped, links are followed only when they stay inside the chart).
fn read_dir_files(root: &Path) -> Result<Vec<(String, Vec<u8>)>, ChartError> {
    let mut out = Vec::new();
    for f in list_chart_files(root)? {
        let bytes = f.read()?;
        out.push((f.rel, bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    const META: &str = "apiVersion: charter/v1\nname: app\nversion: 1.2.3\n";

    #[test]
    fn loads_templates_partials_and_notes() {
        let chart = Chart::from_files(
            Path::new("app"),
            files(&[
                ("Chart.yaml", META),
                ("values.yaml", "a: 1\n"),
                ("templates/b.yaml", "kind: B"),
                ("templates/_helpers.tera", "x"),
                ("templates/NOTES.txt", "hi"),
                ("templates/a.yaml", "kind: A"),
                ("crds/crd.yaml", "kind: CustomResourceDefinition"),
                ("files/config.ini", "k=v"),
            ]),
        )
        .unwrap();
        let names: Vec<_> = chart.renderable_templates().map(|t| &t.path).collect();
        assert_eq!(names, ["templates/a.yaml", "templates/b.yaml"]);
        assert_eq!(chart.notes().unwrap().content, "hi");
        assert_eq!(chart.crds.len(), 1);
        assert_eq!(chart.files[0].0, "files/config.ini");
        assert_eq!(chart.values.unwrap().content, "a: 1\n");
    }

    #[test]
    fn helm_chart_is_its_own_kind() {
        let chart = Chart::from_files(
            Path::new("h"),
            files(&[("Chart.yaml", "apiVersion: v2\nname: h\nversion: 1.0.0\n")]),
        )
        .unwrap();
        assert_eq!(chart.kind, ChartKind::Helm);
        let err = Chart::from_files(
            Path::new("h"),
            files(&[
                ("Chart.yaml", META),
                (
                    "charts/h/Chart.yaml",
                    "apiVersion: v2\nname: h\nversion: 1.0.0\n",
                ),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("must be charter charts"), "{err}");
    }

    #[test]
    fn subcharts_from_directories_with_alias() {
        let chart = Chart::from_files(
            Path::new("app"),
            files(&[
                (
                    "Chart.yaml",
                    "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: db\n    version: ^1\n    alias: database\n",
                ),
                ("charts/db/Chart.yaml", "apiVersion: charter/v1\nname: db\nversion: 1.0.0\n"),
                ("charts/db/templates/s.yaml", "kind: S"),
            ]),
        )
        .unwrap();
        assert_eq!(chart.subcharts.len(), 1);
        assert_eq!(chart.subcharts[0].display_path, "app/charts/db");
        assert_eq!(chart.scope_key_for(&chart.subcharts[0]), "database");
    }

    #[test]
    fn missing_dependency_is_named() {
        let err = Chart::from_files(
            Path::new("app"),
            files(&[(
                "Chart.yaml",
                "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: db\n    version: ^1\n",
            )]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`db`") && err.contains("dep update"), "{err}");
    }

    #[test]
    fn bad_schema_json_names_line() {
        let err = Chart::from_files(
            Path::new("app"),
            files(&[
                ("Chart.yaml", META),
                ("values.schema.json", "{\n  \"type\": \n}"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("values.schema.json:3:"), "{err}");
    }
}
