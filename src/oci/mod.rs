//! Charts in OCI registries: `oci://HOST/PATH/NAME` references, the distribution API with the
//! authentication registries use (anonymous, Basic, Bearer tokens; charter's own logins,
//! Docker's config and credential helpers), Helm's chart artifact, and a content-addressed
//! local cache shared with repository downloads.
//!
//! - [`reference`]: parsing `oci://` references and `--version` requests;
//! - [`credentials`]: where credentials come from, and charter's `registries.yaml`;
//! - [`client`]: the HTTP side (blocking; never from inside a tokio runtime);
//! - [`artifact`]: Helm's config, layers, manifest and annotations;
//! - [`cache`]: the local store;
//! - [`settings`]: how to reach a registry, from flags and deploy trees;
//! - [`OciCharts`]: what commands call: resolve, pull, push, list versions.
//!
//! Cost of a pull: resolving a tag is one HEAD of the manifest (plus the token request on a
//! Bearer registry); a range adds the tag list (one request per page). The manifest and the
//! chart archive are then read from the cache when present, so a cached chart costs only the
//! tag → digest resolution, and a `@sha256:` reference costs no request at all.
//!
//! Nothing here prints: every function returns data or an [`OciError`] that names the
//! registry or reference and says what to do.

pub mod artifact;
pub mod cache;
pub mod client;
pub mod credentials;
pub mod reference;
pub mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use artifact::{ChartArtifact, HelmMetadata};
pub use cache::OciCache;
pub use client::{Client, ClientOptions};
pub use credentials::{
    Credential, CredentialSource, CredentialStore, LoginEntry, RegistryLogins, Secret,
};
pub use reference::{ChartRequest, Reference, VersionRequest, is_oci};
pub use settings::RegistrySettings;

use crate::repo::Paths;

/// Errors of registry operations.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// A reference or version request is malformed.
    #[error("{input}: {message}")]
    Reference {
        /// The reference as given.
        input: String,
        /// What is wrong.
        message: String,
    },
    /// A reference names neither a tag, a digest nor a version.
    #[error(
        "{reference}: no version given; name one as {reference}:VERSION, pin a digest with {reference}@sha256:DIGEST, or pass --version (a version or a range such as '^1.2' or '*' for the newest)"
    )]
    NoVersion {
        /// The reference.
        reference: String,
    },
    /// No tag satisfies the requested range.
    #[error("{reference}: no version matches `{range}`; {}", available_text(.available))]
    NoMatchingVersion {
        /// The repository.
        reference: String,
        /// The range asked for.
        range: String,
        /// The versions the repository has (newest first, at most 10).
        available: Vec<String>,
    },
    /// The registry could not be reached (or a transfer broke off).
    #[error("registry {registry} is unreachable: {message}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// What failed and what to check.
        message: String,
    },
    /// The registry refused the credential (or the lack of one).
    #[error(
        "registry {registry} refused access{} (HTTP {status}) with {credential}{}. {}",
        .repository.as_ref().map(|r| format!(" to {r}")).unwrap_or_default(),
        if .detail.is_empty() { String::new() } else { format!(": {}", .detail) },
        unauthorized_hint(.registry, .credential)
    )]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// The repository, when the request had one.
        repository: Option<String>,
        /// 401 or 403.
        status: u16,
        /// Which credential was used (never the secret).
        credential: CredentialSource,
        /// The registry's own words.
        detail: String,
    },
    /// A repository, tag or blob does not exist.
    #[error("registry {registry}: not found: {what}")]
    NotFound {
        /// `host[:port]`.
        registry: String,
        /// What was looked for, and the registry's words.
        what: String,
    },
    /// The reference names something other than a Helm chart.
    #[error(
        "{reference} is not a Helm chart: it is {what}. Check the reference; charts are pushed with `charter push` or `helm push`"
    )]
    NotAChart {
        /// The reference.
        reference: String,
        /// What it is instead (media types).
        what: String,
    },
    /// Content did not hash to its digest.
    #[error(
        "{what}: digest mismatch: expected {expected}, got {actual}. The registry served content other than what the manifest names (corrupt or tampered with); refusing it"
    )]
    DigestMismatch {
        /// What was fetched.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The registry answered with an unexpected status.
    #[error("registry {registry}: {url} answered HTTP {status}{}", if .message.is_empty() { String::new() } else { format!(": {}", .message) })]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// The URL (without query).
        url: String,
        /// Status code.
        status: u16,
        /// The registry's error text.
        message: String,
    },
    /// The registry's answer breaks the protocol.
    #[error("registry {registry}: {message}")]
    Protocol {
        /// `host[:port]` (or the reference).
        registry: String,
        /// What is wrong.
        message: String,
    },
    /// A credential helper failed.
    #[error("credentials for {registry} from {credential}: {message}")]
    Credentials {
        /// `host[:port]`.
        registry: String,
        /// The helper.
        credential: CredentialSource,
        /// What failed.
        message: String,
    },
    /// A configuration file is malformed.
    #[error("{}: {message}", .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The TLS setup failed (CA file).
    #[error("{message}")]
    Tls {
        /// What failed.
        message: String,
    },
    /// A chart archive to push is unusable.
    #[error("{origin}: {message}")]
    Chart {
        /// The archive.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A chart archive could not be read (the message names it).
    #[error(transparent)]
    Archive(#[from] crate::chart::ChartError),
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Called from inside a tokio runtime.
    #[error(
        "internal error: a registry operation ran inside the async runtime; registry access is blocking and must happen before the runtime starts"
    )]
    InsideAsyncRuntime,
}

