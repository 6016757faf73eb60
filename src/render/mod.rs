//! Rendering: a chart and its merged values in, ordered Kubernetes objects out, every rendered
//! document checked to be a Kubernetes object. [`render`] is the one entry point; it picks the
//! template engine by the chart's [`ChartKind`]:
//!
//! - [`ChartKind::Tera`] (`apiVersion: charter/v1`): [`tera`], one Tera environment per chart
//!   (its partials' components plus those of its library dependencies), templates rendered in
//!   parallel. Context: `values`, `release` (name, namespace, revision, is_install,
//!   is_upgrade, service), `chart` (Chart.yaml fields), `target` (env, region, name, layers),
//!   `capabilities` (kube_version, api_versions), `files` (the chart's other text files by
//!   path); template functions in [`functions`].
//! - [`ChartKind::Helm`] (`apiVersion: v2`/`v1`): [`helm`], Go templates rendered as
//!   `helm template` v4.1.4 renders them, over a chart whose dependencies were processed with
//!   its values (`chart::prune_helm_dependencies`).
//!
//! What every engine shares lives here and in [`check`]: the render inputs and result, which
//! subcharts are enabled and with which values, the chart's `kubeVersion` constraint, and
//! checking output while it is rendered.

mod check;
mod functions;
pub mod helm;
mod tera;

pub use functions::{LookupFn, MAX_INCLUDE_DEPTH};
pub use helm::{HelmTemplateError, Hook};

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::chart::{Chart, ChartKind, Constraint, parse_version_lenient};
use crate::manifest::{Manifest, ManifestError};

/// The Kubernetes version assumed for a charter chart when no cluster is known
/// (`--kube-version` overrides it). Helm charts get Helm's ([`helm::DEFAULT_KUBE_VERSION`]).
pub const DEFAULT_KUBE_VERSION: &str = "v1.34.0";

/// The Kubernetes version a chart of `kind` is rendered for when neither a cluster nor a flag
/// names one.
pub fn default_kube_version(kind: ChartKind) -> &'static str {
    match kind {
        ChartKind::Tera => DEFAULT_KUBE_VERSION,
        ChartKind::Helm => helm::DEFAULT_KUBE_VERSION,
    }
}

/// `release` in the template context.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    /// Release name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Revision being rendered (1 for an install).
    pub revision: u64,
    /// True on install.
    pub is_install: bool,
    /// True on upgrade or rollback.
    pub is_upgrade: bool,
    /// Always `charter`.
    pub service: &'static str,
}

impl ReleaseInfo {
    /// A first install of `name` into `namespace`.
    pub fn install(name: &str, namespace: &str) -> ReleaseInfo {
        ReleaseInfo {
            name: name.to_string(),
            namespace: namespace.to_string(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
            service: "charter",
        }
    }
}

/// `target` in the template context.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetInfo {
    /// Environment name (first level of the deploy tree).
    pub env: Option<String>,
    /// Region name (second level).
    pub region: Option<String>,
    /// The target's path below the stack root, e.g. `prod/westus`.
    pub name: String,
    /// The values files used, lowest precedence first.
    pub layers: Vec<String>,
}

/// `capabilities` in the template context.
#[derive(Debug, Clone, Serialize)]
pub struct Capabilities {
    /// Kubernetes version, e.g. `v1.34.0`.
    pub kube_version: String,
    /// Available API versions (`apps/v1`, and `apps/v1/Deployment` forms).
    pub api_versions: Vec<String>,
    /// Whether a cluster reported them. Offline, a Helm chart sees Helm's default API
    /// versions besides `api_versions` (as `helm template --api-versions` adds to them).
    #[serde(skip)]
    pub from_cluster: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            kube_version: DEFAULT_KUBE_VERSION.to_string(),
            api_versions: Vec::new(),
            from_cluster: false,
        }
    }
}

impl Capabilities {
    /// Offline capabilities for a chart of `kind`: the kind's default Kubernetes version unless
    /// one is given, and these API versions.
    pub fn offline(kind: ChartKind, kube_version: Option<&str>, api_versions: Vec<String>) -> Self {
        Capabilities {
            kube_version: kube_version
                .unwrap_or(default_kube_version(kind))
                .to_string(),
            api_versions,
            from_cluster: false,
        }
    }
}

/// Inputs of a render besides the chart and values.
#[derive(Clone, Default)]
pub struct RenderOptions {
    /// The release.
    pub release: Option<ReleaseInfo>,
    /// The deploy-tree target, if any.
    pub target: Option<TargetInfo>,
    /// Cluster capabilities.
    pub capabilities: Capabilities,
    /// Live object lookups; offline when `None` (lookup returns `{}`).
    pub lookup: Option<LookupFn>,
    /// Generated values of the previous revision, reused so they stay stable.
    pub previous_generated: BTreeMap<String, String>,
    /// Render `templates/NOTES.txt` of the top chart.
    pub notes: bool,
}

/// The result of a render.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// Objects from templates, in install order.
    pub manifests: Vec<Manifest>,
    /// Objects from `crds/` directories (never templated), in file order.
    pub crds: Vec<Manifest>,
    /// Rendered NOTES.txt of the top chart, when asked for.
    pub notes: Option<String>,
    /// Values generated by `generated(key=...)`, to be stored with the release.
    pub generated: BTreeMap<String, String>,
    /// A Helm chart's hooks (`helm.sh/hook`): rendered, but not objects of the release.
    pub hooks: Vec<Hook>,
}

