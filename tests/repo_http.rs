//! Acceptance tests for chart repositories against real HTTP(S) servers on 127.0.0.x: plain
//! HTTP, TLS with a CA generated here, basic auth, redirects across origins, a tampered
//! archive, deploy trees that name repository charts, and Helm v4 reading charter's repository
//! (and charter reading Helm's index).
//!
//! Every charter process gets its own XDG config/cache directories (never the user's).

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use charter::repo::Index;
use support::write;

// ---------------------------------------------------------------------------------------------
// A small HTTP/1.1 file server (optionally TLS, basic auth, redirects) that logs each request.

#[derive(Clone, Default)]
struct Rules {
    /// Require this user and password (basic auth) for every path.
    auth: Option<(String, String)>,
    /// `/redirect/<rest>` answers 302 to `<redirect_to>/<rest>`.
    redirect_to: Option<String>,
}

#[derive(Clone, Debug)]
struct Logged {
    path: String,
    authorization: Option<String>,
}

struct Server {
    url: String,
    log: Arc<Mutex<Vec<Logged>>>,
}

impl Server {
    fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
    fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

fn serve(host: &str, root: &Path, rules: Rules, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
    let listener = TcpListener::bind((host, 0)).expect("bind a loopback port");
    let port = listener.local_addr().unwrap().port();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let log = Arc::new(Mutex::new(Vec::new()));
    let (root, log2) = (root.to_path_buf(), log.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let (root, rules, log, tls) = (root.clone(), rules.clone(), log2.clone(), tls.clone());
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(20)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(20)));
                match tls {
                    None => {
                        let mut s = tcp;
                        let _ = handle(&mut s, &root, &rules, &log);
                    }
                    Some(cfg) => {
                        let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                            return;
                        };
                        let mut s = rustls::StreamOwned::new(conn, tcp);
                        if handle(&mut s, &root, &rules, &log).is_ok() {
                            s.conn.send_close_notify();
                            let _ = s.flush();
                        }
                    }
                }
            });
        }
    });
    Server {
        url: format!("{scheme}://{host}:{port}"),
        log,
    }
}

fn handle<S: Read + Write>(
    s: &mut S,
    root: &Path,
    rules: &Rules,
    log: &Mutex<Vec<Logged>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *s);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut authorization = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_string());
        }
    }
    drop(reader);
    log.lock().unwrap().push(Logged {
        path: path.clone(),
        authorization: authorization.clone(),
    });
    let path = path.split('?').next().unwrap_or("/").to_string();
    let (status, extra, body): (&str, String, Vec<u8>) = if let Some((u, p)) = &rules.auth
        && authorization.as_deref() != Some(&format!("Basic {}", b64(&format!("{u}:{p}"))))
    {
        (
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"charts\"\r\n".into(),
            b"no".to_vec(),
        )
    } else if let Some(rest) = path.strip_prefix("/redirect/")
        && let Some(to) = &rules.redirect_to
    {
        (
            "302 Found",
            format!("Location: {to}/{rest}\r\n"),
            Vec::new(),
        )
    } else if let Some(rest) = path.strip_prefix("/redirect-self/") {
        ("302 Found", format!("Location: /{rest}\r\n"), Vec::new())
    } else if path.split('/').any(|c| c == "..") {
        ("400 Bad Request", String::new(), Vec::new())
    } else {
        match std::fs::read(root.join(path.trim_start_matches('/'))) {
            Ok(b) => ("200 OK", String::new(), b),
            Err(_) => ("404 Not Found", String::new(), b"not found".to_vec()),
        }
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )?;
    s.write_all(&body)?;
    s.flush()
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A CA and a server certificate for 127.0.0.1 / localhost, signed by it. Returns the server
/// config and the CA's PEM.
fn test_tls() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "charter test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (Arc::new(cfg), ca_cert.pem())
}

// ---------------------------------------------------------------------------------------------
// Running charter with private XDG directories.

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn config(&self) -> PathBuf {
        self.path().join(".xdg-config/charter")
    }
    fn cache(&self) -> PathBuf {
        self.path().join(".xdg-cache/charter")
    }
    fn run_in(&self, cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
        let c = support::charter().isolated_in(self.path()).cwd(cwd);
        match stdin {
            Some(input) => c.stdin(input).run(args),
            None => c.run(args),
        }
    }
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.path(), args, None)
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "charter {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "charter {args:?} should fail:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

