//! The flags several commands share, and their conversion into the typed requests of
//! [`crate::action`]: done once here, so no module below the CLI sees a clap type.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args};

use super::CliError;
use crate::action::install::DeployOptions;
use crate::action::{ChartRequest, Source};
use crate::oci::RegistrySettings;
use crate::release::ApplyHow;
use crate::values::{SetFlag, SetKind};

pub use crate::duration::parse_duration;

/// Chart, target and values flags shared by template, values, install, upgrade and diff.
#[derive(Debug, Args, Clone, Default)]
pub struct ChartArgs {
    /// TARGET (a deploy-tree directory), CHART (a chart directory or .tgz, REPO/NAME, an https
    /// URL, or oci://HOST/PATH/NAME[:TAG][@sha256:DIGEST]), or RELEASE CHART.
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
    /// Chart version range (e.g. `^1.2`): for REPO/NAME and oci:// the highest match is used
    /// (an oci:// chart also takes an exact version as its tag); a local chart must satisfy
    /// it. Overrides a deploy tree's `version`.
    #[arg(long, value_name = "RANGE")]
    pub version: Option<String>,
    /// Consider pre-release chart versions when no --version is given.
    #[arg(long)]
    pub devel: bool,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// How to reach an OCI registry: the flags of every command that pulls or pushes `oci://`.
#[derive(Debug, Args, Clone, Default)]
pub struct RegistryFlags {
    /// PEM file of CA certificates that sign the OCI registry's certificate (overrides a
    /// deploy tree's `registry.caFile`).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the OCI registry's TLS certificate (unsafe).
    #[arg(long, visible_alias = "insecure")]
    pub insecure_skip_tls_verify: bool,
    /// Talk plain HTTP to the OCI registry (a local registry without TLS).
    #[arg(long)]
    pub plain_http: bool,
}

impl RegistryFlags {
    /// The settings the flags give; an absent flag leaves the deploy tree's setting.
    pub fn settings(&self) -> RegistrySettings {
        RegistrySettings {
            ca_file: self.ca_file.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify.then_some(true),
            plain_http: self.plain_http.then_some(true),
        }
    }
}

impl ChartArgs {
    /// The request: the source classified, `sets` the `--set*` flags in command-line order.
    pub fn request(&self, sets: Vec<SetFlag>) -> Result<ChartRequest, CliError> {
        Ok(ChartRequest {
            source: Source::from_args(
                &self.args,
                self.stack.as_deref(),
                self.env.as_deref(),
                self.region.as_deref(),
            )?,
            values: self.values.clone(),
            sets,
            version: self.version.clone(),
            devel: self.devel,
            registry: self.registry.settings(),
        })
    }
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

/// How a deploy goes: the flags install, upgrade and apply share.
#[derive(Debug, Clone, Args)]
pub struct DeployFlags {
    /// Create the release namespace if it does not exist.
    #[arg(long)]
    pub create_namespace: bool,
    /// Wait until every object is ready (rolled out, complete, bound, established).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (e.g. 300s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Adopt existing objects that no release owns (or another release owns).
    #[arg(long)]
    pub take_ownership: bool,
    /// Take fields owned by other field managers instead of reporting the conflict.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Description recorded with the revision.
    #[arg(long)]
    pub description: Option<String>,
    /// Keep at most this many revisions (0 = unlimited).
    #[arg(long, default_value_t = 10)]
    pub history_max: usize,
    /// Wait this long for another operation's lock instead of failing at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<Duration>,
    /// On failure, return to the last deployed revision (or remove a failed install).
    #[arg(long)]
    pub atomic: bool,
    /// How long the release lock outlives a run that died without releasing it.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub lock_ttl: Duration,
    /// Leave out the chart's crds/ (CRDs already installed, or managed elsewhere).
    #[arg(long)]
    pub skip_crds: bool,
    /// Do not check the values against the chart's values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// Labels of the revision, set on its record Secret (`key1=v1,key2=v2`); repeatable.
    #[arg(long, value_name = "KEY=VALUE,…", value_delimiter = ',')]
    pub labels: Vec<String>,
}

impl DeployFlags {
    /// The deploy options.
    pub fn options(&self) -> Result<DeployOptions, String> {
        Ok(DeployOptions {
            create_namespace: self.create_namespace,
            how: ApplyHow {
                take_ownership: self.take_ownership,
                force_conflicts: self.force_conflicts,
                wait: self.wait.then_some(self.timeout),
                timeout: Some(self.timeout),
            },
            description: self.description.clone(),
            history_max: self.history_max,
            lock_ttl: self.lock_ttl,
            wait_for_lock: self.wait_for_lock,
            atomic: self.atomic,
            cleanup_on_fail: false,
            skip_crds: self.skip_crds,
            skip_schema_validation: self.skip_schema_validation,
            labels: parse_labels(&self.labels)?,
        })
    }
}

/// `--labels k=v,…`: each key a label key, none of those charter sets itself.
fn parse_labels(given: &[String]) -> Result<std::collections::BTreeMap<String, String>, String> {
    use crate::release::store::encoding::RESERVED_LABELS;
    let mut out = std::collections::BTreeMap::new();
    for kv in given.iter().filter(|s| !s.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(format!("--labels `{kv}`: expected KEY=VALUE"));
        };
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            return Err(format!(
                "--labels `{kv}`: `{k}` is not a label key (letters, digits, '-', '_', '.', '/')"
            ));
        }
        if RESERVED_LABELS.contains(&k) {
            return Err(format!(
                "--labels `{kv}`: `{k}` is set by charter on the release's Secrets; choose another key (reserved: {})",
                RESERVED_LABELS.join(", ")
            ));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}
