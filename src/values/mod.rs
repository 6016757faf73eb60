//! Values: layers, merge, `--set`, schema, provenance.
//!
//! Precedence, lowest first (README, "Rendering"):
//! the chart's `values.yaml` (each subchart's scoped under its key), the deploy-tree layers
//! (environment, then region), `-f` files in order, then the `--set` family in the order given.
//!
//! [`resolve`] reproduces Helm v4.1.4's algorithm exactly (see `docs/values.md`):
//! 1. user layers stack with [`merge`]: maps merge key by key, lists and scalars replace, and a
//!    null replaces too (kept as a deletion marker);
//! 2. each `--set`-family flag is applied *into* the values accumulated so far (so
//!    `list[1]=x` edits a list from a file, and `a.b=1` over a string `a` is an error);
//! 3. the result is coalesced over the chart's defaults ([`coalesce`]): a null deletes the
//!    default's key; subchart sections get the parent's `global` and then their own defaults.
//!
//! Every key and leaf keeps its [`Origin`] (file:line or flag) for `charter values --explain`
//! and for schema errors.
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::yaml::{self, PathSeg, YamlError};

mod merge;
mod provenance;
mod schema;
mod set;

pub use merge::{
    coalesce, coalesce_subchart_defaults, condition_enabled, merge, scope_for_subchart,
};
pub use provenance::{Origin, Provenance};
pub use schema::{SchemaError, SchemaErrors, validate, validate_scoped};
pub use set::{MAX_INDEX, MAX_NESTED_NAME_LEVEL};

use merge::PMap;
use provenance::{PNode, Source, Src};

/// Which `--set`-family flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetKind {
    /// `--set`: typed values (ints, bools, null).
    Set,
    /// `--set-string`: every value a string.
    SetString,
    /// `--set-file`: each value is a path; the file's contents become the string value.
    SetFile,
    /// `--set-json`: each value is one JSON value.
    SetJson,
    /// `--set-literal`: everything after the first `=` verbatim.
    SetLiteral,
}

impl SetKind {
    /// The flag as typed on the command line.
    pub fn flag(self) -> &'static str {
        match self {
            SetKind::Set => "--set",
            SetKind::SetString => "--set-string",
            SetKind::SetFile => "--set-file",
            SetKind::SetJson => "--set-json",
            SetKind::SetLiteral => "--set-literal",
        }
    }

    /// Helm applies the flag kinds in a fixed order whatever the command line says: all
    /// `--set-json`, then `--set`, `--set-string`, `--set-file`, `--set-literal`. charter applies
    /// flags in the order given; sort by this key (stable) to get Helm's order.
    pub fn helm_rank(self) -> u8 {
        match self {
            SetKind::SetJson => 0,
            SetKind::Set => 1,
            SetKind::SetString => 2,
            SetKind::SetFile => 3,
            SetKind::SetLiteral => 4,
        }
    }
}

/// One `--set*` flag, with its kind, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetFlag {
    /// Which flag.
    pub kind: SetKind,
    /// Its argument.
    pub arg: String,
}

/// A `--set`-family syntax or type error, pointing at a column of the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SetError {
    /// `--set`, `--set-json`, ...
    pub flag: &'static str,
    /// The whole argument.
    pub arg: String,
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What is wrong and what to do.
    pub message: String,
}

impl SetError {
    pub(crate) fn new(
        kind: SetKind,
        arg: &str,
        byte_pos: usize,
        message: impl Into<String>,
    ) -> Self {
        let byte_pos = byte_pos.min(arg.len());
        let column = arg
            .char_indices()
            .take_while(|(i, _)| *i < byte_pos)
            .count()
            + 1;
        SetError {
            flag: kind.flag(),
            arg: arg.to_string(),
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid {} argument at column {}: {}",
            self.flag, self.column, self.message
        )?;
        writeln!(f, "  {} {}", self.flag, self.arg)?;
        write!(
            f,
            "  {}^",
            " ".repeat(self.flag.chars().count() + self.column)
        )
    }
}

