//! Go's conversions as Sprig reaches them: spf13/cast's `ToInt64`/`ToFloat64` (every math
//! function converts its operands this way, errors read as 0), strconv's `ParseInt` with base
//! 0 and `ParseFloat`, Sprig's `strval` (how a value becomes a string for `join`, `quote`,
//! `toString`) and its `empty` (the rule behind `default`, `empty`, `coalesce`, `compact`).

use gotemplate::gofmt;
use gotemplate::{Elem, Value};

/// Sprig's `strval`: strings as they are, bytes as text, a value with `String()` through it,
/// anything else as `%v` prints it.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Object(o) => o
            .string()
            .unwrap_or_else(|| gofmt::sprint(std::slice::from_ref(v))),
        _ => gofmt::sprint(std::slice::from_ref(v)),
    }
}

/// cast's `ToInt64` with the error dropped: numbers convert (floats truncate, as Go's
/// `int64(f)` does on amd64), bools are 0/1, strings parse as Go integer literals (after a
/// trailing `.0…` is cut), anything else is 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Nil => 0,
        Value::Bool(b) => i64::from(*b),
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Float(f) => float_to_int64(*f),
        Value::String(s) => parse_int(trim_zero_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// cast's `ToFloat64` with the error dropped.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Nil => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `int64(f)` on amd64: truncation, and the "integer indefinite" value (the smallest
/// int64) for NaN and anything out of range.
pub fn float_to_int64(f: f64) -> i64 {
    // ±2^63: the int64 range as floats.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// cast's `trimZeroDecimal`: "12.000" is "12", "12.50" stays.
fn trim_zero_decimal(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut found_zero = false;
    for i in (1..=bytes.len()).rev() {
        match bytes[i - 1] {
            b'.' => {
                if found_zero {
                    return &s[..i - 1];
                }
            }
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// Why strconv refused a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumError {
    Syntax,
    /// Out of range: the value strconv returns alongside (clamped).
    Range,
}

/// strconv's `ParseInt(s, 0, 64)`: sign, then `0x`/`0o`/`0b`/`0` prefixes and `_` separators
/// as in Go literals.
pub fn parse_int(s: &str) -> Result<i64, NumError> {
    parse_int_clamped(s, 0).map_err(|(e, _)| e)
}

/// strconv's `ParseInt(s, base, 64)`, returning on a range error the clamped value Go
/// returns with it (Sprig's `atoi` keeps it).
pub fn parse_int_clamped(s: &str, base: u32) -> Result<i64, (NumError, i64)> {
    if s.is_empty() {
        return Err((NumError::Syntax, 0));
    }
    let (neg, digits) = match s.as_bytes()[0] {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let un = match parse_uint(digits, base) {
        Ok(u) => u,
        Err(NumError::Range) => u64::MAX,
        Err(e) => return Err((e, 0)),
    };
    let cutoff = 1u64 << 63;
    if !neg && un >= cutoff {
        return Err((NumError::Range, i64::MAX));
    }
    if neg && un > cutoff {
        return Err((NumError::Range, i64::MIN));
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

fn parse_uint(s: &str, base: u32) -> Result<u64, NumError> {
    if s.is_empty() {
        return Err(NumError::Syntax);
    }
    let bytes = s.as_bytes();
    let base0 = base == 0;
    let (base, digits) = if base0 {
        if bytes[0] == b'0' {
            match bytes.get(1).map(|c| c | 0x20) {
                Some(b'b') if bytes.len() >= 3 => (2, &bytes[2..]),
                Some(b'o') if bytes.len() >= 3 => (8, &bytes[2..]),
                Some(b'x') if bytes.len() >= 3 => (16, &bytes[2..]),
                _ => (8, &bytes[1..]),
            }
        } else {
            (10, bytes)
        }
    } else {
        (base, bytes)
    };
    let mut underscores = false;
    let mut n: u64 = 0;
    let mut overflow = false;
    for &c in digits {
        let d = match c {
            b'_' if base0 => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => u32::from(c - b'0'),
            _ if (c | 0x20).is_ascii_lowercase() => u32::from((c | 0x20) - b'a') + 10,
            _ => return Err(NumError::Syntax),
        };
        if d >= base {
            return Err(NumError::Syntax);
        }
        if overflow {
            continue;
        }
        match n
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(d)))
        {
            Some(m) => n = m,
            None => overflow = true,
        }
    }
    if underscores && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    if overflow {
        return Err(NumError::Range);
    }
    Ok(n)
}

/// strconv's `underscoreOK`: underscores only between digits, or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let b = if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        &b[1..]
    } else {
        b
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && (c | 0x20).is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// strconv's `ParseFloat(s, 64)`: Go float literals (decimal and hex, `_` separators),
/// `inf`/`infinity`/`nan` in any case. Out of range is an error, as in Go.
pub fn parse_float(s: &str) -> Result<f64, NumError> {
    if let Some(f) = special_float(s) {
        return Ok(f);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let hex = i + 2 < b.len() && b[i] == b'0' && b[i + 1] | 0x20 == b'x';
    if hex {
        i += 2;
    }
    let mut clean = String::with_capacity(s.len());
    let mut underscores = false;
    let mut saw_dot = false;
    let mut saw_digits = false;
    let mut mantissa_digits = String::new();
    let mut dot_pos = None;
    while i < b.len() {
        let c = b[i];
        match c {
            b'_' => underscores = true,
            b'.' if !saw_dot => {
                saw_dot = true;
                dot_pos = Some(mantissa_digits.len());
                clean.push('.');
            }
            b'0'..=b'9' => {
                saw_digits = true;
                mantissa_digits.push(char::from(c));
                clean.push(char::from(c));
            }
            _ if hex && c.is_ascii_hexdigit() => {
                saw_digits = true;
                mantissa_digits.push(char::from(c));
            }
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return Err(NumError::Syntax);
    }
    let exp_char = if hex { b'p' } else { b'e' };
    let mut exp: i64 = 0;
    let mut exp_text = String::new();
    if i < b.len() && b[i] | 0x20 == exp_char {
        i += 1;
        if i >= b.len() {
            return Err(NumError::Syntax);
        }
        let mut esign = 1;
        if b[i] == b'+' || b[i] == b'-' {
            esign = if b[i] == b'-' { -1 } else { 1 };
            exp_text.push(char::from(b[i]));
            i += 1;
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return Err(NumError::Syntax);
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else {
                exp_text.push(char::from(b[i]));
                if exp < 100_000 {
                    exp = exp * 10 + i64::from(b[i] - b'0');
                }
            }
            i += 1;
        }
        exp *= esign;
    } else if hex {
        return Err(NumError::Syntax);
    }
    if i != b.len() {
        return Err(NumError::Syntax);
    }
    if underscores && !underscore_ok(s) {
        return Err(NumError::Syntax);
    }
    let value = if hex {
        hex_float(&mantissa_digits, dot_pos, exp)
    } else {
        if !exp_text.is_empty() {
            clean.push('e');
            clean.push_str(&exp_text);
        }
        clean.parse::<f64>().map_err(|_| NumError::Syntax)?
    };
    if value.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(if neg { -value } else { value })
}

fn hex_float(digits: &str, dot: Option<usize>, exp: i64) -> f64 {
    let frac_digits = dot.map_or(0, |d| digits.len() - d);
    let mut mantissa = 0f64;
    for c in digits.chars() {
        mantissa = mantissa * 16.0 + f64::from(c.to_digit(16).unwrap_or(0));
    }
    let e = exp - 4 * frac_digits as i64;
    mantissa * 2f64.powi(e.clamp(-2000, 2000) as i32)
}

fn special_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let (sign, rest) = match lower.as_bytes().first() {
        Some(b'+') => (1.0, &lower[1..]),
        Some(b'-') => (-1.0, &lower[1..]),
        _ => (1.0, lower.as_str()),
    };
    if rest == "inf" || rest == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    None
}

/// Sprig's `empty`: nil, false, 0, and empty strings, lists and maps are empty; structs and
/// pointers (objects) never are.
pub fn empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(o) => match o.underlying() {
            Some(u) if matches!(o.kind(), "map" | "slice") => empty(&u),
            _ => false,
        },
    }
}

/// The kind names Sprig's errors show (`reflect.Kind`'s `String`).
pub fn kind(v: &Value) -> &str {
    v.kind_name()
}

/// The items of any Go slice (a list, bytes, or an object over one), as `reflect` indexes
/// them; `None` for anything else.
pub fn slice_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.items().to_vec()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Int(i64::from(*x))).collect()),
        Value::Object(o) if o.kind() == "slice" => o.underlying().and_then(|u| slice_items(&u)),
        _ => None,
    }
}

