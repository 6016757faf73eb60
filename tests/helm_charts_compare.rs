//! The compare run of issue 13: unmodified public Helm charts (the shared corpus
//! `shared/helm-charts`, with their vendored dependencies), each with its default values and
//! with every `ci/*.yaml` values file it ships, rendered by the reference `helm template` and by
//! `charter template`, and compared object by object by the corpus's own `compare` script.
//! Every case must pass.
//!
//! The corpus is `CHARTER_HELM_CHARTS`, else the first `shared/helm-charts` found beside the
//! checkout or one of its parent directories. The script needs python3 with PyYAML (.ci/run
//! installs them). Without the corpus, python3/PyYAML or helm the test says "skipped" on stderr
//! and passes, unless `CI=true`.

mod support;

use std::process::Command;

fn skip(what: &str) {
    assert!(
        !support::cluster_required(),
        "CI=true but the compare run cannot run: {what}"
    );
    support::say(&format!("helm charts compare run: skipped: {what}"));
}

#[test]
fn public_charts_render_as_helm_renders_them() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let Some(corpus) = support::helm_charts_corpus(support::test_name!()) else {
        return;
    };
    let has_yaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_yaml {
        skip("python3 with PyYAML is missing (Debian: apt-get install python3-yaml)");
        return;
    }
    let out = Command::new("python3")
        .arg(corpus.join("compare"))
        .arg("--helm")
        .arg(&helm)
        .arg("--charter")
        .arg(env!("CARGO_BIN_EXE_charter"))
        .arg("--corpus")
        .arg(&corpus)
        .env_remove("KUBECONFIG")
        .env("TZ", "UTC")
        .output()
        .expect("run the compare script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let totals = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or("no totals line");
    support::say(&format!("helm charts compare run: {totals}"));
    assert!(
        out.status.success() && totals.ends_with(" 0 failed"),
        "the compare run failed ({totals}):\n{stdout}\n{stderr}"
    );
    let passed: usize = totals
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 126, "only {passed} cases ran: {totals}");
}
