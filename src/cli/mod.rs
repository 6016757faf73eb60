//! Command line interface: clap commands, output formatting, exit codes. The only module that
//! prints.
//!
//! Each command's handler converts its flags into a typed request of [`crate::action`] once
//! ([`args`]), calls the action, and prints the typed result. Exit codes: 0 ok, 1 error, 2
//! "changes present" (diff/plan).

mod args;
mod diff_cmds;
mod output;
mod progress;
mod registry_cmds;
mod release_cmds;
mod render_cmds;
mod repo_cmds;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::action::Globals;

/// charter: Kubernetes manifests from Tera charts, layered per environment and region.
#[derive(Debug, Parser)]
#[command(
    name = "charter",
    version,
    about = "Kubernetes manifest templating and packaging, layered per environment and region",
    long_about = "charter renders Tera charts with values layered per environment and region \
(chart defaults ◄ stack ◄ environment ◄ region ◄ -f ◄ --set), diffs the result against the \
live cluster, applies it, and records every release in the cluster so any revision can be \
rolled back.\n\nA TARGET is a leaf directory of a deploy tree (e.g. deploy/app/prod/westus), or \
`--stack DIR --env E --region R`; Helm-style `RELEASE CHART` also works.",
    after_help = "Examples:\n  charter template testdata/deploy/demo/prod/westus\n  charter template --stack testdata/deploy/demo --env staging --region eastus\n  charter template my-release charts/demo -f my-values.yaml --set image.tag=v2\n  charter values testdata/deploy/demo/prod/westus --explain\n  charter lint testdata/deploy/demo\n  charter install web oci://ghcr.io/acme/charts/web --version '^1.2' -n shop"
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: the target's charter.yaml `kubeconfig`, else
    /// $KUBECONFIG, else ~/.kube/config).
    // Not `env = "KUBECONFIG"`: the variable must not override a target's own kubeconfig
    // (cluster::kubeconfig_path reads it when neither is given).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// Namespace of the release (default: the target's charter.yaml, else `default`).
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// Output format where a command prints data (`markdown`: diff and plan only).
    #[arg(
        short = 'o',
        long = "output",
        global = true,
        value_enum,
        value_name = "FORMAT"
    )]
    pub format: Option<Format>,
    /// `--output` for commands that print a table, YAML or JSON (set from `format`).
    #[arg(skip)]
    pub output: Option<OutputFormat>,
    /// Do not color output.
    #[arg(long, global = true, env = "NO_COLOR", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub no_color: Option<bool>,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `-o/--output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable table.
    Table,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

/// `-o/--output` as given: the [`OutputFormat`]s, and Markdown for diff and plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable table (for diff and plan: the text diff).
    Table,
    /// YAML.
    Yaml,
    /// JSON.
    Json,
    /// Markdown, for a pull-request comment (diff and plan).
    Markdown,
}

