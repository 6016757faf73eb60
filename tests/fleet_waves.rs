//! Fleet rollouts on real clusters: a deploy tree of 3 environments × 3 regions, one test
//! cluster per region behind the latency proxy (50 ms per round trip, as remote clusters), rolled
//! out in waves dev → staging → prod. Checked on the clusters themselves: creation timestamps
//! against the time the previous wave became ready, namespaces that must not exist.
//!
//! The three clusters start once for this file (in parallel, 25-45 s on the 2-core CI machine)
//! and go down when the test process ends (`--owner-pid`). They start only where cluster tests
//! run (`CHARTER_TEST_KUBECONFIG` set, or `CI=true`); elsewhere these tests skip. The bad-input
//! tests need no cluster.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Client;
use kube::api::Api;
use serde_json::Value;
use support::{ADMIN_CONTEXT, ExtraCluster, charter, say, test_name, write};

const REGIONS: [&str; 3] = ["eastus", "westus", "northeu"];
const ENVS: [&str; 3] = ["dev", "staging", "prod"];

/// The region clusters (in [`REGIONS`] order), started on first use; `None`: skip.
fn regions(test: &str) -> Option<&'static [ExtraCluster]> {
    static FLEET: OnceLock<Result<Vec<ExtraCluster>, String>> = OnceLock::new();
    if support::kubeconfig_path().is_none() && !support::cluster_required() {
        say(&format!(
            "{test}: skipped: no test cluster (these tests start their own, where cluster tests run: set {} or CI=true)",
            support::KUBECONFIG_ENV
        ));
        return None;
    }
    let fleet = FLEET.get_or_init(|| {
        let names: Vec<String> = REGIONS
            .iter()
            .map(|r| format!("fleet-{}-{r}", std::process::id()))
            .collect();
        ExtraCluster::up_many(&names, Some("50ms"))
    });
    match fleet {
        Ok(clusters) => Some(clusters),
        Err(e) => panic!("{test}: starting the region clusters: {e}"),
    }
}

/// A chart: a ConfigMap and a Deployment that is available 3 s after its Pod is ready
/// (`minReadySeconds`), so "ready" is well after "created"; with `fail: true` its Pods fail
/// (kwok's `charter.dev/test-outcome` label) and it never becomes ready.
fn chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: app\nversion: 1.0.0\n",
    );
    write(dir, "values.yaml", "fail: false\n");
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-cfg\ndata:\n  ns: {{ release.namespace }}\n",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  minReadySeconds: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels:\n        app: web\n{% if values.fail %}        charter.dev/test-outcome: fail\n{% endif %}    spec:\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n",
    );
}

/// A deploy tree `envs` × [`REGIONS`] in `tmp/app`: release `web`, namespace `<prefix>-<env>`,
/// each region on its cluster; `extra` appends YAML to a level's charter.yaml.
fn tree(
    tmp: &Path,
    prefix: &str,
    envs: &[&str],
    clusters: &[ExtraCluster],
    extra: &[(&str, &str)],
) -> PathBuf {
    chart(&tmp.join("chart"));
    let root = tmp.join("app");
    write(
        &root,
        "charter.yaml",
        &format!(
            "chart: {}\nrelease: web\nkubeContext: {ADMIN_CONTEXT}\n",
            tmp.join("chart").display()
        ),
    );
    for env in envs {
        let more: String = extra
            .iter()
            .filter(|(l, _)| l == env)
            .map(|(_, y)| *y)
            .collect();
        write(
            &root,
            &format!("{env}/charter.yaml"),
            &format!("namespace: {prefix}-{env}\n{more}"),
        );
        for (region, cluster) in REGIONS.iter().zip(clusters) {
            let level = format!("{env}/{region}");
            let more: String = extra
                .iter()
                .filter(|(l, _)| *l == level)
                .map(|(_, y)| *y)
                .collect();
            write(
                &root,
                &format!("{level}/charter.yaml"),
                &format!("kubeconfig: {}\n{more}", cluster.kubeconfig.display()),
            );
            write(&root, &format!("{level}/values.yaml"), "{}\n");
        }
    }
    root
}

