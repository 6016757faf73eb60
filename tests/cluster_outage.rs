//! The API server going away: an unreachable cluster is one clear error naming the URL, and
//! an install during which kube-apiserver is killed and restarted ends with a record that
//! matches the cluster (deployed with every object there, or failed), never one that claims
//! deployed with objects missing. The outage runs on a cluster of its own, so no other test
//! sees the restart.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use charter::release::Status;
use charter::release::{ReleaseStore, SecretStore};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use support::{ADMIN_CONTEXT, cluster_or_skip, write};

const OBJECTS: usize = 400;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-cluster")
}

/// A cluster of this test's own, taken down when dropped (and by the script's watchdog if the
/// test process dies first).
struct OwnCluster {
    name: String,
    kubeconfig: PathBuf,
}

impl OwnCluster {
    fn up(name: &str) -> OwnCluster {
        let out = Command::new(script())
            .args(["up", "--name", name, "--owner-pid"])
            .arg(std::process::id().to_string())
            .output()
            .expect("run scripts/test-cluster up");
        assert!(
            out.status.success(),
            "scripts/test-cluster up --name {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let kubeconfig = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export KUBECONFIG="))
            .map(|p| PathBuf::from(p.trim_matches(|c| c == '\'' || c == '"')))
            .expect("up prints export KUBECONFIG=");
        OwnCluster {
            name: name.to_string(),
            kubeconfig,
        }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["down", "--name", &self.name])
            .output();
    }
}

#[test]
fn an_unreachable_cluster_is_one_error_naming_the_url() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: abc}}\n"
        ),
    )
    .unwrap();
    let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/demo");
    for args in [
        vec!["list"],
        vec!["install", "demo", chart.to_str().unwrap()],
        vec!["status", "demo"],
    ] {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_charter"))
            .args(&args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .output()
            .unwrap();
        let took = start.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("https://127.0.0.1:{port}"))
                && err.contains("cannot reach the Kubernetes API server")
                && err.contains("context `gone`"),
            "{args:?}: {err}"
        );
        // One message, not a log line per retry.
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            took < Duration::from_secs(10),
            "{args:?} took {took:?} to give up"
        );
    }
}

#[tokio::test]
async fn an_install_through_an_api_server_restart_leaves_a_consistent_record() {
    // Runs where the cluster tests run (the binaries are built there), on a cluster of its own.
    let _shared = cluster_or_skip!();
    let name = format!("outage-{}", std::process::id());
    let own = OwnCluster::up(&name);
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "Chart.yaml",
        "apiVersion: charter/v1\nname: many\nversion: 1.0.0\n",
    );
    write(
        tmp.path(),
        "templates/cms.yaml",
        &format!(
            "{{% for i in range(end={OBJECTS}) %}}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{{{ i }}}}\ndata:\n  index: \"{{{{ i }}}}\"\n{{% endfor %}}"
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["install", "many", tmp.path().to_str().unwrap(), "-n"])
        .args(["outage", "--create-namespace", "--kubeconfig"])
        .arg(&own.kubeconfig)
        .args(["--kube-context", ADMIN_CONTEXT])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, String)>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    // Kill the API server once the install is well under way.
    let mut log: Vec<(Instant, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while log.iter().filter(|(_, l)| l.starts_with("applied")).count() < 40 {
        assert!(
            Instant::now() < deadline,
            "install made no progress: {log:?}"
        );
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => log.push(l),
            Err(_) => panic!("install went quiet before the outage: {log:?}"),
        }
    }
    let killed = Instant::now();
    let restart = Command::new(script())
        .args(["restart-apiserver", "--name", &name, "--down", "4"])
        .output()
        .unwrap();
    assert!(
        restart.status.success(),
        "restart-apiserver: {}",
        String::from_utf8_lossy(&restart.stderr)
    );
    let status = child.wait().unwrap();
    reader.join().unwrap();
    log.extend(rx.try_iter());
    let applied = log.iter().filter(|(_, l)| l.starts_with("applied")).count();
    // The outage really fell inside the install: objects were applied after the server was
    // back (it was down for 4 s from `killed`).
    let after = log
        .iter()
        .filter(|(t, l)| l.starts_with("applied") && *t > killed + Duration::from_secs(4))
        .count();
    assert!(after > 0, "the install finished before the outage: {log:?}");

    let cluster = charter::cluster::Cluster::connect(Some(&own.kubeconfig), Some(ADMIN_CONTEXT))
        .await
        .unwrap();
    let history = SecretStore::new(&cluster)
        .history("outage", "many")
        .await
        .unwrap();
    let record = history.last().expect("the install wrote a record");
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client(), "outage");
    let present = cms
        .list(&ListParams::default().labels("charter.dev/release=many"))
        .await
        .unwrap()
        .items
        .len();
    match record.status {
        Status::Deployed => {
            assert!(status.success(), "deployed record but exit {status}");
            assert_eq!(
                present, OBJECTS,
                "the record says deployed but only {present} of {OBJECTS} objects exist"
            );
        }
        Status::Failed => assert!(!status.success(), "failed record but exit 0"),
        other => panic!("the install left a {other:?} record: {log:?}"),
    }
    // The retry budget outlasts a restart of a few seconds: the install rides it out.
    assert!(
        status.success() && applied == OBJECTS,
        "install did not survive a 4 s outage ({applied} applied): {:?}",
        log.iter().rev().take(5).map(|(_, l)| l).collect::<Vec<_>>()
    );
}
