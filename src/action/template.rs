//! `template` and `values`: a target rendered offline, and its merged values.

use super::prepare::{ChartRequest, Detail, Prepared, prepare, prepare_checked};
use super::{Error, Globals};
use crate::manifest::Manifest;
use crate::render::{self, Capabilities, ReleaseInfo, RenderOptions, Rendered};
use crate::values::ExplainRow;

/// What to render and how.
pub struct TemplateRequest {
    /// The chart and values.
    pub chart: ChartRequest,
    /// Only objects from these templates (`templates/x.yaml`); all when empty.
    pub show_only: Vec<String>,
    /// Also render `templates/NOTES.txt`.
    pub notes: bool,
    /// Leave out the objects from `crds/`.
    pub skip_crds: bool,
    /// The Kubernetes version and API versions to render for.
    pub capabilities: Capabilities,
}

/// A rendered target.
pub struct Template {
    /// The chart, release and values it was rendered from.
    pub prepared: Prepared,
    /// What it rendered.
    pub rendered: Rendered,
    skip_crds: bool,
    show_only: Vec<String>,
}

impl Template {
    /// The objects to print, CRDs first, in install order.
    pub fn objects(&self) -> Vec<&Manifest> {
        let mut objects: Vec<&Manifest> = Vec::new();
        if !self.skip_crds {
            objects.extend(self.rendered.crds.iter());
        }
        objects.extend(self.rendered.manifests.iter());
        if !self.show_only.is_empty() {
            objects.retain(|m| {
                self.show_only
                    .iter()
                    .any(|w| show_only_matches(&m.source, w))
            });
        }
        objects
    }
}

/// Renders a target offline (`lookup` returns empty), as `release-name` revision 1 unless the
/// target names its release.
pub fn run(globals: &Globals, req: TemplateRequest) -> Result<Template, Error> {
    let (prepared, rendered) = render_offline(globals, &req.chart, req.capabilities, req.notes)?;
    let all: Vec<&Manifest> = rendered
        .crds
        .iter()
        .filter(|_| !req.skip_crds)
        .chain(rendered.manifests.iter())
        .collect();
    for want in &req.show_only {
        if !all.iter().any(|m| show_only_matches(&m.source, want)) {
            let mut known: Vec<&str> = all.iter().map(|m| &*m.source).collect();
            known.dedup();
            return Err(Error::Invalid(format!(
                "--show-only {want}: no rendered object comes from that template; templates with output: {}",
                known.join(", ")
            )));
        }
    }
    Ok(Template {
        prepared,
        rendered,
        skip_crds: req.skip_crds,
        show_only: req.show_only,
    })
}

/// Prepares, validates against the chart's schema, and renders offline.
pub fn render_offline(
    globals: &Globals,
    req: &ChartRequest,
    capabilities: Capabilities,
    notes: bool,
) -> Result<(Prepared, Rendered), Error> {
    let t0 = std::time::Instant::now();
    let mut prepared = prepare_checked(globals, req)?;
    tracing::debug!("values loaded and merged in {:?}", t0.elapsed());
    // Provenance only serves messages about values; the render does not need it.
    let provenance = std::mem::take(&mut prepared.resolved.provenance);
    rayon::spawn(move || drop(provenance));
    let opts = RenderOptions {
        release: Some(ReleaseInfo::install(&prepared.release, &prepared.namespace)),
        target: prepared.target_info(),
        capabilities,
        notes,
        ..Default::default()
    };
    let values = std::mem::take(&mut prepared.resolved.values);
    let t0 = std::time::Instant::now();
    let rendered = render::render_owned(&prepared.chart, values, &opts)?;
    tracing::debug!("rendered and checked in {:?}", t0.elapsed());
    Ok((prepared, rendered))
}

/// `--show-only templates/x.yaml` matches `demo/templates/x.yaml` (and a full source path).
fn show_only_matches(source: &str, want: &str) -> bool {
    let want = want.trim_start_matches("./");
    source == want || source.ends_with(&format!("/{want}"))
}

/// What `values` shows.
pub enum Values {
    /// The merged values.
    Merged(serde_json::Value),
    /// Every leaf with the layer that set it.
    Explained(Vec<ExplainRow>),
}

/// The merged values of a target, validated against the chart's schema; with `explain`, every
/// leaf and where it came from.
pub fn values(globals: &Globals, req: &ChartRequest, explain: bool) -> Result<Values, Error> {
    let prepared = prepare(globals, req, Detail::Full)?;
    prepared.validate_schema()?;
    Ok(if explain {
        Values::Explained(crate::values::explain(&prepared.resolved))
    } else {
        Values::Merged(prepared.resolved.values)
    })
}
