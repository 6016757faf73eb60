//! `charter package`, `repo index|add|list|update|remove`, `search`, `pull`, `show`,
//! `dep update|build|list`.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::args::RegistryFlags;
use super::output::{print_data, print_table, warn};
use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::action::repo::{self, AddRequest, Added, PullRequest, SearchRequest};
use crate::action::show::{self, ShowRequest, ShowWhat};
use crate::chart::PackageOptions;
use crate::repo::{Credentials, deps};

/// Flags of `charter package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Chart directories to package.
    #[arg(value_name = "CHART", default_value = ".")]
    pub charts: Vec<PathBuf>,
    /// Directory to write `<name>-<version>.tgz` into (default: the current directory).
    #[arg(short = 'd', long = "destination", value_name = "DIR")]
    pub destination: Option<PathBuf>,
    /// Set the chart's version in the package.
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Set the chart's appVersion in the package.
    #[arg(long, value_name = "VERSION")]
    pub app_version: Option<String>,
    /// Run `charter dep update` on the chart first.
    #[arg(short = 'u', long)]
    pub dependency_update: bool,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// `charter repo`.
#[derive(Debug, Args)]
pub struct RepoArgs {
    #[command(subcommand)]
    command: RepoCommand,
}

#[derive(Debug, Subcommand)]
enum RepoCommand {
    /// Write DIR/index.yaml for the chart archives in DIR (and its direct subdirectories).
    Index {
        /// The directory holding the .tgz files.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The URL the directory will be served at (urls are relative paths without it).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Merge this existing index into the new one (versions only it has are kept).
        #[arg(long, value_name = "INDEX")]
        merge: Option<PathBuf>,
    },
    /// Add a chart repository and download its index.
    Add {
        /// The repository's name (used as NAME/CHART).
        name: String,
        /// The repository URL (the directory that serves index.yaml).
        url: String,
        /// User name for basic auth.
        #[arg(long, value_name = "USER")]
        username: Option<String>,
        /// Read the password for basic auth from standard input.
        #[arg(long, requires = "username")]
        password_stdin: bool,
        /// PEM file of CA certificates that sign the server's certificate.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        /// Do not verify the server's TLS certificate (unsafe).
        #[arg(long)]
        insecure_skip_tls_verify: bool,
        /// Replace an existing repository of the same name.
        #[arg(long)]
        force_update: bool,
    },
    /// List the configured repositories.
    #[command(visible_alias = "ls")]
    List,
    /// Download the indexes of all (or the named) repositories again.
    #[command(visible_alias = "up")]
    Update {
        /// Repositories to update (default: all).
        names: Vec<String>,
    },
    /// Remove repositories, their credentials and cached indexes.
    #[command(visible_alias = "rm")]
    Remove {
        /// Repositories to remove.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// Flags of `charter search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Case-insensitive text to find in chart names, descriptions and keywords.
    pub keyword: Option<String>,
    /// Only versions in this range (e.g. `^1.2`).
    #[arg(long, value_name = "RANGE")]
    pub version: Option<String>,
    /// Show every matching version, not only the newest per chart.
    #[arg(short = 'l', long)]
    pub versions: bool,
    /// Include pre-release versions.
    #[arg(long)]
    pub devel: bool,
}

/// Flags of `charter pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// REPO/NAME, the https URL of a .tgz, or oci://HOST/PATH/NAME[:TAG][@sha256:DIGEST].
    #[arg(value_name = "REPO/NAME | URL | oci://…")]
    pub chart: String,
    /// Version range; the highest matching version is pulled (default: the newest release).
    /// For oci://, an exact version is the tag, and a range is resolved against the tags.
    #[arg(long, value_name = "RANGE")]
    pub version: Option<String>,
    /// Consider pre-release versions when no --version is given.
    #[arg(long)]
    pub devel: bool,
    /// Unpack the chart into DIR/<name>/ instead of writing the .tgz.
    #[arg(long)]
    pub untar: bool,
    /// Directory to write into (default: the current directory).
    #[arg(short = 'd', long = "destination", value_name = "DIR")]
    pub destination: Option<PathBuf>,
    /// Also fetch the provenance file, <name>-<version>.tgz.prov (oci:// only).
    #[arg(long)]
    pub prov: bool,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// Flags of `charter show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(subcommand)]
    what: ShowCommand,
}

