//! `charter install / upgrade / uninstall / history` through the real binary against the real
//! test cluster: ownership metadata, revisions and their statuses, pruning, --wait on fake
//! nodes (success and timeout), ownership refusal and --take-ownership.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use charter::release::Status;
use charter::release::{ReleaseStore, SecretStore};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use support::{ADMIN_CONTEXT, cluster_or_skip, write};

/// A small chart: a ConfigMap from values, a Deployment, and an optional extra ConfigMap.
fn chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: app\nversion: 1.0.0\n",
    );
    write(
        dir,
        "values.yaml",
        "greeting: hello\nreplicas: 1\nextra: true\nnodeSelector: {}\n",
    );
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-cfg\ndata:\n  greeting: {{ values.greeting | quote }}\n  revision: \"{{ release.revision }}\"\n",
    );
    write(
        dir,
        "templates/extra.yaml",
        "{% if values.extra %}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-extra\ndata: {}\n{% endif %}",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}\nspec:\n  replicas: {{ values.replicas }}\n  selector:\n    matchLabels: {app: {{ release.name }}}\n  template:\n    metadata:\n      labels: {app: {{ release.name }}}\n    spec:\n      {%- if values.nodeSelector %}\n      nodeSelector:\n        {{- values.nodeSelector | to_yaml | nindent(n=8) }}\n      {%- endif %}\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n",
    );
}

/// A record read back from the cluster validates against schemas/release-record.schema.json.
/// A fresh namespace (named from `prefix`) and the test [`chart`] in a temporary directory.
async fn namespace_with_chart(
    cluster: &support::TestCluster,
    prefix: &str,
) -> (support::TestNamespace, tempfile::TempDir) {
    let ns = cluster.namespace(prefix).await;
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    (ns, tmp)
}

fn assert_valid_record(r: &charter::release::ReleaseRecord) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/release-record.schema.json")).unwrap();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource("record.json", schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let idx = compiler.compile("record.json", &mut schemas).unwrap();
    if let Err(e) = schemas.validate(&serde_json::to_value(r).unwrap(), idx) {
        panic!("record does not match its schema: {e:#}");
    }
    assert_eq!(r.checksum, r.compute_checksum());
}

