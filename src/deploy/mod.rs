//! Deploy trees: one directory tree per application, one directory level per layer
//! (stack → environment → region), one leaf directory per target.
//!
//! ```text
//! deploy/frontend/            charter.yaml (chart, release, namespace), values.yaml
//!   prod/                     values.yaml, optional charter.yaml overrides
//!     westus/values.yaml      a leaf: the target prod/westus
//! ```
//!
//! The stack root is the topmost directory with a `charter.yaml` found walking up from the
//! target (stopping at a repository root, or at a `charter.yaml` that says `root: true`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diff::{IgnoreRule, IgnoreRuleError, IgnoreSpec};
use crate::oci::RegistrySettings;
use crate::yaml::PathSeg;

/// The names of the layer files looked for at each level of a deploy tree.
pub const VALUES_FILE: &str = "values.yaml";
/// The per-level settings file of a deploy tree.
pub const CONFIG_FILE: &str = "charter.yaml";

/// Errors raised while resolving a target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The path does not exist.
    #[error("target {path} does not exist")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// No charter.yaml at or above the path.
    #[error(
        "{path} is not inside a deploy tree: no charter.yaml was found in it or any parent directory. Create a charter.yaml naming the chart at the top of the tree"
    )]
    NoStack {
        /// The path given.
        path: PathBuf,
    },
    /// An environment or region directory is missing.
    #[error("{what} `{name}` does not exist in {parent}; {available}")]
    UnknownLayer {
        /// "environment" or "region".
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The directory searched.
        parent: PathBuf,
        /// What exists instead.
        available: String,
    },
    /// charter.yaml is malformed.
    #[error("{path}: {message}")]
    Config {
        /// The charter.yaml.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No level of the tree names a chart.
    #[error(
        "no charter.yaml from {root} down to {leaf} names a chart; add `chart: <path>` (or `repo:`, `name:` and `version:`) to {root}/charter.yaml"
    )]
    NoChart {
        /// The stack root.
        root: PathBuf,
        /// The target.
        leaf: PathBuf,
    },
    /// The chart the tree names does not exist.
    #[error(
        "{config}: chart `{chart}` resolves to {resolved}, which does not exist; fix the `chart:` path (it is relative to the charter.yaml that sets it)"
    )]
    MissingChart {
        /// The charter.yaml that named the chart.
        config: PathBuf,
        /// The chart as written.
        chart: String,
        /// The path it resolved to.
        resolved: PathBuf,
    },
    /// A malformed `ignore:` rule in charter.yaml.
    #[error("{path}:{line}: {source}")]
    Ignore {
        /// The charter.yaml.
        path: PathBuf,
        /// 1-based line of the rule.
        line: usize,
        /// What is wrong.
        source: IgnoreRuleError,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// One level's `charter.yaml`. Every field is optional; deeper levels override shallower ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackConfig {
    /// Marks the stack root explicitly: the upward search stops here.
    #[serde(default)]
    pub root: bool,
    /// The chart: a directory or .tgz path relative to this file, or an OCI registry
    /// reference `oci://HOST/PATH/NAME` (with `version`, or `:TAG` / `@sha256:…`).
    #[serde(default)]
    pub chart: Option<String>,
    /// A chart repository to take the chart from instead of `chart`: a name configured with
    /// `charter repo add`, a repository URL, or a registry path `oci://HOST/PATH`. Used with
    /// `name` (and `version`).
    #[serde(default)]
    pub repo: Option<String>,
    /// The chart's name in `repo`.
    #[serde(default)]
    pub name: Option<String>,
    /// A version range the chart must satisfy (`^1.2`); with `repo`, the highest match is used.
    /// A deeper level may set only `version` to pin its targets to another chart version.
    #[serde(default)]
    pub version: Option<String>,
    /// The release name (default: the stack root directory's name).
    #[serde(default)]
    pub release: Option<String>,
    /// The namespace to install into.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The kube context to use for this target.
    #[serde(default)]
    pub kube_context: Option<String>,
    /// A kubeconfig path, relative to this file.
    #[serde(default)]
    pub kubeconfig: Option<String>,
    /// Extra values files at this level, relative to this file, after `values.yaml`.
    #[serde(default)]
    pub values: Vec<String>,
    /// `charter diff` ignore rules (docs/diff.md): `[KIND[/NAMESPACE]/NAME:]POINTER` strings
    /// or `{path, kind, namespace, name}` maps. They add up from the root down.
    #[serde(default)]
    pub ignore: Vec<IgnoreSpec>,
    /// How to reach the chart's OCI registry (`caFile` relative to this file,
    /// `insecureSkipTlsVerify`, `plainHttp`); deeper levels override field by field.
    #[serde(default)]
    pub registry: RegistrySettings,
}

