//! What every rendering action starts from: which chart, which release and namespace, which
//! values layers. A [`ChartRequest`] (a deploy-tree target, or Helm-style `RELEASE CHART`, and
//! the values flags) becomes a [`Prepared`]: the chart loaded (downloaded first when it comes
//! from a repository or an OCI registry, before any async runtime runs) and the values merged
//! with provenance.

use std::path::{Path, PathBuf};

use super::{Error, Globals};
use crate::chart::{Chart, ChartKind};
use crate::deploy::{self, Target};
use crate::oci::RegistrySettings;
use crate::render::TargetInfo;
use crate::repo::{ChartSource, ChartSpec};
use crate::values::{self, Import, Layer, LayerKind, Numbers, Resolved, SetFlag};

/// Where the chart comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A deploy-tree target directory: it names the chart, release, namespace and layers.
    Target(PathBuf),
    /// A chart (directory, archive, URL, `REPO/NAME` or `oci://…`), with the release name if one
    /// was given.
    Chart {
        /// The release name (`release-name` when not given).
        release: Option<String>,
        /// The chart.
        chart: ChartSpec,
    },
}

impl Source {
    /// Classifies the positional arguments (`TARGET`, `CHART` or `RELEASE CHART`), or a
    /// `--stack DIR --env E --region R` target.
    pub fn from_args(
        args: &[String],
        stack: Option<&Path>,
        env: Option<&str>,
        region: Option<&str>,
    ) -> Result<Source, Error> {
        if let Some(stack) = stack {
            if !args.is_empty() {
                return Err(Error::Invalid(format!(
                    "--stack names the target; remove the positional argument(s) {args:?} or drop --stack"
                )));
            }
            return Ok(Source::Target(deploy::dir_for(stack, env, region)?));
        }
        match args {
            [] => Err(Error::Invalid(
                "no target given: pass a deploy-tree directory (e.g. deploy/app/prod/eastus), `--stack DIR --env E --region R`, or RELEASE CHART".into(),
            )),
            [one] => {
                let p = PathBuf::from(one);
                let spec = ChartSpec::parse(one);
                if !p.exists() && spec.is_remote() {
                    return Ok(Source::Chart {
                        release: None,
                        chart: spec,
                    });
                }
                if !p.exists() {
                    return Err(Error::Invalid(format!(
                        "{one} does not exist: expected a deploy-tree target directory, a chart directory or a .tgz (or REPO/NAME of a configured repository, an https URL, or an oci:// reference)"
                    )));
                }
                if is_deploy_dir(&p) {
                    Ok(Source::Target(p))
                } else {
                    Ok(Source::Chart {
                        release: None,
                        chart: spec,
                    })
                }
            }
            [release, chart] => Ok(Source::Chart {
                release: Some(release.clone()),
                chart: ChartSpec::parse(chart),
            }),
            _ => Err(Error::Invalid(
                "too many positional arguments: expected TARGET or RELEASE CHART".into(),
            )),
        }
    }
}

/// A chart and the values to render it with.
#[derive(Debug, Clone)]
pub struct ChartRequest {
    /// Where the chart comes from.
    pub source: Source,
    /// `-f` files, applied after the deploy-tree layers, later files win.
    pub values: Vec<PathBuf>,
    /// `--set*` flags in command-line order.
    pub sets: Vec<SetFlag>,
    /// `--version`: the range the chart must satisfy (overrides a deploy tree's `version`).
    pub version: Option<String>,
    /// `--devel`: consider pre-release versions.
    pub devel: bool,
    /// `--ca-file`, `--insecure-skip-tls-verify`, `--plain-http` for an `oci://` chart; they
    /// override a deploy tree's `registry:`.
    pub registry: RegistrySettings,
}

impl ChartRequest {
    /// The request of a deploy-tree target with no flags.
    pub fn target(dir: &Path) -> ChartRequest {
        ChartRequest {
            source: Source::Target(dir.to_path_buf()),
            values: Vec::new(),
            sets: Vec::new(),
            version: None,
            devel: false,
            registry: RegistrySettings::default(),
        }
    }
}

/// A chart ready to render: chart, release identity, values with provenance.
pub struct Prepared {
    /// The chart; a Helm chart with its dependencies processed for these values, as Helm does
    /// before rendering (aliases expanded, disabled dependencies removed).
    pub chart: Chart,
    /// A Helm chart as loaded, before its dependencies were processed (other values may
    /// enable other dependencies).
    loaded: Option<Chart>,
    /// For a chart pulled from a registry, the reference and manifest digest pulled.
    pub source: Option<ChartSource>,
    /// Release name.
    pub release: String,
    /// Namespace.
    pub namespace: String,
    /// The deploy-tree target, when one was named.
    pub target: Option<Target>,
    /// The merged values and where each came from.
    pub resolved: Resolved,
    /// The names of the layers the user supplied (everything above the chart defaults).
    pub user_layers: Vec<String>,
    /// Those layers merged on their own (when asked for): what a release records so
    /// `upgrade --reuse-values` can apply them again.
    pub user_values: Option<serde_json::Value>,
}

