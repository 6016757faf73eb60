//! YAML reading and writing shared by every module: the one YAML rule of the project.
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
use std::borrow::Cow;
use std::fmt::Write as _;

use indexmap::IndexMap;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

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

/// JSON is YAML, and values files are often generated as JSON: parse those with serde_json,
/// several times faster and leaner than the YAML parser. Anything that is not plain valid JSON
/// returns `None` and takes the YAML path (which also reports errors).
fn parse_json(src: &str) -> Option<Value> {
    let first = src
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first()?;
    if *first != b'{' && *first != b'[' {
        return None;
    }
    serde_json::from_str(src).ok()
}

/// Source lines of a document already known to be valid JSON (see [`parse_json`]).
fn json_lines(src: &str) -> Option<LineTree> {
    struct Scan<'a> {
        s: &'a str,
        i: usize,
        line: usize,
    }
    impl Scan<'_> {
        fn ws(&mut self) {
            let b = self.s.as_bytes();
            while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                if b[self.i] == b'\n' {
                    self.line += 1;
                }
                self.i += 1;
            }
        }
        fn string(&mut self) -> Option<&str> {
            let b = self.s.as_bytes();
            let start = self.i;
            self.i += 1;
            while self.i < b.len() {
                match b[self.i] {
                    b'\\' => self.i += 2,
                    b'"' => {
                        self.i += 1;
                        return self.s.get(start..self.i);
                    }
                    _ => self.i += 1,
                }
            }
            None
        }
        fn node(&mut self, depth: usize) -> Option<LineTree> {
            if depth > 512 {
                return None;
            }
            self.ws();
            let b = self.s.as_bytes();
            let line = self.line;
            match *b.get(self.i)? {
                b'{' => {
                    self.i += 1;
                    let mut entries = IndexMap::new();
                    loop {
                        self.ws();
                        match *b.get(self.i)? {
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            b',' => {
                                self.i += 1;
                                continue;
                            }
                            _ => {}
                        }
                        let raw = self.string()?;
                        let key: String = serde_json::from_str(raw).ok()?;
                        self.ws();
                        if *b.get(self.i)? != b':' {
                            return None;
                        }
                        self.i += 1;
                        let child = self.node(depth + 1)?;
                        entries.insert(key, child);
                    }
                    Some(LineTree::Map { line, entries })
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    loop {
                        self.ws();
                        match *b.get(self.i)? {
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            b',' => {
                                self.i += 1;
                                continue;
                            }
                            _ => items.push(self.node(depth + 1)?),
                        }
                    }
                    Some(LineTree::Seq { line, items })
                }
                b'"' => {
                    self.string()?;
                    Some(LineTree::Leaf(line))
                }
                _ => {
                    while self.i < b.len()
                        && !matches!(b[self.i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                    {
                        self.i += 1;
                    }
                    Some(LineTree::Leaf(line))
                }
            }
        }
    }
    let mut scan = Scan {
        s: src,
        i: 0,
        line: 1,
    };
    scan.node(0)
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

struct Doc {
    value: Value,
    lines: Option<LineTree>,
    start_line: usize,
}

enum Frame {
    Map {
        map: Map<String, Value>,
        lines: Option<IndexMap<String, LineTree>>,
        key: Option<PendingKey>,
        anchor: usize,
        line: usize,
    },
    Seq {
        items: Vec<Value>,
        lines: Option<Vec<LineTree>>,
        anchor: usize,
        line: usize,
    },
}

struct PendingKey {
    key: String,
    line: usize,
    merge: bool,
    span: Span,
}

struct Builder<'o> {
    origin: &'o str,
    track_lines: bool,
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, (Value, Option<LineTree>, usize)>,
    budget: usize,
    /// Try the fast line-based parser first (tests turn it off to compare).
    use_fast: bool,
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

impl<'o> Builder<'o> {
    fn new(origin: &'o str, track_lines: bool) -> Self {
        Builder {
            origin,
            track_lines,
            stack: Vec::new(),
            anchors: std::collections::HashMap::new(),
            budget: ALIAS_EXPANSION_BUDGET,
            use_fast: true,
        }
    }

    fn run(&mut self, src: &str) -> Result<Vec<Doc>, YamlError> {
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        check_printable(src, self.origin)?;
        if self.use_fast
            && let Ok(docs) = fast::parse(src, self.track_lines)
        {
            return Ok(docs);
        }
        let mut parser = Parser::new_from_str(src);
        let mut docs = Vec::new();
        let mut doc_start = 1usize;
        let mut current: Option<(Value, Option<LineTree>)> = None;
        loop {
            let (ev, span) = match parser.next_event() {
                None => break,
                Some(Ok(x)) => x,
                Some(Err(e)) => return Err(YamlError::from_scan(self.origin, &e)),
            };
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    doc_start = span.start.line().max(1);
                    current = None;
                    self.anchors.clear();
                    self.budget = ALIAS_EXPANSION_BUDGET;
                }
                Event::DocumentEnd => {
                    let (value, lines) = current.take().unwrap_or((Value::Null, None));
                    docs.push(Doc {
                        value,
                        lines,
                        start_line: doc_start,
                    });
                }
                Event::Alias(id) => {
                    let (v, l, n) = match self.anchors.get(&id) {
                        Some(x) => x,
                        None => {
                            return Err(YamlError::at(self.origin, &span, "unknown alias"));
                        }
                    };
                    if *n > self.budget {
                        return Err(YamlError::at(
                            self.origin,
                            &span,
                            format!(
                                "aliases expand to more than {ALIAS_EXPANSION_BUDGET} nodes in \
                                 this document (an alias bomb?); write the data out instead"
                            ),
                        ));
                    }
                    self.budget -= n;
                    let line = span.start.line();
                    let lines = if self.track_lines {
                        Some(l.clone().unwrap_or(LineTree::Leaf(line)))
                    } else {
                        None
                    };
                    self.push_node(v.clone(), lines, span, &mut current)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    // Key position?
                    if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                        let k = self.key_from_scalar(&text, style, tag.as_deref(), &span)?;
                        if anchor != 0 {
                            self.anchors
                                .insert(anchor, (Value::String(k.key.clone()), None, 1));
                        }
                        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                            *key = Some(k);
                        }
                        continue;
                    }
                    let v = resolve_scalar(&text, style, tag.as_deref())
                        .map_err(|m| YamlError::at(self.origin, &span, m))?;
                    let lines = self.track_lines.then(|| LineTree::Leaf(span.start.line()));
                    if anchor != 0 {
                        self.anchors.insert(anchor, (v.clone(), lines.clone(), 1));
                    }
                    self.push_node(v, lines, span, &mut current)?;
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                        return Err(YamlError::at(
                            self.origin,
                            &span,
                            "a list or map used as a map key is not supported; keys must be \
                             scalars",
                        ));
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(YamlError::at(
                            self.origin,
                            &span,
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    let line = span.start.line();
                    let frame = if matches!(ev, Event::SequenceStart(..)) {
                        Frame::Seq {
                            items: Vec::new(),
                            lines: self.track_lines.then(Vec::new),
                            anchor,
                            line,
                        }
                    } else {
                        Frame::Map {
                            map: Map::new(),
                            lines: self.track_lines.then(IndexMap::new),
                            key: None,
                            anchor,
                            line,
                        }
                    };
                    self.stack.push(frame);
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        return Err(YamlError::at(self.origin, &span, "unbalanced collection"));
                    };
                    let (v, lines, anchor) = match frame {
                        Frame::Seq {
                            items,
                            lines,
                            anchor,
                            line,
                        } => (
                            Value::Array(items),
                            lines.map(|items| LineTree::Seq { line, items }),
                            anchor,
                        ),
                        Frame::Map {
                            map,
                            lines,
                            anchor,
                            line,
                            ..
                        } => (
                            Value::Object(map),
                            lines.map(|entries| LineTree::Map { line, entries }),
                            anchor,
                        ),
                    };
                    if anchor != 0 {
                        let n = count_nodes(&v);
                        self.anchors.insert(anchor, (v.clone(), lines.clone(), n));
                    }
                    self.push_node(v, lines, span, &mut current)?;
                }
            }
        }
        if let Some((value, lines)) = current.take() {
            docs.push(Doc {
                value,
                lines,
                start_line: doc_start,
            });
        }
        Ok(docs)
    }

    fn key_from_scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: &Span,
    ) -> Result<PendingKey, YamlError> {
        let merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
        let key = if merge {
            "<<".to_string()
        } else {
            let v = resolve_scalar(text, style, tag)
                .map_err(|m| YamlError::at(self.origin, span, m))?;
            key_string(v).ok_or_else(|| {
                YamlError::at(
                    self.origin,
                    span,
                    "a null map key (`~`, `null` or an empty key) is not supported; quote the \
                     key if you meant the string",
                )
            })?
        };
        Ok(PendingKey {
            key,
            line: span.start.line(),
            merge,
            span: *span,
        })
    }

    /// Attach a completed node to its parent (or make it the document root).
    fn push_node(
        &mut self,
        v: Value,
        lines: Option<LineTree>,
        span: Span,
        current: &mut Option<(Value, Option<LineTree>)>,
    ) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                *current = Some((v, lines));
                Ok(())
            }
            Some(Frame::Seq {
                items, lines: ls, ..
            }) => {
                items.push(v);
                if let (Some(ls), Some(l)) = (ls.as_mut(), lines) {
                    ls.push(l);
                }
                Ok(())
            }
            Some(Frame::Map {
                map,
                lines: ls,
                key,
                ..
            }) => {
                let Some(k) = key.take() else {
                    // A collection or alias in key position.
                    return match v {
                        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                            let ks = key_string(v).ok_or_else(|| {
                                YamlError::at(self.origin, &span, "a null map key is not supported")
                            })?;
                            *key = Some(PendingKey {
                                key: ks,
                                line: span.start.line(),
                                merge: false,
                                span,
                            });
                            Ok(())
                        }
                        _ => Err(YamlError::at(
                            self.origin,
                            &span,
                            "a list or map used as a map key is not supported; keys must be \
                             scalars",
                        )),
                    };
                };
                if k.merge {
                    return merge_into(map, ls.as_mut(), v, lines)
                        .map_err(|m| YamlError::at(self.origin, &k.span, m));
                }
                if let Some(ls) = ls.as_mut() {
                    // Every node under a key is attributed to the key's line.
                    let l = match lines {
                        Some(LineTree::Leaf(_)) | None => LineTree::Leaf(k.line),
                        Some(LineTree::Map { entries, .. }) => LineTree::Map {
                            line: k.line,
                            entries,
                        },
                        Some(LineTree::Seq { items, .. }) => LineTree::Seq {
                            line: k.line,
                            items,
                        },
                    };
                    ls.insert(k.key.clone(), l);
                }
                map.insert(k.key, v);
                Ok(())
            }
        }
    }
}

