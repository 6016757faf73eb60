//! `template` and `values`: a target rendered offline, and its merged values.

use std::borrow::Cow;

use super::prepare::{ChartRequest, Detail, Prepared, prepare};
use super::{Error, Globals};
use crate::chart::gomatch::GoPattern;
use crate::chart::{Chart, ChartKind};
use crate::manifest::Manifest;
use crate::render::{self, Capabilities, ReleaseInfo, RenderError, RenderOptions, Rendered};
use crate::values::{ExplainRow, Numbers};

/// Whether `template` prints the objects of `crds/` directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Crds {
    /// The chart kind's default: a charter chart prints them, a Helm chart does not (as
    /// `helm template` does not without `--include-crds`).
    #[default]
    KindDefault,
    /// `--include-crds`.
    Include,
    /// `--skip-crds`.
    Skip,
}

/// What to render and how.
pub struct TemplateRequest {
    /// The chart and values.
    pub chart: ChartRequest,
    /// Only objects from these templates (`templates/x.yaml`, or a Go shell pattern such as
    /// `templates/*.yaml`); all when empty.
    pub show_only: Vec<String>,
    /// Also render `templates/NOTES.txt`.
    pub notes: bool,
    /// Whether to print the objects from `crds/`.
    pub crds: Crds,
    /// Leave out a Helm chart's test hooks (`helm.sh/hook: test`).
    pub skip_tests: bool,
    /// The Kubernetes version to render for (default: the chart kind's, see
    /// [`render::default_kube_version`]).
    pub kube_version: Option<String>,
    /// API versions available (`-a`); a Helm chart sees Helm's defaults besides.
    pub api_versions: Vec<String>,
    /// Do not check the values against `values.schema.json` (`--skip-schema-validation`).
    pub skip_schema_validation: bool,
}

/// A rendered target.
pub struct Template {
    /// The chart, release and values it was rendered from.
    pub prepared: Prepared,
    /// What it rendered.
    pub rendered: Rendered,
    crds: bool,
    skip_tests: bool,
    show_only: Vec<String>,
}

/// One document or file `template` prints after its `# Source:` line.
pub struct Printed<'a> {
    /// The template or file, e.g. `web/templates/svc.yaml`.
    pub source: Cow<'a, str>,
    /// What follows the `# Source:` line.
    pub text: Cow<'a, str>,
}

impl Template {
    /// What `template` prints, as `helm template` prints it: CRDs first (when asked), the
    /// objects in install order, then a Helm chart's hooks; with `--show-only`, those of each
    /// flag in turn. A Helm chart's `crds/` files are printed whole, one `# Source:` line per
    /// file and each chart's before its subcharts', as Helm prints them; a charter chart's
    /// CRDs are printed as its other objects.
    pub fn printed(&self) -> Vec<Printed<'_>> {
        let mut out: Vec<Printed<'_>> = Vec::new();
        let helm = self.prepared.chart.kind == ChartKind::Helm;
        if self.crds && helm {
            helm_crd_files(&self.prepared.chart, !self.show_only.is_empty(), &mut out);
        } else if self.crds {
            out.extend(self.rendered.crds.iter().map(printed));
        }
        out.extend(self.rendered.manifests.iter().map(printed));
        out.extend(
            self.rendered
                .hooks
                .iter()
                .filter(|h| !(self.skip_tests && h.is_test()))
                .map(|h| printed(&h.manifest)),
        );
        if self.show_only.is_empty() {
            return out;
        }
        // As Helm: flag by flag, each flag's documents in output order (a document two flags
        // match is printed twice).
        self.show_only
            .iter()
            .flat_map(|w| out.iter().filter(|p| show_only_matches(&p.source, w)))
            .map(|p| Printed {
                source: p.source.clone(),
                text: p.text.clone(),
            })
            .collect()
    }
}

fn printed(m: &Manifest) -> Printed<'_> {
    Printed {
        source: Cow::Borrowed(&m.source),
        text: Cow::Borrowed(m.text()),
    }
}