/// Waits until a release's lock is held (an operation started by another process got going).
async fn wait_for_lease(cluster: &support::TestCluster, ns: &str, release: &str) {
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(cluster.client.clone(), ns);
    let name = charter::release::lock::lease_name(release);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while leases.get_opt(&name).await.unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "lease {name} never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// charter's own client for the test cluster, as its admin.
async fn admin(kubeconfig: &Path) -> charter::cluster::Cluster {
    charter::cluster::Cluster::connect(Some(kubeconfig), Some(ADMIN_CONTEXT))
        .await
        .unwrap()
}

fn charter(kubeconfig: &Path, args: &[&str]) -> Output {
    support::charter().cluster(kubeconfig).run(args)
}

fn ok(kubeconfig: &Path, args: &[&str]) -> String {
    support::charter().cluster(kubeconfig).ok(args)
}

fn fails(kubeconfig: &Path, args: &[&str]) -> String {
    support::charter().cluster(kubeconfig).fails(args)
}

#[tokio::test]
async fn install_upgrade_prune_wait_uninstall() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-cli").await;
    let kc = cluster.kubeconfig.clone();
    let chart_dir = tmp.path().to_str().unwrap();
    let n = ns.name();

    // Install, waiting for the Pod to become Ready on a fake node.
    let out = ok(
        &kc,
        &[
            "install",
            "web",
            chart_dir,
            "-n",
            n,
            "--wait",
            "--timeout",
            "120s",
        ],
    );
    assert!(
        out.contains("REVISION: 1") && out.contains("STATUS: deployed"),
        "{out}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let cm = cms.get("web-cfg").await.unwrap();
    let ann = cm.metadata.annotations.clone().unwrap();
    assert_eq!(ann["charter.dev/release-name"], "web");
    assert_eq!(ann["charter.dev/release-namespace"], n);
    assert_eq!(cm.metadata.labels.unwrap()["charter.dev/release"], "web");
    assert_eq!(cm.data.unwrap()["revision"], "1");
    assert!(cms.get_opt("web-extra").await.unwrap().is_some());

    let c = admin(&kc).await;
    let store = SecretStore::new(&c);
    let h = store.history(n, "web").await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].status, Status::Deployed);
    assert_eq!(h[0].inventory.len(), 3);
    assert_valid_record(&h[0]);

    // A second install of the same release is refused.
    let err = fails(&kc, &["install", "web", chart_dir, "-n", n]);
    assert!(
        err.contains("already exists") && err.contains("charter upgrade"),
        "{err}"
    );

    // Upgrade: a changed value and a removed template.
    let out = ok(
        &kc,
        &[
            "upgrade",
            "web",
            chart_dir,
            "-n",
            n,
            "--set",
            "greeting=bonjour",
            "--set",
            "extra=false",
        ],
    );
    assert!(out.contains("REVISION: 2"), "{out}");
    let cm = cms.get("web-cfg").await.unwrap();
    assert_eq!(cm.data.clone().unwrap()["greeting"], "bonjour");
    assert!(
        cms.get_opt("web-extra").await.unwrap().is_none(),
        "removed template's object is pruned"
    );
    let h = store.history(n, "web").await.unwrap();
    assert_eq!(
        (h[0].status, h[1].status),
        (Status::Superseded, Status::Deployed)
    );

    // --wait fails when Pods cannot be scheduled: the revision is recorded failed.
    let err = fails(
        &kc,
        &[
            "upgrade",
            "web",
            chart_dir,
            "-n",
            n,
            "--set",
            "nodeSelector.zone=nowhere",
            "--wait",
            "--timeout",
            "8s",
        ],
    );
    assert!(
        err.contains("timed out after 8s") && err.contains("Deployment"),
        "{err}"
    );
    let h = store.history(n, "web").await.unwrap();
    assert_eq!(h[2].status, Status::Failed);
    assert!(
        h[2].description.contains("timed out"),
        "{}",
        h[2].description
    );

    let out = ok(&kc, &["history", "web", "-n", n]);
    assert!(
        out.contains("superseded") && out.contains("failed"),
        "{out}"
    );

    // Rollback to revision 1: a new revision with revision 1's manifest; the pruned object is back.
    let err = fails(&kc, &["rollback", "web", "9", "-n", n]);
    assert!(
        err.contains("revision 9 does not exist") && err.contains("1 (superseded)"),
        "{err}"
    );
    let out = ok(&kc, &["rollback", "web", "1", "-n", n]);
    assert!(
        out.contains("REVISION: 4") && out.contains("Rollback to 1 complete"),
        "{out}"
    );
    assert!(
        cms.get_opt("web-extra").await.unwrap().is_some(),
        "rollback restores the pruned object"
    );
    assert_eq!(
        cms.get("web-cfg").await.unwrap().data.unwrap()["greeting"],
        "hello"
    );
    let h = store.history(n, "web").await.unwrap();
    assert_eq!(h[3].status, Status::Deployed);
    assert_eq!(h[1].status, Status::Superseded);
    let values = ok(&kc, &["get", "values", "web", "-n", n, "--revision", "2"]);
    assert!(values.contains("greeting: bonjour"), "{values}");
    let manifest = ok(&kc, &["get", "manifest", "web", "-n", n]);
    assert!(manifest.contains("name: web-extra"), "{manifest}");
    // Without a revision: back to the previous deployed one (revision 2's content).
    let out = ok(&kc, &["rollback", "web", "-n", n]);
    assert!(
        out.contains("REVISION: 5") && out.contains("Rollback to 2"),
        "{out}"
    );
    assert!(cms.get_opt("web-extra").await.unwrap().is_none());

    // Uninstall with --keep-history keeps records as uninstalled; rollback reinstalls.
    ok(&kc, &["uninstall", "web", "-n", n, "--keep-history"]);
    assert!(cms.get_opt("web-cfg").await.unwrap().is_none());
    assert_eq!(
        store
            .history(n, "web")
            .await
            .unwrap()
            .last()
            .unwrap()
            .status,
        Status::Uninstalled
    );
    let out = ok(&kc, &["rollback", "web", "-n", n]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(
        cms.get_opt("web-cfg").await.unwrap().is_some(),
        "rollback reinstalls"
    );

    // Uninstall removes objects and records.
    ok(&kc, &["uninstall", "web", "-n", n]);
    assert!(cms.get_opt("web-cfg").await.unwrap().is_none());
    let deploys: Api<Deployment> = Api::namespaced(cluster.client.clone(), n);
    assert!(deploys.get_opt("web").await.unwrap().is_none());
    assert!(store.history(n, "web").await.unwrap().is_empty());
    let err = fails(&kc, &["history", "web", "-n", n]);
    assert!(err.contains("not found"), "{err}");
    ns.delete().await;
}

