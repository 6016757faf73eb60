//! Ordered deploys (issue 15) through the real binary against the test cluster: objects in
//! groups by `charter.dev/weight`, each group ready before the next is created (proved by the
//! objects' creation times against the moments their predecessors became available, not by
//! log lines); a dependency that never becomes ready times out naming it; a Job that fails
//! ends the deploy at once with its Pod's Events and last log lines; bad ordering annotations
//! fail before anything is applied; `diff` shows the groups.

mod support;

use std::path::Path;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use support::{cluster_or_skip, write};

fn chart(dir: &Path, templates: &[(&str, &str)]) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: staged\nversion: 1.0.0\n",
    );
    for (name, text) in templates {
        write(dir, &format!("templates/{name}"), text);
    }
}

/// A Deployment that becomes available only `min_ready` seconds after its Pod is ready
/// (`minReadySeconds`): kwok makes Pods ready at once, and the groups need a wait to show.
fn deployment(name: &str, annotations: &str, min_ready: u32, node_selector: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\nspec:\n  replicas: 1\n  minReadySeconds: {min_ready}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      nodeSelector: {{{node_selector}}}\n      containers:\n        - name: app\n          image: registry.invalid/{name}:1\n"
    )
}

fn config_map(name: &str, annotations: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{{annotations}}}\ndata: {{}}\n"
    )
}

/// `charter install RELEASE DIR -n NS --timeout TIMEOUT` as in CI (plain progress lines).
fn install(
    cluster: &support::TestCluster,
    release: &str,
    dir: &str,
    ns: &str,
    timeout: &str,
) -> std::process::Output {
    support::charter()
        .cluster(&cluster.kubeconfig)
        .env("CI", "true")
        .run(&["install", release, dir, "-n", ns, "--timeout", timeout])
}

/// The stderr of a command that failed with exit code 1.
fn fails(out: std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    err
}

fn created(meta: &kube::api::ObjectMeta) -> Timestamp {
    let t = meta.creation_timestamp.as_ref().expect("creationTimestamp");
    t.0.to_string().parse().unwrap()
}

