//! `Chart.yaml`: the chart's metadata, for both kinds of chart. A charter chart's
//! (`apiVersion: charter/v1`) is read strictly: an unknown field is an error. A Helm chart's
//! (`apiVersion: v1` or `v2`) is read as Helm reads it: unknown fields are ignored, names and
//! versions are checked only as far as Helm checks them, and a v1 chart's dependencies may come
//! from `requirements.yaml` ([`merge_requirements`]).

use serde::{Deserialize, Serialize};

use super::{API_VERSION, ChartError, ChartKind};
use crate::chart::constraint::{Constraint, parse_version_lenient};

/// Whether a chart installs objects (`application`) or only provides partials (`library`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChartType {
    /// A chart that renders objects.
    #[default]
    Application,
    /// A chart that only provides partials to other charts; it renders nothing itself.
    Library,
}

/// A dependency entry of `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dependency {
    /// The dependency chart's name.
    pub name: String,
    /// A SemVer range (Helm syntax) the dependency's version must satisfy.
    #[serde(default)]
    pub version: Option<String>,
    /// Repository URL, `file://` path, or `@name` of a configured repository.
    #[serde(default)]
    pub repository: Option<String>,
    /// Values path(s), comma-separated, that enable or disable the dependency.
    #[serde(default)]
    pub condition: Option<String>,
    /// The key the dependency's values live under, and its name in the rendered output.
    #[serde(default)]
    pub alias: Option<String>,
    /// Tags that enable the dependency (`tags.<tag>` in values).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Values the parent takes from the dependency (Helm's two forms: a string names a key
    /// below the dependency's `exports`; a map `{child: PATH, parent: PATH}` copies a table).
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<serde_json::Value>,
}

impl Dependency {
    /// The key its values live under in the parent's values: the alias, else the name.
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// A maintainer entry of `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintainer {
    /// Name.
    pub name: String,
    /// E-mail address.
    #[serde(default)]
    pub email: Option<String>,
    /// Home page.
    #[serde(default)]
    pub url: Option<String>,
}

/// `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartMeta {
    /// `charter/v1`, or `v1`/`v2` for a Helm chart.
    pub api_version: String,
    /// The chart's name (DNS-1123 label).
    pub name: String,
    /// The chart's version, SemVer 2.
    pub version: String,
    /// The version of the application the chart deploys.
    #[serde(default)]
    pub app_version: Option<String>,
    /// One-line description.
    #[serde(default)]
    pub description: Option<String>,
    /// `application` (default) or `library`.
    #[serde(default, rename = "type")]
    pub chart_type: ChartType,
    /// A SemVer constraint on the Kubernetes version the chart supports.
    #[serde(default)]
    pub kube_version: Option<String>,
    /// Dependency charts.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// Search keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Project home page.
    #[serde(default)]
    pub home: Option<String>,
    /// Source code URLs.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Maintainers.
    #[serde(default)]
    pub maintainers: Vec<Maintainer>,
    /// Icon URL.
    #[serde(default)]
    pub icon: Option<String>,
    /// Whether the chart is deprecated.
    #[serde(default)]
    pub deprecated: bool,
    /// Free-form annotations.
    #[serde(default)]
    pub annotations: indexmap::IndexMap<String, String>,
    /// Helm charts only: the chart-level `condition` (unused by Helm since v2 charts, but
    /// templates can read it as `.Chart.Condition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Helm charts only: the chart-level `tags` string (`.Chart.Tags`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
}

impl ChartMeta {
    /// The template engine the `apiVersion` calls for.
    pub fn kind(&self) -> ChartKind {
        if self.api_version == API_VERSION {
            ChartKind::Tera
        } else {
            ChartKind::Helm
        }
    }

    /// The parsed SemVer version (validated at load time).
    pub fn semver(&self) -> semver::Version {
        semver::Version::parse(&self.version).unwrap_or_else(|_| semver::Version::new(0, 0, 0))
    }
}

