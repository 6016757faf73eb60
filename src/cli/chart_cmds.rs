//! `charter create` and `env`: a new chart, and charter's environment.

use std::path::PathBuf;

use clap::Args;

use super::{CmdResult, GlobalArgs, OutputFormat};

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