/// When a Deployment's Available condition last turned True.
fn available_since(d: &Deployment) -> Timestamp {
    let c = d
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Available"))
        .expect("an Available condition");
    assert_eq!(c.status, "True", "{d:?}");
    c.last_transition_time
        .as_ref()
        .unwrap()
        .0
        .to_string()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn three_weights_each_ready_before_the_next_is_created() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-weights").await;
    let n = ns.name();
    let tmp = tempfile::tempdir().unwrap();
    chart(
        tmp.path(),
        &[
            (
                "db.yaml",
                &deployment("db", "charter.dev/weight: \"-10\"", 3, ""),
            ),
            ("web.yaml", &deployment("web", "", 2, "")),
            ("web-config.yaml", &config_map("web-config", "")),
            (
                "last.yaml",
                &config_map("last", "charter.dev/weight: \"10\""),
            ),
        ],
    );
    // diff shows the order the install will follow.
    let diff = support::charter().cluster(&cluster.kubeconfig).run(&[
        "diff",
        "app",
        tmp.path().to_str().unwrap(),
        "-n",
        n,
    ]);
    assert_eq!(diff.status.code(), Some(2));
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.ends_with(
            "Applied in groups, each ready before the next (charter.dev/weight, charter.dev/depends-on):\n  1/3 weight -10: Deployment/db\n  2/3 weight 0: ConfigMap/web-config, Deployment/web\n  3/3 weight 10: ConfigMap/last\n"
        ),
        "{text}"
    );
    let out = install(&cluster, "app", tmp.path().to_str().unwrap(), n, "60s");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The plain progress names the groups (informative; the proof is the timestamps below).
    assert!(
        err.contains("group 1/3 weight -10: Deployment/db")
            && err.contains("group 2/3 weight 0: ConfigMap/web-config, Deployment/web")
            && err.contains("group 3/3 weight 10: ConfigMap/last"),
        "{err}"
    );

    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), n);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let db = deployments.get("db").await.unwrap();
    let web = deployments.get("web").await.unwrap();
    let web_config = cms.get("web-config").await.unwrap();
    let last = cms.get("last").await.unwrap();
    // db took its minReadySeconds to become available: without the wait, group 2 would have
    // been created in the same second as db.
    let db_ready = available_since(&db);
    assert!(
        db_ready.duration_since(created(&db.metadata)).as_secs() >= 3,
        "db available at {db_ready}, created {}",
        created(&db.metadata)
    );
    for (what, t) in [
        ("web", created(&web.metadata)),
        ("web-config", created(&web_config.metadata)),
    ] {
        assert!(
            t >= db_ready,
            "{what} created at {t}, before db was available at {db_ready}"
        );
    }
    let web_ready = available_since(&web);
    assert!(web_ready.duration_since(created(&web.metadata)).as_secs() >= 2);
    let last_created = created(&last.metadata);
    assert!(
        last_created >= web_ready,
        "last created at {last_created}, before web was available at {web_ready}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn a_dependency_that_never_becomes_ready_times_out_naming_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-stuck").await;
    let n = ns.name();
    let tmp = tempfile::tempdir().unwrap();
    chart(
        tmp.path(),
        &[
            // No node has the zone: the Pod stays Pending, unschedulable.
            ("stuck.yaml", &deployment("stuck", "", 0, "zone: nowhere")),
            (
                "after.yaml",
                &config_map("after", "charter.dev/depends-on: Deployment/stuck"),
            ),
        ],
    );
    let started = std::time::Instant::now();
    let err = fails(install(
        &cluster,
        "app",
        tmp.path().to_str().unwrap(),
        n,
        "6s",
    ));
    assert!(started.elapsed().as_secs() >= 6);
    assert!(
        err.contains(&format!(
            "timed out after 6s waiting for Deployment/{n}/stuck (0/1 replicas available"
        )),
        "{err}"
    );
    // Why, and the Pod's scheduling Event, in the error.
    assert!(err.contains("Unschedulable"), "{err}");
    assert!(
        err.contains("\n  Pod stuck-") && err.contains("event: Warning FailedScheduling"),
        "{err}"
    );
    assert!(
        err.contains("container app has not started: no log"),
        "{err}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    assert!(
        cms.get_opt("after").await.unwrap().is_none(),
        "the dependent object was applied"
    );
    ns.delete().await;
}

#[tokio::test]
async fn a_failing_job_stops_the_deploy_with_its_pods_events_and_logs() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-fail").await;
    let n = ns.name();
    let tmp = tempfile::tempdir().unwrap();
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    charter.dev/weight: \"-1\"\nspec:\n  backoffLimit: 0\n  template:\n    metadata:\n      labels:\n        charter.dev/test-outcome: fail\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: migrate\n          image: registry.invalid/migrate:1\n";
    chart(
        tmp.path(),
        &[("job.yaml", job), ("app.yaml", &config_map("app", ""))],
    );
    let started = std::time::Instant::now();
    let err = fails(install(
        &cluster,
        "app",
        tmp.path().to_str().unwrap(),
        n,
        "120s",
    ));
    // Failed for good: no waiting out the timeout.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert!(err.contains(&format!("Job/{n}/migrate failed:")), "{err}");
    assert!(err.contains("\n  Pod migrate-"), "{err}");
    assert!(
        err.contains("event: Warning Failed"),
        "the Pod's Warning Event: {err}"
    );
    assert!(
        err.contains("log of container migrate (last 20 lines):")
            && err.contains("| kwok test cluster: no container runs here"),
        "the Pod's last log lines: {err}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    assert!(cms.get_opt("app").await.unwrap().is_none());
    let out = support::charter()
        .cluster(&cluster.kubeconfig)
        .ok(&["history", "app", "-n", n]);
    // The revision failed; its description is the error's first line, not the Pod's logs.
    assert!(
        out.contains("failed") && out.contains("Install failed: Job/"),
        "{out}"
    );
    assert!(!out.contains("kwok test cluster"), "{out}");
    ns.delete().await;
}

/// A case of bad input: the release name, its templates, the message expected.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);