/// A chart named by repository and name in a deploy tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoChart {
    /// A configured repository's name, a repository URL, or a registry path (`oci://HOST/PATH`).
    pub repo: String,
    /// The chart's name.
    pub name: String,
}

/// A layer file of a target, in precedence order (lowest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    /// Which level it belongs to: `stack`, the environment or region name, or a deeper name.
    pub level: String,
    /// The file.
    pub path: PathBuf,
}

/// A resolved target: one release of one chart in one cluster.
#[derive(Debug, Clone)]
pub struct Target {
    /// The stack root directory.
    pub root: PathBuf,
    /// The leaf directory.
    pub dir: PathBuf,
    /// The path of the leaf below the root, e.g. `prod/westus`.
    pub name: String,
    /// The environment (first level below the root), if any.
    pub env: Option<String>,
    /// The region (second level below the root), if any.
    pub region: Option<String>,
    /// The chart path, resolved; for a repository chart (`chart_repo`), `<repo>/<name>`, which
    /// is a label, not a path.
    pub chart: PathBuf,
    /// The repository chart the tree names (`repo` + `name`), instead of a path.
    pub chart_repo: Option<RepoChart>,
    /// The version range from charter.yaml (`version`), if any.
    pub chart_version: Option<String>,
    /// How to reach the chart's registry, from every level's `registry:`.
    pub registry: RegistrySettings,
    /// The release name.
    pub release: String,
    /// The namespace.
    pub namespace: Option<String>,
    /// The kube context.
    pub kube_context: Option<String>,
    /// The kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// The values files, lowest precedence first.
    pub layers: Vec<LayerFile>,
    /// The charter.yaml files read, top first.
    pub configs: Vec<PathBuf>,
    /// The diff ignore rules of every level, root first, each with its charter.yaml file:line.
    pub ignore: Vec<IgnoreRule>,
}

/// Whether `path` is inside a deploy tree (a charter.yaml in it or above it).
pub fn is_in_deploy_tree(path: &Path) -> bool {
    path.is_dir() && find_root(path).is_ok()
}

/// Resolves `--stack DIR --env E --region R` to a target directory, listing what exists when a
/// level is missing.
pub fn dir_for(
    stack: &Path,
    env: Option<&str>,
    region: Option<&str>,
) -> Result<PathBuf, TargetError> {
    if !stack.is_dir() {
        return Err(TargetError::NotFound {
            path: stack.to_path_buf(),
        });
    }
    let mut dir = stack.to_path_buf();
    for (what, name) in [("environment", env), ("region", region)] {
        let Some(name) = name else { break };
        let next = dir.join(name);
        if !next.is_dir() {
            let existing = subdirs(&dir)?;
            let available = if existing.is_empty() {
                format!("{} has no {what} directories", dir.display())
            } else {
                format!("the {what}s that exist are: {}", existing.join(", "))
            };
            return Err(TargetError::UnknownLayer {
                what,
                name: name.to_string(),
                parent: dir,
                available,
            });
        }
        dir = next;
    }
    Ok(dir)
}

