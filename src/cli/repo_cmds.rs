//! `charter package`, `repo index|add|list|update|remove`, `search`, `pull`,
//! `dep update|build|list`.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{CliError, CmdResult, GlobalArgs, OutputFormat};
use crate::chart::{Constraint, PackageOptions, package_chart, sha256_hex};
use crate::repo::config::{validate_repo_name, validate_repo_url};
use crate::repo::index::{index_directory, search};
use crate::repo::resolve::save_pulled;
use crate::repo::{
    ChartSpec, Credentials, Fetched, Fetcher, Index, RepoEntry, Resolver, SearchQuery, deps,
    now_rfc3339, write_atomic,
};

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
    /// REPO/NAME, or the https URL of a .tgz.
    #[arg(value_name = "REPO/NAME | URL")]
    pub chart: String,
    /// Version range; the highest matching version is pulled (default: the newest release).
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
    },
    /// Restore charts/ exactly as Chart.lock records it (refusing digest mismatches).
    Build {
        /// The chart directory.
        #[arg(value_name = "CHART", default_value = ".")]
        chart: PathBuf,
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

fn print_data<T: serde::Serialize>(format: OutputFormat, data: &T) -> Result<(), CliError> {
    let value = serde_json::to_value(data)?;
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        _ => out.write_all(crate::yaml::to_yaml(&value).as_bytes())?,
    }
    Ok(())
}

