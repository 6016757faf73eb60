//! Proves the test cluster is a real control plane, not a mock: server-side apply, field
//! ownership conflicts, dry-run with defaulting, validation, namespace finalization, garbage
//! collection, scheduling onto fake nodes, readiness and RBAC. Run against
//! `scripts/test-cluster up` (docs/testcluster.md); skips locally without a cluster.

mod support;

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use support::{
    FAKE_NODES, USER_CONTEXT, USER_NAME, WAIT, api_status, cluster_or_skip, wait_for, wait_gone,
    wait_pods_ready,
};

fn deployment(name: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "labels": { "app": name } },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": {
                    "containers": [{ "name": "app", "image": "registry.invalid/smoke:1.0" }]
                }
            }
        }
    })
}

#[tokio::test]
async fn server_side_apply_deployment_gets_replicaset_and_ready_pods_on_fake_nodes() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("smoke-ssa").await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns.name());
    let replicasets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), ns.name());
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns.name());

    let applied = deployments
        .patch(
            "web",
            &PatchParams::apply("charter-smoke"),
            &Patch::Apply(deployment("web", 2)),
        )
        .await
        .expect("server-side apply of a Deployment");
    let uid = applied.metadata.uid.clone().expect("uid");
    let managers: Vec<(String, String)> = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("charter-smoke".to_string(), "Apply".to_string())),
        "managedFields should record charter-smoke as an Apply manager: {managers:?}"
    );

    // The deployment controller (kube-controller-manager) creates a ReplicaSet owned by it.
    let rs =
        wait_for("a ReplicaSet owned by Deployment web", WAIT, || async {
            let list = replicasets
                .list(&ListParams::default().labels("app=web"))
                .await
                .map_err(|e| e.to_string())?;
            list.items
                .into_iter()
                .find(|rs| {
                    rs.metadata.owner_references.iter().flatten().any(|o| {
                        o.kind == "Deployment" && o.uid == uid && o.controller == Some(true)
                    })
                })
                .ok_or_else(|| "no owned ReplicaSet yet".to_string())
        })
        .await;
    assert_eq!(rs.spec.as_ref().and_then(|s| s.replicas), Some(2));

    // The scheduler binds the Pods to the fake nodes, kwok makes them Running and Ready.
    let ready = wait_pods_ready(&pods, "app=web", 2, WAIT).await;
    let rs_name = rs.metadata.name.clone().expect("rs name");
    for pod in &ready {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.clone());
        assert!(
            node.as_deref().is_some_and(|n| FAKE_NODES.contains(&n)),
            "pod {:?} should be scheduled on a kwok node, is on {node:?}",
            pod.metadata.name
        );
        assert!(
            pod.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.kind == "ReplicaSet" && o.name == rs_name),
            "pod {:?} should be owned by ReplicaSet {rs_name}",
            pod.metadata.name
        );
        let ip = pod.status.as_ref().and_then(|s| s.pod_ip.clone());
        assert!(
            ip.is_some(),
            "kwok should give pod {:?} an IP",
            pod.metadata.name
        );
    }

    // The Deployment's status follows (controller-manager watching kwok's pod updates).
    wait_for(
        "Deployment web to report 2 available replicas",
        WAIT,
        || async {
            let d = deployments.get("web").await.map_err(|e| e.to_string())?;
            let s = d.status.unwrap_or_default();
            if s.ready_replicas == Some(2)
                && s.available_replicas == Some(2)
                && s.updated_replicas == Some(2)
            {
                Ok(())
            } else {
                Err(format!(
                    "ready={:?} available={:?} updated={:?}",
                    s.ready_replicas, s.available_replicas, s.updated_replicas
                ))
            }
        },
    )
    .await;

    // Garbage collection: deleting the Deployment in the background removes what it owned.
    deployments
        .delete("web", &DeleteParams::background())
        .await
        .expect("delete deployment");
    wait_gone(&replicasets, &rs_name, WAIT).await;
    wait_for(
        "the Deployment's pods to be garbage-collected",
        WAIT,
        || async {
            let left = pods
                .list(&ListParams::default().labels("app=web"))
                .await
                .map_err(|e| e.to_string())?;
            if left.items.is_empty() {
                Ok(())
            } else {
                Err(format!("{} pods left", left.items.len()))
            }
        },
    )
    .await;
    ns.delete().await;
}

