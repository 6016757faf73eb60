//! YAML reading and writing shared by every module: the one YAML rule of the project.
//!
//! - [`events`]: the full parser (parser events → values, anchors, merge keys, line numbers).
//! - [`scalar`]: Helm's scalar rules below.
//! - [`fast`]: a line-based parser for the common block-YAML subset, checked to agree with the
//!   full parser; [`identity`]: reading only a manifest's identity, without building values.
//! - [`json`]: JSON documents, which are YAML, read by serde_json.
//! - [`emit`]: writing YAML ([`to_yaml`]); [`typed`]: reading a typed file ([`from_str`]).
//!
//! # Data model
//! Every YAML document becomes a [`serde_json::Value`] (with `preserve_order`, so map order is
//! document order). Integers stay integers (`i64`, or `u64` above `i64::MAX`), other numbers are
//! `f64`.
//!
//! # Scalar resolution (decided once, for values files *and* rendered manifests)
//! Plain (unquoted) scalars resolve the way Helm v4 and kubectl resolve them (sigs.k8s.io/yaml
//! on go-yaml v2, a YAML 1.1 reading), verified against `helm template` v4.1.4:
//!
//! | plain scalar | value |
//! |---|---|
//! | `y Y yes Yes YES on On ON true True TRUE` | `true` |
//! | `n N no No NO off Off OFF false False FALSE` | `false` |
//! | `~ null Null NULL` and the empty scalar | `null` |
//! | `0755` `0o755` (octal), `0x1F` (hex), `0b101` (binary), `+12`, `1_000` | integers 493, 493, 31, 5, 12, 1000 |
//! | `1e3` `1.5` `.5` `-1.` `08` | floats |
//! | `.inf` `-.inf` `.nan` (any case variant YAML 1.1 lists) | an error: JSON cannot hold them |
//! | `12:30` (sexagesimal), `2001-12-14` (timestamp), anything else | strings |
//!
//! Quoted scalars and block scalars (`|`, `>`) are always strings. Core tags (`!!str`, `!!int`,
//! `!!float`, `!!bool`, `!!null`) are honoured; other tags are ignored.
//!
//! Mapping keys follow the same resolution and are then turned into strings the way
//! sigs.k8s.io/yaml does: `yes: 1` has the key `"true"`, `0755: x` the key `"493"`; a null key
//! is an error. Duplicate keys: the last one wins (as in Helm). Merge keys (`<<`) are supported;
//! explicit keys win over merged ones and earlier merge sources win over later ones. Aliases
//! are expanded; expansion is bounded by [`ALIAS_EXPANSION_BUDGET`] nodes per document (an
//! "alias bomb" is an error), and nesting by [`MAX_DEPTH`].
//!
//! # Emission
//! [`to_yaml`] writes Helm's `toYaml` block style (2-space indent, lists not indented under
//! their key) and quotes every string a YAML 1.1 *or* YAML 1.2 reader could read as something
//! else (`"yes"`, `"on"`, `"y"`, `"0755"`, `"1e3"`, `"12:30"`, `""`, ...). Map order is kept
//! (Helm sorts keys; charter keeps document order).
mod emit;
mod events;
mod fast;
pub mod identity;
mod json;
mod scalar;
#[cfg(test)]
mod tests;
mod typed;

use std::fmt::Write as _;

use indexmap::IndexMap;
use saphyr_parser::{ScanError, Span};
use serde_json::Value;

pub use emit::{needs_quotes, to_yaml, to_yaml_annotated};
pub use scalar::resolve_plain;
pub use typed::{TypedError, float_as_string, from_str, from_value};

use events::Builder;
use json::{json_lines, parse_json};

/// Maximum number of nodes that alias expansion may copy in one document.
pub const ALIAS_EXPANSION_BUDGET: usize = 2_000_000;
/// Maximum nesting depth of collections in a document.
pub const MAX_DEPTH: usize = 512;

/// A YAML error with its position (1-based line and column) in the named source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct YamlError {
    /// The name of the source (usually a file path).
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and, where useful, what to do.
    pub message: String,
}

