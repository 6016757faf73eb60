//! The Tera engine, for `charter/v1` charts: one Tera environment per chart (its templates and
//! the partials of its library dependencies), the template context, templates rendered in
//! parallel and checked as they render ([`super::check`]).

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use tera::{Context, Tera};

use super::check::{check_output, render_and_check};
use super::functions::{self, RenderState};
use super::{
    ReleaseInfo, RenderError, RenderOptions, Rendered, check_kube_version, collect_charts,
};
use crate::chart::{Chart, ChartType, is_partial};
use crate::manifest::{self, Manifest};

pub(super) fn render(
    chart: &Chart,
    values: Cow<'_, serde_json::Value>,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let state = Arc::new(RenderState {
        previous_generated: opts.previous_generated.clone(),
        lookup: opts.lookup.clone(),
        ..Default::default()
    });
    let release = opts
        .release
        .clone()
        .unwrap_or_else(|| ReleaseInfo::install("release-name", "default"));
    let mut jobs = Vec::new();
    collect_charts(chart, values, &mut jobs);
    let mut contexts = Vec::with_capacity(jobs.len());
    let t0 = std::time::Instant::now();
    for (c, scoped) in jobs {
        check_kube_version(c, &opts.capabilities)?;
        let ctx = context(c, scoped, &release, opts)?;
        contexts.push((c, ctx));
    }
    tracing::debug!("template contexts built in {:?}", t0.elapsed());

    let mut manifests = Vec::new();
    let mut crds = Vec::new();
    let mut notes = None;
    for (i, (c, ctx)) in contexts.into_iter().enumerate() {
        let tera = build_tera(c, state.clone())?;
        let rendered: Vec<Result<Vec<Manifest>, RenderError>> =
            if c.meta.chart_type == ChartType::Library {
                Vec::new()
            } else {
                c.renderable_templates()
                    .collect::<Vec<_>>()
                    .par_iter()
                    .map(|t| {
                        let name = template_name(c, &t.path);
                        render_and_check(&c.display_path, &name, |sink| {
                            tera.render_to(&name, &ctx, sink)
                                .map_err(|e| convert_error(&c.display_path, e))
                        })
                    })
                    .collect()
            };
        for r in rendered {
            let r = r?;
            if manifests.is_empty() {
                manifests = r;
            } else {
                manifests.extend(r);
            }
        }
        for crd in &c.crds {
            let name = template_name(c, &crd.path);
            crds.extend(check_output(&name, crd.content.clone())?);
        }
        if i == 0
            && opts.notes
            && let Some(n) = c.notes()
        {
            let name = template_name(c, &n.path);
            notes = Some(
                tera.render(&name, &ctx)
                    .map_err(|e| convert_error(&c.display_path, e))?,
            );
        }
        // Freeing a large context is many small frees: do it off the critical path.
        rayon::spawn(move || drop((tera, ctx)));
    }
    manifest::sort_for_install(&mut manifests);
    let generated = state
        .generated
        .lock()
        .map(|g| g.clone())
        .unwrap_or_default();
    Ok(Rendered {
        manifests,
        crds,
        notes,
        generated,
        hooks: Vec::new(),
    })
}

/// The message of a Tera error without the source excerpt.
pub(crate) fn tera_message(e: &tera::Error) -> String {
    match e.kind() {
        tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
            format!(
                "{} ({}:{}:{})",
                r.message(),
                r.filename(),
                r.span().start_line,
                r.span().start_col + 1
            )
        }
        _ => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            msg
        }
    }
}

fn convert_error(chart: &str, e: tera::Error) -> RenderError {
    match e.kind() {
        tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
            let full = e.to_string();
            // Tera's report repeats the message on its first line; keep the excerpt.
            let detail = full
                .split_once('\n')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_default();
            RenderError::Template {
                template: r.filename().to_string(),
                line: r.span().start_line,
                column: r.span().start_col + 1,
                message: r.message().to_string(),
                detail,
            }
        }
        _ => RenderError::Engine {
            chart: chart.to_string(),
            message: tera_message(&e),
        },
    }
}

fn template_name(chart: &Chart, path: &str) -> String {
    format!("{}/{}", chart.display_path, path)
}

