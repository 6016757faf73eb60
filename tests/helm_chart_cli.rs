//! Helm charts through every command: `template` with Helm's flags gives what the reference
//! `helm template` prints (byte for byte), `values`, `lint` and `package`
//! take the chart, and `install`/`diff`/`upgrade`/`rollback` go through the action layer on the
//! test cluster, running the chart's hooks (the test hook only with `charter test`).

mod support;

use std::path::Path;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use support::{cluster_or_skip, write};

/// A Helm chart with a subchart, a hook, a test hook, NOTES and (with `crd`) CRD files: one
/// of two documents with a comment and trailing blank lines, one in the subchart.
fn helm_chart(dir: &Path, crd: bool) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.2.3\nappVersion: \"4.5\"\ndependencies:\n- name: sub\n  version: 0.1.0\n",
    );
    write(dir, "values.yaml", "replicas: 2\nbig: 1000000\n");
    write(
        dir,
        "values.schema.json",
        r#"{"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}"#,
    );
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n  labels:\n    {{- include \"web.labels\" . | nindent 4 }}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  hasfoo: {{ .Capabilities.APIVersions.Has \"foo.example.com/v1\" | quote }}\n  replicas: {{ .Values.replicas | quote }}\n  big: {{ .Values.big | quote }}\n  ns: {{ .Release.Namespace }}\n",
    );
    write(
        dir,
        "templates/_helpers.tpl",
        "{{- define \"web.labels\" -}}\napp.kubernetes.io/managed-by: {{ .Release.Service }}\nhelm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n{{- end }}\n",
    );
    write(
        dir,
        "templates/hook.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}-migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"1\"\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: m\n        image: registry.invalid/m:1\n",
    );
    write(
        dir,
        "templates/tests/t.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers:\n  - name: t\n    image: registry.invalid/t:1\n",
    );
    write(
        dir,
        "templates/NOTES.txt",
        "Installed {{ .Release.Name }} {{ .Chart.Version }}.\n",
    );
    write(
        dir,
        "charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    write(
        dir,
        "charts/sub/templates/s.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-sub\nspec:\n  ports:\n  - port: 80\n",
    );
    if crd {
        write(
            dir,
            "crds/crd.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
        );
        write(
            dir,
            "crds/more.yaml",
            "# gadgets and gizmos\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.example.com\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gizmos.example.com\n\n\n",
        );
        write(
            dir,
            "charts/sub/crds/sub.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: subs.example.com\n",
        );
    }
}