/// Apply a `<<` merge: keys already present win.
fn merge_into(
    map: &mut Map<String, Value>,
    mut lines: Option<&mut IndexMap<String, LineTree>>,
    v: Value,
    vlines: Option<LineTree>,
) -> Result<(), String> {
    const MSG: &str = "a merge key `<<` needs a map or a list of maps as its value";
    match v {
        Value::Object(src) => {
            let mut src_lines = match vlines {
                Some(LineTree::Map { entries, .. }) => Some(entries),
                _ => None,
            };
            for (k, val) in src {
                if !map.contains_key(&k) {
                    if let Some(ls) = lines.as_deref_mut() {
                        let l = src_lines
                            .as_mut()
                            .and_then(|s| s.shift_remove(&k))
                            .unwrap_or(LineTree::Leaf(0));
                        ls.insert(k.clone(), l);
                    }
                    map.insert(k, val);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let mut item_lines = match vlines {
                Some(LineTree::Seq { items, .. }) => items.into_iter().map(Some).collect(),
                _ => Vec::new(),
            };
            for (i, item) in items.into_iter().enumerate() {
                if !item.is_object() {
                    return Err(MSG.to_string());
                }
                let il = item_lines.get_mut(i).and_then(Option::take);
                merge_into(map, lines.as_deref_mut(), item, il)?;
            }
            Ok(())
        }
        _ => Err(MSG.to_string()),
    }
}

/// Turn a resolved key into the JSON key string, as sigs.k8s.io/yaml does.
fn key_string(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i128),
            _ => n.to_string(),
        }),
        other => Some(other.to_string()),
    }
}

fn core_tag(tag: Option<&Tag>) -> Option<&str> {
    let t = tag?;
    if t.is_yaml_core_schema() {
        Some(t.suffix.as_str())
    } else {
        // The non-specific tag `!` and application tags (`!foo`): go-yaml does not resolve
        // the scalar, so it stays a string.
        Some("str")
    }
}

fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    match core_tag(tag) {
        Some("str") | Some("binary") => return Ok(Value::String(text.to_string())),
        Some("null") => return Ok(Value::Null),
        Some("bool") => {
            return match resolve_plain(text) {
                Ok(v @ Value::Bool(_)) => Ok(v),
                _ => Err(format!("`{text}` is tagged !!bool but is not a boolean")),
            };
        }
        Some("int") => {
            return match resolve_plain(text) {
                Ok(v @ Value::Number(_)) if !is_float_value(&v) => Ok(v),
                _ => Err(format!("`{text}` is tagged !!int but is not an integer")),
            };
        }
        Some("float") => {
            return match resolve_plain(text) {
                Ok(Value::Number(n)) => Ok(n
                    .as_f64()
                    .and_then(Number::from_f64)
                    .map_or(Value::Number(n), Value::Number)),
                Ok(_) | Err(_) => Err(format!("`{text}` is tagged !!float but is not a number")),
            };
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    resolve_plain(text)
}

fn is_float_value(v: &Value) -> bool {
    matches!(v, Value::Number(n) if n.is_f64())
}

/// Resolve a plain scalar the way Helm (sigs.k8s.io/yaml over go-yaml v2) does.
///
/// Errors only for infinities and NaN, which JSON cannot represent.
pub fn resolve_plain(s: &str) -> Result<Value, String> {
    let Some(&first) = s.as_bytes().first() else {
        return Ok(Value::Null);
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => Ok(match s {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                Value::Bool(true)
            }
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" => Value::Bool(false),
            "~" | "null" | "Null" | "NULL" => Value::Null,
            _ => Value::String(s.to_string()),
        }),
        b'.' => {
            if matches!(s, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN") {
                return Err(non_finite(s));
            }
            // go-yaml: strconv.ParseFloat on the text, which allows `_` between digits.
            let f = if s.contains('_') {
                go_underscores_ok(s)
                    .then(|| parse_go_float(&s.replace('_', "")))
                    .flatten()
            } else {
                parse_go_float(s)
            };
            Ok(f.map_or_else(|| Value::String(s.to_string()), float_value))
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if matches!(s, "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF") {
                return Err(non_finite(s));
            }
            Ok(resolve_number(s).unwrap_or_else(|| Value::String(s.to_string())))
        }
        _ => Ok(Value::String(s.to_string())),
    }
}

/// Go's `underscoreOK` for base-10 numbers: each `_` sits between two digits.
fn go_underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let b = b
        .strip_prefix(b"-")
        .or_else(|| b.strip_prefix(b"+"))
        .unwrap_or(b);
    // 'd' digit, '_' underscore, '^' start, '!' other
    let mut saw = b'^';
    for &c in b {
        if c.is_ascii_digit() {
            saw = b'd';
        } else if c == b'_' {
            if saw != b'd' {
                return false;
            }
            saw = b'_';
        } else if saw == b'_' {
            return false;
        } else {
            saw = b'!';
        }
    }
    saw != b'_'
}

fn non_finite(s: &str) -> String {
    format!(
        "`{s}` is an infinite or NaN float, which values (JSON) cannot hold; quote it if you \
         meant the string"
    )
}

fn float_value(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// go-yaml v2 number resolution: underscores removed, then Go's `ParseInt(s, 0, 64)`,
/// `ParseUint(s, 0, 64)`, then a float if it matches
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, then `-0b...`.
fn resolve_number(s: &str) -> Option<Value> {
    let plain: Cow<'_, str> = if s.contains('_') {
        Cow::Owned(s.replace('_', ""))
    } else {
        Cow::Borrowed(s)
    };
    let p = plain.as_ref();
    if let Some(v) = go_parse_int(p) {
        return Some(v);
    }
    // parse_go_float checks the go-yaml float pattern itself.
    parse_go_float(p).map(float_value)
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let mag = u128::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u128 + 1 {
            let v = -(mag as i128);
            return Some(Value::from(v as i64));
        }
        None
    } else if mag <= u64::MAX as u128 {
        Some(Value::from(mag as u64))
    } else {
        None
    }
}

fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if int_digits == 0 {
        // must be `\.[0-9]+`
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let s2 = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == s2 {
                return false;
            }
        } else {
            return false;
        }
    } else if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s3 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s3 {
            return false;
        }
    }
    i == b.len()
}

/// A subset of Go's `strconv.ParseFloat` that covers what go-yaml feeds it: decimal floats
/// with optional exponent. Infinite results (overflow) are rejected like Go's range error.
fn parse_go_float(s: &str) -> Option<f64> {
    if !is_yaml_style_float(s) {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

// ---------------------------------------------------------------------------------------------
// Fast path
// ---------------------------------------------------------------------------------------------

/// A line-based parser for the block-YAML subset that templates and values files use almost
/// always (block maps and lists, plain and single-line quoted scalars, `|` block scalars,
/// comments, `---`). On anything else (anchors, tags, flow collections with content, folded or
/// multi-line scalars, directives, errors) it gives up and the full saphyr-based parser runs, so
/// results never depend on which parser ran: tests and a fuzz target check that both agree.
mod fast {
    use super::{Doc, LineTree, key_string, resolve_plain};
    use indexmap::IndexMap;
    use serde_json::{Map, Value};

    /// The input is outside the fast subset (or invalid): use the full parser.
    pub(super) struct Fallback;

    type R<T> = Result<T, Fallback>;

    #[derive(Clone, Copy)]
    struct Line<'a> {
        /// Index into `lines` (0-based line number).
        idx: usize,
        indent: usize,
        /// The line after its indentation.
        text: &'a str,
    }

    struct P<'a> {
        lines: Vec<&'a str>,
        pos: usize,
        /// The rest of a `- ` line, seen as a line of its own at the column after the dash.
        virt: Option<Line<'a>>,
        track: bool,
        /// Nesting depth; deep documents go to the full parser (which bounds it).
        depth: usize,
    }

    pub(super) fn parse(src: &str, track: bool) -> R<Vec<Doc>> {
        if src.contains('\t') || src.starts_with('%') || src.contains("\n%") {
            return Err(Fallback);
        }
        // A stream without a final line break: the full parser's handling of a last blank or
        // comment line, and of block scalars running to the end, is its own.
        if !src.is_empty() && !src.ends_with('\n') {
            let last = src
                .rsplit('\n')
                .next()
                .unwrap_or("")
                .trim_start_matches(' ');
            if last.is_empty() || last.starts_with('#') || src.contains('|') {
                return Err(Fallback);
            }
        }
        // Byte-order marks inside the stream, and characters some readers take as line breaks.
        if ['\u{feff}', '\u{85}', '\u{2028}', '\u{2029}']
            .iter()
            .any(|c| src.contains(*c))
        {
            return Err(Fallback);
        }
        let mut p = P {
            lines: src.split('\n').collect(),
            pos: 0,
            virt: None,
            track,
            depth: 0,
        };
        // The line the full parser reports for the end of the stream.
        let eof_line = p.lines.len();
        if src.ends_with('\n') {
            p.lines.pop(); // not a line: what follows the last line break
        }
        // Lines end with `\n` (or `\r\n`); a `\r` elsewhere is not ours to handle.
        for l in &mut p.lines {
            if let Some(s) = l.strip_suffix('\r') {
                *l = s;
            }
            if l.contains('\r') {
                return Err(Fallback);
            }
        }
        let mut docs = Vec::new();
        while let Some(l) = p.peek() {
            let start_line = l.idx + 1;
            if is_marker(&l) {
                if !l.text.starts_with("---") {
                    return Err(Fallback); // `...`
                }
                let rest = l.text[3..].trim_start_matches(' ');
                if !rest.is_empty() && !rest.starts_with('#') {
                    return Err(Fallback); // content on the `---` line
                }
                p.advance(l);
                match p.peek() {
                    // (The full parser's line for an empty last document depends on how the
                    // stream ends; let it decide when there is no final line break.)
                    None if !src.ends_with('\n') => return Err(Fallback),
                    None => {
                        docs.push(Doc {
                            value: Value::Null,
                            lines: track.then_some(LineTree::Leaf(eof_line)),
                            start_line,
                        });
                        break;
                    }
                    Some(n) if is_marker(&n) => {
                        docs.push(Doc {
                            value: Value::Null,
                            lines: track.then_some(LineTree::Leaf(n.idx + 1)),
                            start_line,
                        });
                        continue;
                    }
                    Some(_) => {}
                }
            }
            if l.text.starts_with('|') {
                return Err(Fallback); // a top-level block scalar (its document starts later)
            }
            let (value, lines) = p.node(-1)?;
            match p.peek() {
                None => {}
                Some(n) if is_marker(&n) && n.text.starts_with("---") => {}
                Some(_) => return Err(Fallback),
            }
            docs.push(Doc {
                value,
                lines,
                start_line,
            });
        }
        Ok(docs)
    }

    fn is_marker(l: &Line<'_>) -> bool {
        l.indent == 0
            && (l.text.starts_with("---") || l.text.starts_with("..."))
            && matches!(l.text.as_bytes().get(3), None | Some(b' '))
    }

    fn is_dash(text: &str) -> bool {
        text == "-" || text.starts_with("- ")
    }

    /// Cut a trailing ` #comment` and trailing spaces from a plain scalar's text.
    fn cut_comment(s: &str) -> &str {
        let b = s.as_bytes();
        let mut end = s.len();
        for i in 0..b.len() {
            if b[i] == b'#' && (i == 0 || b[i - 1] == b' ') {
                end = i;
                break;
            }
        }
        s[..end].trim_end_matches(' ')
    }

    /// Only spaces and an optional comment.
    fn is_blank_rest(s: &str) -> bool {
        let t = s.trim_start_matches(' ');
        t.is_empty() || (t.starts_with('#') && t.len() < s.len())
    }

    impl<'a> P<'a> {
        fn peek(&mut self) -> Option<Line<'a>> {
            if let Some(v) = self.virt {
                return Some(v);
            }
            while self.pos < self.lines.len() {
                let raw = self.lines[self.pos];
                let text = raw.trim_start_matches(' ');
                if text.is_empty() || text.starts_with('#') {
                    self.pos += 1;
                    continue;
                }
                return Some(Line {
                    idx: self.pos,
                    indent: raw.len() - text.len(),
                    text,
                });
            }
            None
        }

        fn advance(&mut self, l: Line<'a>) {
            if self.virt.take().is_none() {
                self.pos = l.idx + 1;
            }
        }

        /// The full parser's tree for a scalar or an empty flow collection.
        fn tree_for(&self, v: &Value, line: usize) -> Option<LineTree> {
            self.track.then(|| match v {
                Value::Array(_) => LineTree::Seq {
                    line,
                    items: Vec::new(),
                },
                Value::Object(_) => LineTree::Map {
                    line,
                    entries: IndexMap::new(),
                },
                _ => LineTree::Leaf(line),
            })
        }

        /// A node whose first line is indented more than `parent`.
        fn node(&mut self, parent: isize) -> R<(Value, Option<LineTree>)> {
            self.depth += 1;
            let r = self.node_inner(parent);
            self.depth -= 1;
            r
        }

        fn node_inner(&mut self, parent: isize) -> R<(Value, Option<LineTree>)> {
            if self.depth > 64 {
                return Err(Fallback);
            }
            let Some(l) = self.peek() else {
                return Err(Fallback);
            };
            if is_marker(&l) || l.indent as isize <= parent {
                return Err(Fallback);
            }
            if is_dash(l.text) {
                return self.seq(l.indent);
            }
            if self.key(l.text)?.is_some() {
                return self.map(l.indent);
            }
            // A scalar on a line of its own.
            self.advance(l);
            let (v, line) = self.inline_value(l.text, parent, l.idx + 1)?;
            let t = self.tree_for(&v, line);
            Ok((v, t))
        }

        /// Split `key: rest` (or `key:`). `None` when the line is not a mapping entry.
        fn key(&self, text: &'a str) -> R<Option<(String, &'a str)>> {
            let first = text.as_bytes()[0];
            let (key, after) = match first {
                b'"' => {
                    let (k, after) = double_quoted(text)?;
                    (Some(k), Some(after.trim_start_matches(' ')))
                }
                b'\'' => {
                    let (k, after) = single_quoted(text)?;
                    (Some(k), Some(after.trim_start_matches(' ')))
                }
                b'-' if text.len() > 1 && text.as_bytes()[1] != b' ' => plain_key(text)?,
                b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*'
                | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' => return Ok(None),
                _ => plain_key(text)?,
            };
            let Some((key, after)) = key.zip(after) else {
                return Ok(None);
            };
            match after.strip_prefix(':') {
                Some(rest) if rest.is_empty() || rest.starts_with(' ') => Ok(Some((key, rest))),
                _ if first == b'"' || first == b'\'' => Ok(None),
                _ => Err(Fallback),
            }
        }

        fn map(&mut self, n: usize) -> R<(Value, Option<LineTree>)> {
            let mut map = Map::new();
            let mut entries = self.track.then(IndexMap::new);
            let first_line = self.peek().map_or(0, |l| l.idx + 1);
            while let Some(l) = self.peek() {
                if is_marker(&l) || l.indent < n || is_dash(l.text) && l.indent == n {
                    break;
                }
                if l.indent > n {
                    return Err(Fallback);
                }
                let Some((key, rest)) = self.key(l.text)? else {
                    return Err(Fallback);
                };
                let key_line = l.idx + 1;
                self.advance(l);
                let (v, lt) = self.value_after_key(rest, n, key_line)?;
                if let (Some(e), Some(lt)) = (entries.as_mut(), lt) {
                    e.insert(key.clone(), lt);
                }
                map.insert(key, v);
            }
            let lines = entries.map(|entries| LineTree::Map {
                line: first_line,
                entries,
            });
            Ok((Value::Object(map), lines))
        }

        /// The value after `key:` on a line indented `n`. Line trees of nested nodes get the
        /// key's line, as the full parser's do.
        fn value_after_key(
            &mut self,
            rest: &'a str,
            n: usize,
            key_line: usize,
        ) -> R<(Value, Option<LineTree>)> {
            if is_blank_rest(rest) {
                let next = self.peek();
                let (v, lt) = match next {
                    Some(nl) if !is_marker(&nl) && nl.indent > n => self.node(n as isize)?,
                    Some(nl) if !is_marker(&nl) && nl.indent == n && is_dash(nl.text) => {
                        self.seq(n)?
                    }
                    _ => (Value::Null, None),
                };
                let lt = self.track.then(|| match lt {
                    Some(LineTree::Map { entries, .. }) => LineTree::Map {
                        line: key_line,
                        entries,
                    },
                    Some(LineTree::Seq { items, .. }) => LineTree::Seq {
                        line: key_line,
                        items,
                    },
                    _ => LineTree::Leaf(key_line),
                });
                return Ok((v, lt));
            }
            let (v, _) = self.inline_value(rest.trim_start_matches(' '), n as isize, key_line)?;
            let t = self.tree_for(&v, key_line);
            Ok((v, t))
        }

        /// A scalar starting on the current (already consumed) line `line`; `parent` is the
        /// indentation a continuation line would have to exceed. Returns the value and the
        /// line the full parser reports for it (a block scalar's first content line).
        fn inline_value(&mut self, text: &'a str, parent: isize, line: usize) -> R<(Value, usize)> {
            let v = match text.as_bytes()[0] {
                b'|' => return self.literal(text, parent),
                b'"' => {
                    let (s, after) = double_quoted(text)?;
                    if !is_blank_rest(after) {
                        return Err(Fallback);
                    }
                    Value::String(s)
                }
                b'\'' => {
                    let (s, after) = single_quoted(text)?;
                    if !is_blank_rest(after) {
                        return Err(Fallback);
                    }
                    Value::String(s)
                }
                b'[' | b'{' => match cut_comment(text) {
                    "[]" => Value::Array(Vec::new()),
                    "{}" => Value::Object(Map::new()),
                    _ => return Err(Fallback),
                },
                b'>' | b'&' | b'*' | b'!' | b'%' | b'@' | b'`' | b'#' | b',' | b']' | b'}' => {
                    return Err(Fallback);
                }
                b'-' | b'?' | b':' if text.len() == 1 || text.as_bytes()[1] == b' ' => {
                    return Err(Fallback);
                }
                _ => {
                    let s = cut_comment(text);
                    if s.contains(": ") || s.ends_with(':') || s.contains(" #") {
                        return Err(Fallback);
                    }
                    resolve_plain(s).map_err(|_| Fallback)?
                }
            };
            // A more indented line after a scalar would continue it (or be an error).
            if let Some(nl) = self.peek()
                && !is_marker(&nl)
                && nl.indent as isize > parent
            {
                return Err(Fallback);
            }
            Ok((v, line))
        }

        fn seq(&mut self, n: usize) -> R<(Value, Option<LineTree>)> {
            let mut items = Vec::new();
            let mut trees = self.track.then(Vec::new);
            let first_line = self.peek().map_or(0, |l| l.idx + 1);
            while let Some(l) = self.peek() {
                if is_marker(&l) || l.indent < n || !is_dash(l.text) {
                    break;
                }
                if l.indent > n {
                    return Err(Fallback);
                }
                let after = &l.text[1..];
                let rest = after.trim_start_matches(' ');
                if rest.is_empty() || rest.starts_with('#') {
                    return Err(Fallback); // an item on the next lines, or a null item
                }
                let col = l.indent + 1 + (after.len() - rest.len());
                self.virt = Some(Line {
                    idx: l.idx,
                    indent: col,
                    text: rest,
                });
                self.pos = l.idx + 1;
                let (v, lt) = self.node(n as isize)?;
                self.virt = None;
                if let (Some(t), Some(lt)) = (trees.as_mut(), lt) {
                    t.push(lt);
                }
                items.push(v);
            }
            let lines = trees.map(|items| LineTree::Seq {
                line: first_line,
                items,
            });
            Ok((Value::Array(items), lines))
        }

        /// A `|`, `|-` or `|+` block scalar whose header is `text`; content lines are indented
        /// more than `parent`.
        fn literal(&mut self, text: &str, parent: isize) -> R<(Value, usize)> {
            let chomp = match text.trim_end_matches(' ') {
                "|" => 'c',
                "|-" => 's',
                "|+" => 'k',
                _ => return Err(Fallback),
            };
            self.virt = None;
            let mut i = self.pos;
            let mut ci: Option<usize> = None;
            let mut body: Vec<(usize, &str)> = Vec::new(); // (spaces, raw line)
            while i < self.lines.len() {
                let raw = self.lines[i];
                let text = raw.trim_start_matches(' ');
                let sp = raw.len() - text.len();
                if text.is_empty() {
                    body.push((sp, raw));
                    i += 1;
                    continue;
                }
                if sp == 0
                    && (text.starts_with("---") || text.starts_with("..."))
                    && matches!(text.as_bytes().get(3), None | Some(b' '))
                {
                    return Err(Fallback); // a document marker ends the scalar
                }
                match ci {
                    None => {
                        if sp as isize <= parent {
                            break;
                        }
                        if body.iter().any(|(s, _)| *s > sp) {
                            return Err(Fallback);
                        }
                        ci = Some(sp);
                    }
                    Some(c) if sp < c => break,
                    Some(_) => {}
                }
                body.push((sp, raw));
                i += 1;
            }
            let Some(ci) = ci else {
                return Err(Fallback); // no content
            };
            let first_content = self.pos
                + body
                    .iter()
                    .position(|(sp, raw)| raw.len() > *sp)
                    .unwrap_or(0)
                + 1;
            let last = body
                .iter()
                .rposition(|(_, raw)| raw.len() > ci) // text, or spaces beyond the content indentation
                .unwrap_or(0);
            let trailing = &body[last + 1..];
            if chomp == 'k' && trailing.iter().any(|(sp, _)| *sp > ci) {
                return Err(Fallback);
            }
            let mut out = String::new();
            for (j, (_, raw)) in body[..=last].iter().enumerate() {
                if j > 0 {
                    out.push('\n');
                }
                if raw.len() > ci {
                    out.push_str(&raw[ci..]);
                }
            }
            match chomp {
                'c' => out.push('\n'),
                'k' => {
                    out.push('\n');
                    for _ in trailing {
                        out.push('\n');
                    }
                }
                _ => {}
            }
            self.pos = i;
            Ok((Value::String(out), first_content))
        }
    }

    /// A plain key up to `: ` (or a final `:`): (key, text from the colon); (None, None) when
    /// the line has no such colon.
    fn plain_key(text: &str) -> R<(Option<String>, Option<&str>)> {
        let b = text.as_bytes();
        let mut colon = None;
        for i in 0..b.len() {
            if b[i] == b'#' && i > 0 && b[i - 1] == b' ' {
                return Ok((None, None));
            }
            if b[i] == b':' && matches!(b.get(i + 1), None | Some(b' ')) {
                colon = Some(i);
                break;
            }
        }
        let Some(c) = colon else {
            return Ok((None, None));
        };
        let k = text[..c].trim_end_matches(' ');
        if k == "<<" || k.len() > 1000 {
            return Err(Fallback);
        }
        let v = resolve_plain(k).map_err(|_| Fallback)?;
        Ok((Some(key_string(v).ok_or(Fallback)?), Some(&text[c..])))
    }

    /// A double-quoted scalar on one line: (value, text after the closing quote).
    fn double_quoted(text: &str) -> R<(String, &str)> {
        let mut out = String::new();
        let mut it = text.char_indices().skip(1);
        while let Some((i, c)) = it.next() {
            match c {
                '"' => return Ok((out, &text[i + 1..])),
                '\\' => {
                    let Some((_, e)) = it.next() else {
                        return Err(Fallback);
                    };
                    let ch = match e {
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        't' => '\t',
                        'n' => '\n',
                        'v' => '\u{b}',
                        'f' => '\u{c}',
                        'r' => '\r',
                        'e' => '\u{1b}',
                        ' ' => ' ',
                        '"' => '"',
                        '/' => '/',
                        '\\' => '\\',
                        'N' => '\u{85}',
                        '_' => '\u{a0}',
                        'L' => '\u{2028}',
                        'P' => '\u{2029}',
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let mut code = 0u32;
                            for _ in 0..n {
                                let (_, h) = it.next().ok_or(Fallback)?;
                                code = code * 16 + h.to_digit(16).ok_or(Fallback)?;
                            }
                            char::from_u32(code).ok_or(Fallback)?
                        }
                        _ => return Err(Fallback),
                    };
                    out.push(ch);
                }
                c => out.push(c),
            }
        }
        Err(Fallback) // continues on the next line
    }

    /// A single-quoted scalar on one line.
    fn single_quoted(text: &str) -> R<(String, &str)> {
        let mut out = String::new();
        let b = text.as_bytes();
        let mut i = 1;
        let mut start = 1;
        while i < b.len() {
            if b[i] == b'\'' {
                out.push_str(&text[start..i]);
                if b.get(i + 1) == Some(&b'\'') {
                    out.push('\'');
                    i += 2;
                    start = i;
                    continue;
                }
                return Ok((out, &text[i + 1..]));
            }
            i += 1;
        }
        Err(Fallback)
    }
}

