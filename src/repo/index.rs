//! `index.yaml`: the catalogue of a chart repository, in the format Helm reads and writes.
//!
//! ```yaml
//! apiVersion: v1
//! entries:
//!   demo:                       # by chart name, newest version first
//!   - apiVersion: charter/v1
//!     appVersion: "2.1"
//!     created: "2024-05-01T10:00:00Z"
//!     description: The demo app
//!     digest: 3b1f…             # sha256 of the .tgz
//!     name: demo
//!     urls:
//!     - demo-1.2.3.tgz          # relative to the repository URL, or absolute
//!     version: 1.2.3
//! generated: "2024-05-01T10:00:00Z"
//! ```
//!
//! Entry keys are written in alphabetical order and empty fields are left out, as Helm does.
//! Reading is lenient where Helm is (numbers where strings belong, unknown keys), and an entry
//! Helm would skip (no name, a version that is not SemVer) is skipped with a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{RepoError, lenient};
use crate::chart::{ArchiveLimits, Constraint, parse_version_lenient, read_archive};

/// The only index `apiVersion`.
pub const INDEX_API_VERSION: &str = "v1";

/// A repository index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always `v1`.
    pub api_version: String,
    /// Chart versions by chart name, newest first.
    #[serde(default, deserialize_with = "lenient::null_default")]
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
    /// When the index was written (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub generated: Option<String>,
}

/// A maintainer of a chart version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IndexMaintainer {
    /// E-mail.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub email: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Home page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub url: Option<String>,
}

/// A dependency as an index entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IndexDependency {
    /// Alias.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub alias: Option<String>,
    /// Condition.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub condition: Option<String>,
    /// Name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Repository.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub repository: Option<String>,
    /// Tags.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec_string"
    )]
    pub tags: Vec<String>,
    /// Version range.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub version: Option<String>,
}

/// One version of one chart in an index: the chart's metadata plus where to get it.
/// Fields are declared in alphabetical order, which is the order they are written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChartVersion {
    /// Annotations.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "lenient::string_map"
    )]
    pub annotations: BTreeMap<String, String>,
    /// The chart's `apiVersion` (`charter/v1`, or `v2` for a Helm chart).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub api_version: Option<String>,
    /// The application version.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub app_version: Option<String>,
    /// When this version was indexed (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub created: Option<String>,
    /// Dependencies.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::null_default"
    )]
    pub dependencies: Vec<IndexDependency>,
    /// Whether the chart is deprecated.
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "lenient::bool"
    )]
    pub deprecated: bool,
    /// One-line description.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub description: Option<String>,
    /// sha256 of the archive, lower-case hex.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub digest: Option<String>,
    /// Home page.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub home: Option<String>,
    /// Icon URL.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub icon: Option<String>,
    /// Search keywords.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec_string"
    )]
    pub keywords: Vec<String>,
    /// Kubernetes version constraint.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub kube_version: Option<String>,
    /// Maintainers.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::null_default"
    )]
    pub maintainers: Vec<IndexMaintainer>,
    /// The chart's name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Whether the version was withdrawn (never selected).
    #[serde(
        default,
        skip_serializing_if = "is_false",
        deserialize_with = "lenient::bool"
    )]
    pub removed: bool,
    /// Source URLs.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec_string"
    )]
    pub sources: Vec<String>,
    /// `application` or `library`.
    #[serde(
        default,
        rename = "type",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub chart_type: Option<String>,
    /// Where to download the archive: absolute, or relative to the repository URL.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::vec_string"
    )]
    pub urls: Vec<String>,
    /// The chart version (SemVer).
    #[serde(default, deserialize_with = "lenient::string")]
    pub version: String,
}

impl ChartVersion {
    /// The parsed version, when it is (leniently) SemVer.
    pub fn semver(&self) -> Option<semver::Version> {
        parse_version_lenient(&self.version).ok()
    }
}