impl Format {
    /// The format for commands that do not print Markdown.
    fn common(self) -> Option<OutputFormat> {
        match self {
            Format::Table => Some(OutputFormat::Table),
            Format::Yaml => Some(OutputFormat::Yaml),
            Format::Json => Some(OutputFormat::Json),
            Format::Markdown => None,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a chart for a target and print the manifests (no cluster needed).
    #[command(
        long_about = "Render a chart for a target and print the manifests, ordered for install \
(Namespaces, CRDs, RBAC, config, Services, workloads, … unknown kinds last), each preceded by \
`# Source: <chart>/templates/<file>`. No cluster is contacted: `lookup` returns empty."
    )]
    Template(render_cmds::TemplateArgs),
    /// Print the merged values of a target; --explain shows which layer set each value.
    Values(render_cmds::ValuesArgs),
    /// Check a chart or every target of a deploy tree: structure, schema, rendering, objects.
    Lint(render_cmds::LintArgs),
    /// Package a chart directory into a reproducible <name>-<version>.tgz.
    Package(repo_cmds::PackageArgs),
    /// Chart repositories: index a directory; add, list, update, remove configured ones.
    Repo(repo_cmds::RepoArgs),
    /// Search the configured repositories' charts.
    Search(repo_cmds::SearchArgs),
    /// Download a chart from a repository or OCI registry (verified against its digest).
    #[command(
        long_about = "Download a chart: REPO/NAME from a configured repository (the highest version \
in --version's range, verified against the index's sha256), an https URL, or an OCI registry \
reference oci://HOST/PATH/NAME with a tag (:1.2.3), a digest (@sha256:…) or --version (an exact \
version, or a range resolved against the tags). Registry content is verified against its \
digests and cached: pulling a cached chart again asks the registry only which digest the tag \
names (and nothing at all for a digest reference).",
        after_help = "Examples:\n  charter pull shop/web --version '^1.2'\n  charter pull oci://ghcr.io/acme/charts/web --version 1.2.3 --untar\n  charter pull oci://127.0.0.1:5000/charts/web@sha256:0f3c… --ca-file ca.pem -d vendor/"
    )]
    Pull(repo_cmds::PullArgs),
    /// Push a chart archive to an OCI registry, as Helm's chart artifact.
    #[command(
        long_about = "Push a packaged chart (.tgz) to an OCI registry as Helm's chart artifact \
(config application/vnd.cncf.helm.config.v1+json, layer \
application/vnd.cncf.helm.chart.content.v1.tar+gzip, the provenance file when CHART.tgz.prov \
exists), tagged with the chart's version ('+' written '_'). The chart goes to \
oci://HOST/PATH/NAME:VERSION; Helm pulls it as it pulls its own pushes. Credentials: \
`charter registry login`, else Docker's config.json.",
        after_help = "Examples:\n  charter package charts/web && charter push web-1.2.3.tgz oci://ghcr.io/acme/charts\n  charter push web-1.2.3.tgz oci://127.0.0.1:5000/charts --ca-file ca.pem"
    )]
    Push(registry_cmds::PushArgs),
    /// Log in to or out of an OCI registry.
    Registry(registry_cmds::RegistryArgs),
    /// Print a chart's Chart.yaml, values.yaml or README (local, repository or oci://).
    Show(repo_cmds::ShowArgs),
    /// Chart dependencies: update (resolve, vendor, lock), build (restore from Chart.lock), list.
    Dep(repo_cmds::DepArgs),
    /// Install a chart as a new release: apply in dependency order, record revision 1.
    Install(release_cmds::DeployArgs),
    /// Upgrade a release to a new revision (prunes objects that left the chart).
    Upgrade(release_cmds::UpgradeArgs),
    /// Delete a release's objects and records (--keep-history keeps the records).
    Uninstall(release_cmds::UninstallArgs),
    /// Show a release's revisions.
    History(release_cmds::HistoryArgs),
    /// Roll a release back to an earlier revision (default: the previous deployed one).
    Rollback(release_cmds::RollbackArgs),
    /// Move a release Helm installed into charter's records (--to-helm: back to Helm's).
    Adopt(release_cmds::AdoptArgs),
    /// Print a release's values, manifest, notes or whole record (--revision N).
    Get(release_cmds::GetArgs),
    /// List releases (-A every namespace, --all every status, --status S).
    List(release_cmds::ListArgs),
    /// Show a release's latest revision, its objects and their readiness, and its notes.
    Status(release_cmds::StatusArgs),
    /// Show what an install/upgrade of a target would change, and drift from the last release.
    #[command(
        long_about = "Show what installing or upgrading a target would change in the cluster, and, \
separately, where the cluster drifted from what the last release applied (edits by hand, \
`kubectl scale`). Each object is rendered as install/upgrade would apply it and compared, as the \
API server would store it (server-side apply dry run), with the live object; server defaults, \
status and bookkeeping fields never show. Secret values are masked. Ignore rules (`ignore:` in \
charter.yaml, --ignore) remove fields from the comparison and from the exit code.\n\n\
Output: a unified diff per object (colored on a terminal), -o json (schemas/diff.schema.json) or \
-o markdown (a pull-request comment). Exit codes: 0 nothing to change, 2 changes (or drift with \
--fail-on-drift), 1 error. See docs/diff.md.",
        after_help = "Examples:\n  charter diff deploy/app/prod/westus\n  charter diff deploy/app/prod/westus --ignore Deployment:/spec/replicas -o markdown\n  charter diff my-release charts/demo -n demo --set image.tag=v2"
    )]
    Diff(diff_cmds::DiffArgs),
    /// Diff every target of a deploy tree against its own cluster: one report, one exit code.
    #[command(
        long_about = "Render and diff every target (leaf directory) below DIR, each against the \
cluster of its own charter.yaml kube context / kubeconfig, several at once (--parallel). Prints \
each target's diff and one summary table (objects to add, change, prune, drifted, errors). \
--out writes a plan file (schemas/plan.schema.json) with fingerprints of each target's rendered \
objects and live state, for `charter apply --plan`. Exit codes: 0 nothing to change, 2 some \
target has changes (or drift with --fail-on-drift), 1 some target failed.",
        after_help = "Examples:\n  charter plan deploy/app\n  charter plan deploy/app --out plan.json -o markdown > plan.md"
    )]
    Plan(diff_cmds::PlanArgs),
    /// Install or upgrade every target of a deploy tree, or exactly the targets of a plan.
    #[command(
        long_about = "Install or upgrade (as `charter upgrade --install`) every target below DIR, \
one after another. With --plan FILE, apply the targets of a plan made by `charter plan --out`, \
refusing a target whose rendered objects or live state no longer match the plan (and a plan \
from another charter version or edited by hand); planned targets without changes are left \
alone. A failing target does not stop the others unless --fail-fast; the exit code is 1 when \
any target failed or was refused.",
        after_help = "Examples:\n  charter apply deploy/app --wait\n  charter plan deploy/app --out plan.json && charter apply --plan plan.json"
    )]
    Apply(diff_cmds::ApplyArgs),
    /// Print charter's version.
    Version,
    /// Print a shell completion script.
    Completion {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// An error for the user: one paragraph, already naming the file/line or flag.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: i32,
}