/// Parses and validates `Chart.yaml`. `label` is the path used in messages.
pub fn parse_chart_yaml(src: &str, label: &str) -> Result<ChartMeta, ChartError> {
    let invalid = |message: String| ChartError::InvalidMeta {
        path: label.to_string(),
        message,
    };
    // Look at apiVersion first, so a Helm chart gets the Helm message rather than a complaint
    // about some Helm-only field.
    let raw: serde_json::Value = crate::yaml::parse_str(src, label).map_err(|e| {
        invalid(format!(
            "{e}. Fix the YAML syntax of Chart.yaml at that line"
        ))
    })?;
    match raw.get("apiVersion").and_then(|v| v.as_str()) {
        Some(API_VERSION) => {}
        Some(v @ ("v1" | "v2")) => return parse_helm_chart_yaml(src, label, v),
        Some("v3") => {
            return Err(ChartError::HelmChart {
                path: label.to_string(),
                api_version: "v3".to_string(),
            });
        }
        Some(other) => {
            return Err(invalid(format!(
                "unknown apiVersion `{other}`; a charter chart declares `apiVersion: {API_VERSION}`, a Helm chart `v2` (or `v1`)"
            )));
        }
        None => {
            return Err(invalid(format!(
                "missing required field `apiVersion`; add `apiVersion: {API_VERSION}` (or `apiVersion: v2` for a Helm chart)"
            )));
        }
    }
    for field in ["name", "version"] {
        if raw.get(field).is_none_or(|v| v.is_null()) {
            return Err(invalid(format!(
                "missing required field `{field}`; Chart.yaml needs apiVersion, name and version"
            )));
        }
    }
    let meta: ChartMeta = crate::yaml::from_str(src).map_err(|e| invalid(e.to_string()))?;
    if semver::Version::parse(&meta.version).is_err() {
        return Err(invalid(format!(
            "version `{}` is not SemVer 2 (expected MAJOR.MINOR.PATCH, e.g. 1.2.3 or 1.2.3-rc.1)",
            meta.version
        )));
    }
    if !is_dns1123_label(&meta.name) {
        return Err(invalid(format!(
            "name `{}` is not a valid chart name: use lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit",
            meta.name
        )));
    }
    if let Some(kv) = &meta.kube_version {
        Constraint::parse(kv)
            .map_err(|e| invalid(format!("kubeVersion `{kv}` is not a valid constraint: {e}")))?;
    }
    for (field, present) in [
        ("condition", meta.condition.is_some()),
        ("tags", meta.tags.is_some()),
    ] {
        if present {
            return Err(invalid(format!(
                "`{field}` at the top of Chart.yaml is a Helm chart field; a charter chart sets `{field}` on the parent's dependency entry"
            )));
        }
    }
    for dep in &meta.dependencies {
        if let Some(range) = &dep.version {
            Constraint::parse(range).map_err(|e| {
                invalid(format!(
                    "dependency `{}`: version `{range}` is not a valid range: {e}",
                    dep.name
                ))
            })?;
        }
        if let Some(alias) = &dep.alias
            && !is_dns1123_label(alias)
        {
            return Err(invalid(format!(
                "dependency `{}`: alias `{alias}` must be a DNS-1123 label",
                dep.name
            )));
        }
    }
    Ok(meta)
}

/// Chart.yaml as Helm's `chart.Metadata` reads it: unknown fields ignored, nulls allowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HelmMetadata {
    name: Option<String>,
    home: Option<String>,
    sources: Option<Vec<String>>,
    version: Option<String>,
    description: Option<String>,
    keywords: Option<Vec<String>>,
    maintainers: Option<Vec<Option<HelmMaintainer>>>,
    icon: Option<String>,
    condition: Option<String>,
    tags: Option<String>,
    app_version: Option<String>,
    deprecated: Option<bool>,
    annotations: Option<indexmap::IndexMap<String, String>>,
    kube_version: Option<String>,
    dependencies: Option<Vec<Option<HelmDependency>>>,
    #[serde(rename = "type")]
    chart_type: Option<String>,
}

