//! `charter diff`, `plan` and `apply` against a real control plane (scripts/test-cluster); the
//! plan test starts a second cluster. Bad-input tests need no cluster.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::{ADMIN_CONTEXT, ExtraCluster, cluster_or_skip, write};

const OLD_SECRET: &str = "s3cr3t-old-value";
const NEW_SECRET: &str = "n3w-s3cr3t-value-x";

/// A chart with a ConfigMap, an optional extra ConfigMap, a Secret, a Service and a Deployment
/// whose env list can grow by one item in the middle.
fn chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: app\nversion: 1.0.0\n",
    );
    write(
        dir,
        "values.yaml",
        &format!(
            "image: registry.invalid/app:1\nreplicas: 2\ngreeting: hello\nextra: true\nnewEnv: false\npassword: {OLD_SECRET}\n"
        ),
    );
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-cfg\ndata:\n  greeting: {{ values.greeting | quote }}\n",
    );
    write(
        dir,
        "templates/extra.yaml",
        "{% if values.extra %}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-extra\ndata:\n  a: b\n{% endif %}",
    );
    write(
        dir,
        "templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ release.name }}-secret\nstringData:\n  password: {{ values.password | quote }}\n",
    );
    write(
        dir,
        "templates/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ release.name }}\nspec:\n  selector:\n    app: {{ release.name }}\n  ports:\n    - port: 80\n      targetPort: 8080\n",
    );
    write(
        dir,
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}\nspec:\n  replicas: {{ values.replicas }}\n  selector:\n    matchLabels: {app: {{ release.name }}}\n  template:\n    metadata:\n      labels: {app: {{ release.name }}}\n    spec:\n      containers:\n        - name: app\n          image: {{ values.image }}\n          env:\n            - name: A\n              value: a\n{% if values.newEnv %}            - name: NEW\n              value: new\n{% endif %}            - name: Z\n              value: z\n",
    );
}

/// A deploy tree at `tree` for the chart at `chart_dir`: release `web` in `ns`, one target
/// `dev/east` on the test cluster. Returns the target directory.
fn tree(tree: &Path, chart_dir: &Path, ns: &str, kubeconfig: &Path) -> PathBuf {
    write(
        tree,
        "charter.yaml",
        &format!(
            "chart: {}\nrelease: web\nnamespace: {ns}\nkubeconfig: {}\nkubeContext: {ADMIN_CONTEXT}\n",
            chart_dir.display(),
            kubeconfig.display()
        ),
    );
    write(tree, "dev/east/values.yaml", "greeting: hello\n");
    tree.join("dev/east")
}

/// Runs charter with only the environment a test gives it (no KUBECONFIG, no CI).
fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = support::charter().env_remove("CI");
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let out: Output = cmd.run(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked"),
        "charter {args:?} panicked: {err}"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_env(args, &[])
}

/// `charter diff ... -o json`, expecting exit code `code`.
fn diff_json(args: &[&str], code: i32) -> Value {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let (c, out, err) = run(&all);
    assert_eq!(c, code, "charter {all:?}: {err}\n{out}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn object<'a>(report: &'a Value, kind: &str, name: &str) -> &'a Value {
    report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == kind && o["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {report:#}"))
}