// ---------------------------------------------------------------------------------------------
// Emitter
// ---------------------------------------------------------------------------------------------

/// Serialize a value as block-style YAML in Helm's `toYaml` layout: 2-space indentation, list
/// items at the same indentation as their key (`key:\n- a`), `{}` and `[]` for empty
/// collections, multi-line strings as literal block scalars where that is exact. Strings that a
/// YAML 1.1 or 1.2 reader could misread are double-quoted. The output ends with a newline
/// (Helm's `toYaml` template function trims it; callers implementing it should too).
pub fn to_yaml(value: &Value) -> String {
    let mut e = Emitter {
        out: String::with_capacity(estimate(value)),
        annotate: None,
        path: Vec::new(),
    };
    e.emit_root(value);
    e.out
}

/// [`to_yaml`] with a trailing comment on every leaf (scalar or empty collection): `annotate`
/// gets the leaf's path and returns the comment text (e.g. where the value came from).
pub fn to_yaml_annotated(value: &Value, annotate: &dyn Fn(&[PathSeg]) -> Option<String>) -> String {
    let mut e = Emitter {
        out: String::with_capacity(estimate(value) * 2),
        annotate: Some(annotate),
        path: Vec::new(),
    };
    e.emit_root(value);
    e.out
}

fn estimate(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.len() * 24,
        Value::Array(a) => a.len() * 16,
        Value::String(s) => s.len() + 8,
        _ => 16,
    }
}

