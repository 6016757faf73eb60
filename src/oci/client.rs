//! The OCI distribution API over blocking reqwest: manifests, blobs, tags, uploads, and the
//! authentication dance registries expect.
//!
//! Authentication follows the registry's lead, as Docker does: a request goes out with what
//! is already known for that registry and repository (a cached Bearer token for the scope, or
//! Basic credentials once the registry asked for Basic); a 401 names the scheme in
//! `WWW-Authenticate`. For `Basic`, the request is repeated with the credential. For `Bearer
//! realm=…,service=…,scope=…`, a token is fetched from the realm for the repository and access
//! (`repository:NAME:pull`, or `pull,push` for pushes) — with the credential, or anonymously —
//! cached per registry and scope, and the request repeated once. A second 401, or a 403, is an
//! [`OciError::Unauthorized`] that names the credential's source, never the secret.
//!
//! Connection errors, 429 and 5xx answers are retried with exponential backoff. Redirects
//! (blob downloads often go to a storage backend) are followed here: credentials go only to the
//! registry's own origin, and https never redirects to http.
//!
//! Blocking reqwest owns a runtime of its own and panics when used from inside a tokio
//! runtime, so every entry point refuses to run there ([`OciError::InsideAsyncRuntime`]):
//! chart resolution happens before charter starts its runtime.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use reqwest::blocking::Client as HttpClient;
use reqwest::header::HeaderMap;

use super::OciError;
use super::credentials::{Credential, CredentialSource, CredentialStore};
use crate::chart::sha256_hex;
use crate::repo::Transport;

/// Largest manifest accepted (the distribution spec's recommended limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Largest tag list page, token response or error body read.
mod auth;

const MAX_SMALL_BODY: u64 = 8 * 1024 * 1024;
/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 10;
/// Most tag list pages followed.
const MAX_TAG_PAGES: usize = 1000;

/// The manifest types charter asks for; it recognizes, and refuses by name, everything but an
/// OCI image manifest.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// PEM CA certificates to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (unsafe).
    pub insecure_skip_tls_verify: bool,
    /// Talk plain HTTP instead of HTTPS (a local registry).
    pub plain_http: bool,
    /// How often a failed request (connection error, 429, 5xx) is tried again.
    pub retries: u32,
    /// The first retry's delay; each further one doubles it.
    pub retry_delay: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ca_file: None,
            insecure_skip_tls_verify: false,
            plain_http: false,
            retries: 3,
            retry_delay: Duration::from_millis(250),
        }
    }
}

/// The access a request needs in its repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read.
    Pull,
    /// Read and write.
    Push,
}

impl Access {
    fn actions(self) -> &'static str {
        match self {
            Access::Pull => "pull",
            Access::Push => "pull,push",
        }
    }
}

#[derive(Default)]
struct RegistryState {
    /// `None` until looked up; then the credential, if any.
    credential: Option<Option<Credential>>,
    /// The registry asked for Basic: send the credential on every request.
    basic: bool,
    /// Bearer tokens by scope (`repository:NAME:pull`; "" for the registry itself).
    tokens: HashMap<String, String>,
}

/// A response read whole.
#[derive(Debug)]
struct Response {
    status: reqwest::StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The URL that answered (after redirects).
    url: Url,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request: where, how, and what it needs.
struct Request<'a> {
    registry: &'a str,
    repository: Option<&'a str>,
    access: Access,
    method: reqwest::Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Option<&'a [u8]>,
    max_body: u64,
}

/// A client for any number of registries (credentials are looked up per registry).
pub struct Client {
    options: ClientOptions,
    credentials: CredentialStore,
    http: HttpClient,
    state: Mutex<HashMap<String, RegistryState>>,
}

/// Refuses to run inside a tokio runtime, where blocking reqwest would panic.
pub(crate) fn ensure_blocking_context() -> Result<(), OciError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(OciError::InsideAsyncRuntime);
    }
    Ok(())
}

