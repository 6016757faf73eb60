//! `charter template`, `charter values` and `charter lint` through the real binary: the demo
//! chart and deploy tree, and every bad input issue #2 names.

mod support;

use std::process::Output;

use support::{root, write};

fn charter(args: &[&str]) -> Output {
    support::charter().cwd(&root()).run(args)
}

fn ok(args: &[&str]) -> String {
    support::charter().cwd(&root()).ok(args)
}

/// Runs a command that must fail with exit code 1 and returns its stderr.
fn fails(args: &[&str]) -> String {
    let stderr = support::charter().cwd(&root()).fails(args);
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

fn docs(stream: &str) -> Vec<serde_json::Value> {
    charter::yaml::parse_documents(stream)
        .unwrap()
        .into_iter()
        .map(|(v, _)| v)
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(objs: &'a [serde_json::Value], kind: &str) -> Option<&'a serde_json::Value> {
    objs.iter().find(|o| o["kind"] == kind)
}

#[test]
fn prod_westus_pins_tag_and_replicas() {
    let out = ok(&["template", "testdata/deploy/demo/prod/westus"]);
    let objs = docs(&out);
    let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "PodDisruptionBudget",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "Ingress"
        ]
    );
    let deploy = find(&objs, "Deployment").unwrap();
    assert_eq!(deploy["metadata"]["name"], "demo");
    assert_eq!(deploy["spec"]["replicas"], 5);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/web/demo:2.2.9"
    );
    assert_eq!(deploy["metadata"]["labels"]["charter.dev/region"], "westus");
    assert_eq!(
        deploy["metadata"]["labels"]["app.kubernetes.io/version"],
        "2.2.9"
    );
    let ingress = find(&objs, "Ingress").unwrap();
    assert_eq!(
        ingress["spec"]["rules"][0]["host"],
        "westus.demo.example.com"
    );
    assert!(find(&objs, "HorizontalPodAutoscaler").is_none());
    assert!(out.contains("# Source: demo/templates/deployment.yaml\n"));
}

#[test]
fn prod_eastus_autoscales_with_chart_app_version() {
    let objs = docs(&ok(&["template", "testdata/deploy/demo/prod/eastus"]));
    let deploy = find(&objs, "Deployment").unwrap();
    assert!(
        deploy["spec"].get("replicas").is_none(),
        "HPA owns replicas"
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/web/demo:2.3.1"
    );
    let hpa = find(&objs, "HorizontalPodAutoscaler").unwrap();
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    let cm = find(&objs, "ConfigMap").unwrap();
    assert_eq!(cm["data"]["LOG_LEVEL"], "info");
    assert_eq!(cm["data"]["OWNER"], "team-web");
}

#[test]
fn stack_env_region_flags_name_the_same_target() {
    let a = ok(&["template", "testdata/deploy/demo/staging/eastus"]);
    let b = ok(&[
        "template",
        "--stack",
        "testdata/deploy/demo",
        "--env",
        "staging",
        "--region",
        "eastus",
    ]);
    assert_eq!(a, b);
    let objs = docs(&a);
    assert_eq!(find(&objs, "Deployment").unwrap()["spec"]["replicas"], 1);
    assert_eq!(
        find(&objs, "ConfigMap").unwrap()["data"]["LOG_LEVEL"],
        "debug"
    );
    assert!(find(&objs, "PodDisruptionBudget").is_none());
}

#[test]
fn output_is_byte_identical_run_to_run() {
    let first = ok(&["template", "testdata/deploy/demo/prod/eastus"]);
    for _ in 0..5 {
        assert_eq!(first, ok(&["template", "testdata/deploy/demo/prod/eastus"]));
    }
}