#[derive(Deserialize)]
struct HelmMaintainer {
    name: Option<String>,
    email: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct HelmDependency {
    name: Option<String>,
    version: Option<String>,
    repository: Option<String>,
    condition: Option<String>,
    tags: Option<Vec<String>>,
    alias: Option<String>,
    #[serde(rename = "import-values")]
    import_values: Option<Vec<serde_json::Value>>,
}

/// The part of `requirements.yaml` Helm reads into a chart's metadata.
#[derive(Deserialize)]
struct HelmRequirements {
    dependencies: Option<Vec<Option<HelmDependency>>>,
}

/// Helm trims strings and drops control characters it reads from Chart.yaml.
fn sanitize(s: Option<String>) -> Option<String> {
    s.map(|s| {
        s.trim()
            .chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .collect::<String>()
    })
    .filter(|s| !s.is_empty())
}

fn helm_dependencies(
    deps: Option<Vec<Option<HelmDependency>>>,
    invalid: &dyn Fn(String) -> ChartError,
) -> Result<Vec<Dependency>, ChartError> {
    let mut out: Vec<Dependency> = Vec::new();
    for (i, d) in deps.unwrap_or_default().into_iter().enumerate() {
        let d = d.ok_or_else(|| {
            invalid(format!(
                "dependencies[{i}] is empty; remove the null entry or give it a name"
            ))
        })?;
        let name = sanitize(d.name).unwrap_or_default();
        let alias = sanitize(d.alias);
        if let Some(a) = &alias
            && !a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(format!(
                "dependency `{name}`: alias `{a}` may hold only letters, digits, `_` and `-`"
            )));
        }
        let dep = Dependency {
            name,
            version: sanitize(d.version),
            repository: sanitize(d.repository),
            condition: sanitize(d.condition),
            alias,
            tags: d.tags.unwrap_or_default(),
            import_values: d.import_values.unwrap_or_default(),
        };
        if out.iter().any(|o| o.key() == dep.key()) {
            return Err(invalid(format!(
                "more than one dependency with name or alias `{}`; give each an `alias` of its own",
                dep.key()
            )));
        }
        out.push(dep);
    }
    Ok(out)
}

/// A Helm chart's Chart.yaml, checked as Helm's `Metadata.Validate` checks it.
fn parse_helm_chart_yaml(src: &str, label: &str, api: &str) -> Result<ChartMeta, ChartError> {
    let invalid = |message: String| ChartError::InvalidMeta {
        path: label.to_string(),
        message,
    };
    let m: HelmMetadata = crate::yaml::from_str(src).map_err(|e| invalid(e.to_string()))?;
    let name = sanitize(m.name).ok_or_else(|| {
        invalid(
            "missing required field `name`; Chart.yaml needs apiVersion, name and version".into(),
        )
    })?;
    if name == "." || name == ".." || name.contains('/') || name.contains('\\') {
        return Err(invalid(format!(
            "name `{name}` is not a valid chart name: it must not be `.`, `..` or hold a path separator"
        )));
    }
    let version = sanitize(m.version).ok_or_else(|| {
        invalid(
            "missing required field `version`; Chart.yaml needs apiVersion, name and version"
                .into(),
        )
    })?;
    if parse_version_lenient(&version).is_err() {
        return Err(invalid(format!(
            "version `{version}` is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.2.3)"
        )));
    }
    let chart_type = match m.chart_type.as_deref().map(str::trim) {
        None | Some("") | Some("application") => ChartType::Application,
        Some("library") => ChartType::Library,
        Some(other) => {
            return Err(invalid(format!(
                "type `{other}` is not a chart type: use `application` or `library`"
            )));
        }
    };
    let mut maintainers = Vec::new();
    for (i, mt) in m.maintainers.unwrap_or_default().into_iter().enumerate() {
        let mt =
            mt.ok_or_else(|| invalid(format!("maintainers[{i}] is empty; remove the null entry")))?;
        maintainers.push(Maintainer {
            name: sanitize(mt.name).unwrap_or_default(),
            email: sanitize(mt.email),
            url: sanitize(mt.url),
        });
    }
    Ok(ChartMeta {
        api_version: api.to_string(),
        name,
        version,
        app_version: sanitize(m.app_version),
        description: sanitize(m.description),
        chart_type,
        kube_version: sanitize(m.kube_version),
        dependencies: helm_dependencies(m.dependencies, &invalid)?,
        keywords: m
            .keywords
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| sanitize(Some(k)))
            .collect(),
        home: sanitize(m.home),
        sources: m
            .sources
            .unwrap_or_default()
            .into_iter()
            .filter_map(|k| sanitize(Some(k)))
            .collect(),
        maintainers,
        icon: sanitize(m.icon),
        deprecated: m.deprecated.unwrap_or(false),
        annotations: m.annotations.unwrap_or_default(),
        condition: sanitize(m.condition),
        tags: sanitize(m.tags),
    })
}

