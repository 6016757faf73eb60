//! Chart dependencies: `dependencies` of Chart.yaml, `Chart.lock`, and the archives vendored
//! into `charts/`.
//!
//! A dependency's `repository` is a repository URL (`https://…`), a configured repository
//! (`@name`), an OCI registry path (`oci://HOST/PATH`: the chart is `oci://HOST/PATH/NAME`, its
//! version range resolved against the tags, as Helm does), a chart directory (`file://../db`,
//! relative to the chart), or empty (the chart is kept in `charts/` by hand and charter leaves
//! it alone).
//!
//! `Chart.lock` records, per dependency, the exact version and the sha256 of its archive (for
//! an OCI dependency too: the chart layer's digest, which `dep build` verifies whatever the
//! tag points at by then), plus a digest of the `dependencies` declarations it was made from:
//!
//! ```yaml
//! dependencies:
//! - digest: sha256:5d41…
//!   name: db
//!   repository: https://charts.example.com
//!   version: 1.4.2
//! digest: sha256:9c1e…
//! generated: "2024-05-01T10:00:00Z"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::{index_url, validate_repo_url};
use super::http::Transport;
use super::index::Index;
use super::resolve::Resolver;
use super::{RepoError, write_atomic};
use crate::chart::{
    ArchiveLimits, Chart, ChartMeta, Constraint, Dependency, PackageOptions, package_chart,
    parse_chart_yaml, parse_version_lenient, read_archive, sha256_hex,
};

/// The lock file's name.
pub const LOCK_FILE: &str = "Chart.lock";

/// `Chart.lock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// The resolved dependencies.
    pub dependencies: Vec<LockedDependency>,
    /// `sha256:` digest of the Chart.yaml declarations the lock was made from.
    pub digest: String,
    /// When the lock was written.
    pub generated: String,
}

/// One resolved dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedDependency {
    /// `sha256:` digest of the vendored archive.
    #[serde(default)]
    pub digest: Option<String>,
    /// Chart name.
    pub name: String,
    /// Repository as written in Chart.yaml.
    pub repository: String,
    /// Exact version.
    pub version: String,
}

impl LockedDependency {
    /// The vendored archive's file name, `<name>-<version>.tgz`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }

    fn hex_digest(&self) -> Option<&str> {
        self.digest
            .as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
    }
}

/// What one dependency resolved to during `dep update` / `dep build`.
#[derive(Debug, Clone)]
pub struct Vendored {
    /// The lock entry.
    pub locked: LockedDependency,
    /// `downloaded`, `cached`, `packaged` or `present`.
    pub how: &'static str,
}

/// The state of one declared dependency (`dep list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepState {
    /// Vendored, and matching the lock (or the range when unlocked).
    Ok,
    /// Nothing in `charts/`.
    Missing,
    /// Vendored, but its sha256 differs from Chart.lock.
    DigestMismatch,
    /// Vendored, but its version does not satisfy the range.
    WrongVersion,
    /// Present as a directory under `charts/` (not managed by `dep update`).
    Unpacked,
}

impl DepState {
    /// The label `dep list` prints.
    pub fn label(self) -> &'static str {
        match self {
            DepState::Ok => "ok",
            DepState::Missing => "missing",
            DepState::DigestMismatch => "digest-mismatch",
            DepState::WrongVersion => "wrong-version",
            DepState::Unpacked => "unpacked",
        }
    }
}

/// One row of `dep list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepStatus {
    /// Chart name.
    pub name: String,
    /// Alias.
    pub alias: Option<String>,
    /// Version range from Chart.yaml.
    pub version: Option<String>,
    /// Repository from Chart.yaml.
    pub repository: Option<String>,
    /// Condition from Chart.yaml.
    pub condition: Option<String>,
    /// The version vendored under charts/, if any.
    pub vendored: Option<String>,
    /// The version Chart.lock records, if any.
    pub locked: Option<String>,
    /// The state.
    pub state: DepState,
}

