//! String functions, as Go's `strings`, Masterminds/goutils and huandu/xstrings (the
//! libraries Sprig calls) compute them.
//!
//! Several of them work on bytes, not characters, in Go: `trunc`, `substr`, `abbrev`, `wrap`
//! cut at byte offsets, `initials` and `nospace` read each byte as a Latin-1 rune. They do the
//! same here; where Go would produce invalid UTF-8, the bytes are read lossily.

use gotemplate::gofmt;
use gotemplate::{Elem, List, Map, Param, Value};

use crate::unicode as uni;
use crate::{R, Registry, arg, conv, err, int_arg, sig, sig_var, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("trim", sig(&[String]), |a| {
        Ok(string(str_arg(a, 0)?.trim()))
    });
    r.add("upper", sig(&[String]), |a| {
        Ok(string(
            str_arg(a, 0)?
                .chars()
                .map(uni::to_upper)
                .collect::<std::string::String>(),
        ))
    });
    r.add("lower", sig(&[String]), |a| {
        Ok(string(
            str_arg(a, 0)?
                .chars()
                .map(uni::to_lower)
                .collect::<std::string::String>(),
        ))
    });
    r.add("title", sig(&[String]), |a| {
        Ok(string(title(str_arg(a, 0)?)))
    });
    r.add("untitle", sig(&[String]), |a| {
        Ok(string(untitle(str_arg(a, 0)?)))
    });
    r.add("substr", sig(&[Int, Int, String]), |a| {
        substr(int_arg(a, 0)?, int_arg(a, 1)?, str_arg(a, 2)?)
    });
    r.add("repeat", sig(&[Int, String]), |a| {
        Ok(string(repeat(str_arg(a, 1)?, int_arg(a, 0)?)?))
    });
    for name in ["trimall", "trimAll"] {
        r.add(name, sig(&[String, String]), |a| {
            let cutset = str_arg(a, 0)?;
            Ok(string(str_arg(a, 1)?.trim_matches(|c| cutset.contains(c))))
        });
    }
    r.add("trimSuffix", sig(&[String, String]), |a| {
        let (suffix, s) = (str_arg(a, 0)?, str_arg(a, 1)?);
        Ok(string(s.strip_suffix(suffix).unwrap_or(s)))
    });
    r.add("trimPrefix", sig(&[String, String]), |a| {
        let (prefix, s) = (str_arg(a, 0)?, str_arg(a, 1)?);
        Ok(string(s.strip_prefix(prefix).unwrap_or(s)))
    });
    r.add("nospace", sig(&[String]), |a| {
        Ok(string(nospace(str_arg(a, 0)?)))
    });
    r.add("initials", sig(&[String]), |a| {
        Ok(string(initials(str_arg(a, 0)?)))
    });
    r.add("swapcase", sig(&[String]), |a| {
        Ok(string(swapcase(str_arg(a, 0)?)))
    });
    r.add("shuffle", sig(&[String]), |a| {
        Ok(string(shuffle(str_arg(a, 0)?)))
    });
    r.add("snakecase", sig(&[String]), |a| {
        Ok(string(camel_to_lower(str_arg(a, 0)?, '_')))
    });
    r.add("kebabcase", sig(&[String]), |a| {
        Ok(string(camel_to_lower(str_arg(a, 0)?, '-')))
    });
    r.add("camelcase", sig(&[String]), |a| {
        Ok(string(pascal_case(str_arg(a, 0)?)))
    });
    r.add("wrap", sig(&[Int, String]), |a| {
        Ok(bytes_value(wrap(str_arg(a, 1)?, int_arg(a, 0)?, "", false)))
    });
    r.add("wrapWith", sig(&[Int, String, String]), |a| {
        Ok(bytes_value(wrap(
            str_arg(a, 2)?,
            int_arg(a, 0)?,
            str_arg(a, 1)?,
            true,
        )))
    });
    r.add("contains", sig(&[String, String]), |a| {
        Ok(Value::Bool(str_arg(a, 1)?.contains(str_arg(a, 0)?)))
    });
    r.add("hasPrefix", sig(&[String, String]), |a| {
        Ok(Value::Bool(str_arg(a, 1)?.starts_with(str_arg(a, 0)?)))
    });
    r.add("hasSuffix", sig(&[String, String]), |a| {
        Ok(Value::Bool(str_arg(a, 1)?.ends_with(str_arg(a, 0)?)))
    });
    r.add("quote", sig_var(&[], Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| gofmt::sprintf("%q", &[Value::from(conv::strval(v))]))
            .collect();
        Ok(string(parts.join(" ")))
    });
    r.add("squote", sig_var(&[], Any), |a| {
        let parts: Vec<std::string::String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", gofmt::sprint(std::slice::from_ref(v))))
            .collect();
        Ok(string(parts.join(" ")))
    });
    r.add("cat", sig_var(&[], Any), |a| {
        let parts: Vec<Value> = a.iter().filter(|v| !v.is_nil()).cloned().collect();
        let format = vec!["%v"; parts.len()].join(" ");
        Ok(string(gofmt::sprintf(&format, &parts)))
    });
    r.add("indent", sig(&[Int, String]), |a| {
        Ok(string(indent(int_arg(a, 0)?, str_arg(a, 1)?)?))
    });
    r.add("nindent", sig(&[Int, String]), |a| {
        Ok(string(format!(
            "\n{}",
            indent(int_arg(a, 0)?, str_arg(a, 1)?)?
        )))
    });
    r.add("replace", sig(&[String, String, String]), |a| {
        Ok(string(
            str_arg(a, 2)?.replace(str_arg(a, 0)?, str_arg(a, 1)?),
        ))
    });
    r.add("plural", sig(&[String, String, Int]), |a| {
        Ok(arg(a, if int_arg(a, 2)? == 1 { 0 } else { 1 }).clone())
    });
    r.add("abbrev", sig(&[Int, String]), |a| {
        let (width, s) = (int_arg(a, 0)?, str_arg(a, 1)?);
        if width < 4 {
            return Ok(arg(a, 1).clone());
        }
        Ok(abbreviate(s, 0, width)?.map_or_else(|| string(""), bytes_value))
    });
    r.add("abbrevboth", sig(&[Int, Int, String]), |a| {
        let (left, right, s) = (int_arg(a, 0)?, int_arg(a, 1)?, str_arg(a, 2)?);
        if right < 4 || left > 0 && right < 7 {
            return Ok(arg(a, 2).clone());
        }
        Ok(abbreviate(s, left, right)?.map_or_else(|| string(""), bytes_value))
    });
    r.add("trunc", sig(&[Int, String]), |a| {
        let (c, s) = (int_arg(a, 0)?, str_arg(a, 1)?);
        let len = s.len() as i64;
        Ok(if c < 0 && len.wrapping_add(c) > 0 {
            bytes_value(s.as_bytes()[(len + c) as usize..].to_vec())
        } else if c >= 0 && len > c {
            bytes_value(s.as_bytes()[..c as usize].to_vec())
        } else {
            arg(a, 1).clone()
        })
    });
    r.add("split", sig(&[String, String]), |a| {
        Ok(indexed_map(go_split(str_arg(a, 1)?, str_arg(a, 0)?, -1)))
    });
    r.add("splitn", sig(&[String, Int, String]), |a| {
        Ok(indexed_map(go_split(
            str_arg(a, 2)?,
            str_arg(a, 0)?,
            int_arg(a, 1)?,
        )))
    });
    r.add("splitList", sig(&[String, String]), |a| {
        Ok(conv::string_list(
            go_split(str_arg(a, 1)?, str_arg(a, 0)?, -1)
                .into_iter()
                .map(str::to_string),
        ))
    });
    r.add("toStrings", sig(&[Any]), |a| Ok(to_strings(arg(a, 0))));
    r.add("join", sig(&[String, Any]), |a| {
        let parts = strslice(arg(a, 1));
        Ok(string(parts.join(str_arg(a, 0)?)))
    });
    r.add("sortAlpha", sig(&[Any]), |a| {
        let v = arg(a, 0);
        let mut items = if conv::is_slice(v) {
            strslice(v)
        } else {
            vec![conv::strval(v)]
        };
        items.sort();
        Ok(conv::string_list(items))
    });
}

