//! What every rendering command needs: which chart, which release and namespace, which values
//! layers. Resolves a deploy-tree target or Helm-style `RELEASE CHART` into a [`Prepared`].

use std::path::{Path, PathBuf};

use clap::{ArgMatches, Args};

use super::{CliError, GlobalArgs};
use crate::chart::Chart;
use crate::render::TargetInfo;
use crate::repo::ChartSpec;
use crate::target::{self, Target};
use crate::values::{self, Layer, LayerKind, Resolved, SetKind};

/// Chart, target and values flags shared by template, values, lint, install, upgrade and diff.
#[derive(Debug, Args, Clone, Default)]
pub struct ChartArgs {
    /// TARGET (a deploy-tree directory), CHART (a chart directory or .tgz), or RELEASE CHART.
    #[arg(value_name = "TARGET | [RELEASE] CHART", num_args = 0..=2)]
    pub args: Vec<String>,
    /// The deploy tree (stack) directory; with --env and --region names a target.
    #[arg(long, value_name = "DIR")]
    pub stack: Option<PathBuf>,
    /// Environment below the stack directory.
    #[arg(long, value_name = "ENV", requires = "stack")]
    pub env: Option<String>,
    /// Region below the environment directory.
    #[arg(long, value_name = "REGION", requires = "env")]
    pub region: Option<String>,
    /// Values file, applied after the deploy-tree layers; repeatable, later files win.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Set a value (Helm syntax: a.b=c,list[0]=x,{a,b}); repeatable, in order given.
    #[arg(long = "set", value_name = "KEY=VAL")]
    pub set: Vec<String>,
    /// Set a value that is always a string.
    #[arg(long = "set-string", value_name = "KEY=VAL")]
    pub set_string: Vec<String>,
    /// Set a value to the contents of a file.
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set a value to a JSON value.
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Set a value to a literal string (no escapes or lists).
    #[arg(long = "set-literal", value_name = "KEY=VAL")]
    pub set_literal: Vec<String>,
    /// Chart version range (e.g. `^1.2`): for REPO/NAME the highest match is used; a local
    /// chart must satisfy it. Overrides a deploy tree's `version`.
    #[arg(long, value_name = "RANGE")]
    pub version: Option<String>,
    /// Consider pre-release chart versions when no --version is given.
    #[arg(long)]
    pub devel: bool,
}

/// One `--set*` flag, with its kind, in command-line order.
#[derive(Debug, Clone)]
pub struct SetFlag {
    /// Which flag.
    pub kind: SetKind,
    /// Its argument.
    pub arg: String,
}

const SET_FLAGS: &[(&str, SetKind)] = &[
    ("set", SetKind::Set),
    ("set_string", SetKind::SetString),
    ("set_file", SetKind::SetFile),
    ("set_json", SetKind::SetJson),
    ("set_literal", SetKind::SetLiteral),
];

/// Collects every `--set*` flag of the invoked subcommand in the order given on the command line,
/// across flag kinds.
pub fn ordered_set_flags(matches: &ArgMatches) -> Vec<SetFlag> {
    let Some((_, sub)) = matches.subcommand() else {
        return Vec::new();
    };
    let mut flags: Vec<(usize, SetFlag)> = Vec::new();
    for (id, kind) in SET_FLAGS {
        // Not every subcommand defines every --set flag (lint has only --set).
        if !matches!(sub.try_contains_id(id), Ok(true)) {
            continue;
        }
        let (Ok(Some(vals)), Some(idx)) = (sub.try_get_many::<String>(id), sub.indices_of(id))
        else {
            continue;
        };
        for (v, i) in vals.zip(idx) {
            flags.push((
                i,
                SetFlag {
                    kind: *kind,
                    arg: v.clone(),
                },
            ));
        }
    }
    flags.sort_by_key(|(i, _)| *i);
    flags.into_iter().map(|(_, f)| f).collect()
}

/// A chart ready to render: chart, release identity, values with provenance.
pub struct Prepared {
    /// The chart.
    pub chart: Chart,
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
}

enum Source {
    Target(PathBuf),
    Chart {
        release: Option<String>,
        chart: String,
    },
}

fn classify(args: &ChartArgs) -> Result<Source, CliError> {
    if let Some(stack) = &args.stack {
        if !args.args.is_empty() {
            return Err(CliError::new(format!(
                "--stack names the target; remove the positional argument(s) {:?} or drop --stack",
                args.args
            )));
        }
        let dir = target::dir_for(stack, args.env.as_deref(), args.region.as_deref())?;
        return Ok(Source::Target(dir));
    }
    match args.args.as_slice() {
        [] => Err(CliError::new(
            "no target given: pass a deploy-tree directory (e.g. deploy/app/prod/eastus), `--stack DIR --env E --region R`, or RELEASE CHART",
        )),
        [one] => {
            let p = PathBuf::from(one);
            if !p.exists() && ChartSpec::parse(one).is_remote() {
                return Ok(Source::Chart {
                    release: None,
                    chart: one.clone(),
                });
            }
            if !p.exists() {
                return Err(CliError::new(format!(
                    "{one} does not exist: expected a deploy-tree target directory, a chart directory or a .tgz (or REPO/NAME of a configured repository, or an https URL)"
                )));
            }
            if p.is_dir() && !p.join("Chart.yaml").is_file() && target::is_in_deploy_tree(&p) {
                Ok(Source::Target(p))
            } else {
                Ok(Source::Chart {
                    release: None,
                    chart: one.clone(),
                })
            }
        }
        [release, chart] => Ok(Source::Chart {
            release: Some(release.clone()),
            chart: chart.clone(),
        }),
        _ => Err(CliError::new(
            "too many positional arguments: expected TARGET or RELEASE CHART",
        )),
    }
}

