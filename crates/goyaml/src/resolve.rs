//! Which strings go-yaml must quote: those that, written plain, would read back as something
//! other than a string. go-yaml asks its own resolver (the YAML 1.1 tag table below) and quotes
//! what it would not read back as `!!str`:
//!
//! | first byte         | read as                                         | examples                    |
//! |--------------------|-------------------------------------------------|-----------------------------|
//! | any listed word    | bool, null, ±inf, nan                           | `yes` `Off` `~` `null` `.NaN` |
//! | `.`                | float if Go's ParseFloat takes it               | `.5` `.5e3` `.1_0`          |
//! | digit, `+`, `-`    | timestamp, then int (underscores dropped: `0x1F` `0755` `0b1` `1_000`), then float, then `0b…` | `2001-12-14` `1e3` `-.5` `0b-1` |
//!
//! v3 (toYamlPretty) no longer reads y/n/yes/no/on/off as bools but quotes them anyway (its
//! `isOldBool`), and reads `0o` with an explicit base as it does `0b` (`0o-5`): that sign is
//! the only difference. Both quote base-60 floats (`12:30`, `1:2:3.5`) for YAML 1.1 readers.

use crate::gonum::{parse_float_ok, parse_int_ok, parse_uint_ok};

/// The two go-yaml versions Helm writes through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Version {
    /// go.yaml.in/yaml/v2, under sigs.k8s.io/yaml's Marshal: Helm's `toYaml`.
    V2,
    /// go.yaml.in/yaml/v3's Encoder: Helm's `toYamlPretty`.
    V3,
}

const V2_BOOLS: [&str; 16] = [
    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off",
    "OFF",
];

const WORDS: [&str; 23] = [
    "true", "True", "TRUE", "false", "False", "FALSE", "", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF",
];

/// go-yaml's `resolve("", s)` returns a tag other than `!!str`.
fn resolves_to_non_string(s: &str, version: Version) -> bool {
    let hint = match s.as_bytes().first() {
        None => return true, // "" is null
        Some(&c) => c,
    };
    match hint {
        b'+'
        | b'-'
        | b'0'..=b'9'
        | b'.'
        | b'y'
        | b'Y'
        | b'n'
        | b'N'
        | b't'
        | b'T'
        | b'f'
        | b'F'
        | b'o'
        | b'O'
        | b'~' => {}
        _ => return false,
    }
    if WORDS.contains(&s) {
        return true;
    }
    match hint {
        b'.' => parse_float_ok(s),
        b'+' | b'-' | b'0'..=b'9' => number_or_timestamp(s, version),
        _ => false,
    }
}

