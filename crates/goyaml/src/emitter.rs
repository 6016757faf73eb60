//! go-yaml's emitter (libyaml's, ported to Go), for the documents Helm writes: block mappings
//! and sequences, `{}`/`[]` for empty ones, and scalars. It keeps libyaml's state where the
//! layout depends on it: the column, whether the last thing written was whitespace or
//! indentation, and the stack of indents; the rules below are libyaml's.
//!
//! - Indentation is 2. v2 (`toYaml`) writes a sequence under a mapping key at the key's own
//!   indent (`key:\n- a`); v3 (`toYamlPretty`) indents it (`key:\n  - a`).
//! - A string's style: `|` literal when it holds `\n`, plain when it reads back as itself (see
//!   [`crate::resolve`]), else double-quoted. Its characters may then force another:
//!   - plain becomes single-quoted on a leading or trailing space, a line break, `---`/`...` or
//!     an indicator at the start (`-?:` before a space, `,[]{}#&*!|>'"%@` and `` ` ``), or
//!     `: `/` #` inside;
//!   - plain and single-quoted become double-quoted on a space next to a line break or a
//!     character outside YAML's printable set (C0 and C1 controls but LF, DEL, the BOM,
//!     U+FFFE/U+FFFF, and everything beyond U+FFFF, emoji too), in v3 also on a tab;
//!   - a literal becomes double-quoted on a trailing space, a space before a line break or a
//!     non-printable character (in v2 a tab is one).
//! - v2 folds plain, single- and double-quoted scalars at a space once past column 80; v3 never
//!   folds.
//! - A key that is multi-line or longer than 128 bytes is written as `? key` / `: value`.
//! - A double-quoted scalar that starts with a BOM escapes every character (a libyaml check
//!   that looks at the start of the value instead of the current character).

use std::borrow::Cow;

use serde_json::Value;

use crate::YamlError;
use crate::resolve::{Version, can_be_plain};

/// What a walk of the value hands the emitter for each scalar.
pub(crate) enum Scalar<'a> {
    /// null, a bool or a number: always requested plain.
    Plain(Cow<'a, str>),
    /// A string, styled by go-yaml's `stringv` rules.
    Str(Cow<'a, str>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// Where a node sits, as libyaml's emitter remembers it while writing the node.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    SequenceItem,
    MappingValue,
    /// A key written in full on its own (`? key`).
    ComplexKey,
    SimpleKey,
}

/// What libyaml's `yaml_emitter_analyze_scalar` learns from a scalar's characters.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn width(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn is_space(b: &[u8], i: usize) -> bool {
    at(b, i) == b' '
}

fn is_blank(b: &[u8], i: usize) -> bool {
    matches!(at(b, i), b' ' | b'\t')
}

/// CR, LF, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR.
fn is_break(b: &[u8], i: usize) -> bool {
    match at(b, i) {
        b'\r' | b'\n' => true,
        0xC2 => at(b, i + 1) == 0x85,
        0xE2 => at(b, i + 1) == 0x80 && matches!(at(b, i + 2), 0xA8 | 0xA9),
        _ => false,
    }
}

fn is_blankz(b: &[u8], i: usize) -> bool {
    is_blank(b, i) || is_break(b, i) || i >= b.len() || b[i] == 0
}

/// libyaml's printable set: LF, 0x20-0x7E, 0xA0-0xD7FF, 0xE000-0xFFFD except the BOM. Nothing
/// beyond U+FFFF is in it: an emoji makes a string double-quoted, written `\U0001F600`.
fn is_printable(b: &[u8], i: usize) -> bool {
    let c = at(b, i);
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || c == 0xC2 && at(b, i + 1) >= 0xA0
        || c > 0xC2 && c < 0xED
        || c == 0xED && at(b, i + 1) < 0xA0
        || c == 0xEE
        || c == 0xEF
            && !(at(b, i + 1) == 0xBB && at(b, i + 2) == 0xBF)
            && !(at(b, i + 1) == 0xBF && matches!(at(b, i + 2), 0xBE | 0xBF))
}