impl CliError {
    fn new(message: impl std::fmt::Display) -> CliError {
        CliError {
            message: message.to_string(),
            code: 1,
        }
    }
}

impl GlobalArgs {
    /// What actions read of the global flags.
    fn globals(&self) -> Globals {
        Globals {
            kubeconfig: self.kubeconfig.clone(),
            kube_context: self.kube_context.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::new(e)
    }
}

/// Result of a command: the exit code on success.
pub type CmdResult = Result<i32, CliError>;

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let mut matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let set_flags = args::ordered_set_flags(&matches);
    let cli = match Cli::from_arg_matches_mut(&mut matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return 1;
        }
    };
    init_logging(cli.global.verbose);
    let mut cli = cli;
    if cli.global.format == Some(Format::Markdown)
        && !matches!(cli.command, Command::Diff(_) | Command::Plan(_))
    {
        eprintln!(
            "error: -o markdown is only for `charter diff` and `charter plan`; use table, yaml or json"
        );
        return 1;
    }
    cli.global.output = cli.global.format.and_then(Format::common);
    let result = match cli.command {
        Command::Template(args) => render_cmds::template(&cli.global, args, set_flags),
        Command::Install(args) => release_cmds::install(&cli.global, args, set_flags),
        Command::Upgrade(args) => release_cmds::upgrade(&cli.global, args, set_flags),
        Command::Uninstall(args) => release_cmds::uninstall(&cli.global, args),
        Command::History(args) => release_cmds::history(&cli.global, args),
        Command::Rollback(args) => release_cmds::rollback(&cli.global, args),
        Command::Adopt(args) => release_cmds::adopt(&cli.global, args),
        Command::Get(args) => release_cmds::get(&cli.global, args),
        Command::List(args) => release_cmds::list(&cli.global, args),
        Command::Status(args) => release_cmds::status(&cli.global, args),
        Command::Values(args) => render_cmds::values(&cli.global, args, set_flags),
        Command::Lint(args) => render_cmds::lint(&cli.global, args, set_flags),
        Command::Package(args) => repo_cmds::package(&cli.global, args),
        Command::Repo(args) => repo_cmds::repo(&cli.global, args),
        Command::Search(args) => repo_cmds::search_cmd(&cli.global, args),
        Command::Pull(args) => repo_cmds::pull(&cli.global, args),
        Command::Push(args) => registry_cmds::push(&cli.global, args),
        Command::Registry(args) => registry_cmds::registry(&cli.global, args),
        Command::Show(args) => repo_cmds::show_cmd(&cli.global, args),
        Command::Dep(args) => repo_cmds::dep(&cli.global, args),
        Command::Diff(args) => diff_cmds::diff(&cli.global, args, set_flags),
        Command::Plan(args) => diff_cmds::plan(&cli.global, args),
        Command::Apply(args) => diff_cmds::apply(&cli.global, args),
        Command::Version => {
            println!("charter {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Command::Completion { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "charter", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("error: {}", e.message.trim_end());
            e.code
        }
    }
}

fn init_logging(verbose: u8) {
    // kube's client logs every failed request itself; charter reports the outcome once, so
    // those lines only show from -vv on.
    let level = match verbose {
        0 => "warn,kube_client=off",
        1 => "info,kube_client=warn",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHARTER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