#[tokio::test]
async fn bad_ordering_annotations_fail_before_anything_is_applied() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-bad").await;
    let n = ns.name();
    let cases: [Case; 3] = [
        (
            "cycle",
            vec![
                (
                    "a.yaml",
                    config_map("a", "charter.dev/depends-on: ConfigMap/b"),
                ),
                (
                    "b.yaml",
                    config_map("b", "charter.dev/depends-on: ConfigMap/a"),
                ),
            ],
            "charter.dev/depends-on forms a cycle: staged/templates/a.yaml:1 (ConfigMap/a) -> staged/templates/b.yaml:1 (ConfigMap/b) -> staged/templates/a.yaml:1 (ConfigMap/a)",
        ),
        (
            "unknown",
            vec![
                (
                    "a.yaml",
                    config_map("a", "charter.dev/depends-on: Deployment/nope"),
                ),
                ("b.yaml", config_map("b", "")),
            ],
            "staged/templates/a.yaml:1 (ConfigMap/a): charter.dev/depends-on names Deployment/nope, which is not an object of this release",
        ),
        (
            "weight",
            vec![
                ("a.yaml", config_map("a", "charter.dev/weight: ten")),
                ("b.yaml", config_map("b", "")),
            ],
            "staged/templates/a.yaml:1 (ConfigMap/a): charter.dev/weight is \"ten\", not an integer",
        ),
    ];
    for (case, templates, message) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let templates: Vec<(&str, &str)> =
            templates.iter().map(|(f, t)| (*f, t.as_str())).collect();
        chart(tmp.path(), &templates);
        let dir = tmp.path().to_str().unwrap();
        let err = support::charter()
            .cluster(&cluster.kubeconfig)
            .fails(&["install", case, dir, "-n", n]);
        assert!(err.contains(message), "{case}: {err}");
        // Offline too: `template` renders through the same check.
        let err = support::charter().fails(&["template", case, dir]);
        assert!(err.contains(message), "{case} (template): {err}");
    }
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let listed = cms.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = listed
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .filter(|name| name != "kube-root-ca.crt")
        .collect();
    assert!(names.is_empty(), "applied despite the error: {names:?}");
    let out = support::charter()
        .cluster(&cluster.kubeconfig)
        .ok(&["list", "-n", n]);
    assert!(!out.contains("cycle") && !out.contains("unknown"), "{out}");
    ns.delete().await;
}

/// Helm charts honour the same annotations: groups in order, and a bad weight refused by
/// `template` before anything else.
#[tokio::test]
async fn helm_charts_are_ordered_too() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-helm").await;
    let n = ns.name();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "Chart.yaml",
        "apiVersion: v2\nname: hstaged\nversion: 0.1.0\n",
    );
    write(dir, "values.yaml", "weight: \"-3\"\n");
    write(
        dir,
        "templates/db.yaml",
        &deployment(
            "{{ .Release.Name }}-db",
            "charter.dev/weight: {{ .Values.weight | quote }}",
            2,
            "",
        ),
    );
    write(
        dir,
        "templates/app.yaml",
        &config_map(
            "{{ .Release.Name }}-app",
            "charter.dev/depends-on: Deployment/{{ .Release.Name }}-db",
        ),
    );
    let d = dir.to_str().unwrap();
    let err = support::charter().fails(&["template", "h", d, "--set", "weight=x"]);
    assert!(
        err.contains("hstaged/templates/db.yaml:1 (Deployment/h-db): charter.dev/weight is \"x\", not an integer"),
        "{err}"
    );
    let out = install(&cluster, "h", d, n, "60s");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("group 1/2 weight -3: Deployment/h-db")
            && err.contains("group 2/2 weight 0, after Deployment/h-db=ready: ConfigMap/h-app"),
        "{err}"
    );
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), n);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let db_ready = available_since(&deployments.get("h-db").await.unwrap());
    let app = created(&cms.get("h-app").await.unwrap().metadata);
    assert!(
        app >= db_ready,
        "h-app created at {app}, before h-db was available at {db_ready}"
    );
    ns.delete().await;
}