/// Whether the value is a Go slice (for functions that take one by reflection).
pub fn is_slice(v: &Value) -> bool {
    match v {
        Value::List(_) | Value::Bytes(_) => true,
        Value::Object(o) => o.kind() == "slice",
        _ => false,
    }
}

/// A `[]string` of the given strings.
pub fn string_list(items: impl IntoIterator<Item = String>) -> Value {
    Value::List(gotemplate::List::of_strings(items))
}

/// A `[]int`.
pub fn int_list(items: impl IntoIterator<Item = i64>) -> Value {
    Value::List(gotemplate::List::typed(
        Elem::Int,
        items.into_iter().map(Value::Int).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_integer_literals() {
        assert_eq!(parse_int("0x1F"), Ok(31));
        assert_eq!(parse_int("017"), Ok(15));
        assert_eq!(parse_int("0o17"), Ok(15));
        assert_eq!(parse_int("0b101"), Ok(5));
        assert_eq!(parse_int("1_000"), Ok(1000));
        assert_eq!(parse_int("_1"), Err(NumError::Syntax));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_int("08"), Err(NumError::Syntax));
        assert_eq!(parse_int("0"), Ok(0));
    }

    #[test]
    fn go_float_literals() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float("1_000.5"), Ok(1000.5));
        assert_eq!(parse_float("0x1p-2"), Ok(0.25));
        assert_eq!(parse_float("-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_float("1e400"), Err(NumError::Range));
        assert_eq!(parse_float("1e"), Err(NumError::Syntax));
        assert_eq!(parse_float(" 1"), Err(NumError::Syntax));
        assert!(parse_float("nan").is_ok_and(f64::is_nan));
        assert_eq!(parse_float("+nan"), Err(NumError::Syntax));
    }

    #[test]
    fn float_to_int_is_amd64s() {
        assert_eq!(float_to_int64(2.9), 2);
        assert_eq!(float_to_int64(-2.9), -2);
        assert_eq!(float_to_int64(f64::NAN), i64::MIN);
        assert_eq!(float_to_int64(1e19), i64::MIN);
    }
}