#[test]
fn template_flags_print_what_helm_prints() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("c");
    helm_chart(&chart, true);
    let chart = chart.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &[],
        &["--include-crds"],
        &["--skip-tests"],
        &[
            "--kube-version",
            "1.30.2",
            "--api-versions",
            "foo.example.com/v1",
        ],
        &["--show-only", "templates/cm.yaml"],
        &["--show-only", "charts/sub/templates/s.yaml"],
        &["--show-only", "templates/hook.yaml", "-n", "other"],
        &["--set", "replicas=5", "--set-string", "big=x"],
        &["--include-crds", "--show-only", "crds/more.yaml"],
        &["--include-crds", "--show-only", "charts/sub/crds/*"],
        // Flag by flag, a document two flags match twice.
        &[
            "--show-only",
            "charts/sub/templates/s.yaml",
            "--show-only",
            "templates/*.yaml",
            "--show-only",
            "charts/sub/templates/s.yaml",
        ],
        &["--set", "replicas=0", "--skip-schema-validation"],
    ];
    for extra in cases {
        let mut args = vec!["template", "r", chart];
        args.extend_from_slice(extra);
        let h = support::run_helm(&helm, &tmp.path().join("home"), &args, None);
        assert!(h.status.success(), "helm {args:?}: {h:?}");
        let ours = support::charter().ok(&args);
        assert_eq!(
            ours,
            String::from_utf8_lossy(&h.stdout),
            "charter {args:?} differs from helm"
        );
    }
    // Without --skip-schema-validation the schema refuses replicas=0 (as Helm's does), in
    // template and lint.
    let args = ["template", "r", chart, "--set", "replicas=0"];
    let out = support::charter().run(&args);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("replicas"),
        "{out:?}"
    );
    let lint = ["lint", chart, "--set", "replicas=0"];
    let out = support::charter().run(&lint);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = support::charter().run(&[&lint[..], &["--skip-schema-validation"]].concat());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // --output-dir writes the same files.
    let (hd, cd) = (tmp.path().join("out-helm"), tmp.path().join("out-charter"));
    let args = ["template", "r", chart, "--include-crds", "--output-dir"];
    let mut ha = args.to_vec();
    let hd_s = hd.to_str().unwrap();
    ha.push(hd_s);
    let h = support::run_helm(&helm, &tmp.path().join("home"), &ha, None);
    assert!(h.status.success(), "{h:?}");
    let mut ca = args.to_vec();
    ca.push(cd.to_str().unwrap());
    support::charter().ok(&ca);
    let files = |root: &Path| {
        let mut v: Vec<(String, String)> = walk(root)
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                (rel, text)
            })
            .collect();
        v.sort();
        v
    };
    let want = files(&hd);
    assert_eq!(want.len(), 7, "{want:?}");
    assert_eq!(files(&cd), want);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn values_lint_and_package_take_a_helm_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("c");
    helm_chart(&chart, false);
    let c = chart.to_str().unwrap();
    let explain = support::charter().ok(&["values", c, "--explain", "--set", "replicas=3"]);
    assert!(
        explain.contains("replicas") && explain.contains("--set replicas=3"),
        "{explain}"
    );
    assert!(explain.contains("values.yaml:2"), "{explain}");
    let lint = support::charter().ok(&["lint", c]);
    assert!(lint.contains("0 error(s)"), "{lint}");
    let pkg = tmp.path().join("pkg");
    let out = support::charter().ok(&["package", c, "-d", pkg.to_str().unwrap()]);
    assert!(out.contains("web 1.2.3"), "{out}");
    let tgz = pkg.join("web-1.2.3.tgz");
    let from_dir = support::charter().ok(&["template", "r", c]);
    let from_tgz = support::charter().ok(&["template", "r", tgz.to_str().unwrap()]);
    assert_eq!(from_tgz, from_dir);
    assert!(from_dir.contains("big: \"1e+06\""), "{from_dir}");

    // A deploy tree whose charter.yaml names the Helm chart, with environment and region layers.
    let tree = tmp.path().join("deploy/web");
    std::fs::create_dir_all(tmp.path().join(".git")).unwrap();
    write(
        &tree,
        "charter.yaml",
        "chart: ../../c\nrelease: web\nnamespace: shop\n",
    );
    write(&tree, "prod/values.yaml", "replicas: 7\n");
    write(&tree, "prod/eastus/values.yaml", "big: 3\n");
    let target = tree.join("prod/eastus");
    let out = support::charter().ok(&[
        "template",
        target.to_str().unwrap(),
        "--show-only",
        "templates/cm.yaml",
    ]);
    assert!(
        out.contains("name: web-cm")
            && out.contains("replicas: \"7\"")
            && out.contains("big: \"3\"")
            && out.contains("ns: shop"),
        "{out}"
    );
    let explain = support::charter().ok(&["values", target.to_str().unwrap(), "--explain"]);
    assert!(explain.contains("prod/eastus/values.yaml:1"), "{explain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_upgrade_diff_rollback_run_the_hooks() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("helm-chart").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    helm_chart(tmp.path(), false);
    let c = tmp.path().to_str().unwrap();

    let out = support::charter()
        .cluster(&kc)
        .run(&["install", "r", c, "-n", &n]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("hook pre-install Job/{n}/r-migrate: succeeded"))
            && !stderr.contains("r-test"),
        "{stderr}"
    );
    assert!(stdout.contains("Installed r 1.2.3."), "{stdout}");

    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &n);
    let cm = cms.get("r-cm").await.unwrap();
    let data = cm.data.unwrap_or_default();
    assert_eq!(data.get("replicas").map(String::as_str), Some("2"));
    let labels = cm.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("Helm")
    );
    let svcs: Api<Service> = Api::namespaced(cluster.client.clone(), &n);
    assert!(svcs.get_opt("r-sub").await.unwrap().is_some());
    // The pre-install hook ran (and stays: before-hook-creation); the test hook did not.
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &n);
    let installed_uid = jobs.get("r-migrate").await.unwrap().metadata.uid;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &n);
    assert!(pods.get_opt("r-test").await.unwrap().is_none());

    let diff =
        support::charter()
            .cluster(&kc)
            .run(&["diff", "r", c, "-n", &n, "--set", "replicas=3"]);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(diff.status.code(), Some(2), "{text}");
    assert!(
        text.contains("-  replicas: \"2\"")
            && text.contains("+  replicas: \"3\"")
            && text.contains("Hooks the upgrade would run, in order:\n  pre-upgrade Job/r-migrate (web/templates/hook.yaml, weight 1)"),
        "{text}"
    );

    let out =
        support::charter()
            .cluster(&kc)
            .run(&["upgrade", "r", c, "-n", &n, "--set", "replicas=3"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("hook pre-upgrade Job/{n}/r-migrate: succeeded"))
    );
    let data = cms.get("r-cm").await.unwrap().data.unwrap_or_default();
    assert_eq!(data.get("replicas").map(String::as_str), Some("3"));
    assert_ne!(
        jobs.get("r-migrate").await.unwrap().metadata.uid,
        installed_uid
    );

    support::charter()
        .cluster(&kc)
        .ok(&["rollback", "r", "1", "-n", &n]);
    let data = cms.get("r-cm").await.unwrap().data.unwrap_or_default();
    assert_eq!(data.get("replicas").map(String::as_str), Some("2"));
    ns.delete().await;
}

