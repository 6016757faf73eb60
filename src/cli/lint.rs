//! `charter lint`: a chart, or every target of a deploy tree.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::input::{ChartArgs, SetFlag, is_deploy_dir};
use super::render_cmds::prepare_and_render;
use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::chart::{Chart, is_dns1123_label};
use crate::manifest::Manifest;
use crate::render::Capabilities;
use crate::target;

/// Flags of `charter lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// A chart directory or .tgz, or a deploy-tree directory (every target below it is linted).
    #[arg(value_name = "CHART | DEPLOY_DIR", default_value = ".")]
    pub path: PathBuf,
    /// Values file applied when linting a chart on its own; repeatable.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a value (Helm syntax) when linting; repeatable.
    #[arg(long = "set", value_name = "KEY=VAL")]
    pub set: Vec<String>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Serialize)]
struct Finding {
    severity: Severity,
    /// What was linted: the chart or the target.
    subject: String,
    /// The file or object concerned.
    location: String,
    message: String,
}

struct Findings {
    list: Vec<Finding>,
}

impl Findings {
    fn push(
        &mut self,
        severity: Severity,
        subject: &str,
        location: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.list.push(Finding {
            severity,
            subject: subject.to_string(),
            location: location.into(),
            message: message.into(),
        });
    }
}

/// `charter lint`.
pub fn lint(global: &GlobalArgs, args: LintArgs, sets: Vec<SetFlag>) -> CmdResult {
    let mut findings = Findings { list: Vec::new() };
    let mut subjects = 0;
    if is_deploy_dir(&args.path) {
        let leaves = target::leaves(&args.path)?;
        if leaves.is_empty() {
            return Err(CliError::new(format!(
                "{} holds no targets (leaf directories with a values.yaml or charter.yaml)",
                args.path.display()
            )));
        }
        let mut charts_seen: Vec<PathBuf> = Vec::new();
        for leaf in leaves {
            subjects += 1;
            let subject = leaf.display().to_string();
            match target::resolve(&leaf) {
                Ok(t) => {
                    if !charts_seen.contains(&t.chart) {
                        charts_seen.push(t.chart.clone());
                        lint_chart_structure(&t.chart, &mut findings);
                    }
                }
                Err(e) => {
                    findings.push(Severity::Error, &subject, &subject, e.to_string());
                    continue;
                }
            }
            let chart_args = ChartArgs {
                args: vec![subject.clone()],
                values: args.values.clone(),
                ..Default::default()
            };
            lint_render(global, &chart_args, &sets, &subject, &mut findings);
        }
    } else {
        subjects += 1;
        let subject = args.path.display().to_string();
        if lint_chart_structure(&args.path, &mut findings) {
            let chart_args = ChartArgs {
                args: vec!["release-name".into(), subject.clone()],
                values: args.values.clone(),
                ..Default::default()
            };
            lint_render(global, &chart_args, &sets, &subject, &mut findings);
        }
    }
    report(global, &findings, subjects, args.strict)
}

/// Loads the chart and checks its structure. Returns false when it cannot be loaded.
fn lint_chart_structure(path: &Path, findings: &mut Findings) -> bool {
    let subject = path.display().to_string();
    let chart = match Chart::load(path) {
        Ok(c) => c,
        Err(e) => {
            findings.push(Severity::Error, &subject, &subject, e.to_string());
            return false;
        }
    };
    let chart_yaml = format!("{subject}/Chart.yaml");
    if chart.meta.description.as_deref().is_none_or(str::is_empty) {
        findings.push(
            Severity::Warning,
            &subject,
            &chart_yaml,
            "no `description`; add a one-line description",
        );
    }
    if chart.meta.app_version.is_none() {
        findings.push(
            Severity::Warning,
            &subject,
            &chart_yaml,
            "no `appVersion`; say which version of the application the chart deploys",
        );
    }
    if chart.values.is_none() {
        findings.push(
            Severity::Warning,
            &subject,
            format!("{subject}/values.yaml"),
            "no values.yaml; document the chart's values with defaults",
        );
    }
    if chart.schema.is_none() {
        findings.push(
            Severity::Warning,
            &subject,
            format!("{subject}/values.schema.json"),
            "no values.schema.json; a schema catches bad values before they reach the cluster",
        );
    }
    if chart.renderable_templates().next().is_none() && chart.crds.is_empty() {
        findings.push(
            Severity::Warning,
            &subject,
            format!("{subject}/templates"),
            "the chart has no templates",
        );
    }
    true
}

