//! Values: layers, merge, `--set`, schema, provenance.
//!
//! Precedence, lowest first (README, "Rendering"):
//! the chart's `values.yaml` (each subchart's scoped under its key), the deploy-tree layers
//! (environment, then region), `-f` files in order, then the `--set` family in Helm's fixed order
//! of kinds ([`SetKind::helm_rank`]; the action layer sorts them).
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

mod explain;
mod merge;
mod provenance;
mod schema;
mod set;

pub use explain::{ExplainRow, explain, explain_yaml};
pub use merge::{
    coalesce, coalesce_subchart_defaults, condition_enabled, merge, path_value, scope_for_subchart,
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
    /// `--set-json`, then `--set`, `--set-string`, `--set-file`, `--set-literal`; charter too.
    /// Sort flags by this key (stable) to get that order.
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
    numbers: Numbers,
}

/// How the numbers of YAML and JSON documents reach templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbers {
    /// As written: an integer stays an integer (charter's charts).
    #[default]
    AsWritten,
    /// As Helm reads values: every number of a values file, `--set-json` or a chart's
    /// `values.yaml` is a float64 (so a template prints 1000000 as `1e+06`); only `--set`'s
    /// integers stay integers (int64).
    Helm,
}

impl Numbers {
    /// `value` with its numbers as this mode reads them.
    pub fn apply(self, value: Value) -> Value {
        match self {
            Numbers::AsWritten => value,
            Numbers::Helm => floats(value),
        }
    }
}

impl Numbers {
    /// `value` as `charter values` prints it: a Helm chart's whole floats as integers, as Helm
    /// prints values (`replicas: 3`, not `3.0`).
    pub fn for_display(self, value: Value) -> Value {
        match self {
            Numbers::AsWritten => value,
            Numbers::Helm => whole_floats_as_ints(value),
        }
    }
}

fn whole_floats_as_ints(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(whole_floats_as_ints).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, whole_floats_as_ints(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Every number of `v` as a float64 (integers beyond 2^53 lose precision, as in Helm).
fn floats(v: Value) -> Value {
    match v {
        Value::Number(n) if !n.is_f64() => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Number(n), Value::Number),
        Value::Array(a) => Value::Array(a.into_iter().map(floats).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, floats(v))).collect()),
        other => other,
    }
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

/// How a message names a value's type ("a map", "a list", …).
pub(crate) fn type_name(v: &Value) -> &'static str {
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

    /// The layer with its numbers read as `numbers` says (a `--set-json` flag parses its JSON
    /// that way when applied).
    pub fn with_numbers(mut self, numbers: Numbers) -> Layer {
        match &mut self.set {
            Some(spec) => spec.numbers = numbers,
            None => self.values = numbers.apply(std::mem::take(&mut self.values)),
        }
        self
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
    set::apply(
        kind,
        arg,
        base_dir_for_files,
        Numbers::AsWritten,
        &mut m,
        &|_| None,
    )?;
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
            numbers: Numbers::AsWritten,
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

/// One entry of a Helm dependency's `import-values`: a table of the dependency's values copied
/// into its parent's defaults, beneath the parent's own values (Helm's
/// `processImportValues`). `- data` is `child: [DEP, exports, data]`, `parent: []`;
/// `- {child: a.b, parent: c}` is `child: [DEP, a, b]`, `parent: [c]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The importing chart's scope (the subchart keys leading to it; empty for the top chart).
    pub scope: Vec<String>,
    /// The table to copy, from the importing chart's values: the dependency's key, then the path.
    pub child: Vec<String>,
    /// Where the table goes in the importing chart's values; empty: merged at the top.
    pub parent: Vec<String>,
}

/// Resolve layers, lowest precedence first, with Helm's semantics (module docs). Chart-default
/// layers may come in any position; the others apply in order.
pub fn resolve(layers: Vec<Layer>) -> Result<Resolved, ValuesError> {
    resolve_with(layers, &[])
}