/// The Kubernetes release pinned in scripts/testcluster/go.mod.
fn pinned_kubernetes_version() -> String {
    let go_mod = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testcluster/go.mod"),
    )
    .expect("scripts/testcluster/go.mod");
    go_mod
        .lines()
        .find_map(|l| l.trim().strip_prefix("k8s.io/kubernetes "))
        .map(|v| v.trim().to_string())
        .expect("k8s.io/kubernetes require in go.mod")
}

#[tokio::test]
async fn the_cluster_reports_the_pinned_kubernetes_version_and_two_ready_fake_nodes() {
    let cluster = cluster_or_skip!();
    let pinned = pinned_kubernetes_version();
    let info = cluster.client.apiserver_version().await.expect("/version");
    // What charter's kubeVersion checks and capabilities will see.
    assert_eq!(info.git_version, pinned, "{info:?}");
    let mut parts = pinned.trim_start_matches('v').split('.');
    assert_eq!(Some(info.major.as_str()), parts.next(), "{info:?}");
    assert_eq!(Some(info.minor.as_str()), parts.next(), "{info:?}");
    assert_eq!(info.git_tree_state, "clean");

    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(cluster.client.clone());
    let list = nodes.list(&ListParams::default()).await.expect("nodes");
    let names: Vec<&str> = list
        .items
        .iter()
        .filter_map(|n| n.metadata.name.as_deref())
        .collect();
    assert_eq!(names, FAKE_NODES.to_vec());
    for node in &list.items {
        let status = node.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.status.clone());
        assert_eq!(
            ready.as_deref(),
            Some("True"),
            "{:?} not Ready",
            node.metadata.name
        );
        let kubelet = status.node_info.map(|i| i.kubelet_version);
        assert_eq!(kubelet.as_deref(), Some(pinned.as_str()));
        let pods = status.allocatable.and_then(|a| a.get("pods").cloned());
        assert_eq!(pods.map(|q| q.0), Some("110".to_string()));
    }
}

#[tokio::test]
async fn second_field_manager_applying_a_conflicting_field_gets_409() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("smoke-conflict").await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns.name());

    deployments
        .patch(
            "owned",
            &PatchParams::apply("charter-a"),
            &Patch::Apply(deployment("owned", 1)),
        )
        .await
        .expect("first apply");

    // Another manager sets the same field to another value, without force.
    let status = api_status(
        deployments
            .patch(
                "owned",
                &PatchParams::apply("charter-b"),
                &Patch::Apply(json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": { "name": "owned" },
                    "spec": { "replicas": 3 }
                })),
            )
            .await,
    );
    assert_eq!(status.code, 409, "{status:?}");
    assert_eq!(status.reason, "Conflict", "{status:?}");
    assert!(
        status.message.contains(".spec.replicas") && status.message.contains("charter-a"),
        "the conflict should name the field and its owner: {}",
        status.message
    );
    let causes = status.details.map(|d| d.causes).unwrap_or_default();
    assert!(
        causes
            .iter()
            .any(|c| c.reason == "FieldManagerConflict" && c.field == ".spec.replicas"),
        "causes should list the conflicting field: {causes:?}"
    );
    let unchanged = deployments.get("owned").await.expect("get");
    assert_eq!(
        unchanged.spec.and_then(|s| s.replicas),
        Some(1),
        "a refused apply must not change the object"
    );

    // With force, the second manager takes the field over.
    let forced = deployments
        .patch(
            "owned",
            &PatchParams::apply("charter-b").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": { "name": "owned" },
                "spec": { "replicas": 3 }
            })),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.spec.and_then(|s| s.replicas), Some(3));
    ns.delete().await;
}