fn crd(group: &str, plural: &str, kind: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: {plural}, kind: {kind}}}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
    )
}

/// A Helm chart's `crds/` CRDs are handled as Helm handles them: created by the install when
/// absent (one already there is left as it is), never changed by an upgrade (nor shown by its
/// diff), not part of the release (its manifest leaves them out and uninstall keeps them); a
/// CRD from `templates/` is an object of the release like any other and goes with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_keeps_the_crds_of_a_helm_charts_crds_directory() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("helm-crds").await;
    let n = ns.name().to_string();
    let kc = cluster.kubeconfig.clone();
    let group = format!("{n}.example.com");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write(
        dir,
        "Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(dir, "crds/kept.yaml", &crd(&group, "keeps", "Keep"));
    write(dir, "templates/crd.yaml", &crd(&group, "goes", "Go"));
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    );
    let labelled = |origin: &str| {
        crd(&group, "befores", "Before").replace(
            "metadata:\n",
            &format!("metadata:\n  labels: {{origin: {origin}}}\n"),
        )
    };
    write(dir, "crds/before.yaml", &labelled("chart"));
    let c = dir.to_str().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let (kept, goes) = (format!("keeps.{group}"), format!("goes.{group}"));
    let before = format!("befores.{group}");
    let origin = async |name: &str| {
        let crd = crds.get(name).await.unwrap();
        crd.metadata
            .labels
            .unwrap_or_default()
            .get("origin")
            .cloned()
    };
    let by_hand: CustomResourceDefinition = charter::yaml::from_str(&labelled("hand")).unwrap();
    crds.create(&Default::default(), &by_hand).await.unwrap();

    support::charter()
        .cluster(&kc)
        .ok(&["install", "r", c, "-n", &n, "--wait"]);
    assert!(crds.get_opt(&kept).await.unwrap().is_some());
    assert!(crds.get_opt(&goes).await.unwrap().is_some());
    assert_eq!(origin(&before).await.as_deref(), Some("hand"));
    let manifest = support::charter()
        .cluster(&kc)
        .ok(&["get", "manifest", "r", "-n", &n]);
    assert!(
        !manifest.contains(&kept) && manifest.contains(&goes),
        "{manifest}"
    );
    // A changed crds/ CRD: the upgrade's diff shows nothing, the upgrade leaves the CRD alone.
    write(
        dir,
        "crds/kept.yaml",
        &crd(&group, "keeps", "Keep").replace("metadata:\n", "metadata:\n  labels: {origin: v2}\n"),
    );
    let out = support::charter()
        .cluster(&kc)
        .run(&["diff", "r", c, "-n", &n]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    support::charter()
        .cluster(&kc)
        .ok(&["upgrade", "r", c, "-n", &n]);
    assert_eq!(origin(&kept).await, None);
    let manifest = support::charter()
        .cluster(&kc)
        .ok(&["get", "manifest", "r", "-n", &n]);
    assert!(!manifest.contains(&kept), "{manifest}");

    support::charter()
        .cluster(&kc)
        .ok(&["uninstall", "r", "-n", &n, "--wait"]);
    assert!(crds.get_opt(&kept).await.unwrap().is_some());
    support::wait_gone(&crds, &goes, std::time::Duration::from_secs(60)).await;
    crds.delete(&kept, &Default::default()).await.unwrap();
    crds.delete(&before, &Default::default()).await.unwrap();
    ns.delete().await;
}

