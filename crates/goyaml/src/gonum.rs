//! Go's number text: `strconv.FormatFloat(x, 'g', -1, 64)`, encoding/json's float format, and
//! which strings `strconv.ParseInt`/`ParseUint`/`ParseFloat` accept (go-yaml's resolver asks
//! them whether a plain scalar is a number).
//!
//! Shortest digits come from Ryū (the `ryu` crate), as in Go's `strconv`: the shortest decimal
//! that reads back to the same float64 and, of two equally close, the one ending in an even
//! digit. Rust's own `{:e}` rounds such ties up (`694183643616285.25` → `…285.3`, Go `…285.2`).

/// The shortest decimal digits of a finite, non-zero `x.abs()` and the exponent of the first.
fn shortest(x: f64) -> (String, i32) {
    let mut buf = ryu::Buffer::new();
    // ryu writes `123.45`, `0.0001`, `1e21` or `1.5e-7`.
    let text = buf.format_finite(x.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut point = int.len() as i32 + exp.parse::<i32>().unwrap_or(0);
    let mut digits: String = [int, frac].concat();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    point -= leading as i32;
    digits.drain(..leading);
    digits.truncate(digits.trim_end_matches('0').len());
    (digits, point - 1)
}

/// `d.ddde±XX` (at least two exponent digits, as strconv writes them).
fn push_exponent_form(out: &mut String, digits: &str, exp: i32) {
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    if exp.unsigned_abs() < 10 {
        out.push('0');
    }
    out.push_str(&exp.unsigned_abs().to_string());
}

/// `ddd.ddd` with exactly the digits given.
fn push_fixed_form(out: &mut String, digits: &str, exp: i32) {
    if exp < 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(digits);
        return;
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', int_len - digits.len()));
    } else {
        out.push_str(&digits[..int_len]);
        out.push('.');
        out.push_str(&digits[int_len..]);
    }
}

/// `x`'s sign, then `body` with its shortest digits and the exponent of the first, or `0`.
fn format_shortest(x: f64, body: impl FnOnce(&mut String, &str, i32)) -> String {
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    if x == 0.0 {
        out.push('0');
    } else {
        let (digits, exp) = shortest(x);
        body(&mut out, &digits, exp);
    }
    out
}

/// `strconv.FormatFloat(x, 'g', -1, 64)` of a finite `x`: exponent form below 1e-4 and from
/// 1e+06 on, as go-yaml writes every float64 (`1e+06`, `1.5`, `-0`).
pub(crate) fn format_g(x: f64) -> String {
    format_shortest(x, |out, digits, exp| {
        if (-4..6).contains(&exp) {
            push_fixed_form(out, digits, exp);
        } else {
            push_exponent_form(out, digits, exp);
        }
    })
}

/// encoding/json's text for a finite float64: fixed form from 1e-6 up to 1e21, exponent form
/// outside it with a short negative exponent (`1e-7`, `1e+21`).
pub(crate) fn format_json(x: f64) -> String {
    format_shortest(x, |out, digits, exp| {
        if (1e-6..1e21).contains(&x.abs()) {
            push_fixed_form(out, digits, exp);
        } else {
            push_exponent_form(out, digits, exp);
            // json trims `e-07` to `e-7` (and leaves `e+21` alone).
            if out.ends_with(|c: char| c.is_ascii_digit()) && out[..out.len() - 1].ends_with("e-0")
            {
                out.remove(out.len() - 2);
            }
        }
    })
}

