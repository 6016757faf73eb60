//! The OCI commands end to end, as a user runs them: the charter binary against the real test
//! registry (scripts/test-registry: TLS, Basic or Bearer-token auth), the reference Helm v4,
//! and the test cluster for installs.
//!
//! Every test keeps its own HOME, XDG and Docker config directories (its logins and cache) and
//! its own repository path on the shared registry, so tests run in parallel and count only
//! their own requests.

mod support;

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use support::cli::Charter;
use support::registry::TestRegistry;
use support::{say, test_name, unique_name, write};

macro_rules! registry_or_skip {
    () => {
        match TestRegistry::shared(test_name!()) {
            Some(r) => r,
            None => return,
        }
    };
    ($auth:expr) => {
        match TestRegistry::start(test_name!(), $auth, false) {
            Some(r) => r,
            None => return,
        }
    };
}

/// One simulated user: a home with charter's config and cache, and Docker's config.
struct User {
    dir: tempfile::TempDir,
}

impl User {
    fn new() -> User {
        User {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn charter(&self) -> Charter {
        support::charter().cwd(self.path()).isolated_in(self.path())
    }

    fn ok(&self, args: &[&str]) -> String {
        self.charter().ok(args)
    }

    fn fails(&self, args: &[&str]) -> String {
        self.charter().fails(args)
    }

    /// `charter registry login` with the registry's user, checked against the registry.
    fn login(&self, reg: &TestRegistry) {
        let mut args = vec!["registry", "login", &reg.addr, "-u", &reg.user];
        args.push("--password-stdin");
        let conn = conn(reg);
        args.extend(conn.iter().map(String::as_str));
        let out = self.charter().stdin(&reg.password).ok(&args);
        assert!(out.contains("Login Succeeded"), "{out}");
    }
}

/// The flags that reach the registry: its CA, or plain HTTP.
fn conn(reg: &TestRegistry) -> Vec<String> {
    match &reg.ca {
        Some(ca) => vec!["--ca-file".into(), ca.display().to_string()],
        None => vec!["--plain-http".into()],
    }
}

/// `args` followed by the registry flags.
fn with_conn<'a>(args: &[&'a str], conn: &'a [String]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(conn.iter().map(String::as_str));
    v
}

/// A charter chart `name` (a ConfigMap naming its chart version, values, a README), packaged
/// as each of `versions` into `dir`. Returns the archives in order. The README makes every
/// call's archives unique: the registry stores blobs by digest across repositories, and a test
/// that corrupts one must not touch another test's.
fn package(user: &User, name: &str, versions: &[&str], dir: &Path) -> Vec<PathBuf> {
    let src = user.path().join("src").join(name);
    write(
        &src,
        "Chart.yaml",
        &format!(
            "apiVersion: charter/v1\nname: {name}\nversion: 0.0.1\ndescription: The {name} chart\nappVersion: \"2.0\"\n"
        ),
    );
    write(&src, "values.yaml", "greeting: hello\n");
    write(
        &src,
        "README.md",
        &format!("# {name}\n\nA test chart ({}).\n", unique_name("readme")),
    );
    write(
        &src,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-{{ chart.name }}\ndata:\n  chartVersion: \"{{ chart.version }}\"\n  greeting: {{ values.greeting }}\n",
    );
    std::fs::create_dir_all(dir).unwrap();
    versions
        .iter()
        .map(|v| {
            user.ok(&[
                "package",
                src.to_str().unwrap(),
                "--version",
                v,
                "-d",
                dir.to_str().unwrap(),
            ]);
            dir.join(format!("{name}-{v}.tgz"))
        })
        .collect()
}

/// `Digest: sha256:…` of `charter push` / `helm push` output.
fn digest_line(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or_else(|| panic!("no Digest line in {out}"))
        .trim()
        .to_string()
}

fn helm_login(helm: &Path, home: &Path, reg: &TestRegistry) {
    let mut args = vec![
        "registry",
        "login",
        &reg.addr,
        "--username",
        &reg.user,
        "--password-stdin",
    ];
    let ca = reg.ca.as_ref().map(|c| c.display().to_string());
    if let Some(ca) = &ca {
        args.extend(["--ca-file", ca]);
    }
    support::run_helm(helm, home, &args, Some(&reg.password));
}