impl Client {
    /// A client with these options and credential sources.
    pub fn new(options: ClientOptions, credentials: CredentialStore) -> Result<Client, OciError> {
        ensure_blocking_context()?;
        let transport = Transport {
            ca_file: options.ca_file.clone(),
            insecure_skip_tls_verify: options.insecure_skip_tls_verify,
            credentials: None,
            // Each request bounded as a repository download is (Helm's 120 s).
            timeout: None,
        };
        let http = crate::repo::http::build_client(&transport)
            .map_err(|message| OciError::Tls { message })?;
        Ok(Client {
            options,
            credentials,
            http,
            state: Mutex::new(HashMap::new()),
        })
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `https://registry` (or `http://` with plain HTTP).
    pub fn base_url(&self, registry: &str) -> Result<Url, OciError> {
        let scheme = if self.options.plain_http {
            "http"
        } else {
            "https"
        };
        Url::parse(&format!("{scheme}://{registry}/")).map_err(|e| OciError::Protocol {
            registry: registry.to_string(),
            message: format!("cannot form a URL for the registry: {e}"),
        })
    }

    fn url(&self, registry: &str, path: &str) -> Result<Url, OciError> {
        let base = self.base_url(registry)?;
        base.join(path).map_err(|e| OciError::Protocol {
            registry: registry.to_string(),
            message: format!("cannot form a URL for {path}: {e}"),
        })
    }

    fn credential(&self, registry: &str) -> Result<Option<Credential>, OciError> {
        {
            let state = self.lock();
            if let Some(Some(c)) = state.get(registry).map(|s| &s.credential) {
                return Ok(c.clone());
            }
        }
        let found = self.credentials.lookup(registry)?;
        self.lock()
            .entry(registry.to_string())
            .or_default()
            .credential = Some(found.clone());
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RegistryState>> {
        // A panic while holding the lock cannot leave the map inconsistent: every write is a
        // single insert.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn source(&self, registry: &str) -> CredentialSource {
        match self.credential(registry) {
            Ok(Some(c)) => c.source,
            _ => CredentialSource::Anonymous,
        }
    }

    /// Sends a request: authentication, redirects and retries included. Any status comes
    /// back except 401/403 (an [`OciError::Unauthorized`]) and what retries could not mend.
    fn send(&self, req: &Request<'_>) -> Result<Response, OciError> {
        let mut authenticated = false;
        let mut attempt = 0u32;
        loop {
            let auth = self.authorization(req)?;
            let result = self.send_following_redirects(req, auth.as_deref());
            let retryable = match &result {
                Err(OciError::Unreachable { .. }) => true,
                Ok(r) => r.status.is_server_error() || r.status.as_u16() == 429,
                Err(_) => false,
            };
            if retryable && attempt < self.options.retries {
                let delay = self.options.retry_delay * 2u32.saturating_pow(attempt);
                tracing::debug!(
                    url = %req.url,
                    attempt = attempt + 1,
                    ?delay,
                    "registry request failed; retrying"
                );
                std::thread::sleep(delay);
                attempt += 1;
                continue;
            }
            let resp = result?;
            match resp.status.as_u16() {
                401 if !authenticated => {
                    authenticated = true;
                    self.answer_challenge(req, &resp)?;
                }
                401 | 403 => {
                    return Err(OciError::Unauthorized {
                        registry: req.registry.to_string(),
                        repository: req.repository.map(str::to_string),
                        status: resp.status.as_u16(),
                        credential: self.source(req.registry),
                        detail: registry_error_text(&resp.body),
                    });
                }
                _ => return Ok(resp),
            }
        }
    }

    fn send_following_redirects(
        &self,
        req: &Request<'_>,
        auth: Option<&str>,
    ) -> Result<Response, OciError> {
        let registry_origin = req.url.origin();
        let mut url = req.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut b = self.http.request(req.method.clone(), url.clone());
            for (k, v) in &req.headers {
                b = b.header(*k, v);
            }
            if let Some(a) = auth
                && url.origin() == registry_origin
            {
                b = b.header("Authorization", a);
            }
            if let Some(body) = req.body {
                b = b.body(body.to_vec());
            }
            tracing::debug!(method = %req.method, %url, "registry request");
            let resp = b
                .send()
                .map_err(|e| unreachable_error(req.registry, &url, &e))?;
            let status = resp.status();
            if status.is_redirection() && status.as_u16() != 304 {
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| OciError::Protocol {
                        registry: req.registry.to_string(),
                        message: format!(
                            "{} answered {status} without a Location",
                            strip_query(&url)
                        ),
                    })?;
                let next = url.join(location).map_err(|e| OciError::Protocol {
                    registry: req.registry.to_string(),
                    message: format!("redirect to an invalid URL `{location}`: {e}"),
                })?;
                if url.scheme() == "https" && next.scheme() == "http" {
                    return Err(OciError::Protocol {
                        registry: req.registry.to_string(),
                        message: format!(
                            "{} redirects to plain http ({}); refusing the downgrade",
                            strip_query(&url),
                            strip_query(&next)
                        ),
                    });
                }
                url = next;
                continue;
            }
            return read_response(req.registry, resp, req.max_body);
        }
        Err(OciError::Protocol {
            registry: req.registry.to_string(),
            message: format!(
                "more than {MAX_REDIRECTS} redirects for {}",
                strip_query(&req.url)
            ),
        })
    }

