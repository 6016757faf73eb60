//! The OCI client library against a real registry (scripts/test-registry: go-containerregistry
//! behind TLS with Basic or Bearer-token auth), and against Helm v4 itself: what charter pushes
//! Helm pulls byte for byte, what Helm pushes charter pulls, and both write the same manifest.
//!
//! Every test works in its own repository path and its own config/cache directories, so tests
//! run in parallel on the shared registry and count only their own requests.

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use charter::oci::{
    ChartRequest, Client, ClientOptions, CredentialSource, CredentialStore, OciCache, OciCharts,
    OciError, PullOptions, PushOptions, Reference,
};
use charter::repo::Paths;
use support::registry::TestRegistry;
use support::{say, test_name, unique_name};

/// A Helm (apiVersion v2) chart archive, deterministic for its inputs.
fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    let files = [
        (
            "Chart.yaml".to_string(),
            format!(
                "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"1.0\"\ndescription: Test chart <{name}> & co\nhome: https://example.com/{name}\nmaintainers:\n- name: Ann\n  email: ann@example.com\nannotations:\n  category: test\n"
            ),
        ),
        ("values.yaml".to_string(), "greeting: hello\n".to_string()),
        (
            "templates/cm.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting }}\n".to_string(),
        ),
    ];
    let mut tar = tar::Builder::new(Vec::new());
    for (path, body) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(315_532_800);
        h.set_cksum();
        tar.append_data(&mut h, format!("{name}/{path}"), body.as_bytes())
            .unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// Config and cache directories of one simulated charter run.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn paths(&self) -> Paths {
        Paths {
            config_dir: self.dir.path().join("config/charter"),
            cache_dir: self.dir.path().join("cache/charter"),
        }
    }
}

fn options(reg: &TestRegistry) -> ClientOptions {
    ClientOptions {
        ca_file: reg.ca.clone(),
        plain_http: reg.ca.is_none(),
        retry_delay: std::time::Duration::from_millis(20),
        ..ClientOptions::default()
    }
}

/// A client that logs in with the registry's user through credentials given for the run.
fn charts(reg: &TestRegistry, home: &Home) -> OciCharts {
    charts_with(
        reg,
        home,
        CredentialStore::with_password(&reg.addr, &reg.user, &reg.password),
    )
}

fn charts_with(reg: &TestRegistry, home: &Home, store: CredentialStore) -> OciCharts {
    OciCharts::new(
        Client::new(options(reg), store).unwrap(),
        OciCache::new(&home.paths()),
    )
}

fn push(
    charts: &OciCharts,
    reg: &TestRegistry,
    path: &str,
    archive: Vec<u8>,
) -> charter::oci::Pushed {
    charts
        .push_chart(
            &Reference::parse(&reg.oci(path)).unwrap(),
            Path::new("chart.tgz"),
            archive,
            PushOptions {
                created: Some("2025-01-02T03:04:05Z".into()),
                ..Default::default()
            },
        )
        .unwrap()
}

fn request(reg: &TestRegistry, path: &str, version: Option<&str>) -> ChartRequest {
    ChartRequest::new(Reference::parse(&reg.oci(path)).unwrap(), version).unwrap()
}

macro_rules! registry_or_skip {
    () => {
        match TestRegistry::shared(test_name!()) {
            Some(r) => r,
            None => return,
        }
    };
    ($auth:expr, $plain:expr) => {
        match TestRegistry::start(test_name!(), $auth, $plain) {
            Some(r) => r,
            None => return,
        }
    };
}