#[tokio::test]
async fn dry_run_all_returns_the_defaulted_object_and_persists_nothing() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("smoke-dryrun").await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns.name());
    let configmaps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), ns.name());

    // Server-side apply with dryRun=All (what `charter diff` does).
    let dry = deployments
        .patch(
            "dry",
            &PatchParams::apply("charter-smoke").dry_run(),
            &Patch::Apply(deployment("dry", 1)),
        )
        .await
        .expect("dry-run apply");
    let spec = dry.spec.clone().expect("spec");
    assert_eq!(
        spec.strategy.as_ref().and_then(|s| s.type_.as_deref()),
        Some("RollingUpdate"),
        "the server fills in the default strategy"
    );
    assert_eq!(spec.revision_history_limit, Some(10));
    assert_eq!(spec.progress_deadline_seconds, Some(600));
    let pod_spec = spec.template.spec.expect("pod spec");
    assert_eq!(pod_spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(pod_spec.dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(pod_spec.termination_grace_period_seconds, Some(30));
    let container = &pod_spec.containers[0];
    assert_eq!(container.image_pull_policy.as_deref(), Some("IfNotPresent"));
    assert_eq!(
        container.termination_message_path.as_deref(),
        Some("/dev/termination-log")
    );

    // Dry-run create of a ConfigMap also answers as if created.
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "dry-cm" }, "data": { "k": "v" }
    }))
    .expect("configmap");
    let created = configmaps
        .create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &cm,
        )
        .await
        .expect("dry-run create");
    assert_eq!(created.metadata.namespace.as_deref(), Some(ns.name()));
    assert!(
        created.metadata.creation_timestamp.is_some(),
        "the server fills creationTimestamp"
    );

    // Nothing was stored.
    assert!(
        deployments.get_opt("dry").await.expect("get").is_none(),
        "dry-run apply persisted a Deployment"
    );
    assert!(
        configmaps.get_opt("dry-cm").await.expect("get").is_none(),
        "dry-run create persisted a ConfigMap"
    );
    let all = deployments
        .list(&ListParams::default())
        .await
        .expect("list");
    assert!(
        all.items.is_empty(),
        "no Deployment should exist: {:?}",
        all.items.len()
    );
    ns.delete().await;
}

#[tokio::test]
async fn invalid_objects_get_422_with_the_field_path() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("smoke-invalid").await;
    let configmaps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), ns.name());
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns.name());

    // A bad name.
    let bad: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "Bad_Name" }
    }))
    .expect("configmap");
    let status = api_status(configmaps.create(&PostParams::default(), &bad).await);
    assert_eq!(status.code, 422, "{status:?}");
    assert_eq!(status.reason, "Invalid", "{status:?}");
    let causes = status.details.clone().map(|d| d.causes).unwrap_or_default();
    assert!(
        causes
            .iter()
            .any(|c| c.field == "metadata.name" && c.reason == "FieldValueInvalid"),
        "causes should point at metadata.name: {causes:?}"
    );
    assert!(
        status
            .message
            .contains("metadata.name: Invalid value: \"Bad_Name\""),
        "{}",
        status.message
    );

    // Missing required fields (no selector, no containers), through server-side apply.
    let status = api_status(
        deployments
            .patch(
                "incomplete",
                &PatchParams::apply("charter-smoke"),
                &Patch::Apply(json!({
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": { "name": "incomplete" },
                    "spec": { "template": { "metadata": { "labels": { "app": "x" } }, "spec": {} } }
                })),
            )
            .await,
    );
    assert_eq!(status.code, 422, "{status:?}");
    assert_eq!(status.reason, "Invalid", "{status:?}");
    let fields: BTreeSet<(String, String)> = status
        .details
        .map(|d| d.causes)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.field, c.reason))
        .collect();
    for (field, reason) in [
        ("spec.selector", "FieldValueRequired"),
        ("spec.template.spec.containers", "FieldValueRequired"),
    ] {
        assert!(
            fields.contains(&(field.to_string(), reason.to_string())),
            "causes should contain {field} {reason}: {fields:?}"
        );
    }
    assert!(
        deployments
            .get_opt("incomplete")
            .await
            .expect("get")
            .is_none()
    );
    ns.delete().await;
}

