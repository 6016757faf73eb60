//! Releases Helm installed, operated on by charter in place, through the real binaries against
//! the real test cluster: Helm 4 (server-side apply, `helm` owns fields with `Apply`) and Helm 3
//! (client-side, `helm` owns fields with `Update`). charter upgrades with a chart of its own
//! (the same objects, one field and one object fewer): no object recreated, no conflict, the
//! removed field and object gone, and Helm's history, rollback and upgrade still working. The
//! same round trip with a real chart (bitnami/nginx from the shared corpus) that charter
//! upgrades as the Helm chart it is.

mod support;

use std::path::Path;

use charter::release::ReleaseStore;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use support::{ADMIN_CONTEXT, cluster_or_skip, helm_command, write};

/// The Helm chart: a ConfigMap from values with a field (`extra`) charter's chart drops, a
/// ConfigMap charter's chart drops, and a Deployment whose container loses an env var.
fn helm_chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    );
    write(dir, "values.yaml", "message: hello\nreplicas: 1\n");
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  message: {{ .Values.message | quote }}\n  extra: \"yes\"\n",
    );
    write(
        dir,
        "templates/gone.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-gone\ndata: {}\n",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels: {app: {{ .Release.Name }}}\n  template:\n    metadata:\n      labels: {app: {{ .Release.Name }}}\n    spec:\n      {{- with .Values.nodeSelector }}\n      nodeSelector: {{ toJson . }}\n      {{- end }}\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n          env:\n            - name: OLD\n              value: \"1\"\n",
    );
}

/// charter's chart of the same objects: `extra`, the `-gone` ConfigMap and the env var left
/// out, a new image.
fn charter_chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: demo\nversion: 0.2.0\n",
    );
    write(dir, "values.yaml", "message: hello\nreplicas: 1\n");
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-cm\ndata:\n  message: {{ values.message | quote }}\n",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}\nspec:\n  replicas: {{ values.replicas }}\n  selector:\n    matchLabels: {app: {{ release.name }}}\n  template:\n    metadata:\n      labels: {app: {{ release.name }}}\n    spec:\n      containers:\n        - name: app\n          image: registry.invalid/app:2\n",
    );
}

/// Both charts, side by side in a temporary directory, and Helm's home and storage driver.
struct Charts {
    _dir: tempfile::TempDir,
    helm: String,
    charter: String,
    home: std::path::PathBuf,
    /// `HELM_DRIVER`: `secret` or `configmap`.
    driver: &'static str,
}

fn charts() -> Charts {
    let dir = tempfile::tempdir().unwrap();
    helm_chart(&dir.path().join("helm"));
    charter_chart(&dir.path().join("charter"));
    let s = |p: &str| dir.path().join(p).to_str().unwrap().to_string();
    Charts {
        helm: s("helm"),
        charter: s("charter"),
        home: dir.path().join("home"),
        driver: "secret",
        _dir: dir,
    }
}

/// A test's namespace, both charts, and the APIs it reads.
struct Setup {
    ns: support::TestNamespace,
    kc: std::path::PathBuf,
    c: Charts,
    cms: Api<ConfigMap>,
    deps: Api<Deployment>,
    secrets: Api<Secret>,
}

async fn setup(cluster: &support::TestCluster, prefix: &str) -> Setup {
    let ns = cluster.namespace(prefix).await;
    let api = || cluster.client.clone();
    Setup {
        cms: Api::namespaced(api(), ns.name()),
        deps: Api::namespaced(api(), ns.name()),
        secrets: Api::namespaced(api(), ns.name()),
        kc: cluster.kubeconfig.clone(),
        c: charts(),
        ns,
    }
}

/// A `helm` command against the test cluster as its admin, with Helm's storage driver.
fn helm_cmd(bin: &Path, c: &Charts, kc: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = helm_command(bin, &c.home);
    cmd.args(args)
        .args(["--kube-context", ADMIN_CONTEXT, "--kubeconfig"])
        .arg(kc)
        .env("HELM_DRIVER", c.driver);
    cmd
}

