//! Issue 14's defects that need a cluster, each reproduced through the real binary against the
//! real test cluster: signals mid-apply and mid-wait, history pruned after failures, broken
//! pipes, a missing namespace, servers that are not Kubernetes or never answer, waits that say
//! why, and the details of release output.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use charter::release::{ReleaseRecord, ReleaseStore, SecretStore, Status};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use support::proxy::FreezableProxy;
use support::{ADMIN_CONTEXT, TestCluster, cluster_or_skip, write};

/// A chart: a ConfigMap and a Deployment whose Pods can be kept from scheduling with
/// `--set nodeSelector.zone=none`.
fn chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: app\nversion: 1.0.0\nappVersion: \"1.0\"\n",
    );
    write(
        dir,
        "values.yaml",
        "greeting: hello\nreplicas: 1\nnodeSelector: {}\n",
    );
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-cfg\ndata:\n  greeting: {{ values.greeting | quote }}\n",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}\nspec:\n  replicas: {{ values.replicas }}\n  selector:\n    matchLabels: {app: {{ release.name }}}\n  template:\n    metadata:\n      labels: {app: {{ release.name }}}\n    spec:\n      {%- if values.nodeSelector %}\n      nodeSelector:\n        {{- values.nodeSelector | to_yaml | nindent(n=8) }}\n      {%- endif %}\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n",
    );
    write(
        dir,
        "templates/NOTES.txt",
        "{{ release.name }} revision {{ release.revision }}: {% if release.is_install %}installed{% else %}upgraded{% endif %}\n",
    );
}

fn charter_cmd(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
    cmd.args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--kube-context")
        .arg(ADMIN_CONTEXT)
        .env_remove("KUBECONFIG");
    cmd
}

fn run(kubeconfig: &Path, args: &[&str]) -> Output {
    charter_cmd(kubeconfig, args).output().unwrap()
}

fn ok(kubeconfig: &Path, args: &[&str]) -> String {
    support::charter().cluster(kubeconfig).ok(args)
}