#[tokio::test]
async fn deleting_a_namespace_removes_what_was_in_it() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("smoke-nsdel").await;
    let name = ns.name().to_string();
    let configmaps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &name);
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), &name);
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &name);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &name);
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());

    let pp = PatchParams::apply("charter-smoke");
    configmaps
        .patch("cm", &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}})))
        .await
        .expect("configmap");
    secrets
        .patch("s", &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}})))
        .await
        .expect("secret");
    deployments
        .patch("d", &pp, &Patch::Apply(deployment("d", 1)))
        .await
        .expect("deployment");
    wait_pods_ready(&pods, "app=d", 1, WAIT).await;

    let name = ns.disarm();
    namespaces
        .delete(&name, &DeleteParams::background())
        .await
        .expect("delete namespace");
    let terminating = namespaces
        .get(&name)
        .await
        .expect("namespace is still there while it finalizes");
    assert_eq!(
        terminating.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating"),
        "a deleted namespace goes through Terminating"
    );
    // The namespace controller (kube-controller-manager) empties it and removes the finalizer.
    wait_gone(&namespaces, &name, WAIT).await;
    for (kind, count) in [
        (
            "configmaps",
            configmaps
                .list(&ListParams::default())
                .await
                .expect("list")
                .items
                .len(),
        ),
        (
            "secrets",
            secrets
                .list(&ListParams::default())
                .await
                .expect("list")
                .items
                .len(),
        ),
        (
            "deployments",
            deployments
                .list(&ListParams::default())
                .await
                .expect("list")
                .items
                .len(),
        ),
        (
            "pods",
            pods.list(&ListParams::default())
                .await
                .expect("list")
                .items
                .len(),
        ),
    ] {
        assert_eq!(count, 0, "{kind} left behind in deleted namespace {name}");
    }
}

#[tokio::test]
async fn unprivileged_user_is_forbidden_to_read_secrets_without_a_role() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("smoke-rbac").await;
    let admin_secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), ns.name());
    admin_secrets
        .patch(
            "token",
            &PatchParams::apply("charter-smoke"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}, "stringData": {"password": "hunter2"}})),
        )
        .await
        .expect("admin creates a secret");

    let user = cluster.client_as(USER_CONTEXT).await;
    let user_secrets: Api<Secret> = Api::namespaced(user.clone(), ns.name());

    let status = api_status(user_secrets.get("token").await);
    assert_eq!(status.code, 403, "{status:?}");
    assert_eq!(status.reason, "Forbidden", "{status:?}");
    assert!(
        status.message.contains(&format!(
            "User \"{USER_NAME}\" cannot get resource \"secrets\""
        )) && status
            .message
            .contains(&format!("in the namespace \"{}\"", ns.name())),
        "{}",
        status.message
    );
    let status = api_status(user_secrets.list(&ListParams::default()).await);
    assert_eq!(status.code, 403, "{status:?}");
    assert!(
        status.message.contains("cannot list resource \"secrets\""),
        "{}",
        status.message
    );

    // Control: the same user in a namespace where it has a Role can read them, so the 403
    // above was RBAC deciding, not a broken user.
    let allowed = cluster.namespace("smoke-rbac-ok").await;
    let pp = PatchParams::apply("charter-smoke");
    Api::<Secret>::namespaced(cluster.client.clone(), allowed.name())
        .patch("token", &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token"}, "stringData": {"password": "x"}})))
        .await
        .expect("secret");
    Api::<Role>::namespaced(cluster.client.clone(), allowed.name())
        .patch(
            "read-secrets",
            &pp,
            &Patch::Apply(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "read-secrets"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
            })),
        )
        .await
        .expect("role");
    Api::<RoleBinding>::namespaced(cluster.client.clone(), allowed.name())
        .patch("read-secrets", &pp, &Patch::Apply(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "read-secrets"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-secrets"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER_NAME}]
        })))
        .await
        .expect("rolebinding");
    let user_allowed: Api<Secret> = Api::namespaced(user, allowed.name());
    let secret = wait_for("the RoleBinding to take effect", WAIT, || async {
        user_allowed.get("token").await.map_err(|e| e.to_string())
    })
    .await;
    assert_eq!(secret.metadata.name.as_deref(), Some("token"));
    // And the first namespace is still closed to it.
    assert_eq!(api_status(user_secrets.get("token").await).code, 403);
    ns.delete().await;
    allowed.delete().await;
}

// ---------------------------------------------------------------------------------------------
// The contract of scripts/test-cluster itself (docs/testcluster.md): refusing a second `up`,
// a no-op `down`, clusters side by side, no process left behind when the owner is killed, and
// a failed build reported with go's error.

