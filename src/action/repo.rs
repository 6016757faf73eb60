//! `package`, `repo index|add|list|update|remove`, `search`, `pull` and `dep update|build|list`:
//! charts as archives and in repositories.

use std::path::{Path, PathBuf};

use super::Error;
use crate::chart::{Constraint, Package, PackageOptions, package_chart, sha256_hex};
use crate::oci::{HelmMetadata, PullOptions, RegistrySettings};
use crate::repo::config::{validate_repo_name, validate_repo_url};
use crate::repo::deps::{self, DepStatus, Vendored};
use crate::repo::index::{index_directory, search};
use crate::repo::resolve::save_pulled;
use crate::repo::{
    ChartSource, ChartSpec, ChartVersion, Credentials, Fetched, Fetcher, Index, Paths, RepoEntry,
    Resolver, SearchHit, SearchQuery, now_rfc3339, write_atomic,
};

/// A chart packaged.
pub struct Packaged {
    /// Dependencies vendored first (`--dependency-update`).
    pub vendored: Vec<Vendored>,
    /// The archive.
    pub package: Package,
    /// Where it was written.
    pub path: PathBuf,
}

/// Packages one chart directory into `dest`, after `charter dep update` when asked.
pub fn package(
    chart: &Path,
    dest: &Path,
    opts: &PackageOptions,
    dependency_update: bool,
    registry: &RegistrySettings,
) -> Result<Packaged, Error> {
    let vendored = if dependency_update {
        deps::update(&dep_resolver(registry)?, chart, true)?
    } else {
        Vec::new()
    };
    let package = package_chart(chart, opts)?;
    let path = dest.join(package.file_name());
    write_atomic(&path, &package.bytes, Some(0o644))?;
    Ok(Packaged {
        vendored,
        package,
        path,
    })
}

/// An index written.
pub struct Indexed {
    /// `DIR/index.yaml`.
    pub path: PathBuf,
    /// The index.
    pub index: Index,
    /// Archives (and merged entries) skipped, and why.
    pub skipped: Vec<String>,
    /// Whether the `--merge` index did not exist yet (a fresh index was written).
    pub merge_missing: bool,
}

/// Writes `dir/index.yaml` for the chart archives in `dir`, with `base_url` in front of their
/// URLs, merging an older index's versions when asked.
pub fn index(dir: &Path, base_url: Option<&str>, merge: Option<&Path>) -> Result<Indexed, Error> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is not a directory; `charter repo index DIR` indexes the .tgz files in DIR",
            dir.display()
        )));
    }
    if let Some(u) = base_url {
        validate_repo_url(u).map_err(|e| Error::Invalid(format!("--url: {e}")))?;
    }
    let (mut index, mut skipped) = index_directory(dir, base_url, &now_rfc3339())?;
    let mut merge_missing = false;
    if let Some(m) = merge {
        match std::fs::read(m) {
            Ok(bytes) => {
                let (old, old_skipped) = Index::from_yaml(&bytes, &m.display().to_string())?;
                skipped.extend(old_skipped);
                index.merge_older(old);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => merge_missing = true,
            Err(e) => return Err(Error::io(format!("--merge {}", m.display()))(e)),
        }
    }
    let path = dir.join("index.yaml");
    write_atomic(&path, index.to_yaml().as_bytes(), Some(0o644))?;
    Ok(Indexed {
        path,
        index,
        skipped,
        merge_missing,
    })
}

/// A repository to add.
pub struct AddRequest {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// Basic-auth credentials.
    pub credentials: Option<Credentials>,
    /// A PEM file of CA certificates.
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification.
    pub insecure_skip_tls_verify: bool,
    /// Replace a repository of the same name.
    pub force_update: bool,
}

/// What adding a repository did.
pub enum Added {
    /// It was configured the same already.
    Unchanged,
    /// Added (or replaced): its index, and the entries skipped in it.
    Added(Index, Vec<String>),
}