/// Helm's `CRDObjects` order: the chart's `crds/` files by path, then each subchart's. With
/// `--show-only` Helm cuts its whole output into documents and keeps those with a `# Source:`
/// line: of a CRD file only its first document, trimmed.
fn helm_crd_files<'a>(chart: &'a Chart, show_only: bool, out: &mut Vec<Printed<'a>>) {
    for f in &chart.crds {
        let source = format!("{}/{}", chart.display_path, f.path);
        let text = if show_only {
            let head = format!("# Source: {source}\n");
            let full = format!("{head}{}", f.content);
            let first = render::helm::split_manifests(&full)
                .first()
                .map_or("", |d| d.strip_prefix(head.as_str()).unwrap_or(""))
                .to_string();
            Cow::Owned(first)
        } else {
            Cow::Borrowed(f.content.as_str())
        };
        out.push(Printed {
            source: Cow::Owned(source),
            text,
        });
    }
    for sub in &chart.subcharts {
        helm_crd_files(sub, show_only, out);
    }
}

/// Renders a target offline (`lookup` returns empty), as `release-name` revision 1 unless the
/// target names its release.
pub fn run(globals: &Globals, req: TemplateRequest) -> Result<Template, Error> {
    let (prepared, rendered) = render_offline(
        globals,
        &req.chart,
        req.kube_version.as_deref(),
        req.api_versions.clone(),
        req.notes,
        !req.skip_schema_validation,
    )?;
    let crds = match req.crds {
        Crds::Include => true,
        Crds::Skip => false,
        Crds::KindDefault => prepared.chart.kind == ChartKind::Tera,
    };
    let template = Template {
        prepared,
        rendered,
        crds,
        skip_tests: req.skip_tests,
        show_only: Vec::new(),
    };
    let all = template.printed();
    for want in &req.show_only {
        if !all.iter().any(|p| show_only_matches(&p.source, want)) {
            let mut known: Vec<&str> = all.iter().map(|p| &*p.source).collect();
            known.sort();
            known.dedup();
            return Err(Error::Invalid(format!(
                "--show-only {want}: no rendered object comes from that template; templates with output: {}",
                known.join(", ")
            )));
        }
    }
    Ok(Template {
        show_only: req.show_only,
        ..template
    })
}

/// Prepares, validates against the chart's schema (unless not `schema`), and renders offline
/// for `kube_version` (default: the chart kind's) and `api_versions`.
///
/// A Helm chart's schema check runs on a second thread while the chart renders (both only
/// read the values): the two take comparable time on large schemas. The outcome is the
/// sequential one: values the schema rejects are reported, whatever the render did.
pub fn render_offline(
    globals: &Globals,
    req: &ChartRequest,
    kube_version: Option<&str>,
    api_versions: Vec<String>,
    notes: bool,
    schema: bool,
) -> Result<(Prepared, Rendered), Error> {
    let t0 = std::time::Instant::now();
    let mut prepared = prepare(globals, req, Detail::Fast)?;
    if schema && prepared.chart.kind == ChartKind::Tera {
        prepared.check_schema(req)?;
    }
    tracing::debug!("values loaded and merged in {:?}", t0.elapsed());
    // Provenance only serves messages about values; the render does not need it, and a failed
    // check is repeated with line numbers (`Prepared::check_schema`), so it is dropped off the
    // render's path: on rayon's threads for a Tera chart, on the schema thread for a Helm chart
    // (here when there is no check: starting a thread only for this drop costs more than it).
    let provenance = std::mem::take(&mut prepared.resolved.provenance);
    let opts = RenderOptions {
        release: Some(ReleaseInfo::install(&prepared.release, &prepared.namespace)),
        target: prepared.target_info(),
        capabilities: Capabilities::offline(prepared.chart.kind, kube_version, api_versions),
        notes,
        ..Default::default()
    };
    let t0 = std::time::Instant::now();
    let rendered = match prepared.chart.kind {
        ChartKind::Tera => {
            rayon::spawn(move || drop(provenance));
            let values = std::mem::take(&mut prepared.resolved.values);
            render::render_owned(&prepared.chart, values, &opts)
        }
        ChartKind::Helm if !schema => {
            drop(provenance);
            let values = std::mem::take(&mut prepared.resolved.values);
            render::render_owned(&prepared.chart, values, &opts)
        }
        ChartKind::Helm => {
            let (valid, rendered) = check_while_rendering(&prepared, provenance, &opts);
            if valid {
                rendered
            } else {
                // Merged again with line numbers for the message (and rendered again in case
                // those values pass, as the sequential order would have them).
                prepared.check_schema(req)?;
                drop(std::mem::take(&mut prepared.resolved.provenance));
                render::render(&prepared.chart, &prepared.resolved.values, &opts)
            }
        }
    };
    let rendered = rendered.map_err(|e| explain_render_error(globals, req, e))?;
    prepared.resolved.values = serde_json::Value::Null;
    tracing::debug!("rendered and checked in {:?}", t0.elapsed());
    Ok((prepared, rendered))
}