/// An empty Helm chart `t` in `dir/c`.
fn chart_t(dir: &Path) -> std::path::PathBuf {
    let c = dir.join("c");
    write(
        &c,
        "Chart.yaml",
        "apiVersion: v2\nname: t\nversion: 0.1.0\n",
    );
    c
}

/// The schema check runs beside the render: values the schema rejects are still what is
/// reported when a template fails too (the check comes first in Helm's order), with the line
/// that set them; valid values with a failing template report the template.
#[test]
fn schema_errors_come_before_template_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let c = chart_t(tmp.path());
    write(&c, "values.yaml", "replicas: 1\nname: web\n");
    write(
        &c,
        "values.schema.json",
        r#"{"type": "object", "properties": {"replicas": {"type": "integer", "minimum": 1}}}"#,
    );
    write(
        &c,
        "templates/a.yaml",
        "{{- if lt (int .Values.replicas) 1 }}{{ fail \"boom\" }}{{ end }}\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: {{ .Values.name }}\n",
    );
    let bad = tmp.path().join("bad.yaml");
    write(tmp.path(), "bad.yaml", "name: x\nreplicas: 0\n");
    let err = support::charter().cwd(tmp.path()).fails(&[
        "template",
        "r",
        "c",
        "-f",
        bad.to_str().unwrap(),
    ]);
    assert!(err.contains("replicas"), "{err}");
    assert!(err.contains("minimum"), "{err}");
    assert!(err.contains("bad.yaml:2"), "{err}");
    assert!(!err.contains("boom"), "{err}");

    // Valid values, a failing template: the template's error.
    write(
        &c,
        "templates/b.yaml",
        "{{ if eq .Values.name \"boom\" }}{{ fail \"boom\" }}{{ end }}\n",
    );
    let err =
        support::charter()
            .cwd(tmp.path())
            .fails(&["template", "r", "c", "--set", "name=boom"]);
    assert!(err.contains("t/templates/b.yaml:1"), "{err}");
    assert!(err.contains("boom"), "{err}");

    // Valid values render.
    let text = support::charter()
        .cwd(tmp.path())
        .ok(&["template", "r", "c"]);
    assert!(text.contains("name: web"), "{text}");
}

/// Documents are read on a second thread while templates execute; the error reported is the
/// one the sequential order meets first: a CRD file's, then a template's, then the documents
/// of the outputs in name order (`a.yaml` before `b.yaml`, though `b.yaml` executes first).
#[test]
fn document_errors_keep_their_order() {
    let tmp = tempfile::tempdir().unwrap();
    let c = chart_t(tmp.path());
    write(&c, "crds/bad.yaml", "apiVersion: v1\nkind: [x\n");
    write(&c, "templates/z.yaml", "a: {{ fail \"boom\" }}\n");
    write(&c, "templates/a.yaml", "kind: [\n");
    write(&c, "templates/b.yaml", "kind: {\n");
    let template = || {
        support::charter()
            .cwd(tmp.path())
            .fails(&["template", "r", "c"])
    };
    let err = template();
    assert!(
        err.contains("t/crds/bad.yaml: rendered document 1"),
        "{err}"
    );
    assert!(!err.contains("boom"), "{err}");
    std::fs::remove_file(c.join("crds/bad.yaml")).unwrap();
    let err = template();
    assert!(err.contains("t/templates/z.yaml:1:7: boom"), "{err}");
    assert!(!err.contains("not valid YAML"), "{err}");
    std::fs::remove_file(c.join("templates/z.yaml")).unwrap();
    let err = template();
    assert!(
        err.contains("t/templates/a.yaml: rendered document 1"),
        "{err}"
    );
    assert!(!err.contains("b.yaml"), "{err}");
}