impl YamlError {
    fn new(origin: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        YamlError {
            origin: origin.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    fn at(origin: &str, span: &Span, message: impl Into<String>) -> Self {
        Self::new(origin, span.start.line(), span.start.col() + 1, message)
    }

    fn from_scan(origin: &str, e: &ScanError) -> Self {
        Self::new(
            origin,
            e.marker().line(),
            e.marker().col() + 1,
            format!("invalid YAML: {}", e.info()),
        )
    }

    /// Shift the line number (used when a stream is parsed in chunks).
    fn shifted(mut self, lines: usize) -> Self {
        self.line += lines;
        self
    }
}

/// One step of a path into a value: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSeg {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// Render a path the way users write it: `a.b[2].c`; keys that contain `.`, `[`, `]` or are
/// empty are written `["a.b"]`.
pub fn path_to_string(path: &[PathSeg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            PathSeg::Key(k) => {
                let plain = !k.is_empty()
                    && !k
                        .chars()
                        .any(|c| matches!(c, '.' | '[' | ']' | '"' | '\\') || c.is_whitespace());
                if plain {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                } else {
                    out.push('[');
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(']');
                }
            }
            PathSeg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// Source lines of a parsed document, shaped like the value: every node knows the line
/// (1-based) where it starts; map entries record the line of their key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineTree {
    /// A scalar (or an empty collection treated as a leaf) at this line.
    Leaf(usize),
    /// A map starting at `line`; each entry carries the line of its key.
    Map {
        /// Line where the map starts.
        line: usize,
        /// Per key: the line tree of its value, with the key's line as the value's line for
        /// scalars.
        entries: IndexMap<String, LineTree>,
    },
    /// A list starting at `line`.
    Seq {
        /// Line where the list starts.
        line: usize,
        /// One tree per item.
        items: Vec<LineTree>,
    },
}

impl LineTree {
    /// The line of this node.
    pub fn line(&self) -> usize {
        match self {
            LineTree::Leaf(l) => *l,
            LineTree::Map { line, .. } | LineTree::Seq { line, .. } => *line,
        }
    }

    /// The subtree at `path`, if present.
    pub fn get(&self, path: &[PathSeg]) -> Option<&LineTree> {
        let mut node = self;
        for seg in path {
            node = match (node, seg) {
                (LineTree::Map { entries, .. }, PathSeg::Key(k)) => entries.get(k)?,
                (LineTree::Seq { items, .. }, PathSeg::Index(i)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The line of the node at `path`; for a path that goes past a leaf, the nearest ancestor's
    /// line.
    pub fn line_of(&self, path: &[PathSeg]) -> Option<usize> {
        let mut node = self;
        for seg in path {
            let next = match (node, seg) {
                (LineTree::Map { entries, .. }, PathSeg::Key(k)) => entries.get(k),
                (LineTree::Seq { items, .. }, PathSeg::Index(i)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => return Some(node.line()),
            }
        }
        Some(node.line())
    }
}

/// Parse a single-document YAML source (values files, Chart.yaml-like files) into a value.
/// An empty source (or only comments) is `null`. More than one document is an error.
pub fn parse_str(src: &str, origin_name: &str) -> Result<Value, YamlError> {
    if let Some(v) = parse_json(src) {
        return Ok(v);
    }
    let mut b = Builder::new(origin_name, false);
    let mut docs = b.run(src)?;
    single(docs.drain(..).map(|d| d.value).collect(), src, origin_name)
}

/// Like [`parse_str`], also returning the source line of every node.
pub fn parse_str_with_lines(src: &str, origin_name: &str) -> Result<(Value, LineTree), YamlError> {
    if let Some(v) = parse_json(src)
        && let Some(lines) = json_lines(src)
    {
        return Ok((v, lines));
    }
    let mut b = Builder::new(origin_name, true);
    let docs = b.run(src)?;
    if docs.len() > 1 {
        return Err(YamlError::new(
            origin_name,
            docs[1].start_line,
            1,
            "expected a single YAML document but found a second one (a `---` separator); \
             put each document in its own file",
        ));
    }
    match docs.into_iter().next() {
        Some(d) => Ok((d.value, d.lines.unwrap_or(LineTree::Leaf(1)))),
        None => Ok((Value::Null, LineTree::Leaf(1))),
    }
}

fn single(mut docs: Vec<Value>, src: &str, origin: &str) -> Result<Value, YamlError> {
    if docs.len() > 1 {
        // Find the line of the second document for the message.
        let line = second_doc_line(src).unwrap_or(1);
        return Err(YamlError::new(
            origin,
            line,
            1,
            "expected a single YAML document but found a second one (a `---` separator); \
             put each document in its own file",
        ));
    }
    Ok(docs.pop().unwrap_or(Value::Null))
}

fn second_doc_line(src: &str) -> Option<usize> {
    let mut seen_content = false;
    for (i, line) in src.lines().enumerate() {
        if is_doc_start_line(line) {
            if seen_content {
                return Some(i + 1);
            }
        } else if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            seen_content = true;
        }
    }
    None
}

fn is_doc_start_line(line: &str) -> bool {
    line.starts_with("---") && matches!(line.as_bytes().get(3), None | Some(b' ' | b'\t' | b'\r'))
}

/// Parse a multi-document stream (rendered manifests). Returns every document with the
/// 1-based line where it starts (the `---` line, or the first line of an implicit document).
/// Empty documents are returned as `null`. Large streams are split at `---` lines and parsed
/// in parallel.
pub fn parse_documents(src: &str) -> Result<Vec<(Value, usize)>, YamlError> {
    parse_documents_named(src, "<stream>")
}

/// [`parse_documents`] with a name for error messages.
pub fn parse_documents_named(
    src: &str,
    origin_name: &str,
) -> Result<Vec<(Value, usize)>, YamlError> {
    const PARALLEL_THRESHOLD: usize = 256 * 1024;
    if src.len() >= PARALLEL_THRESHOLD && !has_directive_line(src) {
        let chunks = split_at_doc_starts(src);
        if chunks.len() > 1 {
            use rayon::prelude::*;
            // Group chunks into batches of roughly 64 KiB to amortise task overhead.
            let mut batches: Vec<(usize, usize, usize)> = Vec::new(); // (byte start, byte end, line offset)
            let mut cur: Option<(usize, usize, usize)> = None;
            for (start, end, line_off) in chunks {
                match cur.as_mut() {
                    Some(c) if c.1 - c.0 < 64 * 1024 => c.1 = end,
                    _ => {
                        if let Some(c) = cur.take() {
                            batches.push(c);
                        }
                        cur = Some((start, end, line_off));
                    }
                }
            }
            batches.extend(cur);
            let parts: Vec<Result<Vec<(Value, usize)>, YamlError>> = batches
                .par_iter()
                .map(|&(s, e, off)| {
                    let mut b = Builder::new(origin_name, false);
                    match b.run(&src[s..e]) {
                        Ok(docs) => Ok(docs
                            .into_iter()
                            .map(|d| (d.value, d.start_line + off))
                            .collect()),
                        Err(err) => Err(err.shifted(off)),
                    }
                })
                .collect();
            let mut out = Vec::new();
            for p in parts {
                out.extend(p?);
            }
            return Ok(out);
        }
    }
    let mut b = Builder::new(origin_name, false);
    Ok(b.run(src)?
        .into_iter()
        .map(|d| (d.value, d.start_line))
        .collect())
}

fn has_directive_line(src: &str) -> bool {
    src.starts_with('%') || src.contains("\n%")
}

/// Split at lines that start a document (`---` at column 0). Returns (start, end, line offset).
fn split_at_doc_starts(src: &str) -> Vec<(usize, usize, usize)> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut chunk_start = 0usize;
    let mut chunk_line = 0usize;
    let mut line_no = 0usize; // 0-based line of `pos`
    let mut pos = 0usize;
    while pos < bytes.len() {
        let line_end = memchr_newline(bytes, pos);
        if pos != chunk_start && is_doc_start_line(&src[pos..line_end]) {
            out.push((chunk_start, pos, chunk_line));
            chunk_start = pos;
            chunk_line = line_no;
        }
        pos = line_end + 1;
        line_no += 1;
    }
    out.push((chunk_start, bytes.len(), chunk_line));
    out
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// YAML (and go-yaml, so Helm) refuses control characters anywhere in a stream: only tab, line
/// feed, carriage return, NEL and printable characters are allowed.
fn check_printable(src: &str, origin: &str) -> Result<(), YamlError> {
    let bad = |c: char| !matches!(c, '\t' | '\n' | '\r' | '\u{85}' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
    // Fast path: printable ASCII and line breaks only.
    if src
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t' || b == b'\r')
    {
        return Ok(());
    }
    let Some((pos, c)) = src.char_indices().find(|&(_, c)| bad(c)) else {
        return Ok(());
    };
    let before = &src[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Err(YamlError::new(
        origin,
        line,
        col,
        format!(
            "invalid YAML: the control character U+{:04X} is not allowed; remove it, or write it \
             as an escape (`\\x{:02x}`) inside a double-quoted string",
            c as u32, c as u32
        ),
    ))
}

/// Parse with the full saphyr-based parser only (no fast path); for tests and fuzzing, which
/// check that both parsers agree.
#[doc(hidden)]
pub fn parse_documents_reference(
    src: &str,
    track_lines: bool,
) -> Result<Vec<(Value, Option<LineTree>, usize)>, YamlError> {
    let mut b = Builder::new("<stream>", track_lines);
    b.use_fast = false;
    Ok(b.run(src)?
        .into_iter()
        .map(|d| (d.value, d.lines, d.start_line))
        .collect())
}

/// Parse with the fast line-based parser only; `None` where it defers to the full parser.
#[doc(hidden)]
pub fn parse_documents_fast(
    src: &str,
    track_lines: bool,
) -> Option<Vec<(Value, Option<LineTree>, usize)>> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    check_printable(src, "<stream>").ok()?;
    fast::parse(src, track_lines).ok().map(|docs| {
        docs.into_iter()
            .map(|d| (d.value, d.lines, d.start_line))
            .collect()
    })
}