/// Prints rows as aligned columns (the last column is not padded).
fn print_table<W: Write>(
    out: &mut W,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |out: &mut W, cells: Vec<&str>| -> std::io::Result<()> {
        let last = cells.len() - 1;
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            s.push_str(c);
            if i < last {
                s.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, header.to_vec())?;
    for r in rows {
        line(out, r.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

fn warn(lines: &[String]) {
    for l in lines {
        eprintln!("warning: {l}");
    }
}

/// `charter package`.
pub fn package(_global: &GlobalArgs, args: PackageArgs) -> CmdResult {
    let dest = args.destination.unwrap_or_else(|| PathBuf::from("."));
    let opts = PackageOptions {
        version: args.version,
        app_version: args.app_version,
    };
    for chart in &args.charts {
        if args.dependency_update {
            let resolver = Resolver::from_env()?;
            for v in deps::update(&resolver, chart, true)? {
                eprintln!(
                    "dependency {} {}: {}",
                    v.locked.name, v.locked.version, v.how
                );
            }
        }
        let pkg = package_chart(chart, &opts)?;
        let path = dest.join(pkg.file_name());
        write_atomic(&path, &pkg.bytes, Some(0o644))?;
        println!(
            "Packaged {} {} to {} (sha256:{})",
            pkg.name,
            pkg.version,
            path.display(),
            pkg.sha256
        );
    }
    Ok(0)
}

/// `charter repo …`.
pub fn repo(global: &GlobalArgs, args: RepoArgs) -> CmdResult {
    match args.command {
        RepoCommand::Index { dir, url, merge } => {
            repo_index(&dir, url.as_deref(), merge.as_deref())
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
            let creds = username
                .zip(password)
                .map(|(username, password)| Credentials { username, password });
            repo_add(
                name,
                url,
                creds,
                ca_file,
                insecure_skip_tls_verify,
                force_update,
            )
        }
        RepoCommand::List => repo_list(global),
        RepoCommand::Update { names } => repo_update(&names),
        RepoCommand::Remove { names } => repo_remove(&names),
    }
}

fn repo_index(dir: &Path, url: Option<&str>, merge: Option<&Path>) -> CmdResult {
    if !dir.is_dir() {
        return Err(CliError::new(format!(
            "{} is not a directory; `charter repo index DIR` indexes the .tgz files in DIR",
            dir.display()
        )));
    }
    if let Some(u) = url {
        validate_repo_url(u).map_err(|e| CliError::new(format!("--url: {e}")))?;
    }
    let (mut index, skipped) = index_directory(dir, url, &now_rfc3339())?;
    warn(&skipped);
    if let Some(m) = merge {
        match std::fs::read(m) {
            Ok(bytes) => {
                let (old, skipped) = Index::from_yaml(&bytes, &m.display().to_string())?;
                warn(&skipped);
                index.merge_older(old);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "note: --merge {} does not exist yet; writing a fresh index",
                    m.display()
                );
            }
            Err(e) => return Err(CliError::new(format!("--merge {}: {e}", m.display()))),
        }
    }
    let path = dir.join("index.yaml");
    write_atomic(&path, index.to_yaml().as_bytes(), Some(0o644))?;
    println!(
        "Wrote {} ({} charts, {} versions)",
        path.display(),
        index.entries.len(),
        index.len()
    );
    Ok(0)
}

fn repo_add(
    name: String,
    url: String,
    creds: Option<Credentials>,
    ca_file: Option<PathBuf>,
    insecure: bool,
    force: bool,
) -> CmdResult {
    validate_repo_name(&name)?;
    validate_repo_url(&url)?;
    let ca_file = match ca_file {
        Some(p) => Some(
            p.canonicalize()
                .map_err(|e| CliError::new(format!("--ca-file {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let paths = crate::repo::Paths::from_env()?;
    let _lock = paths.lock_config()?;
    let mut resolver = Resolver::new(paths)?;
    let entry = RepoEntry {
        name: name.clone(),
        url: url.trim_end_matches('/').to_string(),
        ca_file,
        insecure_skip_tls_verify: insecure,
    };
    if let Some(existing) = resolver.config.get(&name) {
        let same = *existing == entry && resolver.config.credentials.get(&name) == creds.as_ref();
        if same && !force {
            println!("\"{name}\" already exists with the same configuration, skipping");
            return Ok(0);
        }
        if !force {
            return Err(CliError::new(format!(
                "repository `{name}` already exists ({}); pass --force-update to replace it, or choose another name",
                existing.url
            )));
        }
    }
    resolver.config.repositories.retain(|r| r.name != name);
    resolver.config.repositories.push(entry.clone());
    match creds {
        Some(c) => {
            resolver.config.credentials.insert(name.clone(), c);
        }
        None => {
            resolver.config.credentials.remove(&name);
        }
    }
    // The index must download and parse before anything is saved.
    let (index, skipped) = resolver.update_repo(&entry)?;
    warn(&skipped);
    resolver.config.save(&resolver.paths)?;
    println!(
        "\"{name}\" has been added to your repositories ({} charts, {} versions)",
        index.entries.len(),
        index.len()
    );
    Ok(0)
}

fn repo_list(global: &GlobalArgs) -> CmdResult {
    let resolver = Resolver::from_env()?;
    let repos = &resolver.config.repositories;
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

fn repo_update(names: &[String]) -> CmdResult {
    let resolver = Resolver::from_env()?;
    let entries: Vec<RepoEntry> = if names.is_empty() {
        resolver.config.repositories.clone()
    } else {
        names
            .iter()
            .map(|n| resolver.config.require(n).cloned())
            .collect::<Result<_, _>>()?
    };
    if entries.is_empty() {
        return Err(CliError::new(
            "no repositories configured; add one with `charter repo add NAME URL`",
        ));
    }
    let mut failed = Vec::new();
    let results: Vec<_> = {
        use rayon::prelude::*;
        entries
            .par_iter()
            .map(|e| resolver.update_repo(e))
            .collect()
    };
    for (e, result) in entries.iter().zip(results) {
        match result {
            Ok((index, skipped)) => {
                warn(&skipped);
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
            entries.len(),
            failed.join(", ")
        )))
    }
}

fn repo_remove(names: &[String]) -> CmdResult {
    let paths = crate::repo::Paths::from_env()?;
    let _lock = paths.lock_config()?;
    let mut resolver = Resolver::new(paths)?;
    for n in names {
        resolver.config.require(n)?;
    }
    for n in names {
        resolver.config.repositories.retain(|r| r.name != *n);
        resolver.config.credentials.remove(n);
    }
    resolver.config.save(&resolver.paths)?;
    for n in names {
        resolver.cache.remove_index(n)?;
        println!("\"{n}\" has been removed from your repositories");
    }
    Ok(0)
}

/// `charter search`.
pub fn search_cmd(global: &GlobalArgs, args: SearchArgs) -> CmdResult {
    let version = args
        .version
        .as_deref()
        .map(|r| {
            Constraint::parse(r)
                .map_err(|e| CliError::new(format!("--version `{r}` is not a valid range: {e}")))
        })
        .transpose()?;
    let resolver = Resolver::from_env()?;
    if resolver.config.repositories.is_empty() {
        return Err(CliError::new(
            "no repositories configured; add one with `charter repo add NAME URL`",
        ));
    }
    let mut indexes: Vec<(String, Index)> = Vec::new();
    for r in &resolver.config.repositories {
        match resolver.cache.load_index(&r.name)? {
            Some(i) => indexes.push((r.name.clone(), i)),
            None => eprintln!(
                "warning: repository \"{}\" has no cached index; run `charter repo update {}`",
                r.name, r.name
            ),
        }
    }
    let query = SearchQuery {
        keyword: args.keyword,
        version,
        all_versions: args.versions,
        devel: args.devel,
    };
    let hits = search(&indexes, &query);
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
    let dest = args.destination.unwrap_or_else(|| PathBuf::from("."));
    let resolver = Resolver::from_env()?;
    let fetched = match ChartSpec::parse(&args.chart) {
        ChartSpec::Repo { repo, name } => {
            resolver.fetch(&repo, &name, args.version.as_deref(), args.devel)?
        }
        ChartSpec::Url(url) => {
            let fetcher = Fetcher::new(resolver.transport_for_url(&url));
            let bytes = fetcher.get(
                &url,
                crate::chart::ArchiveLimits::default().max_archive_bytes,
            )?;
            let chart = crate::chart::Chart::from_archive_bytes(Path::new(&url), &bytes)?;
            let digest = sha256_hex(&bytes);
            Fetched {
                bytes,
                digest,
                version: crate::repo::ChartVersion {
                    name: chart.meta.name.clone(),
                    version: chart.meta.version.clone(),
                    ..Default::default()
                },
                url: url.clone(),
                repo_url: url,
                from_cache: false,
            }
        }
        ChartSpec::Path(p) => {
            return Err(CliError::new(format!(
                "`{}` is neither REPO/NAME of a configured repository nor an http(s) URL; `charter repo list` shows the repositories",
                p.display()
            )));
        }
    };
    let path = save_pulled(&fetched, &dest, args.untar)?;
    println!(
        "Pulled {} {} (sha256:{}{}) to {}",
        fetched.version.name,
        fetched.version.version,
        fetched.digest,
        if fetched.from_cache {
            ", from cache"
        } else {
            ""
        },
        path.display()
    );
    Ok(0)
}

/// `charter dep …`.
pub fn dep(global: &GlobalArgs, args: DepArgs) -> CmdResult {
    match args.command {
        DepCommand::Update {
            chart,
            skip_refresh,
        } => {
            let resolver = Resolver::from_env()?;
            let done = deps::update(&resolver, &chart, !skip_refresh)?;
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
        DepCommand::Build { chart } => {
            let resolver = Resolver::from_env()?;
            let done = deps::build(&resolver, &chart)?;
            for v in &done {
                println!("{} {}: {}", v.locked.name, v.locked.version, v.how);
            }
            println!("charts/ matches {}", chart.join(deps::LOCK_FILE).display());
            Ok(0)
        }
        DepCommand::List { chart } => {
            let (rows, lock_current) = deps::list(&chart)?;
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
