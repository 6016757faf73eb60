//! Where registry credentials come from, in this order:
//!
//! 1. credentials given for this run (`--username`/`--password` in part of the CLI);
//! 2. charter's own logins, `${XDG_CONFIG_HOME:-~/.config}/charter/registries.yaml` (mode 0600,
//!    written by `charter registry login`, refused when others may read it):
//!
//!    ```yaml
//!    apiVersion: charter/v1
//!    registries:
//!      registry.example.com:
//!        username: ci
//!        password: s3cret
//!    ```
//!
//! 3. Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), as
//!    Docker reads it: `credHelpers[host]` runs `docker-credential-<name> get`; otherwise
//!    `credsStore` runs its helper; otherwise `auths[host]` (`auth` = base64 `user:password`, or
//!    `username`/`password`, or an `identitytoken`). `auths` keys may be written as
//!    `host`, `https://host` or `https://host/v1/`.
//! 4. none: anonymous.
//!
//! Each credential carries its [`CredentialSource`], so a 401/403 can say which one the
//! registry refused without ever printing the secret.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::OciError;
use crate::repo::{Paths, write_atomic};

/// Where a credential was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given for this run (flags).
    Explicit,
    /// charter's `registries.yaml`.
    CharterLogin(PathBuf),
    /// An `auths` entry of a Docker config file.
    DockerConfig(PathBuf),
    /// A Docker credential helper (`credHelpers` or `credsStore`), by helper name.
    Helper(String),
    /// No credential.
    Anonymous,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Explicit => f.write_str("the credentials given on the command line"),
            CredentialSource::CharterLogin(p) => {
                write!(f, "charter's registry login in {}", p.display())
            }
            CredentialSource::DockerConfig(p) => write!(f, "the Docker config {}", p.display()),
            CredentialSource::Helper(h) => {
                write!(f, "the Docker credential helper docker-credential-{h}")
            }
            CredentialSource::Anonymous => f.write_str("no credentials (anonymous)"),
        }
    }
}

/// What to authenticate with.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// User name and password (HTTP Basic, or the token endpoint's Basic).
    Password {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token endpoint.
    IdentityToken(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Secret::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// A credential and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The secret.
    pub secret: Secret,
    /// Its origin, for messages.
    pub source: CredentialSource,
}

/// charter's own logins (`registries.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryLogins {
    /// Credentials by registry host (`host[:port]`).
    pub registries: BTreeMap<String, LoginEntry>,
}

/// One login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginEntry {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl fmt::Debug for LoginEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginEntry")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoginsFile {
    api_version: String,
    #[serde(default)]
    registries: BTreeMap<String, LoginEntry>,
}

const FILE_API_VERSION: &str = "charter/v1";

/// `registries.yaml` in charter's config directory.
pub fn logins_file(paths: &Paths) -> PathBuf {
    paths.config_dir.join("registries.yaml")
}

impl RegistryLogins {
    /// Reads `registries.yaml`; a missing file means no logins. The file must not be readable
    /// by others.
    pub fn load(paths: &Paths) -> Result<RegistryLogins, OciError> {
        RegistryLogins::load_file(&logins_file(paths))
    }

    /// Reads a logins file at `path` (see [`RegistryLogins::load`]).
    pub fn load_file(path: &Path) -> Result<RegistryLogins, OciError> {
        let path = path.to_path_buf();
        let src = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(RegistryLogins::default());
            }
            Err(e) => return Err(OciError::io(&path)(e)),
        };
        crate::repo::config::check_private(&path)?;
        let f: LoginsFile = crate::yaml::from_str(&src).map_err(|e| OciError::Config {
            path: path.clone(),
            message: format!(
                "{e}. Fix the file, or remove it and log in again with `charter registry login`"
            ),
        })?;
        if f.api_version != FILE_API_VERSION {
            return Err(OciError::Config {
                path,
                message: format!(
                    "apiVersion `{}` is not `{FILE_API_VERSION}`; remove the file and log in again",
                    f.api_version
                ),
            });
        }
        Ok(RegistryLogins {
            registries: f.registries,
        })
    }

    /// Writes `registries.yaml` with mode 0600 (removed when no login is left). Hold
    /// [`Paths::lock_config`] from load to save.
    pub fn save(&self, paths: &Paths) -> Result<(), OciError> {
        let path = logins_file(paths);
        if self.registries.is_empty() {
            return match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(OciError::io(&path)(e)),
            };
        }
        let f = LoginsFile {
            api_version: FILE_API_VERSION.into(),
            registries: self.registries.clone(),
        };
        let value = serde_json::to_value(&f).map_err(|e| OciError::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&path, crate::yaml::to_yaml(&value).as_bytes(), Some(0o600)).map_err(|e| {
            OciError::Config {
                path,
                message: e.to_string(),
            }
        })
    }
}

