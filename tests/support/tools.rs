//! The reference tools (helm, kubectl) from `scripts/reference-tools`: found, or a skip that
//! says so on stderr outside CI, or a failure in CI.

use std::path::PathBuf;
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
