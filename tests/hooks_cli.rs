//! Hooks and `charter test` through the real binary against the real test cluster (kwok
//! completes a Job's Pods; a bare Pod succeeds or fails by its `charter.dev/test-outcome`
//! label): ingress-nginx's admission hooks around install and upgrade, deleted by their
//! policy; a failing hook Job failing the operation with its Events, and `--atomic` returning
//! to the previous revision; delete hooks around uninstall, rollback hooks around rollback;
//! `--no-hooks`; a
//! `before-hook-creation` hook replaced on the next upgrade; `charter test` passing and
//! failing; bad hook annotations refused before anything is applied. Fixture charts:
//! testdata/hooks/passing (a Helm chart) and testdata/hooks/failing (a charter chart, whose
//! hooks use `charter.dev/hook`).

mod support;

use std::path::{Path, PathBuf};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::Api;
use support::{cluster_or_skip, write};

fn fixture(name: &str) -> String {
    support::root()
        .join("testdata/hooks")
        .join(name)
        .display()
        .to_string()
}

/// charter against the test cluster.
fn on(kc: &Path) -> support::cli::Charter {
    support::charter().cluster(kc)
}

/// `charter status -o json` of a release.
fn status(kc: &Path, release: &str, ns: &str) -> serde_json::Value {
    let out = on(kc).ok(&["status", release, "-n", ns, "-o", "json"]);
    serde_json::from_str(&out).unwrap()
}