#[test]
fn helm_style_release_chart_with_flags() {
    let out = ok(&[
        "template",
        "web",
        "charts/demo",
        "-n",
        "shop",
        "--set",
        "image.tag=v9,replicaCount=4",
        "--set-string",
        "config.RETRIES=3",
    ]);
    let objs = docs(&out);
    let deploy = find(&objs, "Deployment").unwrap();
    assert_eq!(deploy["metadata"]["name"], "web-demo");
    assert_eq!(deploy["spec"]["replicas"], 4);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/web/demo:v9"
    );
    assert_eq!(find(&objs, "ConfigMap").unwrap()["data"]["RETRIES"], "3");
}

#[test]
fn show_only_output_dir_and_notes() {
    let out = ok(&[
        "template",
        "testdata/deploy/demo/prod/westus",
        "--show-only",
        "templates/service.yaml",
    ]);
    let objs = docs(&out);
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0]["kind"], "Service");
    let err = fails(&[
        "template",
        "testdata/deploy/demo/prod/westus",
        "--show-only",
        "templates/nope.yaml",
    ]);
    assert!(
        err.contains("templates/nope.yaml") && err.contains("demo/templates/service.yaml"),
        "{err}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    ok(&[
        "template",
        "testdata/deploy/demo/prod/westus",
        "--output-dir",
        dir,
    ]);
    let svc = std::fs::read_to_string(tmp.path().join("demo/templates/service.yaml")).unwrap();
    assert!(
        svc.starts_with(
            "---\n# Source: demo/templates/service.yaml\napiVersion: v1\nkind: Service"
        ),
        "{svc}"
    );
    assert!(tmp.path().join("demo/templates/deployment.yaml").is_file());
    assert!(
        !tmp.path().join("demo/templates/hpa.yaml").exists(),
        "hpa renders nothing for westus"
    );

    let out = ok(&["template", "testdata/deploy/demo/prod/westus", "--notes"]);
    assert!(
        out.contains("NOTES:\ndemo (chart demo-1.4.0) is installed in namespace demo-prod-westus."),
        "{out}"
    );
    assert!(out.contains("https://westus.demo.example.com"), "{out}");
}

#[test]
fn values_explain_names_each_layer() {
    let out = ok(&[
        "values",
        "testdata/deploy/demo/prod/westus",
        "--explain",
        "--set",
        "service.port=8081",
    ]);
    let line = |path: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(path))
            .unwrap_or_else(|| panic!("no row for {path} in\n{out}"))
            .to_string()
    };
    assert!(
        line("replicaCount").contains("testdata/deploy/demo/prod/westus/values.yaml:4"),
        "{out}"
    );
    assert!(
        line("image.tag").contains("testdata/deploy/demo/prod/westus/values.yaml:3"),
        "{out}"
    );
    assert!(
        line("config.LOG_LEVEL").contains("testdata/deploy/demo/values.yaml:3"),
        "{out}"
    );
    assert!(
        line("image.repository").contains("charts/demo/values.yaml:6"),
        "{out}"
    );
    assert!(
        line("service.port").contains("--set service.port=8081"),
        "{out}"
    );

    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "values",
        "testdata/deploy/demo/prod/westus",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["replicaCount"], 5);
    assert_eq!(json["image"]["tag"], "2.2.9");
}

#[test]
fn unknown_env_or_region_lists_what_exists() {
    let err = fails(&[
        "template",
        "--stack",
        "testdata/deploy/demo",
        "--env",
        "qa",
        "--region",
        "eastus",
    ]);
    assert!(
        err.contains("environment `qa`") && err.contains("prod, staging"),
        "{err}"
    );
    let err = fails(&[
        "template",
        "--stack",
        "testdata/deploy/demo",
        "--env",
        "prod",
        "--region",
        "mars",
    ]);
    assert!(
        err.contains("region `mars`") && err.contains("eastus, westus"),
        "{err}"
    );
}

