//! Where charter keeps repository settings and downloads, and the settings themselves.
//!
//! - `${XDG_CONFIG_HOME:-~/.config}/charter/repositories.yaml`: name, URL, CA file and TLS
//!   setting of each repository (no secrets).
//! - `${XDG_CONFIG_HOME:-~/.config}/charter/credentials.yaml`: user name and password per
//!   repository, mode 0600; charter refuses to read it when others may.
//! - `${XDG_CACHE_HOME:-~/.cache}/charter/`: indexes and chart archives ([`super::cache`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::http::{Transport, origin_of};
use super::{RepoError, write_atomic};

/// The configuration and cache directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `$XDG_CONFIG_HOME/charter`.
    pub config_dir: PathBuf,
    /// `$XDG_CACHE_HOME/charter`.
    pub cache_dir: PathBuf,
}

impl Paths {
    /// From `XDG_CONFIG_HOME` / `XDG_CACHE_HOME` (absolute paths only, as the XDG spec says),
    /// else `~/.config` / `~/.cache`.
    pub fn from_env() -> Result<Paths, RepoError> {
        let xdg = |var: &str, fallback: &str| -> Result<PathBuf, RepoError> {
            if let Some(v) = std::env::var_os(var).map(PathBuf::from)
                && v.is_absolute()
            {
                return Ok(v);
            }
            let home = std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .ok_or_else(|| {
                    RepoError::Invalid(format!(
                        "neither {var} nor HOME is set: charter cannot tell where to keep repository settings; set {var} to an absolute directory"
                    ))
                })?;
            Ok(home.join(fallback))
        };
        Ok(Paths {
            config_dir: xdg("XDG_CONFIG_HOME", ".config")?.join("charter"),
            cache_dir: xdg("XDG_CACHE_HOME", ".cache")?.join("charter"),
        })
    }

    /// `repositories.yaml`.
    pub fn repositories_file(&self) -> PathBuf {
        self.config_dir.join("repositories.yaml")
    }

    /// `credentials.yaml` (mode 0600).
    pub fn credentials_file(&self) -> PathBuf {
        self.config_dir.join("credentials.yaml")
    }

    /// Takes an exclusive lock on the repository configuration; hold it from reading the
    /// configuration to saving it, so concurrent `repo add` / `repo remove` runs do not lose
    /// each other's changes. Released when dropped.
    pub fn lock_config(&self) -> Result<ConfigLock, RepoError> {
        std::fs::create_dir_all(&self.config_dir).map_err(RepoError::io(&self.config_dir))?;
        let path = self.config_dir.join("repositories.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(RepoError::io(&path))?;
        file.lock().map_err(RepoError::io(&path))?;
        Ok(ConfigLock { _file: file })
    }
}

/// An exclusive lock on the repository configuration ([`Paths::lock_config`]).
#[derive(Debug)]
pub struct ConfigLock {
    _file: std::fs::File,
}

/// One configured repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepoEntry {
    /// The name used in `NAME/CHART` references.
    pub name: String,
    /// The repository URL (the directory that holds index.yaml).
    pub url: String,
    /// A PEM file of CA certificates to trust instead of the system's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS certificate verification (unsafe).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
}

impl RepoEntry {
    /// The URL of the repository's index.yaml.
    pub fn index_url(&self) -> String {
        index_url(&self.url)
    }
}

/// `URL/index.yaml`.
pub fn index_url(repo_url: &str) -> String {
    format!("{}/index.yaml", repo_url.trim_end_matches('/'))
}

/// Basic-auth credentials of a repository.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RepositoriesFile {
    api_version: String,
    #[serde(default)]
    repositories: Vec<RepoEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CredentialsFile {
    api_version: String,
    #[serde(default)]
    credentials: BTreeMap<String, Credentials>,
}

const FILE_API_VERSION: &str = "charter/v1";

/// The configured repositories and their credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoConfig {
    /// Repositories, sorted by name.
    pub repositories: Vec<RepoEntry>,
    /// Credentials by repository name.
    pub credentials: BTreeMap<String, Credentials>,
}

impl RepoConfig {
    /// Reads the configuration; missing files mean "no repositories".
    pub fn load(paths: &Paths) -> Result<RepoConfig, RepoError> {
        let mut cfg = RepoConfig::default();
        let repos = paths.repositories_file();
        if let Some(src) = read_optional(&repos)? {
            let f: RepositoriesFile = parse_file(&repos, &src)?;
            for r in &f.repositories {
                validate_repo_name(&r.name)
                    .and_then(|()| validate_repo_url(&r.url))
                    .map_err(|e| RepoError::Config {
                        path: repos.clone(),
                        message: format!("{e}; fix or remove that entry"),
                    })?;
            }
            cfg.repositories = f.repositories;
        }
        let creds = paths.credentials_file();
        if let Some(src) = read_optional(&creds)? {
            check_private(&creds)?;
            let f: CredentialsFile = parse_file(&creds, &src)?;
            cfg.credentials = f.credentials;
        }
        cfg.repositories.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(cfg)
    }

