//! From a chart reference to chart bytes: `REPO/NAME` (a configured repository), a repository
//! URL plus a chart name (a deploy tree's `repo:`), an `https://…/x.tgz` URL, an
//! `oci://HOST/PATH/NAME` registry reference ([`crate::oci`]), or a local path.
//!
//! Repository downloads are verified against the index's sha256 and cached by digest, so a
//! second resolution of the same version is offline; registry pulls share that cache.

use std::path::{Path, PathBuf};

use super::cache::{Cache, is_hex_digest};
use super::config::{Paths, RepoConfig, RepoEntry, index_url, validate_repo_url};
use super::http::{Fetcher, Transport};
use super::index::{ChartVersion, Index};
use super::{RepoError, write_atomic};
use crate::chart::{
    ArchiveLimits, Chart, Constraint, parse_version_lenient, read_archive, sha256_hex,
};

/// Largest index.yaml accepted.
pub const MAX_INDEX_BYTES: u64 = 512 * 1024 * 1024;

/// A chart reference as a user writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSpec {
    /// A chart directory or `.tgz` on disk.
    Path(PathBuf),
    /// An `http(s)://` URL of a `.tgz`.
    Url(String),
    /// A chart in an OCI registry: `oci://HOST/PATH/NAME[:TAG][@sha256:…]`, as written.
    Oci(String),
    /// A chart in a repository: `repo` is a configured repository's name or a repository URL.
    Repo {
        /// Repository name or URL.
        repo: String,
        /// Chart name.
        name: String,
    },
}

impl ChartSpec {
    /// Classifies a command-line chart argument: an existing path wins; then `http(s)://` URLs;
    /// then `REPO/NAME`; anything else is a path (and fails to load with a message saying so).
    pub fn parse(s: &str) -> ChartSpec {
        if crate::oci::is_oci(s) {
            return ChartSpec::Oci(s.to_string());
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return ChartSpec::Url(s.to_string());
        }
        let p = Path::new(s);
        if p.exists() {
            return ChartSpec::Path(p.to_path_buf());
        }
        if let Some((repo, name)) = s.split_once('/')
            && !repo.is_empty()
            && !name.is_empty()
            && !name.contains('/')
            && repo != "."
            && repo != ".."
            && !s.ends_with(".tgz")
            && super::config::validate_repo_name(repo).is_ok()
        {
            return ChartSpec::Repo {
                repo: repo.to_string(),
                name: name.to_string(),
            };
        }
        ChartSpec::Path(p.to_path_buf())
    }

    /// Whether the reference points to a repository or URL (needs the network or the cache).
    pub fn is_remote(&self) -> bool {
        !matches!(self, ChartSpec::Path(_))
    }
}

impl std::fmt::Display for ChartSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChartSpec::Path(p) => write!(f, "{}", p.display()),
            ChartSpec::Url(u) | ChartSpec::Oci(u) => f.write_str(u),
            ChartSpec::Repo { repo, name } if repo.contains("://") => {
                write!(f, "{name} from {repo}")
            }
            ChartSpec::Repo { repo, name } => write!(f, "{repo}/{name}"),
        }
    }
}

/// A downloaded (or cached) chart archive.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The archive.
    pub bytes: Vec<u8>,
    /// Its sha256, lower-case hex.
    pub digest: String,
    /// The index entry it was chosen from.
    pub version: ChartVersion,
    /// The URL it was (or would have been) downloaded from.
    pub url: String,
    /// The repository URL.
    pub repo_url: String,
    /// Whether it came from the cache.
    pub from_cache: bool,
}

/// Where a chart was pulled from, exactly: what a release records of a registry chart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChartSource {
    /// The reference with the tag that was resolved (`oci://HOST/PATH/NAME:TAG`), without the
    /// digest.
    pub reference: String,
    /// `sha256:<hex>` of the manifest pulled: `reference@digest` pulls the same chart again.
    pub digest: String,
}

impl ChartSource {
    /// What `pulled` was: its reference with the tag (the digest apart) and manifest digest.
    pub fn of(pulled: &crate::oci::PulledChart) -> ChartSource {
        let mut tagged = pulled.reference.clone();
        tagged.digest = None;
        ChartSource {
            reference: tagged.to_string(),
            digest: pulled.manifest_digest.clone(),
        }
    }
}

/// A chart loaded from a reference.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The chart.
    pub chart: Chart,
    /// For a chart pulled from a registry, what exactly was pulled.
    pub source: Option<ChartSource>,
}