fn push_indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// Scalars and empty collections written on the current line.
fn emit_inline_scalar(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            // serde_json writes floats with ryu (always with `.`, or an exponent), so a float
            // reads back as a float and an integer as an integer.
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_flow_string(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_flow_string(out: &mut String, s: &str) {
    if needs_quotes(s) {
        write_double_quoted(out, s);
    } else {
        out.push_str(s);
    }
}

/// Implicit keys must stay under 1024 characters; longer keys use the explicit `? ` form.
const MAX_IMPLICIT_KEY: usize = 1000;

type Annotator<'a> = &'a dyn Fn(&[PathSeg]) -> Option<String>;

struct Emitter<'a> {
    out: String,
    annotate: Option<Annotator<'a>>,
    /// Maintained only when annotating.
    path: Vec<PathSeg>,
}

impl Emitter<'_> {
    fn emit_root(&mut self, value: &Value) {
        match value {
            Value::Object(m) if !m.is_empty() => self.emit_map(m, 0),
            Value::Array(a) if !a.is_empty() => self.emit_seq(a, 0),
            Value::String(s) => {
                // At the top level a block scalar would need care with document markers; quote.
                if needs_quotes(s) || s.contains('\n') {
                    write_double_quoted(&mut self.out, s);
                } else {
                    self.out.push_str(s);
                }
                self.end_leaf();
            }
            other => {
                emit_inline_scalar(&mut self.out, other);
                self.end_leaf();
            }
        }
    }

    /// End a leaf's line, with its annotation as a comment.
    fn end_leaf(&mut self) {
        if let Some(f) = self.annotate
            && let Some(c) = f(&self.path)
        {
            self.out.push_str("  # ");
            for ch in c.chars() {
                match ch {
                    '\n' => self.out.push_str("\\n"),
                    '\r' => self.out.push_str("\\r"),
                    c => self.out.push(c),
                }
            }
        }
        self.out.push('\n');
    }

    fn push_seg(&mut self, seg: impl FnOnce() -> PathSeg) {
        if self.annotate.is_some() {
            self.path.push(seg());
        }
    }

    fn pop_seg(&mut self) {
        if self.annotate.is_some() {
            self.path.pop();
        }
    }

    fn emit_map(&mut self, m: &Map<String, Value>, indent: usize) {
        let mut first = true;
        for (k, v) in m {
            if !first {
                push_indent(&mut self.out, indent);
            }
            first = false;
            let start = self.out.len();
            write_flow_string(&mut self.out, k);
            // An implicit key is limited to 1024 characters *as written* (escapes included).
            if self.out.len() - start > MAX_IMPLICIT_KEY
                && self.out[start..].chars().count() > MAX_IMPLICIT_KEY
            {
                self.out.insert_str(start, "? ");
                self.out.push('\n');
                push_indent(&mut self.out, indent);
            }
            self.out.push(':');
            self.push_seg(|| PathSeg::Key(k.clone()));
            self.emit_value_after_key(v, indent);
            self.pop_seg();
        }
    }

    /// After `key:` — writes ` scalar\n`, or a nested block.
    fn emit_value_after_key(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.out.push('\n');
                push_indent(&mut self.out, indent + 2);
                self.emit_map(m, indent + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                self.out.push('\n');
                push_indent(&mut self.out, indent);
                self.emit_seq(a, indent);
            }
            Value::String(s) if literal_ok(s) => {
                self.out.push(' ');
                self.emit_literal(s, indent + 2);
            }
            _ => {
                self.out.push(' ');
                emit_inline_scalar(&mut self.out, v);
                self.end_leaf();
            }
        }
    }

    fn emit_seq(&mut self, a: &[Value], indent: usize) {
        let mut first = true;
        for (i, v) in a.iter().enumerate() {
            if !first {
                push_indent(&mut self.out, indent);
            }
            first = false;
            self.out.push_str("- ");
            self.push_seg(|| PathSeg::Index(i));
            match v {
                Value::Object(m) if !m.is_empty() => self.emit_map(m, indent + 2),
                Value::Array(inner) if !inner.is_empty() => self.emit_seq(inner, indent + 2),
                Value::String(s) if literal_ok(s) => self.emit_literal(s, indent + 2),
                _ => {
                    emit_inline_scalar(&mut self.out, v);
                    self.end_leaf();
                }
            }
            self.pop_seg();
        }
    }

    fn emit_literal(&mut self, s: &str, content_indent: usize) {
        let (body, chomp) = match s.strip_suffix('\n') {
            Some(b) => (b, "|"),
            None => (s, "|-"),
        };
        self.out.push_str(chomp);
        self.end_leaf();
        for line in body.split('\n') {
            if !line.is_empty() {
                push_indent(&mut self.out, content_indent);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }
}

/// Whether a multi-line string can be written exactly as a literal block scalar with
/// auto-detected indentation.
fn literal_ok(s: &str) -> bool {
    if !s.contains('\n') {
        return false;
    }
    let b = s.as_bytes();
    if b[0] == b' ' || b[0] == b'\n' || b[0] == b'\t' {
        return false;
    }
    // At most one trailing newline (`|` or `|-`); `|+` is avoided.
    if s.ends_with("\n\n") {
        return false;
    }
    for line in s.split('\n') {
        if line.ends_with(' ') || line.ends_with('\t') {
            return false;
        }
    }
    !s.chars()
        .any(|c| (is_non_printable(c) && c != '\n') || c == '\t' || c == '\r')
}

fn is_non_printable(c: char) -> bool {
    match c {
        '\t' | '\n' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}' => true,
        '\u{80}'..='\u{9f}' => true,
        '\u{2028}' | '\u{2029}' | '\u{feff}' => true,
        '\u{fffe}' | '\u{ffff}' => true,
        _ => false,
    }
}

