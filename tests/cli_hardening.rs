//! Issue 14's defects that need no cluster, each reproduced through the real binary: deploy
//! trees whose targets collide, a misspelt key in a middle level, the Norway problem, broken
//! pipes, warnings that were recorded but never shown, and template errors that point at the
//! wrong place.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use support::{root, write};

fn charter_in(dir: &Path, args: &[&str]) -> std::process::Output {
    support::charter().cwd(dir).run(args)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CHART: &str =
    "apiVersion: charter/v1\nname: app\nversion: 1.0.0\nappVersion: \"1\"\ndescription: d\n";

/// A deploy tree `tree/` beside a chart `chart/` that renders one ConfigMap labelled with the
/// target's region.
fn tree(dir: &Path) {
    write(dir, ".git/HEAD", "");
    write(dir, "chart/Chart.yaml", CHART);
    write(dir, "chart/values.yaml", "x: 1\n");
    write(
        dir,
        "chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    region: {{ target.region | quote }}\ndata:\n  x: \"{{ values.x }}\"\n",
    );
    write(dir, "tree/charter.yaml", "chart: ../chart\nrelease: app\n");
    write(dir, "tree/prod/charter.yaml", "namespace: prod\n");
    write(dir, "tree/prod/a/values.yaml", "x: 2\n");
    write(dir, "tree/prod/b/values.yaml", "x: 3\n");
}

// Item 12: an unknown key in a middle level's charter.yaml is named with its file and line,
// instead of the target being taken for a chart directory.
#[test]
fn a_misspelt_key_in_a_middle_level_is_named_with_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    tree(t.path());
    write(
        t.path(),
        "tree/prod/charter.yaml",
        "namespace: prod\nwavez: 2\n",
    );
    for cmd in ["template", "values", "lint"] {
        let out = charter_in(t.path(), &[cmd, "tree/prod/b"]);
        // lint reports findings on stdout.
        let err = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            err.contains("tree/prod/charter.yaml") && err.contains("wavez"),
            "{cmd}: {err}"
        );
        assert!(err.contains("line 2"), "{cmd}: the line of `wavez`: {err}");
        assert!(!err.contains("not a chart"), "{cmd}: {err}");
    }
}