const VERSIONS: [&str; 5] = ["1.1.0", "1.2.0", "1.2.5", "1.3.0-rc.1", "2.0.0"];

/// A repository directory with chart `web` in [`VERSIONS`] and chart `db` 0.1.0, indexed by
/// charter.
fn repo_dir(env: &Env) -> PathBuf {
    let src = env.path().join("src");
    write(
        &src,
        "web/Chart.yaml",
        "apiVersion: charter/v1\nname: web\nversion: 0.0.1\ndescription: Web frontend for the shop\nkeywords: [frontend]\nappVersion: \"3.1\"\n",
    );
    write(
        &src,
        "web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  chartVersion: \"{{ chart.version }}\"\n",
    );
    write(
        &src,
        "db/Chart.yaml",
        "apiVersion: charter/v1\nname: db\nversion: 0.1.0\ndescription: A database\n",
    );
    write(
        &src,
        "db/templates/s.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n",
    );
    let repo = env.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let repo_s = repo.to_str().unwrap();
    for v in VERSIONS {
        env.ok(&[
            "package",
            src.join("web").to_str().unwrap(),
            "--version",
            v,
            "-d",
            repo_s,
        ]);
    }
    env.ok(&["package", src.join("db").to_str().unwrap(), "-d", repo_s]);
    env.ok(&["repo", "index", repo_s]);
    repo
}