/// Whether values carry line numbers, and whether the user's own layers are merged apart
/// (what a release records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Line numbers of values only serve messages: renders skip them, and prepare again with
    /// them when the schema rejects the values ([`prepare_checked`]).
    Fast,
    /// Line numbers, and the user's values merged on their own: for release operations and
    /// `charter values`.
    Full,
}

/// Values a previous revision was given, reapplied by `upgrade --reuse-values`.
pub struct ReuseValues<'a> {
    /// The user-supplied values of that revision.
    pub values: &'a serde_json::Value,
    /// Its revision number (for origins in messages).
    pub revision: u64,
}

impl Prepared {
    /// `target` for the template context.
    pub fn target_info(&self) -> Option<TargetInfo> {
        self.target.as_ref().map(|t| TargetInfo {
            env: t.env.clone(),
            region: t.region.clone(),
            name: t.name.clone(),
            layers: t
                .layers
                .iter()
                .map(|l| l.path.display().to_string())
                .collect(),
        })
    }

    /// Merges the values again on the same chart, with `reuse` beneath this run's layers.
    pub fn relayer(
        &mut self,
        req: &ChartRequest,
        detail: Detail,
        reuse: Option<ReuseValues<'_>>,
    ) -> Result<(), Error> {
        let base = self.loaded.as_ref().unwrap_or(&self.chart);
        let (resolved, user_layers, user_values, processed) =
            layer_values(base, self.target.as_ref(), req, detail, reuse)?;
        if let Some(processed) = processed {
            self.chart = processed;
        }
        self.resolved = resolved;
        self.user_layers = user_layers;
        self.user_values = user_values;
        Ok(())
    }

    /// [`Prepared::validate_schema`] for values prepared with [`Detail::Fast`]: when the schema
    /// rejects them they are merged again with line numbers, so the error names the file and
    /// line.
    pub fn check_schema(&mut self, req: &ChartRequest) -> Result<(), Error> {
        if self.validate_schema().is_err() {
            self.relayer(req, Detail::Full, None)?;
            self.validate_schema()?;
        }
        Ok(())
    }

    /// Validates the merged values against values.schema.json of the chart (and, for a Helm
    /// chart, of each subchart for its own section, as Helm does).
    pub fn validate_schema(&self) -> Result<(), Error> {
        if self.chart.kind == ChartKind::Helm {
            return validate_tree(&self.chart, &self.resolved, &mut Vec::new());
        }
        if let Some((file, schema)) = &self.chart.schema {
            let path = self.chart.origin.join(&file.path);
            crate::values::validate(&path, schema, &self.resolved)?;
        }
        Ok(())
    }
}

/// Helm's `ValidateAgainstSchema`: each chart's schema over its section; a subchart whose
/// section is missing or null is not validated.
fn validate_tree(chart: &Chart, resolved: &Resolved, scope: &mut Vec<String>) -> Result<(), Error> {
    if let Some((file, schema)) = &chart.schema {
        let path = chart.origin.join(&file.path);
        crate::values::validate_scoped(&path, schema, resolved, scope)?;
    }
    for sub in &chart.subcharts {
        scope.push(sub.meta.name.clone());
        let mut section = Some(&resolved.values);
        for k in scope.iter() {
            section = section.and_then(|v| v.get(k));
        }
        if section.is_some_and(|v| !v.is_null()) {
            validate_tree(sub, resolved, scope)?;
        }
        scope.pop();
    }
    Ok(())
}