#[tokio::test]
async fn existing_objects_need_take_ownership() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-own").await;
    let kc = cluster.kubeconfig.clone();
    let n = ns.name();
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let mut pre = ConfigMap::default();
    pre.metadata.name = Some("web-cfg".into());
    cms.create(&PostParams::default(), &pre).await.unwrap();

    let err = fails(
        &kc,
        &["install", "web", tmp.path().to_str().unwrap(), "-n", n],
    );
    assert!(
        err.contains("ConfigMap/") && err.contains("web-cfg") && err.contains("--take-ownership"),
        "{err}"
    );
    assert!(err.contains("created outside charter"), "{err}");

    ok(
        &kc,
        &[
            "upgrade",
            "--install",
            "web",
            tmp.path().to_str().unwrap(),
            "-n",
            n,
            "--take-ownership",
        ],
    );
    let cm = cms.get("web-cfg").await.unwrap();
    assert_eq!(
        cm.metadata.annotations.unwrap()["charter.dev/release-name"],
        "web"
    );
    ns.delete().await;
}

#[tokio::test]
async fn atomic_upgrade_returns_to_the_last_deployed_revision() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-atomic").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(
        &kc,
        &[
            "install",
            "api",
            dir,
            "-n",
            n,
            "--set",
            "greeting=v1",
            "--wait",
            "--timeout",
            "120s",
        ],
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let deploys: Api<Deployment> = Api::namespaced(cluster.client.clone(), n);
    // Once rolled out, the controllers stop writing status; only an apply could bump it now.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let rv = deploys.get("api").await.unwrap().metadata.resource_version;
    // A no-op upgrade sends nothing that changes a live object's resourceVersion.
    ok(
        &kc,
        &["upgrade", "api", dir, "-n", n, "--set", "greeting=v1"],
    );
    assert_eq!(
        cms.get("api-cfg").await.unwrap().data.unwrap()["revision"],
        "2"
    );
    assert_eq!(
        deploys.get("api").await.unwrap().metadata.resource_version,
        rv
    );
    let err = fails(
        &kc,
        &[
            "upgrade",
            "api",
            dir,
            "-n",
            n,
            "--set",
            "greeting=v2",
            "--set",
            "nodeSelector.zone=nowhere",
            "--wait",
            "--timeout",
            "6s",
            "--atomic",
        ],
    );
    assert!(
        err.contains("Rolled back to revision 2 (--atomic)"),
        "{err}"
    );
    let c = admin(&kc).await;
    let h = SecretStore::new(&c).history(n, "api").await.unwrap();
    let statuses: Vec<Status> = h.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            Status::Superseded,
            Status::Superseded,
            Status::Failed,
            Status::Deployed
        ]
    );
    assert_eq!(
        cms.get("api-cfg").await.unwrap().data.unwrap()["greeting"],
        "v1"
    );
    ns.delete().await;
}

#[tokio::test]
async fn unknown_fields_are_refused_not_dropped() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-strict").await;
    let kc = cluster.kubeconfig.clone();
    // A misspelt field: the server's default would drop it with a warning nobody sees.
    write(
        tmp.path(),
        "templates/typo.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ release.name }}-svc\nspec:\n  selector: {app: x}\n  prots:\n    - port: 80\n",
    );
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    for dry in [Some("--dry-run=server"), None] {
        let mut args = vec!["install", "strict", dir, "-n", n];
        args.extend(dry);
        let err = fails(&kc, &args);
        assert!(
            err.contains("prots") && err.contains("strict-svc"),
            "{dry:?}: the error names the field and the object: {err}"
        );
    }
    let svcs: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(cluster.client.clone(), n);
    assert!(svcs.get_opt("strict-svc").await.unwrap().is_none());
    // Without the typo the same chart installs.
    write(
        tmp.path(),
        "templates/typo.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ release.name }}-svc\nspec:\n  selector: {app: x}\n  ports:\n    - port: 80\n",
    );
    ok(&kc, &["upgrade", "strict", dir, "-n", n, "--install"]);
    assert!(svcs.get_opt("strict-svc").await.unwrap().is_some());

    // The client-side check behind that: built-in kinds are checked against the cluster's own
    // OpenAPI v3 schemas (clean objects skip the server's pass), anything else is left to the
    // server's strict validation.
    use charter::cluster::openapi::Verdict;
    let c = admin(&kc).await;
    let deploy = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "labels": {"a": "b"}, "annotations": {"x": "y"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
          "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
          "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{
            "name": "c", "image": "i", "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
            "env": [{"name": "K", "value": "v"}],
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}}]}}}});
    assert_eq!(
        c.verdict("apps/v1", "Deployment", &deploy).await,
        Verdict::Clean
    );
    let mut typo = deploy.clone();
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always".into();
    assert_eq!(
        c.verdict("apps/v1", "Deployment", &typo).await,
        Verdict::Undeclared(".spec.template.spec.containers[0].imagePullPolicyy".into())
    );
    let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c"}, "data": {"k": "v"}});
    assert_eq!(c.verdict("v1", "ConfigMap", &cm).await, Verdict::Clean);
    let cr = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"anything": 1}});
    assert_eq!(
        c.verdict("example.com/v1", "Widget", &cr).await,
        Verdict::Unsure
    );
    ns.delete().await;
}