/// Runs `helm` against the test cluster; panics when it fails.
fn helm(bin: &Path, c: &Charts, kc: &Path, args: &[&str]) -> String {
    let out = support::tools::run(&mut helm_cmd(bin, c, kc, args), args, None);
    String::from_utf8(out.stdout).unwrap()
}

fn charter(kc: &Path, args: &[&str]) -> String {
    support::charter().cluster(kc).ok(args)
}

/// `data` of a ConfigMap, or `None` when it does not exist.
async fn data(cms: &Api<ConfigMap>, name: &str) -> Option<Vec<(String, String)>> {
    let cm = cms.get_opt(name).await.unwrap()?;
    Some(cm.data.unwrap_or_default().into_iter().collect())
}

fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The managers owning fields of the object itself, with their operations.
fn managers(meta: &kube::api::ObjectMeta) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = meta
        .managed_fields
        .iter()
        .flatten()
        .filter(|e| e.subresource.is_none())
        .map(|e| {
            (
                e.manager.clone().unwrap_or_default(),
                e.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Revision and status per line of `helm history` (header skipped).
fn helm_history(out: &str) -> Vec<(u64, String)> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t').map(str::trim);
            let rev = cols.next()?.parse().ok()?;
            Some((rev, cols.nth(1)?.to_string()))
        })
        .collect()
}