/// Adds a repository: its index must download and parse before the configuration is saved.
pub fn add(req: AddRequest) -> Result<Added, Error> {
    validate_repo_name(&req.name)?;
    validate_repo_url(&req.url)?;
    let ca_file = match req.ca_file {
        Some(p) => Some(
            p.canonicalize()
                .map_err(Error::io(format!("--ca-file {}", p.display())))?,
        ),
        None => None,
    };
    let paths = Paths::from_env()?;
    let _lock = paths.lock_config()?;
    let mut resolver = Resolver::new(paths)?;
    let name = req.name;
    let entry = RepoEntry {
        name: name.clone(),
        url: req.url.trim_end_matches('/').to_string(),
        ca_file,
        insecure_skip_tls_verify: req.insecure_skip_tls_verify,
    };
    if let Some(existing) = resolver.config.get(&name) {
        let same = *existing == entry
            && resolver.config.credentials.get(&name) == req.credentials.as_ref();
        if same && !req.force_update {
            return Ok(Added::Unchanged);
        }
        if !req.force_update {
            return Err(Error::Invalid(format!(
                "repository `{name}` already exists ({}); pass --force-update to replace it, or choose another name",
                existing.url
            )));
        }
    }
    resolver.config.repositories.retain(|r| r.name != name);
    resolver.config.repositories.push(entry.clone());
    match req.credentials {
        Some(c) => {
            resolver.config.credentials.insert(name.clone(), c);
        }
        None => {
            resolver.config.credentials.remove(&name);
        }
    }
    let (index, skipped) = resolver.update_repo(&entry)?;
    resolver.config.save(&resolver.paths)?;
    Ok(Added::Added(index, skipped))
}

/// The configured repositories.
pub fn list() -> Result<Vec<RepoEntry>, Error> {
    Ok(Resolver::from_env()?.config.repositories)
}

/// One repository's update: its new index and skipped entries, or why it failed.
pub type Updated = (
    RepoEntry,
    Result<(Index, Vec<String>), crate::repo::RepoError>,
);

/// Downloads the indexes of the named repositories (all when none is named) again, in
/// parallel; a failed one keeps its previous cached index.
pub fn update(names: &[String]) -> Result<Vec<Updated>, Error> {
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
        return Err(Error::Invalid(
            "no repositories configured; add one with `charter repo add NAME URL`".into(),
        ));
    }
    use rayon::prelude::*;
    let results: Vec<_> = entries
        .par_iter()
        .map(|e| resolver.update_repo(e))
        .collect();
    Ok(entries.into_iter().zip(results).collect())
}

/// Removes repositories, their credentials and cached indexes.
pub fn remove(names: &[String]) -> Result<(), Error> {
    let paths = Paths::from_env()?;
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
    }
    Ok(())
}

/// A search of the configured repositories' cached indexes.
pub struct SearchRequest {
    /// Text to find in names, descriptions and keywords.
    pub keyword: Option<String>,
    /// Only versions in this range.
    pub version: Option<String>,
    /// Every matching version, not only the newest per chart.
    pub all_versions: bool,
    /// Include pre-release versions.
    pub devel: bool,
}

/// The indexes searched and the query; [`Searched::hits`] are the results.
pub struct Searched {
    indexes: Vec<(String, Index)>,
    query: SearchQuery,
    /// Repositories without a cached index (not searched).
    pub uncached: Vec<String>,
}

impl Searched {
    /// The matching chart versions.
    pub fn hits(&self) -> Vec<SearchHit<'_>> {
        search(&self.indexes, &self.query)
    }
}

/// Searches the cached indexes of the configured repositories.
pub fn search_repos(req: SearchRequest) -> Result<Searched, Error> {
    let version = req
        .version
        .as_deref()
        .map(|r| {
            Constraint::parse(r)
                .map_err(|e| Error::Invalid(format!("--version `{r}` is not a valid range: {e}")))
        })
        .transpose()?;
    let resolver = Resolver::from_env()?;
    if resolver.config.repositories.is_empty() {
        return Err(Error::Invalid(
            "no repositories configured; add one with `charter repo add NAME URL`".into(),
        ));
    }
    let mut indexes = Vec::new();
    let mut uncached = Vec::new();
    for r in &resolver.config.repositories {
        match resolver.cache.load_index(&r.name)? {
            Some(i) => indexes.push((r.name.clone(), i)),
            None => uncached.push(r.name.clone()),
        }
    }
    Ok(Searched {
        indexes,
        query: SearchQuery {
            keyword: req.keyword,
            version,
            all_versions: req.all_versions,
            devel: req.devel,
        },
        uncached,
    })
}