/// Resolves references using the repository configuration and cache.
pub struct Resolver {
    /// Config and cache locations.
    pub paths: Paths,
    /// Configured repositories.
    pub config: RepoConfig,
    /// The cache.
    pub cache: Cache,
    /// How to reach OCI registries (`--ca-file`, `--plain-http`, …).
    pub registry: crate::oci::ClientOptions,
}

impl Resolver {
    /// A resolver for the XDG directories of the environment.
    pub fn from_env() -> Result<Resolver, RepoError> {
        Resolver::new(Paths::from_env()?)
    }

    /// A resolver for `paths`.
    pub fn new(paths: Paths) -> Result<Resolver, RepoError> {
        let config = RepoConfig::load(&paths)?;
        let cache = Cache::new(&paths);
        Ok(Resolver {
            paths,
            config,
            cache,
            registry: crate::oci::ClientOptions::default(),
        })
    }

    /// The same resolver, reaching registries with `options`.
    pub fn with_registry(mut self, options: crate::oci::ClientOptions) -> Resolver {
        self.registry = options;
        self
    }

    /// The registry client of this resolver, with its cache (shared with repository
    /// downloads) and the credentials of the environment.
    pub fn oci(&self) -> Result<crate::oci::OciCharts, crate::oci::OciError> {
        crate::oci::OciCharts::with_paths(&self.paths, self.registry.clone())
    }

    /// Pulls a chart from a registry: `reference` with an optional `--version` (a version or a
    /// range resolved against the tags).
    pub fn pull_oci(
        &self,
        reference: &str,
        version: Option<&str>,
    ) -> Result<crate::oci::PulledChart, RepoError> {
        Ok(self
            .oci()?
            .pull_reference(reference, version, Default::default())?)
    }

    /// Transport for a repository or archive URL: the settings of the configured repository
    /// it belongs to ([`RepoConfig::find_for_url`]), else defaults (system roots, no
    /// credentials).
    pub fn transport_for_url(&self, url: &str) -> Transport {
        match self.config.find_for_url(url) {
            Some(entry) => self.config.transport_for(entry),
            None => Transport::default(),
        }
    }

    /// Downloads and parses the index of a repository URL. Returns raw bytes, the index and
    /// the entries skipped as invalid.
    pub fn download_index(
        &self,
        repo_url: &str,
        fetcher: &Fetcher,
    ) -> Result<(Vec<u8>, Index, Vec<String>), RepoError> {
        let url = index_url(repo_url);
        let raw = fetcher.get(&url, MAX_INDEX_BYTES)?;
        let (index, skipped) = Index::from_yaml(&raw, &url)?;
        Ok((raw, index, skipped))
    }

    /// Downloads a configured repository's index and stores it in the cache.
    pub fn update_repo(&self, entry: &RepoEntry) -> Result<(Index, Vec<String>), RepoError> {
        let fetcher = Fetcher::new(self.config.transport_for(entry));
        let (raw, index, skipped) = self.download_index(&entry.url, &fetcher)?;
        self.cache.store_index(&entry.name, &raw, &index)?;
        Ok((index, skipped))
    }

    /// The cached index of a configured repository, downloading it when it was never fetched.
    pub fn repo_index(&self, entry: &RepoEntry) -> Result<Index, RepoError> {
        match self.cache.load_index(&entry.name)? {
            Some(i) => Ok(i),
            None => Ok(self.update_repo(entry)?.0),
        }
    }

    /// Finds `name` in `repo` (a configured repository's name, or a repository URL, whose
    /// index is then downloaded fresh) and downloads the highest version in `range`, verified
    /// against the index digest and cached by it.
    pub fn fetch(
        &self,
        repo: &str,
        name: &str,
        range: Option<&str>,
        devel: bool,
    ) -> Result<Fetched, RepoError> {
        let (repo_url, transport, index, label) = if repo.contains("://") {
            validate_repo_url(repo)?;
            let transport = self.transport_for_url(repo);
            let fetcher = Fetcher::new(transport.clone());
            let (_, index, _) = self.download_index(repo, &fetcher)?;
            (repo.to_string(), transport, index, repo.to_string())
        } else {
            let entry = self.config.require(repo)?;
            let index = self.repo_index(entry)?;
            (
                entry.url.clone(),
                self.config.transport_for(entry),
                index,
                format!("repository `{repo}` ({})", entry.url),
            )
        };
        let cv = index.select(name, range, devel, &label)?.clone();
        self.download_version(&repo_url, transport, &cv)
    }

