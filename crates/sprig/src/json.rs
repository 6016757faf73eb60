//! Go's encoding/json for template values, byte for byte: `toJson` escapes `<`, `>`, `&` (and
//! U+2028/U+2029 always), sorts map keys, writes floats as Go does (`1e+21`, `1e-7`, never
//! `1.0`), refuses NaN and infinities; `fromJson` reads every number as a float64 and fails
//! with Go's syntax-error texts (`invalid character 'x' looking for beginning of value`).

use std::fmt::Write as _;

use gotemplate::{List, Map, Value};

/// How to lay out the output.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    /// Escape `<`, `>`, `&` as `\u003c`… (`json.Marshal`); off for `SetEscapeHTML(false)`.
    pub escape_html: bool,
    /// Indent nested values by this (`MarshalIndent(v, "", "  ")`).
    pub indent: Option<&'static str>,
}

/// `json.Marshal` (or `MarshalIndent`); the error is Go's.
pub(crate) fn encode(v: &Value, style: Style) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if let Some(ind) = style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_value(out: &mut String, v: &Value, style: Style, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)?),
        Value::String(s) => write_string(out, s, style.escape_html),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&crate::encoding::base64_encode(b));
            out.push('"');
        }
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, x) in l.items().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_value(out, x, style, depth + 1)?;
            }
            newline(out, style, depth);
            out.push(']');
        }
        Value::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, x)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, style, depth + 1);
                write_string(out, k, style.escape_html);
                out.push(':');
                if style.indent.is_some() {
                    out.push(' ');
                }
                write_value(out, x, style, depth + 1)?;
            }
            newline(out, style, depth);
            out.push('}');
        }
        Value::Object(o) => {
            if let Some(json) = crate::misc::object_json(o.as_ref()) {
                write_value(out, &json, style, depth)?;
            } else if let Some(u) = o.underlying() {
                write_value(out, &u, style, depth)?;
            } else {
                // A struct with no exported fields Go could see.
                out.push_str("{}");
            }
        }
    }
    Ok(())
}

/// encoding/json's float encoder: shortest digits, `'f'` form unless the magnitude is below
/// 1e-6 or at least 1e21, where it is `'e'` with a one-digit negative exponent kept short.
pub(crate) fn format_float(f: f64) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        let shown = gotemplate::gofmt::sprint(&[Value::Float(f)]);
        return Err(format!("json: unsupported value: {shown}"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust's `{:e}`: "1.5e-7", "1e21" → Go's "1.5e-07" cleaned to "1.5e-7", "1e+21".
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = e.parse().unwrap_or(0);
        return Ok(if exp < 0 {
            format!("{m}e-{}", -exp)
        } else {
            format!("{m}e+{exp:02}")
        });
    }
    // Rust's Display of f64 is the shortest round-trip digits in positional form.
    let s = format!("{f}");
    Ok(if s == "-0" { "-0".into() } else { s })
}

fn write_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => {
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 0xF]));
            }
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from(HEX[(c as usize) >> 4]));
                out.push(char::from(HEX[(c as usize) & 0xF]));
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The result of `json.Unmarshal` into an `interface{}`: the value decoded (as far as Go gets)
/// and Go's error, if any.
pub(crate) struct Decoded {
    pub value: Value,
    pub error: Option<String>,
}