/// What to search for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Case-insensitive substring of the name, `repo/name`, description or keywords.
    pub keyword: Option<String>,
    /// Only versions in this range.
    pub version: Option<Constraint>,
    /// Every matching version, not only the newest per chart.
    pub all_versions: bool,
    /// Include pre-release versions when no range is given. Without a range the filter is
    /// Helm's: `>0.0.0`, or `>0.0.0-0` with `devel`.
    pub devel: bool,
}

/// One search result.
#[derive(Debug, Clone, Copy)]
pub struct SearchHit<'a> {
    /// The repository's name.
    pub repo: &'a str,
    /// The chart version.
    pub chart: &'a ChartVersion,
}

impl Index {
    /// An empty index.
    pub fn new() -> Index {
        Index {
            api_version: INDEX_API_VERSION.to_string(),
            entries: BTreeMap::new(),
            generated: None,
        }
    }

    /// Parses an index.yaml. `origin` (URL or file) names it in errors. Entries Helm would
    /// skip are left out; the returned strings say which and why.
    pub fn from_yaml(bytes: &[u8], origin: &str) -> Result<(Index, Vec<String>), RepoError> {
        let fail = |message: String| RepoError::Index {
            origin: origin.to_string(),
            message,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| fail("not UTF-8 text; an index.yaml is YAML".into()))?;
        let value = crate::yaml::parse_str(text, origin).map_err(|e| {
            fail(format!(
                "not a valid index.yaml: {e}. Is the URL a chart repository (it must serve index.yaml)?"
            ))
        })?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(fail(
                "not a chart repository index: expected a mapping with apiVersion and entries"
                    .into(),
            ));
        };
        match map.get("apiVersion") {
            Some(serde_json::Value::String(v)) if v == INDEX_API_VERSION => {}
            Some(v) => {
                return Err(fail(format!(
                    "unsupported index apiVersion {v}; expected `{INDEX_API_VERSION}`"
                )));
            }
            None => {
                return Err(fail(
                    "no apiVersion: this is not a chart repository index (expected `apiVersion: v1` and `entries`)".into(),
                ));
            }
        }
        let generated = match map.remove("generated") {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        let mut index = Index {
            api_version: INDEX_API_VERSION.to_string(),
            entries: BTreeMap::new(),
            generated,
        };
        let mut skipped = Vec::new();
        let entries = match map.remove("entries") {
            None | Some(serde_json::Value::Null) => serde_json::Map::new(),
            Some(serde_json::Value::Object(m)) => m,
            Some(_) => {
                return Err(fail(
                    "`entries` must be a mapping of chart names to version lists".into(),
                ));
            }
        };
        for (name, versions) in entries {
            let list = match versions {
                serde_json::Value::Array(a) => a,
                serde_json::Value::Null => continue,
                _ => {
                    skipped.push(format!("entries.{name}: not a list of versions; skipped"));
                    continue;
                }
            };
            let mut out = Vec::with_capacity(list.len());
            for (i, v) in list.into_iter().enumerate() {
                match crate::yaml::from_value::<ChartVersion>(&v) {
                    Ok(cv) => match validate_entry(&cv) {
                        Ok(()) => out.push(cv),
                        Err(why) => skipped.push(format!("entries.{name}[{i}]: {why}; skipped")),
                    },
                    Err(e) => skipped.push(format!("entries.{name}[{i}]: {e}; skipped")),
                }
            }
            if !out.is_empty() {
                index.entries.insert(name, out);
            }
        }
        index.sort();
        Ok((index, skipped))
    }

    /// Writes the index as YAML (Helm's layout: keys sorted, newest version first).
    pub fn to_yaml(&self) -> String {
        let value = serde_json::to_value(self).expect("index serializes");
        crate::yaml::to_yaml(&value)
    }

    /// Sorts every chart's versions newest first (versions that are not SemVer last).
    pub fn sort(&mut self) {
        for versions in self.entries.values_mut() {
            versions.sort_by_cached_key(|v| std::cmp::Reverse(v.semver()));
        }
    }