    /// Downloads one index entry (or takes it from the cache), verifying its digest.
    pub fn download_version(
        &self,
        repo_url: &str,
        transport: Transport,
        cv: &ChartVersion,
    ) -> Result<Fetched, RepoError> {
        let url = chart_url(repo_url, cv)?;
        let digest = cv
            .digest
            .as_deref()
            .map(|d| d.trim_start_matches("sha256:").to_ascii_lowercase())
            .filter(|d| is_hex_digest(d))
            .ok_or_else(|| {
                RepoError::Index {
                    origin: index_url(repo_url),
                    message: format!(
                        "chart `{}` version {} has no sha256 digest in the index; charter refuses unverified downloads (regenerate the index with `charter repo index`)",
                        cv.name, cv.version
                    ),
                }
            })?;
        if let Some(bytes) = self.cache.get_chart(&digest) {
            return Ok(Fetched {
                bytes,
                digest,
                version: cv.clone(),
                url,
                repo_url: repo_url.to_string(),
                from_cache: true,
            });
        }
        let fetcher = Fetcher::new(transport);
        let bytes = fetcher.get(&url, ArchiveLimits::default().max_archive_bytes)?;
        let actual = sha256_hex(&bytes);
        if actual != digest {
            return Err(RepoError::Digest {
                what: url,
                expected: digest,
                actual,
            });
        }
        self.cache.put_chart(&bytes)?;
        Ok(Fetched {
            bytes,
            digest,
            version: cv.clone(),
            url,
            repo_url: repo_url.to_string(),
            from_cache: false,
        })
    }

    /// Loads the chart a reference names. `version` is a range the chart's version must
    /// satisfy (for a repository or registry, the highest match is taken; a registry also
    /// takes an exact version as its tag).
    pub fn load(
        &self,
        spec: &ChartSpec,
        version: Option<&str>,
        devel: bool,
    ) -> Result<Loaded, RepoError> {
        let chart = match spec {
            ChartSpec::Path(p) => load_local(p, version)?,
            ChartSpec::Url(url) => {
                let fetcher = Fetcher::new(self.transport_for_url(url));
                let bytes = fetcher.get(url, ArchiveLimits::default().max_archive_bytes)?;
                let chart = Chart::from_archive_bytes(Path::new(url), &bytes)?;
                check_version(&chart, version, url)?;
                chart
            }
            ChartSpec::Repo { repo, name } => {
                let f = self.fetch(repo, name, version, devel)?;
                let origin = PathBuf::from(format!("{spec}-{}.tgz", f.version.version));
                Chart::from_archive_bytes(&origin, &f.bytes)?
            }
            ChartSpec::Oci(reference) => {
                let pulled = self.pull_oci(reference, version)?;
                let source = ChartSource::of(&pulled);
                let chart =
                    Chart::from_archive_bytes(Path::new(&source.reference), &pulled.archive)?;
                return Ok(Loaded {
                    chart,
                    source: Some(source),
                });
            }
        };
        Ok(Loaded {
            chart,
            source: None,
        })
    }
}

/// Loads the chart `spec` names, reaching registries with `registry`; only a repository, URL
/// or registry reference reads the repository configuration.
pub fn load_chart(
    spec: &ChartSpec,
    version: Option<&str>,
    devel: bool,
    registry: crate::oci::ClientOptions,
) -> Result<Loaded, RepoError> {
    match spec {
        ChartSpec::Path(p) => Ok(Loaded {
            chart: load_local(p, version)?,
            source: None,
        }),
        _ => Resolver::from_env()?
            .with_registry(registry)
            .load(spec, version, devel),
    }
}

fn load_local(path: &Path, version: Option<&str>) -> Result<Chart, RepoError> {
    let chart = Chart::load(path)?;
    check_version(&chart, version, &path.display().to_string())?;
    Ok(chart)
}

fn check_version(chart: &Chart, range: Option<&str>, what: &str) -> Result<(), RepoError> {
    let Some(range) = range else { return Ok(()) };
    let c = Constraint::parse(range).map_err(|e| {
        RepoError::Invalid(format!(
            "--version `{range}` is not a valid version range: {e}"
        ))
    })?;
    let v = parse_version_lenient(&chart.meta.version)
        .map_err(|e| RepoError::Invalid(format!("{what}: chart version: {e}")))?;
    if !c.matches(&v) {
        return Err(RepoError::NotFound(format!(
            "{what} is chart `{}` version {}, which does not satisfy the requested version `{range}`",
            chart.meta.name, chart.meta.version
        )));
    }
    Ok(())
}