/// Rows of a table: whitespace-separated cells, header dropped.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn plain_http_add_search_pull_template_update_remove() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);

    let out = env.ok(&["repo", "add", "shop", &server.url]);
    assert!(
        out.contains("\"shop\" has been added") && out.contains("2 charts, 6 versions"),
        "{out}"
    );
    assert!(env.cache().join("repository/shop-index.yaml").is_file());
    let listed = env.ok(&["repo", "list"]);
    assert_eq!(
        rows(&listed),
        [vec!["shop".to_string(), server.url.clone()]]
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["repo", "list", "-o", "json"])).unwrap();
    assert_eq!(json[0]["name"], "shop");

    // search: newest release per chart; ranges; every version; keywords and descriptions.
    let all = rows(&env.ok(&["search"]));
    assert_eq!(
        all.iter()
            .map(|r| (r[0].as_str(), r[1].as_str()))
            .collect::<Vec<_>>(),
        [("shop/db", "0.1.0"), ("shop/web", "2.0.0")]
    );
    assert_eq!(all[1][2], "3.1");
    let ranged = rows(&env.ok(&["search", "web", "--version", "^1.2", "--versions"]));
    assert_eq!(
        ranged.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(),
        ["1.2.5", "1.2.0"]
    );
    let devel = rows(&env.ok(&["search", "FRONTEND", "--devel"]));
    assert_eq!(
        devel.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(),
        ["2.0.0"]
    );
    let versions = rows(&env.ok(&["search", "shop/web", "-l", "--devel"]));
    assert_eq!(versions.len(), 5);
    assert_eq!(
        env.ok(&["search", "nothing-like-this"]).trim(),
        "No results found"
    );
    let err = env.fails(&["search", "--version", ">>1"]);
    assert!(err.contains("--version `>>1`"), "{err}");

    // pull: highest match, byte-identical to the served file, then from the cache.
    let out_dir = env.path().join("pulled");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = env.ok(&[
        "pull",
        "shop/web",
        "--version",
        "^1.2",
        "-d",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.contains("web 1.2.5"), "{out}");
    assert_eq!(
        std::fs::read(out_dir.join("web-1.2.5.tgz")).unwrap(),
        std::fs::read(repo.join("web-1.2.5.tgz")).unwrap()
    );
    assert_eq!(server.count("/web-1.2.5.tgz"), 1);
    std::fs::remove_file(out_dir.join("web-1.2.5.tgz")).unwrap();
    let out = env.ok(&[
        "pull",
        "shop/web",
        "--version",
        "~1.2.0",
        "-d",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.contains("1.2.5") && out.contains("from cache"), "{out}");
    assert_eq!(
        server.count("/web-1.2.5.tgz"),
        1,
        "the second pull is served from the digest cache"
    );
    env.ok(&[
        "pull",
        "shop/web",
        "--untar",
        "-d",
        out_dir.to_str().unwrap(),
    ]);
    let chart_yaml = std::fs::read_to_string(out_dir.join("web/Chart.yaml")).unwrap();
    assert_eq!(
        charter::chart::parse_chart_yaml(&chart_yaml, "Chart.yaml")
            .unwrap()
            .version,
        "2.0.0"
    );
    let err = env.fails(&[
        "pull",
        "shop/web",
        "--untar",
        "-d",
        out_dir.to_str().unwrap(),
    ]);
    assert!(err.contains("already exists"), "{err}");
    let err = env.fails(&["pull", "shop/web", "--version", "^5"]);
    assert!(
        err.contains("satisfies `^5`") && err.contains("2.0.0"),
        "{err}"
    );
    let err = env.fails(&["pull", "shop/nope"]);
    assert!(err.contains("`nope`"), "{err}");
    let err = env.fails(&["pull", "other/web"]);
    assert!(
        err.contains("repository `other` is not configured") && err.contains("shop"),
        "{err}"
    );

    // template REPO/NAME --version RANGE renders the chosen version; RELEASE REPO/NAME too.
    let out = env.ok(&["template", "shop/web", "--version", "^1.2"]);
    assert!(out.contains("chartVersion: \"1.2.5\""), "{out}");
    let out = env.ok(&["template", "rel", "shop/web", "--version", "~1.1"]);
    assert!(out.contains("chartVersion: \"1.1.0\""), "{out}");
    let out = env.ok(&["template", "shop/web", "--devel"]);
    assert!(out.contains("chartVersion: \"2.0.0\""), "{out}");
    // A URL of a .tgz works too.
    let out = env.ok(&["template", &format!("{}/web-1.3.0-rc.1.tgz", server.url)]);
    assert!(out.contains("chartVersion: \"1.3.0-rc.1\""), "{out}");

    // update sees a new version; remove forgets the repository and its cache.
    let src = env.path().join("src/web");
    env.ok(&[
        "package",
        src.to_str().unwrap(),
        "--version",
        "2.1.0",
        "-d",
        repo.to_str().unwrap(),
    ]);
    env.ok(&["repo", "index", repo.to_str().unwrap()]);
    assert_eq!(
        rows(&env.ok(&["search", "web"]))[0][1],
        "2.0.0",
        "search reads the cache"
    );
    let out = env.ok(&["repo", "update"]);
    assert!(
        out.contains("Updated \"shop\"") && out.contains("7 versions"),
        "{out}"
    );
    assert_eq!(rows(&env.ok(&["search", "web"]))[0][1], "2.1.0");
    let err = env.fails(&["repo", "add", "shop", "http://127.0.0.1:9"]);
    assert!(
        err.contains("already exists") && err.contains("--force-update"),
        "{err}"
    );
    let err = env.fails(&["repo", "update", "nope"]);
    assert!(err.contains("`nope` is not configured"), "{err}");
    env.ok(&["repo", "remove", "shop"]);
    assert!(!env.cache().join("repository/shop-index.yaml").exists());
    let err = env.fails(&["repo", "list"]);
    assert!(err.contains("no repositories"), "{err}");
    let err = env.fails(&["search", "web"]);
    assert!(err.contains("charter repo add"), "{err}");
}

#[test]
fn tampered_archive_fails_the_digest_check() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);
    env.ok(&["repo", "add", "shop", &server.url]);
    // Replace the archive behind the index's back with another valid chart archive.
    let original = repo.join("web-1.2.5.tgz");
    std::fs::copy(repo.join("web-1.2.0.tgz"), &original).unwrap();
    let out_dir = env.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let err = env.fails(&[
        "pull",
        "shop/web",
        "--version",
        "1.2.5",
        "-d",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        err.contains("digest mismatch") && err.contains("web-1.2.5.tgz"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        0,
        "nothing written"
    );
    let err = env.fails(&["template", "shop/web", "--version", "1.2.5"]);
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(
        !env.cache().join("charts").exists()
            || std::fs::read_dir(env.cache().join("charts/sha256"))
                .unwrap()
                .count()
                == 0
    );
    // Untouched versions still verify.
    env.ok(&[
        "pull",
        "shop/web",
        "--version",
        "1.1.0",
        "-d",
        out_dir.to_str().unwrap(),
    ]);
}

#[test]
fn tls_with_a_test_ca() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let (tls, ca_pem) = test_tls();
    let server = serve("127.0.0.1", &repo, Rules::default(), Some(tls));
    let ca = env.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();

    let err = env.fails(&["repo", "add", "secure", &server.url]);
    assert!(
        err.contains("--ca-file"),
        "unknown CA is refused with a hint: {err}"
    );
    let out = env.ok(&[
        "repo",
        "add",
        "secure",
        &server.url,
        "--ca-file",
        ca.to_str().unwrap(),
    ]);
    assert!(out.contains("has been added"), "{out}");
    let out = env.ok(&["template", "secure/web", "--version", "^1.2"]);
    assert!(out.contains("chartVersion: \"1.2.5\""), "{out}");
    let cfg = std::fs::read_to_string(env.config().join("repositories.yaml")).unwrap();
    assert!(cfg.contains("caFile:"), "{cfg}");

    let out = env.ok(&[
        "repo",
        "add",
        "insecure",
        &server.url,
        "--insecure-skip-tls-verify",
    ]);
    assert!(out.contains("has been added"), "{out}");
    let pulled = env.path().join("p");
    std::fs::create_dir_all(&pulled).unwrap();
    env.ok(&["pull", "insecure/db", "-d", pulled.to_str().unwrap()]);
    assert!(pulled.join("db-0.1.0.tgz").is_file());

    // An https repository that redirects to plain http is refused.
    let plain = serve("127.0.0.1", &repo, Rules::default(), None);
    let (tls2, ca2) = test_tls();
    let downgrade = serve(
        "127.0.0.1",
        &repo,
        Rules {
            redirect_to: Some(plain.url.clone()),
            ..Default::default()
        },
        Some(tls2),
    );
    let ca2_path = env.path().join("ca2.pem");
    std::fs::write(&ca2_path, ca2).unwrap();
    let err = env.fails(&[
        "repo",
        "add",
        "down",
        &format!("{}/redirect", downgrade.url),
        "--ca-file",
        ca2_path.to_str().unwrap(),
    ]);
    assert!(err.contains("refusing the downgrade"), "{err}");
    assert_eq!(plain.requests().len(), 0);
}