/// Helm installs (its records through `driver`); charter upgrades, reusing the values Helm was
/// given; Helm rolls back; charter rolls back; Helm upgrades.
async fn helm_then_charter(bin: &Path, prefix: &str, helm_field_op: &str, driver: &'static str) {
    let cluster = cluster_or_skip!();
    let Setup {
        ns,
        kc,
        c,
        cms,
        deps,
        secrets,
    } = setup(&cluster, prefix).await;
    let c = Charts { driver, ..c };
    let n = ns.name();

    helm(
        bin,
        &c,
        &kc,
        &["install", "web", &c.helm, "-n", n, "--set", "message=hi"],
    );
    let cm_uid = cms.get("web-cm").await.unwrap().metadata.uid;
    let dep = deps.get("web").await.unwrap();
    assert_eq!(
        managers(&dep.metadata),
        [("helm".to_string(), helm_field_op.to_string())],
        "how Helm owns its fields"
    );
    // Neither Helm writes kubectl's last-applied annotation: Helm 3 merges against the
    // previous release's manifest instead.
    let ann = dep.metadata.annotations.clone().unwrap_or_default();
    assert!(
        !ann.contains_key("kubectl.kubernetes.io/last-applied-configuration"),
        "{ann:?}"
    );
    let dep_uid = dep.metadata.uid;
    let storage = match driver {
        "configmap" => "helm-configmap",
        _ => "helm",
    };
    let listed = charter(&kc, &["list", "-n", n]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("web ") && l.trim_end().ends_with(storage)),
        "{listed}"
    );

    // Where Helm applied its fields (Helm 4), the diff shows those the chart dropped going
    // away; fields Helm 3 owns by update it does not predict.
    let out = support::charter().cluster(&kc).run(&[
        "diff",
        "web",
        &c.charter,
        "-n",
        n,
        "--set",
        "message=hi",
        "--set",
        "replicas=2",
    ]);
    let diff = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{diff}");
    let removed = |line: &str| {
        diff.lines()
            .any(|l| l.trim_start_matches('-').trim() == line)
    };
    assert_eq!(
        removed("extra: \"yes\"") || removed("extra: yes"),
        helm_field_op == "Apply",
        "{diff}"
    );
    assert!(
        diff.contains(&format!("ConfigMap {n}/web-gone (prune)")),
        "{diff}"
    );
    assert!(!diff.contains("drift"), "Helm's marks are no drift: {diff}");

    let out = charter(
        &kc,
        &[
            "upgrade",
            "web",
            &c.charter,
            "-n",
            n,
            "--reuse-values",
            "--set",
            "replicas=2",
        ],
    );
    assert!(
        out.contains("REVISION: 2") && out.contains("STATUS: deployed"),
        "{out}"
    );
    // The field the chart dropped is gone, the object Helm installed is the same object.
    assert_eq!(data(&cms, "web-cm").await, pairs(&[("message", "hi")]));
    assert_eq!(cms.get("web-cm").await.unwrap().metadata.uid, cm_uid);
    assert_eq!(data(&cms, "web-gone").await, None, "pruned");
    let dep = deps.get("web").await.unwrap();
    assert_eq!(dep.metadata.uid, dep_uid, "not recreated");
    let spec = dep.spec.unwrap();
    assert_eq!(
        spec.replicas,
        Some(2),
        "--set on top of the values Helm was given"
    );
    let container = &spec.template.spec.unwrap().containers[0];
    assert_eq!(container.image.as_deref(), Some("registry.invalid/app:2"));
    assert_eq!(
        container.env, None,
        "the env var that left the chart is removed"
    );
    // Still Helm's release: Helm owns the fields again, and the objects carry its marks.
    assert_eq!(
        managers(&dep.metadata),
        [("helm".to_string(), "Apply".to_string())]
    );
    let ann = dep.metadata.annotations.unwrap();
    assert_eq!(ann["meta.helm.sh/release-name"], "web");
    assert_eq!(ann["charter.dev/release-name"], "web");
    let status = charter(&kc, &["status", "web", "-n", n]);
    assert!(
        status.contains("helm"),
        "status names the storage: {status}"
    );

    let history = helm(bin, &c, &kc, &["history", "web", "-n", n]);
    assert_eq!(
        helm_history(&history),
        [(1, "superseded".to_string()), (2, "deployed".to_string())],
        "{history}"
    );
    let values = helm(
        bin,
        &c,
        &kc,
        &["get", "values", "web", "-n", n, "-o", "json"],
    );
    assert_eq!(values.trim(), r#"{"message":"hi","replicas":2}"#);

    helm(bin, &c, &kc, &["rollback", "web", "1", "-n", n]);
    assert_eq!(
        data(&cms, "web-cm").await,
        pairs(&[("extra", "yes"), ("message", "hi")])
    );
    assert!(data(&cms, "web-gone").await.is_some());

    let out = charter(&kc, &["rollback", "web", "2", "-n", n]);
    assert!(
        out.contains("REVISION: 4") && out.contains("STATUS: deployed"),
        "{out}"
    );
    assert_eq!(data(&cms, "web-cm").await, pairs(&[("message", "hi")]));
    assert_eq!(data(&cms, "web-gone").await, None);

    helm(
        bin,
        &c,
        &kc,
        &["upgrade", "web", &c.helm, "-n", n, "--set", "message=again"],
    );
    assert_eq!(
        data(&cms, "web-cm").await,
        pairs(&[("extra", "yes"), ("message", "again")])
    );
    let history = helm(bin, &c, &kc, &["history", "web", "-n", n]);
    assert_eq!(
        helm_history(&history).last(),
        Some(&(5, "deployed".to_string())),
        "{history}"
    );
    assert_eq!(deps.get("web").await.unwrap().metadata.uid, dep_uid);

    // charter uninstalls it: objects and Helm's records gone.
    charter(&kc, &["uninstall", "web", "-n", n]);
    assert_eq!(data(&cms, "web-cm").await, None);
    assert!(deps.get_opt("web").await.unwrap().is_none());
    let helm_records = kube::api::ListParams::default().labels("owner=helm,name=web");
    assert!(secrets.list(&helm_records).await.unwrap().items.is_empty());
    assert!(cms.list(&helm_records).await.unwrap().items.is_empty());
    ns.delete().await;
}

#[tokio::test]
async fn helm_4_release_upgraded_by_charter_and_back() {
    let Some(bin) = support::helm("helm_4_release_upgraded_by_charter_and_back") else {
        return;
    };
    helm_then_charter(&bin, "takeover-h4", "Apply", "secret").await;
}

#[tokio::test]
async fn helm_4_configmap_driver_release_upgraded_by_charter_and_back() {
    let Some(bin) = support::helm("helm_4_configmap_driver_release_upgraded_by_charter_and_back")
    else {
        return;
    };
    helm_then_charter(&bin, "takeover-h4cm", "Apply", "configmap").await;
}