/// Whether the values pass the chart's schemas, checked on a scoped thread, and the render
/// done meanwhile on this one. The check's thread then frees `provenance`.
fn check_while_rendering(
    prepared: &Prepared,
    provenance: crate::values::Provenance,
    opts: &RenderOptions,
) -> (bool, Result<Rendered, RenderError>) {
    std::thread::scope(|s| {
        let check = std::thread::Builder::new()
            .name("schema".into())
            .spawn_scoped(s, move || {
                let valid = prepared.validate_schema().is_ok();
                drop(provenance);
                valid
            });
        let rendered = render::render(&prepared.chart, &prepared.resolved.values, opts);
        let valid = match check {
            Ok(check) => check
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to be had (resource limits): check here, after the render.
            Err(_) => prepared.validate_schema().is_ok(),
        };
        (valid, rendered)
    })
}

/// A Helm template that read a value nobody set gets the layers that could set it: the
/// values are merged again with line numbers (renders skip them) to name files and lines.
pub fn explain_render_error(globals: &Globals, req: &ChartRequest, e: RenderError) -> Error {
    let RenderError::Helm(mut h) = e else {
        return e.into();
    };
    let Some(missing) = h.missing.clone() else {
        return RenderError::Helm(h).into();
    };
    let Ok(p) = prepare(globals, req, Detail::Full) else {
        return RenderError::Helm(h).into();
    };
    let path: Vec<crate::yaml::PathSeg> = missing
        .scope
        .iter()
        .chain(missing.path.iter())
        .map(|k| crate::yaml::PathSeg::Key(k.clone()))
        .collect();
    // The nearest part of the path that is set, and who set it.
    let mut set_upto = path.len();
    while set_upto > 0 && !value_at(&p.resolved.values, &path[..set_upto]) {
        set_upto -= 1;
    }
    let full = missing.full_path();
    if set_upto > 0 {
        h.help.push(format!(
            "`{full}` is not set; `{}` comes from {}",
            crate::yaml::path_to_string(&path[..set_upto]),
            p.resolved.origin_of(&path[..set_upto])
        ));
    } else {
        h.help.push(format!("`{full}` is not set by any layer"));
    }
    let mut layers: Vec<String> = Vec::new();
    if let Some(v) = &p.chart.values {
        layers.push(format!(
            "{} (chart defaults)",
            p.chart.origin.join(&v.path).display()
        ));
    }
    layers.extend(p.user_layers.iter().cloned());
    h.help.push(format!(
        "layers that could set it, lowest precedence first: {}; or add --set {full}=VALUE",
        layers.join(", ")
    ));
    RenderError::Helm(h).into()
}

fn value_at(v: &serde_json::Value, path: &[crate::yaml::PathSeg]) -> bool {
    let mut node = v;
    for seg in path {
        let crate::yaml::PathSeg::Key(k) = seg else {
            return false;
        };
        match node.get(k) {
            Some(n) if !n.is_null() => node = n,
            _ => return false,
        }
    }
    true
}

/// `--show-only templates/x.yaml` matches `demo/templates/x.yaml` (and a full source path); a
/// pattern (`templates/*.yaml`) is matched as Helm matches it, against the path below the
/// top chart.
fn show_only_matches(source: &str, want: &str) -> bool {
    let want = want.trim_start_matches("./");
    if source == want || source.ends_with(&format!("/{want}")) {
        return true;
    }
    let below_top = source.split_once('/').map_or(source, |(_, rest)| rest);
    GoPattern::new(want).is_ok_and(|p| p.matches(below_top))
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
    let numbers = match prepared.chart.kind {
        ChartKind::Tera => Numbers::AsWritten,
        ChartKind::Helm => Numbers::Helm,
    };
    Ok(if explain {
        Values::Explained(
            crate::values::explain(&prepared.resolved)
                .into_iter()
                .map(|r| ExplainRow {
                    value: numbers.for_display(r.value),
                    ..r
                })
                .collect(),
        )
    } else {
        Values::Merged(numbers.for_display(prepared.resolved.values))
    })
}