#[tokio::test]
async fn dry_runs_change_nothing() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-dry").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    let out = ok(&kc, &["install", "dry", dir, "-n", n, "--dry-run"]);
    assert!(
        out.contains("# Source: app/templates/deploy.yaml") && out.contains("kind: Deployment"),
        "{out}"
    );
    let out = ok(&kc, &["install", "dry", dir, "-n", n, "--dry-run=server"]);
    assert!(out.contains("name: dry-cfg"), "{out}");
    // The server validates: a negative replica count is rejected with the field path.
    let err = fails(
        &kc,
        &[
            "install",
            "dry",
            dir,
            "-n",
            n,
            "--dry-run=server",
            "--set",
            "replicas=-1",
        ],
    );
    assert!(err.contains("spec.replicas"), "{err}");
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    assert!(
        cms.get_opt("dry-cfg").await.unwrap().is_none(),
        "dry runs persist nothing"
    );
    let c = admin(&kc).await;
    assert!(
        SecretStore::new(&c)
            .history(n, "dry")
            .await
            .unwrap()
            .is_empty()
    );
    ns.delete().await;
}

/// A fresh namespace and, in a temporary directory, a chart with a CRD and a Widget `w1` of
/// it. The CRD's group is unique to the namespace: CRDs are cluster-scoped and outlive it.
async fn namespace_with_widget_chart(
    cluster: &support::TestCluster,
    prefix: &str,
) -> (support::TestNamespace, tempfile::TempDir, String) {
    let ns = cluster.namespace(prefix).await;
    let tmp = tempfile::tempdir().unwrap();
    let group = format!("{}.example.com", ns.name());
    widget_chart(tmp.path(), &group);
    (ns, tmp, group)
}

/// A chart with a CRD (group `group`, kind Widget) and a Widget `w1`.
fn widget_chart(dir: &Path, group: &str) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: widgets\nversion: 1.0.0\n",
    );
    write(
        dir,
        "crds/widget.yaml",
        &format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: widgets, singular: widget, kind: Widget}}\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n"
        ),
    );
    write(
        dir,
        "templates/widget.yaml",
        &format!("apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n"),
    );
}

/// `--dry-run=server` prepares the objects as the deploy would (namespace, ownership) and has
/// the server check them; a custom resource whose CRD the same chart brings cannot be checked
/// before the CRD exists, so it is shown as rendered, not refused. Nothing is persisted.
#[tokio::test]
async fn a_server_dry_run_of_a_crd_and_its_custom_resource_changes_nothing() {
    let cluster = cluster_or_skip!();
    let (ns, tmp, group) = namespace_with_widget_chart(&cluster, "release-crd-dry").await;
    let (kc, n) = (cluster.kubeconfig.clone(), ns.name());
    let out = ok(
        &kc,
        &[
            "install",
            "widgets",
            tmp.path().to_str().unwrap(),
            "-n",
            n,
            "--dry-run=server",
        ],
    );
    assert!(
        out.contains("kind: CustomResourceDefinition") && out.contains("kind: Widget"),
        "{out}"
    );
    let c = admin(&kc).await;
    let crd = c
        .get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            &format!("widgets.{group}"),
        )
        .await
        .unwrap();
    assert!(crd.is_none(), "the dry run created the CRD");
    assert!(
        SecretStore::new(&c)
            .history(n, "widgets")
            .await
            .unwrap()
            .is_empty()
    );
    // An object the server refuses is still refused.
    write(
        tmp.path(),
        "templates/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  k: v\nbogus: 1\n",
    );
    let err = fails(
        &kc,
        &[
            "install",
            "widgets",
            tmp.path().to_str().unwrap(),
            "-n",
            n,
            "--dry-run=server",
        ],
    );
    assert!(err.contains("bogus"), "{err}");
    ns.delete().await;
}

