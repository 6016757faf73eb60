//! HTTP(S) downloads: rustls with the ring provider (no other crypto provider is linked), the
//! system's roots or a custom CA file, optional `--insecure-skip-tls-verify`, basic auth.
//!
//! Redirects are followed here, not by the HTTP library, so that the rule is explicit: the
//! credentials of a repository are sent only to that repository's origin (scheme, host and
//! port), on the first request and after every redirect, and an https URL never redirects to
//! plain http.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::Url;
use reqwest::blocking::Client;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::RepoError;
use super::config::Credentials;

/// Most redirects followed for one download.
pub const MAX_REDIRECTS: usize = 10;

/// How long one download may take by default, from connecting to the last byte: Helm's
/// default for repositories.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How to reach a repository.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// PEM CA certificates to trust instead of the system roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (unsafe; for tests and emergencies).
    pub insecure_skip_tls_verify: bool,
    /// Basic-auth credentials and the only origin (`scheme://host:port`) they may be sent to.
    pub credentials: Option<(String, Credentials)>,
    /// How long one download may take (`--timeout`; default [`DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
}

/// A download client for one [`Transport`].
pub struct Fetcher {
    transport: Transport,
    client: OnceLock<Result<Client, String>>,
}

/// `scheme://host:port` of a URL (the port filled in from the scheme), or `None`.
pub fn origin_of(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    Some(origin(&u))
}

fn origin(u: &Url) -> String {
    format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str().unwrap_or(""),
        u.port_or_known_default().unwrap_or(0)
    )
}

impl Fetcher {
    /// A fetcher; the TLS configuration is built on the first request.
    pub fn new(transport: Transport) -> Fetcher {
        Fetcher {
            transport,
            client: OnceLock::new(),
        }
    }

    /// The transport this fetcher uses.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn timeout(&self) -> Duration {
        self.transport.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    fn client(&self, url: &str) -> Result<&Client, RepoError> {
        self.client
            .get_or_init(|| build_client(&self.transport))
            .as_ref()
            .map_err(|message| RepoError::Http {
                url: url.to_string(),
                message: message.clone(),
            })
    }

    /// Downloads `url`, refusing bodies over `max_bytes`.
    pub fn get(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, RepoError> {
        let fail = |u: &str, message: String| RepoError::Http {
            url: u.to_string(),
            message,
        };
        let mut current =
            Url::parse(url).map_err(|e| fail(url, format!("not a valid URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            if current.scheme() != "http" && current.scheme() != "https" {
                return Err(fail(
                    current.as_str(),
                    format!(
                        "unsupported scheme `{}`; only http and https are fetched",
                        current.scheme()
                    ),
                ));
            }
            let client = self.client(current.as_str())?;
            let mut req = client.get(current.clone());
            if let Some((allowed, creds)) = &self.transport.credentials
                && *allowed == origin(&current)
            {
                req = req.basic_auth(&creds.username, Some(&creds.password));
            }
            let resp = req.send().map_err(|e| {
                fail(
                    current.as_str(),
                    describe_send_error(&e, &current, self.timeout()),
                )
            })?;
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        fail(
                            current.as_str(),
                            format!("HTTP {status} without a Location header"),
                        )
                    })?;
                let next = current.join(location).map_err(|e| {
                    fail(
                        current.as_str(),
                        format!("redirect to an invalid URL `{location}`: {e}"),
                    )
                })?;
                if current.scheme() == "https" && next.scheme() == "http" {
                    return Err(fail(
                        current.as_str(),
                        format!(
                            "redirects from https to plain http ({next}); refusing the downgrade"
                        ),
                    ));
                }
                tracing::debug!(from = %current, to = %next, "following redirect");
                current = next;
                continue;
            }
            if !status.is_success() {
                return Err(fail(
                    current.as_str(),
                    status_message(status, &self.transport),
                ));
            }
            if let Some(len) = resp.content_length()
                && len > max_bytes
            {
                return Err(fail(
                    current.as_str(),
                    format!(
                        "response is {len} bytes, over the limit of {max_bytes} bytes; refusing it"
                    ),
                ));
            }
            let mut body = Vec::new();
            resp.take(max_bytes + 1)
                .read_to_end(&mut body)
                .map_err(|e| {
                    let why = if e.kind() == std::io::ErrorKind::TimedOut
                        || e.to_string().contains("timed out")
                    {
                        format!(
                            "the download did not finish within {}s (--timeout)",
                            self.timeout().as_secs_f64()
                        )
                    } else {
                        format!("download interrupted: {e}")
                    };
                    fail(current.as_str(), why)
                })?;
            if body.len() as u64 > max_bytes {
                return Err(fail(
                    current.as_str(),
                    format!("response is over the limit of {max_bytes} bytes; refusing it"),
                ));
            }
            return Ok(body);
        }
        Err(fail(
            url,
            format!("more than {MAX_REDIRECTS} redirects; giving up"),
        ))
    }
}