mod script {
    use std::ffi::OsStr;
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Stdio};
    use std::time::Duration;

    use k8s_openapi::api::core::v1::Node;
    use kube::api::{Api, ListParams};

    use crate::support::{self, ADMIN_CONTEXT, FAKE_NODES, WAIT, cluster_or_skip, wait_for};

    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-cluster")
    }

    struct Output {
        ok: bool,
        stdout: String,
        stderr: String,
    }

    async fn run(args: &[&str], envs: &[(&str, &OsStr)], program: &Path) -> Output {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .await
            .unwrap_or_else(|e| panic!("running {} {args:?}: {e}", program.display()));
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The state directory of the cluster tests run against, if scripts/test-cluster made it.
    fn cluster_dir(kubeconfig: &Path) -> Option<PathBuf> {
        let dir = kubeconfig.parent()?;
        dir.join("pids").is_dir().then(|| dir.to_path_buf())
    }

    fn read_pids(dir: &Path) -> Vec<(String, u32, String)> {
        let mut pids = Vec::new();
        for entry in std::fs::read_dir(dir.join("pids")).expect("pids dir") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("pid file");
            let mut parts = text.split_whitespace();
            let pid: u32 = parts.next().and_then(|p| p.parse().ok()).expect("pid");
            let start = parts.next().expect("start time").to_string();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            pids.push((name, pid, start));
        }
        pids.sort();
        pids
    }

    /// Whether `pid` is still the process that was started at `start` (and not a zombie).
    fn alive(pid: u32, start: &str) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.first() != Some(&"Z") && fields.get(19) == Some(&start)
    }

    fn api_port(kubeconfig: &Path) -> String {
        let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
        let server = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .expect("server line");
        server.rsplit(':').next().expect("port").to_string()
    }

    struct KillOnDrop(Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[tokio::test]
    async fn second_up_of_a_running_cluster_is_refused_and_down_of_a_stopped_one_is_a_no_op() {
        let cluster = cluster_or_skip!();
        let Some(dir) = cluster_dir(&cluster.kubeconfig) else {
            support::say("test cluster was not started by scripts/test-cluster; nothing to check");
            return;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let root = dir.parent().unwrap();
        let env = [("CHARTER_TESTCLUSTER_DIR", root.as_os_str())];

        let again = run(&["up", "--name", &name], &env, &script()).await;
        assert!(
            !again.ok,
            "a second up of {name} must fail: {}",
            again.stderr
        );
        assert!(
            again
                .stderr
                .contains(&format!("cluster '{name}' is already running")),
            "{}",
            again.stderr
        );
        assert!(
            again.stdout.is_empty(),
            "no export line for a refused up: {}",
            again.stdout
        );
        // The running cluster is untouched.
        cluster
            .client
            .apiserver_version()
            .await
            .expect("cluster still answers");

        let stopped = support::unique_name("never-started");
        let down = run(&["down", "--name", &stopped], &env, &script()).await;
        assert!(
            down.ok,
            "down of a cluster that is not running is a no-op: {}",
            down.stderr
        );
        assert!(
            down.stderr.contains(&format!(
                "cluster '{stopped}' is not running; nothing to do"
            )),
            "{}",
            down.stderr
        );
        let status = run(&["status", "--name", &stopped], &env, &script()).await;
        assert!(!status.ok, "status of a stopped cluster fails");
    }

    #[tokio::test]
    async fn a_second_cluster_runs_side_by_side_on_free_ports_and_goes_away_with_its_killed_owner()
    {
        let cluster = cluster_or_skip!();
        let Some(dir) = cluster_dir(&cluster.kubeconfig) else {
            support::say("test cluster was not started by scripts/test-cluster; nothing to check");
            return;
        };
        let root = dir.parent().unwrap().to_path_buf();
        // Ask for a port someone else holds for the API server: up must notice and move on.
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken_port = taken.local_addr().expect("addr").port();
        let mut ports = vec![taken_port.to_string()];
        for _ in 0..5 {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            ports.push(l.local_addr().expect("addr").port().to_string());
        }
        let ports = ports.join(" ");
        let env = [
            ("CHARTER_TESTCLUSTER_DIR", root.as_os_str()),
            ("CHARTER_TESTCLUSTER_PORTS", OsStr::new(&ports)),
        ];
        // Stands in for a test run that gets SIGKILLed and can run no trap.
        let owner = KillOnDrop(
            std::process::Command::new("sleep")
                .arg("600")
                .spawn()
                .expect("spawn sleep"),
        );
        let name = support::unique_name("side");
        let owner_pid = owner.0.id().to_string();
        let up = run(
            &["up", "--name", &name, "--owner-pid", &owner_pid],
            &env,
            &script(),
        )
        .await;
        assert!(up.ok, "second cluster up: {}", up.stderr);
        assert!(
            up.stderr.contains(&format!(
                "a port was taken (listen tcp 127.0.0.1:{taken_port}: bind: address already in use); retrying with other free ports"
            )),
            "{}",
            up.stderr
        );
        let kubeconfig = PathBuf::from(
            up.stdout
                .lines()
                .find_map(|l| l.strip_prefix("export CHARTER_TEST_KUBECONFIG="))
                .unwrap_or_else(|| panic!("no export line in {:?}", up.stdout)),
        );
        assert!(
            up.stdout
                .contains(&format!("export KUBECONFIG={}", kubeconfig.display())),
            "{}",
            up.stdout
        );
        let second_dir = kubeconfig.parent().unwrap().to_path_buf();
        assert_eq!(second_dir, root.join(&name));

        // Its own ports, its own API server, its own fake nodes.
        assert_ne!(api_port(&kubeconfig), taken_port.to_string());
        assert_ne!(api_port(&kubeconfig), api_port(&cluster.kubeconfig));
        drop(taken);
        let client = support::client_for(&kubeconfig, ADMIN_CONTEXT)
            .await
            .expect("client for the second cluster");
        let nodes: Api<Node> = Api::all(client);
        let names: Vec<String> = nodes
            .list(&ListParams::default())
            .await
            .expect("nodes of the second cluster")
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect();
        assert_eq!(names, FAKE_NODES.to_vec());

        let pids = read_pids(&second_dir);
        let names: Vec<&str> = pids.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "etcd",
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kwok",
                "watchdog"
            ]
        );
        assert!(pids.iter().all(|(_, pid, start)| alive(*pid, start)));

        // SIGKILL the owner: the watchdog stops every recorded process and removes the data.
        drop(owner);
        wait_for(
            "the second cluster to go away with its owner",
            WAIT,
            || async {
                let left: Vec<&(String, u32, String)> = pids
                    .iter()
                    .filter(|(_, pid, start)| alive(*pid, start))
                    .collect();
                if left.is_empty() && !second_dir.exists() {
                    Ok(())
                } else {
                    Err(format!(
                        "alive: {left:?}, dir exists: {}",
                        second_dir.exists()
                    ))
                }
            },
        )
        .await;
        // The first cluster is not affected.
        cluster
            .client
            .apiserver_version()
            .await
            .expect("first cluster still answers");
    }

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy_tree(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
    }

    #[tokio::test]
    async fn a_failed_build_prints_gos_error_exits_non_zero_and_caches_nothing() {
        let _cluster = cluster_or_skip!();
        // A copy of the script and the Go module, with a compile error in one main.go.
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("repo");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
        copy_tree(&src.join("testcluster"), &repo.join("scripts/testcluster"));
        std::fs::copy(src.join("test-cluster"), repo.join("scripts/test-cluster"))
            .expect("copy script");
        let main_go = repo.join("scripts/testcluster/cmd/etcd/main.go");
        let mut code = std::fs::read_to_string(&main_go).expect("main.go");
        code.push_str("\nfunc broken() { undefinedOnPurpose() }\n");
        std::fs::write(&main_go, code).expect("write main.go");

        // The real Go build cache keeps this quick; the binary cache is a fresh one.
        let gocache = std::process::Command::new("go")
            .args(["env", "GOCACHE"])
            .output()
            .expect("go env GOCACHE");
        let gocache = PathBuf::from(String::from_utf8_lossy(&gocache.stdout).trim());
        let cache = tmp.path().join("cache");
        let out = tokio::time::timeout(
            Duration::from_secs(600),
            run(
                &["build"],
                &[
                    ("XDG_CACHE_HOME", cache.as_os_str()),
                    ("GOCACHE", gocache.as_os_str()),
                ],
                &repo.join("scripts/test-cluster"),
            ),
        )
        .await
        .expect("the failing build finishes");
        assert!(!out.ok, "a broken build must fail: {}", out.stderr);
        assert!(
            out.stderr.contains("undefined: undefinedOnPurpose"),
            "go's own error must be shown: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("go build of the test cluster failed"),
            "{}",
            out.stderr
        );
        assert!(
            out.stdout.is_empty(),
            "no binary directory printed: {}",
            out.stdout
        );
        let cached: Vec<String> = std::fs::read_dir(cache.join("charter-testcluster"))
            .expect("cache dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        assert!(
            cached.is_empty(),
            "nothing may be cached after a failed build: {cached:?}"
        );
    }
}