/// Resolves a target directory: finds its stack root, merges the charter.yaml settings from
/// root to leaf, and lists the values layers.
pub fn resolve(dir: &Path) -> Result<Target, TargetError> {
    if !dir.is_dir() {
        return Err(TargetError::NotFound {
            path: dir.to_path_buf(),
        });
    }
    let root = find_root(dir)?;
    let rel = dir.strip_prefix(&root).unwrap_or(Path::new(""));
    let names: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();

    let mut levels = vec![(root.clone(), "stack".to_string())];
    let mut cur = root.clone();
    for n in &names {
        cur = cur.join(n);
        levels.push((cur.clone(), n.clone()));
    }

    let mut chart: Option<(PathBuf, String, PathBuf)> = None;
    let mut chart_repo: Option<(Option<String>, Option<String>, PathBuf)> = None;
    let mut chart_version = None;
    let mut registry = RegistrySettings::default();
    let mut release = None;
    let mut namespace = None;
    let mut kube_context = None;
    let mut kubeconfig = None;
    let mut layers = Vec::new();
    let mut configs = Vec::new();
    let mut ignore = Vec::new();
    for (level_dir, level) in &levels {
        let cfg_path = level_dir.join(CONFIG_FILE);
        let cfg = if cfg_path.is_file() {
            configs.push(cfg_path.clone());
            let (cfg, src) = read_config_source(&cfg_path)?;
            ignore.extend(ignore_rules(&cfg_path, &src, &cfg.ignore)?);
            cfg
        } else {
            StackConfig::default()
        };
        if cfg.chart.is_some() && (cfg.repo.is_some() || cfg.name.is_some()) {
            return Err(TargetError::Config {
                path: cfg_path,
                message:
                    "sets both `chart` (a path) and `repo`/`name` (a repository chart); keep one"
                        .into(),
            });
        }
        if let Some(c) = &cfg.chart
            && crate::oci::is_oci(c)
        {
            // A registry chart is its repository path and name, as `repo:` + `name:` say it.
            let (repo, name) = c.rsplit_once('/').unwrap_or((c.as_str(), ""));
            chart_repo = Some((
                Some(repo.to_string()),
                Some(name.to_string()),
                cfg_path.clone(),
            ));
            chart = None;
        } else if let Some(c) = &cfg.chart {
            chart = Some((clean_path(&level_dir.join(c)), c.clone(), cfg_path.clone()));
            chart_repo = None;
        }
        if cfg.repo.is_some() || cfg.name.is_some() {
            let (r, n, _) = chart_repo.take().unwrap_or((None, None, cfg_path.clone()));
            chart_repo = Some((
                cfg.repo.clone().or(r),
                cfg.name.clone().or(n),
                cfg_path.clone(),
            ));
            chart = None;
        }
        chart_version = cfg.version.or(chart_version);
        registry = cfg.registry.relative_to(level_dir).over(&registry);
        release = cfg.release.or(release);
        namespace = cfg.namespace.or(namespace);
        kube_context = cfg.kube_context.or(kube_context);
        if let Some(k) = &cfg.kubeconfig {
            kubeconfig = Some(level_dir.join(k));
        }
        let values = level_dir.join(VALUES_FILE);
        if values.is_file() {
            layers.push(LayerFile {
                level: level.clone(),
                path: values,
            });
        }
        for extra in &cfg.values {
            layers.push(LayerFile {
                level: level.clone(),
                path: level_dir.join(extra),
            });
        }
    }
    let (chart, chart_repo) = match (chart, chart_repo) {
        (_, Some((repo, name, config))) => {
            let (Some(repo), Some(name)) = (repo, name) else {
                return Err(TargetError::Config {
                    path: config,
                    message: "a repository chart needs both `repo` (a configured repository or URL) and `name`".into(),
                });
            };
            (
                PathBuf::from(format!("{repo}/{name}")),
                Some(RepoChart { repo, name }),
            )
        }
        (Some((chart, written, config)), None) => {
            if !chart.exists() {
                return Err(TargetError::MissingChart {
                    config,
                    chart: written,
                    resolved: chart,
                });
            }
            (chart, None)
        }
        (None, None) => {
            return Err(TargetError::NoChart {
                root: root.clone(),
                leaf: dir.to_path_buf(),
            });
        }
    };
    let release = release.unwrap_or_else(|| {
        root.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "release".to_string())
    });
    Ok(Target {
        root: root.clone(),
        dir: dir.to_path_buf(),
        name: names.join("/"),
        env: names.first().cloned(),
        region: names.get(1).cloned(),
        chart,
        chart_repo,
        chart_version,
        registry,
        release,
        namespace,
        kube_context,
        kubeconfig,
        layers,
        configs,
        ignore,
    })
}

/// Every leaf target at or below `dir` (directories without subdirectories that hold a
/// values.yaml or charter.yaml), sorted by path.
pub fn leaves(dir: &Path) -> Result<Vec<PathBuf>, TargetError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let subs = subdirs(&d)?;
        if subs.is_empty() {
            if d.join(VALUES_FILE).is_file() || d.join(CONFIG_FILE).is_file() {
                out.push(d);
            }
        } else {
            stack.extend(subs.iter().map(|s| d.join(s)));
        }
    }
    out.sort();
    Ok(out)
}

/// Lexically cleans a path (`a/b/../c` → `a/c`) so messages show the path a user would write.
pub fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let can_pop = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if !(can_pop && out.pop()) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn read_config(path: &Path) -> Result<StackConfig, TargetError> {
    read_config_source(path).map(|(cfg, _)| cfg)
}

