//! A line-based parser for the block-YAML subset that templates and values files use almost
//! always (block maps and lists, plain and single-line quoted scalars, `|` block scalars,
//! comments, `---`). On anything else (anchors, tags, flow collections with content, folded or
//! multi-line scalars, directives, errors) it gives up and the full saphyr-based parser runs, so
//! results never depend on which parser ran: tests and a fuzz target check that both agree.

use super::LineTree;
use super::events::Doc;
use super::scalar::{key_string, resolve_plain};
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

    /// The full parser's tree for a scalar, an empty flow collection or a one-line flow
    /// sequence of scalars.
    fn tree_for(&self, v: &Value, line: usize) -> Option<LineTree> {
        self.track.then(|| match v {
            Value::Array(items) => LineTree::Seq {
                line,
                items: items.iter().map(|_| LineTree::Leaf(line)).collect(),
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
            b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
            | b'|' | b'>' | b'%' | b'@' | b'`' => return Ok(None),
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
                Some(nl) if !is_marker(&nl) && nl.indent == n && is_dash(nl.text) => self.seq(n)?,
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
            b'[' => match cut_comment(text) {
                "[]" => Value::Array(Vec::new()),
                _ => Value::Array(flow_seq(text)?),
            },
            b'{' => match cut_comment(text) {
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

/// A flow sequence of scalars closed on its line (`["ALL"]`, `[IPv6, IPv4]`), which values
/// files hold often; nested collections, empty or trailing entries, and plain scalars with an
/// indicator or a character that needs a closer look are left to the full parser.
pub(super) fn flow_seq(text: &str) -> R<Vec<Value>> {
    let mut items = Vec::new();
    let mut rest = &text[1..];
    loop {
        rest = rest.trim_start_matches(' ');
        let (item, after) = match rest.as_bytes().first() {
            Some(b'"') => {
                let (s, after) = double_quoted(rest)?;
                (Value::String(s), after)
            }
            Some(b'\'') => {
                let (s, after) = single_quoted(rest)?;
                (Value::String(s), after)
            }
            Some(_) => {
                let end = rest.find([',', ']']).ok_or(Fallback)?;
                let plain = rest[..end].trim_end_matches(' ');
                let odd = |c: char| "[]{}#:&*!|>'\"%@`?\t".contains(c);
                if plain.is_empty() || plain.starts_with('-') || plain.contains(odd) {
                    return Err(Fallback);
                }
                (resolve_plain(plain).map_err(|_| Fallback)?, &rest[end..])
            }
            None => return Err(Fallback),
        };
        items.push(item);
        let after = after.trim_start_matches(' ');
        match after.as_bytes().first() {
            Some(b',') => rest = &after[1..],
            Some(b']') if is_blank_rest(&after[1..]) => return Ok(items),
            _ => return Err(Fallback),
        }
    }
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
