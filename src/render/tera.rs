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
use crate::chart::{Chart, ChartType, SourceFile, is_partial};
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
                                .map_err(|e| convert_error(c, e))
                        })
                        .map_err(|e| at_real_path(c, e))
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
            crds.extend(check_output(&name, crd.content.clone()).map_err(|e| at_real_path(c, e))?);
        }
        if i == 0
            && opts.notes
            && let Some(n) = c.notes()
        {
            let name = template_name(c, &n.path);
            notes = Some(tera.render(&name, &ctx).map_err(|e| convert_error(c, e))?);
        }
        // Freeing a large context is many small frees: do it off the critical path.
        rayon::spawn(move || drop((tera, ctx)));
    }
    let (mut manifests, hooks) = super::hook::split_hooks(manifests, super::hook::CHARTER_KEYS)?;
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
        hooks,
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

fn convert_error(chart: &Chart, e: tera::Error) -> RenderError {
    match e.kind() {
        tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
            let full = e.to_string();
            // Tera's report repeats the message on its first line; keep the excerpt.
            let mut detail = full
                .split_once('\n')
                .map(|(_, rest)| rest.to_string())
                .unwrap_or_default();
            let name = r.filename();
            let (mut line, mut column) = (r.span().start_line, r.span().start_col + 1);
            let mut message = r.message().to_string();
            let found = find_template(chart, name);
            // Tera reports an unclosed block at the end of the file (past its last line): point
            // at the tag that opened it instead.
            if let Some((_, t)) = found
                && message == "Unexpected end of input"
                && let Some(open) = unclosed_block(&t.content)
            {
                (line, column) = (open.line, open.column);
                message = format!(
                    "`{{% {} %}}` is never closed: add `{{% end{} %}}` where its block ends",
                    open.tag, open.keyword
                );
                let text = t.content.lines().nth(line - 1).unwrap_or_default();
                let w = line.to_string().len();
                detail = format!(
                    "{:w$}--> {name}:{line}:{column}\n{:w$} |\n{line} | {text}\n{:w$} | {}^",
                    "",
                    "",
                    "",
                    " ".repeat(column - 1)
                );
            }
            // Name the file where the user can open it, not its path inside the chart.
            let mut template = name.to_string();
            if let Some((c, t)) = found
                && c.origin.is_dir()
            {
                template = c.origin.join(&t.path).display().to_string();
                detail = detail.replace(&format!("--> {name}:"), &format!("--> {template}:"));
            }
            RenderError::Template {
                template,
                line,
                column,
                message,
                detail,
            }
        }
        _ => RenderError::Engine {
            chart: chart.display_path.clone(),
            message: tera_message(&e),
        },
    }
}

/// A rendered document that is not an object, named by the file it came from (when the
/// chart is a directory) rather than its path inside the chart.
fn at_real_path(chart: &Chart, e: RenderError) -> RenderError {
    match e {
        RenderError::Manifest(mut m) => {
            let file = chart
                .templates
                .iter()
                .chain(&chart.crds)
                .find(|t| template_name(chart, &t.path) == m.source_name);
            if let Some(t) = file
                && chart.origin.is_dir()
            {
                m.source_name = chart.origin.join(&t.path).display().to_string();
            }
            RenderError::Manifest(m)
        }
        other => other,
    }
}

/// The chart (this one, or a subchart whose partials it uses) and file of a template by the
/// name Tera knows it by.
fn find_template<'c>(chart: &'c Chart, name: &str) -> Option<(&'c Chart, &'c SourceFile)> {
    if let Some(t) = chart
        .templates
        .iter()
        .find(|t| template_name(chart, &t.path) == name)
    {
        return Some((chart, t));
    }
    chart.subcharts.iter().find_map(|s| find_template(s, name))
}

/// A block tag that is never closed.
#[derive(Debug, PartialEq, Eq)]
struct OpenBlock {
    /// The tag as written, without its delimiters (`if values.a`).
    tag: String,
    /// The keyword its end tag is made from (`if` for `endif`).
    keyword: String,
    /// 1-based line and column of its `{%`.
    line: usize,
    column: usize,
}

/// The innermost block of `src` that is opened (`{% if %}`, `for`, `filter`, `block`,
/// `component`, a capturing `set`) and never closed, skipping comments and `raw` blocks.
fn unclosed_block(src: &str) -> Option<OpenBlock> {
    const BLOCKS: [&str; 7] = [
        "if",
        "for",
        "filter",
        "block",
        "component",
        "set",
        "set_global",
    ];
    let mut open: Vec<OpenBlock> = Vec::new();
    let mut rest = src;
    let mut raw = false;
    while let Some(start) = rest.find('{') {
        let after = &rest[start..];
        let offset = src.len() - after.len();
        let close = if after.starts_with("{#") {
            "#}"
        } else if after.starts_with("{%") {
            "%}"
        } else {
            rest = &after[1..];
            continue;
        };
        let Some(end) = after[2..].find(close) else {
            break;
        };
        let inner = after[2..2 + end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        rest = &after[2 + end + 2..];
        if close == "#}" {
            continue;
        }
        let keyword = inner
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        if raw {
            raw = keyword != "endraw";
            continue;
        }
        if keyword == "raw" {
            raw = true;
        } else if let Some(ended) = keyword.strip_prefix("end") {
            if let Some(i) = open.iter().rposition(|b| b.keyword == ended) {
                open.truncate(i);
            }
        } else if BLOCKS.contains(&keyword) && !(keyword.starts_with("set") && inner.contains('='))
        {
            let before = &src[..offset];
            let line = before.matches('\n').count() + 1;
            let column = offset - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            open.push(OpenBlock {
                tag: inner.to_string(),
                keyword: if keyword == "set_global" {
                    "set"
                } else {
                    keyword
                }
                .to_string(),
                line,
                column,
            });
        }
    }
    open.pop()
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
        .map_err(|e| convert_error(chart, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unclosed_block_is_the_innermost_open_one() {
        let open = |src: &str| unclosed_block(src).map(|b| (b.tag, b.keyword, b.line, b.column));
        assert_eq!(open("{% if a %}x{% endif %}"), None);
        assert_eq!(
            open("a\n  {%- if a -%}\n{% for x in y %}{% endfor %}\n"),
            Some(("if a".into(), "if".into(), 2, 3))
        );
        assert_eq!(
            open("{% for x in y %}\n{% if a %}\n{% endif %}"),
            Some(("for x in y".into(), "for".into(), 1, 1))
        );
        // Assignments, comments and raw blocks open nothing.
        assert_eq!(
            open("{% set x = 1 %}{# {% if %} #}{% raw %}{% if %}{% endraw %}"),
            None
        );
        assert_eq!(
            open("{% set_global x %}y"),
            Some(("set_global x".into(), "set".into(), 1, 1))
        );
        assert_eq!(
            open("{% component c() %}{{ x }}"),
            Some(("component c()".into(), "component".into(), 1, 1))
        );
    }
}