/// `charter push` then `helm pull` gives the same bytes, and `helm push` of the same file
/// the same manifest; `charter pull` by tag, range and digest; a cached pull only resolves
/// the tag (and a digest pull asks nothing); `show` of an oci:// chart.
#[test]
fn push_pull_show_and_helm_read_the_same_artifact() {
    let reg = registry_or_skip!();
    let Some(helm) = support::helm(test_name!()) else {
        return;
    };
    let ns = unique_name("cli");
    let user = User::new();
    let c = conn(&reg);
    let dist = user.path().join("dist");
    let archives = package(&user, "web", &["1.0.0", "1.2.0", "1.10.1+build.5"], &dist);
    user.login(&reg);
    let dest = reg.oci(&ns);
    let mut pushed = Vec::new();
    for a in &archives {
        let out = user.ok(&with_conn(&["push", a.to_str().unwrap(), &dest], &c));
        assert!(out.contains(&format!("Pushed: {dest}/web:")), "{out}");
        pushed.push(digest_line(&out));
    }

    // Helm pulls what charter pushed, byte for byte; a '+' version is found under its '_' tag.
    let hhome = user.path().join("helm");
    helm_login(&helm, &hhome, &reg);
    let hdest = user.path().join("helm-pulled");
    std::fs::create_dir_all(&hdest).unwrap();
    let ca = reg.ca.as_ref().map(|c| c.display().to_string());
    let mut hargs = vec![
        "pull".to_string(),
        format!("{dest}/web"),
        "--version".into(),
        "1.10.1+build.5".into(),
        "--destination".into(),
        hdest.display().to_string(),
    ];
    if let Some(ca) = &ca {
        hargs.extend(["--ca-file".into(), ca.clone()]);
    }
    let hargs: Vec<&str> = hargs.iter().map(String::as_str).collect();
    support::run_helm(&helm, &hhome, &hargs, None);
    assert_eq!(
        std::fs::read(hdest.join("web-1.10.1+build.5.tgz")).unwrap(),
        std::fs::read(&archives[2]).unwrap(),
        "helm pull of charter's push changed the bytes"
    );
    // Helm pushing the same file makes the same manifest (both take the file's mtime as the
    // creation time).
    let mut hargs = vec![
        "push".to_string(),
        archives[1].display().to_string(),
        reg.oci(&format!("{ns}/byhelm")),
    ];
    if let Some(ca) = &ca {
        hargs.extend(["--ca-file".into(), ca.clone()]);
    }
    let hargs: Vec<&str> = hargs.iter().map(String::as_str).collect();
    let out = support::run_helm(&helm, &hhome, &hargs, None);
    let helm_digest = digest_line(&String::from_utf8_lossy(&[out.stdout, out.stderr].concat()));
    assert_eq!(helm_digest, pushed[1], "helm push and charter push differ");

    // A Helm chart (`helm create`, apiVersion v2) pushed by Helm: charter pulls the same bytes
    // and shows its files (neither needs charter to render it).
    let hsrc = user.path().join("hsrc");
    std::fs::create_dir_all(&hsrc).unwrap();
    let hsrc_s = hsrc.to_str().unwrap();
    support::run_helm(
        &helm,
        &hhome,
        &["create", &format!("{hsrc_s}/hchart")],
        None,
    );
    support::run_helm(
        &helm,
        &hhome,
        &["package", &format!("{hsrc_s}/hchart"), "-d", hsrc_s],
        None,
    );
    let htgz = hsrc.join("hchart-0.1.0.tgz");
    let mut hargs = vec!["push".to_string(), htgz.display().to_string(), reg.oci(&ns)];
    if let Some(ca) = &ca {
        hargs.extend(["--ca-file".into(), ca.clone()]);
    }
    let hargs: Vec<&str> = hargs.iter().map(String::as_str).collect();
    support::run_helm(&helm, &hhome, &hargs, None);
    let fromhelm = user.path().join("fromhelm");
    let out = user.ok(&with_conn(
        &[
            "pull",
            &format!("{dest}/hchart"),
            "--version",
            "0.1.0",
            "-d",
            fromhelm.to_str().unwrap(),
        ],
        &c,
    ));
    assert!(out.contains("Pulled hchart 0.1.0"), "{out}");
    assert_eq!(
        std::fs::read(fromhelm.join("hchart-0.1.0.tgz")).unwrap(),
        std::fs::read(&htgz).unwrap()
    );
    let values = user.ok(&with_conn(
        &["show", "values", &format!("{dest}/hchart:0.1.0")],
        &c,
    ));
    assert_eq!(
        values,
        std::fs::read_to_string(hsrc.join("hchart/values.yaml")).unwrap()
    );

    // By range (the highest tag in it, build metadata and all), by tag, by digest.
    let pulls = user.path().join("pulls");
    let p = pulls.to_str().unwrap();
    let out = user.ok(&with_conn(
        &["pull", &format!("{dest}/web"), "--version", "^1.0", "-d", p],
        &c,
    ));
    assert!(out.contains("Pulled web 1.10.1+build.5 from"), "{out}");
    assert!(out.contains(&pushed[2]), "{out}");
    let out = user.ok(&with_conn(
        &["pull", &format!("{dest}/web:1.2.0"), "-d", p],
        &c,
    ));
    assert!(out.contains("Pulled web 1.2.0"), "{out}");
    assert_eq!(
        std::fs::read(pulls.join("web-1.2.0.tgz")).unwrap(),
        std::fs::read(&archives[1]).unwrap()
    );
    let out = user.ok(&with_conn(
        &[
            "pull",
            &format!("{dest}/web@{}", pushed[0]),
            "--untar",
            "-d",
            p,
        ],
        &c,
    ));
    assert!(out.contains("Pulled web 1.0.0"), "{out}");
    assert!(pulls.join("web/templates/cm.yaml").is_file());

    // A cached pull (another process, same cache) asks only which digest the tag names.
    let before = reg.requests(&format!("{ns}/web")).len();
    let again = user.path().join("again");
    let out = user.ok(&with_conn(
        &[
            "pull",
            &format!("{dest}/web:1.2.0"),
            "-d",
            again.to_str().unwrap(),
        ],
        &c,
    ));
    assert!(out.contains("from cache"), "{out}");
    let served = reg.requests(&format!("{ns}/web"));
    let new = &served[before..];
    assert!(
        !new.is_empty()
            && new
                .iter()
                .all(|r| r.method == "HEAD" && r.path.ends_with("/manifests/1.2.0")),
        "a cached pull made other requests: {new:?}"
    );
    let before = served.len();
    user.ok(&with_conn(
        &[
            "pull",
            &format!("{dest}/web@{}", pushed[1]),
            "-d",
            user.path().join("by-digest").to_str().unwrap(),
        ],
        &c,
    ));
    assert_eq!(
        reg.requests(&format!("{ns}/web")).len(),
        before,
        "a cached digest pull made requests"
    );

    // show: the files as published.
    let chart = user.ok(&with_conn(
        &["show", "chart", &format!("{dest}/web:1.2.0")],
        &c,
    ));
    assert!(
        chart.contains("name: web") && chart.contains("version: \"1.2.0\""),
        "{chart}"
    );
    let values = user.ok(&with_conn(
        &[
            "show",
            "values",
            &format!("{dest}/web"),
            "--version",
            "~1.2",
        ],
        &c,
    ));
    assert_eq!(values, "greeting: hello\n");
    let readme = user.ok(&with_conn(
        &["show", "readme", &format!("{dest}/web@{}", pushed[0])],
        &c,
    ));
    assert!(readme.starts_with("# web"), "{readme}");
    // values and lint take oci:// charts like template does.
    let values = user.ok(&with_conn(
        &["values", &format!("{dest}/web:1.0.0"), "--set", "x=1"],
        &c,
    ));
    assert!(
        values.contains("greeting: hello") && values.contains("x: 1"),
        "{values}"
    );
    let lint = user.ok(&with_conn(
        &["lint", &format!("{dest}/web"), "--version", "1.2.0"],
        &c,
    ));
    assert!(lint.contains("1 linted, 0 error(s)"), "{lint}");
}