fn number_or_timestamp(s: &str, version: Version) -> bool {
    if is_timestamp(s) {
        return true;
    }
    let plain = s.replace('_', "");
    if parse_int_ok(&plain, 0) || parse_uint_ok(&plain, 0).is_some() {
        return true;
    }
    if is_yaml_style_float(&plain) && parse_float_ok(&plain) {
        return true;
    }
    // go-yaml's own prefixed forms, read with an explicit base (so a sign may follow `0b`).
    let prefixed = |prefix: &str, base: u32| {
        if let Some(rest) = plain.strip_prefix(prefix) {
            parse_int_ok(rest, base) || parse_uint_ok(rest, base).is_some()
        } else if let Some(rest) = plain.strip_prefix('-').and_then(|p| p.strip_prefix(prefix)) {
            parse_int_ok(&format!("-{rest}"), base)
        } else {
            false
        }
    };
    prefixed("0b", 2) || version == Version::V3 && prefixed("0o", 8)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`: YAML 1.1's sexagesimal floats.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        // [0-5]?[0-9]: one digit, or two with the first at most 5.
        let d1 = b.get(i + 1).filter(|c| c.is_ascii_digit());
        let d2 = b.get(i + 2).filter(|c| c.is_ascii_digit());
        match (d1, d2) {
            (Some(&a), Some(_)) if a <= b'5' => i += 3,
            (Some(_), _) => i += 2,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml writes `s` plain only if it reads back as this same string. YAML 1.1's booleans
/// (v2 reads them as bools; v3 quotes them anyway) and base-60 floats stay quoted too.
pub(crate) fn can_be_plain(s: &str, version: Version) -> bool {
    !(V2_BOOLS.contains(&s) || is_base60_float(s) || resolves_to_non_string(s, version))
}

/// go-yaml's timestamps: Go's `time.Parse` with one of `2006-1-2T15:4:5.999999999Z07:00`, the
/// same with a lower-case `t`, `2006-1-2 15:4:5.999999999` and `2006-1-2`, after a quick check
/// that the text starts with exactly four digits and a dash.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if lead != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    [Some(b'T'), Some(b't'), Some(b' '), None]
        .into_iter()
        .any(|sep| parses_as_layout(b, sep))
}

/// time.Parse's `getnum`: one digit, or two when the next is a digit too (`fixed` wants two).
fn getnum(b: &[u8], i: &mut usize, fixed: bool) -> Option<u32> {
    let d = |k: usize| {
        b.get(k)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let first = d(*i)?;
    match d(*i + 1) {
        Some(second) => {
            *i += 2;
            Some(first * 10 + second)
        }
        None if fixed => None,
        None => {
            *i += 1;
            Some(first)
        }
    }
}

fn literal(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    (b.get(*i) == Some(&c)).then(|| *i += 1)
}

/// One of go-yaml's four layouts: the date, then (unless `sep` is None) the separator, the
/// clock with optional fraction, and for `T`/`t` the zone (`Z` or `±hh:mm`).
fn parses_as_layout(b: &[u8], sep: Option<u8>) -> bool {
    let parse = || -> Option<()> {
        let year: u32 = std::str::from_utf8(&b[..4]).ok()?.parse().ok()?;
        let mut i = 4;
        literal(b, &mut i, b'-')?;
        let month = getnum(b, &mut i, false).filter(|m| (1..=12).contains(m))?;
        literal(b, &mut i, b'-')?;
        let day = getnum(b, &mut i, false)?;
        if let Some(sep) = sep {
            if sep == b' ' {
                // A space in a layout matches one or more spaces (or the end of the text).
                if i < b.len() && b[i] != b' ' {
                    return None;
                }
                while b.get(i) == Some(&b' ') {
                    i += 1;
                }
            } else {
                literal(b, &mut i, sep)?;
            }
            getnum(b, &mut i, false).filter(|&h| h < 24)?;
            literal(b, &mut i, b':')?;
            getnum(b, &mut i, false).filter(|&m| m < 60)?;
            literal(b, &mut i, b':')?;
            getnum(b, &mut i, false).filter(|&s| s < 60)?;
            if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit)
            {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            if sep != b' ' {
                if b.get(i) == Some(&b'Z') {
                    i += 1;
                } else {
                    let zone = b.get(i..i + 6)?;
                    if zone[3] != b':' {
                        return None;
                    }
                    let (mut h, mut m) = (1, 4);
                    let hours = getnum(zone, &mut h, true)?;
                    let minutes = getnum(zone, &mut m, true)?;
                    if hours > 24 || minutes > 60 || !matches!(zone[0], b'+' | b'-') {
                        return None;
                    }
                    i += 6;
                }
            }
        }
        (i == b.len() && day >= 1 && day <= days_in(month, year)).then_some(())
    };
    parse().is_some()
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_that_read_back_as_other_types_are_not_plain() {
        for s in [
            "",
            "~",
            "null",
            "yes",
            "Off",
            "y",
            "true",
            "FALSE",
            ".inf",
            "-.Inf",
            ".NaN",
            "1",
            "-1",
            "+1",
            "0755",
            "0x1F",
            "1_000",
            "1e3",
            "1.",
            ".5",
            "-.5",
            "0b101",
            "0b-1",
            "12:30",
            "1:2:3.5",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "2001-1-2T3:4:5Z",
            "2024-02-29",
        ] {
            assert!(!can_be_plain(s, Version::V2), "{s:?} must be quoted");
        }
    }

    #[test]
    fn strings_that_read_back_as_themselves_are_plain() {
        for s in [
            "hello",
            "1e400",
            "0x",
            "08x",
            "+inf",
            ".",
            "._5",
            "12:60",
            "2023-02-29",
            "2001-12-14T21:59:43",
            "20011-12-14",
            "2001-12-14 ",
            "0o",
            "<<",
            "1.2.3",
            "yesno",
        ] {
            assert!(can_be_plain(s, Version::V2), "{s:?} may be plain");
        }
    }

    #[test]
    fn v3_differs_only_in_a_signed_octal_prefix() {
        assert!(!can_be_plain("0o17", Version::V2));
        assert!(can_be_plain("0o-5", Version::V2));
        assert!(!can_be_plain("0o-5", Version::V3));
        assert!(!can_be_plain("yes", Version::V3));
        assert!(!can_be_plain("on", Version::V3));
    }
}