    /// Number of chart versions.
    pub fn len(&self) -> usize {
        self.entries.values().map(Vec::len).sum()
    }

    /// Whether the index has no chart version.
    pub fn is_empty(&self) -> bool {
        self.entries.values().all(Vec::is_empty)
    }

    /// The version of `name` to use: the highest one in `range`, or without a range the highest
    /// release (pre-releases too with `devel`). `origin` names the repository in errors.
    pub fn select(
        &self,
        name: &str,
        range: Option<&str>,
        devel: bool,
        origin: &str,
    ) -> Result<&ChartVersion, RepoError> {
        let versions = self.entries.get(name).ok_or_else(|| {
            RepoError::NotFound(format!(
                "chart `{name}` is not in repository {origin}; `charter search {name}` lists what the configured repositories hold (after `charter repo update`)"
            ))
        })?;
        let constraint = range
            .map(|r| {
                Constraint::parse(r).map_err(|e| {
                    RepoError::Invalid(format!("--version `{r}` is not a valid version range: {e}"))
                })
            })
            .transpose()?;
        for cv in versions {
            if cv.removed {
                continue;
            }
            let Some(v) = cv.semver() else { continue };
            let ok = match &constraint {
                Some(c) => c.matches(&v),
                None => devel || v.pre.is_empty(),
            };
            if ok {
                return Ok(cv);
            }
        }
        let available: Vec<&str> = versions
            .iter()
            .take(10)
            .map(|v| v.version.as_str())
            .collect();
        let more = if versions.len() > 10 { ", …" } else { "" };
        Err(RepoError::NotFound(match range {
            Some(r) => format!(
                "no version of `{name}` in {origin} satisfies `{r}`; available: {}{more}",
                available.join(", ")
            ),
            None => format!(
                "`{name}` in {origin} has only pre-release versions ({}{more}); pass --devel or --version",
                available.join(", ")
            ),
        }))
    }

    /// Merges an older index into this one (`repo index --merge`): versions only the old index
    /// has are kept, and a version present in both with the same digest keeps its old `created`
    /// time, so re-indexing an unchanged directory changes nothing but `generated`.
    pub fn merge_older(&mut self, old: Index) {
        for (name, old_versions) in old.entries {
            let list = self.entries.entry(name).or_default();
            for ov in old_versions {
                match list.iter_mut().find(|v| v.version == ov.version) {
                    Some(v) => {
                        if v.digest == ov.digest && ov.created.is_some() {
                            v.created = ov.created;
                        }
                    }
                    None => list.push(ov),
                }
            }
        }
        self.sort();
    }
}

impl Default for Index {
    fn default() -> Self {
        Index::new()
    }
}

fn validate_entry(cv: &ChartVersion) -> Result<(), String> {
    if cv.name.is_empty() {
        return Err("no chart name".into());
    }
    if cv.name.contains(['/', '\\']) || cv.name == "." || cv.name == ".." {
        return Err(format!("chart name `{}` is not a plain name", cv.name));
    }
    if cv.version.is_empty() {
        return Err("no version".into());
    }
    if cv.semver().is_none() || cv.version.contains(['/', '\\']) {
        return Err(format!("version `{}` is not SemVer", cv.version));
    }
    Ok(())
}