/// The chart and version flags of every `show` subcommand.
#[derive(Debug, Args)]
struct ShowChart {
    /// A chart directory or .tgz, REPO/NAME, an https URL, or oci://HOST/PATH/NAME[:TAG][@sha256:…].
    #[arg(value_name = "CHART")]
    chart: String,
    /// Version range (for oci://, an exact version is the tag).
    #[arg(long, value_name = "RANGE")]
    version: Option<String>,
    /// Consider pre-release versions when no --version is given.
    #[arg(long)]
    devel: bool,
    #[command(flatten)]
    registry: RegistryFlags,
}

#[derive(Debug, Subcommand)]
enum ShowCommand {
    /// Print the chart's Chart.yaml.
    Chart(ShowChart),
    /// Print the chart's values.yaml (its defaults).
    Values(ShowChart),
    /// Print the chart's README.
    Readme(ShowChart),
}

/// `charter dep`.
#[derive(Debug, Args)]
pub struct DepArgs {
    #[command(subcommand)]
    command: DepCommand,
}

#[derive(Debug, Subcommand)]
enum DepCommand {
    /// Resolve the dependency ranges of Chart.yaml, vendor the charts into charts/ and write Chart.lock.
    #[command(visible_alias = "up")]
    Update {
        /// The chart directory.
        #[arg(value_name = "CHART", default_value = ".")]
        chart: PathBuf,
        /// Use the cached indexes of configured repositories instead of downloading them again.
        #[arg(long)]
        skip_refresh: bool,
        #[command(flatten)]
        registry: RegistryFlags,
    },
    /// Restore charts/ exactly as Chart.lock records it (refusing digest mismatches).
    Build {
        /// The chart directory.
        #[arg(value_name = "CHART", default_value = ".")]
        chart: PathBuf,
        #[command(flatten)]
        registry: RegistryFlags,
    },
    /// Show each dependency and whether it is vendored and locked.
    #[command(visible_alias = "ls")]
    List {
        /// The chart directory.
        #[arg(value_name = "CHART", default_value = ".")]
        chart: PathBuf,
    },
}

fn format_of(global: &GlobalArgs) -> OutputFormat {
    global.output.unwrap_or(OutputFormat::Table)
}

/// `charter package`.
pub fn package(_global: &GlobalArgs, args: PackageArgs) -> CmdResult {
    let dest = args.destination.unwrap_or_else(|| PathBuf::from("."));
    let opts = PackageOptions {
        version: args.version,
        app_version: args.app_version,
    };
    for chart in &args.charts {
        let done = repo::package(
            chart,
            &dest,
            &opts,
            args.dependency_update,
            &args.registry.settings(),
        )?;
        for v in &done.vendored {
            eprintln!(
                "dependency {} {}: {}",
                v.locked.name, v.locked.version, v.how
            );
        }
        println!(
            "Packaged {} {} to {} (sha256:{})",
            done.package.name,
            done.package.version,
            done.path.display(),
            done.package.sha256
        );
    }
    Ok(0)
}

