//! Command line interface: clap commands, output formatting, exit codes. The only module that
//! prints.
//!
//! Each command's handler converts its flags into a typed request of [`crate::action`] once
//! ([`args`]), calls the action, and prints the typed result. Exit codes: 0 ok, 1 error, 2
//! "changes present" (diff/plan).

/// `print!` to stdout that returns the write error instead of panicking: a reader that went
/// away (`charter history | head -1`) ends the command quietly ([`CliError::is_broken_pipe`]).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)
    }};
}

/// `println!` to stdout that returns the write error; see [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// `eprintln!` that never panics: a message on stderr that cannot be written (stderr closed)
/// must not stop a deploy halfway.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod args;
mod chart_cmds;
mod diff_cmds;
mod fleet;
mod output;
mod progress;
mod registry_cmds;
mod release_cmds;
mod render_cmds;
mod repo_cmds;
mod test_cmds;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::action::Globals;

/// charter: Kubernetes manifests from Tera or Helm charts, layered per environment and region.
#[derive(Debug, Parser)]
#[command(
    name = "charter",
    version,
    about = "Kubernetes manifest templating and packaging, layered per environment and region",
    long_about = "charter renders charts with values layered per environment and region \
(chart defaults ◄ stack ◄ environment ◄ region ◄ -f ◄ --set), diffs the result against the \
live cluster, applies it, and records every release in the cluster so any revision can be \
rolled back.\n\nCharts are charter's own Tera charts (`apiVersion: charter/v1`) or unmodified \
Helm charts (`apiVersion: v2` or `v1`: Go templates, Sprig, subcharts), rendered as Helm v4.1.4's \
`helm template` renders them; every command takes either (see docs/helm-charts.md).\n\nHooks \
run around install, upgrade, rollback and uninstall with Helm's semantics: `helm.sh/hook`, \
`helm.sh/hook-weight` and `helm.sh/hook-delete-policy` on a Helm chart, `charter.dev/hook`, \
`charter.dev/hook-weight` and `charter.dev/hook-delete-policy` on a charter chart; each waits \
until complete, a failed hook fails the operation, `--no-hooks` skips them. `charter test \
RELEASE` runs the `test` hooks.\n\nA TARGET is a leaf directory of a deploy tree (e.g. \
deploy/app/prod/westus), or `--stack DIR --env E --region R`; Helm-style `RELEASE CHART` \
(a directory, a .tgz or REPO/NAME) also works.",
    after_help = "Examples:\n  charter template testdata/deploy/demo/prod/westus\n  charter template --stack testdata/deploy/demo --env staging --region eastus\n  charter template my-release charts/demo -f my-values.yaml --set image.tag=v2\n  charter install mysite myrepo/wordpress --set wordpressUsername=admin -n blog\n  charter values testdata/deploy/demo/prod/westus --explain\n  charter lint testdata/deploy/demo\n  charter install web oci://ghcr.io/acme/charts/web --version '^1.2' -n shop"
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
    /// Debug log output, as Helm's --debug: the same as -vv.
    #[arg(long, global = true)]
    pub debug: bool,
    /// How long connecting to the Kubernetes API server (TCP and TLS) and its first answer may
    /// take, e.g. 30s [default: 10s].
    #[arg(long, global = true, value_name = "DURATION", value_parser = args::parse_duration)]
    pub request_timeout: Option<std::time::Duration>,
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
    /// Write a new chart (Deployment, Service, values with a schema, NOTES) into NAME.
    #[command(
        long_about = "Write a new charter chart into the directory NAME (created; an existing directory must be empty, nothing is overwritten). The chart deploys a Deployment and a Service from values.yaml, checked by values.schema.json; it lints clean and installs as it is.",
        after_help = "Example:\n  charter create web && charter lint web && charter install web ./web -n web --create-namespace --wait"
    )]
    Create(chart_cmds::CreateArgs),
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
    /// Print a chart's Chart.yaml, values.yaml, README or CRDs, or all of them (local,
    /// repository or oci://).
    #[command(
        after_help = "Examples:\n  charter show values charts/demo\n  charter show chart myrepo/web --version '^1'\n  charter show all web-1.2.0.tgz"
    )]
    Show(repo_cmds::ShowArgs),
    /// Chart dependencies: update (resolve, vendor, lock), build (restore from Chart.lock), list.
    Dep(repo_cmds::DepArgs),
    /// Install a chart as a new release: apply in dependency order, record revision 1.
    Install(release_cmds::InstallArgs),
    /// Upgrade a release to a new revision (prunes objects that left the chart).
    Upgrade(release_cmds::UpgradeArgs),
    /// Delete a release's objects and records (--keep-history keeps the records).
    Uninstall(release_cmds::UninstallArgs),
    /// Show a release's revisions.
    History(release_cmds::HistoryArgs),
    /// Roll a release back to an earlier revision (default: the previous deployed one).
    Rollback(release_cmds::RollbackArgs),
    /// Run a release's tests (its `test` hooks): exit 1 when one fails (--logs: their Pods'
    /// logs).
    Test(test_cmds::TestArgs),
    /// Move a release Helm installed into charter's records (--to-helm: back to Helm's).
    Adopt(release_cmds::AdoptArgs),
    /// Print a release's values (--all: merged with the defaults), manifest, notes, hooks,
    /// metadata, or all of it (--revision N).
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
cluster of its own charter.yaml kube context / kubeconfig, many at once (--parallel in all, \
--per-cluster per API server). Prints each target's diff, one summary table (wave, objects to \
add, change, prune, drifted, errors) and the rollout's waves and gates (`wave:`, `after:`, \
`gate:` in charter.yaml; docs/fleet.md). A wave cycle, an `after:` naming no level or two \
targets deploying the same release are refused before any cluster is contacted. --out writes a \
plan file (schemas/plan.schema.json) with fingerprints of each target's rendered objects and \
live state and the waves, for `charter apply --plan`. Exit codes: 0 nothing to change, 2 some \
target has changes (or drift with --fail-on-drift), 1 some target failed.",
        after_help = "Examples:\n  charter plan deploy/app\n  charter plan deploy/app --out plan.json -o markdown > plan.md"
    )]
    Plan(diff_cmds::PlanArgs),
    /// Install or upgrade every target of a deploy tree, or exactly the targets of a plan.
    #[command(
        long_about = "Install or upgrade (as `charter upgrade --install`) every target below DIR, \
wave by wave (`wave:` and `after:` in charter.yaml; without them every target is in wave 0): the \
targets of a wave together (--parallel, --per-cluster), each waited ready with --wait, then the \
wave's gates (`gate:`: a command, or every object ready for a while). A failed target or gate \
holds the later waves back (--continue-on-failure goes on; --fail-fast starts nothing more). \
--until WAVE and --only TARGETS roll out part of the tree. With --plan FILE, apply the targets \
of a plan made by `charter plan --out` in its waves, refusing a target whose rendered objects \
or live state no longer match the plan (and a plan from another charter version or edited by \
hand); planned targets without changes are left alone. Exit code 1 when any target or gate \
failed or was refused. See docs/fleet.md.",
        after_help = "Examples:\n  charter apply deploy/app --wait\n  charter apply deploy/app --wait --until staging\n  charter apply deploy/app --only prod/eastus\n  charter plan deploy/app --out plan.json && charter apply --plan plan.json --wait"
    )]
    Apply(diff_cmds::ApplyArgs),
    /// Print charter's version.
    Version,
    /// Print the environment variables charter reads, with the values in effect.
    #[command(
        after_help = "Examples:\n  charter env\n  charter env XDG_CACHE_HOME\n  charter env -o json"
    )]
    Env {
        /// Print only this variable's value.
        name: Option<String>,
    },
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
    broken_pipe: bool,
}