/// The last run of hook `kind/name` in a status: (phase, startedAt).
fn last_run(status: &serde_json::Value, kind: &str, name: &str) -> (String, String) {
    let hook = status["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == kind && h["name"] == name)
        .unwrap_or_else(|| panic!("no hook {kind}/{name} in {status:#}"));
    let text = |k: &str| hook["lastRun"][k].as_str().unwrap_or("").to_string();
    (text("phase"), text("startedAt"))
}

fn job_complete(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_nginx_hooks_run_around_install_and_upgrade_and_are_deleted_by_policy() {
    let Some(corpus) = support::helm_charts_corpus(support::test_name!()) else {
        return;
    };
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hooks-ingress").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let chart: PathBuf = corpus.join("ingress-nginx");
    let chart = chart.to_str().unwrap();
    // No load balancer in the test cluster: a ClusterIP Service is ready at once.
    let args = |verb: &'static str| {
        vec![
            verb,
            "ing",
            chart,
            "-n",
            &n,
            "--wait",
            "--timeout",
            "2m",
            "--set",
            "controller.service.type=ClusterIP",
        ]
    };
    let out = on(&kc).run(&args("install"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for hook in [
        "hook pre-install Job/{n}/ing-ingress-nginx-admission-create: succeeded",
        "hook post-install Job/{n}/ing-ingress-nginx-admission-patch: succeeded",
    ] {
        assert!(stderr.contains(&hook.replace("{n}", &n)), "{stderr}");
    }
    let st = status(&kc, "ing", &n);
    assert_eq!(st["status"], "deployed");
    let (phase, installed_at) = last_run(&st, "Job", "ing-ingress-nginx-admission-create");
    assert_eq!(phase, "Succeeded");
    assert_eq!(
        last_run(&st, "Job", "ing-ingress-nginx-admission-patch").0,
        "Succeeded"
    );
    // before-hook-creation,hook-succeeded: nothing of the hooks is left, and the hooks are
    // no objects of the release (not in its inventory, so not in RESOURCES).
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &n);
    let sas: Api<ServiceAccount> = Api::namespaced(cluster.client.clone(), &n);
    for name in [
        "ing-ingress-nginx-admission-create",
        "ing-ingress-nginx-admission-patch",
    ] {
        assert!(jobs.get_opt(name).await.unwrap().is_none(), "{name} left");
    }
    assert!(
        sas.get_opt("ing-ingress-nginx-admission")
            .await
            .unwrap()
            .is_none()
    );
    let resources = st["resources"].to_string();
    assert!(!resources.contains("admission-create"), "{resources}");

    let out = on(&kc).run(&args("upgrade"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "hook pre-upgrade Job/{n}/ing-ingress-nginx-admission-create: succeeded"
        )) && stderr.contains(&format!(
            "hook post-upgrade Job/{n}/ing-ingress-nginx-admission-patch: succeeded"
        )),
        "{stderr}"
    );
    let st = status(&kc, "ing", &n);
    assert_eq!(st["revision"], 2);
    let (phase, upgraded_at) = last_run(&st, "Job", "ing-ingress-nginx-admission-create");
    assert_eq!(phase, "Succeeded");
    assert!(upgraded_at > installed_at, "{upgraded_at} {installed_at}");
    on(&kc).ok(&["uninstall", "ing", "-n", &n]);
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_hook_fails_the_operation_naming_it_and_atomic_returns() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hooks-fail").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let chart = fixture("failing");
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &n);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &n);

    // A failed install: the hook named, its Pod's Events shown, nothing applied.
    let err = on(&kc).fails(&["install", "bad", &chart, "-n", &n, "--set", "job=fail"]);
    assert!(
        err.contains("pre-install hook Job/bad-migrate (failing/templates/migrate.yaml) failed"),
        "{err}"
    );
    assert!(
        err.contains("  Pod bad-migrate-")
            && err.contains("event: Warning Failed: container exited"),
        "{err}"
    );
    assert!(cms.get_opt("bad-config").await.unwrap().is_none());
    let st = status(&kc, "bad", &n);
    assert_eq!(st["status"], "failed");
    assert_eq!(last_run(&st, "Job", "bad-migrate").0, "Failed");

    // Installed, then a failing upgrade: revision 2 failed, revision 1 still deployed.
    on(&kc).ok(&["install", "r", &chart, "-n", &n]);
    let first_uid = jobs.get("r-migrate").await.unwrap().metadata.uid.unwrap();
    let err = on(&kc).fails(&["upgrade", "r", &chart, "-n", &n, "--set", "job=fail"]);
    assert!(
        err.contains("pre-upgrade hook Job/r-migrate (failing/templates/migrate.yaml) failed"),
        "{err}"
    );
    let history = on(&kc).ok(&["history", "r", "-n", &n, "-o", "json"]);
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["deployed", "failed"], "{history:#}");
    // The failed upgrade replaced the hook Job (before-hook-creation): a new object.
    let failed_uid = jobs.get("r-migrate").await.unwrap().metadata.uid.unwrap();
    assert_ne!(first_uid, failed_uid);

    // --atomic: the failed upgrade is rolled back to revision 1 (its hooks run again: a
    // rollback runs pre-/post-rollback hooks, which this chart has none of).
    let err = on(&kc).fails(&[
        "upgrade", "r", &chart, "-n", &n, "--set", "job=fail", "--atomic",
    ]);
    assert!(
        err.contains("pre-upgrade hook Job/r-migrate") && err.contains("Rolled back to revision 1"),
        "{err}"
    );
    let st = status(&kc, "r", &n);
    assert_eq!(st["status"], "deployed");
    assert_eq!(st["revision"], 4);
    let values = on(&kc).ok(&["get", "values", "r", "-n", &n, "--all"]);
    assert!(values.contains("job: succeed"), "{values}");
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_hook_creation_replaces_the_hook_and_no_hooks_skips_them() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hooks-replace").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let chart = fixture("failing");
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &n);

    on(&kc).ok(&["install", "r", &chart, "-n", &n]);
    let first = jobs.get("r-migrate").await.unwrap();
    assert!(job_complete(&first));
    on(&kc).ok(&["upgrade", "r", &chart, "-n", &n, "--set", "test=succeed"]);
    let second = jobs.get("r-migrate").await.unwrap();
    assert!(job_complete(&second));
    assert_ne!(first.metadata.uid, second.metadata.uid);
    assert!(
        second.metadata.creation_timestamp.unwrap().0
            >= first.metadata.creation_timestamp.unwrap().0
    );

    // --no-hooks: a hook that would fail is not even created.
    on(&kc).ok(&[
        "upgrade",
        "r",
        &chart,
        "-n",
        &n,
        "--set",
        "job=fail",
        "--no-hooks",
    ]);
    let third = jobs.get("r-migrate").await.unwrap();
    assert_eq!(third.metadata.uid, second.metadata.uid);
    on(&kc).ok(&[
        "install",
        "quiet",
        &chart,
        "-n",
        &n,
        "--set",
        "job=fail",
        "--no-hooks",
    ]);
    assert!(jobs.get_opt("quiet-migrate").await.unwrap().is_none());
    let st = status(&kc, "quiet", &n);
    assert_eq!(st["status"], "deployed");
    assert!(st["hooks"][0]["lastRun"].is_null(), "{st:#}");
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charter_test_passes_and_fails_and_uninstall_runs_delete_hooks() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hooks-test").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &n);

    on(&kc).ok(&["install", "p", &fixture("passing"), "-n", &n]);
    let out = on(&kc).ok(&["test", "p", "-n", &n, "--logs"]);
    assert!(
        out.contains("TEST SUITE:     Pod/p-config-check")
            && out.contains("TEST SUITE:     Pod/p-smoke")
            && out.contains("Phase:          Succeeded")
            && out.contains("POD LOGS: p-smoke (container smoke)"),
        "{out}"
    );
    // test-success (weight -1) runs before test (weight 0).
    assert!(
        out.find("p-config-check") < out.find("Pod/p-smoke"),
        "{out}"
    );
    let out = on(&kc).ok(&["test", "p", "-n", &n, "--filter", "!name=p-smoke"]);
    assert!(
        out.contains("p-config-check") && !out.contains("p-smoke"),
        "{out}"
    );
    let st = status(&kc, "p", &n);
    assert_eq!(last_run(&st, "Pod", "p-smoke").0, "Succeeded");
    let err = on(&kc).fails(&["test", "p", "-n", &n, "--filter", "kind=Pod"]);
    assert!(err.contains("--filter kind=Pod"), "{err}");

    on(&kc).ok(&["install", "f", &fixture("failing"), "-n", &n]);
    let out = on(&kc).run(&["test", "f", "-n", &n, "--logs"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Phase:          Failed")
            && stdout.contains("POD LOGS: f-smoke (container smoke)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("test hook Pod/f-smoke (failing/templates/test.yaml) failed"),
        "{stderr}"
    );

    // Uninstall runs the pre-delete and post-delete Jobs (no delete policy: they stay).
    on(&kc).ok(&["uninstall", "p", "-n", &n]);
    for name in ["p-pre-delete", "p-post-delete"] {
        let job = jobs.get(name).await.unwrap();
        assert!(job_complete(&job), "{name} not complete");
    }
    // --no-hooks on uninstall: no delete hooks.
    on(&kc).ok(&["install", "p2", &fixture("passing"), "-n", &n]);
    on(&kc).ok(&["uninstall", "p2", "-n", &n, "--no-hooks"]);
    assert!(jobs.get_opt("p2-pre-delete").await.unwrap().is_none());
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_runs_its_hooks_unless_no_hooks() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hooks-rollback").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let chart = fixture("passing");
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &n);
    on(&kc).ok(&["install", "r", &chart, "-n", &n]);
    on(&kc).ok(&["upgrade", "r", &chart, "-n", &n, "--set", "outcome=fail"]);
    assert!(jobs.get_opt("r-rollback").await.unwrap().is_none());
    let out = on(&kc).run(&["rollback", "r", "1", "-n", &n]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let pre = stderr
        .find(&format!("hook pre-rollback Job/{n}/r-rollback: succeeded"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let post = stderr
        .find(&format!("hook post-rollback Job/{n}/r-rollback: succeeded"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(pre < post, "{stderr}");
    let job = jobs.get("r-rollback").await.unwrap();
    assert!(job_complete(&job));
    let st = status(&kc, "r", &n);
    assert_eq!(last_run(&st, "Job", "r-rollback").0, "Succeeded");

    on(&kc).ok(&["rollback", "r", "2", "-n", &n, "--no-hooks"]);
    assert_eq!(
        jobs.get("r-rollback").await.unwrap().metadata.uid,
        job.metadata.uid
    );
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hook_annotations_are_refused_before_anything_is_applied() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("hooks-bad").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &n);
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "charter.dev/hook: pre-instal",
            "`pre-instal` is no hook event",
        ),
        (
            "charter.dev/hook: pre-install\n    charter.dev/hook-weight: first",
            "which is not an integer",
        ),
    ];
    for (i, (annotations, problem)) in cases.iter().enumerate() {
        let dir = tmp.path().join(format!("c{i}"));
        write(
            &dir,
            "Chart.yaml",
            "apiVersion: charter/v1\nname: bad\nversion: 0.1.0\n",
        );
        write(
            &dir,
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-cm\n",
        );
        write(
            &dir,
            "templates/hook.yaml",
            &format!(
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    {annotations}\nspec: {{}}\n"
            ),
        );
        let release = format!("bad{i}");
        let err = on(&kc).fails(&["install", &release, dir.to_str().unwrap(), "-n", &n]);
        assert!(
            err.contains("bad/templates/hook.yaml")
                && err.contains("Job/migrate")
                && err.contains(problem),
            "{err}"
        );
        assert!(
            cms.get_opt(&format!("{release}-cm"))
                .await
                .unwrap()
                .is_none()
        );
    }
    ns.delete().await;
}