/// Resolves and loads the chart, release and namespace a request names, and merges its values
/// layers with file:line origins (with [`Detail::Full`]). Blocking: a repository chart is
/// downloaded here, so this runs before (or outside) the async runtime.
pub fn prepare(globals: &Globals, req: &ChartRequest, detail: Detail) -> Result<Prepared, Error> {
    let (spec, version, release, target) = match &req.source {
        Source::Target(dir) => {
            let t = deploy::resolve(dir)?;
            let spec = match &t.chart_repo {
                Some(r) if crate::oci::is_oci(&r.repo) => {
                    ChartSpec::Oci(format!("{}/{}", r.repo, r.name))
                }
                Some(r) => ChartSpec::Repo {
                    repo: r.repo.clone(),
                    name: r.name.clone(),
                },
                None => ChartSpec::Path(t.chart.clone()),
            };
            let version = req.version.clone().or_else(|| t.chart_version.clone());
            (spec, version, t.release.clone(), Some(t))
        }
        Source::Chart { release, chart } => {
            let release = release
                .clone()
                .unwrap_or_else(|| "release-name".to_string());
            (chart.clone(), req.version.clone(), release, None)
        }
    };
    validate_release_name(&release)?;
    let registry = match &target {
        Some(t) => req.registry.over(&t.registry),
        None => req.registry.clone(),
    };
    let t0 = std::time::Instant::now();
    let loaded = crate::repo::resolve::load_chart(
        &spec,
        version.as_deref(),
        req.devel,
        registry.client_options(),
    )?;
    let (chart, source) = (loaded.chart, loaded.source);
    tracing::debug!("chart loaded in {:?}", t0.elapsed());
    let namespace = globals
        .namespace
        .clone()
        .or_else(|| target.as_ref().and_then(|t| t.namespace.clone()))
        .unwrap_or_else(|| "default".to_string());
    let (resolved, user_layers, user_values, processed) =
        layer_values(&chart, target.as_ref(), req, detail, None)?;
    let (chart, loaded) = match processed {
        Some(p) => (p, Some(chart)),
        None => (chart, None),
    };
    for w in &resolved.warnings {
        globals.warnings.warn(w);
    }
    Ok(Prepared {
        chart,
        loaded,
        source,
        release,
        namespace,
        target,
        resolved,
        user_layers,
        user_values,
    })
}

/// [`prepare`] with [`Detail::Fast`], validated against the chart's schema; when the schema
/// rejects the values they are merged again with line numbers, so the error names the file
/// and line.
pub fn prepare_checked(globals: &Globals, req: &ChartRequest) -> Result<Prepared, Error> {
    let mut prepared = prepare(globals, req, Detail::Fast)?;
    prepared.check_schema(req)?;
    Ok(prepared)
}

type Layered = (
    Resolved,
    Vec<String>,
    Option<serde_json::Value>,
    Option<Chart>,
);

/// Chart defaults ◄ reused values ◄ deploy-tree layers ◄ `-f` files ◄ `--set*` flags; for a
/// Helm chart also its dependencies processed for those values (the last element).
fn layer_values(
    chart: &Chart,
    target: Option<&Target>,
    req: &ChartRequest,
    detail: Detail,
    reuse: Option<ReuseValues<'_>>,
) -> Result<Layered, Error> {
    let lines = detail == Detail::Full;
    let numbers = match chart.kind {
        ChartKind::Tera => Numbers::AsWritten,
        ChartKind::Helm => Numbers::Helm,
    };
    let mut user: Vec<Layer> = Vec::new();
    if let Some(r) = reuse {
        let text = crate::yaml::to_yaml(r.values);
        let origin = PathBuf::from(format!("<values of revision {}>", r.revision));
        user.push(Layer::from_str(&text, &origin, LayerKind::ValuesFlag)?);
    }
    if let Some(t) = target {
        for l in &t.layers {
            user.push(Layer::from_file_with(
                &l.path,
                LayerKind::Stack(l.level.clone()),
                lines,
            )?);
        }
    }
    let t0 = std::time::Instant::now();
    for f in &req.values {
        user.push(Layer::from_file_with(f, LayerKind::ValuesFlag, lines)?);
    }
    tracing::debug!("-f files parsed in {:?}", t0.elapsed());
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // Helm applies the kinds of `--set` flag in a fixed order (all --set-json, then --set,
    // --set-string, --set-file, --set-literal), each kind in command-line order.
    let mut sets: Vec<&SetFlag> = req.sets.iter().collect();
    sets.sort_by_key(|s| s.kind.helm_rank());
    for s in sets {
        user.push(values::parse_set(s.kind, &s.arg, &base)?);
    }
    let user: Vec<Layer> = user.into_iter().map(|l| l.with_numbers(numbers)).collect();
    let user_layers = user.iter().map(|l| l.label.clone()).collect();
    // Only release operations record the user's values; renders skip the extra merge.
    let user_values = if lines {
        Some(values::resolve(user.clone())?.values)
    } else {
        None
    };
    let t0 = std::time::Instant::now();
    let (resolved, processed) = match chart.kind {
        ChartKind::Tera => {
            let mut layers = chart_default_layers(chart, numbers, lines, &[])?;
            layers.extend(user);
            (values::resolve(layers)?, None)
        }
        ChartKind::Helm => {
            // Helm decides which dependencies are enabled on the values coalesced over every
            // chart, then coalesces again over the enabled ones (chart::prune_helm_dependencies).
            let mut processed = crate::chart::expand_helm_dependencies(chart)?;
            // The defaults of the whole tree, parsed once: the enabled charts' are reused.
            let mut parsed = Vec::new();
            if crate::chart::has_helm_conditions(&processed) {
                parsed = chart_default_layers(&processed, numbers, lines, &[])?;
                let mut all = parsed.clone();
                all.extend(user.iter().cloned());
                let coalesced = values::resolve(all)?.values;
                crate::chart::prune_helm_dependencies(&mut processed, &coalesced);
            }
            let mut layers = chart_default_layers(&processed, numbers, lines, &parsed)?;
            layers.extend(user);
            let imports = helm_imports(&processed);
            (values::resolve_with(layers, &imports)?, Some(processed))
        }
    };
    tracing::debug!("layers merged in {:?}", t0.elapsed());
    Ok((resolved, user_layers, user_values, processed))
}