fn available_text(available: &[String]) -> String {
    if available.is_empty() {
        "the repository has no version tags".to_string()
    } else {
        format!("available: {}", available.join(", "))
    }
}

fn unauthorized_hint(registry: &str, source: &CredentialSource) -> String {
    match source {
        CredentialSource::Anonymous => format!(
            "Log in with `charter registry login {registry}` (or `docker login {registry}`)"
        ),
        CredentialSource::Explicit => "Check the user name and password given".to_string(),
        _ => format!(
            "Check that credential, or log in again with `charter registry login {registry}`"
        ),
    }
}

impl OciError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> OciError {
        let path = path.into();
        move |source| OciError::Io { path, source }
    }
}

impl From<crate::repo::RepoError> for OciError {
    fn from(e: crate::repo::RepoError) -> OciError {
        match e {
            crate::repo::RepoError::Io { path, source } => OciError::Io { path, source },
            crate::repo::RepoError::Config { path, message } => OciError::Config { path, message },
            crate::repo::RepoError::Oci(e) => *e,
            other => OciError::Config {
                path: PathBuf::new(),
                message: other.to_string(),
            },
        }
    }
}

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The reference with the tag chosen (when known) and the manifest digest.
    pub reference: Reference,
    /// `sha256:<hex>` of the manifest.
    pub digest: String,
}

/// What to fetch besides the chart.
#[derive(Debug, Clone, Copy, Default)]
pub struct PullOptions {
    /// Also fetch the provenance file (an error when the chart was pushed without one).
    pub with_prov: bool,
}

/// A pulled chart.
#[derive(Debug, Clone)]
pub struct PulledChart {
    /// The reference, with tag (when known) and manifest digest.
    pub reference: Reference,
    /// `sha256:<hex>` of the manifest: what a release or Chart.lock records.
    pub manifest_digest: String,
    /// `sha256:<hex>` of the chart archive.
    pub chart_digest: String,
    /// The chart archive (`.tgz`).
    pub archive: Vec<u8>,
    /// The provenance file, when asked for.
    pub prov: Option<Vec<u8>>,
    /// The manifest's annotations (`org.opencontainers.image.version`, …).
    pub annotations: BTreeMap<String, String>,
    /// Whether manifest and archive came from the local cache.
    pub from_cache: bool,
}

impl PulledChart {
    /// The chart version the manifest declares, else the tag read as a version.
    pub fn version(&self) -> Option<String> {
        self.annotations
            .get("org.opencontainers.image.version")
            .cloned()
            .or_else(|| self.reference.tag.as_deref().map(reference::tag_to_version))
    }
}

/// What to push besides the chart.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The provenance file (`CHART.tgz.prov`).
    pub prov: Option<Vec<u8>>,
    /// `org.opencontainers.image.created` (RFC 3339); Helm uses the archive's modification
    /// time. Default: now (or `SOURCE_DATE_EPOCH`).
    pub created: Option<String>,
}

/// A pushed chart.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `oci://HOST/PATH/NAME:TAG@sha256:…`.
    pub reference: Reference,
    /// `sha256:<hex>` of the manifest.
    pub manifest_digest: String,
    /// `sha256:<hex>` of the chart archive.
    pub chart_digest: String,
    /// The chart's metadata, as pushed in the config.
    pub metadata: HelmMetadata,
}

/// Registry operations on charts, with the local cache.
pub struct OciCharts {
    client: Client,
    cache: OciCache,
}

impl OciCharts {
    /// From a client and a cache.
    pub fn new(client: Client, cache: OciCache) -> OciCharts {
        OciCharts { client, cache }
    }

    /// The usual setup: charter's config and cache directories from the environment,
    /// credentials from charter's logins and Docker's config.
    pub fn from_env(options: ClientOptions) -> Result<OciCharts, OciError> {
        let paths = Paths::from_env()?;
        OciCharts::with_paths(&paths, options)
    }

