//! `charter template` and `charter values`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::input::{ChartArgs, Prepared, SetFlag, prepare, prepare_with};
use super::{CliError, CmdResult, GlobalArgs, OutputFormat, output};
use crate::manifest::Manifest;
use crate::render::{self, Capabilities, ReleaseInfo, RenderOptions, Rendered};

/// Flags of `charter template`.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    #[command(flatten)]
    pub chart: ChartArgs,
    /// Write one file per template under DIR (DIR/<chart>/templates/<file>) instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Only print objects from these templates (e.g. templates/deployment.yaml); repeatable.
    #[arg(short = 's', long = "show-only", value_name = "TEMPLATE")]
    pub show_only: Vec<String>,
    /// Also render and print templates/NOTES.txt.
    #[arg(long)]
    pub notes: bool,
    /// Leave out the objects from crds/ directories.
    #[arg(long)]
    pub skip_crds: bool,
    /// Kubernetes version for capabilities and kubeVersion checks.
    #[arg(long, value_name = "VERSION", default_value = render::DEFAULT_KUBE_VERSION)]
    pub kube_version: String,
    /// API versions available (for capabilities.api_versions); repeatable.
    #[arg(short = 'a', long = "api-versions", value_name = "GROUP/VERSION")]
    pub api_versions: Vec<String>,
}

/// Flags of `charter values`.
#[derive(Debug, Args)]
pub struct ValuesArgs {
    #[command(flatten)]
    pub chart: ChartArgs,
    /// For every value, show the layer that set it (file:line or flag).
    #[arg(long)]
    pub explain: bool,
}

/// Prepares, validates against the chart's schema, and renders.
pub fn prepare_and_render(
    global: &GlobalArgs,
    args: &ChartArgs,
    sets: &[SetFlag],
    caps: Capabilities,
    notes: bool,
    keep_values: bool,
) -> Result<(Prepared, Rendered), CliError> {
    // Line numbers of values only serve messages: prepare without them, and again with them
    // when the schema rejects the values, so the error names the file and line.
    let t0 = std::time::Instant::now();
    let mut prepared = prepare_with(global, args, sets, false, None)?;
    tracing::debug!("values loaded and merged in {:?}", t0.elapsed());
    if validate_schema(&prepared).is_err() {
        validate_schema(&prepare(global, args, sets)?)?;
    }
    // Provenance only serves messages about values; the render does not need it.
    let provenance = std::mem::take(&mut prepared.resolved.provenance);
    rayon::spawn(move || drop(provenance));
    let opts = RenderOptions {
        release: Some(ReleaseInfo::install(&prepared.release, &prepared.namespace)),
        target: prepared.target_info(),
        capabilities: caps,
        notes,
        ..Default::default()
    };
    let values = if keep_values {
        prepared.resolved.values.clone()
    } else {
        std::mem::take(&mut prepared.resolved.values)
    };
    let t0 = std::time::Instant::now();
    let rendered = render::render_owned(&prepared.chart, values, &opts)?;
    tracing::debug!("rendered and checked in {:?}", t0.elapsed());
    Ok((prepared, rendered))
}

/// Validates the merged values against values.schema.json of the chart (and of each subchart
/// for its own section).
pub fn validate_schema(p: &Prepared) -> Result<(), CliError> {
    if let Some((file, schema)) = &p.chart.schema {
        let path = p.chart.origin.join(&file.path);
        crate::values::validate(&path, schema, &p.resolved)?;
    }
    Ok(())
}

/// `charter template`.
pub fn template(global: &GlobalArgs, args: TemplateArgs, sets: Vec<SetFlag>) -> CmdResult {
    let caps = Capabilities {
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
    };
    let (prepared, rendered) =
        prepare_and_render(global, &args.chart, &sets, caps, args.notes, false)?;
    let mut objects: Vec<&Manifest> = Vec::new();
    if !args.skip_crds {
        objects.extend(rendered.crds.iter());
    }
    objects.extend(rendered.manifests.iter());
    if !args.show_only.is_empty() {
        for want in &args.show_only {
            if !objects.iter().any(|m| show_only_matches(&m.source, want)) {
                let mut known: Vec<&str> = objects.iter().map(|m| &*m.source).collect();
                known.dedup();
                return Err(CliError::new(format!(
                    "--show-only {want}: no rendered object comes from that template; templates with output: {}",
                    known.join(", ")
                )));
            }
        }
        objects.retain(|m| {
            args.show_only
                .iter()
                .any(|w| show_only_matches(&m.source, w))
        });
    }
    if let Some(dir) = &args.output_dir {
        write_output_dir(dir, &objects)?;
        return Ok(0);
    }
    let t0 = std::time::Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    output::write_manifests(&mut out, &objects)?;
    if let Some(notes) = &rendered.notes {
        writeln!(out, "\nNOTES:\n{}", notes.trim_end())?;
    }
    out.flush()?;
    tracing::debug!("written in {:?}", t0.elapsed());
    drop(out);
    drop(objects);
    // The process ends right after printing: freeing tens of thousands of objects one by one
    // would only cost time.
    std::mem::forget(rendered);
    std::mem::forget(prepared);
    Ok(0)
}

/// `--show-only templates/x.yaml` matches `demo/templates/x.yaml` (and a full source path).
fn show_only_matches(source: &str, want: &str) -> bool {
    let want = want.trim_start_matches("./");
    source == want || source.ends_with(&format!("/{want}"))
}

fn write_output_dir(dir: &std::path::Path, objects: &[&Manifest]) -> Result<(), CliError> {
    let mut files: indexmap::IndexMap<&str, Vec<&Manifest>> = indexmap::IndexMap::new();
    for m in objects {
        files.entry(&*m.source).or_default().push(m);
    }
    for (source, ms) in files {
        let path = dir.join(source);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::new(format!("cannot create {}: {e}", parent.display())))?;
        }
        let mut buf = Vec::new();
        output::write_manifests(&mut buf, &ms)?;
        std::fs::write(&path, buf)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// `charter values`.
pub fn values(global: &GlobalArgs, args: ValuesArgs, sets: Vec<SetFlag>) -> CmdResult {
    let prepared = prepare(global, &args.chart, &sets)?;
    validate_schema(&prepared)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.explain {
        let format = global.output.unwrap_or(OutputFormat::Table);
        let rows = crate::values::explain(&prepared.resolved);
        output::write_explain(&mut out, &rows, format)?;
    } else {
        match global.output.unwrap_or(OutputFormat::Yaml) {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut out, &prepared.resolved.values)?;
                writeln!(out)?;
            }
            _ => out.write_all(crate::yaml::to_yaml(&prepared.resolved.values).as_bytes())?,
        }
    }
    Ok(0)
}