/// `charter repo …`.
pub fn repo(global: &GlobalArgs, args: RepoArgs) -> CmdResult {
    match args.command {
        RepoCommand::Index { dir, url, merge } => {
            let done = repo::index(&dir, url.as_deref(), merge.as_deref())?;
            warn(&done.skipped);
            if let (true, Some(m)) = (done.merge_missing, &merge) {
                eprintln!(
                    "note: --merge {} does not exist yet; writing a fresh index",
                    m.display()
                );
            }
            println!(
                "Wrote {} ({} charts, {} versions)",
                done.path.display(),
                done.index.entries.len(),
                done.index.len()
            );
            Ok(0)
        }
        RepoCommand::Add {
            name,
            url,
            username,
            password_stdin,
            ca_file,
            insecure_skip_tls_verify,
            force_update,
        } => {
            let password = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).map_err(|e| {
                    CliError::new(format!("--password-stdin: cannot read standard input: {e}"))
                })?;
                Some(s.trim_end_matches(['\n', '\r']).to_string())
            } else {
                None
            };
            if username.is_some() && password.is_none() {
                return Err(CliError::new(
                    "--username needs a password: pass it on standard input with --password-stdin (e.g. `printf %s \"$PW\" | charter repo add … --password-stdin`)",
                ));
            }
            let credentials = username
                .zip(password)
                .map(|(username, password)| Credentials { username, password });
            let req = AddRequest {
                name: name.clone(),
                url,
                credentials,
                ca_file,
                insecure_skip_tls_verify,
                force_update,
            };
            match repo::add(req)? {
                Added::Unchanged => {
                    println!("\"{name}\" already exists with the same configuration, skipping")
                }
                Added::Added(index, skipped) => {
                    warn(&skipped);
                    println!(
                        "\"{name}\" has been added to your repositories ({} charts, {} versions)",
                        index.entries.len(),
                        index.len()
                    );
                }
            }
            Ok(0)
        }
        RepoCommand::List => {
            let repos = repo::list()?;
            let format = format_of(global);
            if format != OutputFormat::Table {
                let list: Vec<serde_json::Value> = repos
                    .iter()
                    .map(|r| serde_json::json!({"name": r.name, "url": r.url}))
                    .collect();
                print_data(format, &list)?;
                return Ok(0);
            }
            if repos.is_empty() {
                return Err(CliError::new(
                    "no repositories to show; add one with `charter repo add NAME URL`",
                ));
            }
            let rows: Vec<Vec<String>> = repos
                .iter()
                .map(|r| vec![r.name.clone(), r.url.clone()])
                .collect();
            print_table(&mut std::io::stdout().lock(), &["NAME", "URL"], &rows)?;
            Ok(0)
        }
        RepoCommand::Update { names } => {
            let results = repo::update(&names)?;
            let mut failed = Vec::new();
            for (e, result) in &results {
                match result {
                    Ok((index, skipped)) => {
                        warn(skipped);
                        println!(
                            "Updated \"{}\" ({} charts, {} versions)",
                            e.name,
                            index.entries.len(),
                            index.len()
                        );
                    }
                    Err(err) => {
                        eprintln!("error: \"{}\": {err}", e.name);
                        failed.push(e.name.clone());
                    }
                }
            }
            if failed.is_empty() {
                Ok(0)
            } else {
                Err(CliError::new(format!(
                    "could not update {} of {} repositories ({}); the previous cached indexes are kept",
                    failed.len(),
                    results.len(),
                    failed.join(", ")
                )))
            }
        }
        RepoCommand::Remove { names } => {
            repo::remove(&names)?;
            for n in &names {
                println!("\"{n}\" has been removed from your repositories");
            }
            Ok(0)
        }
    }
}

/// `charter search`.
pub fn search_cmd(global: &GlobalArgs, args: SearchArgs) -> CmdResult {
    let searched = repo::search_repos(SearchRequest {
        keyword: args.keyword,
        version: args.version,
        all_versions: args.versions,
        devel: args.devel,
    })?;
    for r in &searched.uncached {
        eprintln!("warning: repository \"{r}\" has no cached index; run `charter repo update {r}`");
    }
    let hits = searched.hits();
    let format = format_of(global);
    if format != OutputFormat::Table {
        let list: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| {
                serde_json::json!({
                    "name": format!("{}/{}", h.repo, h.chart.name),
                    "version": h.chart.version,
                    "appVersion": h.chart.app_version,
                    "description": h.chart.description,
                })
            })
            .collect();
        print_data(format, &list)?;
        return Ok(0);
    }
    if hits.is_empty() {
        println!("No results found");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = hits
        .iter()
        .map(|h| {
            vec![
                format!("{}/{}", h.repo, h.chart.name),
                h.chart.version.clone(),
                h.chart.app_version.clone().unwrap_or_default(),
                h.chart
                    .description
                    .clone()
                    .unwrap_or_default()
                    .replace('\n', " "),
            ]
        })
        .collect();
    let mut out = BufWriter::new(std::io::stdout().lock());
    print_table(
        &mut out,
        &["NAME", "CHART VERSION", "APP VERSION", "DESCRIPTION"],
        &rows,
    )?;
    out.flush()?;
    Ok(0)
}