/// `dep list` for a chart directory: per dependency, and whether Chart.lock matches Chart.yaml
/// (`None` when there is no lock).
pub fn list(chart_dir: &Path) -> Result<(Vec<DepStatus>, Option<bool>), RepoError> {
    let meta = read_meta(chart_dir)?;
    let lock = read_lock(chart_dir)?;
    let lock_current = lock
        .as_ref()
        .map(|l| l.digest == requirements_digest(&meta));
    let vendored = scan_vendored(chart_dir)?;
    let mut out = Vec::new();
    for dep in &meta.dependencies {
        let locked = lock
            .as_ref()
            .and_then(|l| l.dependencies.iter().find(|d| d.name == dep.name));
        let found: Vec<&VendoredFile> = vendored.iter().filter(|v| v.name == dep.name).collect();
        let range = dep
            .version
            .as_deref()
            .and_then(|r| Constraint::parse(r).ok());
        let in_range = |v: &str| {
            range
                .as_ref()
                .is_none_or(|c| parse_version_lenient(v).is_ok_and(|v| c.matches(&v)))
        };
        let (state, vendored_version) = if let Some(dir) = found.iter().find(|v| v.digest.is_none())
        {
            (DepState::Unpacked, Some(dir.version.clone()))
        } else if let Some(l) = locked {
            match found.iter().find(|v| v.version == l.version) {
                Some(v) if v.digest.as_deref() == l.hex_digest() => {
                    (DepState::Ok, Some(v.version.clone()))
                }
                Some(v) => (DepState::DigestMismatch, Some(v.version.clone())),
                None => match found.first() {
                    Some(v) => (DepState::WrongVersion, Some(v.version.clone())),
                    None => (DepState::Missing, None),
                },
            }
        } else {
            match found.iter().find(|v| in_range(&v.version)) {
                Some(v) => (DepState::Ok, Some(v.version.clone())),
                None => match found.first() {
                    Some(v) => (DepState::WrongVersion, Some(v.version.clone())),
                    None => (DepState::Missing, None),
                },
            }
        };
        out.push(DepStatus {
            name: dep.name.clone(),
            alias: dep.alias.clone(),
            version: dep.version.clone(),
            repository: dep.repository.clone(),
            condition: dep.condition.clone(),
            vendored: vendored_version,
            locked: locked.map(|l| l.version.clone()),
            state,
        });
    }
    Ok((out, lock_current))
}

/// `dep update`: resolves every dependency's range to the highest available version, downloads
/// (verified) or packages it, replaces the archives under `charts/` and writes Chart.lock.
/// Nothing is written until every dependency has resolved. With `refresh`, configured
/// repositories' indexes are downloaded again first.
pub fn update(
    resolver: &Resolver,
    chart_dir: &Path,
    refresh: bool,
) -> Result<Vec<Vendored>, RepoError> {
    let meta = read_meta(chart_dir)?;
    let mut indexes: BTreeMap<String, Index> = BTreeMap::new();
    let mut results: Vec<(Vendored, Vec<u8>)> = Vec::new();
    for dep in &meta.dependencies {
        let Some(source) = source_of(resolver, chart_dir, dep)? else {
            continue;
        };
        let repository = dep.repository.clone().unwrap_or_default();
        let (bytes, version, how) = match source {
            Source::File(dir) => {
                let pkg = package_chart(&dir, &PackageOptions::default())?;
                if pkg.name != dep.name {
                    return Err(RepoError::Invalid(format!(
                        "dependency `{}`: {} is chart `{}`, not `{}`",
                        dep.name,
                        dir.display(),
                        pkg.name,
                        dep.name
                    )));
                }
                check_range(dep, &pkg.version, &dir.display().to_string())?;
                (pkg.bytes, pkg.version, "packaged")
            }
            Source::Repo {
                url,
                name,
                transport,
            } => {
                if !indexes.contains_key(&url) {
                    let index = match &name {
                        Some(n) => {
                            let entry = resolver.config.require(n)?;
                            if refresh {
                                resolver.update_repo(entry)?.0
                            } else {
                                resolver.repo_index(entry)?
                            }
                        }
                        None => {
                            let fetcher = super::Fetcher::new(transport.clone());
                            resolver.download_index(&url, &fetcher)?.1
                        }
                    };
                    indexes.insert(url.clone(), index);
                }
                let index = &indexes[&url];
                let label = format!(
                    "{} (dependency `{}` of {})",
                    index_url(&url),
                    dep.name,
                    meta.name
                );
                let cv = index
                    .select(&dep.name, dep.version.as_deref(), false, &label)?
                    .clone();
                let f = resolver.download_version(&url, transport, &cv)?;
                let how = if f.from_cache { "cached" } else { "downloaded" };
                (f.bytes, cv.version, how)
            }
            Source::Oci(reference) => {
                let range = dep.version.as_deref().unwrap_or("*");
                let pulled = resolver
                    .pull_oci(&reference, Some(range))
                    .map_err(|e| in_dependency(dep, e))?;
                let version = pulled.version().ok_or_else(|| {
                    RepoError::Invalid(format!(
                        "dependency `{}`: {} names no version (no tag, no org.opencontainers.image.version annotation)",
                        dep.name, pulled.reference
                    ))
                })?;
                let how = if pulled.from_cache {
                    "cached"
                } else {
                    "downloaded"
                };
                (pulled.archive, version, how)
            }
        };
        let locked = LockedDependency {
            digest: Some(format!("sha256:{}", sha256_hex(&bytes))),
            name: dep.name.clone(),
            repository,
            version,
        };
        check_archive(&locked, &bytes)?;
        results.push((Vendored { locked, how }, bytes));
    }
    let mut lock = Lock {
        dependencies: results.iter().map(|(v, _)| v.locked.clone()).collect(),
        digest: requirements_digest(&meta),
        generated: super::now_rfc3339(),
    };
    let old = read_lock(chart_dir).ok().flatten();
    if let Some(old) = &old
        && old.dependencies == lock.dependencies
        && old.digest == lock.digest
    {
        lock.generated = old.generated.clone();
    }
    vendor(chart_dir, &meta, &results, old.as_ref())?;
    write_lock(chart_dir, &lock)?;
    Ok(results.into_iter().map(|(v, _)| v).collect())
}