/// Bytes that Go would hold as a string, as text (lossily where Go would keep invalid UTF-8).
fn bytes_value(bytes: Vec<u8>) -> Value {
    match std::string::String::from_utf8(bytes) {
        Ok(s) => string(s),
        Err(e) => string(std::string::String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// `strings.Repeat`, with its panics as errors.
pub(crate) fn repeat(s: &str, count: i64) -> Result<std::string::String, gotemplate::FuncError> {
    if count < 0 {
        return Err(err("strings: negative Repeat count"));
    }
    let total = (s.len() as u64).checked_mul(count as u64);
    match total {
        Some(n) if n <= (isize::MAX as u64) => {}
        _ => return Err(err("strings: Repeat output length overflow")),
    }
    // Far beyond any chart's need: Go would exhaust memory; stop with its message instead.
    if total.unwrap_or(0) > 1 << 32 {
        return Err(err("strings: Repeat output length overflow"));
    }
    Ok(s.repeat(count as usize))
}

fn indent(spaces: i64, s: &str) -> Result<std::string::String, gotemplate::FuncError> {
    let pad = repeat(" ", spaces)?;
    let mut out = std::string::String::with_capacity(s.len() + pad.len() * 2);
    out.push_str(&pad);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    Ok(out)
}

/// `strings.Title`: the first letter of each word to title case, words split at anything
/// but letters, digits and `_`.
fn title(s: &str) -> std::string::String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let sep = if (prev as u32) <= 0x7F {
                !(prev.is_ascii_alphanumeric() || prev == '_')
            } else if uni::is_letter(prev) || uni::is_digit(prev) {
                false
            } else {
                uni::is_space(prev)
            };
            prev = c;
            if sep { uni::to_title(c) } else { c }
        })
        .collect()
}