/// `json.Unmarshal(text, &v)` with `v` an `interface{}`.
pub(crate) fn decode(text: &str) -> Decoded {
    let b = text.as_bytes();
    // Go validates the whole input before decoding anything.
    if let Err(e) = Parser::new(b, false).document() {
        return Decoded {
            value: Value::Nil,
            error: Some(e),
        };
    }
    let mut p = Parser::new(b, true);
    let value = p.document().unwrap_or(Value::Nil);
    Decoded {
        value,
        error: p.range_error,
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Whether to build values (the second pass) or only validate (the first).
    build: bool,
    /// The first number out of float64's range: Go decodes the rest and reports it.
    range_error: Option<String>,
}

type PResult = Result<Value, String>;

impl<'a> Parser<'a> {
    fn new(b: &'a [u8], build: bool) -> Parser<'a> {
        Parser {
            b,
            i: 0,
            build,
            range_error: None,
        }
    }

    fn document(&mut self) -> PResult {
        self.skip_ws();
        let v = self.value("looking for beginning of value")?;
        self.skip_ws();
        if self.i < self.b.len() {
            return Err(self.bad("after top-level value"));
        }
        Ok(v)
    }

    fn skip_ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Go's `invalid character 'c' CONTEXT` for the byte at the cursor, or the end of input.
    fn bad(&self, context: &str) -> String {
        match self.peek() {
            // At the end Go's scanner is fed a space: where a space is no whitespace (inside
            // a literal, a number, an escape), that space is the invalid character.
            None if !context.starts_with("in ") && !context.starts_with("after decimal") => {
                "unexpected end of JSON input".into()
            }
            None => format!("invalid character ' ' {context}"),
            Some(_) => {
                let c = self.char_at();
                format!("invalid character {} {context}", quote_char(c))
            }
        }
    }

    /// The byte at the cursor as Go's scanner quotes it: one byte taken as a rune (so the
    /// first byte of `é` shows as `Ã`).
    fn char_at(&self) -> char {
        char::from(self.b[self.i])
    }

    fn value(&mut self, context: &str) -> PResult {
        match self.peek() {
            None => Err("unexpected end of JSON input".into()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::from),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.bad(context)),
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> PResult {
        let name = std::str::from_utf8(word).unwrap_or("");
        for (k, &expect) in word.iter().enumerate() {
            if k == 0 {
                self.i += 1;
                continue;
            }
            match self.peek() {
                Some(c) if c == expect => self.i += 1,
                _ => {
                    return Err(self.bad(&format!(
                        "in literal {name} (expecting {})",
                        quote_char(char::from(expect))
                    )));
                }
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> PResult {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.bad("in numeric literal"));
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.bad("after decimal point in numeric literal"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.bad("in exponent of numeric literal"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if !self.build {
            return Ok(Value::Nil);
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                if self.range_error.is_none() {
                    self.range_error = Some(format!(
                        "json: cannot unmarshal number {text} into Go value of type float64"
                    ));
                }
                Ok(Value::Nil)
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        // At the opening quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unexpected end of JSON input".into());
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.bad("in string escape code"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let r = self.hex4()?;
                            if (0xD800..0xDC00).contains(&r) {
                                // A high surrogate pairs with a following \uDC00-\uDFFF.
                                let save = self.i;
                                if self.b.get(self.i) == Some(&b'\\')
                                    && self.b.get(self.i + 1) == Some(&b'u')
                                {
                                    self.i += 2;
                                    let r2 = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&r2) {
                                        let c = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
                                        out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                                        continue;
                                    }
                                    self.i = save;
                                }
                                out.push('\u{FFFD}');
                            } else {
                                out.push(char::from_u32(r).unwrap_or('\u{FFFD}'));
                            }
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.bad("in string escape code"));
                        }
                    }
                }
                c if c < 0x20 => return Err(self.bad("in string literal")),
                _ => {
                    let start = self.i;
                    while self
                        .peek()
                        .is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20)
                    {
                        self.i += 1;
                    }
                    out.push_str(&String::from_utf8_lossy(&self.b[start..self.i]));
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut r = 0u32;
        for _ in 0..4 {
            match self.peek() {
                Some(c) if c.is_ascii_hexdigit() => {
                    r = r * 16 + char::from(c).to_digit(16).unwrap_or(0);
                    self.i += 1;
                }
                _ => return Err(self.bad("in \\u hexadecimal character escape")),
            }
        }
        Ok(r)
    }

    fn object(&mut self) -> PResult {
        self.i += 1;
        let map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Map(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.bad("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.bad("after object key"));
            }
            self.i += 1;
            self.skip_ws();
            let v = self.value("looking for beginning of value")?;
            if self.build {
                map.insert(key, v);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Map(map));
                }
                _ => return Err(self.bad("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> PResult {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::List(List::new(items)));
        }
        loop {
            self.skip_ws();
            let v = self.value("looking for beginning of value")?;
            if self.build {
                items.push(v);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::List(List::new(items)));
                }
                _ => return Err(self.bad("after array element")),
            }
        }
    }
}

/// encoding/json's `quoteChar`.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        _ => {
            let q = gotemplate::gofmt::sprintf("%q", &[Value::from(c.to_string())]);
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_writes_them() {
        for (f, s) in [
            (1.0, "1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (-0.0, "-0"),
            (123456789.0, "123456789"),
        ] {
            assert_eq!(format_float(f).unwrap(), s);
        }
        assert_eq!(
            format_float(f64::NAN).unwrap_err(),
            "json: unsupported value: NaN"
        );
    }

    #[test]
    fn syntax_errors_as_go_words_them() {
        for (text, e) in [
            ("", "unexpected end of JSON input"),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            ("[1 2]", "invalid character '2' after array element"),
            (
                "tru",
                "invalid character ' ' in literal true (expecting 'e')",
            ),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            ("1 2", "invalid character '2' after top-level value"),
            (
                "{1:2}",
                "invalid character '1' looking for beginning of object key string",
            ),
        ] {
            assert_eq!(decode(text).error.as_deref(), Some(e), "{text}");
        }
    }
}