/// `Kind/name` of every object with one of `actions`.
fn with_action(report: &Value, actions: &[&str]) -> BTreeSet<String> {
    report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| actions.contains(&o["action"].as_str().unwrap()))
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn paths(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn diff_shows_changes_drift_secrets_and_honours_ignore_rules() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("diff-cli").await;
    let tmp = tempfile::tempdir().unwrap();
    let chart_dir = tmp.path().join("chart");
    chart(&chart_dir);
    let leaf = tree(
        &tmp.path().join("tree"),
        &chart_dir,
        ns.name(),
        &cluster.kubeconfig,
    );
    let leaf_s = leaf.to_str().unwrap();

    // Not installed: everything is created, nothing drifted.
    let r = diff_json(&[leaf_s], 2);
    assert_eq!(r["summary"]["create"], 5, "{r:#}");
    assert_eq!(r["summary"]["drift"], 0, "{r:#}");

    let (c, _, err) = run(&["install", leaf_s]);
    assert_eq!(c, 0, "{err}");

    // Nothing changed: exit 0 and every object unchanged, so no server default (the Service's
    // clusterIP, the container's terminationMessagePath, ...) shows as a difference.
    let r = diff_json(&[leaf_s], 0);
    assert_eq!(r["summary"]["unchanged"], 5, "{r:#}");
    let (c, out, _) = run(&["diff", leaf_s]);
    assert_eq!(c, 0);
    assert!(
        !out.contains("clusterIP") && !out.contains("terminationMessagePath"),
        "{out}"
    );

    // A value change is exactly that field.
    let r = diff_json(&[leaf_s, "--set", "image=registry.invalid/app:2"], 2);
    assert_eq!(
        with_action(&r, &["change", "create", "prune"]),
        BTreeSet::from(["Deployment/web".to_string()])
    );
    let changes = &object(&r, "Deployment", "web")["changes"];
    assert_eq!(
        changes,
        &json!([{"path": "/spec/template/spec/containers/name=app/image", "op": "changed",
                 "old": "registry.invalid/app:1", "new": "registry.invalid/app:2"}]),
        "{r:#}"
    );

    // Inserting one env var in the middle is one added item.
    let r = diff_json(&[leaf_s, "--set", "newEnv=true"], 2);
    let changes = &object(&r, "Deployment", "web")["changes"];
    assert_eq!(
        paths(changes),
        ["/spec/template/spec/containers/name=app/env/name=NEW"],
        "{r:#}"
    );
    assert_eq!(changes[0]["op"], "added");

    // A Secret change is masked in every format.
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    for format in [None, Some("json"), Some("markdown")] {
        let mut args = vec!["diff", leaf_s, "--set", "password=n3w-s3cr3t-value-x"];
        if let Some(f) = format {
            args.extend(["-o", f]);
        }
        let (c, out, err) = run(&args);
        assert_eq!(c, 2, "{format:?}: {err}");
        assert!(out.contains("<secret: "), "{format:?}: {out}");
        for leak in [
            OLD_SECRET.to_string(),
            NEW_SECRET.to_string(),
            b64(OLD_SECRET),
            b64(NEW_SECRET),
        ] {
            assert!(!out.contains(&leak), "{format:?} leaks {leak}: {out}");
        }
    }
    let (c, _, err) = run_env(&["diff", leaf_s, "--show-secrets"], &[("CI", "true")]);
    assert_eq!(c, 1);
    assert!(err.contains("--force-show-secrets"), "{err}");
    let (c, out, err) = run_env(
        &[
            "diff",
            leaf_s,
            "--set",
            "password=n3w-s3cr3t-value-x",
            "--force-show-secrets",
        ],
        &[("CI", "true")],
    );
    assert_eq!(c, 2, "{err}");
    assert!(out.contains(&b64(NEW_SECRET)), "{out}");

    // Scaled by another field manager: drift, reported apart from the change.
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), ns.name());
    deployments
        .patch(
            "web",
            &PatchParams {
                field_manager: Some("kubectl-scale".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let r = diff_json(&[leaf_s, "--set", "image=registry.invalid/app:2"], 2);
    let web = object(&r, "Deployment", "web");
    assert_eq!(
        web["drift"],
        json!([{"path": "/spec/replicas", "op": "changed", "lastApplied": 2, "live": 5, "overwritten": true}]),
        "{r:#}"
    );
    assert_eq!(
        paths(&web["changes"]),
        [
            "/spec/replicas",
            "/spec/template/spec/containers/name=app/image"
        ],
        "{r:#}"
    );
    assert_eq!(r["summary"]["drift"], 1);

    // An ignore rule removes the difference and turns exit 2 into 0: on the command line ...
    let r = diff_json(&[leaf_s, "--ignore", "Deployment:/spec/replicas"], 0);
    assert_eq!(r["summary"]["drift"], 0, "{r:#}");
    let (c, _, err) = run(&["diff", leaf_s, "--ignore", "/no/such/field"]);
    assert_eq!(c, 2);
    assert!(
        err.contains("warning: ignore rule `/no/such/field`"),
        "{err}"
    );
    // ... and in the target's charter.yaml.
    write(
        &leaf,
        "charter.yaml",
        "ignore:\n  - path: /spec/replicas\n    kind: Deployment\n",
    );
    diff_json(&[leaf_s], 0);
    std::fs::remove_file(leaf.join("charter.yaml")).unwrap();
    // --fail-on-drift counts drift that is not ignored only.
    let (c, _, _) = run(&[
        "diff",
        leaf_s,
        "--fail-on-drift",
        "--ignore",
        "Deployment:/spec/replicas",
    ]);
    assert_eq!(c, 0);

    // A template removed: its object is pruned.
    let r = diff_json(
        &[
            leaf_s,
            "--set",
            "extra=false",
            "--ignore",
            "Deployment:/spec/replicas",
        ],
        2,
    );
    assert_eq!(
        with_action(&r, &["change", "create", "prune"]),
        BTreeSet::from(["ConfigMap/web-extra".to_string()])
    );
    assert_eq!(object(&r, "ConfigMap", "web-extra")["action"], "prune");

    // An object deleted by hand: created again, and drift says it was deleted.
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), ns.name());
    cms.delete("web-cfg", &DeleteParams::default())
        .await
        .unwrap();
    let r = diff_json(&[leaf_s, "--ignore", "Deployment:/spec/replicas"], 2);
    let cfg = object(&r, "ConfigMap", "web-cfg");
    assert_eq!(cfg["action"], "create", "{r:#}");
    assert_eq!(cfg["drift"][0]["op"], "deleted", "{r:#}");
    assert_eq!(
        with_action(&r, &["change", "create", "prune"]),
        BTreeSet::from(["ConfigMap/web-cfg".to_string()])
    );
    ns.delete().await;
}