/// `dep build`: restores exactly the archives Chart.lock records, refusing any whose sha256
/// differs from the lock. Fails when Chart.yaml changed since the lock was written.
pub fn build(resolver: &Resolver, chart_dir: &Path) -> Result<Vec<Vendored>, RepoError> {
    let meta = read_meta(chart_dir)?;
    let lock_path = chart_dir.join(LOCK_FILE);
    let lock = read_lock(chart_dir)?.ok_or_else(|| RepoError::Config {
        path: lock_path.clone(),
        message:
            "does not exist; run `charter dep update` to resolve the dependencies and write it"
                .into(),
    })?;
    if lock.digest != requirements_digest(&meta) {
        return Err(RepoError::Config {
            path: lock_path,
            message: "is out of date: the dependencies in Chart.yaml changed since it was written; run `charter dep update`".into(),
        });
    }
    let mut indexes: BTreeMap<String, Index> = BTreeMap::new();
    let mut results: Vec<(Vendored, Vec<u8>)> = Vec::new();
    for locked in &lock.dependencies {
        let expected = locked.hex_digest().map(str::to_string).ok_or_else(|| RepoError::Config {
            path: chart_dir.join(LOCK_FILE),
            message: format!(
                "dependency `{}` has no sha256 digest (a lock written by Helm?); run `charter dep update`",
                locked.name
            ),
        })?;
        let vendored_path = chart_dir.join("charts").join(locked.file_name());
        if let Ok(bytes) = std::fs::read(&vendored_path)
            && sha256_hex(&bytes) == expected
        {
            results.push((
                Vendored {
                    locked: locked.clone(),
                    how: "present",
                },
                bytes,
            ));
            continue;
        }
        let dep = meta
            .dependencies
            .iter()
            .find(|d| d.name == locked.name)
            .ok_or_else(|| RepoError::Config {
                path: chart_dir.join(LOCK_FILE),
                message: format!(
                    "locks `{}`, which Chart.yaml does not declare; run `charter dep update`",
                    locked.name
                ),
            })?;
        let (bytes, how, source_label) = if let Some(bytes) = resolver.cache.get_chart(&expected) {
            (bytes, "cached", "the cache".to_string())
        } else {
            match source_of(resolver, chart_dir, dep)? {
                None => {
                    return Err(RepoError::Config {
                        path: chart_dir.join(LOCK_FILE),
                        message: format!(
                            "dependency `{}` has no repository to restore it from",
                            locked.name
                        ),
                    });
                }
                Some(Source::File(dir)) => {
                    let pkg = package_chart(&dir, &PackageOptions::default())?;
                    (pkg.bytes, "packaged", dir.display().to_string())
                }
                Some(Source::Repo {
                    url,
                    name,
                    transport,
                }) => {
                    if !indexes.contains_key(&url) {
                        let index = match &name {
                            Some(n) => resolver.repo_index(resolver.config.require(n)?)?,
                            None => {
                                let fetcher = super::Fetcher::new(transport.clone());
                                resolver.download_index(&url, &fetcher)?.1
                            }
                        };
                        indexes.insert(url.clone(), index);
                    }
                    let pinned = format!("={}", locked.version);
                    let label = index_url(&url);
                    let cv = match indexes[&url].select(&locked.name, Some(&pinned), true, &label) {
                        Ok(cv) => cv.clone(),
                        Err(_) if name.is_some() => {
                            // The cached index may predate the locked version: refresh once.
                            let entry = resolver
                                .config
                                .require(name.as_deref().unwrap_or_default())?;
                            let fresh = resolver.update_repo(entry)?.0;
                            let cv = fresh
                                .select(&locked.name, Some(&pinned), true, &label)?
                                .clone();
                            indexes.insert(url.clone(), fresh);
                            cv
                        }
                        Err(e) => return Err(e),
                    };
                    let f = resolver.download_version(&url, transport, &cv)?;
                    (
                        f.bytes,
                        if f.from_cache { "cached" } else { "downloaded" },
                        f.url,
                    )
                }
                Some(Source::Oci(reference)) => {
                    let pulled = resolver
                        .pull_oci(&reference, Some(&locked.version))
                        .map_err(|e| in_dependency(dep, e))?;
                    let how = if pulled.from_cache {
                        "cached"
                    } else {
                        "downloaded"
                    };
                    (pulled.archive, how, pulled.reference.to_string())
                }
            }
        };
        let actual = sha256_hex(&bytes);
        if actual != expected {
            return Err(RepoError::Invalid(format!(
                "dependency `{}` {}: digest mismatch against Chart.lock: the lock records sha256:{expected}, but {source_label} gives sha256:{actual}. `charter dep build` restores exactly what the lock records and refuses anything else; if the change is intended, run `charter dep update`",
                locked.name, locked.version
            )));
        }
        check_archive(locked, &bytes)?;
        results.push((
            Vendored {
                locked: locked.clone(),
                how,
            },
            bytes,
        ));
    }
    vendor(chart_dir, &meta, &results, Some(&lock))?;
    Ok(results.into_iter().map(|(v, _)| v).collect())
}