/// Runs charter; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = charter().run(args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn client(c: &ExtraCluster) -> Client {
    support::client_for(&c.direct, ADMIN_CONTEXT).await.unwrap()
}

/// When the Deployment `web` in `ns` became available (its `Available` condition turned true).
async fn ready_at(c: &Client, ns: &str) -> Timestamp {
    let d = Api::<Deployment>::namespaced(c.clone(), ns)
        .get("web")
        .await
        .unwrap();
    let cond = d
        .status
        .and_then(|s| s.conditions)
        .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Available"))
        .filter(|c| c.status == "True")
        .unwrap_or_else(|| panic!("Deployment {ns}/web is not available"));
    cond.last_transition_time.unwrap().0
}

/// When the first of the release's objects in `ns` was created.
async fn created_at(c: &Client, ns: &str) -> Timestamp {
    let d = Api::<Deployment>::namespaced(c.clone(), ns)
        .get("web")
        .await
        .unwrap();
    let cm = Api::<ConfigMap>::namespaced(c.clone(), ns)
        .get("web-cfg")
        .await
        .unwrap();
    [
        d.metadata.creation_timestamp,
        cm.metadata.creation_timestamp,
    ]
    .into_iter()
    .map(|t| t.unwrap().0)
    .min()
    .unwrap()
}

async fn namespace_exists(c: &Client, ns: &str) -> bool {
    Api::<Namespace>::all(c.clone())
        .get_opt(ns)
        .await
        .unwrap()
        .is_some()
}