/// The rendered objects as a deploy applies them: namespace and ownership metadata added.
fn labelled(rendered: &str, ns: &str, release: &str) -> Value {
    let docs = charter::yaml::parse_documents(rendered).unwrap();
    let items: Vec<Value> = docs
        .into_iter()
        .map(|(mut o, _)| o.take())
        .filter(|o| o.is_object())
        .map(|mut o| {
            let meta = o["metadata"].as_object_mut().unwrap();
            meta.insert("namespace".into(), json!(ns));
            meta.entry("labels").or_insert(json!({}))["charter.dev/release"] = json!(release);
            let ann = meta.entry("annotations").or_insert(json!({}));
            ann["charter.dev/release-name"] = json!(release);
            ann["charter.dev/release-namespace"] = json!(ns);
            o
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

#[tokio::test]
async fn changed_objects_agree_with_kubectl_diff() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("diff-kubectl").await;
    let tmp = tempfile::tempdir().unwrap();
    let chart_dir = tmp.path().join("chart");
    chart(&chart_dir);
    let kc = cluster.kubeconfig.to_str().unwrap();
    let chart_s = chart_dir.to_str().unwrap();
    let n = ns.name();
    let base = ["--kubeconfig", kc, "--kube-context", ADMIN_CONTEXT, "-n", n];
    let mut install = vec!["install", "web", chart_s];
    install.extend(base);
    let (c, _, err) = run(&install);
    assert_eq!(c, 0, "{err}");
    // Drift too: kubectl diff with --force-conflicts also shows replicas going back.
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), n);
    deployments
        .patch(
            "web",
            &PatchParams {
                field_manager: Some("kubectl-scale".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    let sets = ["--set", "greeting=bye", "--set", "newEnv=true"];

    let mut args = vec!["web", chart_s];
    args.extend(base);
    args.extend(sets);
    let ours = with_action(&diff_json(&args, 2), &["change", "create"]);

    let mut tpl = vec!["template", "web", chart_s, "-n", n];
    tpl.extend(sets);
    let (c, rendered, err) = run(&tpl);
    assert_eq!(c, 0, "{err}");
    let file = tmp.path().join("objects.json");
    std::fs::write(&file, labelled(&rendered, n, "web").to_string()).unwrap();
    let Some(tools) = support::reference_tools(support::test_name!()) else {
        return;
    };
    let kubectl = tools.join("kubectl");
    let out = Command::new(&kubectl)
        .args([
            "--kubeconfig",
            kc,
            "--context",
            ADMIN_CONTEXT,
            "diff",
            "--server-side",
        ])
        .args(["--field-manager=charter", "--force-conflicts", "-f"])
        .arg(&file)
        .env_remove("KUBECTL_EXTERNAL_DIFF")
        .output()
        .expect("run kubectl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "kubectl diff: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `diff -u -N /tmp/LIVE-x/apps.v1.Deployment.<ns>.web /tmp/MERGED-x/...`
    let theirs: BTreeSet<String> = stdout
        .lines()
        .filter(|l| l.starts_with("diff "))
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(|p| {
            let file = p.rsplit('/').next().unwrap();
            let parts: Vec<&str> = file.split('.').collect();
            format!("{}/{}", parts[parts.len() - 3], parts[parts.len() - 1])
        })
        .collect();
    assert_eq!(
        ours,
        BTreeSet::from([
            "ConfigMap/web-cfg".to_string(),
            "Deployment/web".to_string()
        ])
    );
    assert_eq!(ours, theirs, "kubectl diff output:\n{stdout}");
    ns.delete().await;
}

#[tokio::test]
async fn plan_over_two_clusters_and_apply_exactly_the_plan() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("plan").await;
    let second = ExtraCluster::up(&format!("plan2-{}", std::process::id()), None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let chart_dir = tmp.path().join("chart");
    chart(&chart_dir);
    let root = tmp.path().join("deploy");
    write(
        &root,
        "charter.yaml",
        &format!(
            "chart: {}\nrelease: web\nnamespace: {}\nkubeContext: {ADMIN_CONTEXT}\n",
            chart_dir.display(),
            ns.name()
        ),
    );
    write(&root, "values.yaml", "greeting: hello\n");
    for (region, kc) in [("east", &cluster.kubeconfig), ("west", &second.kubeconfig)] {
        write(
            &root,
            &format!("prod/{region}/values.yaml"),
            "replicas: 1\n",
        );
        write(
            &root,
            &format!("prod/{region}/charter.yaml"),
            &format!("kubeconfig: {}\n", kc.display()),
        );
    }
    let root_s = root.to_str().unwrap();

    // Nothing installed: both targets have changes.
    let (c, out, err) = run(&["plan", root_s]);
    assert_eq!(c, 2, "{err}\n{out}");
    // Rows: WAVE, TARGET, ...
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|t| t.starts_with("prod/"))
        })
        .collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|r| r.contains("changes")), "{out}");

    let (c, out, err) = run(&["apply", root_s, "--create-namespace"]);
    assert_eq!(c, 0, "{err}\n{out}");
    let (c, out, err) = run(&["plan", root_s]);
    assert_eq!(c, 0, "{err}\n{out}");
    assert_eq!(out.matches("up to date").count(), 2, "{out}");

    // A change for both; the plan file records it.
    write(&root, "values.yaml", "greeting: bye\n");
    let plan = tmp.path().join("plan.json");
    let (c, out, err) = run(&["plan", root_s, "--out", plan.to_str().unwrap()]);
    assert_eq!(c, 2, "{err}\n{out}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(doc["targets"].as_array().unwrap().len(), 2, "{doc:#}");
    assert_eq!(doc["targets"][0]["summary"]["change"], 1, "{doc:#}");

    // A plan edited by hand is refused.
    let edited = tmp.path().join("edited.json");
    std::fs::write(
        &edited,
        std::fs::read_to_string(&plan)
            .unwrap()
            .replace("\"change\": 1", "\"change\": 0"),
    )
    .unwrap();
    let (c, _, err) = run(&["apply", "--plan", edited.to_str().unwrap()]);
    assert_eq!(c, 1);
    assert!(err.contains("checksum"), "{err}");

    // An out-of-band edit in the second cluster between plan and apply: that target is
    // refused, the other one is applied.
    let client2 = support::client_for(&second.kubeconfig, ADMIN_CONTEXT)
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client2.clone(), ns.name());
    deployments
        .patch(
            "web",
            &PatchParams {
                field_manager: Some("kubectl-edit".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    let (c, out, err) = run(&["apply", "--plan", plan.to_str().unwrap()]);
    assert_eq!(c, 1, "{err}\n{out}");
    assert!(
        err.contains("target prod/west") && err.contains("live state"),
        "{err}"
    );
    let greeting = |client: kube::Client| {
        let name = ns.name().to_string();
        async move {
            let cms: Api<ConfigMap> = Api::namespaced(client, &name);
            cms.get("web-cfg").await.unwrap().data.unwrap()["greeting"].clone()
        }
    };
    assert_eq!(greeting(cluster.client.clone()).await, "bye");
    assert_eq!(greeting(client2).await, "hello");
    ns.delete().await;
}

#[test]
fn bad_input_is_reported_with_target_context_and_file_line() {
    let tmp = tempfile::tempdir().unwrap();
    let chart_dir = tmp.path().join("chart");
    chart(&chart_dir);
    // A kubeconfig with one context; no cluster is contacted before the context is checked.
    let kc = tmp.path().join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: only\n  context: {cluster: c, user: u}\ncurrent-context: only\n",
    )
    .unwrap();
    let root = tmp.path().join("deploy");
    write(
        &root,
        "charter.yaml",
        &format!(
            "chart: {}\nrelease: web\nkubeconfig: {}\n",
            chart_dir.display(),
            kc.display()
        ),
    );
    write(
        &root,
        "prod/east/charter.yaml",
        "kubeContext: no-such-context\n",
    );
    let (c, _, err) = run(&["plan", root.to_str().unwrap()]);
    assert_eq!(c, 1);
    assert!(
        err.contains("target prod/east") && err.contains("no-such-context") && err.contains("only"),
        "{err}"
    );
    let leaf = root.join("prod/east");
    let (c, _, err) = run(&["diff", leaf.to_str().unwrap()]);
    assert_eq!(c, 1);
    assert!(
        err.contains("target prod/east") && err.contains("no-such-context"),
        "{err}"
    );

    // A malformed ignore pointer names its charter.yaml and line.
    write(
        &root,
        "prod/east/charter.yaml",
        "kubeContext: only\nignore:\n  - path: /spec/replicas\n  - path: spec/template\n",
    );
    let (c, _, err) = run(&["diff", leaf.to_str().unwrap()]);
    assert_eq!(c, 1);
    assert!(err.contains("prod/east/charter.yaml:4"), "{err}");
    assert!(err.contains("JSON pointer"), "{err}");
    write(&root, "prod/east/charter.yaml", "kubeContext: only\n");
    let (c, _, err) = run(&[
        "diff",
        leaf.to_str().unwrap(),
        "--ignore",
        "Deployment:spec",
    ]);
    assert_eq!(c, 1);
    assert!(err.contains("--ignore"), "{err}");

    // Not a plan file.
    let bogus = tmp.path().join("plan.json");
    std::fs::write(&bogus, "{\"apiVersion\": \"v1\"}").unwrap();
    let (c, _, err) = run(&["apply", "--plan", bogus.to_str().unwrap()]);
    assert_eq!(c, 1);
    assert!(err.contains("not a charter plan"), "{err}");
    // -o markdown is for diff and plan only.
    let (c, _, err) = run(&["list", "-o", "markdown"]);
    assert_eq!(c, 1);
    assert!(err.contains("only for"), "{err}");
}