enum Source {
    File(PathBuf),
    /// `oci://HOST/PATH/NAME`: the registry path of `repository` and the dependency's name.
    Oci(String),
    Repo {
        url: String,
        /// The configured repository's name, when it is one.
        name: Option<String>,
        transport: Transport,
    },
}

fn source_of(
    resolver: &Resolver,
    chart_dir: &Path,
    dep: &Dependency,
) -> Result<Option<Source>, RepoError> {
    let Some(repo) = dep
        .repository
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return Ok(None);
    };
    if let Some(rel) = repo.strip_prefix("file://") {
        let dir = chart_dir.join(rel);
        if !dir.is_dir() {
            return Err(RepoError::Invalid(format!(
                "dependency `{}`: repository `{repo}` resolves to {}, which is not a chart directory (file:// paths are relative to the chart)",
                dep.name,
                dir.display()
            )));
        }
        return Ok(Some(Source::File(dir)));
    }
    if let Some(name) = repo
        .strip_prefix('@')
        .or_else(|| repo.strip_prefix("alias:"))
    {
        let entry = resolver.config.require(name)?;
        return Ok(Some(Source::Repo {
            url: entry.url.clone(),
            name: Some(entry.name.clone()),
            transport: resolver.config.transport_for(entry),
        }));
    }
    if crate::oci::is_oci(repo) {
        return Ok(Some(Source::Oci(format!(
            "{}/{}",
            repo.trim_end_matches('/'),
            dep.name
        ))));
    }
    validate_repo_url(repo)
        .map_err(|e| RepoError::Invalid(format!("dependency `{}`: {e}", dep.name)))?;
    let configured = resolver.config.find_by_url(repo);
    Ok(Some(Source::Repo {
        url: repo.to_string(),
        name: configured.map(|e| e.name.clone()),
        transport: resolver.transport_for_url(repo),
    }))
}