/// The digits of `s` in `base` (2 to 36) as Go reads them: at least one, each below the base,
/// the value within u64.
fn parse_digits(s: &[u8], base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &c in s {
        let d = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'a'..=b'z' => u32::from(c - b'a') + 10,
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `strconv.ParseUint(s, base, 64)` succeeds (no underscores: go-yaml removes them first).
/// Base 0 reads a `0b`/`0o`/`0x` prefix (with at least one digit after it) or a leading `0`
/// as octal.
pub(crate) fn parse_uint_ok(s: &str, base: u32) -> Option<u64> {
    let b = s.as_bytes();
    if base != 0 {
        return parse_digits(b, base);
    }
    if b.first() != Some(&b'0') {
        return parse_digits(b, 10);
    }
    if b.len() >= 3 {
        match b[1].to_ascii_lowercase() {
            b'b' => return parse_digits(&b[2..], 2),
            b'o' => return parse_digits(&b[2..], 8),
            b'x' => return parse_digits(&b[2..], 16),
            _ => {}
        }
    }
    // A lone "0" is octal with no digits left: zero.
    if b.len() == 1 {
        return Some(0);
    }
    parse_digits(&b[1..], 8)
}

/// `strconv.ParseInt(s, base, 64)` succeeds: an optional sign, then as [`parse_uint_ok`],
/// within i64.
pub(crate) fn parse_int_ok(s: &str, base: u32) -> bool {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    match parse_uint_ok(rest, base) {
        Some(n) if neg => n <= 1 << 63,
        Some(n) => n < 1 << 63,
        None => false,
    }
}

/// Go's `underscoreOK`: underscores only between digits (a base prefix counts as a digit).
fn underscores_ok(s: &[u8]) -> bool {
    let mut s = s;
    if let Some(b'+' | b'-') = s.first() {
        s = &s[1..];
    }
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
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

/// `strconv.ParseFloat(s, 64)` succeeds on a decimal float (hexadecimal floats and the
/// Inf/NaN words never reach here: go-yaml's callers have already looked at the first byte):
/// the whole text is Go float syntax, underscores sit between digits, and the value does not
/// overflow (Go reports a range error where Rust would give infinity).
pub(crate) fn parse_float_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if let Some(b'+' | b'-') = b.first() {
        i = 1;
    }
    let mut saw_dot = false;
    let mut saw_digits = false;
    let mut underscores = false;
    while i < b.len() {
        match b[i] {
            b'_' => underscores = true,
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return false;
    }
    if i < b.len() && b[i].eq_ignore_ascii_case(&b'e') {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            underscores |= b[i] == b'_';
            i += 1;
        }
    }
    if i != b.len() || underscores && !underscores_ok(b) {
        return false;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    plain.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_as_strconv_g_does() {
        for (x, want) in [
            (1_000_000.0, "1e+06"),
            (123_456.0, "123456"),
            (1_234_567.5, "1.2345675e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.0, "-0"),
            (1.5e300, "1.5e+300"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (-694183643616285.2, "-6.941836436162852e+14"),
            (5e-324, "5e-324"),
            (0.1, "0.1"),
        ] {
            assert_eq!(format_g(x), want, "{x}");
        }
    }

    #[test]
    fn floats_format_as_encoding_json_does() {
        for (x, want) in [
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (0.000001, "0.000001"),
            (1.5e-7, "1.5e-7"),
            (1e-10, "1e-10"),
            (-0.0, "-0"),
            (12.25, "12.25"),
        ] {
            assert_eq!(format_json(x), want, "{x}");
        }
    }

    #[test]
    fn integers_parse_as_strconv_does() {
        assert!(parse_int_ok("0755", 0));
        assert!(parse_int_ok("-0x1F", 0));
        assert!(parse_int_ok("0b101", 0));
        assert!(parse_int_ok("0o17", 0));
        assert!(parse_int_ok("0", 0));
        assert!(!parse_int_ok("08", 0));
        assert!(!parse_int_ok("0x", 0));
        assert!(!parse_int_ok("-", 0));
        assert!(parse_int_ok("-9223372036854775808", 0));
        assert!(!parse_int_ok("9223372036854775808", 0));
        assert!(parse_uint_ok("18446744073709551615", 0).is_some());
        assert!(parse_uint_ok("18446744073709551616", 0).is_none());
        assert!(parse_int_ok("-101", 2));
    }

    #[test]
    fn floats_parse_as_strconv_does() {
        assert!(parse_float_ok(".5"));
        assert!(parse_float_ok(".5_5"));
        assert!(parse_float_ok("1e5"));
        assert!(parse_float_ok("1."));
        assert!(parse_float_ok("1e-400"));
        assert!(!parse_float_ok("1e400"));
        assert!(!parse_float_ok("._5"));
        assert!(!parse_float_ok(".5."));
        assert!(!parse_float_ok(".e5"));
        assert!(!parse_float_ok("1e"));
    }
}
