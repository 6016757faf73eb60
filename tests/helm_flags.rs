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
    // As published: the file's own text.
    assert_eq!(
        chart_yaml,
        "apiVersion: charter/v1\nname: shown\nversion: 0.3.0\nappVersion: \"2\"\ndescription: Shown\n"
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
    // The same from the packaged archive.
    let out = tmp.path().join("out");
    charter_ok(&["package", d, "-d", out.to_str().unwrap()]);
    let tgz = out.join("shown-0.3.0.tgz");
    let t = tgz.to_str().unwrap();
    assert_eq!(
        charter_ok(&["show", "values", t]),
        "# defaults\nport: 8080\n"
    );
    assert_eq!(charter_ok(&["show", "all", t]), all);
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

/// A chart with a default value, a value to supply, and a pre-install hook ConfigMap.
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
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ release.name }}-hook\n  annotations:\n    charter.dev/hook: pre-install\ndata: {}\n",
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

type Crd =
    k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// A CRD whose group is unique to `ns` (CRDs are cluster-wide).
fn crd(dir: &Path, ns: &str) -> String {
    let group = format!("{ns}.example.com");
    write(
        dir,
        "crds/gadgets.yaml",
        &format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: gadgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names:\n    plural: gadgets\n    singular: gadget\n    kind: Gadget\n    listKind: GadgetList\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n"
        ),
    );
    format!("gadgets.{group}")
}

// install --generate-name, --skip-crds, --labels and --skip-schema-validation.
#[tokio::test]
async fn install_generate_name_skip_crds_labels_and_skip_schema_validation() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("inst-flags").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    hooked_chart(tmp.path());
    let (d, n) = (tmp.path().to_str().unwrap(), ns.name());
    let crd_name = crd(tmp.path(), n);
    write(
        tmp.path(),
        "values.schema.json",
        r#"{"type": "object", "properties": {"port": {"type": "integer"}}}"#,
    );

    // --generate-name: <chart>-<unix seconds>, listed; a name given as well is refused.
    let out = on(&kc).ok(&["install", "--generate-name", d, "-n", n, "--skip-crds"]);
    let name = out
        .lines()
        .find_map(|l| l.strip_prefix("NAME: "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    let digits = name
        .strip_prefix("hooked-")
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        digits.len() >= 10 && digits.chars().all(|c| c.is_ascii_digit()),
        "{name}"
    );
    assert!(on(&kc).ok(&["list", "-n", n]).contains(&name));
    let err = on(&kc).fails(&["install", "x", d, "-n", n, "--generate-name"]);
    assert!(err.contains("--generate-name names the release"), "{err}");

    // --skip-crds: the CRD is neither applied nor recorded.
    let crds: kube::Api<Crd> = kube::Api::all(cluster.client.clone());
    assert!(crds.get_opt(&crd_name).await.unwrap().is_none());
    let manifest = on(&kc).ok(&["get", "manifest", &name, "-n", n]);
    assert!(!manifest.contains("CustomResourceDefinition"), "{manifest}");
    let dry = on(&kc).ok(&["install", "y", d, "-n", n, "--dry-run", "--skip-crds"]);
    assert!(
        !dry.contains("CustomResourceDefinition") && dry.contains("y-cfg"),
        "{dry}"
    );

    // --labels: on the record Secret and in `get metadata`; charter's own keys are refused.
    on(&kc).ok(&[
        "install",
        "lab",
        d,
        "-n",
        n,
        "--skip-crds",
        "--labels",
        "team=web,tier=front",
    ]);
    let meta = on(&kc).ok(&["get", "metadata", "lab", "-n", n]);
    assert!(meta.contains("LABELS: team=web,tier=front"), "{meta}");
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(cluster.client.clone(), n);
    let s = secrets.get("charter.release.v1.lab.v1").await.unwrap();
    let labels = s.metadata.labels.unwrap();
    assert_eq!(labels["team"], "web");
    assert_eq!(labels["owner"], "charter");
    on(&kc).ok(&[
        "upgrade",
        "lab",
        d,
        "-n",
        n,
        "--skip-crds",
        "--labels",
        "team=api",
    ]);
    let s = secrets.get("charter.release.v1.lab.v2").await.unwrap();
    assert_eq!(s.metadata.labels.unwrap()["team"], "api");
    let err = on(&kc).fails(&["install", "bad", d, "-n", n, "--labels", "owner=me"]);
    assert!(err.contains("`owner` is set by charter"), "{err}");

    // --skip-schema-validation: a value the schema refuses goes through.
    let err = on(&kc).fails(&[
        "install",
        "sch",
        d,
        "-n",
        n,
        "--skip-crds",
        "--set",
        "port=high",
    ]);
    assert!(err.contains("port"), "{err}");
    on(&kc).ok(&[
        "install",
        "sch",
        d,
        "-n",
        n,
        "--skip-crds",
        "--set",
        "port=high",
        "--skip-schema-validation",
    ]);

    // Without --skip-crds the CRD is installed.
    on(&kc).ok(&["install", "withcrd", d, "-n", n]);
    assert!(crds.get_opt(&crd_name).await.unwrap().is_some());
    let _ = crds.delete(&crd_name, &Default::default()).await;
    ns.delete().await;
}

