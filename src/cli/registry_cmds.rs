//! `charter push` and `charter registry login|logout`.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::args::RegistryFlags;
use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::action::registry::{self, LoginRequest, PushRequest};

/// Flags of `charter push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The chart archive (`charter package` makes one); a `.tgz.prov` beside it is pushed too.
    #[arg(value_name = "CHART.tgz")]
    pub archive: PathBuf,
    /// The registry path: the chart goes to oci://HOST/PATH/NAME:VERSION.
    #[arg(value_name = "oci://HOST/PATH")]
    pub destination: String,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// `charter registry`.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(Debug, Subcommand)]
enum RegistryCommand {
    /// Check credentials against a registry and save them for charter (mode 0600).
    #[command(
        long_about = "Check a user name and password (or token) against an OCI registry and save \
them in charter's registries.yaml (${XDG_CONFIG_HOME:-~/.config}/charter, mode 0600). Nothing \
is saved when the registry refuses them. Credentials are looked up in this order: charter's \
logins, then Docker's config.json (auths, credHelpers, credsStore).",
        after_help = "Examples:\n  printf %s \"$TOKEN\" | charter registry login ghcr.io -u me --password-stdin\n  charter registry login 127.0.0.1:5000 -u ci -p secret --ca-file ca.pem"
    )]
    Login {
        /// The registry, HOST[:PORT].
        #[arg(value_name = "HOST")]
        host: String,
        /// User name.
        #[arg(short = 'u', long, value_name = "USER")]
        username: String,
        /// Password or token (visible to other users of this machine; prefer --password-stdin).
        #[arg(
            short = 'p',
            long,
            value_name = "PASSWORD",
            conflicts_with = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password or token from standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        registry: RegistryFlags,
    },
    /// Remove charter's saved credentials for a registry.
    Logout {
        /// The registry, HOST[:PORT].
        #[arg(value_name = "HOST")]
        host: String,
    },
}

/// `charter push`.
pub fn push(global: &GlobalArgs, args: PushArgs) -> CmdResult {
    let pushed = registry::push(&PushRequest {
        archive: args.archive,
        destination: args.destination,
        registry: args.registry.settings(),
    })?;
    let mut reference = pushed.reference.clone();
    reference.digest = None;
    match global.output.unwrap_or(OutputFormat::Table) {
        OutputFormat::Table => {
            println!("Pushed: {reference}");
            println!("Digest: {}", pushed.manifest_digest);
        }
        format => super::output::print_data(
            format,
            &serde_json::json!({
                "ref": reference.to_string(),
                "digest": pushed.manifest_digest,
                "chartDigest": pushed.chart_digest,
                "name": pushed.metadata.name,
                "version": pushed.metadata.version,
            }),
        )?,
    }
    Ok(0)
}

/// `charter registry login|logout`.
pub fn registry(_global: &GlobalArgs, args: RegistryArgs) -> CmdResult {
    match args.command {
        RegistryCommand::Login {
            host,
            username,
            password,
            password_stdin,
            registry: connection,
        } => {
            let password = match (password, password_stdin) {
                (Some(p), _) => p,
                (None, true) => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s).map_err(|e| {
                        CliError::new(format!("--password-stdin: cannot read standard input: {e}"))
                    })?;
                    s.trim_end_matches(['\n', '\r']).to_string()
                }
                (None, false) => {
                    return Err(CliError::new(
                        "registry login needs the password: pass it on standard input with --password-stdin (e.g. `printf %s \"$TOKEN\" | charter registry login HOST -u USER --password-stdin`) or with -p",
                    ));
                }
            };
            let host = registry::registry_host(&host)?;
            let file = registry::login(&LoginRequest {
                host: host.clone(),
                username,
                password,
                registry: connection.settings(),
            })?;
            println!("Login Succeeded: {host} (saved in {})", file.display());
            Ok(0)
        }
        RegistryCommand::Logout { host } => {
            let host = registry::registry_host(&host)?;
            let file = registry::logout(&host)?;
            println!(
                "Removing login credentials for {host} (from {})",
                file.display()
            );
            Ok(0)
        }
    }
}