    /// Like [`OciCharts::from_env`] with explicit directories.
    pub fn with_paths(paths: &Paths, options: ClientOptions) -> Result<OciCharts, OciError> {
        let client = Client::new(options, CredentialStore::from_env(paths))?;
        Ok(OciCharts::new(client, OciCache::new(paths)))
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The versions a repository has (tags read as versions, `_` as `+`; non-SemVer tags
    /// dropped), newest first.
    pub fn versions(&self, reference: &Reference) -> Result<Vec<String>, OciError> {
        let tags = self
            .client
            .list_tags(&reference.registry, &reference.repository)?;
        Ok(sorted_versions(&tags))
    }

    /// Resolves a request to a manifest digest: a digest as is (no request), a tag with one
    /// HEAD, a range with the tag list and a HEAD.
    pub fn resolve(&self, request: &ChartRequest) -> Result<Resolved, OciError> {
        client::ensure_blocking_context()?;
        let r = &request.reference;
        let tag = match &request.version {
            VersionRequest::Digest(d) => {
                return Ok(Resolved {
                    reference: r.with_digest(d),
                    digest: d.clone(),
                });
            }
            VersionRequest::Tag(t) => t.clone(),
            VersionRequest::Range(range) => {
                let tags = self.client.list_tags(&r.registry, &r.repository)?;
                match reference::highest_matching(&tags, range) {
                    Some(t) => t.clone(),
                    None => {
                        let mut available = sorted_versions(&tags);
                        available.truncate(10);
                        return Err(OciError::NoMatchingVersion {
                            reference: r.to_string(),
                            range: range.as_str().to_string(),
                            available,
                        });
                    }
                }
            }
        };
        let digest = self
            .client
            .resolve_tag(&r.registry, &r.repository, &tag)
            .map_err(|e| match e {
                // Only now, on the error path, is the tag list worth its request: it says
                // which versions exist, or that the repository does not.
                OciError::NotFound { registry, .. } => {
                    let what = match self.client.list_tags(&r.registry, &r.repository) {
                        Ok(tags) => {
                            let mut available = sorted_versions(&tags);
                            available.truncate(10);
                            format!(
                                "{} has no tag `{tag}`; {}",
                                r.with_tag(&tag),
                                available_text(&available)
                            )
                        }
                        Err(_) => format!(
                            "{} has no tag `{tag}`, and its repository lists no tags (does it exist? check the name)",
                            r.with_tag(&tag)
                        ),
                    };
                    OciError::NotFound { registry, what }
                }
                other => other,
            })?;
        Ok(Resolved {
            reference: r.with_tag(&tag).with_digest(&digest),
            digest,
        })
    }

    /// Resolves and fetches a chart: the manifest (checked to be a Helm chart) and the
    /// archive, each verified against its digest, each from the cache when there.
    pub fn pull_chart(
        &self,
        request: &ChartRequest,
        options: PullOptions,
    ) -> Result<PulledChart, OciError> {
        let resolved = self.resolve(request)?;
        let r = &resolved.reference;
        let shown = r.to_string();
        let mut from_cache = true;
        let (manifest_bytes, content_type) = match self.cache.blob(&resolved.digest) {
            Some(b) => (b, None),
            None => {
                from_cache = false;
                let (b, ct) = self.client.fetch_manifest(
                    &r.registry,
                    &r.repository,
                    &resolved.digest,
                    Some(&resolved.digest),
                )?;
                (b, ct)
            }
        };
        let (manifest, layers) =
            artifact::parse_chart_manifest(&shown, content_type.as_deref(), &manifest_bytes)?;
        if !from_cache {
            self.cache.put_blob(&manifest_bytes)?;
        }
        let archive = match self.cache.chart(&layers.chart.digest) {
            Some(a) => a,
            None => {
                from_cache = false;
                let a = self.client.fetch_blob(
                    &r.registry,
                    &r.repository,
                    &layers.chart.digest,
                    layers.chart.size,
                    &format!("chart archive of {shown}"),
                )?;
                self.cache.put_chart(&a)?;
                a
            }
        };
        let prov = if options.with_prov {
            let d = layers.prov.as_ref().ok_or_else(|| OciError::NotFound {
                registry: r.registry.clone(),
                what: format!(
                    "{shown} was pushed without a provenance file ({})",
                    artifact::PROV_LAYER_MEDIA_TYPE
                ),
            })?;
            Some(match self.cache.blob(&d.digest) {
                Some(p) => p,
                None => {
                    from_cache = false;
                    let p = self.client.fetch_blob(
                        &r.registry,
                        &r.repository,
                        &d.digest,
                        d.size,
                        &format!("provenance file of {shown}"),
                    )?;
                    self.cache.put_blob(&p)?;
                    p
                }
            })
        } else {
            None
        };
        Ok(PulledChart {
            reference: resolved.reference.clone(),
            manifest_digest: resolved.digest.clone(),
            chart_digest: layers.chart.digest.clone(),
            archive,
            prov,
            annotations: manifest.annotations.unwrap_or_default(),
            from_cache,
        })
    }

    /// Pulls `reference` (`oci://…[:TAG][@sha256:…]`) with an optional `--version` (a version
    /// or a range): [`ChartRequest::new`] then [`OciCharts::pull_chart`].
    pub fn pull_reference(
        &self,
        reference: &str,
        version: Option<&str>,
        options: PullOptions,
    ) -> Result<PulledChart, OciError> {
        let request = ChartRequest::new(Reference::parse(reference)?, version)?;
        self.pull_chart(&request, options)
    }

    /// Pushes a chart archive to `destination/NAME:VERSION` (as `helm push` does, the name
    /// and version come from the chart's Chart.yaml). `origin` names the archive in errors.
    pub fn push_chart(
        &self,
        destination: &Reference,
        origin: &Path,
        archive: Vec<u8>,
        options: PushOptions,
    ) -> Result<Pushed, OciError> {
        client::ensure_blocking_context()?;
        if destination.tag.is_some() || destination.digest.is_some() {
            return Err(OciError::Reference {
                input: destination.to_string(),
                message: "a push destination names the repository path only (oci://HOST/PATH); the chart's name and version are appended from its Chart.yaml".into(),
            });
        }
        let created = options.created.unwrap_or_else(now_rfc3339_seconds);
        let artifact = ChartArtifact::build(origin, archive, options.prov, &created)?;
        let target = destination.child(&artifact.metadata.name)?;
        let (reg, repo) = (&target.registry, &target.repository);
        self.client.push_blob(reg, repo, &artifact.config)?;
        let chart_digest = self.client.push_blob(reg, repo, &artifact.chart)?;
        if let Some(p) = &artifact.prov {
            self.client.push_blob(reg, repo, p)?;
        }
        let tag = artifact.tag();
        let manifest_digest = self.client.push_manifest(
            reg,
            repo,
            &tag,
            artifact::MANIFEST_MEDIA_TYPE,
            &artifact.manifest,
        )?;
        // What was pushed is what a pull would fetch: keep it.
        self.cache.put_blob(&artifact.manifest)?;
        self.cache.put_chart(&artifact.chart)?;
        Ok(Pushed {
            reference: target.with_tag(&tag).with_digest(&manifest_digest),
            manifest_digest,
            chart_digest,
            metadata: artifact.metadata,
        })
    }
}

/// Tags read as versions (`_` as `+`), non-SemVer tags dropped, newest first.
pub fn sorted_versions(tags: &[String]) -> Vec<String> {
    let mut v: Vec<(semver::Version, String)> = tags
        .iter()
        .filter_map(|t| {
            let version = reference::tag_to_version(t);
            crate::chart::parse_version_lenient(&version)
                .ok()
                .map(|sv| (sv, version))
        })
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0));
    v.into_iter().map(|(_, s)| s).collect()
}