/// Searches indexes (repository name, index) for charts. Results are ordered by `repo/name`,
/// then newest version first.
pub fn search<'a>(indexes: &'a [(String, Index)], q: &SearchQuery) -> Vec<SearchHit<'a>> {
    // Without a range, Helm's defaults: `>0.0.0` (releases above 0.0.0), or `>0.0.0-0` with
    // --devel (pre-releases too).
    let default_range =
        Constraint::parse(if q.devel { ">0.0.0-0" } else { ">0.0.0" }).expect("valid constraint");
    let range = q.version.as_ref().unwrap_or(&default_range);
    let needle = q
        .keyword
        .as_deref()
        .map(str::to_lowercase)
        .filter(|k| !k.is_empty());
    let mut hits = Vec::new();
    let mut sorted: Vec<&(String, Index)> = indexes.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (repo, index) in sorted {
        for (name, versions) in &index.entries {
            for cv in versions {
                if cv.removed {
                    continue;
                }
                let Some(v) = cv.semver() else { continue };
                if !range.matches(&v) {
                    continue;
                }
                if let Some(n) = &needle
                    && !matches_keyword(repo, name, cv, n)
                {
                    continue;
                }
                hits.push(SearchHit { repo, chart: cv });
                if !q.all_versions {
                    break;
                }
            }
        }
    }
    hits
}

fn matches_keyword(repo: &str, name: &str, cv: &ChartVersion, needle: &str) -> bool {
    let has = |s: &str| {
        if s.is_ascii() {
            s.as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
        } else {
            s.to_lowercase().contains(needle)
        }
    };
    has(name)
        || has(&format!("{repo}/{name}"))
        || cv.description.as_deref().is_some_and(has)
        || cv.keywords.iter().any(|k| has(k))
}

/// Builds the index of the chart archives in `dir` (`*.tgz` and `*/*.tgz`, as `helm repo
/// index` does). URLs are relative paths, or `base_url/path` when a base URL is given. Files
/// that are not chart archives are skipped; the returned strings say which and why.
pub fn index_directory(
    dir: &Path,
    base_url: Option<&str>,
    created: &str,
) -> Result<(Index, Vec<String>), RepoError> {
    let mut archives: Vec<(String, PathBuf)> = Vec::new();
    let read_dir = |d: &Path| -> Result<Vec<std::fs::DirEntry>, RepoError> {
        let mut v = std::fs::read_dir(d)
            .map_err(RepoError::io(d))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(RepoError::io(d))?;
        v.sort_by_key(|e| e.file_name());
        Ok(v)
    };
    for e in read_dir(dir)? {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() && !name.starts_with('.') {
            for e2 in read_dir(&path)? {
                let n2 = e2.file_name().to_string_lossy().into_owned();
                if n2.ends_with(".tgz") && e2.path().is_file() {
                    archives.push((format!("{name}/{n2}"), e2.path()));
                }
            }
        } else if name.ends_with(".tgz") && path.is_file() {
            archives.push((name, path));
        }
    }
    let mut index = Index::new();
    let mut skipped = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    for (rel, path) in archives {
        let bytes = std::fs::read(&path).map_err(RepoError::io(&path))?;
        let files = match read_archive(&path, &bytes, &ArchiveLimits::default()) {
            Ok(f) => f,
            Err(e) => {
                skipped.push(format!("{rel}: {e}; skipped"));
                continue;
            }
        };
        let Some((_, chart_yaml)) = files.iter().find(|(p, _)| p == "Chart.yaml") else {
            skipped.push(format!(
                "{rel}: no Chart.yaml at the top of the archive; skipped"
            ));
            continue;
        };
        let label = format!("{}/Chart.yaml", path.display());
        let mut cv = match chart_version_from_chart_yaml(chart_yaml, &label) {
            Ok(cv) => cv,
            Err(why) => {
                skipped.push(format!("{rel}: {why}; skipped"));
                continue;
            }
        };
        if let Some(first) = seen.insert((cv.name.clone(), cv.version.clone()), rel.clone()) {
            return Err(RepoError::Index {
                origin: dir.display().to_string(),
                message: format!(
                    "{first} and {rel} both hold chart `{}` version {}; remove one",
                    cv.name, cv.version
                ),
            });
        }
        cv.digest = Some(crate::chart::sha256_hex(&bytes));
        cv.created = Some(created.to_string());
        cv.urls = vec![match base_url {
            Some(base) if !base.is_empty() => format!("{}/{rel}", base.trim_end_matches('/')),
            _ => rel.clone(),
        }];
        index.entries.entry(cv.name.clone()).or_default().push(cv);
    }
    index.sort();
    index.generated = Some(created.to_string());
    Ok((index, skipped))
}

