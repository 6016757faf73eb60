//! `lint`: a chart's structure, or every target of a deploy tree rendered and its objects
//! checked (names, namespaces, labels, duplicates).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::prepare::{ChartRequest, Source, is_deploy_dir};
use super::template::render_offline;
use super::{Error, Globals};
use crate::chart::{Chart, is_dns1123_label};
use crate::deploy;
use crate::manifest::Manifest;
use crate::repo::ChartSpec;
use crate::values::SetFlag;

/// What to lint.
pub struct LintRequest {
    /// A chart directory or archive, or a deploy-tree directory (every target below it).
    pub path: PathBuf,
    /// `-f` files applied to each render.
    pub values: Vec<PathBuf>,
    /// `--set` flags applied to each render.
    pub sets: Vec<SetFlag>,
    /// `--version` of a repository or registry chart linted on its own.
    pub version: Option<String>,
    /// How to reach an OCI registry (over each target's `registry:`).
    pub registry: crate::oci::RegistrySettings,
    /// Do not check the values against `values.schema.json` (`--skip-schema-validation`).
    pub skip_schema_validation: bool,
}

/// How bad a finding is.
#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails the lint.
    Error,
    /// Fails it only with `--strict`.
    Warning,
}

/// One problem found.
#[derive(Debug, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What was linted: the chart or the target.
    pub subject: String,
    /// The file or object concerned.
    pub location: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Everything found.
#[derive(Debug, Default)]
pub struct LintReport {
    /// The findings, in the order found.
    pub findings: Vec<Finding>,
    /// How many charts or targets were linted.
    pub linted: usize,
}

impl LintReport {
    /// Findings that are errors.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// Findings that are warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    /// Whether the lint fails: any error, or with `strict` any warning.
    pub fn failed(&self, strict: bool) -> bool {
        self.errors() > 0 || (strict && self.warnings() > 0)
    }

    fn push(
        &mut self,
        severity: Severity,
        subject: &str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            subject: subject.to_string(),
            location: location.into(),
            message: message.into(),
        });
    }
}

/// Lints a chart, or every target of a deploy tree (each chart's structure once).
pub fn run(globals: &Globals, req: &LintRequest) -> Result<LintReport, Error> {
    let mut report = LintReport::default();
    let request = |source: Source| ChartRequest {
        source,
        values: req.values.clone(),
        sets: req.sets.clone(),
        version: req.version.clone(),
        devel: false,
        registry: req.registry.clone(),
    };
    if is_deploy_dir(&req.path) {
        let leaves = deploy::leaves(&req.path)?;
        if leaves.is_empty() {
            return Err(Error::Invalid(format!(
                "{} holds no targets (leaf directories with a values.yaml or charter.yaml)",
                req.path.display()
            )));
        }
        // Targets that do not resolve are reported one by one below.
        let targets: Vec<deploy::Target> = leaves
            .iter()
            .filter_map(|l| deploy::resolve(l).ok())
            .collect();
        if let Err(e) = super::fleet::refuse_shared_releases(globals, targets.iter()) {
            let subject = req.path.display().to_string();
            report.push(Severity::Error, &subject, &subject, e.to_string());
        }
        let mut charts_seen: Vec<PathBuf> = Vec::new();
        for leaf in leaves {
            report.linted += 1;
            let subject = leaf.display().to_string();
            match deploy::resolve(&leaf) {
                Ok(t) => {
                    // A repository or registry chart is linted as rendered below; its
                    // structure is its publisher's to lint.
                    if t.chart_repo.is_none() && !charts_seen.contains(&t.chart) {
                        charts_seen.push(t.chart.clone());
                        lint_chart_structure(&t.chart, &mut report);
                    }
                }
                Err(e) => {
                    report.push(Severity::Error, &subject, &subject, e.to_string());
                    continue;
                }
            }
            match Source::from_args(std::slice::from_ref(&subject), None, None, None) {
                Ok(source) => lint_render(globals, req, &request(source), &subject, &mut report),
                Err(e) => report.push(Severity::Error, &subject, &subject, e.to_string()),
            }
        }
    } else {
        report.linted += 1;
        let subject = req.path.display().to_string();
        let spec = ChartSpec::parse(&subject);
        // A repository or registry chart is linted as rendered; its structure is its
        // publisher's to lint.
        if spec.is_remote() || lint_chart_structure(&req.path, &mut report) {
            let source = Source::Chart {
                release: Some("release-name".into()),
                chart: spec,
            };
            lint_render(globals, req, &request(source), &subject, &mut report);
        }
    }
    Ok(report)
}