#[test]
fn basic_auth_and_no_credentials_after_redirect_to_another_host() {
    let env = Env::new();
    let repo = repo_dir(&env);
    // The archives live on another host (127.0.0.2) that needs no credentials; the repository
    // host redirects there.
    let other = serve("127.0.0.2", &repo, Rules::default(), None);
    let rules = Rules {
        auth: Some(("ci".into(), "s3cret: pw".into())),
        redirect_to: Some(other.url.clone()),
    };
    let server = serve("127.0.0.1", &repo, rules, None);
    // Point the web-1.2.5 URL at the redirecting path, and web-1.2.0 at a same-origin redirect.
    let index = std::fs::read_to_string(repo.join("index.yaml")).unwrap();
    let index = index
        .replace("- web-1.2.5.tgz", "- redirect/web-1.2.5.tgz")
        .replace("- web-1.2.0.tgz", "- redirect-self/web-1.2.0.tgz");
    std::fs::write(repo.join("index.yaml"), index).unwrap();

    let err = env.fails(&["repo", "add", "private", &server.url]);
    assert!(
        err.contains("HTTP 401") && err.contains("--username"),
        "{err}"
    );
    assert!(
        !env.config().join("repositories.yaml").exists(),
        "a failed add saves nothing"
    );
    let out = env.run_in(
        env.path(),
        &[
            "repo",
            "add",
            "private",
            &server.url,
            "--username",
            "ci",
            "--password-stdin",
        ],
        Some("wrong\n"),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected the credentials"));
    let out = env.run_in(
        env.path(),
        &[
            "repo",
            "add",
            "private",
            &server.url,
            "--username",
            "ci",
            "--password-stdin",
        ],
        Some("s3cret: pw\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = env.fails(&["repo", "add", "x", &server.url, "--username", "ci"]);
    assert!(err.contains("--password-stdin"), "{err}");

    // Credentials are kept apart, readable only by the owner.
    let creds = env.config().join("credentials.yaml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        std::fs::read_to_string(&creds)
            .unwrap()
            .contains("s3cret: pw")
    );
    assert!(
        !std::fs::read_to_string(env.config().join("repositories.yaml"))
            .unwrap()
            .contains("s3cret")
    );

    // Search and pull with credentials; the cross-host redirect loses them.
    assert_eq!(rows(&env.ok(&["search", "web"]))[0][1], "2.0.0");
    let dir = env.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    env.ok(&[
        "pull",
        "private/web",
        "--version",
        "1.2.5",
        "-d",
        dir.to_str().unwrap(),
    ]);
    assert!(dir.join("web-1.2.5.tgz").is_file());
    let expected = format!("Basic {}", b64("ci:s3cret: pw"));
    let at_other = other.requests();
    assert_eq!(at_other.len(), 1, "{at_other:?}");
    assert_eq!(at_other[0].path, "/web-1.2.5.tgz");
    assert_eq!(
        at_other[0].authorization, None,
        "credentials leaked to another host"
    );
    let at_repo = server.requests();
    assert!(
        at_repo.iter().any(|r| r.path == "/redirect/web-1.2.5.tgz"
            && r.authorization.as_deref() == Some(&expected))
    );

    // A same-origin redirect keeps them (the repository host needs them for every path).
    env.ok(&[
        "pull",
        "private/web",
        "--version",
        "1.2.0",
        "-d",
        dir.to_str().unwrap(),
    ]);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/web-1.2.0.tgz" && r.authorization.as_deref() == Some(&expected))
    );

    // An archive URL below the repository's URL gets the repository's credentials.
    let out = env.ok(&["template", &format!("{}/web-1.1.0.tgz", server.url)]);
    assert!(out.contains("chartVersion: \"1.1.0\""), "{out}");

    // install/template through the authenticated repository.
    let out = env.ok(&["template", "private/web", "--version", "^1.1 <1.2"]);
    assert!(out.contains("chartVersion: \"1.1.0\""), "{out}");

    // Removing the repository removes its credentials file.
    env.ok(&["repo", "remove", "private"]);
    assert!(!creds.exists());
}

/// A repository chart (`REPO/NAME`) is downloaded before the async runtime starts, for install
/// and diff alike: reqwest's blocking client refuses to run inside a runtime.
#[tokio::test]
async fn install_and_diff_a_repository_chart_on_the_cluster() {
    let cluster = support::cluster_or_skip!();
    let ns = cluster.namespace("repo-install").await;
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);
    env.ok(&["repo", "add", "shop", &server.url]);
    let kc = cluster.kubeconfig.to_str().unwrap();
    let n = ns.name();
    let on_cluster = |args: &[&'static str], version: &'static str| -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend([
            "shop/web",
            "--version",
            version,
            "-n",
            n,
            "--kubeconfig",
            kc,
            "--kube-context",
            support::ADMIN_CONTEXT,
        ]);
        env.run(&all)
    };
    let out = on_cluster(&["install", "web"], "~1.2.0");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CHART: web-1.2.5") && stdout.contains("STATUS: deployed"),
        "{stdout}"
    );
    let same = on_cluster(&["diff", "web"], "~1.2.0");
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&same.stdout),
        String::from_utf8_lossy(&same.stderr)
    );
    let newer = on_cluster(&["diff", "web"], "2.0.0");
    let shown = String::from_utf8_lossy(&newer.stdout);
    assert_eq!(newer.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("ConfigMap") && shown.contains("2.0.0"),
        "{shown}"
    );
    ns.delete().await;
}