#[tokio::test]
async fn helm_3_release_upgraded_by_charter_and_back() {
    let Some(bin) = support::helm3("helm_3_release_upgraded_by_charter_and_back") else {
        return;
    };
    helm_then_charter(&bin, "takeover-h3", "Update", "secret").await;
}

/// The objects of bitnami/nginx (corpus chart) installed as `web`, by kind and name, with
/// their uids.
async fn nginx_uids(client: &kube::Client, n: &str) -> Vec<(String, String)> {
    async fn of<K>(client: &kube::Client, n: &str, out: &mut Vec<(String, String)>)
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let lp = kube::api::ListParams::default().labels("app.kubernetes.io/instance=web");
        for o in Api::<K>::namespaced(client.clone(), n)
            .list(&lp)
            .await
            .unwrap()
        {
            let meta = o.meta();
            out.push((
                format!("{}/{}", K::kind(&()), meta.name.clone().unwrap_or_default()),
                meta.uid.clone().unwrap_or_default(),
            ));
        }
    }
    let mut out = Vec::new();
    of::<Deployment>(client, n, &mut out).await;
    of::<Service>(client, n, &mut out).await;
    of::<Secret>(client, n, &mut out).await;
    of::<ServiceAccount>(client, n, &mut out).await;
    of::<NetworkPolicy>(client, n, &mut out).await;
    of::<PodDisruptionBudget>(client, n, &mut out).await;
    out.sort();
    out
}

/// Replicas and whether each container (init containers too) has a securityContext, of the
/// Deployment `web-nginx`.
async fn nginx_deployment(deps: &Api<Deployment>) -> (Option<i32>, Vec<bool>) {
    let spec = deps.get("web-nginx").await.unwrap().spec.unwrap();
    let pod = spec.template.spec.unwrap();
    let contexts = pod
        .init_containers
        .unwrap_or_default()
        .iter()
        .chain(&pod.containers)
        .map(|c| c.security_context.is_some())
        .collect();
    (spec.replicas, contexts)
}