/// The parsed charter.yaml and its text (for the line numbers of ignore rules).
fn read_config_source(path: &Path) -> Result<(StackConfig, String), TargetError> {
    let src = std::fs::read_to_string(path).map_err(|source| TargetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if src.trim().is_empty() {
        return Ok((StackConfig::default(), src));
    }
    let cfg = crate::yaml::from_str(&src).map_err(|e| TargetError::Config {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok((cfg, src))
}

/// Validates one charter.yaml's ignore rules and tags each with its file:line. The typed
/// parser keeps no positions, so the lines come from a second, line-tracking parse; it only
/// runs when the file has rules.
fn ignore_rules(
    path: &Path,
    src: &str,
    specs: &[IgnoreSpec],
) -> Result<Vec<IgnoreRule>, TargetError> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let lines = crate::yaml::parse_str_with_lines(src, &path.display().to_string())
        .ok()
        .map(|(_, lines)| lines);
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let at = [
                PathSeg::Key("ignore".into()),
                PathSeg::Index(i),
                PathSeg::Key("path".into()),
            ];
            let line = lines.as_ref().and_then(|l| l.line_of(&at)).unwrap_or(1);
            spec.to_rule()
                .map(|r| r.with_source(path, line))
                .map_err(|source| TargetError::Ignore {
                    path: path.to_path_buf(),
                    line,
                    source,
                })
        })
        .collect()
}