#[tokio::test]
async fn a_crd_and_its_custom_resource_install_in_one_go() {
    let cluster = cluster_or_skip!();
    let (ns, tmp, group) = namespace_with_widget_chart(&cluster, "release-crd").await;
    let (kc, n) = (cluster.kubeconfig.clone(), ns.name());
    let out = ok(
        &kc,
        &["install", "widgets", tmp.path().to_str().unwrap(), "-n", n],
    );
    assert!(out.contains("STATUS: deployed"), "{out}");
    let c = admin(&kc).await;
    let w = c
        .get(&format!("{group}/v1"), "Widget", Some(n), "w1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w["spec"]["size"], 3);
    ok(&kc, &["uninstall", "widgets", "-n", n]);
    // Uninstall deleted the CRD (and with it the Widget); the server finalizes asynchronously.
    let crd_name = format!("widgets.{group}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let crd = c
            .get(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                None,
                &crd_name,
            )
            .await
            .unwrap();
        match crd {
            None => break,
            Some(crd) => assert!(
                crd.pointer("/metadata/deletionTimestamp").is_some()
                    && std::time::Instant::now() < deadline,
                "CRD {crd_name} was not deleted"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    ns.delete().await;
}

#[tokio::test]
async fn concurrent_operations_one_runs_the_other_reports_the_lock() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-lock-cli").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (
        tmp.path().to_str().unwrap().to_string(),
        ns.name().to_string(),
    );
    ok(&kc, &["install", "job", &dir, "-n", &n]);
    // The first upgrade holds the lock for its whole --wait (its Pods cannot be scheduled).
    let first = {
        let (kc, dir, n) = (kc.clone(), dir.clone(), n.clone());
        std::thread::spawn(move || {
            charter(
                &kc,
                &[
                    "upgrade",
                    "job",
                    &dir,
                    "-n",
                    &n,
                    "--set",
                    "nodeSelector.zone=none",
                    "--wait",
                    "--timeout",
                    "20s",
                ],
            )
        })
    };
    wait_for_lease(&cluster, ns.name(), "job").await;
    let err = fails(
        &kc,
        &["upgrade", "job", &dir, "-n", &n, "--set", "greeting=second"],
    );
    assert!(
        err.contains("is locked by") && err.contains("since"),
        "{err}"
    );
    let first = first.join().unwrap();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // With --wait-for-lock the second waits its turn and runs.
    let (kc2, dir2, n2) = (kc.clone(), dir.clone(), n.clone());
    let holder = std::thread::spawn(move || {
        charter(
            &kc2,
            &[
                "upgrade",
                "job",
                &dir2,
                "-n",
                &n2,
                "--set",
                "nodeSelector.zone=none",
                "--wait",
                "--timeout",
                "5s",
            ],
        )
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = ok(
        &kc,
        &[
            "upgrade",
            "job",
            &dir,
            "-n",
            &n,
            "--set",
            "greeting=third",
            "--wait-for-lock",
            "60s",
        ],
    );
    assert!(out.contains("STATUS: deployed"), "{out}");
    holder.join().unwrap();
    ns.delete().await;
}

#[tokio::test]
async fn a_killed_upgrade_is_reported_stale_and_the_next_one_succeeds() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-kill").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "crash", dir, "-n", n]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "upgrade",
            "crash",
            dir,
            "-n",
            n,
            "--set",
            "nodeSelector.zone=none",
            "--wait",
            "--timeout",
            "60s",
            "--lock-ttl",
            "20s",
        ])
        .arg("--kubeconfig")
        .arg(&kc)
        .arg("--kube-context")
        .arg(ADMIN_CONTEXT)
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_lease(&cluster, ns.name(), "crash").await;
    let c0 = admin(&kc).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while SecretStore::new(&c0)
        .history(n, "crash")
        .await
        .unwrap()
        .last()
        .unwrap()
        .status
        != Status::PendingUpgrade
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the upgrade never wrote its pending revision"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    let c = admin(&kc).await;
    let store = SecretStore::new(&c);
    assert_eq!(
        store
            .history(n, "crash")
            .await
            .unwrap()
            .last()
            .unwrap()
            .status,
        Status::PendingUpgrade
    );
    // Until the lease expires, the next run is told who holds it.
    let err = fails(&kc, &["upgrade", "crash", dir, "-n", n]);
    assert!(err.contains("is locked by"), "{err}");
    // The lease expires 20 s after the killed run's last renewal.
    std::thread::sleep(std::time::Duration::from_secs(22));
    let out = charter(
        &kc,
        &["upgrade", "crash", dir, "-n", n, "--set", "greeting=after"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("revision 2 was left pending") && stderr.contains("marked failed"),
        "{stderr}"
    );
    let h = store.history(n, "crash").await.unwrap();
    assert_eq!(h[1].status, Status::Failed);
    assert!(h[1].description.contains("stale"), "{}", h[1].description);
    assert_eq!(h[2].status, Status::Deployed);
    ns.delete().await;
}

#[tokio::test]
async fn field_conflicts_are_reported_until_forced() {
    use kube::api::{Patch, PatchParams};
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-conflict").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "cf", dir, "-n", n]);
    // Someone else takes ownership of one field with their own field manager.
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let patch = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cf-cfg"}, "data": {"greeting": "theirs"}});
    cms.patch(
        "cf-cfg",
        &PatchParams::apply("ops-team").force(),
        &Patch::Apply(&patch),
    )
    .await
    .unwrap();
    let err = fails(
        &kc,
        &["upgrade", "cf", dir, "-n", n, "--set", "greeting=ours"],
    );
    assert!(
        err.contains("conflicts with fields owned by other managers"),
        "{err}"
    );
    assert!(
        err.contains("data.greeting") && err.contains("ops-team"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    ok(
        &kc,
        &[
            "upgrade",
            "cf",
            dir,
            "-n",
            n,
            "--set",
            "greeting=ours",
            "--force-conflicts",
        ],
    );
    assert_eq!(
        cms.get("cf-cfg").await.unwrap().data.unwrap()["greeting"],
        "ours"
    );
    ns.delete().await;
}

#[tokio::test]
async fn a_release_over_three_mib_compressed_round_trips() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-big").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "Chart.yaml",
        "apiVersion: charter/v1\nname: big\nversion: 1.0.0\n",
    );
    write(tmp.path(), "values.yaml", "tag: a\n");
    // Six ConfigMaps of ~900 KB of hard-to-compress text each: ~5.4 MB of manifest.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for i in 0..6 {
        let blob: String = (0..900_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(ALPHABET[(x % 62) as usize])
            })
            .collect();
        write(tmp.path(), &format!("files/blob{i}.txt"), &blob);
        write(
            tmp.path(),
            &format!("templates/cm{i}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: blob{i}\ndata:\n  tag: {{{{ values.tag }}}}\n  blob: {{{{ files[\"files/blob{i}.txt\"] }}}}\n"
            ),
        );
    }
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "big", dir, "-n", n]);
    ok(&kc, &["upgrade", "big", dir, "-n", n, "--set", "tag=b"]);
    ok(&kc, &["rollback", "big", "-n", n]);
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client.clone(), n);
    let main = secrets.get("charter.release.v1.big.v3").await.unwrap();
    let parts: usize = main.metadata.annotations.unwrap()["charter.dev/parts"]
        .parse()
        .unwrap();
    assert!(
        parts >= 5,
        "expected > 3 MiB compressed, got {parts} parts of 700 KiB"
    );
    let c = admin(&kc).await;
    let h = SecretStore::new(&c).history(n, "big").await.unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[2].status, Status::Deployed);
    assert_eq!(
        h[2].values["tag"], "a",
        "rollback restored revision 1's values"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    assert_eq!(cms.get("blob5").await.unwrap().data.unwrap()["tag"], "a");
    ns.delete().await;
}