/// Now (or `SOURCE_DATE_EPOCH`) as RFC 3339 UTC to the second, as Go's `time.RFC3339`.
pub fn now_rfc3339_seconds() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    artifact::rfc3339_seconds(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first_and_skip_other_tags() {
        let tags: Vec<String> = ["1.0.0", "latest", "1.10.0", "1.2.0_b.1", "sha256-abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(sorted_versions(&tags), ["1.10.0", "1.2.0+b.1", "1.0.0"]);
    }

    #[test]
    fn unauthorized_errors_name_the_source_and_never_the_secret() {
        let e = OciError::Unauthorized {
            registry: "r.example".into(),
            repository: Some("charts/web".into()),
            status: 401,
            credential: CredentialSource::Helper("pass".into()),
            detail: "UNAUTHORIZED: authentication required".into(),
        }
        .to_string();
        assert!(
            e.contains("r.example")
                && e.contains("charts/web")
                && e.contains("docker-credential-pass")
                && e.contains("HTTP 401"),
            "{e}"
        );
        let e = OciError::Unauthorized {
            registry: "r.example".into(),
            repository: None,
            status: 401,
            credential: CredentialSource::Anonymous,
            detail: String::new(),
        }
        .to_string();
        assert!(
            e.contains("anonymous") && e.contains("charter registry login r.example"),
            "{e}"
        );
    }
}