/// A registry error, naming the dependency it was for.
fn in_dependency(dep: &Dependency, e: RepoError) -> RepoError {
    RepoError::Invalid(format!("dependency `{}`: {e}", dep.name))
}

fn check_range(dep: &Dependency, version: &str, what: &str) -> Result<(), RepoError> {
    let Some(range) = &dep.version else {
        return Ok(());
    };
    let c = Constraint::parse(range)
        .map_err(|e| RepoError::Invalid(format!("dependency `{}`: {e}", dep.name)))?;
    let ok = parse_version_lenient(version).is_ok_and(|v| c.matches(&v));
    if !ok {
        return Err(RepoError::NotFound(format!(
            "dependency `{}`: {what} is version {version}, which does not satisfy `{range}`",
            dep.name
        )));
    }
    Ok(())
}

/// The archive must be the chart it claims to be, and load.
fn check_archive(locked: &LockedDependency, bytes: &[u8]) -> Result<(), RepoError> {
    let label = PathBuf::from(format!("charts/{}", locked.file_name()));
    let chart = Chart::from_archive_bytes(&label, bytes)?;
    if chart.meta.name != locked.name || chart.meta.version != locked.version {
        return Err(RepoError::Invalid(format!(
            "{}: the archive holds chart `{}` version {}, not `{}` {}; the repository index is wrong",
            label.display(),
            chart.meta.name,
            chart.meta.version,
            locked.name,
            locked.version
        )));
    }
    Ok(())
}

struct VendoredFile {
    path: PathBuf,
    name: String,
    version: String,
    /// sha256 of an archive; `None` for a directory.
    digest: Option<String>,
}

/// The charts under `charts/`: archives (by their Chart.yaml) and directories.
fn scan_vendored(chart_dir: &Path) -> Result<Vec<VendoredFile>, RepoError> {
    let charts = chart_dir.join("charts");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&charts) else {
        return Ok(out);
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let fname = e.file_name().to_string_lossy().into_owned();
        if fname.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if let Ok(src) = std::fs::read_to_string(path.join("Chart.yaml"))
                && let Ok(m) = parse_chart_yaml(&src, "Chart.yaml")
            {
                out.push(VendoredFile {
                    path,
                    name: m.name,
                    version: m.version,
                    digest: None,
                });
            }
        } else if fname.ends_with(".tgz") || fname.ends_with(".tar.gz") {
            let bytes = std::fs::read(&path).map_err(RepoError::io(&path))?;
            let Ok(files) = read_archive(&path, &bytes, &ArchiveLimits::default()) else {
                continue;
            };
            let Some((_, cy)) = files.iter().find(|(p, _)| p == "Chart.yaml") else {
                continue;
            };
            let Ok(cv) = super::index::chart_version_from_chart_yaml(cy, &fname) else {
                continue;
            };
            out.push(VendoredFile {
                path,
                name: cv.name,
                version: cv.version,
                digest: Some(sha256_hex(&bytes)),
            });
        }
    }
    Ok(out)
}