#[test]
fn deploy_tree_names_a_repository_chart() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);
    env.ok(&["repo", "add", "shop", &server.url]);
    let tree = env.path().join("deploy/web");
    write(
        &tree,
        "charter.yaml",
        "repo: shop\nname: web\nversion: ^1.2\nrelease: web\n",
    );
    write(&tree, "staging/eastus/values.yaml", "a: 1\n");
    write(&tree, "prod/charter.yaml", "version: ~1.1\n");
    write(&tree, "prod/westus/values.yaml", "a: 2\n");
    write(
        &tree,
        "canary/charter.yaml",
        &format!("repo: {}\nversion: '>=2.0.0-0'\n", server.url),
    );
    write(&tree, "canary/x/values.yaml", "a: 3\n");
    std::fs::create_dir_all(env.path().join("deploy/.git")).unwrap();

    let out = env.ok(&["template", tree.join("staging/eastus").to_str().unwrap()]);
    assert!(out.contains("chartVersion: \"1.2.5\""), "{out}");
    let out = env.ok(&["template", tree.join("prod/westus").to_str().unwrap()]);
    assert!(
        out.contains("chartVersion: \"1.1.0\""),
        "a region pinned to an older chart: {out}"
    );
    let out = env.ok(&["template", tree.join("canary/x").to_str().unwrap()]);
    assert!(
        out.contains("chartVersion: \"2.0.0\""),
        "repository by URL: {out}"
    );
    // --version on the command line wins over the tree.
    let out = env.ok(&[
        "template",
        tree.join("prod/westus").to_str().unwrap(),
        "--version",
        "1.2.0",
    ]);
    assert!(out.contains("chartVersion: \"1.2.0\""), "{out}");

    write(
        &tree,
        "prod/charter.yaml",
        "name: web\nchart: ../../../src/web\n",
    );
    let err = env.fails(&["template", tree.join("prod/westus").to_str().unwrap()]);
    assert!(err.contains("both `chart`"), "{err}");
    write(&tree, "prod/charter.yaml", "version: ^9\n");
    let err = env.fails(&["template", tree.join("prod/westus").to_str().unwrap()]);
    assert!(err.contains("satisfies `^9`"), "{err}");
    write(&tree, "charter.yaml", "name: web\n");
    write(&tree, "prod/charter.yaml", "");
    let err = env.fails(&["template", tree.join("prod/westus").to_str().unwrap()]);
    assert!(err.contains("needs both `repo`"), "{err}");
}

