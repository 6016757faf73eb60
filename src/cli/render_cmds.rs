//! `charter template`, `values` and `lint`: rendering without a cluster.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::args::ChartArgs;
use super::{CliError, CmdResult, GlobalArgs, OutputFormat, output};
use crate::action::lint::{LintReport, LintRequest, Severity};
use crate::action::template::{self, Crds, Printed, TemplateRequest, Values};
use crate::values::SetFlag;

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
    /// Leave out the objects from crds/ directories (a charter chart prints them by default).
    #[arg(long, conflicts_with = "include_crds")]
    pub skip_crds: bool,
    /// Print the objects from crds/ directories (a Helm chart leaves them out by default, as
    /// `helm template` does).
    #[arg(long)]
    pub include_crds: bool,
    /// Leave out a Helm chart's test hooks (helm.sh/hook: test).
    #[arg(long)]
    pub skip_tests: bool,
    /// Kubernetes version for capabilities and kubeVersion checks [default: v1.34.0 for a
    /// charter chart, v1.35.0 for a Helm chart, as Helm v4.1.4 assumes].
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// API versions available (for capabilities.api_versions; a Helm chart sees Helm's
    /// default set besides); repeatable, or comma-separated.
    #[arg(
        short = 'a',
        long = "api-versions",
        value_name = "GROUP/VERSION",
        value_delimiter = ','
    )]
    pub api_versions: Vec<String>,
    /// Do not check the values against the chart's values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
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
    /// Do not check the values against the chart's values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// Chart version range, for a REPO/NAME or oci:// chart (an exact version is an oci://
    /// chart's tag).
    #[arg(long, value_name = "RANGE")]
    pub version: Option<String>,
    #[command(flatten)]
    pub registry: super::args::RegistryFlags,
}

/// `charter template`.
pub fn template(global: &GlobalArgs, args: TemplateArgs, sets: Vec<SetFlag>) -> CmdResult {
    let req = TemplateRequest {
        chart: args.chart.request(sets)?,
        show_only: args.show_only,
        notes: args.notes,
        crds: if args.include_crds {
            Crds::Include
        } else if args.skip_crds {
            Crds::Skip
        } else {
            Crds::KindDefault
        },
        skip_tests: args.skip_tests,
        kube_version: args.kube_version,
        api_versions: args.api_versions,
        skip_schema_validation: args.skip_schema_validation,
    };
    let rendered = template::run(&global.globals(), req)?;
    let printed = rendered.printed();
    if let Some(dir) = &args.output_dir {
        write_output_dir(dir, &printed)?;
        return Ok(0);
    }
    let t0 = std::time::Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    write_printed(&mut out, &printed)?;
    if let Some(notes) = &rendered.rendered.notes {
        writeln!(out, "\nNOTES:\n{}", notes.trim_end())?;
    }
    out.flush()?;
    tracing::debug!("written in {:?}", t0.elapsed());
    drop(out);
    drop(printed);
    // The process ends right after printing: freeing tens of thousands of objects one by one
    // would only cost time.
    std::mem::forget(rendered);
    Ok(0)
}

/// Each piece after its `---` and `# Source:` lines, as [`crate::manifest::write_stream`] writes
/// objects.
fn write_printed<'p, 'a: 'p, W: Write>(
    out: &mut W,
    printed: impl IntoIterator<Item = &'p Printed<'a>>,
) -> std::io::Result<()> {
    for p in printed {
        write!(out, "---\n# Source: {}\n{}\n", p.source, p.text)?;
    }
    Ok(())
}

fn write_output_dir(dir: &Path, printed: &[Printed<'_>]) -> Result<(), CliError> {
    let mut files: indexmap::IndexMap<&str, Vec<&Printed<'_>>> = indexmap::IndexMap::new();
    for p in printed {
        files.entry(&p.source).or_default().push(p);
    }
    for (source, pieces) in files {
        let path = dir.join(source);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::new(format!("cannot create {}: {e}", parent.display())))?;
        }
        let mut text = Vec::new();
        write_printed(&mut text, pieces)?;
        std::fs::write(&path, text)
            .map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// `charter values`.
pub fn values(global: &GlobalArgs, args: ValuesArgs, sets: Vec<SetFlag>) -> CmdResult {
    let req = args.chart.request(sets)?;
    let values = template::values(&global.globals(), &req, args.explain)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match values {
        Values::Explained(rows) => {
            let format = global.output.unwrap_or(OutputFormat::Table);
            output::write_explain(&mut out, &rows, format)?;
        }
        Values::Merged(v) => match global.output.unwrap_or(OutputFormat::Yaml) {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut out, &v)?;
                writeln!(out)?;
            }
            _ => out.write_all(crate::yaml::to_yaml(&v).as_bytes())?,
        },
    }
    Ok(0)
}

/// `charter lint`.
pub fn lint(global: &GlobalArgs, args: LintArgs, sets: Vec<SetFlag>) -> CmdResult {
    let req = LintRequest {
        path: args.path,
        values: args.values,
        sets,
        version: args.version,
        registry: args.registry.settings(),
        skip_schema_validation: args.skip_schema_validation,
    };
    let report = crate::action::lint::run(&global.globals(), &req)?;
    print_lint(global, &report)?;
    Ok(if report.failed(args.strict) { 1 } else { 0 })
}

fn print_lint(global: &GlobalArgs, report: &LintReport) -> Result<(), CliError> {
    let (errors, warnings) = (report.errors(), report.warnings());
    match global.output {
        Some(format @ (OutputFormat::Json | OutputFormat::Yaml)) => {
            let v = serde_json::json!({"findings": report.findings, "errors": errors, "warnings": warnings, "linted": report.linted});
            output::print_data(format, &v)?;
        }
        _ => {
            for f in &report.findings {
                let tag = match f.severity {
                    Severity::Error => "[ERROR]",
                    Severity::Warning => "[WARNING]",
                };
                outln!("{tag} {}: {}", f.location, f.message.trim_end())?;
            }
            outln!(
                "{} linted, {errors} error(s), {warnings} warning(s)",
                report.linted
            )?;
        }
    }
    Ok(())
}
