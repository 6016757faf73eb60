//! Helm's `toToml`: BurntSushi/toml v1.6's encoder on the value as Go holds it.
//!
//! In a table, keys whose values are not tables come first, then the sub-tables and arrays of
//! tables, each group in byte order of the keys. Nested table headers are indented two spaces
//! per level below the first (`[a]`, `  [a.b]`), and so are their keys; a blank line goes before
//! every top-level table and before each `[[array]]` entry. An array holding anything but maps
//! is written inline (`[1, "a", {k = 1}]`). A null value in a map is left out (an inline table
//! keeps the `, ` it would have been written after), a null in an array is an error. Floats are
//! Go's `%g` with `.0` added where it has no `.` or exponent (`3.0`, `1e+06`); strings are
//! double-quoted with `"`, `\`, control characters and DEL escaped, everything else raw.
//!
//! A value that is not a map is written as an element with no key (`"text"`, `[1, 2]`), except
//! a list of maps, which has no key to name it and is an error.

use serde_json::{Map, Value};

use crate::go_number;

/// Why BurntSushi/toml refused a value. Helm's `toToml` writes the message of the first two
/// in place of the document (`mustToToml` fails with it); the third makes the template fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TomlError {
    /// A null anywhere in an array.
    #[error("toml: cannot encode array with nil element")]
    NilArrayElement,
    /// The value is a list of maps: an array of tables needs a key.
    #[error("toml: top-level values must be Go maps or structs")]
    TopLevelArrayOfTables,
    /// The value is nil: Go's reflection panics on it before the encoder starts.
    #[error("reflect: call of reflect.Value.Type on zero Value")]
    Nil,
}

/// Helm's `toToml` on `value`, or why the encoder refused it.
pub fn to_toml(value: &Value) -> Result<String, TomlError> {
    if value.is_null() {
        return Err(TomlError::Nil);
    }
    let mut enc = Encoder {
        out: String::new(),
        written: false,
    };
    enc.encode(&[], value)?;
    Ok(enc.out)
}

/// The TOML type BurntSushi/toml sees; only "table or not" and nils matter for the layout.
#[derive(PartialEq, Eq)]
enum Kind {
    Nil,
    Table,
    ArrayOfTables,
    Other,
}

/// An array is an array of tables when it is non-empty and every element is a map; a nil in
/// it (or in an array nested in it) is an error wherever the encoder first looks at it.
fn kind(value: &Value) -> Result<Kind, TomlError> {
    Ok(match value {
        Value::Null => Kind::Nil,
        Value::Object(_) => Kind::Table,
        Value::Array(items) => {
            let mut all_tables = !items.is_empty();
            for item in items {
                match kind(item)? {
                    Kind::Nil => return Err(TomlError::NilArrayElement),
                    Kind::Table => {}
                    _ => all_tables = false,
                }
            }
            if all_tables {
                Kind::ArrayOfTables
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    })
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A string in double quotes, escaped as BurntSushi's replacer does.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\0'..='\u{1F}' | '\u{7F}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            _ => out.push(c),
        }
    }
    out.push('"');
}

fn push_key_piece(out: &mut String, piece: &str) {
    if piece.is_empty() {
        out.push_str("\"\"");
    } else if is_bare_key(piece) {
        out.push_str(piece);
    } else {
        push_quoted(out, piece);
    }
}

struct Encoder {
    out: String,
    /// Anything written yet: the encoder's `hasWritten`, which decides its blank lines.
    written: bool,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn indent(&mut self, key: &[&str]) {
        for _ in 1..key.len() {
            self.write("  ");
        }
    }

    /// A full dotted key for a table header.
    fn header(&mut self, key: &[&str], open: &str, close: &str) {
        self.indent(key);
        self.write(open);
        for (i, piece) in key.iter().enumerate() {
            if i > 0 {
                self.out.push('.');
            }
            push_key_piece(&mut self.out, piece);
        }
        self.write(close);
        self.newline();
    }

    fn encode(&mut self, key: &[&str], value: &Value) -> Result<(), TomlError> {
        match value {
            Value::Null => Ok(()),
            Value::Object(map) => {
                if key.len() == 1 {
                    self.newline();
                }
                if !key.is_empty() {
                    self.header(key, "[", "]");
                }
                self.table(key, map, false)
            }
            Value::Array(items) if kind(value)? == Kind::ArrayOfTables => {
                if key.is_empty() {
                    return Err(TomlError::TopLevelArrayOfTables);
                }
                for item in items {
                    if let Value::Object(map) = item {
                        self.newline();
                        self.header(key, "[[", "]]");
                        self.table(key, map, false)?;
                    }
                }
                Ok(())
            }
            _ => self.key_value(key, value, false),
        }
    }

    /// `key = value`, or the bare element where there is no key.
    fn key_value(&mut self, key: &[&str], value: &Value, inline: bool) -> Result<(), TomlError> {
        let Some(last) = key.last() else {
            return self.element(value);
        };
        self.indent(key);
        push_key_piece(&mut self.out, last);
        self.write(" = ");
        self.element(value)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, value: &Value) -> Result<(), TomlError> {
        match value {
            // Arrays are checked for nils before their elements are written.
            Value::Null => return Err(TomlError::NilArrayElement),
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Number(n) if n.is_f64() => {
                // TOML floats need a `.` or an exponent.
                let text = go_number(n);
                self.write(&text);
                if !text.contains(['.', 'e']) {
                    self.write(".0");
                }
            }
            Value::Number(n) => self.write(&go_number(n)),
            Value::String(s) => {
                push_quoted(&mut self.out, s);
                self.written = true;
            }
            Value::Array(items) => {
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item)?;
                    if i + 1 != items.len() {
                        self.write(", ");
                    }
                }
                self.write("]");
            }
            Value::Object(map) => self.table(&[], map, true)?,
        }
        Ok(())
    }

    /// A map's contents: keys without tables first, then the tables, each in byte order.
    fn table(
        &mut self,
        key: &[&str],
        map: &Map<String, Value>,
        inline: bool,
    ) -> Result<(), TomlError> {
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in map {
            match kind(v)? {
                Kind::Table | Kind::ArrayOfTables => sub.push((k.as_str(), v)),
                Kind::Nil | Kind::Other => direct.push((k.as_str(), v)),
            }
        }
        direct.sort_unstable_by(|a, b| a.0.cmp(b.0));
        sub.sort_unstable_by(|a, b| a.0.cmp(b.0));
        if inline {
            self.write("{");
        }
        let trailing_comma = !sub.is_empty();
        for (group, comma_after_last) in [(direct, trailing_comma), (sub, false)] {
            let n = group.len();
            for (i, (k, v)) in group.into_iter().enumerate() {
                if v.is_null() {
                    continue;
                }
                if inline {
                    self.key_value(&[k], v, true)?;
                    if comma_after_last || i + 1 != n {
                        self.write(", ");
                    }
                } else {
                    let mut child = key.to_vec();
                    child.push(k);
                    self.encode(&child, v)?;
                }
            }
        }
        if inline {
            self.write("}");
        }
        Ok(())
    }
}