fn status_message(status: reqwest::StatusCode, t: &Transport) -> String {
    match status.as_u16() {
        401 if t.credentials.is_none() => "the server requires credentials (HTTP 401): add them with `charter repo add NAME URL --username USER --password-stdin --force-update`".into(),
        401 => "the server rejected the credentials (HTTP 401): check them and re-add the repository with `charter repo add NAME URL --username USER --password-stdin --force-update`".into(),
        403 => "access denied (HTTP 403): the credentials lack permission for this URL".into(),
        404 => "not found (HTTP 404): check the URL; a repository URL is the directory that holds index.yaml".into(),
        _ => format!("the server answered HTTP {status}"),
    }
}

/// An error and its causes, joined by ": ", leaving out a cause whose text is already there.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = String::new();
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !msg.contains(&s) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&s);
        }
        cur = err.source();
    }
    msg
}

fn describe_send_error(e: &reqwest::Error, url: &Url, timeout: Duration) -> String {
    let mut msg = error_chain(e);
    let lower = msg.to_lowercase();
    if e.is_timeout() {
        return format!(
            "the server did not answer within {}s (--timeout): {msg}",
            timeout.as_secs_f64()
        );
    }
    if url.scheme() == "https"
        && (lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake"))
    {
        msg.push_str(". TLS verification failed: for a private CA pass --ca-file PEM to `charter repo add`, or --insecure-skip-tls-verify (unsafe)");
    } else if e.is_connect() {
        msg.push_str(". Check the URL and that the server is reachable");
    }
    msg
}

pub(crate) fn build_client(t: &Transport) -> Result<Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let tls = if t.insecure_skip_tls_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(ca) = &t.ca_file {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("cannot read CA file {}: {e}", ca.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("CA file {} is not valid PEM: {e}", ca.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "CA file {} holds no certificate (expected PEM `-----BEGIN CERTIFICATE-----` blocks)",
                    ca.display()
                ));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("CA file {}: unusable certificate: {e}", ca.display()))?;
            }
        } else {
            let native = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(native.certs);
            if added == 0 {
                tracing::warn!(
                    "no system CA certificates found; https downloads will fail unless --ca-file is given"
                );
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(
            t.timeout
                .unwrap_or(DEFAULT_TIMEOUT)
                .min(Duration::from_secs(15)),
        )
        .timeout(t.timeout.unwrap_or(DEFAULT_TIMEOUT))
        .user_agent(concat!("charter/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// Accepts any certificate, but still checks the handshake signatures with the provider.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_include_the_default_port() {
        assert_eq!(
            origin_of("https://h.example/x").unwrap(),
            "https://h.example:443"
        );
        assert_eq!(
            origin_of("http://h.example:8080/x").unwrap(),
            "http://h.example:8080"
        );
        assert_ne!(
            origin_of("http://127.0.0.1:1/"),
            origin_of("http://127.0.0.1:2/")
        );
        assert!(origin_of("not a url").is_none());
    }

    #[test]
    fn bad_ca_file_is_named() {
        let t = tempfile::tempdir().unwrap();
        let ca = t.path().join("ca.pem");
        std::fs::write(&ca, "not pem").unwrap();
        let f = Fetcher::new(Transport {
            ca_file: Some(ca),
            ..Default::default()
        });
        let err = f
            .get("https://127.0.0.1:1/index.yaml", 10)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ca.pem") && err.contains("no certificate"),
            "{err}"
        );
    }
}