/// Loads the chart and checks its structure. Returns false when it cannot be loaded.
fn lint_chart_structure(path: &Path, report: &mut LintReport) -> bool {
    let subject = path.display().to_string();
    let chart = match Chart::load(path) {
        Ok(c) => c,
        Err(e) => {
            report.push(Severity::Error, &subject, &subject, e.to_string());
            return false;
        }
    };
    let chart_yaml = format!("{subject}/Chart.yaml");
    if chart.meta.description.as_deref().is_none_or(str::is_empty) {
        report.push(
            Severity::Warning,
            &subject,
            &chart_yaml,
            "no `description`; add a one-line description",
        );
    }
    if chart.meta.app_version.is_none() {
        report.push(
            Severity::Warning,
            &subject,
            &chart_yaml,
            "no `appVersion`; say which version of the application the chart deploys",
        );
    } else if let Some(n) = unquoted_app_version(path) {
        report.push(
            Severity::Warning,
            &subject,
            &chart_yaml,
            format!(
                "`appVersion: {n}` is a number in YAML and reads as `{}`; quote it to keep it as written",
                chart.meta.app_version.as_deref().unwrap_or_default()
            ),
        );
    }
    if chart.values.is_none() {
        report.push(
            Severity::Warning,
            &subject,
            format!("{subject}/values.yaml"),
            "no values.yaml; document the chart's values with defaults",
        );
    }
    if chart.schema.is_none() {
        report.push(
            Severity::Warning,
            &subject,
            format!("{subject}/values.schema.json"),
            "no values.schema.json; a schema catches bad values before they reach the cluster",
        );
    }
    if chart.renderable_templates().next().is_none() && chart.crds.is_empty() {
        report.push(
            Severity::Warning,
            &subject,
            format!("{subject}/templates"),
            "the chart has no templates",
        );
    }
    true
}

/// The text of a chart directory's `appVersion` when YAML reads it as a number (`1.10` is the
/// float 1.1): Helm and charter then read the number's text, not what was written.
fn unquoted_app_version(chart_dir: &Path) -> Option<String> {
    let src = std::fs::read_to_string(chart_dir.join("Chart.yaml")).ok()?;
    let line = src.lines().find(|l| l.starts_with("appVersion:"))?;
    let written = line["appVersion:".len()..].split(" #").next()?.trim();
    let v = crate::yaml::parse_str(&src, "Chart.yaml").ok()?;
    v.get("appVersion")?
        .is_number()
        .then(|| written.to_string())
}

fn lint_render(
    globals: &Globals,
    lint: &LintRequest,
    req: &ChartRequest,
    subject: &str,
    report: &mut LintReport,
) {
    match render_offline(
        globals,
        req,
        None,
        Vec::new(),
        true,
        !lint.skip_schema_validation,
    ) {
        Ok((_, rendered)) => {
            let mut seen = HashSet::new();
            for m in rendered.crds.iter().chain(rendered.manifests.iter()) {
                if !seen.insert(&m.header) {
                    report.push(Severity::Error, subject, &*m.source, format!("{} is rendered more than once; object names must be unique per kind and namespace", m.header.display()));
                }
                check_object(m, subject, report);
            }
            if rendered.manifests.is_empty() && rendered.crds.is_empty() {
                report.push(Severity::Warning, subject, subject, "renders no objects");
            }
        }
        Err(e) => report.push(Severity::Error, subject, subject, e.to_string()),
    }
}