#[test]
fn dependencies_from_a_repository_update_build_list() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);
    env.ok(&["repo", "add", "shop", &server.url]);
    let app = env.path().join("app");
    write(
        &app,
        "Chart.yaml",
        &format!(
            "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: web\n    version: ^1.2\n    repository: {}\n    alias: frontend\n  - name: db\n    version: 0.x\n    repository: \"@shop\"\n    condition: db.enabled\n",
            server.url
        ),
    );
    write(
        &app,
        "templates/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    let app_s = app.to_str().unwrap();

    let err = env.fails(&["template", app_s]);
    assert!(err.contains("dep update"), "{err}");
    let listed = env.ok(&["dep", "list", app_s]);
    assert!(listed.contains("missing"), "{listed}");

    let out = env.ok(&["dep", "update", app_s]);
    assert!(
        out.contains("web 1.2.5") && out.contains("db 0.1.0"),
        "{out}"
    );
    assert_eq!(
        std::fs::read(app.join("charts/web-1.2.5.tgz")).unwrap(),
        std::fs::read(repo.join("web-1.2.5.tgz")).unwrap()
    );
    let lock = std::fs::read_to_string(app.join("Chart.lock")).unwrap();
    assert!(
        lock.contains("1.2.5") && lock.contains("digest: sha256:"),
        "{lock}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["dep", "list", app_s, "-o", "json"])).unwrap();
    assert_eq!(json["lockCurrent"], true);
    assert_eq!(json["dependencies"][0]["state"], "ok");
    assert_eq!(json["dependencies"][0]["alias"], "frontend");
    let out = env.ok(&["template", app_s]);
    assert!(out.contains("chartVersion: \"1.2.5\""), "{out}");
    assert!(
        out.contains("kind: Service"),
        "the db dependency renders: {out}"
    );
    let out = env.ok(&["template", app_s, "--set", "db.enabled=false"]);
    assert!(
        !out.contains("kind: Service"),
        "its condition turns it off: {out}"
    );

    // build restores exactly the lock, even after the repository moved on.
    std::fs::remove_dir_all(app.join("charts")).unwrap();
    std::fs::remove_dir_all(env.cache().join("charts")).unwrap();
    let src = env.path().join("src/web");
    env.ok(&[
        "package",
        src.to_str().unwrap(),
        "--version",
        "1.2.9",
        "-d",
        repo.to_str().unwrap(),
    ]);
    env.ok(&["repo", "index", repo.to_str().unwrap()]);
    let out = env.ok(&["dep", "build", app_s]);
    assert!(out.contains("web 1.2.5: downloaded"), "{out}");
    assert!(app.join("charts/web-1.2.5.tgz").is_file());

    // A repository that now serves different bytes for the locked version is refused.
    std::fs::remove_dir_all(app.join("charts")).unwrap();
    std::fs::remove_dir_all(env.cache().join("charts")).unwrap();
    write(&src, "templates/extra.yaml", "kind: Extra\n");
    env.ok(&[
        "package",
        src.to_str().unwrap(),
        "--version",
        "1.2.5",
        "-d",
        repo.to_str().unwrap(),
    ]);
    std::fs::remove_file(src.join("templates/extra.yaml")).unwrap();
    env.ok(&["repo", "index", repo.to_str().unwrap()]);
    env.ok(&["repo", "update"]);
    let err = env.fails(&["dep", "build", app_s]);
    assert!(err.contains("digest mismatch against Chart.lock"), "{err}");

    // update moves to the newest match and replaces the vendored archive.
    let out = env.ok(&["dep", "update", app_s]);
    assert!(out.contains("web 1.2.9"), "{out}");
    let names: Vec<String> = std::fs::read_dir(app.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["db-0.1.0.tgz", "web-1.2.9.tgz"]);

    // package -u vendors and packages in one go; the package holds the dependencies.
    let dest = env.path().join("dist");
    std::fs::create_dir_all(&dest).unwrap();
    env.ok(&["package", app_s, "-u", "-d", dest.to_str().unwrap()]);
    let bytes = std::fs::read(dest.join("app-1.0.0.tgz")).unwrap();
    let files =
        charter::chart::read_archive(Path::new("app.tgz"), &bytes, &Default::default()).unwrap();
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert!(
        names.contains(&"charts/web-1.2.9.tgz") && names.contains(&"Chart.lock"),
        "{names:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Helm v4 interop.

fn run_helm(helm: &Path, env: &Env, args: &[&str]) -> Output {
    support::run_helm(helm, &env.path().join("helm-home"), args, None)
}

/// The index with the fields that record *when* (not *what*) cleared.
fn timeless(bytes: &[u8], origin: &str) -> Index {
    let (mut index, skipped) = Index::from_yaml(bytes, origin).unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    index.generated = None;
    for versions in index.entries.values_mut() {
        for v in versions {
            v.created = None;
        }
    }
    index
}

#[test]
fn helm_repo_index_is_read_identically_to_charters() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let env = Env::new();
    let repo = repo_dir(&env);
    // A subdirectory archive and a chart with every metadata field, as both tools index them.
    let rich = env.path().join("src/rich");
    write(
        &rich,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: rich\nversion: 0.3.0\nappVersion: v1.0\ndescription: Everything\nkubeVersion: '>=1.28.0-0'\ntype: application\nkeywords: [a, b]\nhome: https://example.com\nsources: [https://example.com/src]\nmaintainers:\n  - name: Ops\n    email: ops@example.com\n    url: https://example.com/ops\nicon: https://example.com/i.png\ndeprecated: true\nannotations:\n  example.com/team: ops\ndependencies:\n  - name: db\n    version: 0.x\n    repository: file://../db\n    alias: store\n    condition: store.enabled\n",
    );
    write(&rich, "charts/.keep", "");
    write(
        &env.path().join("src"),
        "rich/templates/x.yaml",
        "kind: X\n",
    );
    std::fs::create_dir_all(repo.join("sub")).unwrap();
    env.ok(&["dep", "update", rich.to_str().unwrap()]);
    env.ok(&[
        "package",
        rich.to_str().unwrap(),
        "-d",
        repo.join("sub").to_str().unwrap(),
    ]);

    for url in [None, Some("https://charts.example.com/stable")] {
        let mine = env.path().join("mine");
        let theirs = env.path().join("theirs");
        for d in [&mine, &theirs] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d.join("sub")).unwrap();
            for e in std::fs::read_dir(&repo).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "tgz") {
                    std::fs::copy(&p, d.join(p.file_name().unwrap())).unwrap();
                }
            }
            std::fs::copy(
                repo.join("sub/rich-0.3.0.tgz"),
                d.join("sub/rich-0.3.0.tgz"),
            )
            .unwrap();
        }
        let mut args = vec!["repo", "index", mine.to_str().unwrap()];
        let mut hargs = vec!["repo", "index", theirs.to_str().unwrap()];
        if let Some(u) = url {
            args.extend(["--url", u]);
            hargs.extend(["--url", u]);
        }
        env.ok(&args);
        run_helm(&helm, &env, &hargs);
        let a = timeless(&std::fs::read(mine.join("index.yaml")).unwrap(), "charter");
        let b = timeless(&std::fs::read(theirs.join("index.yaml")).unwrap(), "helm");
        assert_eq!(a.len(), 7);
        assert_eq!(a, b, "charter's and helm's index differ (url {url:?})");
        let rich = &b.entries["rich"][0];
        assert_eq!(rich.dependencies[0].alias.as_deref(), Some("store"));
        assert!(rich.deprecated);
    }
}