/// Walks up from `dir` to the topmost directory holding a charter.yaml, stopping at a
/// repository root or at a charter.yaml marked `root: true`.
fn find_root(dir: &Path) -> Result<PathBuf, TargetError> {
    let abs = dir.to_path_buf();
    let mut found: Option<PathBuf> = None;
    let mut cur: Option<&Path> = Some(&abs);
    while let Some(d) = cur {
        let cfg = d.join(CONFIG_FILE);
        if cfg.is_file() {
            found = Some(d.to_path_buf());
            if read_config(&cfg)?.root {
                break;
            }
        }
        if d.join(".git").exists() {
            break;
        }
        cur = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    found.ok_or_else(|| TargetError::NoStack {
        path: dir.to_path_buf(),
    })
}

fn subdirs(dir: &Path) -> Result<Vec<String>, TargetError> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|source| TargetError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let w = |p: &str, c: &str| {
            let p = r.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        };
        w(".git/HEAD", "");
        w(
            "chart/Chart.yaml",
            "apiVersion: charter/v1\nname: c\nversion: 1.0.0\n",
        );
        w(
            "chart2/Chart.yaml",
            "apiVersion: charter/v1\nname: c\nversion: 2.0.0\n",
        );
        w("app/charter.yaml", "chart: ../chart\nnamespace: web\n");
        w("app/values.yaml", "a: 1\n");
        w("app/staging/values.yaml", "a: 2\n");
        w("app/staging/eastus/values.yaml", "a: 3\n");
        w("app/prod/values.yaml", "a: 4\n");
        w(
            "app/prod/charter.yaml",
            "chart: ../../chart2\nkubeContext: prod\n",
        );
        w("app/prod/westus/values.yaml", "a: 5\n");
        w("app/prod/eastus/values.yaml", "a: 6\n");
        t
    }

    #[test]
    fn resolves_layers_and_overrides() {
        let t = tree();
        let target = resolve(&t.path().join("app/prod/westus")).unwrap();
        assert_eq!(target.release, "app");
        assert_eq!(target.namespace.as_deref(), Some("web"));
        assert_eq!(target.kube_context.as_deref(), Some("prod"));
        assert!(target.chart.ends_with("chart2"));
        assert_eq!(target.env.as_deref(), Some("prod"));
        assert_eq!(target.region.as_deref(), Some("westus"));
        let levels: Vec<_> = target.layers.iter().map(|l| l.level.as_str()).collect();
        assert_eq!(levels, ["stack", "prod", "westus"]);
    }

    #[test]
    fn stack_env_region_names_the_same_dir_and_lists_missing() {
        let t = tree();
        let app = t.path().join("app");
        assert_eq!(
            dir_for(&app, Some("prod"), Some("westus")).unwrap(),
            app.join("prod/westus")
        );
        let err = dir_for(&app, Some("qa"), None).unwrap_err().to_string();
        assert!(
            err.contains("environment `qa`") && err.contains("prod, staging"),
            "{err}"
        );
        let err = dir_for(&app, Some("prod"), Some("northpole"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("region `northpole`") && err.contains("eastus, westus"),
            "{err}"
        );
    }

    #[test]
    fn clean_path_is_lexical() {
        assert_eq!(
            clean_path(Path::new("a/b/../../../c/./d")),
            PathBuf::from("../c/d")
        );
        assert_eq!(clean_path(Path::new("/x/y/../z")), PathBuf::from("/x/z"));
        assert_eq!(clean_path(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn leaves_are_targets() {
        let t = tree();
        let l = leaves(&t.path().join("app")).unwrap();
        let names: Vec<_> = l
            .iter()
            .map(|p| p.strip_prefix(t.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            ["app/prod/eastus", "app/prod/westus", "app/staging/eastus"]
        );
    }

    #[test]
    fn missing_chart_names_the_config() {
        let t = tree();
        std::fs::write(t.path().join("app/charter.yaml"), "chart: ../nope\n").unwrap();
        let err = resolve(&t.path().join("app/staging/eastus"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("app/charter.yaml") && err.contains("`../nope`"),
            "{err}"
        );
    }

    #[test]
    fn ignore_rules_accumulate_top_down_with_their_lines() {
        let t = tree();
        let app = t.path().join("app");
        std::fs::write(
            app.join("charter.yaml"),
            "chart: ../chart\nnamespace: web\nignore:\n  - /spec/replicas\n  - kind: Deployment\n    path: /metadata/annotations/checksum~1config\n    name: web-*\n",
        )
        .unwrap();
        std::fs::write(
            app.join("prod/charter.yaml"),
            "chart: ../../chart2\nignore: [\"ConfigMap/prod/settings:/data/build\"]\n",
        )
        .unwrap();
        let target = resolve(&app.join("prod/westus")).unwrap();
        let rules: Vec<String> = target
            .ignore
            .iter()
            .map(|r| format!("{r} @ {}", r.source.as_ref().unwrap()))
            .collect();
        let (root, prod) = (app.join("charter.yaml"), app.join("prod/charter.yaml"));
        assert_eq!(
            rules,
            [
                format!("/spec/replicas @ {}:4", root.display()),
                format!(
                    "Deployment/web-*:/metadata/annotations/checksum~1config @ {}:6",
                    root.display()
                ),
                format!("ConfigMap/prod/settings:/data/build @ {}:2", prod.display()),
            ]
        );
        // A sibling that does not inherit prod's rules.
        let staging = resolve(&app.join("staging/eastus")).unwrap();
        assert_eq!(staging.ignore.len(), 2);
    }

    #[test]
    fn malformed_ignore_rules_name_the_file_and_line() {
        let t = tree();
        let prod = t.path().join("app/prod/charter.yaml");
        for (yaml, line, want) in [
            (
                "ignore:\n  - path: /ok\n  - path: spec/replicas\n    kind: Deployment\n",
                3,
                "`spec/replicas` is not a JSON pointer",
            ),
            ("ignore:\n  - \"/a/b~2\"\n", 2, "`~` at character 5"),
            (
                "\nignore:\n  - \"Deployment/x/y/z:/a\"\n",
                3,
                "more than three",
            ),
        ] {
            std::fs::write(&prod, format!("chart: ../../chart2\n{yaml}")).unwrap();
            let err = resolve(&t.path().join("app/prod/westus")).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, TargetError::Ignore { line: l, .. } if l == line + 1),
                "{msg}"
            );
            assert!(
                msg.starts_with(&format!("{}:{}: ", prod.display(), line + 1))
                    && msg.contains(want),
                "{msg}"
            );
        }
        // A misspelt field in the map form is refused like any unknown key.
        std::fs::write(&prod, "ignore:\n  - path: /a\n    knd: Deployment\n").unwrap();
        let msg = resolve(&t.path().join("app/prod/westus"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("charter.yaml") && msg.contains("knd"), "{msg}");
    }

    #[test]
    fn unknown_config_key_is_an_error() {
        let t = tree();
        std::fs::write(
            t.path().join("app/charter.yaml"),
            "chart: ../chart\nnamespce: x\n",
        )
        .unwrap();
        let err = resolve(&t.path().join("app/staging/eastus"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("charter.yaml") && err.contains("namespce"),
            "{err}"
        );
    }
}