#[test]
fn schema_violation_names_path_rule_and_layer() {
    let err = fails(&[
        "template",
        "testdata/deploy/demo/prod/westus",
        "--set",
        "replicaCount=-1",
    ]);
    assert!(err.contains("replicaCount"), "{err}");
    assert!(err.contains("minimum"), "{err}");
    assert!(err.contains("--set replicaCount=-1"), "{err}");

    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "bad.yaml", "image:\n  pullPolicy: Sometimes\n");
    let f = tmp.path().join("bad.yaml");
    let err = fails(&[
        "template",
        "testdata/deploy/demo/prod/westus",
        "-f",
        f.to_str().unwrap(),
    ]);
    assert!(err.contains("image.pullPolicy"), "{err}");
    assert!(err.contains("bad.yaml:2"), "{err}");
}

#[test]
fn malformed_values_layer_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n");
    let f = tmp.path().join("bad.yaml");
    let err = fails(&["template", "x", "charts/demo", "-f", f.to_str().unwrap()]);
    assert!(err.contains("bad.yaml:"), "{err}");
}

#[test]
fn set_syntax_error_shows_position() {
    let err = fails(&["template", "x", "charts/demo", "--set", "a.b[x]=1"]);
    assert!(err.contains("--set"), "{err}");
    assert!(err.contains("a.b[x]=1"), "{err}");
}

fn chart_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "Chart.yaml",
        "apiVersion: charter/v1\nname: t\nversion: 0.1.0\n",
    );
    for (p, c) in files {
        write(tmp.path(), p, c);
    }
    tmp
}

#[test]
fn chart_yaml_errors() {
    // Helm charts (apiVersion v1/v2): malformed metadata is an error naming the file and field.
    for (chart_yaml, want) in [
        (
            "apiVersion: v2\nname: t\n",
            "missing required field `version`",
        ),
        (
            "apiVersion: v1\nversion: 1.0.0\n",
            "missing required field `name`",
        ),
        (
            "apiVersion: v2\nname: t\nversion: 1.0.0\ndependencies: [x\n",
            "Chart.yaml:5:1: invalid YAML",
        ),
        (
            "apiVersion: v3\nname: t\nversion: 1.0.0\n",
            "HELM_EXPERIMENTAL_CHART_V3",
        ),
    ] {
        let helm = tempfile::tempdir().unwrap();
        write(helm.path(), "Chart.yaml", chart_yaml);
        let err = fails(&["template", "x", helm.path().to_str().unwrap()]);
        assert!(err.contains("Chart.yaml") && err.contains(want), "{err}");
    }
    let unknown = chart_dir(&[(
        "Chart.yaml",
        "apiVersion: charter/v9\nname: t\nversion: 0.1.0\n",
    )]);
    let err = fails(&["template", "x", unknown.path().to_str().unwrap()]);
    assert!(err.contains("unknown apiVersion `charter/v9`"), "{err}");
    let nover = chart_dir(&[("Chart.yaml", "apiVersion: charter/v1\nname: t\n")]);
    let err = fails(&["template", "x", nover.path().to_str().unwrap()]);
    assert!(
        err.contains("Chart.yaml") && err.contains("`version`"),
        "{err}"
    );
    let badver = chart_dir(&[(
        "Chart.yaml",
        "apiVersion: charter/v1\nname: t\nversion: one\n",
    )]);
    let err = fails(&["template", "x", badver.path().to_str().unwrap()]);
    assert!(err.contains("not SemVer 2"), "{err}");
}

