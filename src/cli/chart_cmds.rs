//! `charter show`, `create` and `env`: a chart's parts, a new chart, and charter's environment.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CmdResult, GlobalArgs, OutputFormat};
use crate::action::show::{self, Part, ShowRequest};
use crate::repo::ChartSpec;

/// `charter show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(subcommand)]
    part: ShowPart,
}

#[derive(Debug, Subcommand)]
enum ShowPart {
    /// Print the chart's Chart.yaml.
    Chart(ShowChart),
    /// Print the chart's default values (values.yaml).
    Values(ShowChart),
    /// Print the chart's README.
    Readme(ShowChart),
    /// Print the CRDs of the chart (crds/) and of its dependencies.
    Crds(ShowChart),
    /// Print Chart.yaml, values, README and CRDs, as YAML documents.
    All(ShowChart),
}

/// The chart `show` reads.
#[derive(Debug, Args)]
struct ShowChart {
    /// A chart directory or .tgz, REPO/NAME of a configured repository, or an https URL.
    #[arg(value_name = "CHART")]
    chart: String,
    /// Version range the chart must satisfy (from a repository: the highest matching version).
    #[arg(long, value_name = "RANGE")]
    version: Option<String>,
    /// Consider pre-release versions when no --version is given.
    #[arg(long)]
    devel: bool,
}

/// `charter show chart|values|readme|crds|all CHART`.
pub fn show(_global: &GlobalArgs, args: ShowArgs) -> CmdResult {
    let (part, c) = match args.part {
        ShowPart::Chart(c) => (Part::Chart, c),
        ShowPart::Values(c) => (Part::Values, c),
        ShowPart::Readme(c) => (Part::Readme, c),
        ShowPart::Crds(c) => (Part::Crds, c),
        ShowPart::All(c) => (Part::All, c),
    };
    let text = show::run(&ShowRequest {
        chart: ChartSpec::parse(&c.chart),
        version: c.version,
        devel: c.devel,
        part,
    })?;
    out!("{text}")?;
    Ok(0)
}

/// Flags of `charter create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The directory to write the chart into; its last component is the chart's name.
    #[arg(value_name = "NAME")]
    pub dir: PathBuf,
}

/// `charter create NAME`.
pub fn create(_global: &GlobalArgs, args: CreateArgs) -> CmdResult {
    crate::action::create::run(&args.dir)?;
    outln!(
        "Created chart {} (charter lint {0}; charter install RELEASE {0})",
        args.dir.display()
    )?;
    Ok(0)
}

/// `charter env [NAME]`.
pub fn env(global: &GlobalArgs, name: Option<String>) -> CmdResult {
    let vars = crate::action::env::run();
    if let Some(name) = name {
        let Some(v) = vars.iter().find(|v| v.name == name) else {
            let known: Vec<&str> = vars.iter().map(|v| v.name).collect();
            return Err(super::CliError::new(format!(
                "charter does not read {name}; it reads {}",
                known.join(", ")
            )));
        };
        outln!("{}", v.value)?;
        return Ok(0);
    }
    match global.output {
        Some(OutputFormat::Json | OutputFormat::Yaml) => {
            super::output::print_data(global.output.unwrap_or(OutputFormat::Json), &vars)?
        }
        _ => {
            for v in &vars {
                outln!("{}={:?}", v.name, v.value)?;
            }
        }
    }
    Ok(0)
}