/// A chart to pull.
pub struct PullRequest {
    /// `REPO/NAME`, the URL of a .tgz, or `oci://HOST/PATH/NAME[:TAG][@sha256:…]`.
    pub chart: String,
    /// The version range (the highest match is pulled); for `oci://`, also an exact version
    /// (the tag).
    pub version: Option<String>,
    /// Consider pre-release versions.
    pub devel: bool,
    /// Unpack into `destination/<name>/` instead of writing the archive.
    pub untar: bool,
    /// Where to write.
    pub destination: PathBuf,
    /// Also fetch the provenance file (`oci://` only): `<name>-<version>.tgz.prov`.
    pub prov: bool,
    /// How to reach an OCI registry.
    pub registry: RegistrySettings,
}

/// A chart pulled.
pub struct Pulled {
    /// The archive and where it came from.
    pub fetched: Fetched,
    /// The path written (archive, or the unpacked directory).
    pub path: PathBuf,
    /// For `oci://`: the reference with its tag, and the manifest digest.
    pub source: Option<ChartSource>,
    /// The provenance file written, with `prov`.
    pub prov: Option<PathBuf>,
}

/// Downloads a chart (verified against the index digest, or the registry's manifest) and
/// writes it.
pub fn pull(req: &PullRequest) -> Result<Pulled, Error> {
    let resolver = Resolver::from_env()?.with_registry(req.registry.client_options());
    let mut source = None;
    let mut prov_bytes = None;
    let fetched = match ChartSpec::parse(&req.chart) {
        ChartSpec::Repo { repo, name } => {
            resolver.fetch(&repo, &name, req.version.as_deref(), req.devel)?
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
                version: ChartVersion {
                    name: chart.meta.name.clone(),
                    version: chart.meta.version.clone(),
                    ..Default::default()
                },
                url: url.clone(),
                repo_url: url,
                from_cache: false,
            }
        }
        ChartSpec::Oci(reference) => {
            let options = PullOptions {
                with_prov: req.prov,
            };
            let pulled = resolver
                .oci()
                .and_then(|c| c.pull_reference(&reference, req.version.as_deref(), options))?;
            let from = ChartSource::of(&pulled);
            // Helm's charts too: only the metadata is read, never the templates.
            let meta = HelmMetadata::from_archive(Path::new(&from.reference), &pulled.archive)?;
            prov_bytes = pulled.prov;
            let fetched = Fetched {
                digest: sha256_hex(&pulled.archive),
                bytes: pulled.archive,
                version: ChartVersion {
                    name: meta.name,
                    version: meta.version,
                    ..Default::default()
                },
                url: from.reference.clone(),
                repo_url: format!(
                    "oci://{}/{}",
                    pulled.reference.registry, pulled.reference.repository
                ),
                from_cache: pulled.from_cache,
            };
            source = Some(from);
            fetched
        }
        ChartSpec::Path(p) => {
            return Err(Error::Invalid(format!(
                "`{}` is neither REPO/NAME of a configured repository, an http(s) URL nor an oci:// reference; `charter repo list` shows the repositories",
                p.display()
            )));
        }
    };
    let path = save_pulled(&fetched, &req.destination, req.untar)?;
    let prov = match prov_bytes {
        Some(bytes) => {
            let p = req.destination.join(format!(
                "{}-{}.tgz.prov",
                fetched.version.name, fetched.version.version
            ));
            write_atomic(&p, &bytes, Some(0o644))?;
            Some(p)
        }
        None => None,
    };
    Ok(Pulled {
        fetched,
        path,
        source,
        prov,
    })
}

/// `dep update`: resolves Chart.yaml's dependency ranges, vendors them into `charts/` and
/// writes Chart.lock.
pub fn dep_update(
    chart: &Path,
    refresh: bool,
    registry: &RegistrySettings,
) -> Result<Vec<Vendored>, Error> {
    Ok(deps::update(&dep_resolver(registry)?, chart, refresh)?)
}

/// `dep build`: restores `charts/` as Chart.lock records it.
pub fn dep_build(chart: &Path, registry: &RegistrySettings) -> Result<Vec<Vendored>, Error> {
    Ok(deps::build(&dep_resolver(registry)?, chart)?)
}

fn dep_resolver(registry: &RegistrySettings) -> Result<Resolver, Error> {
    Ok(Resolver::from_env()?.with_registry(registry.client_options()))
}

/// `dep list`: each dependency's state, and whether Chart.lock is current (`None`: no lock).
pub fn dep_list(chart: &Path) -> Result<(Vec<DepStatus>, Option<bool>), Error> {
    Ok(deps::list(chart)?)
}