/// A real chart (bitnami/nginx from the shared corpus, with its `common` dependency, `lookup`
/// of its generated TLS Secret, and templates that render empty `annotations:`) installed by
/// `bin`, then upgraded by charter with the same chart: one value changed (replicas) and one
/// that removes a field (each container's securityContext). Same objects, no conflict, the
/// field gone, Helm's history and rollback working, and charter's rollback too.
async fn real_chart_helm_then_charter(bin: &Path, prefix: &str, helm_field_op: &str) {
    let Some(corpus) = support::helm_charts_corpus(prefix) else {
        return;
    };
    let cluster = cluster_or_skip!();
    let Setup {
        ns,
        kc,
        c,
        deps,
        secrets,
        ..
    } = setup(&cluster, prefix).await;
    let n = ns.name();
    let chart = corpus.join("nginx");
    let chart = chart.to_str().unwrap();
    // kwok has no load balancer: the chart's default Service type would never get an address.
    let base = ["-n", n, "--set", "service.type=ClusterIP"];
    let changed = [
        "--set",
        "replicaCount=2",
        "--set",
        "containerSecurityContext.enabled=false",
    ];
    let with = |verb: &[&'static str], extra: &[&'static str]| -> Vec<&str> {
        let mut args: Vec<&str> = verb.to_vec();
        args.extend([chart].iter().copied());
        args.extend(base.iter().copied());
        args.extend(extra.iter().copied());
        args
    };

    helm(bin, &c, &kc, &with(&["install", "web"], &[]));
    let uids = nginx_uids(&cluster.client, n).await;
    assert_eq!(
        uids.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "Deployment/web-nginx",
            "NetworkPolicy/web-nginx",
            "PodDisruptionBudget/web-nginx",
            "Secret/web-nginx-tls",
            "Service/web-nginx",
            "ServiceAccount/web-nginx",
        ]
    );
    let installed = nginx_deployment(&deps).await;
    assert_eq!(
        installed,
        (Some(1), vec![true, true]),
        "init container and nginx"
    );
    let dep = deps.get("web-nginx").await.unwrap();
    assert_eq!(
        managers(&dep.metadata),
        [("helm".to_string(), helm_field_op.to_string())],
        "how Helm owns its fields"
    );
    let tls = secrets.get("web-nginx-tls").await.unwrap().data;

    // The diff: the changed value, no drift (the chart's `hostNetwork: false` and the like are
    // not stored by the server); where Helm applied its fields, the removal too.
    let out = support::charter()
        .cluster(&kc)
        .run(&with(&["diff", "web"], &changed));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{diff}");
    assert!(diff.contains("-  replicas: 1\n+  replicas: 2\n"), "{diff}");
    assert_eq!(
        diff.contains("-        securityContext:"),
        helm_field_op == "Apply",
        "{diff}"
    );
    assert!(!diff.contains("drift"), "{diff}");

    let out = charter(&kc, &with(&["upgrade", "web"], &changed));
    assert!(
        out.contains("REVISION: 2") && out.contains("STATUS: deployed"),
        "{out}"
    );
    assert_eq!(
        nginx_uids(&cluster.client, n).await,
        uids,
        "no object recreated"
    );
    assert_eq!(
        nginx_deployment(&deps).await,
        (Some(2), vec![false, false]),
        "replicas changed, the securityContexts the chart no longer renders removed"
    );
    let dep = deps.get("web-nginx").await.unwrap();
    assert_eq!(
        managers(&dep.metadata),
        [("helm".to_string(), "Apply".to_string())]
    );
    // `lookup` found the generated certificate: the same one is kept.
    assert_eq!(secrets.get("web-nginx-tls").await.unwrap().data, tls);
    // The Service's template renders `annotations:` empty: Helm's marks are on it all the same.
    let svc = Api::<Service>::namespaced(cluster.client.clone(), n)
        .get("web-nginx")
        .await
        .unwrap();
    let ann = svc.metadata.annotations.unwrap_or_default();
    assert_eq!(
        ann.get("meta.helm.sh/release-name").map(String::as_str),
        Some("web"),
        "{ann:?}"
    );

    let history = helm(bin, &c, &kc, &["history", "web", "-n", n]);
    assert_eq!(
        helm_history(&history),
        [(1, "superseded".to_string()), (2, "deployed".to_string())],
        "{history}"
    );

    helm(bin, &c, &kc, &["rollback", "web", "1", "-n", n]);
    assert_eq!(nginx_deployment(&deps).await, installed);
    let out = charter(&kc, &["rollback", "web", "2", "-n", n]);
    assert!(out.contains("REVISION: 4"), "{out}");
    assert_eq!(nginx_deployment(&deps).await, (Some(2), vec![false, false]));
    let out = charter(&kc, &["rollback", "web", "1", "-n", n]);
    assert!(
        out.contains("REVISION: 5") && out.contains("STATUS: deployed"),
        "{out}"
    );
    assert_eq!(nginx_deployment(&deps).await, installed);
    let history = helm(bin, &c, &kc, &["history", "web", "-n", n]);
    assert_eq!(
        helm_history(&history).last(),
        Some(&(5, "deployed".to_string())),
        "{history}"
    );
    assert_eq!(nginx_uids(&cluster.client, n).await, uids);
    // Back where Helm installed it: nothing to change, nothing drifted.
    let out = support::charter()
        .cluster(&kc)
        .run(&with(&["diff", "web"], &[]));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{diff}");
    assert!(
        diff.contains("0 to change") && !diff.contains("drift"),
        "{diff}"
    );
    ns.delete().await;
}

#[tokio::test]
async fn bitnami_nginx_installed_by_helm_4_upgraded_by_charter() {
    let Some(bin) = support::helm("bitnami_nginx_installed_by_helm_4_upgraded_by_charter") else {
        return;
    };
    real_chart_helm_then_charter(&bin, "takeover-nginx-h4", "Apply").await;
}