/// Whether a string must be quoted to read back as the same string with YAML 1.1 and 1.2
/// readers (and Helm/kubectl in particular).
pub fn needs_quotes(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return true;
    };
    let last = b[b.len() - 1];
    if matches!(first, b' ' | b'\t') || matches!(last, b' ' | b'\t' | b':') {
        return true;
    }
    // Leading indicator characters.
    match first {
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => return true,
        b'.' if s.starts_with("...") => return true,
        // `-x` is a plain string, but `-`, `- x`, `---`, `-1`, `-.inf` are not.
        b'-' if b.len() == 1 || matches!(b[1], b' ' | b'\t' | b'-' | b'.' | b'0'..=b'9') => {
            return true;
        }
        _ => {}
    }
    for (i, c) in s.char_indices() {
        match c {
            ':' if matches!(b.get(i + 1), Some(b' ' | b'\t')) => return true,
            '#' if i > 0 && matches!(b[i - 1], b' ' | b'\t') => return true,
            '\n' | '\r' | '\t' => return true,
            c if is_non_printable(c) => return true,
            _ => {}
        }
    }
    looks_like_non_string(s)
}

/// YAML 1.1 and 1.2 non-string plain scalars, broadly: booleans and nulls in any letter case,
/// anything number-like (including octal, hex, binary, `1_000`, sexagesimal `12:30`,
/// timestamps, versions like `1.2.3` for safety), `.inf`/`.nan`, `=` and `<<`.
fn looks_like_non_string(s: &str) -> bool {
    let lower_len = s.len();
    if lower_len <= 5 {
        let l = s.to_ascii_lowercase();
        if matches!(
            l.as_str(),
            "y" | "n"
                | "yes"
                | "no"
                | "on"
                | "off"
                | "true"
                | "false"
                | "null"
                | "~"
                | "="
                | "<<"
                | ".inf"
                | "-.inf"
                | "+.inf"
                | ".nan"
        ) {
            return true;
        }
    }
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b[0], b'+' | b'-') {
        i = 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
    }
    if i < b.len() && b[i].is_ascii_digit() {
        // Number-ish: digits, letters (hex, exponents, 0x/0o/0b, T/Z in timestamps) and
        // `_ . : + -` only.
        return b
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'+' | b'-'));
    }
    false
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{0}' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_non_printable(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
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

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn json_fast_path_matches_yaml_parser() {
        let src = "{\n  \"a\": 1,\n  \"b\": {\"c\": [true, null, \"x\\\"y\"],\n   \"d\": 2.5},\n  \"e\\u0041\": \"yes\"\n}\n";
        let (v, lines) = parse_str_with_lines(src, "f.json").unwrap();
        let mut b = Builder::new("f.json", true);
        let docs = b.run(src).unwrap();
        assert_eq!(v, docs[0].value);
        assert_eq!(lines.line_of(&[PathSeg::Key("a".into())]), Some(2));
        assert_eq!(
            lines.line_of(&[PathSeg::Key("b".into()), PathSeg::Key("d".into())]),
            Some(4)
        );
        assert_eq!(lines.line_of(&[PathSeg::Key("eA".into())]), Some(5));
        assert_eq!(v["eA"], "yes");
        // Not JSON (YAML flow with plain scalars): the YAML parser takes it.
        assert_eq!(parse_str("{a: yes}", "f").unwrap()["a"], true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Where the fast parser accepts `src`, it must agree with the full parser exactly.
    fn agree(src: &str) -> bool {
        let Some(fast) = parse_documents_fast(src, true) else {
            return false;
        };
        let slow = parse_documents_reference(src, true);
        assert_eq!(
            slow.as_ref().ok(),
            Some(&fast),
            "fast and full parsers differ on {src:?}"
        );
        true
    }

    #[test]
    fn fast_path_agrees_with_full_parser() {
        let accepted = [
            "a: 1\nb: two\n",
            "# c\n\na: 1 # c\nb:\n  c: x\n  d: []\n",
            "a:\n- 1\n- x: y\n  z: [] # c\n- - n\n  - m\nb: {}\n",
            "list:\n  - a\n  -   b: 1\n      c: 2\n",
            "s: \"x\\ty \\u00e9 \\\"q\\\"\" # c\nt: 'it''s'\n",
            "k: |\n  line1\n\n    indented\n  last\n\n\nnext: |-\n  a\n  b\nkeep: |+\n  x\n\nz: 1\n",
            "- |\n  block item\n- plain\n",
            "\"quoted key\": 1\n'single': 2\n",
            "---\na: 1\n---\n---\n- x\n",
            "--- # c\nkind: ConfigMap\ndata:\n  yes: on\n  0755: 1e3\n  k: ~\n",
            "a: x:y\nb: http://e.com/a#b\nc: -x\nd: a, b\ne: a[0]\n",
            "top scalar\n",
            "a: 1\r\nb:\r\n  c: 2\r\n",
        ];
        let mut used_fast = 0;
        for src in accepted {
            if agree(src) {
                used_fast += 1;
            }
        }
        assert!(used_fast >= 10, "fast path used on only {used_fast} inputs");
        // Inputs where the parsers once disagreed (found by proptest and cargo-fuzz).
        for src in [
            "|\n'\n",
            "- -<: ~\n",
            "---\n\n",
            "e: |+\n - \n",
            "---1a: |\n\n ---1- |\n  \n\n",
            "---\na: |\n D;...\n  \n  \n",
            "---\n |\n|\n .\na: |\n .\n...\n-  \n",
            "-   |\n a-\n ",
            "---\n# Sou-\n# Source: f: v\n  K: v\n---\n# Sourc atKE",
            "\n\u{feff}\" t\n",
        ] {
            agree(src);
        }
        // Outside the subset (or invalid): the fast parser defers.
        for src in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: [1, 2]\n",
            "a: >\n  folded\n",
            "a: b\n  continued\n",
            "a: \"multi\n  line\"\n",
            "a: 1\n  b: 2\n",
            "a:\tb\n",
            "<<: {a: 1}\n",
            "- \n- x\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: b: c\n",
            "~: 1\n",
            "a: .inf\n",
            "\n\u{feff}\" t\n",
        ] {
            assert!(
                parse_documents_fast(src, true).is_none(),
                "fast path accepted {src:?}"
            );
            let _ = parse_documents_reference(src, true);
        }
    }

    fn p(s: &str) -> Value {
        parse_str(s, "t.yaml").unwrap()
    }

    #[test]
    fn helm_scalar_resolution() {
        // Pinned against `helm template` v4.1.4 with `{{ toJson .Values }}`.
        let v = p(
            "a_yes: yes\na_no: no\na_on: on\na_off: off\na_y: y\na_n: n\na_Y: Y\n\
                   a_Yes: Yes\na_YES: YES\na_TRUE: TRUE\na_True: True\na_false: false\n\
                   oct: 0755\noct2: 0o755\ne: 1e3\ne2: 1.0e3\nhex: 0x1F\ndot5: .5\ntilde: ~\n\
                   a_Null: Null\na_NULL: NULL\nbig2: 9007199254740993\nneg: -42\nunder: 1_000\n\
                   sexa: 12:30\nsexa2: 190:20:30\nfloat: 1.5\nempty:\ns_yes: \"yes\"\n\
                   bin: 0b101\nplus: +12\ndate: 2001-12-14\noct8: 08\nyEs: yEs\nu1: .1_0\nu2: ._5\n",
        );
        let expect = json!({
            "a_yes": true, "a_no": false, "a_on": true, "a_off": false, "a_y": true,
            "a_n": false, "a_Y": true, "a_Yes": true, "a_YES": true, "a_TRUE": true,
            "a_True": true, "a_false": false, "oct": 493, "oct2": 493, "e": 1000.0,
            "e2": 1000.0, "hex": 31, "dot5": 0.5, "tilde": null, "a_Null": null,
            "a_NULL": null, "big2": 9007199254740993u64, "neg": -42, "under": 1000,
            "sexa": "12:30", "sexa2": "190:20:30", "float": 1.5, "empty": null,
            "s_yes": "yes", "bin": 5, "plus": 12, "date": "2001-12-14", "oct8": 8.0,
            "yEs": "yEs", "u1": 0.1, "u2": "._5"
        });
        assert_eq!(v, expect);
    }

    #[test]
    fn keys_are_stringified_like_helm() {
        let v = p("yes: 1\n0755: 2\n1.5: 3\ny: 4\n1e3: 5\n\"quoted\": 6\n");
        assert_eq!(
            v,
            json!({"true": 4, "493": 2, "1.5": 3, "1000": 5, "quoted": 6})
        );
        let e = parse_str("~: 1\n", "f.yaml").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
        assert!(
            e.to_string().starts_with("f.yaml:1:1: a null map key"),
            "{e}"
        );
    }

    #[test]
    fn infinities_are_errors() {
        for s in [".inf", "-.Inf", ".NaN", "+.INF"] {
            let e = parse_str(&format!("a:\n  b: {s}\n"), "v.yaml").unwrap_err();
            assert_eq!(e.line, 2, "{s}");
            assert!(e.message.contains("infinite or NaN"), "{e}");
        }
        assert_eq!(p("a: '.inf'"), json!({"a": ".inf"}));
        // Overflowing floats are strings in go-yaml (ParseFloat range error).
        assert_eq!(p("a: 1e999"), json!({"a": "1e999"}));
    }

    #[test]
    fn big_ints() {
        assert_eq!(
            p("a: 18446744073709551615\nb: -9223372036854775808\nc: 18446744073709551616"),
            json!({"a": u64::MAX, "b": i64::MIN, "c": 18446744073709551616.0})
        );
    }

    #[test]
    fn tags() {
        assert_eq!(
            p(
                "a: !!str 123\nb: !!int \"12\"\nc: !!float 1\nd: ! yes\ne: !custom yes\nf: !!null ''"
            ),
            json!({"a": "123", "b": 12, "c": 1.0, "d": "yes", "e": "yes", "f": null})
        );
        assert!(parse_str("a: !!int abc", "x").is_err());
    }

    #[test]
    fn anchors_aliases_merge() {
        let v = p(
            "base: &b\n  x: 1\n  k: 2\nother: &o {z: 3}\nd:\n  <<: [*b, *o]\n  k: 9\n\
                   e:\n  k: 9\n  <<: *b\nl: &l [1, 2]\nm: *l\ns: &s hello\nt: *s\n",
        );
        assert_eq!(v["d"], json!({"x": 1, "k": 9, "z": 3}));
        assert_eq!(v["e"], json!({"k": 9, "x": 1}));
        assert_eq!(v["m"], json!([1, 2]));
        assert_eq!(v["t"], json!("hello"));
        let e = parse_str("a:\n  <<: 3\n", "m.yaml").unwrap_err();
        assert!(e.message.contains("merge key"), "{e}");
        assert_eq!(e.line, 2);
        let quoted = p("a:\n  '<<': 3\n");
        assert_eq!(quoted, json!({"a": {"<<": 3}}));
    }

    #[test]
    fn alias_bomb_rejected() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            s.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let e = parse_str(&s, "bomb.yaml").unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e}");
    }

    #[test]
    fn deep_nesting_rejected() {
        let s = "[".repeat(100_000);
        let e = parse_str(&s, "deep.yaml").unwrap_err();
        assert!(
            e.message.contains("nesting deeper") || e.message.contains("recursion limit"),
            "{e}"
        );
        let s: String = (0..1000)
            .map(|i| format!("{}a:\n", " ".repeat(i)))
            .collect();
        let e = parse_str(&s, "deep.yaml").unwrap_err();
        assert!(e.message.contains("nesting deeper"), "{e}");
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert_eq!(p("a: 1\nb: 2\na: 3\n"), json!({"a": 3, "b": 2}));
    }

    #[test]
    fn syntax_error_position() {
        let e = parse_str("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml").unwrap_err();
        assert_eq!(e.origin, "bad.yaml");
        assert!(e.line >= 2, "{e}");
        assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
        let e = parse_str("a: 1\n  b: 2\n", "bad.yaml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn single_document_only() {
        assert_eq!(p(""), Value::Null);
        assert_eq!(p("# only a comment\n"), Value::Null);
        assert_eq!(p("---\na: 1\n"), json!({"a": 1}));
        let e = parse_str("a: 1\n---\nb: 2\n", "two.yaml").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn lines_are_tracked() {
        let (v, l) =
            parse_str_with_lines("# c\na: 1\nb:\n  c: x\n  d:\n  - 1\n  - k: v\n", "l.yaml")
                .unwrap();
        assert_eq!(v, json!({"a": 1, "b": {"c": "x", "d": [1, {"k": "v"}]}}));
        let key = |s: &str| PathSeg::Key(s.to_string());
        assert_eq!(l.line_of(&[key("a")]), Some(2));
        assert_eq!(l.line_of(&[key("b")]), Some(3));
        assert_eq!(l.line_of(&[key("b"), key("c")]), Some(4));
        assert_eq!(l.line_of(&[key("b"), key("d"), PathSeg::Index(0)]), Some(6));
        assert_eq!(
            l.line_of(&[key("b"), key("d"), PathSeg::Index(1), key("k")]),
            Some(7)
        );
    }

    #[test]
    fn multi_documents() {
        let src = "a: 1\n---\nb: 2\n--- \n# empty\n---\n- x\n...\n---\nc: |\n  --x\n";
        let docs = parse_documents(src).unwrap();
        let vals: Vec<_> = docs.iter().map(|(v, l)| (v.clone(), *l)).collect();
        assert_eq!(
            vals,
            vec![
                (json!({"a": 1}), 1),
                (json!({"b": 2}), 2),
                (Value::Null, 4),
                (json!(["x"]), 6),
                (json!({"c": "--x\n"}), 9),
            ]
        );
    }

    #[test]
    fn parallel_split_matches_sequential() {
        let mut src = String::new();
        for i in 0..20_000 {
            src.push_str(&format!(
                "---\n# Source: x/{i}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: \"v{i}\"\n  on: yes\n"
            ));
        }
        assert!(src.len() > 256 * 1024);
        let par = parse_documents(&src).unwrap();
        let mut b = Builder::new("s", false);
        let seq: Vec<_> = b
            .run(&src)
            .unwrap()
            .into_iter()
            .map(|d| (d.value, d.start_line))
            .collect();
        assert_eq!(par, seq);
        assert_eq!(par[19_999].1, 19_999 * 9 + 1);
        // Errors carry absolute lines.
        let bad = format!("{src}---\na: [\n");
        let e = parse_documents(&bad).unwrap_err();
        assert!(e.line >= 20_000 * 9 + 2, "{e}");
    }

    #[test]
    fn emitter_layout_matches_helm() {
        let v = json!({
            "nested": {
                "list": ["a", {"b": 1, "c": [1, 2]}, ["x", true]],
                "emptym": {}, "emptyl": [],
                "multi": "line1\nline2\n", "multi2": "line1\nline2",
                "f": 1.0, "n": null
            }
        });
        assert_eq!(
            to_yaml(&v),
            "nested:\n  list:\n  - a\n  - b: 1\n    c:\n    - 1\n    - 2\n  - - x\n    - true\n  \
             emptym: {}\n  emptyl: []\n  multi: |\n    line1\n    line2\n  multi2: |-\n    line1\n    \
             line2\n  f: 1.0\n  \"n\": null\n"
        );
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!([])), "[]\n");
        assert_eq!(to_yaml(&json!("yes")), "\"yes\"\n");
        assert_eq!(to_yaml(&json!(3)), "3\n");
    }

    #[test]
    fn misreadable_strings_are_quoted() {
        let cases = [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "Y",
            "N",
            "true",
            "True",
            "false",
            "null",
            "Null",
            "NULL",
            "~",
            "",
            "0755",
            "1e3",
            "0x1F",
            "1_000",
            ".inf",
            "-.inf",
            ".nan",
            "12:30",
            "190:20:30",
            "2001-12-14",
            "1.5",
            "+12",
            "-1",
            ".5",
            "0b101",
            "0o17",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "-",
            "- a",
            "?",
            ":",
            ",a",
            "[a",
            "]",
            "{a",
            "}",
            "#a",
            "&a",
            "*a",
            "!a",
            "|",
            ">",
            "'a",
            "\"a",
            "%a",
            "@a",
            "`a",
            "a\nb",
            "a\tb",
            "\u{7}",
            "a\r",
            "=",
            "<<",
            "yEs",
            "NO",
            "oN",
            "ends:",
            "\u{feff}x",
            "---",
            "...x",
        ];
        for s in cases {
            let out = to_yaml(&json!({ "k": s }));
            assert!(
                out.starts_with("k: \"") || out.starts_with("k: |"),
                "{s:?} emitted unquoted: {out}"
            );
            assert_eq!(p(&out), json!({ "k": s }), "{s:?} -> {out}");
            let out = to_yaml(&json!({ s: 1 }));
            assert!(out.starts_with('"'), "key {s:?} emitted unquoted: {out}");
            assert_eq!(p(&out), json!({ s: 1 }), "key {s:?} -> {out}");
        }
        for s in [
            "abc",
            "-x",
            "a:b",
            "a#b",
            "héllo ✓",
            "a b",
            "http://x.y/z",
            "v1.2",
        ] {
            assert_eq!(to_yaml(&json!({ "k": s })), format!("k: {s}\n"), "{s:?}");
        }
    }

    #[test]
    fn multiline_strings() {
        for s in [
            "a\nb",
            "a\nb\n",
            "a\n\nb\n",
            "a\nb\n\n",
            "\na",
            " a\nb",
            "a \nb",
            "a\n  b\n",
            "a\n\tb",
            "a\r\nb",
            "a\n---\nb",
            "a\n# x\n",
        ] {
            let v = json!({"k": s, "l": [s, {"m": s}]});
            let out = to_yaml(&v);
            assert_eq!(p(&out), v, "{s:?} -> {out}");
        }
        assert_eq!(to_yaml(&json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
    }

    #[test]
    fn control_characters_are_rejected() {
        let e = parse_str("a: 1\nb: x\u{19}y\n", "c.yaml").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5), "{e}");
        assert!(e.message.contains("U+0019"), "{e}");
        assert!(parse_str("a: \"x\\x19y\"\nb: \u{85}\u{a0}é\t\n", "ok.yaml").is_ok());
        assert!(parse_str("a: \u{9f}\n", "c1.yaml").is_err());
    }

    #[test]
    fn long_keys_use_explicit_form() {
        // Escapes count: 600 control characters are written as 2400.
        let k = "\u{19}".repeat(600);
        let v = json!({ k.clone(): 1 });
        assert_eq!(p(&to_yaml(&v)), v);
        let k = "k".repeat(2000);
        let v = json!({ k.clone(): {"a": [1]}, "b": 2 });
        assert_eq!(p(&to_yaml(&v)), v);
    }

    mod roundtrip {
        use super::super::*;
        use proptest::prelude::*;

        fn interesting_string() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-zA-Z0-9 _.:#'\"\\,\\[\\]{}&*!|>%@`?=<~+-]{0,12}",
                "[ -~\n\t\r\u{0}-\u{1f}\u{7f}-\u{a0}\u{2028}\u{feff}é✓]{0,16}",
                prop::sample::select(vec![
                    "yes",
                    "no",
                    "on",
                    "off",
                    "y",
                    "n",
                    "true",
                    "null",
                    "~",
                    "",
                    "0755",
                    "1e3",
                    "0x1F",
                    "1_000",
                    ".inf",
                    "12:30",
                    "2001-12-14",
                    "- a",
                    "a: b",
                    "a #b",
                    "---",
                    "...",
                    "<<",
                    "=",
                    " a",
                    "a ",
                    "a\nb",
                    "a\nb\n",
                    "\n",
                    "1.0",
                ])
                .prop_map(str::to_string),
            ]
        }

        fn arb_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| Value::Number(Number::from_f64(f).unwrap_or(Number::from(0)))),
                interesting_string().prop_map(Value::String),
            ];
            leaf.prop_recursive(5, 64, 8, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    prop::collection::vec((interesting_string(), inner), 0..6)
                        .prop_map(|kv| Value::Object(kv.into_iter().collect())),
                ]
            })
        }

        proptest! {
            // Failures print their minimal input; regressions worth keeping become unit tests.
            #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(2000) })]
            #[test]
            fn parse_of_to_yaml_is_identity(v in arb_value()) {
                let out = to_yaml(&v);
                let back = parse_str(&out, "roundtrip.yaml");
                prop_assert_eq!(back.as_ref().ok(), Some(&v), "emitted:\n{}\nerror: {:?}", out, back.as_ref().err());
            }

            #[test]
            fn fast_parser_takes_to_yaml_output_and_agrees(v in arb_value()) {
                let out = to_yaml(&v);
                let fast = parse_documents_fast(&out, true);
                let slow = parse_documents_reference(&out, true);
                // Everything but explicit `? ` keys is in the fast subset.
                if !out.contains("? ") {
                    prop_assert!(fast.is_some(), "fast path deferred on:\n{}", out);
                }
                if let Some(f) = fast {
                    prop_assert_eq!(slow.ok(), Some(f), "differ on:\n{}", out);
                }
            }

            #[test]
            fn fast_parser_agrees_on_arbitrary_text(s in "([ a-c:#'\"|\\-]{0,6}\n){0,6}") {
                if let Some(f) = parse_documents_fast(&s, true) {
                    prop_assert_eq!(parse_documents_reference(&s, true).ok(), Some(f), "differ on {:?}", s);
                }
            }

            #[test]
            fn fast_parser_agrees_on_yamlish_lines(
                lines in prop::collection::vec(
                    (
                        0usize..6,
                        prop::sample::select(vec![
                            "- ", "a: ", "b:", "\"q\": ", "'s': ", "- a: ", "- - ", "", "c: |",
                            "d: |-", "e: |+", "---", "#c", "-", "x", "k: v # c", "y:",
                        ]),
                        prop::sample::select(vec![
                            "", "x", "1", "yes", "[]", "{}", "|", "|-", "'a''b'", "\"a\\tb\"",
                            "# c", "z: 2", "~", "0x1F", "a b", "- y", ".5", "\"q\": 1",
                        ]),
                    ),
                    0..10,
                )
            ) {
                let s: String = lines
                    .iter()
                    .map(|(i, a, b)| format!("{}{a}{b}\n", " ".repeat(*i)))
                    .collect();
                if let Some(f) = parse_documents_fast(&s, true) {
                    prop_assert_eq!(parse_documents_reference(&s, true).ok(), Some(f), "differ on {:?}", s);
                }
            }

            #[test]
            fn parse_never_panics(s in "[ -~\n\t]{0,64}") {
                let _ = parse_str(&s, "fuzz.yaml");
                let _ = parse_documents(&s);
            }
        }
    }
}