    fn request<'a>(
        &self,
        registry: &'a str,
        repository: Option<&'a str>,
        access: Access,
        method: reqwest::Method,
        url: Url,
    ) -> Request<'a> {
        Request {
            registry,
            repository,
            access,
            method,
            url,
            headers: Vec::new(),
            body: None,
            max_body: MAX_SMALL_BODY,
        }
    }

    /// A request for a path in a repository (and the check that this is no async context).
    fn repo_request<'a>(
        &self,
        registry: &'a str,
        repository: &'a str,
        access: Access,
        method: reqwest::Method,
        path: &str,
    ) -> Result<Request<'a>, OciError> {
        ensure_blocking_context()?;
        let url = self.url(registry, path)?;
        Ok(self.request(registry, Some(repository), access, method, url))
    }

    /// Checks that the registry answers `/v2/` with the credential charter would use (what
    /// `registry login` verifies before it saves anything).
    pub fn check_login(&self, registry: &str) -> Result<(), OciError> {
        ensure_blocking_context()?;
        let url = self.url(registry, "/v2/")?;
        let resp =
            self.send(&self.request(registry, None, Access::Pull, reqwest::Method::GET, url))?;
        if resp.status.is_success() {
            Ok(())
        } else {
            Err(self.status_error(registry, &resp, None))
        }
    }

    /// Every tag of a repository, following the registry's pagination (`Link: <…>;
    /// rel="next"`).
    pub fn list_tags(&self, registry: &str, repository: &str) -> Result<Vec<String>, OciError> {
        ensure_blocking_context()?;
        let mut url = self.url(registry, &format!("/v2/{repository}/tags/list"))?;
        let mut tags = Vec::new();
        for _ in 0..MAX_TAG_PAGES {
            let resp = self.send(&self.request(
                registry,
                Some(repository),
                Access::Pull,
                reqwest::Method::GET,
                url.clone(),
            ))?;
            if !resp.status.is_success() {
                return Err(self.status_error(registry, &resp, Some(repository)));
            }
            #[derive(serde::Deserialize)]
            struct TagList {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: TagList =
                serde_json::from_slice(&resp.body).map_err(|e| OciError::Protocol {
                    registry: registry.to_string(),
                    message: format!("the tag list of {repository} is not valid JSON: {e}"),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match resp.header("link").and_then(next_link) {
                Some(next) => {
                    url = resp.url.join(&next).map_err(|e| OciError::Protocol {
                        registry: registry.to_string(),
                        message: format!("the tag list's next page `{next}` is not a URL: {e}"),
                    })?;
                }
                None => return Ok(tags),
            }
        }
        Err(OciError::Protocol {
            registry: registry.to_string(),
            message: format!("the tag list of {repository} has more than {MAX_TAG_PAGES} pages"),
        })
    }

    /// The digest a tag points at (HEAD; a GET when the registry does not say).
    pub fn resolve_tag(
        &self,
        registry: &str,
        repository: &str,
        tag: &str,
    ) -> Result<String, OciError> {
        let mut req = self.repo_request(
            registry,
            repository,
            Access::Pull,
            reqwest::Method::HEAD,
            &format!("/v2/{repository}/manifests/{tag}"),
        )?;
        req.headers.push(("Accept", MANIFEST_ACCEPT.to_string()));
        let resp = self.send(&req)?;
        if !resp.status.is_success() {
            return Err(self.status_error(registry, &resp, Some(repository)));
        }
        if let Some(d) = resp.header("docker-content-digest")
            && super::reference::parse_digest(d).is_ok()
        {
            return Ok(d.to_string());
        }
        let (bytes, _) = self.fetch_manifest(registry, repository, tag, None)?;
        Ok(format!("sha256:{}", sha256_hex(&bytes)))
    }

    /// A manifest by tag or digest, with its Content-Type. With `expected` (a digest) the bytes
    /// must hash to it; a manifest fetched by tag must hash to the digest the registry names.
    pub fn fetch_manifest(
        &self,
        registry: &str,
        repository: &str,
        reference: &str,
        expected: Option<&str>,
    ) -> Result<(Vec<u8>, Option<String>), OciError> {
        let mut req = self.repo_request(
            registry,
            repository,
            Access::Pull,
            reqwest::Method::GET,
            &format!("/v2/{repository}/manifests/{reference}"),
        )?;
        req.headers.push(("Accept", MANIFEST_ACCEPT.to_string()));
        req.max_body = MAX_MANIFEST_BYTES;
        let resp = self.send(&req)?;
        if !resp.status.is_success() {
            return Err(self.status_error(registry, &resp, Some(repository)));
        }
        let actual = format!("sha256:{}", sha256_hex(&resp.body));
        let want = expected
            .map(str::to_string)
            .or_else(|| resp.header("docker-content-digest").map(str::to_string));
        if let Some(want) = want
            && want.starts_with("sha256:")
            && want != actual
        {
            return Err(OciError::DigestMismatch {
                what: format!("manifest {registry}/{repository}:{reference}"),
                expected: want,
                actual,
            });
        }
        let content_type = resp.header("content-type").map(str::to_string);
        Ok((resp.body, content_type))
    }

    /// A blob, checked against its descriptor's size and digest.
    pub fn fetch_blob(
        &self,
        registry: &str,
        repository: &str,
        digest: &str,
        size: u64,
        what: &str,
    ) -> Result<Vec<u8>, OciError> {
        let mut req = self.repo_request(
            registry,
            repository,
            Access::Pull,
            reqwest::Method::GET,
            &format!("/v2/{repository}/blobs/{digest}"),
        )?;
        req.max_body = size;
        let resp = self.send(&req)?;
        if !resp.status.is_success() {
            return Err(self.status_error(registry, &resp, Some(repository)));
        }
        let actual = format!("sha256:{}", sha256_hex(&resp.body));
        if actual != digest || resp.body.len() as u64 != size {
            return Err(OciError::DigestMismatch {
                what: format!(
                    "{what} ({registry}/{repository}@{digest}, {size} bytes; got {} bytes)",
                    resp.body.len()
                ),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(resp.body)
    }

    /// Whether the repository already has a blob.
    pub fn blob_exists(
        &self,
        registry: &str,
        repository: &str,
        digest: &str,
    ) -> Result<bool, OciError> {
        let resp = self.send(&self.repo_request(
            registry,
            repository,
            Access::Push,
            reqwest::Method::HEAD,
            &format!("/v2/{repository}/blobs/{digest}"),
        )?)?;
        match resp.status.as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_error(registry, &resp, Some(repository))),
        }
    }

    /// Uploads a blob unless the repository has it: a monolithic upload (POST for a session,
    /// then one PUT with the bytes and the digest).
    pub fn push_blob(
        &self,
        registry: &str,
        repository: &str,
        bytes: &[u8],
    ) -> Result<String, OciError> {
        let digest = format!("sha256:{}", sha256_hex(bytes));
        if self.blob_exists(registry, repository, &digest)? {
            return Ok(digest);
        }
        let mut post = self.repo_request(
            registry,
            repository,
            Access::Push,
            reqwest::Method::POST,
            &format!("/v2/{repository}/blobs/uploads/"),
        )?;
        post.headers.push(("Content-Length", "0".into()));
        let resp = self.send(&post)?;
        if resp.status.as_u16() != 202 {
            return Err(self.status_error(registry, &resp, Some(repository)));
        }
        let location = resp.header("location").ok_or_else(|| OciError::Protocol {
            registry: registry.to_string(),
            message: "the upload session has no Location".into(),
        })?;
        let mut put_url = resp.url.join(location).map_err(|e| OciError::Protocol {
            registry: registry.to_string(),
            message: format!("the upload Location `{location}` is not a URL: {e}"),
        })?;
        put_url.query_pairs_mut().append_pair("digest", &digest);
        let mut put = self.request(
            registry,
            Some(repository),
            Access::Push,
            reqwest::Method::PUT,
            put_url,
        );
        put.headers
            .push(("Content-Type", "application/octet-stream".into()));
        put.body = Some(bytes);
        let resp = self.send(&put)?;
        if resp.status.as_u16() != 201 {
            return Err(self.status_error(registry, &resp, Some(repository)));
        }
        Ok(digest)
    }

    /// Stores a manifest under a tag; returns the digest the registry reports (or computes it).
    pub fn push_manifest(
        &self,
        registry: &str,
        repository: &str,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, OciError> {
        let mut put = self.repo_request(
            registry,
            repository,
            Access::Push,
            reqwest::Method::PUT,
            &format!("/v2/{repository}/manifests/{tag}"),
        )?;
        put.headers.push(("Content-Type", media_type.to_string()));
        put.body = Some(bytes);
        let resp = self.send(&put)?;
        if resp.status.as_u16() != 201 {
            return Err(self.status_error(registry, &resp, Some(repository)));
        }
        let ours = format!("sha256:{}", sha256_hex(bytes));
        match resp.header("docker-content-digest") {
            Some(theirs) if theirs != ours => Err(OciError::DigestMismatch {
                what: format!("pushed manifest {registry}/{repository}:{tag}"),
                expected: ours,
                actual: theirs.to_string(),
            }),
            _ => Ok(ours),
        }
    }

    fn status_error(&self, registry: &str, resp: &Response, repository: Option<&str>) -> OciError {
        let message = registry_error_text(&resp.body);
        if resp.status.as_u16() == 404 {
            return OciError::NotFound {
                registry: registry.to_string(),
                what: format!(
                    "{} ({})",
                    repository.map_or_else(|| strip_query(&resp.url), str::to_string),
                    if message.is_empty() {
                        "HTTP 404".to_string()
                    } else {
                        message
                    }
                ),
            };
        }
        OciError::Registry {
            registry: registry.to_string(),
            url: strip_query(&resp.url),
            status: resp.status.as_u16(),
            message,
        }
    }
}

fn read_response(
    registry: &str,
    resp: reqwest::blocking::Response,
    max_body: u64,
) -> Result<Response, OciError> {
    let status = resp.status();
    let headers = resp.headers().clone();
    let url = resp.url().clone();
    let too_big = |n: String| OciError::Protocol {
        registry: registry.to_string(),
        message: format!(
            "{} answered with {n} bytes, over the {max_body} bytes expected; refusing it",
            strip_query(&url)
        ),
    };
    // Error bodies are read up to the small limit even where the expected body is tiny.
    let limit = if status.is_success() {
        max_body
    } else {
        MAX_SMALL_BODY.min(64 * 1024)
    };
    if status.is_success()
        && let Some(len) = resp.content_length()
        && len > limit
    {
        return Err(too_big(len.to_string()));
    }
    let mut body = Vec::new();
    resp.take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| OciError::Unreachable {
            registry: registry.to_string(),
            message: format!("reading {} was interrupted: {e}", strip_query(&url)),
        })?;
    if body.len() as u64 > limit {
        if status.is_success() {
            return Err(too_big(format!("more than {limit}")));
        }
        body.truncate(limit as usize);
    }
    Ok(Response {
        status,
        headers,
        body,
        url,
    })
}

fn unreachable_error(registry: &str, url: &Url, e: &reqwest::Error) -> OciError {
    let mut msg = crate::repo::http::error_chain(e);
    let lower = msg.to_lowercase();
    if url.scheme() == "https"
        && (lower.contains("certificate") || lower.contains("handshake") || lower.contains("tls"))
    {
        msg.push_str(". TLS verification failed: for a private CA pass --ca-file PEM; for a registry that speaks plain HTTP, --plain-http");
    } else if e.is_timeout() {
        msg.push_str(". The registry did not answer in time");
    } else if e.is_connect() {
        msg.push_str(". Check the host and port, and that the registry is running");
    }
    OciError::Unreachable {
        registry: registry.to_string(),
        message: format!("{}: {msg}", strip_query(url)),
    }
}

/// A URL without its query (upload URLs carry session state; tokens URLs carry scopes).
fn strip_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// The distribution spec's error body as text: `CODE: message; …`, else the body itself
/// (shortened).
fn registry_error_text(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<Errors>(body)
        && !e.errors.is_empty()
    {
        return e
            .errors
            .iter()
            .map(|i| format!("{}: {}", i.code, i.message))
            .collect::<Vec<_>>()
            .join("; ");
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text.to_string()
    }
}

/// The target of `Link: <url>; rel="next"`.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_name_the_next_page() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(
            next_link(r#"<https://x/prev>; rel="prev", <https://x/next>; rel=next"#).as_deref(),
            Some("https://x/next")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }

    #[test]
    fn registry_errors_read_as_text() {
        assert_eq!(
            registry_error_text(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}"#),
            "MANIFEST_UNKNOWN: no"
        );
        assert_eq!(registry_error_text(b"  plain  "), "plain");
    }

    #[test]
    fn a_client_refuses_to_run_inside_a_tokio_runtime() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(async {
            Client::new(ClientOptions::default(), CredentialStore::default())
                .err()
                .map(|e| e.to_string())
        });
        assert!(e.unwrap().contains("runtime"));
    }
}