#[tokio::test]
async fn reuse_values_keeps_what_the_last_revision_was_given() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-reuse").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    ok(
        &kc,
        &["install", "ru", dir, "-n", n, "--set", "greeting=mine"],
    );
    ok(
        &kc,
        &[
            "upgrade",
            "ru",
            dir,
            "-n",
            n,
            "--reuse-values",
            "--set",
            "extra=false",
        ],
    );
    assert_eq!(
        cms.get("ru-cfg").await.unwrap().data.unwrap()["greeting"],
        "mine"
    );
    assert!(cms.get_opt("ru-extra").await.unwrap().is_none());
    // Without --reuse-values (or with --reset-values) only this run's layers apply.
    ok(&kc, &["upgrade", "ru", dir, "-n", n, "--reset-values"]);
    assert_eq!(
        cms.get("ru-cfg").await.unwrap().data.unwrap()["greeting"],
        "hello"
    );
    assert!(cms.get_opt("ru-extra").await.unwrap().is_some());
    let err = fails(
        &kc,
        &[
            "upgrade",
            "ru",
            dir,
            "-n",
            n,
            "--reuse-values",
            "--reset-values",
        ],
    );
    assert!(
        err.contains("--reset-values") || err.contains("cannot be used"),
        "{err}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn every_release_command_accepts_a_deploy_tree_target() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-tree").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    chart(&tmp.path().join("chart"));
    write(tmp.path(), ".git/HEAD", "");
    write(
        tmp.path(),
        "deploy/app/charter.yaml",
        &format!(
            "chart: ../../chart\nrelease: tree\nnamespace: {}\n",
            ns.name()
        ),
    );
    write(
        tmp.path(),
        "deploy/app/values.yaml",
        "greeting: from-tree\n",
    );
    write(
        tmp.path(),
        "deploy/app/prod/eu/values.yaml",
        "replicas: 1\n",
    );
    let leaf = tmp.path().join("deploy/app/prod/eu");
    let leaf = leaf.to_str().unwrap();
    let out = ok(&kc, &["install", leaf]);
    assert!(
        out.contains("NAME: tree") && out.contains(&format!("NAMESPACE: {}", ns.name())),
        "{out}"
    );
    ok(&kc, &["upgrade", leaf, "--set", "greeting=second"]);
    let out = ok(&kc, &["history", leaf]);
    assert!(
        out.contains("superseded") && out.contains("deployed"),
        "{out}"
    );
    let out = ok(&kc, &["get", "values", leaf]);
    assert!(out.contains("greeting: second"), "{out}");
    let out = ok(&kc, &["status", leaf]);
    assert!(out.contains("REVISION: 2"), "{out}");
    let out = ok(&kc, &["rollback", leaf]);
    assert!(out.contains("Rollback to 1"), "{out}");
    ok(&kc, &["uninstall", leaf]);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), ns.name());
    assert!(cms.get_opt("tree-cfg").await.unwrap().is_none());
    ns.delete().await;
}