#[test]
fn helm_pulls_and_shows_a_chart_from_charters_repository() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);
    let out_dir = env.path().join("helm-pulled");
    std::fs::create_dir_all(&out_dir).unwrap();
    run_helm(
        &helm,
        &env,
        &[
            "pull",
            "--repo",
            &server.url,
            "web",
            "--version",
            "1.2.5",
            "-d",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(out_dir.join("web-1.2.5.tgz")).unwrap(),
        std::fs::read(repo.join("web-1.2.5.tgz")).unwrap()
    );
    let shown = run_helm(
        &helm,
        &env,
        &[
            "show",
            "chart",
            "--repo",
            &server.url,
            "web",
            "--version",
            "2.0.0",
        ],
    );
    let shown = String::from_utf8(shown.stdout).unwrap();
    let meta: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(charter::yaml::parse_str(&shown, "helm show chart").unwrap())
            .unwrap();
    assert_eq!(meta["name"], "web");
    assert_eq!(meta["version"], "2.0.0");
    assert_eq!(meta["apiVersion"], "charter/v1");
    // helm unpacks the package as a gzip tar with <name>/Chart.yaml.
    run_helm(
        &helm,
        &env,
        &[
            "pull",
            "--repo",
            &server.url,
            "db",
            "--untar",
            "-d",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(out_dir.join("db/Chart.yaml").is_file());
    assert!(out_dir.join("db/templates/s.yaml").is_file());
}

#[test]
fn concurrent_repo_adds_keep_every_repository() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let server = serve("127.0.0.1", &repo, Rules::default(), None);
    let env = Arc::new(env);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (env, url) = (env.clone(), server.url.clone());
            std::thread::spawn(move || env.ok(&["repo", "add", &format!("r{i}"), &url]))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let listed = rows(&env.ok(&["repo", "list"]));
    let names: Vec<&str> = listed.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"]);
    // Updating all of them (in parallel) reports each, in order.
    let out = env.ok(&["repo", "update"]);
    let order: Vec<&str> = out.lines().map(|l| l.split('"').nth(1).unwrap()).collect();
    assert_eq!(order, names);
}

#[test]
fn repo_index_merge_keeps_created_of_unchanged_versions() {
    let env = Env::new();
    let repo = repo_dir(&env);
    let repo_s = repo.to_str().unwrap();
    let index_with = |epoch: &str, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
        cmd.args(["repo", "index", repo_s])
            .args(extra)
            .env("SOURCE_DATE_EPOCH", epoch);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (index, _) =
            Index::from_yaml(&std::fs::read(repo.join("index.yaml")).unwrap(), "i").unwrap();
        index
    };
    let first = index_with("1000000000", &[]);
    assert_eq!(first.generated.as_deref(), Some("2001-09-09T01:46:40Z"));
    let old = env.path().join("old-index.yaml");
    std::fs::copy(repo.join("index.yaml"), &old).unwrap();
    // One archive is replaced, one removed from the directory, one added.
    let src = env.path().join("src/web");
    write(&src, "templates/more.yaml", "kind: More\n");
    env.ok(&[
        "package",
        src.to_str().unwrap(),
        "--version",
        "1.1.0",
        "-d",
        repo_s,
    ]);
    env.ok(&[
        "package",
        src.to_str().unwrap(),
        "--version",
        "3.0.0",
        "-d",
        repo_s,
    ]);
    std::fs::remove_file(repo.join("web-1.2.0.tgz")).unwrap();
    let merged = index_with("2000000000", &["--merge", old.to_str().unwrap()]);
    let created = |v: &str| {
        merged.entries["web"]
            .iter()
            .find(|c| c.version == v)
            .and_then(|c| c.created.clone())
            .unwrap()
    };
    assert_eq!(
        created("1.2.5"),
        "2001-09-09T01:46:40Z",
        "unchanged keeps its time"
    );
    assert_eq!(
        created("1.2.0"),
        "2001-09-09T01:46:40Z",
        "only in the old index: kept"
    );
    assert_eq!(
        created("1.1.0"),
        "2033-05-18T03:33:20Z",
        "changed digest: new time"
    );
    assert_eq!(created("3.0.0"), "2033-05-18T03:33:20Z");
    let order: Vec<&str> = merged.entries["web"]
        .iter()
        .map(|c| c.version.as_str())
        .collect();
    assert_eq!(
        order,
        ["3.0.0", "2.0.0", "1.3.0-rc.1", "1.2.5", "1.2.0", "1.1.0"]
    );
    // Without --merge the removed archive is gone.
    let fresh = index_with("2000000000", &[]);
    assert!(fresh.entries["web"].iter().all(|c| c.version != "1.2.0"));
}