#[tokio::test]
async fn bitnami_nginx_installed_by_helm_3_upgraded_by_charter() {
    let Some(bin) = support::helm3("bitnami_nginx_installed_by_helm_3_upgraded_by_charter") else {
        return;
    };
    real_chart_helm_then_charter(&bin, "takeover-nginx-h3", "Update").await;
}

/// A Helm 4 upgrade killed while it waits leaves its revision `pending-upgrade`: charter
/// reports it with its age, refuses to touch it while Helm may still be running, and once it
/// is as old as the lock TTL (30 s for rollback) `charter rollback` marks it failed and rolls
/// back; Helm works on the release afterwards.
#[tokio::test]
async fn pending_helm_release_recovered_by_rollback() {
    let Some(bin) = support::helm("pending_helm_release_recovered_by_rollback") else {
        return;
    };
    let cluster = cluster_or_skip!();
    let Setup {
        ns,
        kc,
        c,
        cms,
        secrets,
        ..
    } = setup(&cluster, "takeover-pending").await;
    let n = ns.name();
    helm(&bin, &c, &kc, &["install", "web", &c.helm, "-n", n]);

    // No node matches: the upgrade waits until it is killed.
    let args = [
        "upgrade",
        "web",
        &c.helm,
        "-n",
        n,
        "--wait",
        "--timeout",
        "10m",
        "--set-string",
        "nodeSelector.nowhere=yes",
        "--set",
        "message=stuck",
    ];
    let mut upgrade = helm_cmd(&bin, &c, &kc, &args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(c.home.with_extension("stderr")).unwrap())
        .spawn()
        .unwrap();
    support::wait_until(
        "the upgrade to be applied and waiting",
        support::WAIT,
        || async {
            let pending = secrets
                .get_opt("sh.helm.release.v1.web.v2")
                .await
                .unwrap()
                .and_then(|s| s.metadata.labels)
                .is_some_and(|l| l.get("status").map(String::as_str) == Some("pending-upgrade"));
            let applied =
                data(&cms, "web-cm").await == pairs(&[("extra", "yes"), ("message", "stuck")]);
            (pending && applied).then_some(())
        },
    )
    .await;
    upgrade.kill().unwrap();
    upgrade.wait().unwrap();
    let killed_at = std::time::Instant::now();

    let listed = charter(&kc, &["list", "-n", n, "--all"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with("web "))
        .unwrap_or_default();
    assert!(
        line.contains("pending-upgrade (") && line.contains("s)"),
        "pending with its age: {listed}"
    );
    let err = support::charter()
        .cluster(&kc)
        .fails(&["rollback", "web", "-n", n]);
    assert!(
        err.contains("revision 2 in Helm's records is pending-upgrade")
            && err.contains("may still be working"),
        "{err}"
    );

    let ttl = std::time::Duration::from_secs(31);
    tokio::time::sleep(ttl.saturating_sub(killed_at.elapsed())).await;
    let out = charter(&kc, &["rollback", "web", "-n", n]);
    assert!(
        out.contains("REVISION: 3") && out.contains("STATUS: deployed"),
        "{out}"
    );
    assert_eq!(
        data(&cms, "web-cm").await,
        pairs(&[("extra", "yes"), ("message", "hello")])
    );
    let history = helm(&bin, &c, &kc, &["history", "web", "-n", n]);
    assert_eq!(
        helm_history(&history),
        [
            (1, "superseded".to_string()),
            (2, "failed".to_string()),
            (3, "deployed".to_string())
        ],
        "{history}"
    );
    helm(
        &bin,
        &c,
        &kc,
        &["upgrade", "web", &c.helm, "-n", n, "--set", "message=after"],
    );
    assert_eq!(
        data(&cms, "web-cm").await,
        pairs(&[("extra", "yes"), ("message", "after")])
    );
    ns.delete().await;
}

/// Names of a release's Secrets with their `owner` labels, sorted.
async fn record_secrets(secrets: &Api<Secret>, release: &str) -> Vec<(String, String)> {
    let lp = kube::api::ListParams::default().labels(&format!("name={release}"));
    let mut out: Vec<(String, String)> = secrets
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| {
            let owner = s.metadata.labels.unwrap_or_default().remove("owner");
            (
                s.metadata.name.unwrap_or_default(),
                owner.unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn named(p: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs(p).unwrap_or_default()
}

/// `charter adopt` moves a Helm release into charter's records (Helm's kept as hidden backups,
/// or deleted), charter's history goes on there and drops Helm's marks; `adopt --to-helm`
/// writes it back and Helm upgrades and rolls back again.
#[tokio::test]
async fn adopt_and_return_to_helm() {
    let Some(bin) = support::helm("adopt_and_return_to_helm") else {
        return;
    };
    let cluster = cluster_or_skip!();
    let Setup {
        ns,
        kc,
        c,
        cms,
        secrets,
        ..
    } = setup(&cluster, "takeover-adopt").await;
    let n = ns.name();
    helm(&bin, &c, &kc, &["install", "web", &c.helm, "-n", n]);
    helm(
        &bin,
        &c,
        &kc,
        &["upgrade", "web", &c.helm, "-n", n, "--set", "message=two"],
    );
    let uid = cms.get("web-cm").await.unwrap().metadata.uid;

    let out = charter(&kc, &["adopt", "web", "-n", n]);
    assert!(
        out.contains("2 revisions moved from Helm's records"),
        "{out}"
    );
    assert_eq!(
        record_secrets(&secrets, "web").await,
        named(&[
            ("charter.release.v1.web.v1", "charter"),
            ("charter.release.v1.web.v2", "charter"),
            ("sh.helm.release.v1.web.v1", "charter-adopted"),
            ("sh.helm.release.v1.web.v2", "charter-adopted"),
        ])
    );
    let listed = charter(&kc, &["list", "-n", n]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("web ") && l.trim_end().ends_with("charter")),
        "{listed}"
    );
    let helm_list = helm(&bin, &c, &kc, &["list", "-n", n, "-q"]);
    assert_eq!(helm_list.trim(), "", "Helm no longer sees it");
    let err = support::charter()
        .cluster(&kc)
        .fails(&["adopt", "web", "-n", n]);
    assert!(err.contains("already in charter's records"), "{err}");

    let out = charter(
        &kc,
        &[
            "upgrade",
            "web",
            &c.charter,
            "-n",
            n,
            "--set",
            "message=three",
        ],
    );
    assert!(out.contains("REVISION: 3"), "{out}");
    let cm = cms.get("web-cm").await.unwrap();
    assert_eq!(cm.metadata.uid, uid);
    assert_eq!(data(&cms, "web-cm").await, pairs(&[("message", "three")]));
    assert_eq!(
        managers(&cm.metadata),
        [("charter".to_string(), "Apply".to_string())]
    );
    let ann = cm.metadata.annotations.unwrap_or_default();
    assert!(
        !ann.contains_key("meta.helm.sh/release-name"),
        "Helm's marks dropped: {ann:?}"
    );
    let c2 = charter::cluster::Cluster::connect(Some(&kc), Some(ADMIN_CONTEXT))
        .await
        .unwrap();
    let h = charter::release::SecretStore::new(&c2)
        .history(n, "web")
        .await
        .unwrap();
    assert_eq!(h.iter().map(|r| r.revision).collect::<Vec<_>>(), [1, 2, 3]);

    let out = charter(&kc, &["adopt", "web", "-n", n, "--to-helm"]);
    assert!(
        out.contains("3 revisions moved from charter's records"),
        "{out}"
    );
    assert_eq!(
        record_secrets(&secrets, "web").await,
        named(&[
            ("sh.helm.release.v1.web.v1", "helm"),
            ("sh.helm.release.v1.web.v2", "helm"),
            ("sh.helm.release.v1.web.v3", "helm"),
        ])
    );
    let history = helm(&bin, &c, &kc, &["history", "web", "-n", n]);
    assert_eq!(
        helm_history(&history),
        [
            (1, "superseded".to_string()),
            (2, "superseded".to_string()),
            (3, "deployed".to_string())
        ],
        "{history}"
    );
    let cm = cms.get("web-cm").await.unwrap();
    assert_eq!(
        managers(&cm.metadata),
        [("helm".to_string(), "Apply".to_string())]
    );
    helm(
        &bin,
        &c,
        &kc,
        &["upgrade", "web", &c.helm, "-n", n, "--set", "message=four"],
    );
    assert_eq!(
        data(&cms, "web-cm").await,
        pairs(&[("extra", "yes"), ("message", "four")])
    );
    helm(&bin, &c, &kc, &["rollback", "web", "3", "-n", n]);
    assert_eq!(data(&cms, "web-cm").await, pairs(&[("message", "three")]));
    assert_eq!(cms.get("web-cm").await.unwrap().metadata.uid, uid);

    // --delete-helm-records leaves no Helm record behind.
    helm(&bin, &c, &kc, &["install", "api", &c.helm, "-n", n]);
    let out = charter(&kc, &["adopt", "api", "-n", n, "--delete-helm-records"]);
    assert!(out.contains("Helm's records deleted"), "{out}");
    assert_eq!(
        record_secrets(&secrets, "api").await,
        named(&[("charter.release.v1.api.v1", "charter")])
    );
    ns.delete().await;
}

/// Bad input: a release in both storages is refused naming both; a damaged Helm record names
/// its Secret; a revision too large for one of Helm's Secrets is refused with its size before
/// anything is applied.
#[tokio::test]
async fn two_storages_damaged_and_too_large_records() {
    let Some(bin) = support::helm("two_storages_damaged_and_too_large_records") else {
        return;
    };
    let cluster = cluster_or_skip!();
    let Setup {
        ns,
        kc,
        c,
        cms,
        secrets,
        ..
    } = setup(&cluster, "takeover-bad").await;
    let n = ns.name();

    // The same release name installed by charter and by Helm.
    charter(&kc, &["install", "both", &c.charter, "-n", n]);
    helm(
        &bin,
        &c,
        &kc,
        &[
            "install",
            "both",
            &c.helm,
            "-n",
            n,
            "--take-ownership",
            "--server-side=false",
        ],
    );
    let err = support::charter()
        .cluster(&kc)
        .fails(&["status", "both", "-n", n]);
    assert!(
        err.contains("records in two storages")
            && err.contains("charter.release.v1.both.v1")
            && err.contains("sh.helm.release.v1.both.v1"),
        "{err}"
    );

    // A damaged Helm record.
    helm(&bin, &c, &kc, &["install", "broken", &c.helm, "-n", n]);
    let patch = serde_json::json!({"data": {"release": "bm90IGd6aXA="}});
    secrets
        .patch(
            "sh.helm.release.v1.broken.v1",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let err = support::charter()
        .cluster(&kc)
        .fails(&["history", "broken", "-n", n]);
    assert!(
        err.contains(&format!("Secret {n}/sh.helm.release.v1.broken.v1"))
            && err.contains("damaged"),
        "{err}"
    );

    // Incompressible data: three ConfigMaps of 400 KB each make a record over 1 MiB.
    helm(&bin, &c, &kc, &["install", "big", &c.helm, "-n", n]);
    let big = tempfile::tempdir().unwrap();
    charter_chart(big.path());
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..3 {
        let text: String = (0..400_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(
                    b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        [(seed % 62) as usize],
                )
            })
            .collect();
        write(
            big.path(),
            &format!("templates/blob{i}.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: blob{i}\ndata:\n  x: {text}\n"
            ),
        );
    }
    let err = support::charter().cluster(&kc).fails(&[
        "upgrade",
        "big",
        big.path().to_str().unwrap(),
        "-n",
        n,
    ]);
    assert!(
        err.contains("revision 2: the record is ")
            && err.contains("bytes as Helm stores it")
            && err.contains("charter adopt big"),
        "{err}"
    );
    assert!(
        cms.get_opt("blob0").await.unwrap().is_none(),
        "nothing applied"
    );
    let history = helm(&bin, &c, &kc, &["history", "big", "-n", n]);
    assert_eq!(
        helm_history(&history),
        [(1, "deployed".to_string())],
        "{history}"
    );
    ns.delete().await;
}