#[tokio::test]
async fn an_unchanged_upgrade_still_repairs_what_was_changed_by_hand() {
    use kube::api::{DeleteParams, Patch, PatchParams};
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-repair").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "fix", dir, "-n", n]);
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let deploys: Api<Deployment> = Api::namespaced(cluster.client.clone(), n);

    // Rendered exactly as before, but gone from the cluster: applied again.
    cms.delete("fix-extra", &DeleteParams::default())
        .await
        .unwrap();
    // charter's label removed by hand: the object no longer lists by selector, yet is found.
    let unlabel = Patch::Merge(serde_json::json!({
        "metadata": {"labels": {"charter.dev/release": null}}
    }));
    deploys
        .patch("fix", &PatchParams::default(), &unlabel)
        .await
        .unwrap();
    ok(&kc, &["upgrade", "fix", dir, "-n", n]);
    assert!(cms.get_opt("fix-extra").await.unwrap().is_some());
    let labels = deploys.get("fix").await.unwrap().metadata.labels.unwrap();
    assert_eq!(labels["charter.dev/release"], "fix");

    // A value changed by another manager is not taken for unchanged: the apply runs and
    // reports the conflict, and --force-conflicts takes the field back.
    let scale = Patch::Merge(serde_json::json!({"spec": {"replicas": 4}}));
    deploys
        .patch(
            "fix",
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..Default::default()
            },
            &scale,
        )
        .await
        .unwrap();
    let err = fails(&kc, &["upgrade", "fix", dir, "-n", n]);
    assert!(
        err.contains("kubectl-edit") && err.contains("replicas"),
        "{err}"
    );
    ok(&kc, &["upgrade", "fix", dir, "-n", n, "--force-conflicts"]);
    let spec = deploys.get("fix").await.unwrap().spec.unwrap();
    assert_eq!(spec.replicas, Some(1));
    ns.delete().await;
}

