//! Helm's scalar rules (the table in the module docs of [`super`]): how a plain scalar, a
//! tagged one, and a map key resolve.

use std::borrow::Cow;

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

/// Turn a resolved key into the JSON key string, as sigs.k8s.io/yaml does.
pub(super) fn key_string(v: Value) -> Option<String> {
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

pub(super) fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, String> {
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
    // The end of the run of digits that starts at `i`.
    let digits_from = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_end = digits_from(i);
    let int_digits = int_end - i;
    i = int_end;
    if b.get(i) == Some(&b'.') {
        let frac_end = digits_from(i + 1);
        // `\.[0-9]+`: without digits before the dot, there must be some after it.
        if int_digits == 0 && frac_end == i + 1 {
            return false;
        }
        i = frac_end;
    } else if int_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_end = digits_from(i);
        if exp_end == i {
            return false;
        }
        i = exp_end;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_style_floats() {
        for ok in [
            "1", "1.", ".5", "-1.5", "+2e3", "1E-7", "0.0", "12", "-.5e+2",
        ] {
            assert!(is_yaml_style_float(ok), "{ok}");
        }
        for bad in [
            "", ".", "-", "+.", "e3", ".e3", "1e", "1e+", "1.2.3", "..5", "1_0", "0x1", " 1", "1 ",
            "--1",
        ] {
            assert!(!is_yaml_style_float(bad), "{bad}");
        }
    }
}