impl CliError {
    fn new(message: impl std::fmt::Display) -> CliError {
        CliError {
            message: message.to_string(),
            code: 1,
            broken_pipe: false,
        }
    }

    /// Whether writing the output failed because its reader went away (`| head`): not an
    /// error of the command, which ends quietly.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }
}

/// Whether `e` (or an error it wraps) is a write to a pipe whose reader is gone.
fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let kind = err
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                err.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        if kind == Some(std::io::ErrorKind::BrokenPipe) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The exit code of a command that printed its result: `code`, also when the reader of its
/// output went away early (diff and plan keep their "changes present" answer).
fn printed(code: i32, result: Result<(), CliError>) -> CmdResult {
    match result {
        Err(e) if e.is_broken_pipe() => Ok(code),
        other => other.map(|()| code),
    }
}

impl GlobalArgs {
    /// What actions read of the global flags.
    fn globals(&self) -> Globals {
        Globals {
            kubeconfig: self.kubeconfig.clone(),
            kube_context: self.kube_context.clone(),
            namespace: self.namespace.clone(),
            warnings: output::warnings(),
            request_timeout: self.request_timeout,
            connections: None,
        }
    }
}

impl<E: std::error::Error + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        let broken_pipe = is_broken_pipe(&e);
        // An operation a signal stopped exits as the signal would have ended it.
        let code = match (&e as &dyn std::error::Error).downcast_ref::<crate::action::Error>() {
            Some(crate::action::Error::Interrupted { signal, .. }) => signal.exit_code(),
            _ => 1,
        };
        CliError {
            broken_pipe,
            code,
            ..CliError::new(e)
        }
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
    let verbose = if cli.global.debug {
        cli.global.verbose.max(2)
    } else {
        cli.global.verbose
    };
    init_logging(verbose);
    if let Err(e) = crate::interrupt::listen() {
        tracing::warn!(
            "cannot handle SIGINT/SIGTERM ({e}); an interrupted operation leaves its revision pending"
        );
    }
    let mut cli = cli;
    if cli.global.format == Some(Format::Markdown)
        && !matches!(cli.command, Command::Diff(_) | Command::Plan(_))
    {
        say!(
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
        Command::Test(args) => test_cmds::test(&cli.global, args),
        Command::Adopt(args) => release_cmds::adopt(&cli.global, args),
        Command::Get(args) => release_cmds::get(&cli.global, args),
        Command::List(args) => release_cmds::list(&cli.global, args),
        Command::Status(args) => release_cmds::status(&cli.global, args),
        Command::Values(args) => render_cmds::values(&cli.global, args, set_flags),
        Command::Lint(args) => render_cmds::lint(&cli.global, args, set_flags),
        Command::Create(args) => chart_cmds::create(&cli.global, args),
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
        Command::Env { name } => chart_cmds::env(&cli.global, name),
        Command::Version => printed(
            0,
            outln!("charter {}", env!("CARGO_PKG_VERSION")).map_err(Into::into),
        ),
        Command::Completion { shell } => {
            // Into a buffer: clap_complete panics when its writer fails (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "charter", &mut script);
            printed(0, std::io::stdout().write_all(&script).map_err(Into::into))
        }
    };
    match result {
        Ok(code) => code,
        // The reader of the output went away: nothing to say, and nobody to say it to.
        Err(e) if e.is_broken_pipe() => 0,
        Err(e) => {
            let _ = std::io::stdout().flush();
            say!("error: {}", e.message.trim_end());
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