/// Helm reads a chart's `requirements.yaml` (the dependencies of apiVersion v1 charts) into
/// its metadata: its `dependencies`, when present, replace Chart.yaml's.
pub fn merge_requirements(meta: &mut ChartMeta, src: &str, label: &str) -> Result<(), ChartError> {
    let invalid = |message: String| ChartError::InvalidMeta {
        path: label.to_string(),
        message,
    };
    let r: HelmRequirements = crate::yaml::from_str(src).map_err(|e| invalid(e.to_string()))?;
    if r.dependencies.is_some() {
        meta.dependencies = helm_dependencies(r.dependencies, &invalid)?;
    }
    Ok(())
}

/// A DNS-1123 label: lowercase alphanumerics and '-', 1–63 characters, alphanumeric at both ends.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_chart_yaml() {
        let m = parse_chart_yaml(
            "apiVersion: charter/v1\nname: demo\nversion: 1.2.3-rc.1\nappVersion: \"2.0\"\ndescription: d\ntype: application\nkubeVersion: \">=1.28.0-0\"\n",
            "Chart.yaml",
        )
        .unwrap();
        assert_eq!(m.name, "demo");
        assert_eq!(m.app_version.as_deref(), Some("2.0"));
        assert_eq!(m.semver().pre.as_str(), "rc.1");
    }

    /// One reader for Chart.yaml: the chart and its repository index entry agree, and read a
    /// number where a string belongs as Helm does (sigs.k8s.io/yaml: `1.10` is the float 1.1).
    #[test]
    fn chart_and_index_entry_read_app_version_alike() {
        let src = "apiVersion: charter/v1\nname: a\nversion: 1.0.0\nappVersion: 1.10\n";
        let meta = parse_chart_yaml(src, "Chart.yaml").unwrap();
        let entry = crate::repo::index::chart_version_from_chart_yaml(src.as_bytes(), "Chart.yaml")
            .unwrap();
        assert_eq!(meta.app_version, entry.app_version);
        assert_eq!(meta.app_version.as_deref(), Some("1.1"));
        let quoted = parse_chart_yaml(&src.replace("1.10", "\"1.10\""), "Chart.yaml").unwrap();
        assert_eq!(quoted.app_version.as_deref(), Some("1.10"));
    }

    #[test]
    fn errors_name_the_problem() {
        let cases = [
            (
                "apiVersion: charter/v1\nversion: 1.0.0\n",
                "missing required field `name`",
            ),
            (
                "apiVersion: charter/v1\nname: a\n",
                "missing required field `version`",
            ),
            (
                "apiVersion: charter/v1\nname: a\nversion: 1.0\n",
                "not SemVer 2",
            ),
            (
                "name: a\nversion: 1.0.0\n",
                "missing required field `apiVersion`",
            ),
            (
                "apiVersion: foo/v9\nname: a\nversion: 1.0.0\n",
                "unknown apiVersion `foo/v9`",
            ),
            (
                "apiVersion: charter/v1\nname: A_b\nversion: 1.0.0\n",
                "not a valid chart name",
            ),
            (
                "apiVersion: charter/v1\nname: a\nversion: 1.0.0\nkubeVersion: \">=abc\"\n",
                "kubeVersion",
            ),
            (
                "apiVersion: charter/v1\nname: a\nversion: 1.0.0\nbogus: 1\n",
                "bogus",
            ),
            (
                "apiVersion: charter/v1\nname: a\nversion: [1\n",
                "Chart.yaml",
            ),
        ];
        for (src, want) in cases {
            let err = parse_chart_yaml(src, "x/Chart.yaml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{src:?}: {err}");
            assert!(err.starts_with("x/Chart.yaml"), "{err}");
        }
    }
}
