//! Issue 14's list of the Helm commands and flags users type: each one through the real binary,
//! on the real test cluster where it touches one, and each in `--help`.

mod support;

use std::path::Path;

use support::{cluster_or_skip, write};

fn charter_ok(args: &[&str]) -> String {
    support::charter().ok(args)
}

fn on(kubeconfig: &Path) -> support::cli::Charter {
    support::charter().cluster(kubeconfig)
}

/// A chart with values, a README and a CRD.
fn chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: shown\nversion: 0.3.0\nappVersion: \"2\"\ndescription: Shown\n",
    );
    write(dir, "values.yaml", "# defaults\nport: 8080\n");
    write(dir, "README.md", "# shown\n\nHow to use it.\n");
    write(
        dir,
        "crds/widgets.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
    );
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}\ndata:\n  port: \"{{ values.port }}\"\n",
    );
}

#[test]
fn show_prints_each_part_of_a_chart_directory_or_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shown");
    chart(&dir);
    let d = dir.to_str().unwrap();
    let chart_yaml = charter_ok(&["show", "chart", d]);
    let lines: Vec<&str> = chart_yaml.lines().collect();
    assert_eq!(
        lines,
        [
            "apiVersion: charter/v1",
            "name: shown",
            "version: \"0.3.0\"",
            "appVersion: \"2\"",
            "description: Shown",
            "type: application"
        ],
        "{chart_yaml}"
    );
    assert_eq!(
        charter_ok(&["show", "values", d]),
        "# defaults\nport: 8080\n"
    );
    assert_eq!(
        charter_ok(&["show", "readme", d]),
        "# shown\n\nHow to use it.\n"
    );
    let crds = charter_ok(&["show", "crds", d]);
    assert!(crds.contains("name: widgets.example.com"), "{crds}");
    let all = charter_ok(&["show", "all", d]);
    for part in [
        &chart_yaml,
        "port: 8080",
        "How to use it.",
        "widgets.example.com",
    ] {
        assert!(all.contains(part), "{part} missing from: {all}");
    }
    // The same from the packaged archive, and --version checked against it.
    let out = tmp.path().join("out");
    charter_ok(&["package", d, "-d", out.to_str().unwrap()]);
    let tgz = out.join("shown-0.3.0.tgz");
    let t = tgz.to_str().unwrap();
    assert_eq!(
        charter_ok(&["show", "values", t]),
        "# defaults\nport: 8080\n"
    );
    assert_eq!(charter_ok(&["show", "all", t]), all);
    let err = support::charter().fails(&["show", "chart", t, "--version", "^1"]);
    assert!(
        err.contains("does not satisfy") && err.contains("^1"),
        "{err}"
    );
    let err = support::charter().fails(&["show", "chart", "/nonexistent/chart"]);
    assert!(err.contains("/nonexistent/chart"), "{err}");
}

#[test]
fn create_writes_a_chart_that_lints_clean_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("web");
    let d = dir.to_str().unwrap();
    let out = charter_ok(&["create", d]);
    assert!(out.contains("Created chart"), "{out}");
    let lint = charter_ok(&["lint", d]);
    assert!(lint.contains("0 error(s), 0 warning(s)"), "{lint}");
    assert!(charter_ok(&["show", "chart", d]).contains("name: web\n"));
    let err = support::charter().fails(&["create", d]);
    assert!(err.contains("already exists and is not empty"), "{err}");
    let err = support::charter().fails(&["create", tmp.path().join("Bad_Name").to_str().unwrap()]);
    assert!(err.contains("cannot name a chart"), "{err}");
}

// `create`'s chart installs and becomes ready on a real cluster.
#[tokio::test]
async fn a_created_chart_installs_and_becomes_ready() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("create").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("web");
    let (d, n) = (dir.to_str().unwrap(), ns.name());
    charter_ok(&["create", d]);
    let out = on(&kc).ok(&["install", "web", d, "-n", n, "--wait", "--timeout", "60s"]);
    assert!(out.contains("web (chart web-0.1.0) is installed"), "{out}");
    let status = on(&kc).ok(&["status", "web", "-n", n]);
    assert!(status.contains("deployed"), "{status}");
    ns.delete().await;
}

/// A chart with a default value, a value to supply, and a hook-annotated ConfigMap.
fn hooked_chart(dir: &Path) {
    write(
        dir,
        "Chart.yaml",
        "apiVersion: charter/v1\nname: hooked\nversion: 1.1.0\nappVersion: \"3.0\"\n",
    );
    write(dir, "values.yaml", "greeting: hello\nport: 80\n");
    write(
        dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-cfg\ndata:\n  greeting: {{ values.greeting | quote }}\n",
    );
    write(
        dir,
        "templates/hook.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-hook\n  annotations:\n    helm.sh/hook: pre-install\ndata: {}\n",
    );
    write(dir, "templates/NOTES.txt", "hooked notes\n");
}

// `get values` prints what the user supplied, `--all` every value; `get metadata`, `get hooks`
// and `get all` (a summary; the record with -o json).
#[tokio::test]
async fn get_values_metadata_hooks_and_all() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("get").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    hooked_chart(tmp.path());
    let (d, n) = (tmp.path().to_str().unwrap(), ns.name());
    on(&kc).ok(&["install", "g", d, "-n", n, "--set", "greeting=hi"]);
    let get = |args: &[&str]| {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", n]);
        on(&kc).ok(&all)
    };
    assert_eq!(get(&["values", "g"]), "greeting: hi\n");
    assert_eq!(get(&["values", "g", "--all"]), "greeting: hi\nport: 80\n");
    let json: serde_json::Value =
        serde_json::from_str(&get(&["values", "g", "-o", "json"])).unwrap();
    assert_eq!(json, serde_json::json!({"greeting": "hi"}));
    let meta = get(&["metadata", "g"]);
    for line in [
        "NAME: g",
        "CHART: hooked",
        "VERSION: 1.1.0",
        "APP_VERSION: 3.0",
        &format!("NAMESPACE: {n}"),
        "REVISION: 1",
        "STATUS: deployed",
    ] {
        assert!(meta.lines().any(|l| l == line), "{line} in {meta}");
    }
    let meta: serde_json::Value =
        serde_json::from_str(&get(&["metadata", "g", "-o", "json"])).unwrap();
    assert_eq!(meta["chart"], "hooked");
    assert_eq!(meta["revision"], 1);
    let hooks = get(&["hooks", "g"]);
    assert!(
        hooks.contains("name: g-hook") && !hooks.contains("name: g-cfg"),
        "{hooks}"
    );
    let all = get(&["all", "g"]);
    for part in [
        "NAME: g",
        "USER-SUPPLIED VALUES:\ngreeting: hi\n",
        "COMPUTED VALUES:\ngreeting: hi\nport: 80\n",
        "HOOKS:",
        "MANIFEST:",
        "name: g-cfg",
        "NOTES:\nhooked notes",
    ] {
        assert!(all.contains(part), "{part} in {all}");
    }
    let record: serde_json::Value =
        serde_json::from_str(&get(&["all", "g", "-o", "json"])).unwrap();
    assert_eq!(record["name"], "g");
    assert!(record["manifest"].as_str().unwrap().contains("g-cfg"));
    let err = on(&kc).fails(&["get", "manifest", "g", "-n", n, "--all"]);
    assert!(err.contains("--all is for `charter get values`"), "{err}");
    ns.delete().await;
}