/// [`resolve`], with the `import-values` of Helm dependencies applied to the chart defaults
/// (in the order given, earlier entries winning, as Helm applies them).
pub fn resolve_with(layers: Vec<Layer>, imports: &[Import]) -> Result<Resolved, ValuesError> {
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
                set::apply(
                    spec.kind,
                    &spec.arg,
                    &spec.base_dir,
                    spec.numbers,
                    &mut user,
                    &describe,
                )?
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
        .chain(imports.iter().map(|i| i.scope.clone()))
        .collect();
    with_children.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    with_children.dedup();
    for scope in with_children {
        let (mut m, mut p) = coalesce_chart(
            Map::new(),
            PMap::new(),
            &scope,
            &mut defaults,
            Reuse::Copy,
            true,
            &prov,
            &mut warnings,
        )?;
        let own: Vec<&Import> = imports.iter().filter(|i| i.scope == scope).collect();
        if !own.is_empty() {
            (m, p) = import_values(m, p, &own, &mut warnings);
        }
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
    let (values, vp) = coalesce_chart(
        user,
        up,
        &[],
        &mut defaults,
        Reuse::Take,
        false,
        &prov,
        &mut warnings,
    )?;
    prov.root = PNode::Map(zero, vp);
    let mut seen = std::collections::HashSet::new();
    warnings.retain(|w| seen.insert(w.clone()));
    Ok(Resolved {
        values: Value::Object(values),
        provenance: prov,
        warnings,
    })
}

/// Helm's `processImportValues` for one chart: each imported table, placed at its parent path,
/// merged into one map (earlier imports win), which then fills in beneath the chart's values.
fn import_values(
    m: Map<String, Value>,
    p: PMap,
    imports: &[&Import],
    warnings: &mut Vec<String>,
) -> (Map<String, Value>, PMap) {
    let zero = Src { source: 0, line: 0 };
    let (mut b, mut bp) = (Map::new(), PMap::new());
    for imp in imports {
        let Some((t, tp, src)) = table_at(&m, Some(&p), &imp.child, zero) else {
            warnings.push(format!(
                "import-values: `{}` is not a table of the dependency's values; nothing imported",
                imp.child.join(".")
            ));
            continue;
        };
        let (mut nv, mut np) = (t.clone(), tp.cloned().unwrap_or_default());
        for seg in imp.parent.iter().rev() {
            let mut wrapped = Map::new();
            wrapped.insert(seg.clone(), Value::Object(nv));
            let mut wp = PMap::new();
            wp.insert(seg.clone(), PNode::Map(src, np));
            (nv, np) = (wrapped, wp);
        }
        (b, bp) = merge::coalesce_maps(b, bp, nv, np, merge::Level::Table, true, warnings, "");
    }
    merge::coalesce_maps(m, p, b, bp, merge::Level::Table, true, warnings, "")
}

/// The map at `path` below `m` (Helm's `Values.Table`), its origins and the origin of the map.
fn table_at<'a>(
    m: &'a Map<String, Value>,
    p: Option<&'a PMap>,
    path: &[String],
    src: Src,
) -> Option<(&'a Map<String, Value>, Option<&'a PMap>, Src)> {
    let Some((first, rest)) = path.split_first() else {
        return Some((m, p, src));
    };
    let Value::Object(inner) = m.get(first)? else {
        return None;
    };
    let node = p.and_then(|p| p.get(first));
    let inner_p = match node {
        Some(PNode::Map(_, ip)) => Some(ip),
        _ => None,
    };
    table_at(inner, inner_p, rest, node.map_or(src, PNode::src))
}

/// Whether [`coalesce_chart`] copies the defaults it coalesces or takes them (the last use).
#[derive(Clone, Copy, PartialEq)]
enum Reuse {
    Copy,
    Take,
}

/// Helm's `coalesce` for the chart at `scope`: its defaults, then each subchart's section
/// (globals first, then the subchart's own defaults, recursively).
#[allow(clippy::too_many_arguments)] // Helm's arguments, plus provenance and reuse
fn coalesce_chart(
    user: Map<String, Value>,
    up: PMap,
    scope: &[String],
    defaults: &mut [Defaults],
    reuse: Reuse,
    merge: bool,
    prov: &Provenance,
    warnings: &mut Vec<String>,
) -> Result<(Map<String, Value>, PMap), ValuesError> {
    let zero = Src { source: 0, line: 0 };
    let (d, dp) = defaults
        .iter_mut()
        .find(|d| d.scope == scope)
        .map(|d| match reuse {
            Reuse::Copy => (d.values.clone(), d.prov.clone()),
            Reuse::Take => (std::mem::take(&mut d.values), std::mem::take(&mut d.prov)),
        })
        .unwrap_or_default();
    let mut children: Vec<String> = Vec::new();
    for d in defaults.iter() {
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
        // The section is taken out and put back under the same key (its place is kept),
        // unless it is the `global` passed down to it.
        let take = c != "global";
        let section = match m.get_mut(c) {
            None => Map::new(),
            Some(Value::Object(s)) if take => std::mem::take(s),
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
        let section_node = match mp.get_mut(c) {
            Some(n) if take => std::mem::replace(n, PNode::Map(zero, PMap::new())),
            Some(n) => n.clone(),
            None => PNode::Map(zero, PMap::new()),
        };
        let ssrc = section_node.src();
        let mut sp = match section_node {
            PNode::Map(_, p) => p,
            _ => PMap::new(),
        };
        let mut section = section;
        let cprefix = yaml::path_to_string(&path);
        merge::coalesce_globals(
            &mut section,
            &mut sp,
            m.get("global").zip(mp.get("global")),
            ssrc,
            warnings,
            &cprefix,
        );
        let mut cscope = scope.to_vec();
        cscope.push(c.clone());
        let (s2, sp2) =
            coalesce_chart(section, sp, &cscope, defaults, reuse, merge, prov, warnings)?;
        m.insert(c.clone(), Value::Object(s2));
        mp.insert(c.clone(), PNode::Map(ssrc, sp2));
    }
    Ok((m, mp))
}

#[cfg(test)]
mod tests;