// install --replace: a failed install is installed again under its name; a deployed release
// is not.
#[tokio::test]
async fn install_replace_takes_over_a_failed_install_only() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("replace").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    hooked_chart(tmp.path());
    write(
        tmp.path(),
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}\nspec:\n  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      {%- if values.zone %}\n      nodeSelector: {zone: {{ values.zone }}}\n      {%- endif %}\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n",
    );
    let (d, n) = (tmp.path().to_str().unwrap(), ns.name());
    on(&kc).fails(&[
        "install",
        "r",
        d,
        "-n",
        n,
        "--set",
        "zone=none",
        "--wait",
        "--timeout",
        "2s",
    ]);
    let err = on(&kc).fails(&["install", "r", d, "-n", n]);
    assert!(err.contains("already exists"), "{err}");
    let out = on(&kc).ok(&[
        "install",
        "r",
        d,
        "-n",
        n,
        "--replace",
        "--wait",
        "--timeout",
        "60s",
    ]);
    assert!(
        out.contains("REVISION: 2") && out.contains("DESCRIPTION: Install complete"),
        "{out}"
    );
    let err = on(&kc).fails(&["install", "r", d, "-n", n, "--replace"]);
    assert!(err.contains("already exists"), "{err}");
    ns.delete().await;
}

// upgrade --cleanup-on-fail deletes what the failed upgrade created, and only that;
// --reset-then-reuse-values keeps the supplied values over the new chart's defaults.
#[tokio::test]
async fn upgrade_cleanup_on_fail_and_reset_then_reuse_values() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("upg-flags").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    hooked_chart(tmp.path());
    let (d, n) = (tmp.path().to_str().unwrap(), ns.name());
    on(&kc).ok(&["install", "u", d, "-n", n, "--set", "greeting=hi"]);
    // The new revision adds a ConfigMap and a Deployment that never becomes ready.
    write(
        tmp.path(),
        "templates/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: u-extra\ndata: {}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: u-stuck\nspec:\n  selector:\n    matchLabels: {app: stuck}\n  template:\n    metadata:\n      labels: {app: stuck}\n    spec:\n      nodeSelector: {zone: none}\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n",
    );
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(cluster.client.clone(), n);
    let err = on(&kc).fails(&[
        "upgrade",
        "u",
        d,
        "-n",
        n,
        "--set",
        "greeting=changed",
        "--wait",
        "--timeout",
        "2s",
        "--cleanup-on-fail",
    ]);
    assert!(
        err.contains("Deleted the 2 object(s) the upgrade created (--cleanup-on-fail)"),
        "{err}"
    );
    assert!(cms.get_opt("u-extra").await.unwrap().is_none());
    // What existed before stays (changed by the failed upgrade, as Helm leaves it).
    assert!(cms.get_opt("u-cfg").await.unwrap().is_some());
    // Without the flag the created objects stay.
    on(&kc).fails(&["upgrade", "u", d, "-n", n, "--wait", "--timeout", "2s"]);
    assert!(cms.get_opt("u-extra").await.unwrap().is_some());

    // --reset-then-reuse-values: greeting=hi (supplied at install) is kept, the chart's new
    // default for port taken.
    std::fs::remove_file(tmp.path().join("templates/extra.yaml")).unwrap();
    write(tmp.path(), "values.yaml", "greeting: hello\nport: 81\n");
    on(&kc).ok(&["upgrade", "u", d, "-n", n, "--reset-then-reuse-values"]);
    assert_eq!(
        on(&kc).ok(&["get", "values", "u", "-n", n, "--all"]),
        "greeting: hi\nport: 81\n"
    );
    ns.delete().await;
}