/// Docker's `config.json`, the parts charter reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The places credentials are looked up in, for every registry of a run.
#[derive(Debug, Clone, Default)]
pub struct CredentialStore {
    /// Credentials given for this run, by registry host; they win over everything else.
    pub explicit: BTreeMap<String, Secret>,
    /// charter's `registries.yaml`, if any.
    pub charter_logins: Option<PathBuf>,
    /// Docker's `config.json`, if any.
    pub docker_config: Option<PathBuf>,
    /// Directory searched for `docker-credential-*` helpers instead of `PATH` (tests).
    pub helper_dir: Option<PathBuf>,
}

impl CredentialStore {
    /// The usual places: charter's `registries.yaml` under `paths`, and Docker's config from
    /// `DOCKER_CONFIG` or `~/.docker/config.json`.
    pub fn from_env(paths: &Paths) -> CredentialStore {
        let docker_dir = std::env::var_os("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(|h| PathBuf::from(h).join(".docker"))
            });
        CredentialStore {
            explicit: BTreeMap::new(),
            charter_logins: Some(logins_file(paths)),
            docker_config: docker_dir.map(|d| d.join("config.json")),
            helper_dir: None,
        }
    }

    /// A store that knows only `username`/`password` for `registry`, given for this run (a
    /// login being checked).
    pub fn with_password(registry: &str, username: &str, password: &str) -> CredentialStore {
        let mut store = CredentialStore::default();
        store.explicit.insert(
            registry.to_string(),
            Secret::Password {
                username: username.to_string(),
                password: password.to_string(),
            },
        );
        store
    }

    /// The credential for `registry` (`host[:port]`), or `None` for anonymous access.
    pub fn lookup(&self, registry: &str) -> Result<Option<Credential>, OciError> {
        if let Some(secret) = self.explicit.get(registry) {
            return Ok(Some(Credential {
                secret: secret.clone(),
                source: CredentialSource::Explicit,
            }));
        }
        if let Some(path) = &self.charter_logins
            && let Some(e) = RegistryLogins::load_file(path)?.registries.get(registry)
        {
            return Ok(Some(Credential {
                secret: Secret::Password {
                    username: e.username.clone(),
                    password: e.password.clone(),
                },
                source: CredentialSource::CharterLogin(path.clone()),
            }));
        }
        match &self.docker_config {
            Some(path) => self.lookup_docker(path, registry),
            None => Ok(None),
        }
    }

    fn lookup_docker(&self, path: &Path, registry: &str) -> Result<Option<Credential>, OciError> {
        let raw = match std::fs::read(path) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OciError::io(path)(e)),
        };
        let cfg: DockerConfigFile =
            serde_json::from_slice(&raw).map_err(|e| OciError::Config {
                path: path.to_path_buf(),
                message: format!(
                    "not a valid Docker config ({e}); fix it, or point DOCKER_CONFIG at another directory"
                ),
            })?;
        if let Some(helper) = cfg.cred_helpers.get(registry) {
            return self.run_helper(helper, registry);
        }
        if let Some(store) = cfg.creds_store.as_deref().filter(|s| !s.is_empty())
            && let Some(c) = self.run_helper(store, registry)?
        {
            return Ok(Some(c));
        }
        let entry = cfg
            .auths
            .iter()
            .find_map(|(key, auth)| (auth_key_host(key) == registry).then_some(auth));
        let Some(entry) = entry else { return Ok(None) };
        let source = CredentialSource::DockerConfig(path.to_path_buf());
        let bad = |message: String| OciError::Config {
            path: path.to_path_buf(),
            message,
        };
        if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential {
                secret: Secret::IdentityToken(token.to_string()),
                source,
            }));
        }
        if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "auths.\"{registry}\".auth is not base64 of `user:password`; log in again with `docker login {registry}`"
                    ))
                })?;
            let (username, password) = decoded.split_once(':').ok_or_else(|| {
                bad(format!(
                    "auths.\"{registry}\".auth does not decode to `user:password`; log in again with `docker login {registry}`"
                ))
            })?;
            return Ok(Some(Credential {
                secret: Secret::Password {
                    username: username.to_string(),
                    password: password.to_string(),
                },
                source,
            }));
        }
        match (&entry.username, &entry.password) {
            (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credential {
                secret: Secret::Password {
                    username: u.clone(),
                    password: p.clone(),
                },
                source,
            })),
            _ => Ok(None),
        }
    }

    /// Runs `docker-credential-<helper> get` with the registry on stdin. "Not found" (exit
    /// status 1 with "credentials not found") is no credential; anything else is an error.
    fn run_helper(&self, helper: &str, registry: &str) -> Result<Option<Credential>, OciError> {
        let source = CredentialSource::Helper(helper.to_string());
        let fail = |message: String| OciError::Credentials {
            registry: registry.to_string(),
            credential: source.clone(),
            message,
        };
        if helper.is_empty()
            || !helper
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(fail(format!(
                "`{helper}` is not a credential helper name; fix credHelpers/credsStore in the Docker config"
            )));
        }
        let program = format!("docker-credential-{helper}");
        let program = match &self.helper_dir {
            Some(d) => d.join(&program),
            None => PathBuf::from(program),
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot run {}: {e}. Install it, or remove it from the Docker config",
                    program.display()
                ))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading closes the pipe; its exit status says why.
            let _ = stdin.write_all(registry.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| fail(format!("{} failed: {e}", program.display())))?;
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            if text.to_lowercase().contains("credentials not found") {
                return Ok(None);
            }
            return Err(fail(format!(
                "{} get exited with {}: {}",
                program.display(),
                out.status,
                text.trim()
            )));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct HelperReply {
            #[serde(default)]
            username: String,
            #[serde(default)]
            secret: String,
        }
        let reply: HelperReply = serde_json::from_slice(&out.stdout).map_err(|e| {
            fail(format!(
                "{} get printed something other than {{\"Username\",\"Secret\"}} JSON: {e}",
                program.display()
            ))
        })?;
        if reply.secret.is_empty() {
            return Ok(None);
        }
        // Docker's convention: the user name `<token>` marks an identity (refresh) token.
        let secret = if reply.username == "<token>" {
            Secret::IdentityToken(reply.secret)
        } else {
            Secret::Password {
                username: reply.username,
                password: reply.secret,
            }
        };
        Ok(Some(Credential { secret, source }))
    }
}