/// goutils' `Uncapitalize`: the first letter after whitespace to lower case.
fn untitle(s: &str) -> std::string::String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if uni::is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                uni::to_lower(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils' `SwapCase`.
fn swapcase(s: &str) -> std::string::String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if uni::is_upper(c) || uni::is_title(c) {
                whitespace = false;
                uni::to_lower(c)
            } else if uni::is_lower(c) {
                if whitespace {
                    whitespace = false;
                    uni::to_title(c)
                } else {
                    uni::to_upper(c)
                }
            } else {
                whitespace = uni::is_space(c);
                c
            }
        })
        .collect()
}

/// goutils' `DeleteWhiteSpace`, byte by byte as Go reads it: each byte is taken as a rune, so
/// a string that loses whitespace has its non-ASCII bytes re-encoded as Latin-1 runes.
fn nospace(s: &str) -> std::string::String {
    let kept: Vec<char> = s
        .bytes()
        .map(char::from)
        .filter(|&c| !uni::is_space(c))
        .collect();
    if kept.len() == s.len() {
        return s.to_string();
    }
    kept.into_iter().collect()
}

/// goutils' `Initials`, byte by byte as Go reads it.
fn initials(s: &str) -> std::string::String {
    let mut out = std::string::String::new();
    let mut gap = true;
    for c in s.bytes().map(char::from) {
        if uni::is_space(c) {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    out
}

fn shuffle(s: &str) -> std::string::String {
    use rand::seq::SliceRandom;
    let mut chars: Vec<char> = s.chars().collect();
    chars.shuffle(&mut rand::rng());
    chars.into_iter().collect()
}

/// `substr`: Go slicing of the bytes, with Go's out-of-range panics as errors.
fn substr(start: i64, end: i64, s: &str) -> R {
    let len = s.len() as i64;
    let b = s.as_bytes();
    let (lo, hi) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if start < 0 {
        if hi < 0 {
            return Err(err(format!(
                "runtime error: slice bounds out of range [:{hi}]"
            )));
        }
        if hi > len {
            return Err(err(format!(
                "runtime error: slice bounds out of range [:{hi}] with length {len}"
            )));
        }
    } else if lo > hi {
        return Err(err(format!(
            "runtime error: slice bounds out of range [{lo}:{hi}]"
        )));
    }
    Ok(bytes_value(b[lo as usize..hi as usize].to_vec()))
}

/// goutils' `AbbreviateFull` (byte offsets, Go's wrapping int arithmetic); `None` for its
/// errors, which Sprig turns into "". Offsets Go would slice out of range are its panics.
fn abbreviate(
    s: &str,
    offset: i64,
    max_width: i64,
) -> Result<Option<Vec<u8>>, gotemplate::FuncError> {
    let b = s.as_bytes();
    let len = b.len() as i64;
    if b.is_empty() {
        return Ok(Some(Vec::new()));
    }
    if max_width < 4 {
        return Ok(None);
    }
    if len <= max_width {
        return Ok(Some(b.to_vec()));
    }
    let keep = max_width.wrapping_sub(3);
    let mut offset = offset.min(len);
    if len.wrapping_sub(offset) < keep {
        offset = len.wrapping_sub(keep);
    }
    let marker = b"...";
    if offset <= 4 {
        let mut out = go_slice(b, 0, keep)?.to_vec();
        out.extend_from_slice(marker);
        return Ok(Some(out));
    }
    if max_width < 7 {
        return Ok(None);
    }
    let mut out = marker.to_vec();
    if offset.wrapping_add(keep) < len {
        let rest = std::string::String::from_utf8_lossy(go_slice(b, offset, len)?).into_owned();
        match abbreviate(&rest, 0, keep)? {
            Some(tail) => out.extend(tail),
            None => return Ok(None),
        }
    } else {
        out.extend_from_slice(go_slice(b, len.wrapping_sub(keep), len)?);
    }
    Ok(Some(out))
}

/// `b[lo:hi]` with Go's panic for bounds out of range.
fn go_slice(b: &[u8], lo: i64, hi: i64) -> Result<&[u8], gotemplate::FuncError> {
    let len = b.len() as i64;
    if hi < 0 || hi > len {
        return Err(err(format!(
            "runtime error: slice bounds out of range [:{hi}] with length {len}"
        )));
    }
    if lo < 0 || lo > hi {
        return Err(err(format!(
            "runtime error: slice bounds out of range [{lo}:{hi}]"
        )));
    }
    Ok(&b[lo as usize..hi as usize])
}

/// goutils' `WrapCustom`.
fn wrap(s: &str, width: i64, newline: &str, wrap_long_words: bool) -> Vec<u8> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Vec::new();
    }
    let newline = if newline.is_empty() {
        b"\n".as_slice()
    } else {
        newline.as_bytes()
    };
    let width = width.max(1) as usize;
    let len = b.len();
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(len + len / width.max(1));
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(i) = space {
            let at = offset + i;
            out.extend_from_slice(&b[offset..at]);
            out.extend_from_slice(newline);
            offset = at + 1;
        } else if wrap_long_words {
            let end = width + offset;
            out.extend_from_slice(&b[offset..end]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = width + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
                Some(i) => {
                    let at = end + i;
                    out.extend_from_slice(&b[offset..at]);
                    out.extend_from_slice(newline);
                    offset = at + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    out
}

/// `strings.SplitN` (n < 0: all parts); an empty separator splits after each character.
pub(crate) fn go_split<'a>(s: &'a str, sep: &str, n: i64) -> Vec<&'a str> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let mut parts: Vec<&str> = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if n > 0 && parts.len() as i64 == n - 1 {
                parts.push(rest);
                return parts;
            }
            let c = rest.chars().next().map_or(1, char::len_utf8);
            parts.push(&rest[..c]);
            rest = &rest[c..];
        }
        return parts;
    }
    if n < 0 {
        s.split(sep).collect()
    } else {
        s.splitn(n as usize, sep).collect()
    }
}

