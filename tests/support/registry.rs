//! The test OCI registry (`scripts/test-registry`, docs/testregistry.md) for integration tests.
//!
//! [`TestRegistry::shared`] is the registry `scripts/test` starts and exports as
//! `CHARTER_TEST_REGISTRY*` (basic auth, TLS). A test that needs another kind (token auth,
//! plain HTTP) starts its own with [`TestRegistry::start`], which is stopped when dropped.
//! Without the variables, `shared` starts one of its own too, so `cargo test --test NAME` works
//! alone. Skip or fail as for the cluster: a registry that cannot be had skips the test unless
//! `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use super::{cluster_required, say, unique_name};

/// A running test registry.
pub struct TestRegistry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The user the registry accepts.
    pub user: String,
    /// That user's password.
    pub password: String,
    /// The CA file of its TLS certificate (`None` with plain HTTP).
    pub ca: Option<PathBuf>,
    /// `basic`, `token` or `none`.
    pub auth: String,
    /// The `--name` to stop on drop, for a registry this test started.
    owned: Option<String>,
}

/// One request the registry served.
#[derive(Debug, Clone, Deserialize)]
pub struct Served {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query.
    pub query: String,
    /// Status sent.
    pub status: u16,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-registry")
}

fn parse_exports(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl TestRegistry {
    /// The registry from `CHARTER_TEST_REGISTRY*`, or one started for this process; `None`
    /// means skip (printed).
    pub fn shared(test: &str) -> Option<TestRegistry> {
        if let Some(addr) = std::env::var("CHARTER_TEST_REGISTRY")
            .ok()
            .filter(|v| !v.is_empty())
        {
            let var = |k: &str| std::env::var(k).unwrap_or_default();
            return Some(TestRegistry {
                addr,
                user: var("CHARTER_TEST_REGISTRY_USER"),
                password: var("CHARTER_TEST_REGISTRY_PASSWORD"),
                ca: Some(var("CHARTER_TEST_REGISTRY_CA"))
                    .filter(|c| !c.is_empty())
                    .map(PathBuf::from),
                auth: Some(var("CHARTER_TEST_REGISTRY_AUTH"))
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "basic".into()),
                owned: None,
            });
        }
        if cluster_required() {
            panic!(
                "{test}: CI=true but CHARTER_TEST_REGISTRY is not set (scripts/test starts the test registry)"
            );
        }
        TestRegistry::start(test, "basic", false)
    }

    /// Starts a registry of its own (`auth`: basic, token or none); stopped when dropped.
    /// `None` means skip (printed), unless `CI=true`, where it panics.
    pub fn start(test: &str, auth: &str, plain_http: bool) -> Option<TestRegistry> {
        let name = unique_name("reg");
        let mut cmd = Command::new(script());
        cmd.args(["up", "--name", &name, "--auth", auth])
            .args(["--owner-pid", &std::process::id().to_string()]);
        if plain_http {
            cmd.arg("--plain-http");
        }
        let out = match cmd.output() {
            Ok(o) if o.status.success() => o,
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).to_string(),
                    Err(e) => e.to_string(),
                };
                if cluster_required() {
                    panic!("{test}: scripts/test-registry up failed: {why}");
                }
                say(&format!(
                    "{test}: skipped: no test registry (scripts/test-registry up failed: {})",
                    why.trim()
                ));
                return None;
            }
        };
        let vars = parse_exports(&String::from_utf8_lossy(&out.stdout));
        let get = |k: &str| vars.get(k).cloned().unwrap_or_default();
        Some(TestRegistry {
            addr: get("CHARTER_TEST_REGISTRY"),
            user: get("CHARTER_TEST_REGISTRY_USER"),
            password: get("CHARTER_TEST_REGISTRY_PASSWORD"),
            ca: Some(get("CHARTER_TEST_REGISTRY_CA"))
                .filter(|c| !c.is_empty())
                .map(PathBuf::from),
            auth: get("CHARTER_TEST_REGISTRY_AUTH"),
            owned: Some(name),
        })
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.ca.is_some() { "https" } else { "http" }
    }

    /// `oci://ADDR/PATH`.
    pub fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    fn http(&self) -> reqwest::blocking::Client {
        super::install_crypto_provider();
        let mut b = reqwest::blocking::Client::builder();
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).expect("read the registry CA");
            b = b
                .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"))
                .use_rustls_tls();
        }
        b.build().expect("test HTTP client")
    }

    fn test_endpoint(&self, method: reqwest::Method, path_and_query: &str) -> Vec<u8> {
        let url = format!("{}://{}{path_and_query}", self.scheme(), self.addr);
        let resp = self
            .http()
            .request(method, &url)
            .send()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status();
        let body = resp.bytes().map(|b| b.to_vec()).unwrap_or_default();
        assert!(
            status.is_success(),
            "{url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        body
    }

    /// The requests served so far whose path or query contains `matching` (e.g. a repository).
    pub fn requests(&self, matching: &str) -> Vec<Served> {
        let body = self.test_endpoint(
            reqwest::Method::GET,
            &format!("/_test/requests?match={}", encode(matching)),
        );
        serde_json::from_slice(&body).expect("request log JSON")
    }

    /// Flips a byte of a stored blob.
    pub fn corrupt(&self, digest: &str) {
        self.test_endpoint(
            reqwest::Method::POST,
            &format!("/_test/corrupt?digest={}", encode(digest)),
        );
    }

    /// The next `count` requests whose path contains `matching` get `status`.
    pub fn fail(&self, matching: &str, status: u16, count: u32) {
        self.test_endpoint(
            reqwest::Method::POST,
            &format!(
                "/_test/fail?match={}&status={status}&count={count}",
                encode(matching)
            ),
        );
    }

    /// Pushes a one-layer container image (not a chart) as `repo:1.0.0` with the library's
    /// client; returns its manifest digest.
    pub fn push_image(&self, repo: &str) -> String {
        use charter::oci::{Client, ClientOptions, CredentialStore};
        let client = Client::new(
            ClientOptions {
                ca_file: self.ca.clone(),
                plain_http: self.ca.is_none(),
                ..ClientOptions::default()
            },
            CredentialStore::with_password(&self.addr, &self.user, &self.password),
        )
        .expect("registry client");
        let config = br#"{"architecture":"amd64","os":"linux"}"#;
        let layer = b"not a chart";
        let cd = client.push_blob(&self.addr, repo, config).unwrap();
        let ld = client.push_blob(&self.addr, repo, layer).unwrap();
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{ld}","size":{}}}]}}"#,
            config.len(),
            layer.len()
        );
        client
            .push_manifest(
                &self.addr,
                repo,
                "1.0.0",
                "application/vnd.oci.image.manifest.v1+json",
                manifest.as_bytes(),
            )
            .unwrap()
    }

    /// Tag lists come in pages of `n` (with `Link` headers) unless the client asks otherwise.
    pub fn page_tags(&self, n: u32) {
        self.test_endpoint(reqwest::Method::POST, &format!("/_test/tags-page?n={n}"));
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(name) = self.owned.take() {
            let _ = Command::new(script())
                .args(["down", "--name", &name])
                .output();
        }
    }
}