/// The `host[:port]` an `auths` key names (`https://host/v1/` → `host`).
fn auth_key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(t: &tempfile::TempDir) -> Paths {
        Paths {
            config_dir: t.path().join("config"),
            cache_dir: t.path().join("cache"),
        }
    }

    #[test]
    fn logins_round_trip_with_mode_0600_and_are_refused_when_world_readable() {
        let t = tempfile::tempdir().unwrap();
        let p = paths(&t);
        assert_eq!(RegistryLogins::load(&p).unwrap(), RegistryLogins::default());
        let mut l = RegistryLogins::default();
        l.registries.insert(
            "127.0.0.1:5000".into(),
            LoginEntry {
                username: "u".into(),
                password: "p".into(),
            },
        );
        l.save(&p).unwrap();
        assert_eq!(RegistryLogins::load(&p).unwrap(), l);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = logins_file(&p);
            assert_eq!(
                std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = RegistryLogins::load(&p).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        l.registries.clear();
        l.save(&p).unwrap();
        assert!(!logins_file(&p).exists());
    }

    fn store_with_docker(t: &tempfile::TempDir, json: &str) -> CredentialStore {
        let d = t.path().join("docker");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), json).unwrap();
        CredentialStore {
            docker_config: Some(d.join("config.json")),
            helper_dir: Some(t.path().join("bin")),
            ..Default::default()
        }
    }

    fn password(c: &Credential) -> (&str, &str) {
        match &c.secret {
            Secret::Password { username, password } => (username, password),
            Secret::IdentityToken(_) => panic!("expected a password: {c:?}"),
        }
    }

    #[test]
    fn docker_auths_entries_in_every_spelling() {
        let t = tempfile::tempdir().unwrap();
        let s = store_with_docker(
            &t,
            r#"{"auths": {
                "https://a.example/v1/": {"auth": "dTE6cDE="},
                "b.example:5000": {"username": "u2", "password": "p2"},
                "c.example": {"identitytoken": "refresh"}
            }}"#,
        );
        let a = s.lookup("a.example").unwrap().unwrap();
        assert_eq!(password(&a), ("u1", "p1"));
        assert!(matches!(a.source, CredentialSource::DockerConfig(_)));
        assert_eq!(
            password(&s.lookup("b.example:5000").unwrap().unwrap()),
            ("u2", "p2")
        );
        assert_eq!(
            s.lookup("c.example").unwrap().unwrap().secret,
            Secret::IdentityToken("refresh".into())
        );
        assert!(s.lookup("d.example").unwrap().is_none());
    }

    #[cfg(unix)]
    fn helper(t: &tempfile::TempDir, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let d = t.path().join("bin");
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(format!("docker-credential-{name}"));
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn credential_helpers_are_run_per_host_and_for_the_store() {
        let t = tempfile::tempdir().unwrap();
        // The helper echoes the registry it was asked about as the user name.
        helper(
            &t,
            "pass",
            r#"[ "$1" = get ] || exit 2; read host; printf '{"ServerURL":"%s","Username":"%s","Secret":"s"}' "$host" "$host""#,
        );
        helper(
            &t,
            "empty",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        helper(&t, "broken", "echo 'keychain locked' >&2; exit 3");
        let s = store_with_docker(
            &t,
            r#"{"credsStore": "empty",
                "credHelpers": {"h.example": "pass", "x.example": "broken"},
                "auths": {"fallback.example": {"auth": "dTpw"}}}"#,
        );
        let c = s.lookup("h.example").unwrap().unwrap();
        assert_eq!(password(&c), ("h.example", "s"));
        assert_eq!(c.source, CredentialSource::Helper("pass".into()));
        // The store has nothing: the auths entry is used.
        assert_eq!(
            password(&s.lookup("fallback.example").unwrap().unwrap()),
            ("u", "p")
        );
        assert!(s.lookup("other.example").unwrap().is_none());
        let e = s.lookup("x.example").unwrap_err().to_string();
        assert!(
            e.contains("docker-credential-broken") && e.contains("keychain locked"),
            "{e}"
        );
    }

    #[test]
    fn charter_logins_win_over_docker_and_explicit_wins_over_both() {
        let t = tempfile::tempdir().unwrap();
        let p = paths(&t);
        let mut l = RegistryLogins::default();
        l.registries.insert(
            "h.example".into(),
            LoginEntry {
                username: "charter".into(),
                password: "c".into(),
            },
        );
        l.save(&p).unwrap();
        let mut s = store_with_docker(&t, r#"{"auths": {"h.example": {"auth": "dTpw"}}}"#);
        s.charter_logins = Some(logins_file(&p));
        let c = s.lookup("h.example").unwrap().unwrap();
        assert_eq!(password(&c).0, "charter");
        assert!(matches!(c.source, CredentialSource::CharterLogin(_)));
        s.explicit.insert(
            "h.example".into(),
            Secret::Password {
                username: "flag".into(),
                password: "f".into(),
            },
        );
        assert_eq!(
            s.lookup("h.example").unwrap().unwrap().source,
            CredentialSource::Explicit
        );
        // Secrets never show in Debug output.
        assert!(!format!("{c:?}").contains("\"c\""));
    }
}
