//! Helm's `toYaml`, `toYamlPretty` and `toToml`, byte for byte (Helm v4.3.1).
//!
//! ConfigMaps, annotations and whole manifests in Helm charts are the output of these three
//! functions, so charter must write what Helm writes, quirks included. Each is a different Go
//! encoder:
//!
//! | function       | Helm calls                                         | here                 |
//! |----------------|----------------------------------------------------|----------------------|
//! | `toYaml`       | sigs.k8s.io/yaml `Marshal`: `json.Marshal`, the JSON read back by go-yaml v2 and written by go-yaml v2 | [`to_yaml`], [`try_to_yaml`] (`mustToYaml`) |
//! | `toYamlPretty` | go-yaml v3's `Encoder` with `SetIndent(2)` on the value itself | [`to_yaml_pretty`] |
//! | `toToml`       | BurntSushi/toml v1.6's `Encoder`                   | [`to_toml`]          |
//!
//! The input is the value as Go holds it, as a [`serde_json::Value`] (with `preserve_order`;
//! the order of its maps never matters, each encoder sorts keys): an `i64`/`u64` number is a
//! Go int (Helm's `--set` makes int64), an `f64` one a float64 (every number Helm reads from a
//! values file or JSON). They differ in output: `toYamlPretty` and `toToml` write a float64
//! 1000000 as `1e+06` (an int as `1000000`), and `toToml` writes a float64 3 as `3.0`.
//!
//! `toYaml`'s trip through JSON decides much of its output:
//! - A float64 is written by encoding/json and read back by go-yaml: an integral one up to
//!   1e21 that fits in 64 bits comes back an int (`1000000.0` → JSON `1000000` → `1000000`),
//!   others a float, written as Go's `%g` writes it (`1234567.5` → `1.2345675e+06`,
//!   `0.000001` → `1e-06`, `1e20` → `1e+20`).
//! - A string holding a character outside YAML's allowed set that JSON leaves raw (DEL, the C1
//!   controls but NEL, U+FFFE, U+FFFF) makes go-yaml's reader fail, and Helm's `toYaml` writes
//!   nothing at all; so does a map key of more than 1022 characters as JSON escapes it
//!   (`json.Marshal` is HTML-safe: `<`, `>`, `&` take six, as `\u003c`), a key holding U+0085
//!   (NEL), and nesting deeper than 10000. Otherwise the escaping leaves no trace.
//! - NEL is a line break to the reader: inside a string it folds like a YAML line break (one
//!   becomes a space, spaces around it vanish, n in a row become n-1 newlines).
//!
//! The layout rules are described in the `emitter` module, the quoting rules in `resolve` and
//! the key order in `keys` (with the keys whose order is random in Helm itself).

mod emitter;
mod gonum;
mod keys;
mod resolve;
mod toml;

use std::borrow::Cow;

use serde_json::{Number, Value};

use emitter::{Leaf, Scalar, emit};
use resolve::Version;

pub use crate::toml::{TomlError, to_toml};

/// Why go-yaml v2 could not read back the JSON of a value: Helm's `toYaml` then returns an
/// empty string and `mustToYaml` fails with this message (Go's, without its `line N:`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// DEL, a C1 control other than NEL, U+FFFE or U+FFFF in a string or key.
    #[error("yaml: control characters are not allowed")]
    ControlCharacter,
    /// A map key longer than 1022 characters as JSON, or holding NEL: go-yaml's JSON reader
    /// takes only single-line keys of at most 1024 characters with the quotes.
    #[error("yaml: did not find expected ',' or '}}'")]
    UnreadableKey,
    /// A string where a NEL is followed directly by `---` or `...` and a space or NEL: to the
    /// reader, a document marker at the start of a line.
    #[error("yaml: found unexpected document indicator")]
    DocumentIndicator,
    /// Lists and maps nested more than 10000 deep.
    #[error("yaml: exceeded max depth of 10000")]
    TooDeep,
}

/// Helm's `toYaml`: the YAML Helm writes for `value`, without the final newline; empty where
/// Helm's is (see [`YamlError`]).
pub fn to_yaml(value: &Value) -> String {
    try_to_yaml(value).unwrap_or_default()
}

/// Helm's `mustToYaml`: as [`to_yaml`], with the reason where Helm's `toYaml` writes nothing.
pub fn try_to_yaml(value: &Value) -> Result<String, YamlError> {
    let out = emit(Version::V2, value, json_scalar, check_json_key)?;
    Ok(without_final_newline(out))
}

