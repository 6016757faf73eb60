//! Where every value came from: a tree shaped like the values, each node naming its layer
//! (file and line, or flag).
use std::cell::Cell;
use std::fmt;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value;

use crate::yaml::{LineTree, PathSeg};

/// The layer (and line) that set a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A chart's own `values.yaml` (or a subchart's, scoped under its key).
    ChartDefault {
        /// The values file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
    },
    /// A values file given by the user or found in a deploy tree (environment, region, `-f`).
    File {
        /// The values file.
        file: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
    },
    /// A `--set`-family flag.
    Flag {
        /// `--set`, `--set-string`, `--set-file`, `--set-json` or `--set-literal`.
        flag: String,
        /// The whole flag argument, e.g. `image.tag=v2,replicas=3`.
        arg: String,
    },
    /// Produced by charter itself (e.g. a subchart section created empty).
    Computed {
        /// What produced it.
        what: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::ChartDefault { file, line } | Origin::File { file, line } => {
                if *line > 0 {
                    write!(f, "{}:{line}", file.display())
                } else {
                    write!(f, "{}", file.display())
                }
            }
            Origin::Flag { flag, arg } => write!(f, "{flag} {arg}"),
            Origin::Computed { what } => write!(f, "({what})"),
        }
    }
}

/// A layer's identity without a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    ChartDefault(PathBuf),
    File(PathBuf),
    Flag { flag: String, arg: String },
    Computed(String),
}

impl Source {
    fn origin(&self, line: u32) -> Origin {
        let line = line as usize;
        match self {
            Source::ChartDefault(file) => Origin::ChartDefault {
                file: file.clone(),
                line,
            },
            Source::File(file) => Origin::File {
                file: file.clone(),
                line,
            },
            Source::Flag { flag, arg } => Origin::Flag {
                flag: flag.clone(),
                arg: arg.clone(),
            },
            Source::Computed(what) => Origin::Computed { what: what.clone() },
        }
    }
}

/// A compact origin: index into [`Provenance::sources`] plus a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Src {
    pub source: u32,
    pub line: u32,
}

/// A provenance node, shaped like the value it describes. When the shapes disagree (which the
/// merge code avoids), lookups fall back to the nearest ancestor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PNode {
    Leaf(Src),
    Map(Src, IndexMap<String, PNode>),
    Seq(Src, Vec<PNode>),
}

impl PNode {
    pub fn src(&self) -> Src {
        match self {
            PNode::Leaf(s) | PNode::Map(s, _) | PNode::Seq(s, _) => *s,
        }
    }

    /// Every node of `v` attributed to `src`.
    pub fn uniform(v: &Value, src: Src) -> PNode {
        if LAZY.with(Cell::get) {
            return PNode::Leaf(src);
        }
        match v {
            Value::Object(m) => PNode::Map(
                src,
                m.iter()
                    .map(|(k, c)| (k.clone(), PNode::uniform(c, src)))
                    .collect(),
            ),
            Value::Array(a) => PNode::Seq(src, a.iter().map(|c| PNode::uniform(c, src)).collect()),
            _ => PNode::Leaf(src),
        }
    }

    /// Attribute a parsed value to `source`, with lines from the parser's line tree (which has
    /// the value's shape; consumed to reuse its keys).
    pub fn from_lines(lines: LineTree, source: u32) -> PNode {
        let src = |line: usize| Src {
            source,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        };
        match lines {
            LineTree::Leaf(l) => PNode::Leaf(src(l)),
            LineTree::Map { line, entries } => PNode::Map(
                src(line),
                entries
                    .into_iter()
                    .map(|(k, c)| (k, PNode::from_lines(c, source)))
                    .collect(),
            ),
            LineTree::Seq { line, items } => PNode::Seq(
                src(line),
                items
                    .into_iter()
                    .map(|c| PNode::from_lines(c, source))
                    .collect(),
            ),
        }
    }

    /// Shift every source index by `by` (when a layer's provenance joins a larger one).
    pub fn offset(&mut self, by: u32) {
        match self {
            PNode::Leaf(s) => s.source += by,
            PNode::Map(s, m) => {
                s.source += by;
                m.values_mut().for_each(|c| c.offset(by));
            }
            PNode::Seq(s, a) => {
                s.source += by;
                a.iter_mut().for_each(|c| c.offset(by));
            }
        }
    }

    /// The children of a map node; a non-map node is turned into an empty map first.
    pub fn map_mut(&mut self) -> &mut IndexMap<String, PNode> {
        if !matches!(self, PNode::Map(..)) {
            *self = PNode::Map(self.src(), IndexMap::new());
        }
        match self {
            PNode::Map(_, m) => m,
            _ => unreachable!("just made a map"),
        }
    }