/// Errors loading or resolving values.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A values file could not be read.
    #[error("cannot read values file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Malformed YAML (the error names file:line:column).
    #[error("malformed YAML in a values file: {0}")]
    Yaml(#[from] YamlError),
    /// A values file whose top level is not a map.
    #[error(
        "{}:{line}: a values file must be a map of keys to values, but this one holds {found}; \
         put the values under keys (e.g. `replicas: 3`)",
        file.display()
    )]
    NotAMap {
        /// The file.
        file: PathBuf,
        /// Line of the top-level node.
        line: usize,
        /// What it holds instead.
        found: &'static str,
    },
    /// A `--set`-family error.
    #[error("{0}")]
    Set(#[from] SetError),
    /// A subchart's section is not a map.
    #[error(
        "`{key}` holds {found} (set by {origin}), but it is the values section of a subchart and \
         must be a map; set keys below it instead (e.g. `{key}.enabled=true`)"
    )]
    SubchartNotAMap {
        /// The section's path.
        key: String,
        /// What it holds.
        found: &'static str,
        /// Who set it.
        origin: Origin,
    },
}

/// What a layer is, for labels and origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerKind {
    /// A chart's (or subchart's) own `values.yaml`.
    ChartDefault,
    /// A deploy-tree level's `values.yaml` (the string names the level, e.g. `prod/westus`).
    Stack(String),
    /// A `-f/--values` file.
    ValuesFlag,
    /// A `--set`-family flag.
    Set(SetKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetSpec {
    kind: SetKind,
    arg: String,
    base_dir: PathBuf,
}

/// One layer of values.
#[derive(Debug, Clone)]
pub struct Layer {
    /// Human-readable name: the file path, or the flag and its argument.
    pub label: String,
    /// What the layer is.
    pub kind: LayerKind,
    /// The layer's values (a map). For a flag: the flag applied to empty values.
    pub values: Value,
    /// Where each of the layer's values is written.
    pub origins: Provenance,
    /// For a chart default: the subchart path the values belong to (empty for the chart
    /// itself). Set by [`Layer::nested_under`].
    pub scope: Vec<String>,
    pub(crate) set: Option<SetSpec>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl Layer {
    /// Read a values file.
    pub fn from_file(path: &Path, kind: LayerKind) -> Result<Layer, ValuesError> {
        Layer::from_file_with(path, kind, true)
    }

    /// Read a values file; `lines: false` records only the file as the origin of its values
    /// (cheaper for large files when no message will need lines).
    pub fn from_file_with(path: &Path, kind: LayerKind, lines: bool) -> Result<Layer, ValuesError> {
        let src = std::fs::read_to_string(path).map_err(|source| ValuesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Layer::from_str_with(&src, path, kind, lines)
    }

    /// Parse values from text read from `path` (used for origins and messages).
    pub fn from_str(src: &str, path: &Path, kind: LayerKind) -> Result<Layer, ValuesError> {
        Layer::from_str_with(src, path, kind, true)
    }

    /// [`Layer::from_str`], with or without line numbers in the origins.
    pub fn from_str_with(
        src: &str,
        path: &Path,
        kind: LayerKind,
        track_lines: bool,
    ) -> Result<Layer, ValuesError> {
        let name = path.display().to_string();
        let (value, lines) = if track_lines {
            let (v, l) = yaml::parse_str_with_lines(src, &name)?;
            (v, Some(l))
        } else {
            (yaml::parse_str(src, &name)?, None)
        };
        let value = match value {
            Value::Null => Value::Object(Map::new()),
            Value::Object(m) => Value::Object(m),
            other => {
                return Err(ValuesError::NotAMap {
                    file: path.to_path_buf(),
                    line: lines.as_ref().map_or(1, |l| l.line()),
                    found: type_name(&other),
                });
            }
        };
        let source = match kind {
            LayerKind::ChartDefault => Source::ChartDefault(path.to_path_buf()),
            _ => Source::File(path.to_path_buf()),
        };
        let origins = if track_lines {
            Provenance::single(source, &value, lines)
        } else {
            Provenance::opaque(source)
        };
        Ok(Layer {
            label: name,
            kind,
            values: value,
            origins,
            scope: Vec::new(),
            set: None,
        })
    }

    /// The same values placed under `prefix` (a subchart's key path), e.g. a subchart's
    /// `values.yaml` under `["postgresql"]`.
    pub fn nested_under(mut self, prefix: &[String]) -> Layer {
        for seg in prefix.iter().rev() {
            let mut m = Map::new();
            m.insert(seg.clone(), std::mem::take(&mut self.values));
            self.values = Value::Object(m);
            let root = std::mem::replace(
                &mut self.origins.root,
                PNode::Leaf(Src { source: 0, line: 0 }),
            );
            let src = root.src();
            let mut pm = PMap::new();
            pm.insert(seg.clone(), root);
            self.origins.root = PNode::Map(src, pm);
        }
        let mut scope = prefix.to_vec();
        scope.append(&mut self.scope);
        self.scope = scope;
        self
    }
}

/// Parse a `--set`-family flag into a layer (syntax errors are reported here, with the
/// column). When resolved, the flag is applied into the values accumulated so far, as Helm
/// does. `base_dir_for_files` resolves relative `--set-file` paths.
pub fn parse_set(kind: SetKind, arg: &str, base_dir_for_files: &Path) -> Result<Layer, SetError> {
    let mut m = Map::new();
    set::apply(kind, arg, base_dir_for_files, &mut m, &|_| None)?;
    let values = Value::Object(m);
    let origins = Provenance::single(
        Source::Flag {
            flag: kind.flag().to_string(),
            arg: arg.to_string(),
        },
        &values,
        None,
    );
    Ok(Layer {
        label: format!("{} {arg}", kind.flag()),
        kind: LayerKind::Set(kind),
        values,
        origins,
        scope: Vec::new(),
        set: Some(SetSpec {
            kind,
            arg: arg.to_string(),
            base_dir: base_dir_for_files.to_path_buf(),
        }),
    })
}

/// The merged values and where each came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The values templates see (a map).
    pub values: Value,
    /// The origin of every key and leaf.
    pub provenance: Provenance,
    /// Things Helm accepts silently that deserve a note (a map over a scalar default, input
    /// ignored after an unterminated `[`, ...).
    pub warnings: Vec<String>,
}

impl Resolved {
    /// The origin of the value at `path` (or of its nearest existing ancestor).
    pub fn origin_of(&self, path: &[PathSeg]) -> Origin {
        self.provenance.origin_of(path)
    }
}

struct Defaults {
    scope: Vec<String>,
    values: Map<String, Value>,
    prov: PMap,
}

/// Resolve layers, lowest precedence first, with Helm's semantics (module docs). Chart-default
/// layers may come in any position; the others apply in order.
pub fn resolve(layers: Vec<Layer>) -> Result<Resolved, ValuesError> {
    // A layer read without lines means the caller will not ask where values came from.
    let _lazy = provenance::LazyGuard::set(layers.iter().any(|l| l.origins.is_opaque()));
    let zero = Src { source: 0, line: 0 };
    let mut prov = Provenance {
        sources: vec![Source::Computed("created by charter".to_string())],
        root: PNode::Map(zero, PMap::new()),
    };
    let mut defaults: Vec<Defaults> = Vec::new();
    let mut user = Map::new();
    let mut up = PMap::new();
    let mut warnings = Vec::new();

    for layer in layers {
        let off = prov.adopt_sources(&layer.origins.sources);
        let mut node = layer.origins.root;
        node.offset(off);
        if let Some(spec) = layer.set {
            let src = Src {
                source: off,
                line: 0,
            };
            let applied = {
                let up_ref = &up;
                let prov_ref = &prov;
                let describe = |p: &[PathSeg]| -> Option<String> {
                    let root = PNode::Map(zero, up_ref.clone());
                    Some(prov_ref.origin_for(root.nearest(p).src()).to_string())
                };
                set::apply(spec.kind, &spec.arg, &spec.base_dir, &mut user, &describe)?
            };
            warnings.extend(applied.warnings);
            let root_v = Value::Object(std::mem::take(&mut user));
            let mut root_p = PNode::Map(zero, std::mem::take(&mut up));
            for w in &applied.writes {
                root_p.mark_write(&root_v, w, src);
            }
            user = match root_v {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            up = match root_p {
                PNode::Map(_, m) => m,
                _ => PMap::new(),
            };
            continue;
        }
        let Value::Object(m) = layer.values else {
            continue;
        };
        if layer.kind == LayerKind::ChartDefault {
            // Take the subtree at the layer's scope.
            let (mut v, mut p) = (m, node);
            for seg in &layer.scope {
                let next_v = match v.shift_remove(seg) {
                    Some(Value::Object(inner)) => inner,
                    _ => Map::new(),
                };
                let next_p = match p {
                    PNode::Map(_, mut pm) => pm
                        .shift_remove(seg)
                        .unwrap_or(PNode::Map(zero, PMap::new())),
                    other => other,
                };
                v = next_v;
                p = next_p;
            }
            let psrc = p.src();
            let pm = match p {
                PNode::Map(_, pm) => pm,
                _ => PMap::new(),
            };
            match defaults.iter_mut().find(|d| d.scope == layer.scope) {
                Some(d) => merge::override_merge(&mut d.values, &mut d.prov, v, pm, psrc),
                None => defaults.push(Defaults {
                    scope: layer.scope.clone(),
                    values: v,
                    prov: pm,
                }),
            }
        } else {
            let nsrc = node.src();
            let pm = match node {
                PNode::Map(_, pm) => pm,
                _ => PMap::new(),
            };
            merge::override_merge(&mut user, &mut up, m, pm, nsrc);
        }
    }

    // Helm (`processDependencyImportValues`, run before rendering) first replaces the defaults
    // of every chart with subcharts by its defaults merged with its subcharts' defaults
    // (nulls kept), deepest charts first; the render-time coalescing then starts from those.
    let mut with_children: Vec<Vec<String>> = defaults
        .iter()
        .flat_map(|d| (0..d.scope.len()).map(|n| d.scope[..n].to_vec()))
        .collect();
    with_children.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    with_children.dedup();
    for scope in with_children {
        let (m, p) = coalesce_chart(
            Map::new(),
            PMap::new(),
            &scope,
            &defaults,
            true,
            &prov,
            &mut warnings,
        )?;
        match defaults.iter_mut().find(|d| d.scope == scope) {
            Some(d) => {
                d.values = m;
                d.prov = p;
            }
            None => defaults.push(Defaults {
                scope,
                values: m,
                prov: p,
            }),
        }
    }
    let (values, vp) = coalesce_chart(user, up, &[], &defaults, false, &prov, &mut warnings)?;
    prov.root = PNode::Map(zero, vp);
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(Resolved {
        values: Value::Object(values),
        provenance: prov,
        warnings,
    })
}

/// Helm's `coalesce` for the chart at `scope`: its defaults, then each subchart's section
/// (globals first, then the subchart's own defaults, recursively).
fn coalesce_chart(
    user: Map<String, Value>,
    up: PMap,
    scope: &[String],
    defaults: &[Defaults],
    merge: bool,
    prov: &Provenance,
    warnings: &mut Vec<String>,
) -> Result<(Map<String, Value>, PMap), ValuesError> {
    let zero = Src { source: 0, line: 0 };
    let (d, dp) = defaults
        .iter()
        .find(|d| d.scope == scope)
        .map(|d| (d.values.clone(), d.prov.clone()))
        .unwrap_or_default();
    let mut children: Vec<String> = Vec::new();
    for d in defaults {
        if d.scope.len() > scope.len() && d.scope[..scope.len()] == *scope {
            let c = &d.scope[scope.len()];
            if !children.contains(c) {
                children.push(c.clone());
            }
        }
    }
    let prefix = scope.join(".");
    let level = merge::Level::Root {
        child_keys: &children,
    };
    let (mut m, mut mp) = merge::coalesce_maps(user, up, d, dp, level, merge, warnings, &prefix);
    for c in &children {
        let mut path: Vec<PathSeg> = scope.iter().map(|s| PathSeg::Key(s.clone())).collect();
        path.push(PathSeg::Key(c.clone()));
        let section = match m.get(c) {
            None => Map::new(),
            Some(Value::Object(s)) => s.clone(),
            Some(other) => {
                let origin = mp
                    .get(c)
                    .map(|p| prov.origin_for(p.src()))
                    .unwrap_or_else(|| prov.origin_for(zero));
                return Err(ValuesError::SubchartNotAMap {
                    key: yaml::path_to_string(&path),
                    found: type_name(other),
                    origin,
                });
            }
        };
        let section_node = mp.get(c).cloned().unwrap_or(PNode::Map(zero, PMap::new()));
        let ssrc = section_node.src();
        let mut sp = match section_node {
            PNode::Map(_, p) => p,
            _ => PMap::new(),
        };
        let mut section = section;
        let pg = m.get("global").cloned();
        let pgn = mp.get("global").cloned();
        let cprefix = yaml::path_to_string(&path);
        merge::coalesce_globals(
            &mut section,
            &mut sp,
            pg.as_ref().zip(pgn.as_ref()),
            ssrc,
            warnings,
            &cprefix,
        );
        let mut cscope = scope.to_vec();
        cscope.push(c.clone());
        let (s2, sp2) = coalesce_chart(section, sp, &cscope, defaults, merge, prov, warnings)?;
        m.insert(c.clone(), Value::Object(s2));
        mp.insert(c.clone(), PNode::Map(ssrc, sp2));
    }
    Ok((m, mp))
}

/// One leaf of the merged values and the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRow {
    /// `a.b[2].c`
    pub path: String,
    /// The leaf (a scalar, or an empty map or list).
    pub value: Value,
    /// Who set it.
    pub origin: Origin,
}

/// Every leaf of the merged values with its origin, in values order (for
/// `charter values --explain`).
pub fn explain(resolved: &Resolved) -> Vec<ExplainRow> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    let p = &resolved.provenance;
    explain_walk(
        &resolved.values,
        Some(&p.root),
        p.root.src(),
        p,
        &mut path,
        &mut out,
    );
    out
}

fn explain_walk(
    v: &Value,
    node: Option<&PNode>,
    inherited: Src,
    prov: &Provenance,
    path: &mut Vec<PathSeg>,
    out: &mut Vec<ExplainRow>,
) {
    let src = node.map_or(inherited, PNode::src);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let child = match node {
                    Some(PNode::Map(_, pm)) => pm.get(k),
                    _ => None,
                };
                path.push(PathSeg::Key(k.clone()));
                explain_walk(c, child, src, prov, path, out);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, c) in a.iter().enumerate() {
                let child = match node {
                    Some(PNode::Seq(_, items)) => items.get(i),
                    _ => None,
                };
                path.push(PathSeg::Index(i));
                explain_walk(c, child, src, prov, path, out);
                path.pop();
            }
        }
        _ if path.is_empty() => {}
        _ => out.push(ExplainRow {
            path: yaml::path_to_string(path),
            value: v.clone(),
            origin: prov.origin_for(src),
        }),
    }
}

/// The merged values as YAML with each leaf's origin as a trailing comment
/// (`tag: v2  # deploy/app/prod/values.yaml:12`).
pub fn explain_yaml(resolved: &Resolved) -> String {
    yaml::to_yaml_annotated(&resolved.values, &|p: &[PathSeg]| {
        Some(resolved.provenance.origin_of(p).to_string())
    })
}

#[cfg(test)]
mod tests;