fn fails(kubeconfig: &Path, args: &[&str]) -> String {
    support::charter().cluster(kubeconfig).fails(args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn store_history(cluster: &TestCluster, ns: &str, release: &str) -> Vec<ReleaseRecord> {
    let c = charter::cluster::Cluster::connect(Some(&cluster.kubeconfig), Some(ADMIN_CONTEXT))
        .await
        .unwrap();
    SecretStore::new(&c).history(ns, release).await.unwrap()
}

/// Waits until the latest revision of the release has `status`.
async fn wait_for_status(cluster: &TestCluster, ns: &str, release: &str, status: Status) {
    let deadline = Instant::now() + support::WAIT;
    loop {
        if store_history(cluster, ns, release)
            .await
            .last()
            .is_some_and(|r| r.status == status)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "release {ns}/{release} never reached {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} failed");
}

/// Waits for a child to exit, at most `limit`; returns its exit code and stderr.
fn wait_exit(mut child: Child, limit: Duration) -> (Option<i32>, String, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            return (status.code(), err, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("charter did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn lease_held(cluster: &TestCluster, ns: &str, release: &str) -> Option<Lease> {
    let leases: Api<Lease> = Api::namespaced(cluster.client.clone(), ns);
    leases
        .get_opt(&charter::release::lock::lease_name(release))
        .await
        .unwrap()
}

// Item 2: Ctrl-C during `--wait`: the revision is marked failed ("interrupted"), the lease is
// released, and charter exits 130; the next upgrade needs no wait for the lease to expire.
#[tokio::test]
async fn sigint_during_wait_fails_the_revision_releases_the_lock_and_exits_130() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("sig-wait").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "sw", dir, "-n", n]);
    let child = charter_cmd(
        &kc,
        &[
            "upgrade",
            "sw",
            dir,
            "-n",
            n,
            "--set",
            "nodeSelector.zone=none",
            "--wait",
            "--timeout",
            "120s",
            "--lock-ttl",
            "120s",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_status(&cluster, n, "sw", Status::PendingUpgrade).await;
    // Give it time to finish applying and start waiting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    signal(&child, "INT");
    let (code, err, took) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let h = store_history(&cluster, n, "sw").await;
    let last = h.last().unwrap();
    assert_eq!(last.status, Status::Failed, "{}", last.description);
    assert!(
        last.description.contains("interrupted") && last.description.contains("SIGINT"),
        "{}",
        last.description
    );
    assert!(lease_held(&cluster, n, "sw").await.is_none());
    // No lock to wait for: the next upgrade runs at once.
    ok(
        &kc,
        &["upgrade", "sw", dir, "-n", n, "--set", "greeting=after"],
    );
    ns.delete().await;
}

// Item 2: SIGTERM (a CI cancellation) while objects are being applied: applying stops (the
// objects after the CRD group are never sent), the revision is failed, exit 143. The apply is
// held in its CRD group by a CRD whose kind another CRD already uses: it is never established.
#[tokio::test]
async fn sigterm_during_apply_stops_applying_and_exits_143() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("sig-apply").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    let group = format!("{}.charter.test", ns.name());
    let crd = |plural: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names:\n    plural: {plural}\n    singular: {s}\n    kind: Widget\n    listKind: WidgetList\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n",
            s = plural.trim_end_matches('s')
        )
    };
    // The first CRD takes the kind Widget.
    write(
        tmp.path(),
        "first/Chart.yaml",
        "apiVersion: charter/v1\nname: first\nversion: 1.0.0\n",
    );
    write(tmp.path(), "first/crds/widgets.yaml", &crd("widgets"));
    write(
        tmp.path(),
        "second/Chart.yaml",
        "apiVersion: charter/v1\nname: second\nversion: 1.0.0\n",
    );
    write(tmp.path(), "second/crds/gadgets.yaml", &crd("gadgets"));
    write(
        tmp.path(),
        "second/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-the-crds\ndata: {}\n",
    );
    let n = ns.name();
    ok(
        &kc,
        &[
            "install",
            "first",
            tmp.path().join("first").to_str().unwrap(),
            "-n",
            n,
        ],
    );
    let child = charter_cmd(
        &kc,
        &[
            "install",
            "second",
            tmp.path().join("second").to_str().unwrap(),
            "-n",
            n,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_status(&cluster, n, "second", Status::PendingInstall).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    signal(&child, "TERM");
    let (code, err, _) = wait_exit(child, Duration::from_secs(20));
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let h = store_history(&cluster, n, "second").await;
    assert_eq!(h.last().unwrap().status, Status::Failed);
    assert!(
        h.last().unwrap().description.contains("SIGTERM"),
        "{}",
        h.last().unwrap().description
    );
    assert!(lease_held(&cluster, n, "second").await.is_none());
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    assert!(
        cms.get_opt("after-the-crds").await.unwrap().is_none(),
        "the group after the CRDs was applied after the signal"
    );
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(cluster.client.clone());
    for c in ["widgets", "gadgets"] {
        let _ = crds
            .delete(&format!("{c}.{group}"), &Default::default())
            .await;
    }
    ns.delete().await;
}

// Item 2: a second signal exits at once, even while the first one's cleanup is stuck (here:
// the API server stopped answering).
#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("sig-twice").await;
    let tmp = tempfile::tempdir().unwrap();
    chart(&tmp.path().join("chart"));
    let (proxy, kc) = FreezableProxy::for_kubeconfig(&cluster.kubeconfig, tmp.path()).await;
    let dir = tmp.path().join("chart");
    let (dir, n) = (dir.to_str().unwrap(), ns.name());
    let child = charter_cmd(
        &kc,
        &[
            "install",
            "st",
            dir,
            "-n",
            n,
            "--set",
            "nodeSelector.zone=none",
            "--wait",
            "--timeout",
            "120s",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_status(&cluster, n, "st", Status::PendingInstall).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.freeze();
    signal(&child, "INT");
    tokio::time::sleep(Duration::from_secs(1)).await;
    signal(&child, "INT");
    let (code, err, took) = wait_exit(child, Duration::from_secs(10));
    proxy.thaw();
    assert_eq!(code, Some(130), "{err}");
    assert!(took < Duration::from_secs(2), "took {took:?}: {err}");
    ns.delete().await;
}

// Item 3: `--history-max` holds for failed upgrades too, and never prunes the deployed one.
#[tokio::test]
async fn failed_upgrades_are_pruned_to_history_max_keeping_the_deployed_revision() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hist-fail").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "hf", dir, "-n", n, "--history-max", "3"]);
    for _ in 0..5 {
        fails(
            &kc,
            &[
                "upgrade",
                "hf",
                dir,
                "-n",
                n,
                "--history-max",
                "3",
                "--set",
                "nodeSelector.zone=none",
                "--wait",
                "--timeout",
                "1s",
            ],
        );
    }
    let h = store_history(&cluster, n, "hf").await;
    let seen: Vec<(u64, Status)> = h.iter().map(|r| (r.revision, r.status)).collect();
    assert_eq!(
        seen,
        [
            (1, Status::Deployed),
            (5, Status::Failed),
            (6, Status::Failed)
        ],
        "{seen:?}"
    );
    ns.delete().await;
}

/// Runs charter with stdout a pipe whose reader is already gone.
fn with_closed_stdout(kubeconfig: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    charter_cmd(kubeconfig, args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

// Item 4: the release commands that print end quietly when the reader goes away.
#[tokio::test]
async fn release_commands_end_quietly_on_a_closed_pipe() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("pipe").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "pp", dir, "-n", n]);
    ok(
        &kc,
        &["upgrade", "pp", dir, "-n", n, "--set", "greeting=two"],
    );
    for (args, code) in [
        (&["history", "pp", "-n", n][..], 0),
        (&["status", "pp", "-n", n], 0),
        (&["get", "manifest", "pp", "-n", n], 0),
        (&["get", "all", "pp", "-n", n], 0),
        (&["list", "-n", n], 0),
        (&["diff", "pp", dir, "-n", n, "--set", "greeting=three"], 2),
        (
            &["upgrade", "pp", dir, "-n", n, "--set", "greeting=four"],
            0,
        ),
    ] {
        let out = with_closed_stdout(&kc, args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
    // The upgrade behind a closed pipe still happened.
    let h = store_history(&cluster, n, "pp").await;
    assert_eq!(h.last().unwrap().status, Status::Deployed);
    assert_eq!(h.last().unwrap().values["greeting"], "four");
    // And with a real reader that leaves after one line.
    let bin = env!("CARGO_BIN_EXE_charter");
    let script = format!(
        "set -o pipefail; {bin} history pp -n {n} --kubeconfig {} --kube-context {ADMIN_CONTEXT} | head -1",
        kc.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("REVISION"),
        "{}",
        text(&out.stdout)
    );
    ns.delete().await;
}

// Item 5: a namespace that does not exist is named, with what to do; never a kube debug dump.
#[tokio::test]
async fn a_missing_namespace_is_named_with_what_to_do() {
    let cluster = cluster_or_skip!();
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let dir = tmp.path().to_str().unwrap();
    let ns = support::unique_name("nosuchns");
    for args in [
        &["install", "web", dir, "-n", &ns][..],
        &["upgrade", "--install", "web", dir, "-n", &ns],
        &["upgrade", "web", dir, "-n", &ns],
    ] {
        let err = fails(&kc, args);
        assert!(
            err.contains(&format!("namespace `{ns}` does not exist"))
                && err.contains("--create-namespace"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("Status {") && !err.contains("ApiError"),
            "{args:?}: {err}"
        );
    }
    for args in [
        &["uninstall", "web", "-n", &ns][..],
        &["rollback", "web", "-n", &ns],
        &["history", "web", "-n", &ns],
        &["status", "web", "-n", &ns],
    ] {
        let err = fails(&kc, args);
        assert!(
            err.contains("not found") && err.contains(&format!("namespace `{ns}` does not exist")),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("Status {") && !err.contains("ApiError"),
            "{args:?}: {err}"
        );
    }
    // --create-namespace works as suggested.
    ok(
        &kc,
        &["install", "web", dir, "-n", &ns, "--create-namespace"],
    );
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
    let _ = nss.delete(&ns, &Default::default()).await;
}

/// A kubeconfig whose only context `elsewhere` points at `server`.
fn kubeconfig_for(dir: &Path, server: &str) -> std::path::PathBuf {
    let path = dir.join(format!("kubeconfig-{}", server.replace([':', '/'], "_")));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: elsewhere\n  context:\n    cluster: c\n    user: u\ncurrent-context: elsewhere\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    path
}

/// Serves `status` with an HTML page to every request on a local port.
fn html_server(status: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let status = status.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            use std::io::{Read, Write};
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = format!(
                "<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title></head>\n<body>\n{}\n</body>\n</html>\n",
                "<p>filler</p>\n".repeat(40)
            );
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

// Item 6: a kubeconfig pointing at a web server that is not Kubernetes: one line naming the
// URL, the context and what answered.
#[test]
fn a_server_that_is_not_kubernetes_is_named_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for status in ["200 OK", "404 Not Found"] {
        let addr = html_server(status);
        let kc = kubeconfig_for(tmp.path(), &format!("http://{addr}"));
        let out = support::charter().run(&["list", "--kubeconfig", kc.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{status}: {err}");
        assert!(
            err.contains(&format!("http://{addr}"))
                && err.contains("elsewhere")
                && err.contains("not a Kubernetes API server")
                && err.contains("Welcome to nginx!"),
            "{status}: {err}"
        );
    }
}

/// A listener that accepts connections and never answers.
fn silent_listener() -> (String, std::net::TcpListener) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (listener.local_addr().unwrap().to_string(), listener)
}

// Item 7: an API server, and a chart repository, that accept connections and never answer
// fail within their timeouts, naming the URL.
#[test]
fn servers_that_never_answer_fail_within_the_timeout_naming_the_url() {
    let tmp = tempfile::tempdir().unwrap();
    let (addr, _keep) = silent_listener();
    let server = format!("https://{addr}");
    let kc = kubeconfig_for(tmp.path(), &server);
    let start = Instant::now();
    let out = support::charter().run(&["list", "--kubeconfig", kc.to_str().unwrap()]);
    let took = start.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(15), "took {took:?}: {err}");
    assert!(err.contains(&server) && err.contains("elsewhere"), "{err}");
    assert!(err.contains("did not answer"), "{err}");
    // --request-timeout shortens it.
    let start = Instant::now();
    let out = support::charter().run(&[
        "list",
        "--kubeconfig",
        kc.to_str().unwrap(),
        "--request-timeout",
        "2s",
    ]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let (addr, _keep) = silent_listener();
    let url = format!("http://{addr}/charts");
    let start = Instant::now();
    let out = support::charter().xdg_in(tmp.path()).run(&[
        "repo",
        "add",
        "hung",
        &url,
        "--timeout",
        "2s",
    ]);
    let took = start.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(took < Duration::from_secs(6), "took {took:?}: {err}");
    assert!(err.contains(&url) && err.contains("2s"), "{err}");
}

// Item 8: a `--wait` that times out names why the Pods are not ready (here: no node matches
// their selector), and the CI log says so while waiting.
#[tokio::test]
async fn a_wait_that_times_out_names_the_reason() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("wait-why").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    let out = run(
        &kc,
        &[
            "install",
            "ww",
            dir,
            "-n",
            n,
            "--set",
            "nodeSelector.zone=none",
            "--wait",
            "--timeout",
            "8s",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // The error line (the failing Pods' Events and logs follow it).
    let last = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        last.contains("timed out")
            && last.contains("Deployment")
            && last.contains("didn't match Pod's node affinity/selector"),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("waiting:") && l.contains("node affinity/selector")),
        "the CI log while waiting: {err}"
    );
    ns.delete().await;
}

// Item 8: `--wait-for-lock` says it is waiting, and for whom.
#[tokio::test]
async fn wait_for_lock_says_whom_it_waits_for() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("lock-who").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "lw", dir, "-n", n]);
    let holder = charter_cmd(
        &kc,
        &[
            "upgrade",
            "lw",
            dir,
            "-n",
            n,
            "--set",
            "nodeSelector.zone=none",
            "--wait",
            "--timeout",
            "6s",
        ],
    )
    .env_remove("USER")
    .env_remove("LOGNAME")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_for_status(&cluster, n, "lw", Status::PendingUpgrade).await;
    // Item 10: the holder is named even without $USER.
    let lease = lease_held(&cluster, n, "lw").await.unwrap();
    let who = lease.spec.unwrap().holder_identity.unwrap();
    assert!(!who.starts_with("unknown@"), "{who}");
    assert!(who.contains(&format!("pid {}", holder.id())), "{who}");
    let out = run(
        &kc,
        &["upgrade", "lw", dir, "-n", n, "--wait-for-lock", "60s"],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("waiting for the lock") && err.contains(&who),
        "{err}"
    );
    let (code, _, _) = wait_exit(holder, Duration::from_secs(30));
    assert_eq!(code, Some(1));
    ns.delete().await;
}

// Item 10: history, rollback, status and uninstall say what happened.
#[tokio::test]
async fn release_output_says_what_happened() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("out-details").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "od", dir, "-n", n]);
    ok(
        &kc,
        &["upgrade", "od", dir, "-n", n, "--set", "greeting=two"],
    );
    ok(
        &kc,
        &["upgrade", "od", dir, "-n", n, "--set", "greeting=three"],
    );

    // A rollback says it rolled back, not the target revision's notes.
    let out = ok(&kc, &["rollback", "od", "2", "-n", n]);
    assert!(out.contains("REVISION: 4"), "{out}");
    assert!(out.contains("rolled back to revision 2"), "{out}");
    assert!(
        !out.contains("upgraded") && !out.contains("installed"),
        "{out}"
    );
    let out = ok(&kc, &["rollback", "od", "1", "-n", n]);
    assert!(
        out.contains("rolled back to revision 1") && !out.contains("installed"),
        "{out}"
    );

    // History: UPDATED in whole seconds, every column aligned.
    let out = ok(&kc, &["history", "od", "-n", n]);
    let lines: Vec<&str> = out.lines().collect();
    let header = lines[0];
    fn col<'a>(header: &str, l: &'a str, name: &str) -> Option<&'a str> {
        header.find(name).map(|i| l.get(i..).unwrap_or(""))
    }
    for l in &lines[1..] {
        let updated = col(header, l, "UPDATED").unwrap();
        let stamp = updated.split_whitespace().next().unwrap();
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && !stamp.contains('.'),
            "{stamp}: {out}"
        );
        let status = col(header, l, "STATUS")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        assert!(
            ["superseded", "deployed"].contains(&status),
            "STATUS column misaligned: {out}"
        );
    }

    // Uninstalled with --keep-history: status has no notes, the revision shows when it was
    // uninstalled.
    let before = store_history(&cluster, n, "od")
        .await
        .last()
        .unwrap()
        .last_deployed
        .clone();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ok(&kc, &["uninstall", "od", "-n", n, "--keep-history"]);
    let out = ok(&kc, &["status", "od", "-n", n]);
    assert!(out.contains("STATUS: uninstalled"), "{out}");
    assert!(!out.contains("NOTES"), "{out}");
    let history: serde_json::Value =
        serde_json::from_str(&ok(&kc, &["history", "od", "-n", n, "-o", "json"])).unwrap();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["status"], "uninstalled");
    let updated = last["updated"].as_str().unwrap();
    assert!(updated > before.as_str(), "{updated} vs {before}");

    // A release that never existed is "not found", not "no earlier deployed revision".
    let err = fails(&kc, &["rollback", "nothere", "-n", n]);
    assert!(
        err.contains("release") && err.contains("not found"),
        "{err}"
    );
    assert!(!err.contains("no earlier deployed revision"), "{err}");
    ns.delete().await;
}