/// Bad input, each one clear error: no tag or version, a version no tag has, a non-chart
/// artifact (named by its media type), an unreachable registry (named), a push destination
/// with a tag, and wrong credentials (the source named, the secret never printed; nothing
/// saved by a failed login).
#[test]
fn bad_references_artifacts_registries_and_credentials() {
    let reg = registry_or_skip!();
    let ns = unique_name("bad");
    let user = User::new();
    let c = conn(&reg);
    let dest = reg.oci(&ns);

    let wrong = format!("{}-wrong", reg.password);
    let mut args = vec![
        "registry",
        "login",
        &reg.addr,
        "-u",
        &reg.user,
        "--password-stdin",
    ];
    args.extend(c.iter().map(String::as_str));
    let e = user.charter().stdin(&wrong).fails(&args);
    assert!(
        e.contains(&reg.addr) && e.contains("refused") && e.contains("given on the command line"),
        "{e}"
    );
    assert!(!e.contains(&wrong), "the password was printed: {e}");
    assert!(
        !user
            .path()
            .join(".xdg-config/charter/registries.yaml")
            .exists()
    );

    // Anonymous: says how to log in.
    let e = user.fails(&with_conn(&["pull", &format!("{dest}/web:1.0.0")], &c));
    assert!(
        e.contains("anonymous") && e.contains(&format!("charter registry login {}", reg.addr)),
        "{e}"
    );
    // A Docker config credential that the registry refuses: the file is named, not the secret.
    let docker = user.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64(&format!("{}:{wrong}", reg.user));
    std::fs::write(
        docker.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let e = user.fails(&with_conn(&["pull", &format!("{dest}/web:1.0.0")], &c));
    assert!(
        e.contains("HTTP 401") && e.contains(&docker.join("config.json").display().to_string()),
        "{e}"
    );
    assert!(!e.contains(&wrong) && !e.contains(&auth), "{e}");
    std::fs::remove_file(docker.join("config.json")).unwrap();

    user.login(&reg);
    let dist = user.path().join("dist");
    let archive = &package(&user, "web", &["1.0.0"], &dist)[0];
    let e = user.fails(&with_conn(
        &[
            "push",
            archive.to_str().unwrap(),
            &format!("{dest}/web:1.0.0"),
        ],
        &c,
    ));
    assert!(e.contains("repository path only"), "{e}");
    user.ok(&with_conn(&["push", archive.to_str().unwrap(), &dest], &c));

    let e = user.fails(&with_conn(&["template", &format!("{dest}/web")], &c));
    assert!(
        e.contains("no version given") && e.contains("--version"),
        "{e}"
    );
    let e = user.fails(&with_conn(
        &["pull", &format!("{dest}/web"), "--version", "2.0.0"],
        &c,
    ));
    assert!(
        e.contains("no tag `2.0.0`") && e.contains("available: 1.0.0"),
        "{e}"
    );
    let e = user.fails(&with_conn(
        &["pull", &format!("{dest}/web"), "--version", "^3"],
        &c,
    ));
    assert!(e.contains("no version matches `^3`"), "{e}");

    // A container image where a chart was expected.
    let image = reg.push_image(&format!("{ns}/app"));
    let e = user.fails(&with_conn(
        &["install", "app", &format!("{dest}/app:1.0.0")],
        &c,
    ));
    assert!(
        e.contains("is not a Helm chart")
            && e.contains("container image")
            && e.contains("application/vnd.oci.image.config.v1+json"),
        "{e}"
    );
    assert!(!image.is_empty());

    // Nothing listens: the registry is named.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = user.fails(&[
        "template",
        &format!("oci://127.0.0.1:{port}/charts/web:1.0.0"),
    ]);
    assert!(
        e.contains(&format!("registry 127.0.0.1:{port} is unreachable")),
        "{e}"
    );
    // TLS without the registry's CA says what to pass.
    if reg.ca.is_some() {
        let e = user.fails(&["pull", &format!("{dest}/web:1.0.0")]);
        assert!(e.contains("--ca-file"), "{e}");
    }
    user.ok(&["registry", "logout", &reg.addr]);
    let e = user.fails(&["registry", "logout", &reg.addr]);
    assert!(e.contains("not logged in"), "{e}");
}