#[test]
fn template_errors_name_template_and_line() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.missing }}\n",
            "t/templates/x.yaml:4:",
            &["missing"],
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  h: {{ values.host | required(msg=\"set host\") }}\n",
            "t/templates/x.yaml:6",
            &["set host"],
        ),
        (
            "{{ include(component=\"nope\") }}",
            "t/templates/x.yaml",
            &["nope"],
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: [1\n",
            "t/templates/x.yaml: rendered document 1",
            &["of the rendered output", "5 | data: [1"],
        ),
        (
            "just a string\n",
            "t/templates/x.yaml: rendered document 1",
            &["not a mapping"],
        ),
    ];
    for (tpl, at, wants) in cases {
        let c = chart_dir(&[("templates/x.yaml", tpl)]);
        let err = fails(&["template", "x", c.path().to_str().unwrap()]);
        // Errors name the file on disk, not its path inside the chart (`t/templates/…`).
        let at = at.replacen("t/", &format!("{}/", c.path().display()), 1);
        assert!(err.contains(&at), "{tpl:?}: {err}");
        for w in *wants {
            assert!(err.contains(w), "{tpl:?}: {err}");
        }
    }
    let c = chart_dir(&[
        (
            "templates/_h.tera",
            "{% component a() %}{{ include(component=\"a\") }}{% endcomponent a %}",
        ),
        ("templates/x.yaml", "{{ <a/> }}"),
    ]);
    let err = fails(&["template", "x", c.path().to_str().unwrap()]);
    assert!(err.contains("nested more than"), "{err}");
}

#[test]
fn deploy_tree_pointing_to_missing_chart() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), ".git/HEAD", "");
    write(tmp.path(), "app/charter.yaml", "chart: ../charts/gone\n");
    write(tmp.path(), "app/prod/eu/values.yaml", "a: 1\n");
    let leaf = tmp.path().join("app/prod/eu");
    let err = fails(&["template", leaf.to_str().unwrap()]);
    assert!(
        err.contains("app/charter.yaml")
            && err.contains("`../charts/gone`")
            && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn invalid_release_name() {
    let err = fails(&["template", "Bad_Name", "charts/demo"]);
    assert!(err.contains("release name `Bad_Name`"), "{err}");
    let long = "a".repeat(54);
    let err = fails(&["template", &long, "charts/demo"]);
    assert!(err.contains("at most 53"), "{err}");
}

#[test]
fn lint_demo_chart_and_tree() {
    let out = ok(&["lint", "charts/demo"]);
    assert!(out.contains("1 linted, 0 error(s)"), "{out}");
    let out = ok(&["lint", "testdata/deploy/demo"]);
    assert!(out.contains("4 linted, 0 error(s)"), "{out}");
}

#[test]
fn lint_reports_errors_with_exit_1() {
    let c = chart_dir(&[(
        "templates/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  labels:\n    \"-bad\": \"has space\"\n",
    )]);
    let out = charter(&["lint", c.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("[ERROR]") && stdout.contains("Bad_Name") && stdout.contains("DNS-1123"),
        "{stdout}"
    );
    assert!(stdout.contains("`-bad`"), "{stdout}");
    assert!(stdout.contains("has space"), "{stdout}");
    assert!(stdout.contains("[WARNING]"), "{stdout}");
}

#[test]
fn large_values_file_is_linear() {
    // ~50 MB values file: loading must not be quadratic.
    let tmp = tempfile::tempdir().unwrap();
    let mut s = String::with_capacity(52 << 20);
    s.push_str("big:\n");
    let mut i = 0;
    while s.len() < 50 << 20 {
        s.push_str(&format!(
            "  key{i}: \"value number {i} with some padding to make it longer\"\n"
        ));
        i += 1;
    }
    write(tmp.path(), "big.yaml", &s);
    let c = chart_dir(&[(
        "templates/x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  n: \"{{ values.big | length }}\"\n",
    )]);
    let start = std::time::Instant::now();
    let out = ok(&[
        "template",
        "x",
        c.path().to_str().unwrap(),
        "-f",
        tmp.path().join("big.yaml").to_str().unwrap(),
    ]);
    let took = start.elapsed();
    assert!(
        out.contains(&format!("n: \"{i}\"")),
        "{}",
        &out[..out.len().min(500)]
    );
    // Debug builds are slow; the bound only catches quadratic behaviour.
    assert!(took.as_secs() < 120, "took {took:?}");
}