/// The absolute download URL of an index entry: its first URL, resolved against the
/// repository URL when relative.
pub fn chart_url(repo_url: &str, cv: &ChartVersion) -> Result<String, RepoError> {
    let first = cv.urls.first().ok_or_else(|| RepoError::Index {
        origin: index_url(repo_url),
        message: format!("chart `{}` version {} lists no urls", cv.name, cv.version),
    })?;
    if first.starts_with("http://") || first.starts_with("https://") {
        return Ok(first.clone());
    }
    let base = format!("{}/", repo_url.trim_end_matches('/'));
    let base = reqwest::Url::parse(&base)
        .map_err(|e| RepoError::Invalid(format!("repository URL `{repo_url}`: {e}")))?;
    base.join(first)
        .map(|u| u.to_string())
        .map_err(|e| RepoError::Index {
            origin: index_url(repo_url),
            message: format!(
                "chart `{}` version {}: bad url `{first}`: {e}",
                cv.name, cv.version
            ),
        })
}

/// Writes a fetched archive into `dir`: as `<name>-<version>.tgz`, or unpacked into
/// `dir/<name>/` with `untar` (refusing to overwrite an existing path). Returns the path
/// written.
pub fn save_pulled(fetched: &Fetched, dir: &Path, untar: bool) -> Result<PathBuf, RepoError> {
    let name = &fetched.version.name;
    let version = &fetched.version.version;
    for part in [name, version] {
        if Path::new(part).file_name() != Some(std::ffi::OsStr::new(part.as_str())) {
            return Err(RepoError::Invalid(format!(
                "{}: chart name/version `{part}` is not a plain file name; refusing to write it",
                fetched.url
            )));
        }
    }
    if !untar {
        let path = dir.join(format!("{name}-{}.tgz", fetched.version.version));
        write_atomic(&path, &fetched.bytes, Some(0o644))?;
        return Ok(path);
    }
    let label = PathBuf::from(&fetched.url);
    let files = read_archive(&label, &fetched.bytes, &ArchiveLimits::default())?;
    let target = dir.join(name);
    if target.exists() {
        return Err(RepoError::Invalid(format!(
            "{} already exists; remove it or pull into another directory with -d",
            target.display()
        )));
    }
    // Unpack next to the target, then rename: no half-written chart is left behind.
    let staging = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let result = (|| {
        for (rel, bytes) in &files {
            // read_archive has refused absolute paths and `..`; rel is a plain relative path.
            let p = staging.join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(RepoError::io(parent))?;
            }
            std::fs::write(&p, bytes).map_err(RepoError::io(&p))?;
        }
        std::fs::rename(&staging, &target).map_err(RepoError::io(&target))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_classification() {
        let t = tempfile::tempdir().unwrap();
        let existing = t.path().join("stable");
        std::fs::create_dir_all(existing.join("x")).unwrap();
        assert_eq!(
            ChartSpec::parse("stable/nginx"),
            ChartSpec::Repo {
                repo: "stable".into(),
                name: "nginx".into()
            }
        );
        let p = existing.join("x").display().to_string();
        assert_eq!(ChartSpec::parse(&p), ChartSpec::Path(p.clone().into()));
        assert!(matches!(
            ChartSpec::parse("https://h/x.tgz"),
            ChartSpec::Url(_)
        ));
        assert!(matches!(ChartSpec::parse("./nope"), ChartSpec::Path(_)));
        assert!(matches!(ChartSpec::parse("a/b/c"), ChartSpec::Path(_)));
        assert!(matches!(ChartSpec::parse("dir/x.tgz"), ChartSpec::Path(_)));
        assert!(matches!(ChartSpec::parse("nope"), ChartSpec::Path(_)));
    }

    #[test]
    fn chart_urls_resolve_against_the_repository() {
        let cv = |u: &str| ChartVersion {
            name: "a".into(),
            version: "1.0.0".into(),
            urls: vec![u.into()],
            ..Default::default()
        };
        assert_eq!(
            chart_url("http://h:1/charts", &cv("a-1.0.0.tgz")).unwrap(),
            "http://h:1/charts/a-1.0.0.tgz"
        );
        assert_eq!(
            chart_url("http://h:1/charts/", &cv("sub/a-1.0.0.tgz")).unwrap(),
            "http://h:1/charts/sub/a-1.0.0.tgz"
        );
        assert_eq!(
            chart_url("http://h:1/charts", &cv("https://cdn/a.tgz")).unwrap(),
            "https://cdn/a.tgz"
        );
        let none = ChartVersion::default();
        assert!(
            chart_url("http://h", &none)
                .unwrap_err()
                .to_string()
                .contains("no urls")
        );
    }
}