fn base64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A blob changed in the registry after the push is refused by pull and template alike, and
/// nothing is written or cached.
#[test]
fn a_tampered_chart_is_refused() {
    let reg = registry_or_skip!();
    let ns = unique_name("tamper");
    let user = User::new();
    let c = conn(&reg);
    user.login(&reg);
    let dist = user.path().join("dist");
    let archive = &package(&user, "web", &["1.0.0"], &dist)[0];
    let out = user.ok(&with_conn(
        &[
            "push",
            archive.to_str().unwrap(),
            &reg.oci(&ns),
            "-o",
            "json",
        ],
        &c,
    ));
    let pushed: serde_json::Value = serde_json::from_str(&out).unwrap();
    reg.corrupt(pushed["chartDigest"].as_str().unwrap());
    // Another user: nothing in their cache from the push.
    let other = User::new();
    other.login(&reg);
    let r = format!("{}/web:1.0.0", reg.oci(&ns));
    let out_dir = other.path().join("out");
    let e = other.fails(&with_conn(
        &["pull", &r, "-d", out_dir.to_str().unwrap()],
        &c,
    ));
    assert!(
        e.contains("digest mismatch") && e.contains("refusing"),
        "{e}"
    );
    assert!(!out_dir.join("web-1.0.0.tgz").exists());
    let e = other.fails(&with_conn(&["template", &r], &c));
    assert!(e.contains("digest mismatch"), "{e}");
}