/// Errors raised while rendering.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed to parse or render.
    #[error("{template}:{line}:{column}: {message}\n{detail}")]
    Template {
        /// Template path, e.g. `demo/templates/deployment.yaml`.
        template: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The message.
        message: String,
        /// The source excerpt Tera reports.
        detail: String,
    },
    /// A Helm chart's template failed to parse or to run.
    #[error(transparent)]
    Helm(Box<HelmTemplateError>),
    /// A template error without a location (e.g. a missing template).
    #[error("{chart}: {message}")]
    Engine {
        /// The chart.
        chart: String,
        /// The message.
        message: String,
    },
    /// A rendered document is not a Kubernetes object.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The ordering annotations cannot be followed.
    #[error(transparent)]
    Order(#[from] crate::manifest::order::OrderError),
    /// The cluster's Kubernetes version is outside the chart's `kubeVersion`.
    #[error(
        "chart {chart} requires Kubernetes {constraint} (kubeVersion in Chart.yaml) but the target is {version}; pass --kube-version or use a chart version that supports it"
    )]
    KubeVersion {
        /// The chart.
        chart: String,
        /// The constraint.
        constraint: String,
        /// The version rendered for.
        version: String,
    },
}

/// Renders a chart (and its enabled subcharts) with the given merged values.
pub fn render(
    chart: &Chart,
    values: &serde_json::Value,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    render_with(chart, Cow::Borrowed(values), opts)
}

/// [`render`], taking the values by value so they can be freed once the template contexts
/// hold them (large value sets then are not held twice).
pub fn render_owned(
    chart: &Chart,
    values: serde_json::Value,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    render_with(chart, Cow::Owned(values), opts)
}

/// The one place that picks a chart's template engine.
fn render_with(
    chart: &Chart,
    values: Cow<'_, serde_json::Value>,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let rendered = match chart.kind {
        ChartKind::Tera => tera::render(chart, values, opts),
        ChartKind::Helm => helm::render(chart, values, opts),
    }?;
    // Ordering mistakes surface with the render, before any command applies anything.
    let all: Vec<&Manifest> = rendered.crds.iter().chain(&rendered.manifests).collect();
    let namespace = opts.release.as_ref().map(|r| r.namespace.as_str());
    crate::manifest::order::Staged::of_manifests(&all, namespace)?;
    Ok(rendered)
}

/// The chart and each enabled subchart (depth first), with the values each one sees.
pub(crate) fn collect_charts<'a>(
    chart: &'a Chart,
    values: Cow<'a, serde_json::Value>,
    out: &mut Vec<(&'a Chart, Cow<'a, serde_json::Value>)>,
) {
    let mut subs = Vec::new();
    for sub in &chart.subcharts {
        if subchart_enabled(chart, sub, &values) {
            let key = chart.scope_key_for(sub);
            subs.push((sub, crate::values::scope_for_subchart(&values, &key)));
        }
    }
    out.push((chart, values));
    for (sub, scoped) in subs {
        collect_charts(sub, Cow::Owned(scoped), out);
    }
}

/// Helm's rule: the first `condition` path that resolves to a boolean decides; otherwise any
/// `tags.<tag>` that is true enables (all false disables); otherwise enabled.
pub fn subchart_enabled(parent: &Chart, sub: &Chart, values: &serde_json::Value) -> bool {
    let Some(dep) = parent.dependency_for(sub) else {
        return true;
    };
    if let Some(cond) = &dep.condition
        && let Some(b) = crate::values::condition_enabled(values, cond)
    {
        return b;
    }
    if !dep.tags.is_empty() {
        let tags: Vec<Option<bool>> = dep
            .tags
            .iter()
            .map(|t| {
                values
                    .get("tags")
                    .and_then(|m| m.get(t))
                    .and_then(|v| v.as_bool())
            })
            .collect();
        if tags.contains(&Some(true)) {
            return true;
        }
        if tags.contains(&Some(false)) {
            return false;
        }
    }
    true
}

pub(crate) fn check_kube_version(chart: &Chart, caps: &Capabilities) -> Result<(), RenderError> {
    let Some(constraint) = &chart.meta.kube_version else {
        return Ok(());
    };
    let c = Constraint::parse(constraint).map_err(|e| RenderError::Engine {
        chart: chart.display_path.clone(),
        message: format!("kubeVersion `{constraint}`: {e}"),
    })?;
    let v = parse_version_lenient(&caps.kube_version).map_err(|e| RenderError::Engine {
        chart: chart.display_path.clone(),
        message: format!("kube version `{}`: {e}", caps.kube_version),
    })?;
    // Cluster versions often carry pre-release tags (v1.34.0-eks.1); compare the release part.
    let plain = semver::Version::new(v.major, v.minor, v.patch);
    if c.matches(&plain) || c.matches(&v) {
        Ok(())
    } else {
        Err(RenderError::KubeVersion {
            chart: chart.display_path.clone(),
            constraint: constraint.clone(),
            version: caps.kube_version.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