    /// Writes the configuration (credentials with mode 0600; the file is removed when no
    /// repository has credentials).
    pub fn save(&self, paths: &Paths) -> Result<(), RepoError> {
        let mut repositories = self.repositories.clone();
        repositories.sort_by(|a, b| a.name.cmp(&b.name));
        let f = RepositoriesFile {
            api_version: FILE_API_VERSION.into(),
            repositories,
        };
        let value = serde_json::to_value(&f).expect("serializes");
        write_atomic(
            &paths.repositories_file(),
            crate::yaml::to_yaml(&value).as_bytes(),
            Some(0o644),
        )?;
        let creds = paths.credentials_file();
        if self.credentials.is_empty() {
            match std::fs::remove_file(&creds) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RepoError::io(&creds)(e)),
            }
        } else {
            let f = CredentialsFile {
                api_version: FILE_API_VERSION.into(),
                credentials: self.credentials.clone(),
            };
            let value = serde_json::to_value(&f).expect("serializes");
            write_atomic(&creds, crate::yaml::to_yaml(&value).as_bytes(), Some(0o600))?;
        }
        Ok(())
    }

    /// The repository called `name`.
    pub fn get(&self, name: &str) -> Option<&RepoEntry> {
        self.repositories.iter().find(|r| r.name == name)
    }

    /// The repository called `name`, or an error listing the configured ones.
    pub fn require(&self, name: &str) -> Result<&RepoEntry, RepoError> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.repositories.iter().map(|r| r.name.as_str()).collect();
            RepoError::UnknownRepo(if known.is_empty() {
                format!(
                    "repository `{name}` is not configured (no repositories are); add it with `charter repo add {name} URL`"
                )
            } else {
                format!(
                    "repository `{name}` is not configured; configured: {}. Add it with `charter repo add {name} URL`",
                    known.join(", ")
                )
            })
        })
    }

    /// The configured repository whose URL is `url` (ignoring a trailing `/`).
    pub fn find_by_url(&self, url: &str) -> Option<&RepoEntry> {
        let want = url.trim_end_matches('/');
        self.repositories
            .iter()
            .find(|r| r.url.trim_end_matches('/') == want)
    }

    /// The configured repository a URL belongs to: the one with exactly that URL, else the one
    /// with the longest URL that is a path prefix of it (`https://h/charts` for
    /// `https://h/charts/x-1.0.0.tgz`).
    pub fn find_for_url(&self, url: &str) -> Option<&RepoEntry> {
        self.find_by_url(url).or_else(|| {
            self.repositories
                .iter()
                .filter(|r| url.starts_with(&format!("{}/", r.url.trim_end_matches('/'))))
                .max_by_key(|r| r.url.len())
        })
    }

    /// How to talk to a repository: its TLS settings, and its credentials bound to its origin.
    pub fn transport_for(&self, entry: &RepoEntry) -> Transport {
        Transport {
            timeout: None,
            ca_file: entry.ca_file.clone(),
            insecure_skip_tls_verify: entry.insecure_skip_tls_verify,
            credentials: self
                .credentials
                .get(&entry.name)
                .and_then(|c| origin_of(&entry.url).map(|o| (o, c.clone()))),
        }
    }
}

/// Checks a repository name: letters, digits, `.`, `_`, `-`, starting with a letter or digit.
pub fn validate_repo_name(name: &str) -> Result<(), RepoError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(RepoError::Invalid(format!(
            "repository name `{name}` is invalid: use letters, digits, '.', '_' and '-', starting with a letter or digit (it is the REPO in REPO/CHART)"
        )))
    }
}

/// Checks a repository URL: absolute http or https.
pub fn validate_repo_url(url: &str) -> Result<(), RepoError> {
    match reqwest::Url::parse(url) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(()),
        Ok(u) => Err(RepoError::Invalid(format!(
            "repository URL `{url}` has scheme `{}`; charter repositories are served over http:// or https://",
            u.scheme()
        ))),
        Err(e) => Err(RepoError::Invalid(format!(
            "repository URL `{url}` is not a valid URL ({e}); expected e.g. https://charts.example.com"
        ))),
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, RepoError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RepoError::io(path)(e)),
    }
}

fn parse_file<T: serde::de::DeserializeOwned>(path: &Path, src: &str) -> Result<T, RepoError> {
    crate::yaml::from_str(src).map_err(|e| RepoError::Config {
        path: path.to_path_buf(),
        message: format!(
            "{e}. Fix the file, or remove it and re-add the repositories with `charter repo add`"
        ),
    })
}