/// The chart's own defaults: its values.yaml, with each subchart's defaults beneath it under
/// the subchart's key (the parent's values win). Every chart of a Helm chart's tree has a
/// layer, empty without values.yaml: Helm gives every subchart a section of its own. A layer
/// of `parsed` with the same file and scope is taken instead of parsing that file again;
/// `lines` keeps file:line origins (renders parse again with them when they need them).
fn chart_default_layers(
    chart: &Chart,
    numbers: Numbers,
    lines: bool,
    parsed: &[Layer],
) -> Result<Vec<Layer>, Error> {
    let mut layers = Vec::new();
    collect_defaults(chart, &[], numbers, lines, parsed, &mut layers)?;
    Ok(layers)
}

fn collect_defaults(
    chart: &Chart,
    prefix: &[String],
    numbers: Numbers,
    lines: bool,
    parsed: &[Layer],
    out: &mut Vec<Layer>,
) -> Result<(), Error> {
    for sub in &chart.subcharts {
        let mut p = prefix.to_vec();
        p.push(chart.scope_key_for(sub));
        collect_defaults(sub, &p, numbers, lines, parsed, out)?;
    }
    let text = match &chart.values {
        Some(v) => Some((chart.origin.join(&v.path), v.content.as_str())),
        None if chart.kind == ChartKind::Helm => Some((chart.origin.join("values.yaml"), "")),
        None => None,
    };
    if let Some((path, content)) = text {
        let label = path.display().to_string();
        if let Some(done) = parsed
            .iter()
            .find(|l| l.scope == prefix && l.label == label)
        {
            out.push(done.clone());
            return Ok(());
        }
        let layer = Layer::from_str_with(content, &path, LayerKind::ChartDefault, lines)?
            .with_numbers(numbers);
        out.push(if prefix.is_empty() {
            layer
        } else {
            layer.nested_under(prefix)
        });
    }
    Ok(())
}

/// The `import-values` of every dependency in a Helm chart's (processed) tree.
fn helm_imports(chart: &Chart) -> Vec<Import> {
    let mut out = Vec::new();
    collect_imports(chart, &[], &mut out);
    out
}

fn collect_imports(chart: &Chart, scope: &[String], out: &mut Vec<Import>) {
    for sub in &chart.subcharts {
        let mut s = scope.to_vec();
        s.push(sub.meta.name.clone());
        collect_imports(sub, &s, out);
    }
    let path = |s: &str| -> Vec<String> { s.split('.').map(str::to_string).collect() };
    for dep in &chart.meta.dependencies {
        for iv in &dep.import_values {
            let (child, parent) = match iv {
                serde_json::Value::String(s) => (format!("exports.{s}"), Vec::new()),
                serde_json::Value::Object(m) => {
                    let text = |k: &str| match m.get(k) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => "<nil>".to_string(),
                    };
                    let parent = text("parent");
                    (
                        text("child"),
                        if parent == "." {
                            Vec::new()
                        } else {
                            path(&parent)
                        },
                    )
                }
                _ => continue,
            };
            let mut c = vec![dep.key().to_string()];
            c.extend(path(&child));
            out.push(Import {
                scope: scope.to_vec(),
                child: c,
                parent,
            });
        }
    }
}

/// Release names are DNS-1123 labels of at most 53 characters (room for suffixes).
pub fn validate_release_name(name: &str) -> Result<(), Error> {
    if name.len() > 53 || !crate::chart::is_dns1123_label(name) {
        return Err(Error::Invalid(format!(
            "release name `{name}` is invalid: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 53 characters"
        )));
    }
    Ok(())
}

/// Whether a path names a deploy-tree directory rather than a chart.
pub fn is_deploy_dir(p: &Path) -> bool {
    p.is_dir() && !p.join("Chart.yaml").is_file() && deploy::is_in_deploy_tree(p)
}
