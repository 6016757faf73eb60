//! Writing YAML in Helm's `toYaml` layout, quoting every string a YAML 1.1 or 1.2 reader could
//! misread.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::PathSeg;

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
