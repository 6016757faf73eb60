//! Targets that would deploy the same release. Two targets resolving to one release in one
//! namespace of one cluster would upgrade it in turn, each overwriting the other (the last one
//! applied wins, and a plan of the others no longer matches): every command that acts on a
//! whole tree refuses such a tree before it touches a cluster.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Target, TargetError};

/// Where a target deploys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Destination {
    /// The cluster: its API server URL when the kubeconfig names one (two contexts of one
    /// server are one cluster), else the context and kubeconfig.
    pub cluster: String,
    /// The namespace.
    pub namespace: String,
    /// The release name.
    pub release: String,
}

/// Targets sharing one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedRelease {
    /// Where they all deploy.
    pub destination: Destination,
    /// Each target's name and directory.
    pub targets: Vec<(String, PathBuf)>,
    /// The charter.yaml files those targets read, top first.
    pub configs: Vec<PathBuf>,
}

/// Refuses targets that deploy the same release into the same namespace of the same cluster,
/// naming every such group, the targets, and the charter.yaml files that set them.
pub fn refuse_shared_releases<'a>(
    targets: impl IntoIterator<Item = (&'a Target, Destination)>,
) -> Result<(), TargetError> {
    let mut by_dest: BTreeMap<Destination, Vec<&Target>> = BTreeMap::new();
    for (t, d) in targets {
        by_dest.entry(d).or_default().push(t);
    }
    let shared: Vec<SharedRelease> = by_dest
        .into_iter()
        .filter(|(_, ts)| ts.len() > 1)
        .map(|(destination, ts)| {
            let mut configs: Vec<PathBuf> = Vec::new();
            for c in ts.iter().flat_map(|t| &t.configs) {
                if !configs.contains(c) {
                    configs.push(c.clone());
                }
            }
            SharedRelease {
                destination,
                targets: ts.iter().map(|t| (t.name.clone(), t.dir.clone())).collect(),
                configs,
            }
        })
        .collect();
    if shared.is_empty() {
        Ok(())
    } else {
        Err(TargetError::SharedRelease(shared))
    }
}

/// The error message: one paragraph per group.
pub(super) fn describe(shared: &[SharedRelease]) -> String {
    let groups: Vec<String> = shared
        .iter()
        .map(|s| {
            let names: Vec<String> = s
                .targets
                .iter()
                .map(|(n, d)| format!("{n} ({})", d.display()))
                .collect();
            let configs: Vec<String> = s.configs.iter().map(|c| c.display().to_string()).collect();
            let d = &s.destination;
            format!(
                "targets {} all deploy release `{}` in namespace `{}` of cluster {}: each deploy would overwrite the others'. Give each target its own `namespace:`, `kubeContext:`/`kubeconfig:` or `release:` in its charter.yaml (they read {})",
                names.join(", "),
                d.release,
                d.namespace,
                d.cluster,
                configs.join(", ")
            )
        })
        .collect();
    groups.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::resolve;

    #[test]
    fn targets_sharing_a_release_are_named_with_their_files() {
        let t = tempfile::tempdir().unwrap();
        let w = |p: &str, c: &str| {
            let p = t.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        };
        w(".git/HEAD", "");
        w(
            "chart/Chart.yaml",
            "apiVersion: charter/v1\nname: c\nversion: 1.0.0\n",
        );
        w("app/charter.yaml", "chart: ../chart\nnamespace: web\n");
        for leaf in ["prod/eastus", "prod/westus", "staging/eastus"] {
            w(&format!("app/{leaf}/values.yaml"), "a: 1\n");
        }
        w("app/staging/charter.yaml", "namespace: web-staging\n");
        let targets: Vec<Target> = ["prod/eastus", "prod/westus", "staging/eastus"]
            .iter()
            .map(|l| resolve(&t.path().join("app").join(l)).unwrap())
            .collect();
        let dest = |t: &Target, cluster: &str| Destination {
            cluster: cluster.to_string(),
            namespace: t.namespace.clone().unwrap_or_default(),
            release: t.release.clone(),
        };

        // One cluster: both prod targets are release app in namespace web.
        let err = refuse_shared_releases(targets.iter().map(|t| (t, dest(t, "https://one"))))
            .unwrap_err();
        let msg = err.to_string();
        let TargetError::SharedRelease(groups) = &err else {
            panic!("{msg}")
        };
        assert_eq!(groups.len(), 1, "{msg}");
        assert!(
            msg.contains("targets prod/eastus (")
                && msg.contains("prod/westus (")
                && msg.contains("release `app` in namespace `web` of cluster https://one")
                && msg.contains(&t.path().join("app/charter.yaml").display().to_string())
                && !msg.contains("staging"),
            "{msg}"
        );

        // One cluster per region: nothing shared.
        let per_region = |t: &Target| dest(t, t.region.as_deref().unwrap_or_default());
        assert!(refuse_shared_releases(targets.iter().map(|t| (t, per_region(t)))).is_ok());
    }
}