#[test]
fn push_then_pull_gives_the_same_bytes_by_tag_by_range_and_by_digest() {
    let reg = registry_or_skip!();
    let ns = unique_name("pull");
    let home = Home::new();
    let c = charts(&reg, &home);
    let mut pushed = BTreeMap::new();
    for v in ["1.0.0", "1.2.0", "1.10.1+build.5", "2.0.0"] {
        let archive = chart_tgz("web", v);
        let p = push(&c, &reg, &ns, archive.clone());
        assert_eq!(p.reference.name(), "web");
        pushed.insert(v, (archive, p));
    }
    let (archive, p) = &pushed["1.10.1+build.5"];
    assert_eq!(p.reference.tag.as_deref(), Some("1.10.1_build.5"));
    assert_eq!(
        c.versions(&Reference::parse(&reg.oci(&format!("{ns}/web"))).unwrap())
            .unwrap(),
        ["2.0.0", "1.10.1+build.5", "1.2.0", "1.0.0"]
    );

    // Each pull from an empty cache, so the bytes come from the registry.
    let web = format!("{ns}/web");
    for (version, want) in [
        (Some("1.2.0"), "1.2.0"),
        (Some("^1.0"), "1.10.1+build.5"),
        (Some("~1.2"), "1.2.0"),
        (Some("*"), "2.0.0"),
        (Some("1.10.1+build.5"), "1.10.1+build.5"),
    ] {
        let fresh = Home::new();
        let got = charts(&reg, &fresh)
            .pull_chart(&request(&reg, &web, version), PullOptions::default())
            .unwrap();
        let (archive, p) = &pushed[want];
        assert_eq!(&got.archive, archive, "--version {version:?}");
        assert_eq!(got.manifest_digest, p.manifest_digest);
        assert_eq!(got.version().as_deref(), Some(want));
        assert!(!got.from_cache);
    }
    let tagged = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{web}:2.0.0"), None),
            PullOptions::default(),
        )
        .unwrap();
    assert_eq!(tagged.archive, pushed["2.0.0"].0);

    let by_digest = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{web}@{}", p.manifest_digest), None),
            PullOptions::default(),
        )
        .unwrap();
    assert_eq!(&by_digest.archive, archive);
    assert_eq!(by_digest.chart_digest, p.chart_digest);

    let e = charts(&reg, &Home::new())
        .pull_chart(&request(&reg, &web, Some(">=3")), PullOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&web) && e.contains(">=3") && e.contains("2.0.0, 1.10.1+build.5"),
        "{e}"
    );
    let e = charts(&reg, &Home::new())
        .pull_chart(&request(&reg, &web, Some("9.9.9")), PullOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no tag `9.9.9`"), "{e}");
}

#[test]
fn a_cached_pull_asks_the_registry_only_for_the_tags_digest_and_a_digest_pull_asks_nothing() {
    let reg = registry_or_skip!();
    let ns = unique_name("cache");
    let home = Home::new();
    let p = push(
        &charts(&reg, &Home::new()),
        &reg,
        &ns,
        chart_tgz("api", "3.1.4"),
    );
    let repo = format!("/v2/{ns}/api/");

    let first = charts(&reg, &home)
        .pull_chart(
            &request(&reg, &format!("{ns}/api"), Some("3.1.4")),
            PullOptions::default(),
        )
        .unwrap();
    assert!(!first.from_cache);
    let before = reg.requests(&repo).len();

    // A new process (new client) with the cache of the first.
    let again = charts(&reg, &home)
        .pull_chart(
            &request(&reg, &format!("{ns}/api"), Some("3.1.4")),
            PullOptions::default(),
        )
        .unwrap();
    assert!(again.from_cache);
    assert_eq!(again.archive, first.archive);
    let during: Vec<_> = reg.requests(&repo).into_iter().skip(before).collect();
    assert!(!during.is_empty());
    for r in &during {
        assert!(
            r.method == "HEAD" && r.path == format!("{repo}manifests/3.1.4"),
            "a cached pull made a request other than the tag → digest HEAD: {during:?}"
        );
    }
    say(&format!(
        "cached pull by tag: {} request(s), all HEAD {repo}manifests/3.1.4 ({:?})",
        during.len(),
        during.iter().map(|r| r.status).collect::<Vec<_>>()
    ));

    let before = reg.requests(&repo).len();
    let pinned = charts(&reg, &home)
        .pull_chart(
            &request(&reg, &format!("{ns}/api@{}", p.manifest_digest), None),
            PullOptions::default(),
        )
        .unwrap();
    assert!(pinned.from_cache);
    assert_eq!(pinned.archive, first.archive);
    assert_eq!(
        reg.requests(&repo).len(),
        before,
        "a digest pull from the cache made requests"
    );
}