fn check_object(m: &Manifest, subject: &str, report: &mut LintReport) {
    let at = format!("{} ({})", m.source, m.header.display());
    let name = &m.header.name;
    let label_named = matches!(m.header.kind.as_str(), "Namespace" | "Service");
    if label_named {
        if !is_dns1123_label(name) {
            report.push(Severity::Error, subject, &at, format!("metadata.name `{name}` must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters) for a {}", m.header.kind));
        }
    } else if !is_dns1123_subdomain(name) {
        report.push(Severity::Error, subject, &at, format!("metadata.name `{name}` must be a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253 characters)"));
    }
    if let Some(ns) = &m.header.namespace
        && !is_dns1123_label(ns)
    {
        report.push(
            Severity::Error,
            subject,
            &at,
            format!("metadata.namespace `{ns}` must be a DNS-1123 label"),
        );
    }
    let object = match crate::yaml::parse_str(m.text(), &m.source) {
        Ok(o) => o,
        Err(e) => {
            report.push(Severity::Error, subject, &at, e.to_string());
            return;
        }
    };
    let label_maps = [
        ("metadata.labels", object.pointer("/metadata/labels")),
        (
            "spec.template.metadata.labels",
            object.pointer("/spec/template/metadata/labels"),
        ),
    ];
    for (path, labels) in label_maps {
        let Some(labels) = labels else { continue };
        let Some(map) = labels.as_object() else {
            report.push(
                Severity::Error,
                subject,
                &at,
                format!("{path} must be a map of strings"),
            );
            continue;
        };
        for (k, v) in map {
            if let Err(why) = check_label_key(k) {
                report.push(
                    Severity::Error,
                    subject,
                    &at,
                    format!("{path}: key `{k}` {why}"),
                );
            }
            match v.as_str() {
                Some(s) if !is_label_value(s) => report.push(Severity::Error, subject, &at, format!("{path}.{k}: value `{s}` must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric")),
                Some(_) => {}
                None => report.push(Severity::Error, subject, &at, format!("{path}.{k}: value {v} must be a string; quote it")),
            }
        }
    }
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !s.is_empty()
        && s.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_label_name(s)
}

fn check_label_key(k: &str) -> Result<(), &'static str> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && !is_dns1123_subdomain(p)
    {
        return Err("has a prefix that is not a DNS-1123 subdomain");
    }
    if !is_label_name(name) {
        return Err(
            "must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unquoted_numeric_app_version_is_a_warning() {
        let t = tempfile::tempdir().unwrap();
        let meta =
            |v: &str| format!("apiVersion: charter/v1\nname: a\nversion: 1.0.0\nappVersion: {v}\n");
        let found = |v: &str| {
            std::fs::write(t.path().join("Chart.yaml"), meta(v)).unwrap();
            let mut r = LintReport::default();
            assert!(lint_chart_structure(t.path(), &mut r));
            r.findings
                .into_iter()
                .filter(|f| f.message.contains("is a number in YAML"))
                .map(|f| f.message)
                .collect::<Vec<_>>()
        };
        let warned = found("1.10");
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("`appVersion: 1.10`") && warned[0].contains("`1.1`"));
        assert!(found("\"1.10\"").is_empty());
        assert!(found("v1.10").is_empty());
    }

    #[test]
    fn label_syntax() {
        assert!(check_label_key("app.kubernetes.io/name").is_ok());
        assert!(check_label_key("app").is_ok());
        assert!(check_label_key("-bad").is_err());
        assert!(check_label_key("Bad_Prefix/x").is_err());
        assert!(is_label_value(""));
        assert!(is_label_value("v1.2.3"));
        assert!(!is_label_value("has space"));
        assert!(!is_label_value(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(!is_dns1123_subdomain("A"));
    }
}