/// Resolves the chart, release and values layers for a command, with file:line origins.
pub fn prepare(
    global: &GlobalArgs,
    args: &ChartArgs,
    sets: &[SetFlag],
) -> Result<Prepared, CliError> {
    prepare_with(global, args, sets, true, None)
}

/// Values a previous revision was given, reapplied by `upgrade --reuse-values`.
pub struct ReuseValues<'a> {
    /// The user-supplied values of that revision.
    pub values: &'a serde_json::Value,
    /// Its revision number (for origins in messages).
    pub revision: u64,
}

/// [`prepare`]; `lines: false` skips line numbers in value origins (for renders that need
/// them only when something fails, and then prepare again).
pub fn prepare_with(
    global: &GlobalArgs,
    args: &ChartArgs,
    sets: &[SetFlag],
    lines: bool,
    reuse: Option<ReuseValues<'_>>,
) -> Result<Prepared, CliError> {
    // Only release operations record the user's values; renders skip the extra merge.
    let want_user_values = lines;
    let (spec, version, release, target) = match classify(args)? {
        Source::Target(dir) => {
            let t = target::resolve(&dir)?;
            let spec = match &t.chart_repo {
                Some(r) => ChartSpec::Repo {
                    repo: r.repo.clone(),
                    name: r.name.clone(),
                },
                None => ChartSpec::Path(t.chart.clone()),
            };
            let version = args.version.clone().or_else(|| t.chart_version.clone());
            (spec, version, t.release.clone(), Some(t))
        }
        Source::Chart { release, chart } => {
            let release = release.unwrap_or_else(|| "release-name".to_string());
            (
                ChartSpec::parse(&chart),
                args.version.clone(),
                release,
                None,
            )
        }
    };
    validate_release_name(&release)?;
    let t0 = std::time::Instant::now();
    let chart = crate::repo::resolve::load_chart(&spec, version.as_deref(), args.devel)?;
    tracing::debug!("chart loaded in {:?}", t0.elapsed());
    let namespace = global
        .namespace
        .clone()
        .or_else(|| target.as_ref().and_then(|t| t.namespace.clone()))
        .unwrap_or_else(|| "default".to_string());

    let mut layers: Vec<Layer> = chart_default_layers(&chart)?;
    if let Some(r) = reuse {
        let text = crate::yaml::to_yaml(r.values);
        let origin = PathBuf::from(format!("<values of revision {}>", r.revision));
        layers.push(Layer::from_str(&text, &origin, LayerKind::ValuesFlag)?);
    }
    if let Some(t) = &target {
        for l in &t.layers {
            layers.push(Layer::from_file_with(
                &l.path,
                LayerKind::Stack(l.level.clone()),
                lines,
            )?);
        }
    }
    let t0 = std::time::Instant::now();
    for f in &args.values {
        layers.push(Layer::from_file_with(f, LayerKind::ValuesFlag, lines)?);
    }
    tracing::debug!("-f files parsed in {:?}", t0.elapsed());
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    for s in sets {
        layers.push(values::parse_set(s.kind, &s.arg, &base)?);
    }
    let user_layers = layers
        .iter()
        .filter(|l| l.kind != LayerKind::ChartDefault)
        .map(|l| l.label.clone())
        .collect();
    let user_values = if want_user_values {
        let user: Vec<Layer> = layers
            .iter()
            .filter(|l| l.kind != LayerKind::ChartDefault)
            .cloned()
            .collect();
        Some(values::resolve(user)?.values)
    } else {
        None
    };
    let t0 = std::time::Instant::now();
    let resolved = values::resolve(layers)?;
    tracing::debug!("layers merged in {:?}", t0.elapsed());
    Ok(Prepared {
        chart,
        release,
        namespace,
        target,
        resolved,
        user_layers,
        user_values,
    })
}

/// The chart's own defaults: its values.yaml, with each subchart's defaults beneath it under
/// the subchart's key (the parent's values win).
fn chart_default_layers(chart: &Chart) -> Result<Vec<Layer>, CliError> {
    let mut layers = Vec::new();
    collect_defaults(chart, &[], &mut layers)?;
    Ok(layers)
}

fn collect_defaults(
    chart: &Chart,
    prefix: &[String],
    out: &mut Vec<Layer>,
) -> Result<(), CliError> {
    for sub in &chart.subcharts {
        let mut p = prefix.to_vec();
        p.push(chart.scope_key_for(sub));
        collect_defaults(sub, &p, out)?;
    }
    if let Some(v) = &chart.values {
        let path = chart.origin.join(&v.path);
        let layer = Layer::from_str(&v.content, &path, LayerKind::ChartDefault)?;
        out.push(if prefix.is_empty() {
            layer
        } else {
            layer.nested_under(prefix)
        });
    }
    Ok(())
}

/// Release names are DNS-1123 labels of at most 53 characters (room for suffixes).
pub fn validate_release_name(name: &str) -> Result<(), CliError> {
    if name.len() > 53 || !crate::chart::is_dns1123_label(name) {
        return Err(CliError::new(format!(
            "release name `{name}` is invalid: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 53 characters"
        )));
    }
    Ok(())
}

/// Whether a path names a deploy tree directory (for lint).
pub fn is_deploy_dir(p: &Path) -> bool {
    p.is_dir() && !p.join("Chart.yaml").is_file() && target::is_in_deploy_tree(p)
}