fn lint_render(
    global: &GlobalArgs,
    chart_args: &ChartArgs,
    sets: &[SetFlag],
    subject: &str,
    findings: &mut Findings,
) {
    let set_flags: Vec<SetFlag> = sets.to_vec();
    match prepare_and_render(
        global,
        chart_args,
        &set_flags,
        Capabilities::default(),
        true,
        false,
    ) {
        Ok((_, rendered)) => {
            let mut seen = std::collections::HashSet::new();
            for m in rendered.crds.iter().chain(rendered.manifests.iter()) {
                let key = (
                    m.header.api_version.clone(),
                    m.header.kind.clone(),
                    m.header.namespace.clone(),
                    m.header.name.clone(),
                );
                if !seen.insert(key) {
                    findings.push(Severity::Error, subject, &*m.source, format!("{} is rendered more than once; object names must be unique per kind and namespace", m.header.display()));
                }
                check_object(m, subject, findings);
            }
            if rendered.manifests.is_empty() && rendered.crds.is_empty() {
                findings.push(Severity::Warning, subject, subject, "renders no objects");
            }
        }
        Err(e) => findings.push(Severity::Error, subject, subject, e.message),
    }
}

fn check_object(m: &Manifest, subject: &str, findings: &mut Findings) {
    let at = format!("{} ({})", m.source, m.header.display());
    let name = &m.header.name;
    let label_named = matches!(m.header.kind.as_str(), "Namespace" | "Service");
    if label_named {
        if !is_dns1123_label(name) {
            findings.push(Severity::Error, subject, &at, format!("metadata.name `{name}` must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters) for a {}", m.header.kind));
        }
    } else if !is_dns1123_subdomain(name) {
        findings.push(Severity::Error, subject, &at, format!("metadata.name `{name}` must be a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253 characters)"));
    }
    if let Some(ns) = &m.header.namespace
        && !is_dns1123_label(ns)
    {
        findings.push(
            Severity::Error,
            subject,
            &at,
            format!("metadata.namespace `{ns}` must be a DNS-1123 label"),
        );
    }
    let object = match crate::yaml::parse_str(m.text(), &m.source) {
        Ok(o) => o,
        Err(e) => {
            findings.push(Severity::Error, subject, &at, e.to_string());
            return;
        }
    };
    let mut label_maps = vec![("metadata.labels", object.pointer("/metadata/labels"))];
    label_maps.push((
        "spec.template.metadata.labels",
        object.pointer("/spec/template/metadata/labels"),
    ));
    for (path, labels) in label_maps {
        let Some(labels) = labels else { continue };
        let Some(map) = labels.as_object() else {
            findings.push(
                Severity::Error,
                subject,
                &at,
                format!("{path} must be a map of strings"),
            );
            continue;
        };
        for (k, v) in map {
            if let Err(why) = check_label_key(k) {
                findings.push(
                    Severity::Error,
                    subject,
                    &at,
                    format!("{path}: key `{k}` {why}"),
                );
            }
            match v.as_str() {
                Some(s) if !is_label_value(s) => findings.push(Severity::Error, subject, &at, format!("{path}.{k}: value `{s}` must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric")),
                Some(_) => {}
                None => findings.push(Severity::Error, subject, &at, format!("{path}.{k}: value {v} must be a string; quote it")),
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

fn report(global: &GlobalArgs, findings: &Findings, subjects: usize, strict: bool) -> CmdResult {
    let errors = findings
        .list
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.list.len() - errors;
    match global.output {
        Some(OutputFormat::Json) => {
            let v = serde_json::json!({"findings": findings.list, "errors": errors, "warnings": warnings, "linted": subjects});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Some(OutputFormat::Yaml) => {
            let v = serde_json::json!({"findings": findings.list, "errors": errors, "warnings": warnings, "linted": subjects});
            print!("{}", crate::yaml::to_yaml(&serde_json::to_value(v)?));
        }
        _ => {
            for f in &findings.list {
                let tag = match f.severity {
                    Severity::Error => "[ERROR]",
                    Severity::Warning => "[WARNING]",
                };
                println!("{tag} {}: {}", f.location, f.message.trim_end());
            }
            println!("{subjects} linted, {errors} error(s), {warnings} warning(s)");
        }
    }
    Ok(if errors > 0 || (strict && warnings > 0) {
        1
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
