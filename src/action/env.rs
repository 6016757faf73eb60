//! `env`: the environment variables charter reads, each with the value it takes effect with
//! (the default filled in where the variable is unset).

use crate::repo::config::Paths;

/// One variable charter reads.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnvVar {
    /// Its name.
    pub name: &'static str,
    /// The value in effect: the variable's, else the default charter uses ("" when none).
    pub value: String,
    /// Whether the variable itself is set.
    pub set: bool,
    /// What charter uses it for.
    pub about: &'static str,
}

/// Every variable charter reads, in a fixed order.
pub fn run() -> Vec<EnvVar> {
    let raw = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let paths = Paths::from_env().ok();
    let parent = |p: Option<&std::path::Path>| {
        p.and_then(std::path::Path::parent)
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let home = raw("HOME").unwrap_or_default();
    let effective = |name: &'static str, default: String, about: &'static str| EnvVar {
        name,
        value: raw(name).unwrap_or(default),
        set: raw(name).is_some(),
        about,
    };
    vec![
        effective(
            "KUBECONFIG",
            crate::cluster::kubeconfig_path(None)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            "kubeconfig files (colon-separated) when neither --kubeconfig nor the target's charter.yaml names one",
        ),
        effective(
            "XDG_CONFIG_HOME",
            parent(paths.as_ref().map(|p| p.config_dir.as_path())),
            "charter/repositories.yaml, credentials.yaml and registries.yaml live below it",
        ),
        effective(
            "XDG_CACHE_HOME",
            parent(paths.as_ref().map(|p| p.cache_dir.as_path())),
            "charter/ below it caches repository indexes and chart archives",
        ),
        effective(
            "DOCKER_CONFIG",
            if home.is_empty() {
                String::new()
            } else {
                format!("{home}/.docker")
            },
            "directory of Docker's config.json, read for OCI registry credentials",
        ),
        effective(
            "CHARTER_LOG",
            String::new(),
            "log filter (tracing syntax, e.g. debug or charter=trace); overrides -v/--debug",
        ),
        effective(
            "NO_COLOR",
            String::new(),
            "any value but false: no colored output",
        ),
        effective(
            "CI",
            String::new(),
            "true: diff and plan print plain progress lines for CI logs",
        ),
        effective(
            "SOURCE_DATE_EPOCH",
            String::new(),
            "seconds since 1970 used as the time of packaged and pushed charts (reproducible builds)",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_once_with_its_use() {
        let vars = run();
        let mut names: Vec<&str> = vars.iter().map(|v| v.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), vars.len());
        assert!(vars.iter().all(|v| !v.about.is_empty()));
        assert!(vars.iter().any(|v| v.name == "KUBECONFIG"));
    }
}