#[tokio::test]
async fn uninstall_wait_waits_for_finalizers_and_times_out_naming_the_object() {
    use kube::api::{Patch, PatchParams};
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-unwait").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "Chart.yaml",
        "apiVersion: charter/v1\nname: held\nversion: 1.0.0\n",
    );
    write(
        tmp.path(),
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [charter.test/hold]\ndata: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: free\ndata: {}\n",
    );
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "held", dir, "-n", n]);
    let err = fails(
        &kc,
        &["uninstall", "held", "-n", n, "--wait", "--timeout", "3s"],
    );
    assert!(
        err.contains("timed out after 3s") && err.contains("ConfigMap/") && err.contains("/held"),
        "{err}"
    );
    assert!(
        !err.contains("/free ("),
        "the deleted one is not waited for: {err}"
    );
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    ok(
        &kc,
        &["uninstall", "held", "-n", n, "--wait", "--timeout", "30s"],
    );
    assert!(cms.get_opt("held").await.unwrap().is_none());
    ns.delete().await;
}

#[tokio::test]
async fn lookup_reads_the_live_cluster_during_install() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("release-lookup").await;
    let kc = cluster.kubeconfig.clone();
    let n = ns.name();
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), n);
    let pre: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "pre"}, "data": {"token": "from-the-cluster"}
    }))
    .unwrap();
    cms.create(&PostParams::default(), &pre).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "Chart.yaml",
        "apiVersion: charter/v1\nname: look\nversion: 1.0.0\n",
    );
    write(
        tmp.path(),
        "templates/cm.yaml",
        "{% set pre = lookup(api_version=\"v1\", kind=\"ConfigMap\", namespace=release.namespace, name=\"pre\") %}\
{% set gone = lookup(api_version=\"v1\", kind=\"ConfigMap\", namespace=release.namespace, name=\"nope\") %}\
{% set all = lookup(api_version=\"v1\", kind=\"ConfigMap\", namespace=release.namespace, name=\"\") %}\
apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: looked\ndata:\n  token: {{ pre.data.token | quote }}\n  missing: \"{{ gone | length }}\"\n  listed: \"{% for i in all.items %}{{ i.metadata.name }},{% endfor %}\"\n",
    );
    let dir = tmp.path().to_str().unwrap();
    let dry = ok(&kc, &["install", "look", dir, "-n", n, "--dry-run=server"]);
    assert!(dry.contains("token: \"from-the-cluster\""), "{dry}");
    ok(&kc, &["install", "look", dir, "-n", n]);
    let data = cms.get("looked").await.unwrap().data.unwrap();
    assert_eq!(data["token"], "from-the-cluster");
    assert_eq!(data["missing"], "0");
    assert!(data["listed"].split(',').any(|s| s == "pre"), "{data:?}");
    ns.delete().await;
}

#[tokio::test]
async fn history_max_keeps_only_the_newest_revisions() {
    let cluster = cluster_or_skip!();
    let (ns, tmp) = namespace_with_chart(&cluster, "release-histmax").await;
    let kc = cluster.kubeconfig.clone();
    let (dir, n) = (tmp.path().to_str().unwrap(), ns.name());
    ok(&kc, &["install", "hm", dir, "-n", n, "--history-max", "3"]);
    let upgrade = |revision: u32, max: &str| {
        let greeting = format!("greeting=v{revision}");
        let args = [
            "upgrade",
            "hm",
            dir,
            "-n",
            n,
            "--set",
            &greeting,
            "--history-max",
            max,
        ];
        ok(&kc, &args);
    };
    for revision in 2..=5 {
        upgrade(revision, "3");
    }
    let history: serde_json::Value =
        serde_json::from_str(&ok(&kc, &["history", "hm", "-n", n, "-o", "json"])).unwrap();
    let seen: Vec<(u64, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [(3, "superseded"), (4, "superseded"), (5, "deployed")];
    assert_eq!(
        seen,
        want.map(|(r, s)| (r, s.to_string())).to_vec(),
        "{history}"
    );
    // The pruned revisions' Secrets are gone from the cluster, not only from the listing, and
    // what is left reads back intact.
    let c = admin(&kc).await;
    let store = SecretStore::new(&c);
    let stored = store.history(n, "hm").await.unwrap();
    assert_eq!(
        stored.iter().map(|r| r.revision).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    stored.iter().for_each(assert_valid_record);
    // 0 keeps everything.
    upgrade(6, "0");
    assert_eq!(store.history(n, "hm").await.unwrap().len(), 4);
    ns.delete().await;
}