/// The index entry for a chart: the metadata fields of its Chart.yaml (charter or Helm).
pub fn chart_version_from_chart_yaml(bytes: &[u8], label: &str) -> Result<ChartVersion, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "Chart.yaml is not UTF-8".to_string())?;
    let cv: ChartVersion = crate::yaml::from_str(text).map_err(|e| format!("{label}: {e}"))?;
    validate_entry(&cv).map_err(|e| format!("{label}: {e}"))?;
    Ok(ChartVersion {
        urls: Vec::new(),
        created: None,
        digest: None,
        removed: false,
        ..cv
    })
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELM_INDEX: &str = r#"apiVersion: v1
entries:
  alpine:
  - apiVersion: v2
    appVersion: 3.1
    created: "2016-10-06T16:23:20.499814565-06:00"
    description: Deploy a basic Alpine Linux pod
    digest: 99c76e403d752c84ead610644d4b1c2f2b453a74b921f422b9dcb8a7c8b559cd
    home: https://helm.sh/helm
    keywords: [linux, alpine]
    maintainers:
    - name: someone
      email: a@b.c
    name: alpine
    sources:
    - https://github.com/helm/helm
    urls:
    - https://technosophos.github.io/tscharts/alpine-0.2.0.tgz
    version: 0.2.0
  - name: alpine
    version: 0.10.0-rc.1
    urls: [alpine-0.10.0-rc.1.tgz]
  - name: alpine
    version: 0.3.0
    urls: [alpine-0.3.0.tgz]
    dependencies:
    - name: db
      version: ^1
      repository: https://x
      import-values: [a]
  - name: alpine
    version: not-semver
  - name: ../../etc
    version: 1.0.0
  nginx:
  - name: nginx
    version: 1.0.0
    removed: true
  - name: nginx
    version: 0.9.0
    deprecated: true
    description: web server