/// Converts values to Tera's value type directly (cheaper than going through serde).
fn to_tera(v: &serde_json::Value) -> tera::Value {
    use serde_json::Value as J;
    match v {
        J::Null => tera::Value::none(),
        J::Bool(b) => (*b).into(),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into(),
            (None, Some(u)) => u.into(),
            _ => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        J::String(s) => s.as_str().into(),
        J::Array(a) => a.iter().map(to_tera).collect::<Vec<_>>().into(),
        J::Object(m) => {
            let mut map = tera::Map::with_capacity(m.len());
            for (k, v) in m {
                map.insert(tera::value::Key::from(k.clone()), to_tera(v));
            }
            map.into()
        }
    }
}

/// [`to_tera`] consuming the values: each node is freed as soon as it is converted, so the
/// two copies of a large values tree never coexist in full (a lower peak at 30,000 objects).
fn into_tera(v: serde_json::Value) -> tera::Value {
    use serde_json::Value as J;
    match v {
        J::Array(a) if a.len() >= PARALLEL_CONVERT => {
            a.into_par_iter().map(into_tera).collect::<Vec<_>>().into()
        }
        J::Array(a) => a.into_iter().map(into_tera).collect::<Vec<_>>().into(),
        J::Object(m) if m.len() >= PARALLEL_CONVERT => {
            let entries: Vec<(String, serde_json::Value)> = m.into_iter().collect();
            let converted: Vec<(String, tera::Value)> = entries
                .into_par_iter()
                .map(|(k, v)| (k, into_tera(v)))
                .collect();
            let mut map = tera::Map::with_capacity(converted.len());
            for (k, v) in converted {
                map.insert(tera::value::Key::from(k), v);
            }
            map.into()
        }
        J::Object(m) => {
            let mut map = tera::Map::with_capacity(m.len());
            for (k, v) in m {
                map.insert(tera::value::Key::from(k), into_tera(v));
            }
            map.into()
        }
        other => to_tera(&other),
    }
}

/// Lists and maps at least this long (a fleet's service list) are converted on all cores.
const PARALLEL_CONVERT: usize = 1024;

fn build_tera(chart: &Chart, state: Arc<RenderState>) -> Result<Tera, RenderError> {
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    let cell: Arc<OnceLock<Tera>> = Arc::new(OnceLock::new());
    functions::register(&mut tera, cell.clone(), state);
    let mut sources: Vec<(String, &str)> = chart
        .templates
        .iter()
        .map(|t| (template_name(chart, &t.path), t.content.as_str()))
        .collect();
    add_library_partials(chart, &mut sources);
    tera.add_raw_templates(sources)
        .map_err(|e| convert_error(&chart.display_path, e))?;
    let _ = cell.set(tera.clone());
    Ok(tera)
}

/// Library dependencies contribute their partials (components) to the charts that use them.
fn add_library_partials<'a>(chart: &'a Chart, out: &mut Vec<(String, &'a str)>) {
    for sub in &chart.subcharts {
        if sub.meta.chart_type == ChartType::Library {
            for t in sub.templates.iter().filter(|t| is_partial(&t.path)) {
                out.push((template_name(sub, &t.path), t.content.as_str()));
            }
            add_library_partials(sub, out);
        }
    }
}

fn context(
    chart: &Chart,
    values: Cow<'_, serde_json::Value>,
    release: &ReleaseInfo,
    opts: &RenderOptions,
) -> Result<Context, RenderError> {
    let mut ctx = Context::new();
    let values = match values {
        Cow::Borrowed(v) => to_tera(v),
        Cow::Owned(v) => into_tera(v),
    };
    ctx.insert_value("values", values);
    ctx.insert("release", release);
    let meta = serde_json::to_value(&chart.meta).map_err(|e| RenderError::Engine {
        chart: chart.display_path.clone(),
        message: e.to_string(),
    })?;
    ctx.insert("chart", &meta);
    ctx.insert("target", &opts.target.clone().unwrap_or_default());
    ctx.insert("capabilities", &opts.capabilities);
    let files: serde_json::Map<String, serde_json::Value> = chart
        .files
        .iter()
        .filter_map(|(p, b)| {
            std::str::from_utf8(b)
                .ok()
                .map(|s| (p.clone(), serde_json::Value::String(s.to_string())))
        })
        .collect();
    ctx.insert("files", &files);
    Ok(ctx)
}
