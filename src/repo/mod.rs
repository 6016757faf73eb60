//! Chart repositories: the Helm-compatible `index.yaml`, the repository configuration
//! (`repositories.yaml` and a 0600 credentials file in the XDG config dir), downloads over
//! HTTP(S) (rustls with the ring provider, custom CA, basic auth that never follows a redirect
//! to another host), the download cache (indexes, and charts by sha256), resolving chart
//! references (`REPO/NAME --version RANGE`, a `.tgz` path or URL), and chart dependencies
//! (`Chart.lock`, vendoring into `charts/`).
//!
//! This and `cluster` are the only modules that do network I/O. Nothing here prints: every
//! function returns data or a [`RepoError`] whose message names the file, URL or entry and
//! says what to do.

pub mod cache;
pub mod config;
pub mod deps;
pub mod http;
pub mod index;
mod lenient;
pub mod resolve;

use std::path::PathBuf;

pub use cache::Cache;
pub use config::{Credentials, Paths, RepoConfig, RepoEntry};
pub use deps::{DepState, DepStatus, Lock, LockedDependency};
pub use http::{Fetcher, Transport};
pub use index::{ChartVersion, Index, IndexMaintainer, SearchHit, SearchQuery};
pub use resolve::{ChartSource, ChartSpec, Fetched, Loaded, Resolver};

/// Errors of the repository layer.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A configuration or lock file is malformed.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// An index.yaml is malformed.
    #[error("{origin}: {message}")]
    Index {
        /// The URL or file of the index.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A download failed.
    #[error("{url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// Downloaded bytes do not match the digest the index or Chart.lock records.
    #[error(
        "{what}: digest mismatch: expected sha256:{expected}, got sha256:{actual}. The file was altered after it was indexed (or the index is stale); refusing it. Run `charter repo update` and retry; if it persists, the repository is corrupt or tampered with"
    )]
    Digest {
        /// The URL or file.
        what: String,
        /// The digest recorded.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// A repository name is not configured.
    #[error("{0}")]
    UnknownRepo(String),
    /// No chart version satisfies the request.
    #[error("{0}")]
    NotFound(String),
    /// An invalid argument (a flag or a field).
    #[error("{0}")]
    Invalid(String),
    /// A chart could not be loaded or packaged.
    #[error(transparent)]
    Chart(#[from] crate::chart::ChartError),
    /// A registry operation failed (the message names the registry or reference).
    #[error(transparent)]
    Oci(Box<crate::oci::OciError>),
}

impl From<crate::oci::OciError> for RepoError {
    fn from(e: crate::oci::OciError) -> RepoError {
        RepoError::Oci(Box::new(e))
    }
}

impl RepoError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RepoError {
        let path = path.into();
        move |source| RepoError::Io { path, source }
    }
}

/// Writes `bytes` to `path` atomically (a temporary file in the same directory, then a
/// rename), creating parent directories. `mode` sets the Unix permissions of the new file.
pub fn write_atomic(
    path: &std::path::Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> Result<(), RepoError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(RepoError::io(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(m) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(m);
        }
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        if let Some(m) = mode {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(m))?;
        }
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let _ = mode;
    result.map_err(RepoError::io(path))
}

/// Now, or `SOURCE_DATE_EPOCH` when set, as RFC 3339 UTC (the `created` / `generated` format
/// Helm writes).
pub fn now_rfc3339() -> String {
    let fixed = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| jiff::Timestamp::from_second(s).ok());
    rfc3339(fixed.unwrap_or_else(jiff::Timestamp::now))
}

/// A time as RFC 3339 UTC, with nanoseconds when not a whole second.
pub fn rfc3339(t: jiff::Timestamp) -> String {
    let dt = jiff::tz::TimeZone::UTC.to_datetime(t);
    let frac = match dt.subsec_nanosecond() {
        0 => String::new(),
        n => format!(".{n:09}"),
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        let at = |s, n| rfc3339(jiff::Timestamp::new(s, n).unwrap());
        assert_eq!(at(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(at(315_532_800, 0), "1980-01-01T00:00:00Z");
        assert_eq!(at(1_709_251_199, 5), "2024-02-29T23:59:59.000000005Z");
        assert_eq!(at(4_102_444_800, 0), "2100-01-01T00:00:00Z");
    }

    #[cfg(unix)]
    #[test]
    fn write_atomic_sets_mode_and_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a/b/creds");
        write_atomic(&p, b"one", Some(0o600)).unwrap();
        write_atomic(&p, b"two", Some(0o600)).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_dir(t.path().join("a/b")).unwrap().count(), 1);
    }
}