/// `charter pull`.
pub fn pull(_global: &GlobalArgs, args: PullArgs) -> CmdResult {
    let req = PullRequest {
        chart: args.chart,
        version: args.version,
        devel: args.devel,
        untar: args.untar,
        destination: args.destination.unwrap_or_else(|| PathBuf::from(".")),
        prov: args.prov,
        registry: args.registry.settings(),
    };
    let pulled = repo::pull(&req)?;
    let fetched = &pulled.fetched;
    let from = match &pulled.source {
        Some(s) => format!(" from {}@{}", s.reference, s.digest),
        None => String::new(),
    };
    println!(
        "Pulled {} {}{from} (sha256:{}{}) to {}",
        fetched.version.name,
        fetched.version.version,
        fetched.digest,
        if fetched.from_cache {
            ", from cache"
        } else {
            ""
        },
        pulled.path.display()
    );
    if let Some(p) = &pulled.prov {
        println!("Provenance file: {}", p.display());
    }
    Ok(0)
}

/// `charter show chart|values|readme`.
pub fn show_cmd(_global: &GlobalArgs, args: ShowArgs) -> CmdResult {
    let (what, c) = match args.what {
        ShowCommand::Chart(c) => (ShowWhat::Chart, c),
        ShowCommand::Values(c) => (ShowWhat::Values, c),
        ShowCommand::Readme(c) => (ShowWhat::Readme, c),
    };
    let shown = show::show(&ShowRequest {
        chart: c.chart.clone(),
        version: c.version,
        devel: c.devel,
        registry: c.registry.settings(),
        what,
    })?;
    if shown.file.is_none() {
        eprintln!(
            "note: {} has no {}",
            c.chart,
            match what {
                ShowWhat::Values => "values.yaml",
                _ => "README",
            }
        );
    }
    let mut out = std::io::stdout().lock();
    out.write_all(shown.text.as_bytes())?;
    if !shown.text.is_empty() && !shown.text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(0)
}

/// `charter dep …`.
pub fn dep(global: &GlobalArgs, args: DepArgs) -> CmdResult {
    match args.command {
        DepCommand::Update {
            chart,
            skip_refresh,
            registry,
        } => {
            let done = repo::dep_update(&chart, !skip_refresh, &registry.settings())?;
            if done.is_empty() {
                println!(
                    "No dependencies with a repository in {}",
                    chart.join("Chart.yaml").display()
                );
            }
            for v in &done {
                println!(
                    "{} {} from {}: {} (sha256:{})",
                    v.locked.name,
                    v.locked.version,
                    v.locked.repository,
                    v.how,
                    v.locked
                        .digest
                        .as_deref()
                        .unwrap_or("")
                        .trim_start_matches("sha256:")
                );
            }
            println!("Wrote {}", chart.join(deps::LOCK_FILE).display());
            Ok(0)
        }
        DepCommand::Build { chart, registry } => {
            let done = repo::dep_build(&chart, &registry.settings())?;
            for v in &done {
                println!("{} {}: {}", v.locked.name, v.locked.version, v.how);
            }
            println!("charts/ matches {}", chart.join(deps::LOCK_FILE).display());
            Ok(0)
        }
        DepCommand::List { chart } => {
            let (rows, lock_current) = repo::dep_list(&chart)?;
            let format = format_of(global);
            if format != OutputFormat::Table {
                print_data(
                    format,
                    &serde_json::json!({ "dependencies": rows, "lockCurrent": lock_current }),
                )?;
                return Ok(0);
            }
            if rows.is_empty() {
                println!("No dependencies in {}", chart.join("Chart.yaml").display());
                return Ok(0);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.alias.clone().unwrap_or_default(),
                        r.version.clone().unwrap_or_default(),
                        r.vendored.clone().unwrap_or_default(),
                        r.repository.clone().unwrap_or_default(),
                        r.condition.clone().unwrap_or_default(),
                        r.state.label().to_string(),
                    ]
                })
                .collect();
            print_table(
                &mut std::io::stdout().lock(),
                &[
                    "NAME",
                    "ALIAS",
                    "VERSION",
                    "VENDORED",
                    "REPOSITORY",
                    "CONDITION",
                    "STATUS",
                ],
                &table,
            )?;
            match lock_current {
                Some(false) => eprintln!(
                    "warning: {} is out of date with Chart.yaml; run `charter dep update`",
                    chart.join(deps::LOCK_FILE).display()
                ),
                None => eprintln!(
                    "note: no {}; run `charter dep update` to write it",
                    deps::LOCK_FILE
                ),
                Some(true) => {}
            }
            Ok(0)
        }
    }
}