generated: 2016-10-06T16:23:20.499029981-06:00
serverInfo: {}
"#;

    fn helm_index() -> Index {
        let (i, skipped) = Index::from_yaml(HELM_INDEX.as_bytes(), "test").unwrap();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("not-semver"), "{skipped:?}");
        assert!(skipped[1].contains("not a plain name"), "{skipped:?}");
        i
    }

    #[test]
    fn reads_helm_index_leniently_and_sorts_newest_first() {
        let i = helm_index();
        let versions: Vec<_> = i.entries["alpine"]
            .iter()
            .map(|v| v.version.as_str())
            .collect();
        assert_eq!(versions, ["0.10.0-rc.1", "0.3.0", "0.2.0"]);
        let a = &i.entries["alpine"][2];
        assert_eq!(a.app_version.as_deref(), Some("3.1"));
        assert_eq!(a.keywords, ["linux", "alpine"]);
        assert_eq!(a.maintainers[0].email.as_deref(), Some("a@b.c"));
        assert_eq!(
            i.entries["alpine"][1].dependencies[0].repository.as_deref(),
            Some("https://x")
        );
        assert_eq!(i.len(), 5);
    }

    #[test]
    fn yaml_and_json_round_trip() {
        let i = helm_index();
        let (again, skipped) = Index::from_yaml(i.to_yaml().as_bytes(), "again").unwrap();
        assert!(skipped.is_empty());
        assert_eq!(again, i);
        let json = serde_json::to_vec(&i).unwrap();
        assert_eq!(serde_json::from_slice::<Index>(&json).unwrap(), i);
        // Keys in alphabetical order, as Helm writes them.
        let y = i.to_yaml();
        let a = y.find("appVersion").unwrap();
        assert!(
            y.find("apiVersion: v2").unwrap() < a && a < y.find("created").unwrap(),
            "{y}"
        );
    }

    #[test]
    fn select_highest_in_range_and_skips_prerelease_and_removed() {
        let i = helm_index();
        assert_eq!(
            i.select("alpine", None, false, "r").unwrap().version,
            "0.3.0"
        );
        assert_eq!(
            i.select("alpine", None, true, "r").unwrap().version,
            "0.10.0-rc.1"
        );
        assert_eq!(
            i.select("alpine", Some("~0.2"), false, "r")
                .unwrap()
                .version,
            "0.2.0"
        );
        assert_eq!(
            i.select("nginx", None, false, "r").unwrap().version,
            "0.9.0"
        );
        let err = i
            .select("alpine", Some("^2"), false, "r")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("satisfies `^2`") && err.contains("0.3.0"),
            "{err}"
        );
        let err = i.select("nope", None, false, "r").unwrap_err().to_string();
        assert!(
            err.contains("`nope`") && err.contains("charter search"),
            "{err}"
        );
        let err = i
            .select("alpine", Some(">>1"), false, "r")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid version range"), "{err}");
    }

    #[test]
    fn search_keyword_range_and_versions() {
        let indexes = vec![("stable".to_string(), helm_index())];
        let names = |q: &SearchQuery| {
            search(&indexes, q)
                .iter()
                .map(|h| format!("{}/{}@{}", h.repo, h.chart.name, h.chart.version))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&SearchQuery::default()),
            ["stable/alpine@0.3.0", "stable/nginx@0.9.0"]
        );
        let q = SearchQuery {
            keyword: Some("LINUX".into()),
            all_versions: true,
            ..Default::default()
        };
        assert_eq!(names(&q), ["stable/alpine@0.2.0"]);
        let q = SearchQuery {
            keyword: Some("stable/alp".into()),
            version: Some(Constraint::parse(">=0.2.0-0").unwrap()),
            all_versions: true,
            ..Default::default()
        };
        assert_eq!(
            names(&q),
            [
                "stable/alpine@0.10.0-rc.1",
                "stable/alpine@0.3.0",
                "stable/alpine@0.2.0"
            ]
        );
        let q = SearchQuery {
            keyword: Some("web".into()),
            ..Default::default()
        };
        assert_eq!(names(&q), ["stable/nginx@0.9.0"]);
    }

    #[test]
    fn rejects_what_is_not_an_index() {
        for (src, want) in [
            ("<html>hello</html>", "not a chart repository index"),
            ("entries: {}\n", "no apiVersion"),
            (
                "apiVersion: v2\nentries: {}\n",
                "unsupported index apiVersion",
            ),
            ("apiVersion: v1\nentries: [1]\n", "must be a mapping"),
            ("apiVersion: v1\nentries: {a: [\n", "not a valid index.yaml"),
        ] {
            let err = Index::from_yaml(src.as_bytes(), "http://x/index.yaml")
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("http://x/index.yaml") && err.contains(want),
                "{src}: {err}"
            );
        }
    }

    #[test]
    fn merge_keeps_created_of_unchanged_versions() {
        let mut new = Index::new();
        let cv = |v: &str, d: &str, c: &str| ChartVersion {
            name: "a".into(),
            version: v.into(),
            digest: Some(d.into()),
            created: Some(c.into()),
            ..Default::default()
        };
        new.entries.insert(
            "a".into(),
            vec![cv("1.0.0", "d1", "new"), cv("2.0.0", "d2", "new")],
        );
        let mut old = Index::new();
        old.entries.insert(
            "a".into(),
            vec![
                cv("1.0.0", "d1", "old"),
                cv("2.0.0", "changed", "old"),
                cv("0.5.0", "d0", "old"),
            ],
        );
        new.merge_older(old);
        let got: Vec<_> = new.entries["a"]
            .iter()
            .map(|v| format!("{}:{}", v.version, v.created.as_deref().unwrap()))
            .collect();
        assert_eq!(got, ["2.0.0:new", "1.0.0:old", "0.5.0:old"]);
    }
}