/// Writes the archives into `charts/`, after removing older archives of the same charts and
/// the files the previous lock vendored. Refuses when a managed dependency also exists as a
/// directory there.
fn vendor(
    chart_dir: &Path,
    meta: &ChartMeta,
    results: &[(Vendored, Vec<u8>)],
    old_lock: Option<&Lock>,
) -> Result<(), RepoError> {
    let charts = chart_dir.join("charts");
    let existing = scan_vendored(chart_dir)?;
    let managed: BTreeSet<&str> = results
        .iter()
        .map(|(v, _)| v.locked.name.as_str())
        .collect();
    let keep: BTreeSet<String> = results.iter().map(|(v, _)| v.locked.file_name()).collect();
    for f in &existing {
        if f.digest.is_none() && managed.contains(f.name.as_str()) {
            return Err(RepoError::Invalid(format!(
                "{}: `{}` is vendored as a directory, but Chart.yaml of `{}` declares it with a repository; remove the directory (dep update manages charts/{}-<version>.tgz) or clear its `repository`",
                f.path.display(),
                f.name,
                meta.name,
                f.name
            )));
        }
    }
    for f in &existing {
        let fname = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if f.digest.is_some() && managed.contains(f.name.as_str()) && !keep.contains(&fname) {
            std::fs::remove_file(&f.path).map_err(RepoError::io(&f.path))?;
        }
    }
    for old in old_lock
        .map(|l| l.dependencies.as_slice())
        .unwrap_or_default()
    {
        let path = charts.join(old.file_name());
        if !keep.contains(&old.file_name()) && path.is_file() {
            std::fs::remove_file(&path).map_err(RepoError::io(&path))?;
        }
    }
    for (v, bytes) in results {
        let path = charts.join(v.locked.file_name());
        if std::fs::read(&path).is_ok_and(|b| b == *bytes) {
            continue;
        }
        write_atomic(&path, bytes, Some(0o644))?;
    }
    Ok(())
}

fn read_meta(chart_dir: &Path) -> Result<ChartMeta, RepoError> {
    let path = chart_dir.join("Chart.yaml");
    if !chart_dir.is_dir() {
        return Err(RepoError::Invalid(format!(
            "{} is not a chart directory; dependencies are managed in a chart's source directory",
            chart_dir.display()
        )));
    }
    let src = std::fs::read_to_string(&path).map_err(RepoError::io(&path))?;
    Ok(parse_chart_yaml(&src, &path.display().to_string())?)
}

/// Reads Chart.lock, if present.
pub fn read_lock(chart_dir: &Path) -> Result<Option<Lock>, RepoError> {
    let path = chart_dir.join(LOCK_FILE);
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RepoError::io(&path)(e)),
    };
    crate::yaml::from_str(&src)
        .map(Some)
        .map_err(|e| RepoError::Config {
            path,
            message: format!("{e}; regenerate it with `charter dep update`"),
        })
}

fn write_lock(chart_dir: &Path, lock: &Lock) -> Result<(), RepoError> {
    let value = serde_json::to_value(lock).expect("lock serializes");
    write_atomic(
        &chart_dir.join(LOCK_FILE),
        crate::yaml::to_yaml(&value).as_bytes(),
        Some(0o644),
    )
}