/// `charter.dev/depends-on-external`: the group waits for objects outside the release (one
/// made while the install waits, one that must become ready), times out naming one that never
/// comes, and names a kind the cluster does not serve.
#[tokio::test]
async fn external_dependencies_are_waited_for() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-ext").await;
    let other = cluster.namespace("stages-ext-other").await;
    let (n, o) = (ns.name().to_string(), other.name().to_string());
    let tmp = tempfile::tempdir().unwrap();
    chart(
        tmp.path(),
        &[(
            "app.yaml",
            &config_map(
                "app",
                &format!(
                    "charter.dev/depends-on-external: \"Secret/{o}/creds=present, deployment.apps/{o}/ext\""
                ),
            ),
        )],
    );
    let dir = tmp.path().to_str().unwrap().to_string();
    let kc = cluster.kubeconfig.clone();
    let (dir2, n2) = (dir.clone(), n.clone());
    let running = tokio::task::spawn_blocking(move || {
        support::charter().cluster(&kc).env("CI", "true").run(&[
            "install",
            "app",
            &dir2,
            "-n",
            &n2,
            "--timeout",
            "60s",
        ])
    });
    // The install is waiting; the objects it needs appear only now.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client.clone(), &o);
    secrets
        .create(
            &Default::default(),
            &serde_json::from_value(serde_json::json!({"metadata": {"name": "creds"}})).unwrap(),
        )
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &o);
    let ext: Deployment =
        serde_json::from_value(support_yaml(&deployment("ext", "", 2, ""))).unwrap();
    deployments.create(&Default::default(), &ext).await.unwrap();
    let out = running.await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("(outside the release)"),
        "the group line names what it waits for: {err}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &n);
    let app = created(&cms.get("app").await.unwrap().metadata);
    let ext_ready = available_since(&deployments.get("ext").await.unwrap());
    let creds = created(&secrets.get("creds").await.unwrap().metadata);
    assert!(
        app >= ext_ready && app >= creds,
        "app created at {app}; ext available at {ext_ready}, creds created at {creds}"
    );

    // One that never comes: the wait times out naming it; a kind nobody serves is named.
    for (release, dep, message) in [
        (
            "late",
            format!("Secret/{o}/nope=present"),
            format!("timed out after 3s waiting for Secret/{o}/nope (not found)"),
        ),
        (
            "widget",
            "Widget/w".to_string(),
            "charter.dev/depends-on-external names Widget/w=ready: kind Widget: not served by the cluster".to_string(),
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        chart(
            tmp.path(),
            &[(
                "late.yaml",
                &config_map(
                    "late",
                    &format!("charter.dev/depends-on-external: \"{dep}\""),
                ),
            )],
        );
        let err = fails(install(
            &cluster,
            release,
            tmp.path().to_str().unwrap(),
            &n,
            "3s",
        ));
        assert!(err.contains(&message), "{err}");
        assert!(cms.get_opt("late").await.unwrap().is_none());
    }
    ns.delete().await;
    other.delete().await;
}

/// A test template's YAML as JSON.
fn support_yaml(text: &str) -> serde_json::Value {
    charter::yaml::parse_str(text, "test").unwrap()
}

/// A ConfigMap hook of charter's own annotations.
fn hook_map(name: &str, event: &str, weight: i64) -> String {
    config_map(
        name,
        &format!("charter.dev/hook: {event}, charter.dev/hook-weight: \"{weight}\""),
    )
}