/// Asserts that every target of `later` was created no earlier than the moment the last target
/// of `earlier` became ready, across all regions; returns that moment.
async fn assert_after_ready(clients: &[Client], earlier: &str, later: &str) -> Timestamp {
    let mut ready = Vec::new();
    let mut created = Vec::new();
    for c in clients {
        ready.push(ready_at(c, earlier).await);
        created.push(created_at(c, later).await);
    }
    let (last_ready, first_created) =
        (*ready.iter().max().unwrap(), *created.iter().min().unwrap());
    assert!(
        first_created >= last_ready,
        "{later} was created at {first_created}, before {earlier} was ready everywhere ({ready:?})"
    );
    last_ready
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_is_created_only_after_every_staging_target_is_ready_and_the_gate_passed() {
    let Some(clusters) = regions(test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = support::unique_name("order");
    let root = tree(
        tmp.path(),
        &p,
        &ENVS,
        clusters,
        &[
            (
                "staging",
                "after: dev\ngate:\n  readyFor: 2s\n  command: echo \"$CHARTER_TARGETS\" > gate-ran\n",
            ),
            ("prod", "after: [staging]\n"),
        ],
    );
    let (c, out, err) = run(&[
        "apply",
        root.to_str().unwrap(),
        "--wait",
        "--create-namespace",
    ]);
    assert_eq!(c, 0, "{err}\n{out}");
    for line in [
        "wave 0: done",
        "wave 1: done",
        "gate staging: passed",
        "wave 2: done",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }
    // CI output: one line per step, each naming its target.
    assert!(
        err.contains("==> wave 1") && err.contains("staging/westus: deploying (wave 1)"),
        "{err}"
    );

    let clients: Vec<Client> = futures::future::join_all(clusters.iter().map(client)).await;
    let dev_ready =
        assert_after_ready(&clients, &format!("{p}-dev"), &format!("{p}-staging")).await;
    let staging_ready =
        assert_after_ready(&clients, &format!("{p}-staging"), &format!("{p}-prod")).await;
    assert!(staging_ready > dev_ready);

    // The gate ran in staging's directory over staging's targets, after they had been ready
    // for its 2 s, and before any prod object existed.
    let marker = root.join("staging/gate-ran");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap().trim(),
        "staging/eastus staging/northeu staging/westus"
    );
    let ran = Timestamp::try_from(std::fs::metadata(&marker).unwrap().modified().unwrap()).unwrap();
    assert!(
        ran >= staging_ready + jiff::SignedDuration::from_secs(2),
        "gate ran at {ran}, staging ready at {staging_ready}"
    );
    for c in &clients {
        let prod = created_at(c, &format!("{p}-prod")).await;
        assert!(
            prod.as_second() >= ran.as_second(),
            "prod created at {prod}, gate ran at {ran}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_staging_target_holds_prod_back() {
    let Some(clusters) = regions(test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = support::unique_name("hold");
    let root = tree(
        tmp.path(),
        &p,
        &ENVS,
        clusters,
        &[("staging", "after: dev\n"), ("prod", "after: staging\n")],
    );
    write(&root, "staging/westus/values.yaml", "fail: true\n");
    let (c, out, err) = run(&[
        "apply",
        root.to_str().unwrap(),
        "--wait",
        "--timeout",
        "8s",
        "--create-namespace",
    ]);
    assert_eq!(c, 1, "{err}\n{out}");
    assert!(
        out.contains("wave 1: failed (staging/westus)")
            && out.contains("wave 2: held back: wave 1 failed (staging/westus)"),
        "{out}"
    );
    assert!(
        err.contains("error: target staging/westus") && err.contains("timed out"),
        "{err}"
    );
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("prod/")).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows.iter().all(|r| r.ends_with("held back")), "{out}");

    // Staging's other targets finished their wave; nothing of prod exists anywhere.
    let clients: Vec<Client> = futures::future::join_all(clusters.iter().map(client)).await;
    ready_at(&clients[0], &format!("{p}-staging")).await;
    ready_at(&clients[2], &format!("{p}-staging")).await;
    for c in &clients {
        assert!(!namespace_exists(c, &format!("{p}-prod")).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_fast_starts_nothing_more_after_a_failure() {
    let Some(clusters) = regions(test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = support::unique_name("fast");
    let root = tree(
        tmp.path(),
        &p,
        &ENVS[..2],
        clusters,
        &[("staging", "after: dev\n")],
    );
    // One at a time in the tree's order: dev/eastus first, and it fails.
    write(&root, "dev/eastus/values.yaml", "fail: true\n");
    let (c, out, err) = run(&[
        "apply",
        root.to_str().unwrap(),
        "--wait",
        "--timeout",
        "5s",
        "--create-namespace",
        "--parallel",
        "1",
        "--fail-fast",
        "-o",
        "json",
    ]);
    assert_eq!(c, 1, "{err}\n{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let results: Vec<(u64, &str, &str)> = report["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| {
            w["targets"].as_array().unwrap().iter().map(|t| {
                (
                    w["wave"].as_u64().unwrap(),
                    t["name"].as_str().unwrap(),
                    t["result"].as_str().unwrap(),
                )
            })
        })
        .collect();
    assert_eq!(
        results,
        [
            (0, "dev/eastus", "failed"),
            (0, "dev/northeu", "skipped"),
            (0, "dev/westus", "skipped"),
            (1, "staging/eastus", "held back"),
            (1, "staging/northeu", "held back"),
            (1, "staging/westus", "held back"),
        ],
        "{out}"
    );
    let clients: Vec<Client> = futures::future::join_all(clusters.iter().map(client)).await;
    for c in &clients[1..] {
        assert!(!namespace_exists(c, &format!("{p}-dev")).await);
    }
    for c in &clients {
        assert!(!namespace_exists(c, &format!("{p}-staging")).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_gate_holds_the_next_wave_back_unless_told_to_go_on() {
    let Some(clusters) = regions(test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = support::unique_name("gate");
    let root = tree(
        tmp.path(),
        &p,
        &ENVS[..2],
        clusters,
        &[
            ("dev", "gate: echo smoke test failed; exit 3\n"),
            ("staging", "after: dev\n"),
        ],
    );
    let root_s = root.to_str().unwrap();
    let (c, out, err) = run(&["apply", root_s, "--create-namespace"]);
    assert_eq!(c, 1, "{err}\n{out}");
    let dev_cfg = root.join("dev/charter.yaml");
    assert!(
        out.contains(&format!(
            "wave 1: held back: the gate of dev ({}:2) failed after wave 0",
            dev_cfg.display()
        )),
        "{out}"
    );
    assert!(err.contains("gate dev | smoke test failed"), "{err}");
    let clients: Vec<Client> = futures::future::join_all(clusters.iter().map(client)).await;
    for c in &clients {
        assert!(namespace_exists(c, &format!("{p}-dev")).await);
        assert!(!namespace_exists(c, &format!("{p}-staging")).await);
    }

    let (c, out, err) = run(&[
        "apply",
        root_s,
        "--create-namespace",
        "--continue-on-failure",
    ]);
    assert_eq!(c, 1, "{err}\n{out}");
    assert!(
        out.contains("wave 0: applied, but a gate failed") && out.contains("wave 1: done"),
        "{out}"
    );
    for c in &clients {
        created_at(c, &format!("{p}-staging")).await;
    }
}

/// The release Secrets of `web` in `ns`: one per revision.
async fn revisions(c: &Client, ns: &str) -> usize {
    Api::<Secret>::namespaced(c.clone(), ns)
        .list(&kube::api::ListParams::default().labels("owner=charter,name=web"))
        .await
        .map(|l| l.items.len())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn until_and_only_roll_out_part_of_the_tree() {
    let Some(clusters) = regions(test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = support::unique_name("part");
    let root = tree(
        tmp.path(),
        &p,
        &ENVS,
        clusters,
        &[("staging", "after: dev\n"), ("prod", "after: staging\n")],
    );
    let root_s = root.to_str().unwrap();
    let clients: Vec<Client> = futures::future::join_all(clusters.iter().map(client)).await;

    let (c, out, err) = run(&[
        "apply",
        root_s,
        "--create-namespace",
        "--until",
        "staging",
        "-o",
        "json",
    ]);
    assert_eq!(c, 0, "{err}\n{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let waves: Vec<u64> = report["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["wave"].as_u64().unwrap())
        .collect();
    assert_eq!(waves, [0, 1], "{report:#}");
    for c in &clients {
        assert_eq!(revisions(c, &format!("{p}-dev")).await, 1);
        assert_eq!(revisions(c, &format!("{p}-staging")).await, 1);
        assert!(!namespace_exists(c, &format!("{p}-prod")).await);
    }

    let (c, out, err) = run(&[
        "apply",
        root_s,
        "--create-namespace",
        "--only",
        "prod/westus",
        "-o",
        "json",
    ]);
    assert_eq!(c, 0, "{err}\n{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["waves"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(report["waves"][0]["wave"], 2);
    assert_eq!(report["waves"][0]["targets"][0]["name"], "prod/westus");
    assert_eq!(report["waves"][0]["targets"][0]["result"], "applied");
    assert_eq!(report["waves"][0]["targets"][0]["revision"], 1);
    for (region, c) in REGIONS.iter().zip(&clients) {
        assert_eq!(revisions(c, &format!("{p}-dev")).await, 1, "{region}");
        assert_eq!(revisions(c, &format!("{p}-staging")).await, 1, "{region}");
        let prod = revisions(c, &format!("{p}-prod")).await;
        assert_eq!(prod, usize::from(*region == "westus"), "{region}");
    }

    // A name that matches nothing is refused before anything runs.
    let (c, _, err) = run(&["apply", root_s, "--only", "prod/southpole"]);
    assert_eq!(c, 1);
    assert!(
        err.contains("--only: `prod/southpole` names no target or level"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_shows_the_waves_and_apply_plan_follows_them() {
    let Some(clusters) = regions(test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = support::unique_name("plan");
    let root = tree(
        tmp.path(),
        &p,
        &ENVS,
        clusters,
        &[("staging", "after: dev\n"), ("prod", "after: staging\n")],
    );
    let root_s = root.to_str().unwrap();
    let plan = tmp.path().join("plan.json");
    let (c, out, err) = run(&["plan", root_s, "--out", plan.to_str().unwrap()]);
    assert_eq!(c, 2, "{err}\n{out}");
    let rows: Vec<(String, String)> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 9 && f[0].parse::<u32>().is_ok())
        .map(|f| (f[0].to_string(), f[1].to_string()))
        .collect();
    let want: Vec<(String, String)> = ENVS
        .iter()
        .enumerate()
        .flat_map(|(w, env)| {
            let mut regions = REGIONS.to_vec();
            regions.sort();
            regions
                .into_iter()
                .map(move |r| (w.to_string(), format!("{env}/{r}")))
        })
        .collect();
    assert_eq!(rows, want, "{out}");
    assert!(
        out.contains("Rollout: 3 waves")
            && out.contains("wave 1: staging/eastus, staging/northeu, staging/westus"),
        "{out}"
    );
    let waves = |doc: &Value| -> Vec<u64> {
        doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["wave"].as_u64().unwrap())
            .collect()
    };
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(waves(&doc), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    let (c, md, _) = run(&["plan", root_s, "-o", "markdown"]);
    assert_eq!(c, 2);
    assert!(
        md.contains("| WAVE | TARGET |") && md.contains("## Rollout"),
        "{md}"
    );
    let (c, json, _) = run(&["plan", root_s, "-o", "json"]);
    assert_eq!(c, 2);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(waves(&doc), [0, 0, 0, 1, 1, 1, 2, 2, 2], "{json}");

    let (c, out, err) = run(&[
        "apply",
        "--plan",
        plan.to_str().unwrap(),
        "--wait",
        "--create-namespace",
        "-o",
        "json",
    ]);
    assert_eq!(c, 0, "{err}\n{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let statuses: Vec<(u64, &str)> = report["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["wave"].as_u64().unwrap(), w["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [(0, "done"), (1, "done"), (2, "done")]);
    let clients: Vec<Client> = futures::future::join_all(clusters.iter().map(client)).await;
    assert_after_ready(&clients, &format!("{p}-dev"), &format!("{p}-staging")).await;
    assert_after_ready(&clients, &format!("{p}-staging"), &format!("{p}-prod")).await;
}

/// A tree whose kubeconfig points at a port nothing listens on: a command that contacted the
/// cluster would fail with a connection error instead of the refusal checked.
fn offline_tree(tmp: &Path, extra: &[(&str, &str)]) -> PathBuf {
    chart(&tmp.join("chart"));
    let kc = tmp.join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: only\n  context: {cluster: c, user: u}\ncurrent-context: only\n",
    )
    .unwrap();
    let root = tmp.join("app");
    write(
        &root,
        "charter.yaml",
        &format!(
            "chart: {}\nrelease: web\nkubeconfig: {}\n",
            tmp.join("chart").display(),
            kc.display()
        ),
    );
    for env in ENVS {
        write(
            &root,
            &format!("{env}/charter.yaml"),
            &format!("namespace: web-{env}\n"),
        );
        write(&root, &format!("{env}/one/values.yaml"), "{}\n");
    }
    for (level, yaml) in extra {
        let path = root.join(level).join("charter.yaml");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, format!("{old}{yaml}")).unwrap();
    }
    root
}

#[test]
fn bad_rollouts_are_refused_before_any_cluster_is_contacted() {
    let check = |extra: &[(&str, &str)], want: &[&str]| {
        let tmp = tempfile::tempdir().unwrap();
        let root = offline_tree(tmp.path(), extra);
        for cmd in ["plan", "apply"] {
            let (c, out, err) = run(&[cmd, root.to_str().unwrap()]);
            assert_eq!(c, 1, "{cmd}: {out}\n{err}");
            for w in want {
                let w = w.replace("ROOT", &root.display().to_string());
                assert!(err.contains(&w), "{cmd}: want `{w}` in:\n{err}");
            }
            assert!(
                !err.contains("target ") || err.contains("all deploy release"),
                "{cmd} went on to a target:\n{err}"
            );
        }
    };
    // A wave cycle.
    check(
        &[("staging", "after: prod\n"), ("prod", "after: staging\n")],
        &[
            "the waves of this deploy tree form a cycle",
            "comes after `prod` (ROOT/staging/charter.yaml:2)",
            "comes after `staging` (ROOT/prod/charter.yaml:2)",
        ],
    );
    // `after:` naming no level.
    check(
        &[("prod", "after:\n  - staging\n  - qa\n")],
        &[
            "ROOT/prod/charter.yaml:4: `after: qa` names no level",
            "dev, prod, staging",
        ],
    );
    // Two targets deploying the same release: prod's region sets staging's namespace.
    check(
        &[("prod/one", "namespace: web-staging\n")],
        &[
            "targets prod/one (ROOT/prod/one), staging/one (ROOT/staging/one) all deploy release `web` in namespace `web-staging` of cluster https://127.0.0.1:1",
            "ROOT/prod/one/charter.yaml",
        ],
    );
}