/// `sha256:` digest of what decides the vendored set: each dependency's name, range and
/// repository, in declaration order.
pub fn requirements_digest(meta: &ChartMeta) -> String {
    let reqs: Vec<serde_json::Value> = meta
        .dependencies
        .iter()
        .map(|d| {
            serde_json::json!({
                "name": d.name,
                "repository": d.repository.clone().unwrap_or_default(),
                "version": d.version.clone().unwrap_or_default(),
            })
        })
        .collect();
    let bytes = serde_json::to_vec(&reqs).expect("serializes");
    format!("sha256:{}", sha256_hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::config::Paths;

    fn write(dir: &Path, rel: &str, content: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn resolver(t: &Path) -> Resolver {
        Resolver::new(Paths {
            config_dir: t.join("config"),
            cache_dir: t.join("cache"),
        })
        .unwrap()
    }

    /// file:// dependencies need no network: update, list, build and tamper detection.
    #[test]
    fn file_dependencies_update_build_and_refuse_mismatch() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write(
            root,
            "db/Chart.yaml",
            "apiVersion: charter/v1\nname: db\nversion: 1.4.0\n",
        );
        write(root, "db/templates/s.yaml", "kind: Service\n");
        write(
            root,
            "app/Chart.yaml",
            "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: db\n    version: ^1.2\n    repository: file://../db\n    condition: db.enabled\n",
        );
        let app = root.join("app");
        let r = resolver(root);

        let (rows, lock_ok) = list(&app).unwrap();
        assert_eq!(rows[0].state, DepState::Missing);
        assert_eq!(lock_ok, None);

        let done = update(&r, &app, false).unwrap();
        assert_eq!(done[0].locked.version, "1.4.0");
        assert_eq!(done[0].how, "packaged");
        let archive = app.join("charts/db-1.4.0.tgz");
        assert!(archive.is_file());
        let lock = read_lock(&app).unwrap().unwrap();
        assert_eq!(
            lock.dependencies[0].digest.as_deref().unwrap(),
            format!("sha256:{}", sha256_hex(&std::fs::read(&archive).unwrap()))
        );
        let (rows, lock_ok) = list(&app).unwrap();
        assert_eq!((rows[0].state, lock_ok), (DepState::Ok, Some(true)));
        Chart::load(&app).unwrap();

        // Restoring from the lock puts back the identical archive.
        std::fs::remove_file(&archive).unwrap();
        let before = std::fs::read_to_string(app.join(LOCK_FILE)).unwrap();
        build(&r, &app).unwrap();
        assert_eq!(
            format!("sha256:{}", sha256_hex(&std::fs::read(&archive).unwrap())),
            lock.dependencies[0].digest.clone().unwrap()
        );
        // An unchanged update keeps the lock byte for byte (no new timestamp).
        update(&r, &app, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(app.join(LOCK_FILE)).unwrap(),
            before
        );

        // A vendored archive that differs from the lock is reported, and build refuses a source
        // that no longer matches.
        std::fs::write(&archive, b"junk").unwrap();
        let (rows, _) = list(&app).unwrap();
        assert_eq!(
            rows[0].state,
            DepState::Missing,
            "junk is not a chart archive"
        );
        write(root, "db/templates/s.yaml", "kind: Service # changed\n");
        let err = build(&r, &app).unwrap_err().to_string();
        assert!(err.contains("digest mismatch against Chart.lock"), "{err}");

        // Version bump out of range.
        write(
            root,
            "db/Chart.yaml",
            "apiVersion: charter/v1\nname: db\nversion: 2.0.0\n",
        );
        let err = update(&r, &app, false).unwrap_err().to_string();
        assert!(err.contains("does not satisfy `^1.2`"), "{err}");

        // Chart.yaml changed since the lock.
        write(
            root,
            "app/Chart.yaml",
            "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: db\n    version: ^2\n    repository: file://../db\n",
        );
        let err = build(&r, &app).unwrap_err().to_string();
        assert!(err.contains("out of date"), "{err}");
        let (_, lock_ok) = list(&app).unwrap();
        assert_eq!(lock_ok, Some(false));
        let done = update(&r, &app, false).unwrap();
        assert_eq!(done[0].locked.version, "2.0.0");
        assert!(!archive.exists(), "the old version is removed");
        assert!(app.join("charts/db-2.0.0.tgz").is_file());
    }

    #[test]
    fn directory_conflict_and_unknown_sources() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write(
            root,
            "db/Chart.yaml",
            "apiVersion: charter/v1\nname: db\nversion: 1.0.0\n",
        );
        write(
            root,
            "app/charts/db/Chart.yaml",
            "apiVersion: charter/v1\nname: db\nversion: 0.1.0\n",
        );
        write(
            root,
            "app/Chart.yaml",
            "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: db\n    repository: file://../db\n",
        );
        let r = resolver(root);
        let app = root.join("app");
        assert_eq!(list(&app).unwrap().0[0].state, DepState::Unpacked);
        let err = update(&r, &app, false).unwrap_err().to_string();
        assert!(err.contains("vendored as a directory"), "{err}");
        assert!(!app.join(LOCK_FILE).exists(), "no partial write");

        for (repo, want) in [
            ("\"@nope\"", "repository `nope` is not configured"),
            ("oci://r/X", "repository path `X/x` is invalid"),
            ("file://../missing", "not a chart directory"),
            ("ftp://x", "ftp"),
        ] {
            write(
                root,
                "app/Chart.yaml",
                &format!(
                    "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: x\n    repository: {repo}\n"
                ),
            );
            let err = update(&r, &app, false).unwrap_err().to_string();
            assert!(err.contains(want), "{repo}: {err}");
        }
    }
}