/// Sprig's `split` result: `map[string]string` keyed `_0`, `_1`, ….
fn indexed_map(parts: Vec<&str>) -> Value {
    let map = Map::typed(Elem::String);
    for (i, p) in parts.into_iter().enumerate() {
        map.insert(format!("_{i}"), Value::from(p));
    }
    Value::Map(map)
}

/// Sprig's `strslice`: the strings of a list (nils dropped from `[]interface {}`), or of a
/// single value.
pub(crate) fn strslice(v: &Value) -> Vec<std::string::String> {
    match v {
        Value::List(l) => l
            .items()
            .iter()
            .filter(|x| !x.is_nil())
            .map(conv::strval)
            .collect(),
        Value::Nil => Vec::new(),
        _ => match conv::slice_items(v) {
            Some(items) => items
                .iter()
                .filter(|x| !x.is_nil())
                .map(conv::strval)
                .collect(),
            None => vec![conv::strval(v)],
        },
    }
}

/// `toStrings`: a `[]string` stays the same slice.
fn to_strings(v: &Value) -> Value {
    if let Value::List(l) = v
        && l.elem() == Elem::String
    {
        return v.clone();
    }
    Value::List(List::of_strings(strslice(v)))
}

/// xstrings' `ToPascalCase` (Sprig's `camelcase`).
fn pascal_case(s: &str) -> std::string::String {
    let mut out = std::string::String::with_capacity(s.len());
    let mut rest = s;
    let mut first_upper = false;
    let mut r0 = '\0';
    let mut size = 0;
    while let Some(c) = rest.chars().next() {
        size = c.len_utf8();
        rest = &rest[size..];
        r0 = c;
        if !is_connector(c) {
            first_upper = uni::is_upper(c);
            r0 = uni::to_upper(c);
            break;
        }
        out.push(c);
    }
    if rest.is_empty() {
        // Go writes the last rune read once more, even a connector already written.
        if size != 0 {
            out.push(r0);
        }
        return out;
    }
    let chars = rest.chars();
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = uni::is_upper(r0);
            r0 = uni::to_upper(r0);
        } else {
            if first_upper {
                if uni::is_upper(r0) {
                    r0 = uni::to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || uni::is_space(c)
}

/// xstrings' `isAlphabet`: a letter, not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    if !uni::is_letter(c) {
        return false;
    }
    let u = c as u32;
    !(0x4E00..=0x9FCC).contains(&u)
        && !(0x3400..=0x4D85).contains(&u)
        && !(0x20000..=0x2B81D).contains(&u)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

const RUNE_ERROR: char = '\u{FFFD}';

/// xstrings' `nextValidRune`: the next rune that is not U+FFFD, and the bytes up to it.
fn next_valid_rune(s: &str, prev: char) -> (char, usize) {
    let mut size = 0;
    for c in s.chars() {
        size += c.len_utf8();
        if c != RUNE_ERROR {
            return (c, size);
        }
    }
    (prev, size)
}

/// xstrings' `nextWord`.
fn next_word(s: &str) -> (Word, &str, &str) {
    if s.is_empty() {
        return (Word::Invalid, "", "");
    }
    let mut offset;
    let mut remaining = s;
    let (mut r, mut size) = next_valid_rune(remaining, RUNE_ERROR);
    offset = size;
    if r == RUNE_ERROR {
        return (Word::Invalid, &s[..offset], &s[offset..]);
    }
    let wt;
    // Each arm consumes runes while they belong to the word.
    macro_rules! run_while {
        ($cond:expr) => {
            while !remaining.is_empty() {
                (r, size) = next_valid_rune(remaining, r);
                #[allow(clippy::redundant_closure_call)]
                if !$cond(r) {
                    break;
                }
                offset += size;
                remaining = &remaining[size..];
            }
        };
    }
    if is_connector(r) {
        wt = Word::Connector;
        remaining = &remaining[size..];
        run_while!(is_connector);
    } else if uni::is_punct(r) {
        wt = Word::Punct;
        remaining = &remaining[size..];
        run_while!(uni::is_punct);
    } else if uni::is_upper(r) {
        wt = Word::Upper;
        remaining = &remaining[size..];
        if !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if uni::is_upper(r) {
                let mut prev_size = size;
                offset += size;
                remaining = &remaining[size..];
                while !remaining.is_empty() {
                    (r, size) = next_valid_rune(remaining, r);
                    if !uni::is_upper(r) {
                        break;
                    }
                    prev_size = size;
                    offset += size;
                    remaining = &remaining[size..];
                }
                if !remaining.is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                    remaining = &s[offset..];
                }
            } else if is_alphabet(r) {
                offset += size;
                remaining = &remaining[size..];
                run_while!(|r| is_alphabet(r) && !uni::is_upper(r));
            }
        }
    } else if is_alphabet(r) {
        wt = Word::Alphabet;
        remaining = &remaining[size..];
        run_while!(|r| is_alphabet(r) && !uni::is_upper(r));
    } else if uni::is_number(r) {
        wt = Word::Number;
        remaining = &remaining[size..];
        run_while!(uni::is_number);
    } else {
        wt = Word::Other;
        remaining = &remaining[size..];
        run_while!(|r| !(is_connector(r)
            || is_alphabet(r)
            || uni::is_number(r)
            || uni::is_punct(r)));
    }
    (wt, &s[..offset], remaining)
}

fn push_lower(out: &mut std::string::String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if uni::is_upper(c) {
            out.push(uni::to_lower(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`snakecase`, `kebabcase`).
fn camel_to_lower(s: &str, connector: char) -> std::string::String {
    if s.is_empty() {
        return std::string::String::new();
    }
    let mut out = std::string::String::with_capacity(s.len() + 4);
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alphabet {
                    push_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xstrings_examples() {
        for (input, snake) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ] {
            assert_eq!(camel_to_lower(input, '_'), snake, "{input}");
        }
        for (input, pascal) in [
            ("some_words", "SomeWords"),
            ("http_server", "HttpServer"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            ("some words", "SomeWords"),
            ("GOLANG_IS_GREAT", "GolangIsGreat"),
            ("a", "A"),
        ] {
            assert_eq!(pascal_case(input), pascal, "{input}");
        }
    }
}