// uninstall --dry-run, --ignore-not-found and --cascade orphan.
#[tokio::test]
async fn uninstall_dry_run_ignore_not_found_and_cascade() {
    let cluster = cluster_or_skip!();
    let ns = cluster.namespace("uninst").await;
    let kc = cluster.kubeconfig.clone();
    let tmp = tempfile::tempdir().unwrap();
    hooked_chart(tmp.path());
    write(
        tmp.path(),
        "templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}\nspec:\n  selector:\n    matchLabels: {app: {{ release.name }}}\n  template:\n    metadata:\n      labels: {app: {{ release.name }}}\n    spec:\n      containers:\n        - name: app\n          image: registry.invalid/app:1\n",
    );
    let (d, n) = (tmp.path().to_str().unwrap(), ns.name());
    on(&kc).ok(&["install", "un", d, "-n", n, "--wait", "--timeout", "60s"]);

    let out = on(&kc).ok(&["uninstall", "un", "-n", n, "--dry-run"]);
    assert!(
        // The pre-install hook ConfigMap is no object of the release.
        out.contains("would be uninstalled (dry run), deleting 2 object(s)")
            && out.contains("Deployment")
            && out.contains("un-cfg"),
        "{out}"
    );
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(cluster.client.clone(), n);
    assert!(cms.get_opt("un-cfg").await.unwrap().is_some());
    assert!(
        on(&kc)
            .ok(&["status", "un", "-n", n])
            .contains("STATUS: deployed")
    );

    // --cascade orphan: the Deployment goes, its ReplicaSet stays.
    let rs: kube::Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        kube::Api::namespaced(cluster.client.clone(), n);
    let lp = kube::api::ListParams::default().labels("app=un");
    assert_eq!(rs.list(&lp).await.unwrap().items.len(), 1);
    on(&kc).ok(&["uninstall", "un", "-n", n, "--cascade", "orphan"]);
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(cluster.client.clone(), n);
    support::wait_gone(&deployments, "un", std::time::Duration::from_secs(20)).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let left = rs.list(&lp).await.unwrap().items;
    assert_eq!(left.len(), 1, "the orphaned ReplicaSet stays");
    assert!(
        left[0]
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(|o| o.is_empty())
    );

    // --ignore-not-found: a release (or namespace) that does not exist is no error.
    let err = on(&kc).fails(&["uninstall", "un", "-n", n]);
    assert!(err.contains("not found"), "{err}");
    let out = on(&kc).ok(&["uninstall", "un", "-n", n, "--ignore-not-found"]);
    assert!(
        out.contains("not found") && out.contains("nothing to uninstall"),
        "{out}"
    );
    on(&kc).ok(&[
        "uninstall",
        "un",
        "-n",
        "no-such-namespace-x",
        "--ignore-not-found",
    ]);
    let err = on(&kc).fails(&["uninstall", "un", "-n", n, "--dry-run"]);
    assert!(err.contains("not found"), "{err}");
    ns.delete().await;
}

#[test]
fn debug_is_verbose_debug_output() {
    let demo = support::root().join("charts/demo");
    let d = demo.to_str().unwrap();
    let quiet = support::charter()
        .env_remove("CHARTER_LOG")
        .run(&["template", d]);
    assert!(quiet.status.success());
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("DEBUG"));
    for flags in [&["--debug"][..], &["-vv"]] {
        let mut args = flags.to_vec();
        args.extend_from_slice(&["template", d]);
        let out = support::charter().env_remove("CHARTER_LOG").run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("DEBUG") && err.contains("chart loaded"),
            "{flags:?}: {err}"
        );
        assert_eq!(out.stdout, quiet.stdout);
    }
}

#[test]
fn env_prints_what_charter_reads_with_the_values_in_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let kc = tmp.path().join("kc");
    std::fs::write(&kc, "apiVersion: v1\nkind: Config\n").unwrap();
    let cache = tmp.path().join("cache");
    let charter = || {
        support::charter()
            .env("KUBECONFIG", &kc)
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("XDG_CONFIG_HOME")
            .env("HOME", tmp.path())
            .env_remove("CHARTER_LOG")
    };
    let out = charter().ok(&["env"]);
    for line in [
        format!("KUBECONFIG={:?}", kc.display().to_string()),
        format!("XDG_CACHE_HOME={:?}", cache.display().to_string()),
        // Unset: the default it falls back to.
        format!(
            "XDG_CONFIG_HOME={:?}",
            tmp.path().join(".config").display().to_string()
        ),
        "CHARTER_LOG=\"\"".to_string(),
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in {out}");
    }
    assert_eq!(
        charter().ok(&["env", "XDG_CACHE_HOME"]),
        format!("{}\n", cache.display())
    );
    let json: serde_json::Value =
        serde_json::from_str(&charter().ok(&["env", "-o", "json"])).unwrap();
    let cache_var = json
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "XDG_CACHE_HOME")
        .unwrap();
    assert_eq!(cache_var["set"], true);
    let err = charter().fails(&["env", "HELM_CACHE_HOME"]);
    assert!(
        err.contains("charter does not read HELM_CACHE_HOME"),
        "{err}"
    );
}

/// Every command and flag of issue 14's list is in `--help`.
#[test]
fn the_helm_commands_and_flags_are_in_help() {
    let help = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--help");
        charter_ok(&all)
    };
    let top = help(&[]);
    for cmd in ["show", "create", "env", "--debug"] {
        assert!(top.contains(cmd), "{cmd} in charter --help: {top}");
    }
    for part in ["chart", "values", "readme", "crds", "all"] {
        assert!(help(&["show"]).contains(part), "show {part}");
    }
    let get = help(&["get"]);
    for w in ["hooks", "metadata", "all", "--all"] {
        assert!(get.contains(w), "get {w}: {get}");
    }
    let install = help(&["install"]);
    for f in [
        "--generate-name",
        "--replace",
        "--skip-crds",
        "--labels",
        "--skip-schema-validation",
    ] {
        assert!(install.contains(f), "install {f}");
    }
    let upgrade = help(&["upgrade"]);
    for f in [
        "--cleanup-on-fail",
        "--reset-then-reuse-values",
        "--skip-crds",
        "--labels",
    ] {
        assert!(upgrade.contains(f), "upgrade {f}: {upgrade}");
    }
    let uninstall = help(&["uninstall"]);
    for f in ["--dry-run", "--ignore-not-found", "--cascade"] {
        assert!(uninstall.contains(f), "uninstall {f}");
    }
}