/// `charter plan` over a deploy tree shows a target's groups and hooks after its diff, and as
/// data; `diff -o json` has them too; `apply --plan` refuses a target whose hooks changed since.
#[tokio::test]
async fn plan_shows_the_groups_and_hooks() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-plan").await;
    let tmp = tempfile::tempdir().unwrap();
    let chart_dir = tmp.path().join("chart");
    chart(
        &chart_dir,
        &[
            ("db.yaml", &config_map("db", "charter.dev/weight: \"-1\"")),
            ("web.yaml", &config_map("web", "")),
            ("setup.yaml", &hook_map("setup", "pre-install", 2)),
            ("after.yaml", &hook_map("after", "post-install", 0)),
            ("first.yaml", &hook_map("first", "pre-install", -3)),
        ],
    );
    let root = tmp.path().join("deploy");
    write(
        &root,
        "charter.yaml",
        &format!(
            "chart: {}\nrelease: web\nnamespace: {}\nkubeconfig: {}\nkubeContext: {}\n",
            chart_dir.display(),
            ns.name(),
            cluster.kubeconfig.display(),
            support::ADMIN_CONTEXT
        ),
    );
    write(&root, "dev/east/values.yaml", "{}\n");
    let root_s = root.to_str().unwrap();
    let out = support::charter().run(&["plan", root_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Applied in groups, each ready before the next (charter.dev/weight, charter.dev/depends-on):\n  1/2 weight -1: ConfigMap/db\n  2/2 weight 0: ConfigMap/web\n"),
        "{text}"
    );

    let hook = |event: &str, name: &str, weight: i64| {
        serde_json::json!({"event": event, "kind": "ConfigMap", "name": name,
            "template": format!("staged/templates/{name}.yaml"), "weight": weight})
    };
    let hooks = serde_json::json!([
        hook("pre-install", "first", -3),
        hook("pre-install", "setup", 2),
        hook("post-install", "after", 0)
    ]);
    let groups = serde_json::json!([
        {"weight": -1, "objects": ["ConfigMap/db"]},
        {"weight": 0, "objects": ["ConfigMap/web"]}
    ]);
    let out = support::charter().run(&["plan", root_s, "-o", "json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = &doc["targets"][0];
    assert_eq!(target["hooks"], hooks, "{doc:#}");
    assert_eq!(target["groups"], groups, "{doc:#}");
    assert!(
        target["hooksFingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("sha256:")),
        "{doc:#}"
    );

    let out = support::charter().cluster(&cluster.kubeconfig).run(&[
        "diff",
        "web",
        chart_dir.to_str().unwrap(),
        "-n",
        ns.name(),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&doc["hooks"], &doc["groups"]),
        (&hooks, &groups),
        "{doc:#}"
    );
    assert_eq!(doc["summary"]["create"], 2, "{doc:#}");

    // A hook's weight changes after the plan: refused, nothing applied; back as planned, the
    // plan applies and its hooks run.
    let plan = tmp.path().join("plan.json");
    let out = support::charter().run(&["plan", root_s, "--out", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    write(
        &chart_dir,
        "templates/setup.yaml",
        &hook_map("setup", "pre-install", 5),
    );
    let out = support::charter().run(&["apply", "--plan", plan.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        err.contains("hooks it would run differ from the plan's"),
        "{err}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), ns.name());
    assert!(cms.get_opt("web").await.unwrap().is_none());
    assert!(cms.get_opt("setup").await.unwrap().is_none());
    write(
        &chart_dir,
        "templates/setup.yaml",
        &hook_map("setup", "pre-install", 2),
    );
    let out = support::charter().run(&["apply", "--plan", plan.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for name in ["web", "db", "setup", "first", "after"] {
        assert!(cms.get_opt(name).await.unwrap().is_some(), "{name}");
    }
    ns.delete().await;
}

/// Uninstall deletes ordered objects group by group, the last applied first, each gone before
/// the next is deleted: held by a finalizer, the weight-10 ConfigMap keeps the weight -1 one
/// alive until it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_deletes_the_groups_last_first() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("stages-uninstall").await;
    let n = ns.name().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let held = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n  annotations: {charter.dev/weight: \"10\"}\n  finalizers: [charter.dev/test-hold]\ndata: {}\n";
    chart(
        tmp.path(),
        &[
            (
                "early.yaml",
                &config_map("early", "charter.dev/weight: \"-1\""),
            ),
            ("late.yaml", held),
        ],
    );
    let dir = tmp.path().to_str().unwrap();
    let out = install(&cluster, "held", dir, &n, "30s");
    assert!(out.status.success(), "{out:?}");
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &n);
    let kc = cluster.kubeconfig.clone();
    let ns_name = n.clone();
    let uninstall = std::thread::spawn(move || {
        support::charter()
            .cluster(&kc)
            .run(&["uninstall", "held", "-n", &ns_name])
    });
    let mut deleting = false;
    for _ in 0..100 {
        let late = cms.get("late").await.unwrap();
        if late.metadata.deletion_timestamp.is_some() {
            deleting = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(deleting, "late was never deleted");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let early = cms.get_opt("early").await.unwrap();
    assert!(
        early.is_some_and(|e| e.metadata.deletion_timestamp.is_none()),
        "early was deleted while late was still there"
    );
    cms.patch(
        "late",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let out = uninstall.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(cms.get_opt("early").await.unwrap().is_none());
    assert!(cms.get_opt("late").await.unwrap().is_none());
    ns.delete().await;
}