// Item 1: two targets of one tree that deploy the same release to the same namespace of the
// same cluster are refused by lint, naming both.
#[test]
fn lint_refuses_targets_that_deploy_the_same_release() {
    let t = tempfile::tempdir().unwrap();
    tree(t.path());
    let out = charter_in(t.path(), &["lint", "tree"]);
    let err = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("prod/a")
            && err.contains("prod/b")
            && err.contains("release `app` in namespace `prod`"),
        "{err}"
    );
    // A namespace per target makes them separate releases.
    write(t.path(), "tree/prod/a/charter.yaml", "namespace: prod-a\n");
    let out = charter_in(t.path(), &["lint", "tree"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

// Item 1, plan and apply: refused before any cluster is contacted (the kubeconfig names a
// server nobody listens on, so reaching it would fail differently).
#[test]
fn plan_and_apply_refuse_colliding_targets_before_contacting_a_cluster() {
    let t = tempfile::tempdir().unwrap();
    tree(t.path());
    write(
        t.path(),
        "kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\nusers:\n- name: u\n  user:\n    token: t\n",
    );
    for cmd in [&["plan", "tree"][..], &["apply", "tree"][..]] {
        let mut args = cmd.to_vec();
        args.extend(["--kubeconfig", "kubeconfig"]);
        let out = charter_in(t.path(), &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{cmd:?}: {err}");
        assert!(
            err.contains("prod/a")
                && err.contains("prod/b")
                && err.contains("release `app` in namespace `prod`"),
            "{cmd:?}: {err}"
        );
        assert!(!err.contains("cannot reach"), "{cmd:?}: {err}");
    }
}

// Item 1: the demo tree deploys one release per target.
#[test]
fn the_demo_tree_lints_clean_with_one_release_per_target() {
    let out = support::charter()
        .cwd(&root())
        .run(&["lint", "testdata/deploy/demo"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

// Item 11: a region called `no` renders a string label in the demo chart, and any chart that
// renders a label or annotation YAML reads as a boolean or number is refused by template (as by
// lint), naming the template, the key and what to do.
#[test]
fn the_norway_problem_is_quoted_in_the_demo_and_refused_elsewhere() {
    let t = tempfile::tempdir().unwrap();
    let demo = root().join("testdata/deploy/demo");
    write(
        t.path(),
        "demo/charter.yaml",
        &format!(
            "chart: {}\nrelease: demo\nnamespace: demo\n",
            root().join("charts/demo").display()
        ),
    );
    write(
        t.path(),
        "demo/prod/values.yaml",
        &std::fs::read_to_string(demo.join("prod/values.yaml")).unwrap(),
    );
    write(t.path(), "demo/prod/no/values.yaml", "replicaCount: 2\n");
    write(t.path(), ".git/HEAD", "");
    let out = charter_in(t.path(), &["template", "demo/prod/no"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("charter.dev/region: \"no\""), "{text}");

    for (label, read_as) in [("y", "true"), ("off", "false"), ("0x1F", "31")] {
        write(
            t.path(),
            "c/Chart.yaml",
            "apiVersion: charter/v1\nname: c\nversion: 1.0.0\n",
        );
        write(
            t.path(),
            "c/templates/cm.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  annotations:\n    a: \"fine\"\n  labels:\n    region: {label}\n"
            ),
        );
        let out = charter_in(t.path(), &["template", "c"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{label}: {err}");
        assert!(
            err.contains("c/templates/cm.yaml")
                && err.contains("metadata.labels.region")
                && err.contains(read_as)
                && err.contains("quote"),
            "{label}: {err}"
        );
        assert!(err.contains("line 8"), "{label}: {err}");
    }
    // Annotations too, and in a pod template.
    write(
        t.path(),
        "c/templates/cm.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    metadata:\n      annotations:\n        checksum: 12\n",
    );
    let err = stderr(&charter_in(t.path(), &["template", "c"]));
    assert!(
        err.contains("spec.template.metadata.annotations.checksum"),
        "{err}"
    );
}

/// Runs charter with stdout a pipe whose reading end is already closed: every write fails with
/// EPIPE at once, whatever the size of the output.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("KUBECONFIG")
        .stdout(writer)
        .stderr(Stdio::piped());
    cmd.output().unwrap()
}

// Item 4: a closed pipe on stdout ends the command quietly (no panic, no error message).
#[test]
fn a_closed_stdout_ends_quietly() {
    let r = root();
    for args in [
        &["template", "testdata/deploy/demo/prod/westus"][..],
        &["completion", "bash"],
        &["values", "testdata/deploy/demo/prod/westus", "--explain"],
        &["lint", "charts/demo"],
        &["version"],
        &["--help"],
    ] {
        let out = with_closed_stdout(&r, args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

// Item 4 with a real consumer that reads one line and goes away while charter still writes.
#[test]
fn head_closing_early_ends_quietly() {
    let bin = env!("CARGO_BIN_EXE_charter");
    for cmd in [
        "template testdata/deploy/demo/prod/westus",
        "completion bash",
    ] {
        let script = format!("set -o pipefail; {bin} {cmd} | head -1 >/dev/null");
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(root())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{cmd}: {:?} {err}", out.status);
        assert!(err.is_empty(), "{cmd}: {err}");
    }
}

// Item 9: warnings the values layer records are printed on stderr, once each.
#[test]
fn values_warnings_are_printed_once_each() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "c/Chart.yaml", CHART);
    write(t.path(), "c/values.yaml", "image:\n  tag: v1\n");
    write(
        t.path(),
        "c/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    for cmd in ["template", "values", "lint"] {
        let mut args = vec![cmd];
        if cmd == "lint" {
            args.push("c");
        } else {
            args.extend(["web", "c"]);
        }
        args.extend(["--set", "image=plain", "--set", "a[0=1"]);
        let out = charter_in(t.path(), &args);
        let err = stderr(&out);
        assert!(out.status.success(), "{cmd}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("image") && l.contains("map")),
            "{cmd}: {err}"
        );
        assert!(lines.iter().any(|l| l.contains("a[0=1")), "{cmd}: {err}");
        let mut unique = lines.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), lines.len(), "{cmd}: printed twice: {err}");
    }
}

// Item 10: template errors name the template's real path, and an unclosed block points at
// its opening tag, not past the end of the file.
#[test]
fn template_errors_name_the_real_file_and_the_unclosed_tag() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "charts/c/Chart.yaml", CHART);
    write(
        t.path(),
        "charts/c/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.nope.deeper }}\n",
    );
    let err = stderr(&charter_in(t.path(), &["template", "charts/c"]));
    assert!(err.contains("charts/c/templates/cm.yaml:4:"), "{err}");
    assert!(!err.contains(" app/templates"), "{err}");

    write(
        t.path(),
        "charts/c/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n{% if values.a %}\ndata:\n  {% for k in [1] %}{% endfor %}\n  a: b\n",
    );
    let err = stderr(&charter_in(t.path(), &["template", "charts/c"]));
    assert!(err.contains("charts/c/templates/cm.yaml:5:1"), "{err}");
    assert!(err.contains("{% endif %}"), "{err}");
}

// The broken-pipe test above must also hold for commands that print progressively.
#[test]
fn help_and_errors_do_not_panic_on_a_closed_stderr() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["template", "nope/nothere"])
        .stdout(Stdio::piped())
        .stderr(writer)
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{out}");
}