    /// The node at `path`, or the nearest ancestor's.
    pub fn nearest(&self, path: &[PathSeg]) -> &PNode {
        let mut node = self;
        for seg in path {
            let next = match (node, seg) {
                (PNode::Map(_, m), PathSeg::Key(k)) => m.get(k),
                (PNode::Seq(_, a), PathSeg::Index(i)) => a.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// Record that `src` wrote the value now at `path` in `root` (the whole subtree at `path`
    /// is new). Containers created on the way, and list padding, are attributed to `src`;
    /// existing containers keep their origin.
    pub fn mark_write(&mut self, root: &Value, path: &[PathSeg], src: Src) {
        let mut node = self;
        let mut value = root;
        for seg in path {
            match (value, seg) {
                (Value::Object(m), PathSeg::Key(k)) => {
                    let Some(child) = m.get(k) else { return };
                    if !matches!(node, PNode::Map(..)) {
                        *node = PNode::uniform(value, src);
                        return;
                    }
                    let children = node.map_mut();
                    let entry = children
                        .entry(k.clone())
                        .or_insert_with(|| PNode::uniform(child, src));
                    node = entry;
                    value = child;
                }
                (Value::Array(a), PathSeg::Index(i)) => {
                    let Some(child) = a.get(*i) else { return };
                    let PNode::Seq(_, items) = node else {
                        *node = PNode::uniform(value, src);
                        return;
                    };
                    items.truncate(a.len());
                    while items.len() < a.len() {
                        items.push(PNode::uniform(&a[items.len()], src));
                    }
                    node = &mut items[*i];
                    value = child;
                }
                _ => return,
            }
        }
        *node = PNode::uniform(value, src);
    }
}

/// Where the values came from: for every key and leaf, the layer and line that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub(crate) sources: Vec<Source>,
    pub(crate) root: PNode,
}

impl Default for Provenance {
    fn default() -> Self {
        Provenance {
            sources: vec![Source::Computed("empty".to_string())],
            root: PNode::Map(Src { source: 0, line: 0 }, IndexMap::new()),
        }
    }
}

thread_local! {
    /// Set while resolving layers whose provenance nobody will read (see
    /// [`Provenance::opaque`]): subtrees then get one node instead of one per value.
    static LAZY: Cell<bool> = const { Cell::new(false) };
}

/// Makes [`PNode::uniform`] lazy on this thread until dropped.
pub(crate) struct LazyGuard(bool);

impl LazyGuard {
    pub(crate) fn set(on: bool) -> LazyGuard {
        LazyGuard(LAZY.with(|l| l.replace(on)))
    }
}

impl Drop for LazyGuard {
    fn drop(&mut self) {
        let before = self.0;
        LAZY.with(|l| l.set(before));
    }
}

impl Provenance {
    /// Whether this is an [`Provenance::opaque`] provenance.
    pub(crate) fn is_opaque(&self) -> bool {
        matches!(self.root, PNode::Leaf(_)) && self.sources.len() == 1
    }

    /// One source for every node of `v`.
    pub(crate) fn single(source: Source, v: &Value, lines: Option<LineTree>) -> Provenance {
        let root = match lines {
            Some(l) => PNode::from_lines(l, 0),
            None => PNode::uniform(v, Src { source: 0, line: 0 }),
        };
        Provenance {
            sources: vec![source],
            root,
        }
    }

    /// One source for the whole value, without a node per value: for renders, which never
    /// ask where a value came from (a tree mirroring 10,000 services costs more than the
    /// merge itself). Merging still works on it; origins are then per layer, not per line.
    pub(crate) fn opaque(source: Source) -> Provenance {
        Provenance {
            sources: vec![source],
            root: PNode::Leaf(Src { source: 0, line: 0 }),
        }
    }

    /// The origin of the value at `path` (for a path that does not exist, the origin of its
    /// nearest existing ancestor).
    pub fn origin_of(&self, path: &[PathSeg]) -> Origin {
        self.origin_for(self.root.nearest(path).src())
    }

    pub(crate) fn origin_for(&self, src: Src) -> Origin {
        match self.sources.get(src.source as usize) {
            Some(s) => s.origin(src.line),
            None => Origin::Computed {
                what: "unknown".to_string(),
            },
        }
    }

    /// Append another provenance's sources; returns the offset to apply to its nodes.
    pub(crate) fn adopt_sources(&mut self, other: &[Source]) -> u32 {
        let offset = u32::try_from(self.sources.len()).unwrap_or(u32::MAX);
        self.sources.extend(other.iter().cloned());
        offset
    }
}