#[test]
fn a_tampered_blob_is_refused_and_not_cached() {
    let reg = registry_or_skip!();
    let ns = unique_name("tamper");
    // The registry keeps blobs by digest across repositories, and corrupting twice would
    // restore the bytes: this archive must be new to the registry.
    let version = format!("0.1.0-{ns}");
    let p = push(
        &charts(&reg, &Home::new()),
        &reg,
        &ns,
        chart_tgz("evil", &version),
    );
    reg.corrupt(&p.chart_digest);
    let home = Home::new();
    let e = charts(&reg, &home)
        .pull_chart(
            &request(&reg, &format!("{ns}/evil"), Some(&version)),
            PullOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, OciError::DigestMismatch { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(&p.chart_digest)
            && text.contains("chart archive")
            && text.contains("refusing"),
        "{text}"
    );
    assert!(
        OciCache::new(&home.paths())
            .chart(&p.chart_digest)
            .is_none(),
        "the tampered archive was cached"
    );
}

#[test]
fn wrong_credentials_give_one_error_that_names_their_source_and_not_the_secret() {
    let reg = registry_or_skip!();
    let ns = unique_name("creds");
    push(
        &charts(&reg, &Home::new()),
        &reg,
        &ns,
        chart_tgz("locked", "1.0.0"),
    );
    let req = request(&reg, &format!("{ns}/locked"), Some("1.0.0"));

    // A wrong password saved by `registry login`.
    let home = Home::new();
    let paths = home.paths();
    let mut logins = charter::oci::RegistryLogins::default();
    logins.registries.insert(
        reg.addr.clone(),
        charter::oci::LoginEntry {
            username: reg.user.clone(),
            password: "not-the-password-4711".into(),
        },
    );
    logins.save(&paths).unwrap();
    let e = charts_with(&reg, &home, CredentialStore::from_env(&paths))
        .pull_chart(&req, PullOptions::default())
        .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(
            &e,
            OciError::Unauthorized {
                credential: CredentialSource::CharterLogin(_),
                status: 401,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        text.contains(&reg.addr)
            && text.contains("registries.yaml")
            && text.contains("charter registry login")
            && !text.contains("not-the-password-4711"),
        "{text}"
    );

    // No credentials at all.
    let e = charts_with(&reg, &Home::new(), CredentialStore::default())
        .pull_chart(&req, PullOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("anonymous") && e.contains(&reg.addr), "{e}");
}

#[test]
fn credentials_from_dockers_config_and_a_credential_helper_are_used() {
    let reg = registry_or_skip!();
    let ns = unique_name("docker");
    push(
        &charts(&reg, &Home::new()),
        &reg,
        &ns,
        chart_tgz("dock", "1.0.0"),
    );
    let req = request(&reg, &format!("{ns}/dock"), Some("1.0.0"));
    let t = tempfile::tempdir().unwrap();

    let config = t.path().join("auths.json");
    let auth = base64_encode(&format!("{}:{}", reg.user, reg.password));
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"https://{}": {{"auth": "{auth}"}}}}}}"#,
            reg.addr
        ),
    )
    .unwrap();
    let store = CredentialStore {
        docker_config: Some(config),
        ..Default::default()
    };
    charts_with(&reg, &Home::new(), store)
        .pull_chart(&req, PullOptions::default())
        .unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bin = t.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let helper = bin.join("docker-credential-testpass");
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\nread host\n[ \"$host\" = \"{}\" ] || {{ echo 'credentials not found'; exit 1; }}\nprintf '{{\"Username\":\"{}\",\"Secret\":\"{}\"}}'\n",
                reg.addr, reg.user, reg.password
            ),
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = t.path().join("helpers.json");
        std::fs::write(
            &config,
            format!(r#"{{"credHelpers": {{"{}": "testpass"}}}}"#, reg.addr),
        )
        .unwrap();
        let store = CredentialStore {
            docker_config: Some(config),
            helper_dir: Some(bin),
            ..Default::default()
        };
        charts_with(&reg, &Home::new(), store)
            .pull_chart(&req, PullOptions::default())
            .unwrap();
    }
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_token_auth_registry_works_with_scoped_tokens() {
    let reg = registry_or_skip!("token", false);
    let ns = unique_name("token");
    let c = charts(&reg, &Home::new());
    let p = push(&c, &reg, &ns, chart_tgz("tok", "1.0.0"));
    let got = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{ns}/tok"), Some("^1")),
            PullOptions::default(),
        )
        .unwrap();
    assert_eq!(got.manifest_digest, p.manifest_digest);
    let tokens: Vec<String> = reg
        .requests("/token")
        .into_iter()
        .filter(|r| r.path == "/token" && r.status == 200)
        .map(|r| r.query)
        .collect();
    let scope = |actions: &str| format!("scope=repository%3A{}%2Ftok%3A{actions}", ns);
    assert!(
        tokens.iter().any(|q| q.contains(&scope("pull%2Cpush"))),
        "no push token was asked for: {tokens:?}"
    );
    assert!(
        tokens
            .iter()
            .any(|q| q.contains(&scope("pull")) && !q.contains("push")),
        "no pull-only token was asked for: {tokens:?}"
    );

    // A Docker identity token is exchanged at the token service (OAuth2 refresh-token grant;
    // the test registry takes the password as the refresh token).
    let t = tempfile::tempdir().unwrap();
    let config = t.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{}": {{"identitytoken": "{}"}}}}}}"#,
            reg.addr, reg.password
        ),
    )
    .unwrap();
    let store = CredentialStore {
        docker_config: Some(config),
        ..Default::default()
    };
    charts_with(&reg, &Home::new(), store)
        .pull_chart(
            &request(&reg, &format!("{ns}/tok"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap();
    assert!(
        reg.requests("/token")
            .iter()
            .any(|r| r.method == "POST" && r.status == 200),
        "the identity token was not exchanged with a POST"
    );

    let store = CredentialStore::with_password(&reg.addr, &reg.user, "wrong");
    let e = charts_with(&reg, &Home::new(), store)
        .pull_chart(
            &request(&reg, &format!("{ns}/tok"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("token service") && e.contains("command line") && !e.contains("wrong"),
        "{e}"
    );
    let e = charts_with(&reg, &Home::new(), CredentialStore::default())
        .pull_chart(
            &request(&reg, &format!("{ns}/tok"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("anonymous") && e.contains("HTTP 401"), "{e}");
}

#[test]
fn tag_lists_are_followed_across_pages() {
    let reg = registry_or_skip!("none", true);
    reg.page_tags(2);
    let ns = unique_name("pages");
    let c = charts(&reg, &Home::new());
    for v in ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"] {
        push(&c, &reg, &ns, chart_tgz("paged", v));
    }
    let r = Reference::parse(&reg.oci(&format!("{ns}/paged"))).unwrap();
    assert_eq!(
        c.versions(&r).unwrap(),
        ["0.5.0", "0.4.0", "0.3.0", "0.2.0", "0.1.0"]
    );
    let pages = reg
        .requests(&format!("/v2/{ns}/paged/tags/list"))
        .into_iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(pages, 3, "5 tags in pages of 2");
}

#[test]
fn transient_server_errors_are_retried_and_persistent_ones_reported() {
    let reg = registry_or_skip!("none", true);
    let ns = unique_name("retry");
    let c = charts(&reg, &Home::new());
    push(&c, &reg, &ns, chart_tgz("flaky", "1.0.0"));
    reg.fail(&format!("/v2/{ns}/flaky/manifests/"), 503, 2);
    charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{ns}/flaky"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap();
    reg.fail(&format!("/v2/{ns}/flaky/manifests/"), 503, 10);
    let e = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{ns}/flaky"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 503") && e.contains(&reg.addr), "{e}");
}

#[test]
fn a_non_chart_artifact_says_what_it_is() {
    let reg = registry_or_skip!();
    let ns = unique_name("image");
    let c = charts(&reg, &Home::new());
    let repo = format!("{ns}/app");
    reg.push_image(&repo);
    let e = c
        .pull_chart(&request(&reg, &repo, Some("1.0.0")), PullOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is not a Helm chart")
            && e.contains("container image")
            && e.contains("application/vnd.oci.image.config.v1+json"),
        "{e}"
    );
}

#[test]
fn tls_needs_the_registrys_ca_unless_verification_is_off() {
    let reg = registry_or_skip!();
    let ns = unique_name("tls");
    push(
        &charts(&reg, &Home::new()),
        &reg,
        &ns,
        chart_tgz("secure", "1.0.0"),
    );
    let req = request(&reg, &format!("{ns}/secure"), Some("1.0.0"));
    let with = |options: ClientOptions| {
        let store = CredentialStore::with_password(&reg.addr, &reg.user, &reg.password);
        OciCharts::new(
            Client::new(options, store).unwrap(),
            OciCache::new(&Home::new().paths()),
        )
        .pull_chart(&req, PullOptions::default())
    };
    let e = with(ClientOptions {
        retries: 0,
        ..ClientOptions::default()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains(&reg.addr) && e.contains("--ca-file"), "{e}");
    with(ClientOptions {
        insecure_skip_tls_verify: true,
        ..ClientOptions::default()
    })
    .unwrap();
}

#[test]
fn an_unreachable_registry_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = Home::new();
    let c = OciCharts::new(
        Client::new(
            ClientOptions {
                retries: 1,
                retry_delay: std::time::Duration::from_millis(10),
                ..ClientOptions::default()
            },
            CredentialStore::default(),
        )
        .unwrap(),
        OciCache::new(&home.paths()),
    );
    let r = Reference::parse(&format!("oci://127.0.0.1:{port}/charts/x")).unwrap();
    let e = c
        .pull_chart(
            &ChartRequest::new(r, Some("1.0.0")).unwrap(),
            PullOptions::default(),
        )
        .unwrap_err();
    assert!(matches!(e, OciError::Unreachable { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("registry 127.0.0.1:{port} is unreachable")),
        "{text}"
    );
}

#[test]
fn a_provenance_file_travels_with_the_chart() {
    let reg = registry_or_skip!();
    let ns = unique_name("prov");
    let c = charts(&reg, &Home::new());
    let prov = b"-----BEGIN PGP SIGNED MESSAGE-----\nfake\n".to_vec();
    c.push_chart(
        &Reference::parse(&reg.oci(&ns)).unwrap(),
        Path::new("signed.tgz"),
        chart_tgz("signed", "1.0.0"),
        PushOptions {
            prov: Some(prov.clone()),
            created: None,
        },
    )
    .unwrap();
    let got = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{ns}/signed"), Some("1.0.0")),
            PullOptions { with_prov: true },
        )
        .unwrap();
    assert_eq!(got.prov.as_deref(), Some(prov.as_slice()));
    let e = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{ns}/signed"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap();
    assert!(e.prov.is_none());
}

// ---------------------------------------------------------------------------------------------
// Helm v4 interop.

#[test]
fn helm_pulls_what_charter_pushed_and_charter_pulls_what_helm_pushed_with_the_same_manifest() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let reg = registry_or_skip!();
    let ca = reg.ca.clone().expect("the shared registry speaks TLS");
    let ca = ca.to_str().unwrap();
    let t = tempfile::tempdir().unwrap();
    let hhome = t.path().join("helm");
    let ns = unique_name("helm");
    support::run_helm(
        &helm,
        &hhome,
        &[
            "registry",
            "login",
            &reg.addr,
            "--username",
            &reg.user,
            "--password-stdin",
            "--ca-file",
            ca,
        ],
        Some(&reg.password),
    );

    // The same archive, pushed by both tools with the same creation time (Helm takes the
    // archive file's mtime).
    let archive = chart_tgz("both", "0.3.0+meta.1");
    let file = t.path().join("both-0.3.0+meta.1.tgz");
    std::fs::write(&file, &archive).unwrap();
    let mtime = 1_700_000_000;
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime))
        .unwrap();
    let c = charts(&reg, &Home::new());
    let ours = c
        .push_chart(
            &Reference::parse(&reg.oci(&format!("{ns}/charter"))).unwrap(),
            &file,
            archive.clone(),
            PushOptions {
                created: Some(charter::oci::artifact::rfc3339_seconds(mtime)),
                ..Default::default()
            },
        )
        .unwrap();
    support::run_helm(
        &helm,
        &hhome,
        &[
            "push",
            file.to_str().unwrap(),
            &reg.oci(&format!("{ns}/helm")),
            "--ca-file",
            ca,
        ],
        None,
    );
    let theirs = c
        .client()
        .resolve_tag(&reg.addr, &format!("{ns}/helm/both"), "0.3.0_meta.1")
        .unwrap();
    let (theirs_manifest, _) = c
        .client()
        .fetch_manifest(
            &reg.addr,
            &format!("{ns}/helm/both"),
            &theirs,
            Some(&theirs),
        )
        .unwrap();
    let (ours_manifest, _) = c
        .client()
        .fetch_manifest(
            &reg.addr,
            &format!("{ns}/charter/both"),
            &ours.manifest_digest,
            None,
        )
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours_manifest),
        String::from_utf8_lossy(&theirs_manifest),
        "charter's and helm's manifests differ"
    );
    assert_eq!(ours.manifest_digest, theirs);

    // helm pull of charter's push: the same bytes.
    let out_dir = t.path().join("pulled");
    std::fs::create_dir_all(&out_dir).unwrap();
    support::run_helm(
        &helm,
        &hhome,
        &[
            "pull",
            &reg.oci(&format!("{ns}/charter/both")),
            "--version",
            "0.3.0+meta.1",
            "--destination",
            out_dir.to_str().unwrap(),
            "--ca-file",
            ca,
        ],
        None,
    );
    let pulled = std::fs::read(out_dir.join("both-0.3.0+meta.1.tgz")).unwrap();
    assert_eq!(
        pulled, archive,
        "helm pull of charter's push changed the bytes"
    );

    // charter pull of helm's push (another chart, so nothing comes from charter's own push).
    let other = chart_tgz("fromhelm", "2.1.0");
    let file = t.path().join("fromhelm-2.1.0.tgz");
    std::fs::write(&file, &other).unwrap();
    support::run_helm(
        &helm,
        &hhome,
        &[
            "push",
            file.to_str().unwrap(),
            &reg.oci(&ns),
            "--ca-file",
            ca,
        ],
        None,
    );
    let got = charts(&reg, &Home::new())
        .pull_chart(
            &request(&reg, &format!("{ns}/fromhelm"), Some("~2.1")),
            PullOptions::default(),
        )
        .unwrap();
    assert_eq!(got.archive, other);
    assert_eq!(got.version().as_deref(), Some("2.1.0"));
}

#[test]
fn a_plain_http_registry_without_auth_works() {
    let reg = registry_or_skip!("none", true);
    let ns = unique_name("plain");
    let c = charts_with(&reg, &Home::new(), CredentialStore::default());
    let archive = chart_tgz("open", "1.0.0");
    push(&c, &reg, &ns, archive.clone());
    let got = charts_with(&reg, &Home::new(), CredentialStore::default())
        .pull_chart(
            &request(&reg, &format!("{ns}/open"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap();
    assert_eq!(got.archive, archive);
    // An https client does not silently fall back to plain http.
    let tls = OciCharts::new(
        Client::new(
            ClientOptions {
                retries: 0,
                ..ClientOptions::default()
            },
            CredentialStore::default(),
        )
        .unwrap(),
        OciCache::new(&Home::new().paths()),
    );
    let e = tls
        .pull_chart(
            &request(&reg, &format!("{ns}/open"), Some("1.0.0")),
            PullOptions::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains(&reg.addr) && e.contains("unreachable"), "{e}");
}