/// Refuses a file of secrets that users other than its owner may read.
#[cfg(unix)]
pub(crate) fn check_private(path: &Path) -> Result<(), RepoError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(RepoError::io(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(RepoError::Config {
            path: path.to_path_buf(),
            message: format!(
                "holds passwords but is readable by other users (mode {:04o}); run `chmod 600 {}`",
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}

/// Refuses a file of secrets that users other than its owner may read.
#[cfg(not(unix))]
pub(crate) fn check_private(_path: &Path) -> Result<(), RepoError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(t: &tempfile::TempDir) -> Paths {
        Paths {
            config_dir: t.path().join("config/charter"),
            cache_dir: t.path().join("cache/charter"),
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let p = paths(&t);
        assert_eq!(RepoConfig::load(&p).unwrap(), RepoConfig::default());
        let mut cfg = RepoConfig::default();
        cfg.repositories.push(RepoEntry {
            name: "b".into(),
            url: "https://b.example/charts".into(),
            ca_file: Some("/etc/ca.pem".into()),
            insecure_skip_tls_verify: false,
        });
        cfg.repositories.push(RepoEntry {
            name: "a".into(),
            url: "http://a.example".into(),
            ca_file: None,
            insecure_skip_tls_verify: true,
        });
        cfg.credentials.insert(
            "b".into(),
            Credentials {
                username: "u".into(),
                password: "yes: #no'\"".into(),
            },
        );
        cfg.save(&p).unwrap();
        let back = RepoConfig::load(&p).unwrap();
        assert_eq!(back.repositories[0].name, "a");
        assert_eq!(back.credentials["b"].password, "yes: #no'\"");
        let repos = std::fs::read_to_string(p.repositories_file()).unwrap();
        assert!(
            !repos.contains("yes: #no"),
            "secrets stay out of repositories.yaml"
        );
        let tr = back.transport_for(back.get("b").unwrap());
        assert_eq!(tr.credentials.unwrap().0, "https://b.example:443");
        assert!(format!("{:?}", back.credentials["b"]).contains("redacted"));

        cfg.credentials.clear();
        cfg.save(&p).unwrap();
        assert!(!p.credentials_file().exists());

        std::fs::write(
            p.repositories_file(),
            "apiVersion: charter/v1\nrepositories:\n- name: ../x\n  url: http://h\n",
        )
        .unwrap();
        let err = RepoConfig::load(&p).unwrap_err().to_string();
        assert!(
            err.contains("repositories.yaml") && err.contains("`../x`"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn credentials_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let p = paths(&t);
        let mut cfg = RepoConfig::default();
        cfg.credentials.insert(
            "x".into(),
            Credentials {
                username: "u".into(),
                password: "p".into(),
            },
        );
        cfg.save(&p).unwrap();
        let mode = std::fs::metadata(p.credentials_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(p.credentials_file(), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let err = RepoConfig::load(&p).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && err.contains("0644"), "{err}");
    }

    #[test]
    fn names_and_urls_are_checked() {
        assert!(validate_repo_name("my-repo.1_x").is_ok());
        for bad in ["", "a/b", "-x", "a b"] {
            assert!(validate_repo_name(bad).is_err(), "{bad}");
        }
        assert!(validate_repo_url("https://x.example/c").is_ok());
        assert!(
            validate_repo_url("ftp://x")
                .unwrap_err()
                .to_string()
                .contains("ftp")
        );
        assert!(
            validate_repo_url("nope")
                .unwrap_err()
                .to_string()
                .contains("not a valid URL")
        );
        let cfg = RepoConfig::default();
        assert!(
            cfg.require("x")
                .unwrap_err()
                .to_string()
                .contains("charter repo add x URL")
        );
        let entry = |name: &str, url: &str| RepoEntry {
            name: name.into(),
            url: url.into(),
            ca_file: None,
            insecure_skip_tls_verify: false,
        };
        let cfg = RepoConfig {
            repositories: vec![
                entry("a", "https://h/charts"),
                entry("b", "https://h/charts/private/"),
            ],
            credentials: BTreeMap::new(),
        };
        let find = |u: &str| cfg.find_for_url(u).map(|r| r.name.as_str());
        assert_eq!(find("https://h/charts"), Some("a"));
        assert_eq!(find("https://h/charts/x-1.0.0.tgz"), Some("a"));
        assert_eq!(find("https://h/charts/private/x-1.0.0.tgz"), Some("b"));
        assert_eq!(find("https://h/chartsx/x.tgz"), None);
        assert_eq!(find("https://other/charts/x.tgz"), None);
    }
}
