//! The reference tools (helm, kubectl) from `scripts/reference-tools`: found, or a skip that
//! says so on stderr outside CI, or a failure in CI.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{cluster_required, say};

/// The reference tools directory: `CHARTER_REFERENCE_TOOLS` (set by scripts/test), else what
/// `scripts/reference-tools` installs. `None` means skip (said on stderr, with `what`); in CI
/// a missing tool fails the test.
pub fn reference_tools(what: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("CHARTER_REFERENCE_TOOLS").filter(|v| !v.is_empty()) {
        Some(d) => Some(PathBuf::from(d)),
        None => Command::new(super::cli::root().join("scripts/reference-tools"))
            .stderr(Stdio::inherit())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())),
    };
    match dir.filter(|d| d.join("helm").is_file()) {
        Some(d) => Some(d),
        None if cluster_required() => {
            panic!(
                "{what}: CI=true but the reference tools could not be installed (scripts/reference-tools)"
            )
        }
        None => {
            say(&format!(
                "{what}: skipped: no helm (scripts/reference-tools failed)"
            ));
            None
        }
    }
}

/// The reference helm binary, or `None` (a skip, said on stderr).
pub fn helm(what: &str) -> Option<PathBuf> {
    reference_tools(what).map(|d| d.join("helm"))
}

/// A Helm command with every directory it writes under `home` (never the user's), no proxies,
/// UTC, and its input and output piped.
pub fn helm_command(helm: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(helm);
    cmd.env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env(
            "HELM_REPOSITORY_CONFIG",
            home.join("config/repositories.yaml"),
        )
        .env("HELM_REPOSITORY_CACHE", home.join("cache/repository"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for v in super::cli::PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd
}

/// Runs the reference Helm ([`helm_command`]) with `stdin` as its input; panics with its
/// output when it fails.
pub fn run_helm(
    helm: &Path,
    home: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    run(helm_command(helm, home).args(args), args, stdin)
}

/// Runs `cmd` with `stdin` as its input; panics with its output when it fails.
pub fn run(cmd: &mut Command, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = cmd.spawn().expect("run helm");
    if let (Some(s), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(s.as_bytes()).expect("write helm's stdin");
    }
    let out = child.wait_with_output().expect("wait for helm");
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The shared corpus of unmodified public Helm charts (issue 13's compare run):
/// `CHARTER_HELM_CHARTS`, else the first `shared/helm-charts` beside the checkout or one of its
/// parent directories. `None` means skip (said on stderr, with `what`); in CI it fails.
pub fn helm_charts_corpus(what: &str) -> Option<PathBuf> {
    let found = match std::env::var_os("CHARTER_HELM_CHARTS").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => super::cli::root()
            .ancestors()
            .map(|a| a.join("shared/helm-charts"))
            .find(|d| d.join("compare").is_file()),
    };
    if found.is_none() {
        assert!(
            !cluster_required(),
            "{what}: CI=true but there is no shared/helm-charts corpus (set CHARTER_HELM_CHARTS)"
        );
        say(&format!(
            "{what}: skipped: no shared/helm-charts corpus (set CHARTER_HELM_CHARTS)"
        ));
    }
    found
}

/// Helm 3 (`scripts/test-tools helm3`, built from upstream's module on first use, minutes
/// cold), or `None` (a skip, said on stderr; in CI a failure).
pub fn helm3(what: &str) -> Option<PathBuf> {
    let built = Command::new(super::cli::root().join("scripts/test-tools"))
        .arg("helm3")
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.is_file());
    match built {
        Some(p) => Some(p),
        None if cluster_required() => {
            panic!("{what}: CI=true but Helm 3 could not be built (scripts/test-tools helm3)")
        }
        None => {
            say(&format!(
                "{what}: skipped: no Helm 3 (scripts/test-tools helm3 failed)"
            ));
            None
        }
    }
}