/// Helm's `toYamlPretty`: go-yaml v3 on the value itself, sequences indented under their key,
/// no line folding, without the final newline.
pub fn to_yaml_pretty(value: &Value) -> String {
    // go-yaml v3 writes any value: nothing here returns an error.
    emit(Version::V3, value, |leaf| Ok(go_scalar(leaf)), |_| Ok(()))
        .map(without_final_newline)
        .unwrap_or_default()
}

fn without_final_newline(mut out: String) -> String {
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// A scalar as go-yaml v3 receives it from Go: its own formatting of ints and float64s.
fn go_scalar(leaf: Leaf<'_>) -> Scalar<'_> {
    match leaf {
        Leaf::Null => Scalar::Plain(Cow::Borrowed("null")),
        Leaf::Bool(b) => Scalar::Plain(Cow::Borrowed(if b { "true" } else { "false" })),
        Leaf::Number(n) => Scalar::Plain(Cow::Owned(go_number(n))),
        Leaf::String(s) => Scalar::Str(Cow::Borrowed(s)),
    }
}

/// Go's `strconv` text of an int or float64, as go-yaml and BurntSushi/toml write them.
fn go_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        gonum::format_g(n.as_f64().unwrap_or(0.0))
    }
}

/// A scalar after the trip through JSON and go-yaml v2's reader.
fn json_scalar(leaf: Leaf<'_>) -> Result<Scalar<'_>, YamlError> {
    Ok(match leaf {
        Leaf::Number(n) if n.is_f64() => {
            Scalar::Plain(Cow::Owned(json_float(n.as_f64().unwrap_or(0.0))))
        }
        Leaf::String(s) => {
            check_characters(s)?;
            Scalar::Str(fold_nel(s)?)
        }
        _ => go_scalar(leaf),
    })
}

/// A float64 through encoding/json and go-yaml's resolver: an int where the JSON text is one
/// that fits in 64 bits, else a float in `%g` form.
fn json_float(x: f64) -> String {
    let json = gonum::format_json(x);
    if !json.contains(['.', 'e']) {
        if let Ok(i) = json.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = json.parse::<u64>() {
            return u.to_string();
        }
    }
    gonum::format_g(x)
}

/// Characters JSON leaves raw and go-yaml's reader refuses.
fn check_characters(s: &str) -> Result<(), YamlError> {
    let refused =
        |c: char| matches!(c, '\u{7F}'..='\u{84}' | '\u{86}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}');
    if s.contains(refused) {
        return Err(YamlError::ControlCharacter);
    }
    Ok(())
}

/// How many characters encoding/json (HTML-safe, as `json.Marshal` is) writes for `s`,
/// without the quotes.
fn json_length(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '"' | '\\' | '\u{8}' | '\u{C}' | '\n' | '\r' | '\t' => 2,
            '\0'..='\u{1F}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
            _ => 1,
        })
        .sum()
}

fn check_json_key(key: &str) -> Result<(), YamlError> {
    check_characters(key)?;
    if key.contains('\u{85}') || json_length(key) > 1022 {
        return Err(YamlError::UnreadableKey);
    }
    Ok(())
}

/// What go-yaml's reader makes of a double-quoted JSON string holding raw NELs (the only raw
/// line break JSON leaves; spaces are the only raw blanks): spaces before a break are
/// dropped, spaces after it skipped, a lone break becomes a space and n breaks n-1 newlines.
fn fold_nel(s: &str) -> Result<Cow<'_, str>, YamlError> {
    if !s.contains('\u{85}') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let end = rest.find([' ', '\u{85}']).unwrap_or(rest.len());
        out.push_str(&rest[..end]);
        rest = &rest[end..];
        if rest.is_empty() {
            break;
        }
        let mut spaces = 0;
        let mut breaks = 0;
        let mut after_break = false;
        while let Some(c) = rest.chars().next().filter(|&c| c == ' ' || c == '\u{85}') {
            rest = &rest[c.len_utf8()..];
            after_break = c == '\u{85}';
            if c == ' ' {
                if breaks == 0 {
                    spaces += 1;
                }
            } else {
                breaks += 1;
            }
        }
        match breaks {
            0 => out.extend(std::iter::repeat_n(' ', spaces)),
            1 => out.push(' '),
            n => out.extend(std::iter::repeat_n('\n', n - 1)),
        }
        // Right after a break the reader is at column 0, where `---` or `...` and a blank
        // end the document.
        if after_break
            && (rest.starts_with("---") || rest.starts_with("..."))
            && rest[3..].starts_with([' ', '\u{85}'])
        {
            return Err(YamlError::DocumentIndicator);
        }
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests;