fn analyze(value: &str, version: Version) -> Analysis {
    let b = value.as_bytes();
    if b.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = b.starts_with(b"---") || b.starts_with(b"...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let mut i = 0;
    while i < b.len() {
        let w = width(b[i]);
        let followed_by_whitespace = i + w >= b.len() || is_blank(b, i + w);
        let c = b[i];
        if i == 0 {
            match c {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>'
                | b'\'' | b'"' | b'%' | b'@' | b'`' => block_indicators = true,
                b'?' | b':' | b'-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                b':' if followed_by_whitespace => block_indicators = true,
                b'#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if version == Version::V3 && c == b'\t' {
            tab_characters = true;
        } else if !is_printable(b, i) {
            special_characters = true;
        }
        if is_space(b, i) {
            leading_space |= i == 0;
            trailing_space |= i + w == b.len();
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(b, i) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i + w == b.len();
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(b, i);
        i += w;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break || line_breaks {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space || space_break || tab_characters || special_characters {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The layout state libyaml keeps while writing.
struct Emitter {
    out: String,
    version: Version,
    best_width: usize,
    column: usize,
    /// The last character written was whitespace (or nothing yet).
    whitespace: bool,
    /// Only indentation has been written on this line so far.
    indention: bool,
    indent: isize,
    indents: Vec<isize>,
}

const BEST_INDENT: isize = 2;

impl Emitter {
    fn new(version: Version) -> Emitter {
        Emitter {
            out: String::new(),
            version,
            best_width: match version {
                Version::V2 => 80,
                Version::V3 => usize::MAX,
            },
            column: 0,
            whitespace: true,
            indention: true,
            indent: -1,
            indents: Vec::new(),
        }
    }

    /// The document as go-yaml ends it: on a new line.
    fn finish(mut self) -> String {
        self.write_indent();
        self.out
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies the character at `b[*i]`.
    fn write(&mut self, b: &str, i: &mut usize) {
        let w = width(b.as_bytes()[*i]);
        self.out.push_str(&b[*i..*i + w]);
        self.column += 1;
        *i += w;
    }

    fn write_break(&mut self, b: &str, i: &mut usize) {
        if b.as_bytes()[*i] == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(b, i);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    /// An empty sequence or mapping, `[]` or `{}`.
    fn empty_collection(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    /// Starts a non-empty block sequence in `context`.
    fn begin_sequence(&mut self, context: Context) {
        let indentless =
            self.version == Version::V2 && context == Context::MappingValue && !self.indention;
        self.increase_indent(false, indentless);
    }

    /// Starts a non-empty block mapping.
    fn begin_mapping(&mut self) {
        self.increase_indent(false, false);
    }

    /// Ends the innermost sequence or mapping.
    fn end_collection(&mut self) {
        self.pop_indent();
    }

    fn sequence_item(&mut self) {
        self.write_indent();
        self.write_indicator("-", true, false, true);
    }

    /// Writes a mapping key and the `:` after it; the value follows in [`Context::MappingValue`].
    fn key(&mut self, key: &str) {
        self.write_indent();
        let analysis = analyze(key, self.version);
        let request = self.string_style(key);
        if !analysis.multiline && key.len() <= 128 {
            self.scalar_with(key, request, &analysis, Context::SimpleKey);
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indicator("?", true, false, true);
            self.scalar_with(key, request, &analysis, Context::ComplexKey);
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
    }

    /// go-yaml's `stringv`: the style it asks for.
    fn string_style(&self, s: &str) -> Style {
        if s.contains('\n') {
            Style::Literal
        } else if can_be_plain(s, self.version) {
            Style::Plain
        } else {
            Style::DoubleQuoted
        }
    }

    fn scalar(&mut self, scalar: &Scalar<'_>, context: Context) {
        let (text, request) = match scalar {
            Scalar::Plain(t) => (t.as_ref(), Style::Plain),
            Scalar::Str(s) => (s.as_ref(), self.string_style(s)),
        };
        let analysis = analyze(text, self.version);
        self.scalar_with(text, request, &analysis, context);
    }

    fn scalar_with(&mut self, value: &str, request: Style, a: &Analysis, context: Context) {
        let simple_key = context == Context::SimpleKey;
        let mut style = request;
        if simple_key && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain && (!a.block_plain_allowed || value.is_empty() && simple_key) {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.write_plain_or_single_quoted(value, allow_breaks, false),
            Style::SingleQuoted => self.write_plain_or_single_quoted(value, allow_breaks, true),
            Style::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    /// Plain and single-quoted scalars fold and break lines alike; single quotes go around
    /// and are doubled inside. (libyaml's plain writer omits the tests for a space at either
    /// end, which a plain scalar never has.)
    fn write_plain_or_single_quoted(&mut self, value: &str, allow_breaks: bool, quoted: bool) {
        if quoted {
            self.write_indicator("'", true, false, false);
        } else if !self.whitespace {
            self.put(' ');
        }
        let b = value.as_bytes();
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < b.len() {
            if is_space(b, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < b.len() - 1
                    && !is_space(b, i + 1)
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(b, i) {
                if !breaks && b[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if quoted && b[i] == b'\'' {
                    self.put('\'');
                }
                self.write(value, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if quoted {
            self.write_indicator("'", false, false, false);
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let b = value.as_bytes();
        // libyaml tests for a BOM at the start of the value, not at the current character.
        let starts_with_bom = b.starts_with("\u{FEFF}".as_bytes());
        let mut spaces = false;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if !is_printable(b, i) || starts_with_bom || is_break(b, i) || c == b'"' || c == b'\\' {
                let w = width(c);
                let ch = value[i..i + w].chars().next().map_or(0, u32::from);
                i += w;
                self.put('\\');
                match ch {
                    0x00 => self.put('0'),
                    0x07 => self.put('a'),
                    0x08 => self.put('b'),
                    0x09 => self.put('t'),
                    0x0A => self.put('n'),
                    0x0B => self.put('v'),
                    0x0C => self.put('f'),
                    0x0D => self.put('r'),
                    0x1B => self.put('e'),
                    0x22 => self.put('"'),
                    0x5C => self.put('\\'),
                    0x85 => self.put('N'),
                    0xA0 => self.put('_'),
                    0x2028 => self.put('L'),
                    0x2029 => self.put('P'),
                    _ => {
                        let (letter, digits) = match ch {
                            0..=0xFF => ('x', 2),
                            0x100..=0xFFFF => ('u', 4),
                            _ => ('U', 8),
                        };
                        self.put(letter);
                        let hex = format!("{ch:0digits$X}");
                        for d in hex.chars() {
                            self.put(d);
                        }
                    }
                }
                spaces = false;
            } else if is_space(b, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < b.len() - 1
                {
                    self.write_indent();
                    if is_space(b, i + 1) {
                        self.put('\\');
                    }
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else {
                self.write(value, &mut i);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        let b = value.as_bytes();
        if is_space(b, 0) || is_break(b, 0) {
            self.write_indicator("2", false, false, false);
        }
        // Chomping: `-` without a final break, `+` when the value ends in two (or is one).
        let chomp = match b.len() {
            0 => Some("-"),
            n => {
                let mut last = n - 1;
                while b[last] & 0xC0 == 0x80 {
                    last -= 1;
                }
                if !is_break(b, last) {
                    Some("-")
                } else if last == 0 {
                    Some("+")
                } else {
                    let mut prev = last - 1;
                    while b[prev] & 0xC0 == 0x80 {
                        prev -= 1;
                    }
                    is_break(b, prev).then_some("+")
                }
            }
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < b.len() {
            if is_break(b, i) {
                self.write_break(value, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(value, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// A value that is not a list or a map.
pub(crate) enum Leaf<'a> {
    Null,
    Bool(bool),
    Number(&'a serde_json::Number),
    String(&'a str),
}

/// Lists and maps nested deeper than this make go-yaml v2's reader fail.
const V2_MAX_DEPTH: usize = 10_000;

/// Walks `value` and writes it, getting each scalar's text from `scalar` and checking each
/// key with `check_key`. For v2, nesting deeper than go-yaml's reader takes is an error.
/// Iterative, so that depth costs heap, not stack.
pub(crate) fn emit<'a>(
    version: Version,
    value: &'a Value,
    mut scalar: impl FnMut(Leaf<'a>) -> Result<Scalar<'a>, YamlError>,
    mut check_key: impl FnMut(&'a str) -> Result<(), YamlError>,
) -> Result<String, YamlError> {
    enum Frame<'a> {
        Seq(std::slice::Iter<'a, Value>),
        Map(std::vec::IntoIter<(&'a String, &'a Value)>),
    }
    let mut e = Emitter::new(version);
    let mut stack: Vec<Frame<'a>> = Vec::new();
    let mut next: Option<(&'a Value, Context)> = Some((value, Context::Root));
    loop {
        if let Some((v, context)) = next.take() {
            let leaf = match v {
                Value::Array(_) | Value::Object(_)
                    if version == Version::V2 && stack.len() + 1 > V2_MAX_DEPTH =>
                {
                    return Err(YamlError::TooDeep);
                }
                Value::Array(items) if items.is_empty() => {
                    e.empty_collection("[", "]");
                    None
                }
                Value::Object(map) if map.is_empty() => {
                    e.empty_collection("{", "}");
                    None
                }
                Value::Array(items) => {
                    e.begin_sequence(context);
                    stack.push(Frame::Seq(items.iter()));
                    None
                }
                Value::Object(map) => {
                    e.begin_mapping();
                    let mut entries: Vec<(&'a String, &'a Value)> = map.iter().collect();
                    crate::keys::sort_by_key(&mut entries, |(k, _)| k.as_str(), version);
                    stack.push(Frame::Map(entries.into_iter()));
                    None
                }
                Value::Null => Some(Leaf::Null),
                Value::Bool(b) => Some(Leaf::Bool(*b)),
                Value::Number(n) => Some(Leaf::Number(n)),
                Value::String(s) => Some(Leaf::String(s)),
            };
            if let Some(leaf) = leaf {
                let s = scalar(leaf)?;
                e.scalar(&s, context);
            }
        }
        let Some(frame) = stack.last_mut() else {
            break;
        };
        match frame {
            Frame::Seq(items) => match items.next() {
                Some(item) => {
                    e.sequence_item();
                    next = Some((item, Context::SequenceItem));
                }
                None => {
                    e.end_collection();
                    stack.pop();
                }
            },
            Frame::Map(entries) => match entries.next() {
                Some((k, v)) => {
                    check_key(k)?;
                    e.key(k);
                    next = Some((v, Context::MappingValue));
                }
                None => {
                    e.end_collection();
                    stack.pop();
                }
            },
        }
    }
    Ok(e.finish())
}