/// Bad input in a Helm chart: each a clear error naming the place (with the source line and a
/// caret under the action, and the include chain), never a panic or a hang.
#[test]
fn bad_helm_charts_fail_with_clear_errors() {
    let helpers = "{{- define \"x\" }}{{ include \"y\" . }}{{ end }}\n{{- define \"y\" }}{{ include \"x\" . }}{{ end }}\n{{- define \"loop\" }}{{ template \"loop\" . }}{{ end }}\n{{- define \"port\" }}{{ .Values.svc.http.port }}{{ end }}\n";
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "syntax error",
            "a: 1\nb: {{ .Values.x \n",
            &[
                "t/templates/a.yaml:3:1: template syntax error: unclosed action started at t/templates/a.yaml:2",
            ],
        ),
        (
            "undefined function",
            "a: 1\nb: {{ nosuchfn 1 }}\n",
            &[
                "t/templates/a.yaml:2:7: template syntax error: function \"nosuchfn\" not defined",
                " 2 | b: {{ nosuchfn 1 }}\n   |       ^",
            ],
        ),
        (
            "undefined template in include",
            "a: 1\nb: {{ include \"nope\" . }}\n",
            &[
                "t/templates/a.yaml:2:7: no template \"nope\"",
                "   |       ^^^^^^^^^^^^^^^^",
            ],
        ),
        (
            "undefined template",
            "b: {{ template \"nope\" . }}\n",
            &["t/templates/a.yaml:1:16: template \"nope\" not defined"],
        ),
        (
            "required",
            "a: {{ required \"set image.tag please\" .Values.image }}\n",
            &[
                "t/templates/a.yaml:1:7: set image.tag please",
                "`image` is not set by any layer",
                "c/values.yaml (chart defaults); or add --set image=VALUE",
            ],
        ),
        (
            "fail",
            "a: {{ fail \"boom\" }}\n",
            &[
                "t/templates/a.yaml:1:7: boom",
                " 1 | a: {{ fail \"boom\" }}",
            ],
        ),
        (
            "missing value in an include",
            "a: 1\nb: {{ include \"port\" . }}\n",
            &[
                "t/templates/_h.tpl:4:31: nil pointer evaluating interface {}.port",
                " 4 | {{- define \"port\" }}{{ .Values.svc.http.port }}{{ end }}\n   |                        ^^^^^^^^^^^^^^^^^^^^^",
                "called from t/templates/a.yaml:2:7: include \"port\" .",
                "`svc.http` is not set; `svc` comes from c/values.yaml:1",
            ],
        ),
        (
            "cyclic include",
            "a: {{ include \"x\" . }}\n",
            &[
                "nested reference name: x",
                "more calls …",
                "from t/templates/a.yaml:1:7: include \"x\" .",
                "call each other without end",
            ],
        ),
        (
            "runaway recursion",
            "a: {{ template \"loop\" . }}\n",
            &[
                "exceeded maximum template depth (100000)",
                "… 99989 more calls …",
                "call each other without end",
            ],
        ),
    ];
    for (name, template, wants) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let c = tmp.path().join("c");
        write(
            &c,
            "Chart.yaml",
            "apiVersion: v2\nname: t\nversion: 0.1.0\n",
        );
        write(&c, "values.yaml", "svc:\n  port: 80\n");
        write(&c, "templates/_h.tpl", helpers);
        write(&c, "templates/a.yaml", template);
        let out = support::charter()
            .cwd(tmp.path())
            .run(&["template", "r", "c"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        assert!(err.lines().count() < 40, "{name}: too long:\n{err}");
        for want in *wants {
            assert!(err.contains(want), "{name}: no `{want}` in:\n{err}");
        }
    }
    // A dependency declared in Chart.yaml but missing under charts/.
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "Chart.yaml",
        "apiVersion: v2\nname: t\nversion: 0.1.0\ndependencies:\n- name: db\n  version: 1.0.0\n",
    );
    let err = support::charter().fails(&["template", "r", tmp.path().to_str().unwrap()]);
    assert!(
        err.contains("dependency `db` is declared in Chart.yaml but not present in charts/")
            && err.contains("charter dep update"),
        "{err}"
    );
}