/// A registry behind Bearer-token auth (the Docker/OCI token flow): login, push, pull and
/// render; a wrong password is refused by the token service in one error.
#[test]
fn a_token_auth_registry_works() {
    let reg = registry_or_skip!("token");
    let ns = unique_name("token");
    let user = User::new();
    let c = conn(&reg);
    let mut args = vec![
        "registry", "login", &reg.addr, "-u", &reg.user, "-p", "nope",
    ];
    args.extend(c.iter().map(String::as_str));
    let e = user.fails(&args);
    assert!(e.contains("token service") && e.contains("refused"), "{e}");
    assert!(!e.contains("nope"), "{e}");
    user.login(&reg);
    let dist = user.path().join("dist");
    let archive = &package(&user, "web", &["3.1.0"], &dist)[0];
    user.ok(&with_conn(
        &["push", archive.to_str().unwrap(), &reg.oci(&ns)],
        &c,
    ));
    let out = user.ok(&with_conn(
        &[
            "template",
            "shop",
            &format!("{}/web", reg.oci(&ns)),
            "--version",
            ">=3",
        ],
        &c,
    ));
    assert!(
        out.contains("name: shop-web") && out.contains("chartVersion: \"3.1.0\""),
        "{out}"
    );
}

/// `repository: oci://…` dependencies: `dep update` resolves the range against the tags,
/// vendors and locks (the archive's digest); `dep build` restores exactly that, and refuses a
/// tag that was pushed over with other content.
#[test]
fn an_oci_dependency_updates_locks_and_builds() {
    let reg = registry_or_skip!();
    let ns = unique_name("deps");
    let user = User::new();
    let c = conn(&reg);
    user.login(&reg);
    let dist = user.path().join("dist");
    let libs = package(&user, "lib", &["0.1.0", "0.1.2", "0.2.0"], &dist);
    for a in &libs {
        user.ok(&with_conn(
            &["push", a.to_str().unwrap(), &reg.oci(&ns)],
            &c,
        ));
    }
    let app = user.path().join("app");
    write(
        &app,
        "Chart.yaml",
        &format!(
            "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: lib\n    version: ~0.1.0\n    repository: {}\n",
            reg.oci(&ns)
        ),
    );
    write(
        &app,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata: {}\n",
    );
    let a = app.to_str().unwrap();
    let out = user.ok(&with_conn(&["dep", "update", a], &c));
    assert!(out.contains("lib 0.1.2 from oci://"), "{out}");
    let vendored = app.join("charts/lib-0.1.2.tgz");
    assert_eq!(
        std::fs::read(&vendored).unwrap(),
        std::fs::read(&libs[1]).unwrap()
    );
    let lock: serde_json::Value = charter::yaml::parse_str(
        &std::fs::read_to_string(app.join("Chart.lock")).unwrap(),
        "Chart.lock",
    )
    .unwrap();
    let dep = &lock["dependencies"][0];
    assert_eq!(dep["repository"], reg.oci(&ns).as_str());
    assert_eq!(dep["version"], "0.1.2");
    let digest = format!(
        "sha256:{}",
        charter::chart::sha256_hex(&std::fs::read(&libs[1]).unwrap())
    );
    assert_eq!(dep["digest"], digest.as_str());
    let out = user.ok(&["template", a]);
    assert!(out.contains("chartVersion: \"0.1.2\""), "{out}");

    // Restored exactly, from the registry (another user, so not from a cache).
    let other = User::new();
    other.login(&reg);
    std::fs::remove_file(&vendored).unwrap();
    let out = other.ok(&with_conn(&["dep", "build", a], &c));
    assert!(out.contains("lib 0.1.2: downloaded"), "{out}");
    assert_eq!(
        std::fs::read(&vendored).unwrap(),
        std::fs::read(&libs[1]).unwrap()
    );

    // The tag pushed over with other content: build refuses it against the lock.
    let src = user.path().join("src/lib");
    write(
        &src,
        "templates/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    );
    let moved = user.path().join("moved");
    user.ok(&[
        "package",
        src.to_str().unwrap(),
        "--version",
        "0.1.2",
        "-d",
        moved.to_str().unwrap(),
    ]);
    user.ok(&with_conn(
        &[
            "push",
            moved.join("lib-0.1.2.tgz").to_str().unwrap(),
            &reg.oci(&ns),
        ],
        &c,
    ));
    std::fs::remove_file(&vendored).unwrap();
    let third = User::new();
    third.login(&reg);
    let e = third.fails(&with_conn(&["dep", "build", a], &c));
    assert!(
        e.contains("digest mismatch against Chart.lock") && e.contains(&digest),
        "{e}"
    );
    assert!(!vendored.exists());
}

/// `helm push` then `charter install oci://…` on the cluster: by tag, upgraded by range and by
/// digest; the digest installed is in the release record and `status`; a deploy tree naming
/// the chart with `chart: oci://…` and `registry.caFile` plans and applies.
#[tokio::test]
async fn helm_push_then_charter_install_by_tag_range_and_digest() {
    let cluster = support::cluster_or_skip!();
    let reg = registry_or_skip!();
    let Some(helm) = support::helm(test_name!()) else {
        return;
    };
    let ns = cluster.namespace("oci-install").await;
    let repo = unique_name("install");
    let user = User::new();
    let c = conn(&reg);
    user.login(&reg);
    let hhome = user.path().join("helm");
    helm_login(&helm, &hhome, &reg);
    let dist = user.path().join("dist");
    let archives = package(&user, "app", &["1.0.0", "1.1.0"], &dist);
    let ca = reg.ca.as_ref().map(|c| c.display().to_string());
    let mut digests = Vec::new();
    for a in &archives {
        let mut hargs = vec!["push".to_string(), a.display().to_string(), reg.oci(&repo)];
        if let Some(ca) = &ca {
            hargs.extend(["--ca-file".into(), ca.clone()]);
        }
        let hargs: Vec<&str> = hargs.iter().map(String::as_str).collect();
        let out = support::run_helm(&helm, &hhome, &hargs, None);
        digests.push(digest_line(&String::from_utf8_lossy(
            &[out.stdout, out.stderr].concat(),
        )));
    }
    let chart = format!("{}/app", reg.oci(&repo));
    let kc = cluster.kubeconfig.to_str().unwrap();
    // Registry flags go to the commands that pull; release queries have none.
    let on_cluster = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if ["install", "upgrade", "diff"].contains(&args[0]) {
            v.extend(c.iter().cloned());
        }
        v.extend(
            [
                "-n",
                ns.name(),
                "--kubeconfig",
                kc,
                "--kube-context",
                support::ADMIN_CONTEXT,
            ]
            .map(String::from),
        );
        v
    };
    let run_ok = |args: &[&str]| {
        let v = on_cluster(args);
        user.ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), ns.name());
    let live_version =
        || async { cms.get("shop-app").await.unwrap().data.unwrap()["chartVersion"].clone() };

    let out = run_ok(&["install", "shop", &format!("{chart}:1.0.0")]);
    assert!(out.contains("CHART: app-1.0.0"), "{out}");
    assert!(
        out.contains(&format!("SOURCE: {chart}:1.0.0@{}", digests[0])),
        "{out}"
    );
    assert_eq!(live_version().await, "1.0.0");

    let out = run_ok(&["upgrade", "shop", &chart, "--version", "~1.1"]);
    assert!(out.contains("CHART: app-1.1.0"), "{out}");
    assert_eq!(live_version().await, "1.1.0");
    let status: serde_json::Value =
        serde_json::from_str(&run_ok(&["status", "shop", "-o", "json"])).unwrap();
    assert_eq!(status["chartSource"]["digest"], digests[1].as_str());
    assert_eq!(
        status["chartSource"]["reference"],
        format!("{chart}:1.1.0").as_str()
    );

    let out = run_ok(&["upgrade", "shop", &format!("{chart}@{}", digests[0])]);
    assert!(out.contains("CHART: app-1.0.0"), "{out}");
    assert_eq!(live_version().await, "1.0.0");
    let status = run_ok(&["status", "shop"]);
    assert!(status.contains(&format!("@{}", digests[0])), "{status}");
    let v = on_cluster(&["diff", "shop", &format!("{chart}:1.0.0")]);
    let out = user
        .charter()
        .run(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The record itself holds the source (what `status` read).
    let record = run_ok(&["get", "all", "shop", "-o", "json"]);
    assert!(record.contains(&digests[0]), "{record}");

    // A deploy tree naming the chart; plan (targets on their own threads) and apply.
    let tree = user.path().join("tree");
    let mut cfg = format!(
        "chart: {chart}\nversion: 1.1.0\nrelease: tree\nnamespace: {}\n",
        ns.name()
    );
    if let Some(ca) = &ca {
        cfg.push_str(&format!("registry:\n  caFile: {ca}\n"));
    } else {
        cfg.push_str("registry:\n  plainHttp: true\n");
    }
    write(&tree, "charter.yaml", &cfg);
    write(&tree, "prod/eu/values.yaml", "greeting: hi\n");
    let t = tree.to_str().unwrap();
    let out = user.ok(&["template", &format!("{t}/prod/eu")]);
    assert!(
        out.contains("name: tree-app") && out.contains("greeting: hi"),
        "{out}"
    );
    let lint = user.ok(&["lint", t]);
    assert!(lint.contains("1 linted, 0 error(s)"), "{lint}");
    let plan = user.charter().run(&[
        "plan",
        t,
        "--kubeconfig",
        kc,
        "--kube-context",
        support::ADMIN_CONTEXT,
    ]);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "{}{}",
        String::from_utf8_lossy(&plan.stdout),
        String::from_utf8_lossy(&plan.stderr)
    );
    user.ok(&[
        "apply",
        t,
        "--kubeconfig",
        kc,
        "--kube-context",
        support::ADMIN_CONTEXT,
    ]);
    let tree_cm = cms.get("tree-app").await.unwrap().data.unwrap();
    assert_eq!(tree_cm["chartVersion"], "1.1.0");
    say("installed from the registry by tag, range, digest and deploy tree");
    ns.delete().await;
}
