//! The `regex…` functions: Go's regexp (RE2 syntax, leftmost-first matching) on the `regex`
//! crate, which shares both. What differs is bridged here:
//! - Go's `\d`, `\w`, `\s`, `\b` are ASCII-only (`\s` without `\v`); the crate's are Unicode,
//!   so patterns are rewritten to the ASCII classes before compiling. `\Q…\E` is quoted.
//! - Go's syntax errors are reproduced for the common mistakes (unbalanced `(`, `)`, `[`,
//!   repetition without argument or nested, bad escapes and ranges, lookaround), with Go's
//!   text: `error parsing regexp: missing closing ): `(a``.
//! - The iteration over matches (`regexFindAll`, `regexSplit`, `regexReplaceAll`) and the
//!   `$1`/`${name}` expansion are Go's algorithms, which treat empty matches after a match
//!   and malformed `$` references in their own way.
//!
//! The non-`must` functions other than `regexMatch` call Go's `regexp.MustCompile`: a bad
//! pattern panics there, so it is an error here too (`regexp: Compile(`(`): error parsing…`).

use gotemplate::{Param, Value};
use regex::Regex;

use crate::{R, Registry, err, int_arg, sig, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("regexMatch", sig(&[String, String]), |a| {
        let m = compile(str_arg(a, 0)?).is_ok_and(|re| re.is_match(str_arg(a, 1).unwrap_or("")));
        Ok(Value::Bool(m))
    });
    r.add("mustRegexMatch", sig(&[String, String]), |a| {
        let re = compile(str_arg(a, 0)?).map_err(err)?;
        Ok(Value::Bool(re.is_match(str_arg(a, 1)?)))
    });
    r.add("regexFindAll", sig(&[String, String, Int]), |a| {
        find_all(
            &must_compile(str_arg(a, 0)?)?,
            str_arg(a, 1)?,
            int_arg(a, 2)?,
        )
    });
    r.add("mustRegexFindAll", sig(&[String, String, Int]), |a| {
        find_all(
            &compile(str_arg(a, 0)?).map_err(err)?,
            str_arg(a, 1)?,
            int_arg(a, 2)?,
        )
    });
    r.add("regexFind", sig(&[String, String]), |a| {
        let re = must_compile(str_arg(a, 0)?)?;
        Ok(string(re.find(str_arg(a, 1)?).map_or("", |m| m.as_str())))
    });
    r.add("mustRegexFind", sig(&[String, String]), |a| {
        let re = compile(str_arg(a, 0)?).map_err(err)?;
        Ok(string(re.find(str_arg(a, 1)?).map_or("", |m| m.as_str())))
    });
    r.add("regexReplaceAll", sig(&[String, String, String]), |a| {
        let re = must_compile(str_arg(a, 0)?)?;
        Ok(string(replace_all(
            &re,
            str_arg(a, 1)?,
            str_arg(a, 2)?,
            true,
        )))
    });
    r.add("mustRegexReplaceAll", sig(&[String, String, String]), |a| {
        let re = compile(str_arg(a, 0)?).map_err(err)?;
        Ok(string(replace_all(
            &re,
            str_arg(a, 1)?,
            str_arg(a, 2)?,
            true,
        )))
    });
    r.add(
        "regexReplaceAllLiteral",
        sig(&[String, String, String]),
        |a| {
            let re = must_compile(str_arg(a, 0)?)?;
            Ok(string(replace_all(
                &re,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                false,
            )))
        },
    );
    r.add(
        "mustRegexReplaceAllLiteral",
        sig(&[String, String, String]),
        |a| {
            let re = compile(str_arg(a, 0)?).map_err(err)?;
            Ok(string(replace_all(
                &re,
                str_arg(a, 1)?,
                str_arg(a, 2)?,
                false,
            )))
        },
    );
    r.add("regexSplit", sig(&[String, String, Int]), |a| {
        let pattern = str_arg(a, 0)?;
        split(
            &must_compile(pattern)?,
            pattern,
            str_arg(a, 1)?,
            int_arg(a, 2)?,
        )
    });
    r.add("mustRegexSplit", sig(&[String, String, Int]), |a| {
        let pattern = str_arg(a, 0)?;
        split(
            &compile(pattern).map_err(err)?,
            pattern,
            str_arg(a, 1)?,
            int_arg(a, 2)?,
        )
    });
    r.add("regexQuoteMeta", sig(&[String]), |a| {
        let mut out = std::string::String::new();
        for c in str_arg(a, 0)?.chars() {
            if r"\.+*?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        Ok(string(out))
    });
}

/// How many compiled patterns a thread keeps: charts call the `regex…` functions with a few
/// patterns in loops, and compiling one costs far more than matching it.
const CACHED_PATTERNS: usize = 256;

thread_local! {
    static COMPILED: std::cell::RefCell<std::collections::HashMap<std::string::String, Regex>> =
        Default::default();
}

/// `regexp.Compile`: the regex, or Go's error text. Compiled patterns are kept per thread.
fn compile(pattern: &str) -> Result<Regex, std::string::String> {
    if let Some(re) = COMPILED.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = compile_uncached(pattern)?;
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHED_PATTERNS {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

fn compile_uncached(pattern: &str) -> Result<Regex, std::string::String> {
    let translated = translate(pattern).map_err(|e| e.to_string())?;
    regex::RegexBuilder::new(&translated)
        .octal(false)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let last = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid regexp")
                .trim_start_matches("error: ")
                .to_string();
            format!("error parsing regexp: {last}: `{pattern}`")
        })
}

/// `regexp.MustCompile`, its panic as an error.
fn must_compile(pattern: &str) -> Result<Regex, gotemplate::FuncError> {
    compile(pattern).map_err(|e| {
        let shown = if can_backquote(pattern) {
            format!("`{pattern}`")
        } else {
            gotemplate::gofmt::sprintf("%q", &[Value::from(pattern)])
        };
        err(format!("regexp: Compile({shown}): {e}"))
    })
}

/// strconv's `CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7F}')))
}

/// A Go regexp syntax error: `error parsing regexp: CODE: `EXPR``.
struct SyntaxError {
    code: &'static str,
    expr: std::string::String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error parsing regexp: {}: `{}`", self.code, self.expr)
    }
}

fn syntax(code: &'static str, expr: impl Into<std::string::String>) -> SyntaxError {
    SyntaxError {
        code,
        expr: expr.into(),
    }
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\x0C\r ";

/// Rewrites a Go pattern into the crate's syntax with Go's meaning, checking it as Go's parser
/// would on the way.
fn translate(p: &str) -> Result<std::string::String, SyntaxError> {
    let chars: Vec<(usize, char)> = p.char_indices().collect();
    let mut out = std::string::String::with_capacity(p.len() + 8);
    let mut depth = 0usize;
    // Whether the last item can take a repetition, and where the last repetition began.
    let mut operand = false;
    let mut last_repeat: Option<usize> = None;
    // A flags-only group, `(?i)`, held back until the next token: Go lets a repetition after
    // it apply to the atom before it; the crate wants the repetition first.
    let mut pending_flags = std::string::String::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let flags_only = c == '(' && chars.get(i + 1).map(|c| c.1) == Some('?');
        if !matches!(c, '*' | '+' | '?' | '{') && !flags_only {
            out.push_str(&std::mem::take(&mut pending_flags));
        }
        match c {
            '\\' => {
                let (piece, next) = escape(p, &chars, i, false)?;
                out.push_str(&piece);
                i = next;
                operand = true;
                last_repeat = None;
                continue;
            }
            '[' => {
                let (class, next) = class(p, &chars, i)?;
                out.push_str(&class);
                i = next;
                operand = true;
                last_repeat = None;
                continue;
            }
            '(' => {
                if chars.get(i + 1).map(|c| c.1) == Some('?') {
                    let next = group_flags(p, &chars, i)?;
                    let group = &p[at..chars.get(next).map_or(p.len(), |c| c.0)];
                    if group.ends_with(')') {
                        // `(?)` sets nothing; the crate refuses it.
                        if group != "(?)" {
                            pending_flags.push_str(group);
                        }
                    } else {
                        out.push_str(&std::mem::take(&mut pending_flags));
                        out.push_str(group);
                        depth += 1;
                        operand = false;
                    }
                    i = next;
                    last_repeat = None;
                    continue;
                }
                depth += 1;
                out.push('(');
                operand = false;
                last_repeat = None;
            }
            ')' => {
                if depth == 0 {
                    return Err(syntax("unexpected )", p));
                }
                depth -= 1;
                out.push(')');
                operand = true;
                last_repeat = None;
            }
            '|' => {
                out.push('|');
                operand = false;
                last_repeat = None;
            }
            '*' | '+' | '?' | '{' => {
                let (len, valid_repeat) = if c == '{' {
                    match repeat_len(&chars, i) {
                        Some(Ok(len)) => (len, true),
                        Some(Err(end)) => {
                            return Err(syntax(
                                "invalid repeat count",
                                &p[at..chars.get(end).map_or(p.len(), |c| c.0)],
                            ));
                        }
                        None => (1, false),
                    }
                } else {
                    (1, true)
                };
                if !valid_repeat {
                    // Go reads a `{` that starts no repetition as a literal.
                    out.push_str(r"\{");
                    operand = true;
                    last_repeat = None;
                    i += 1;
                    continue;
                }
                let mut end = i + len;
                if chars.get(end).map(|c| c.1) == Some('?') {
                    end += 1;
                }
                let op_text = &p[at..chars.get(end).map_or(p.len(), |c| c.0)];
                if let Some(start) = last_repeat {
                    let from = chars[start].0;
                    return Err(syntax(
                        "invalid nested repetition operator",
                        &p[from..chars.get(end).map_or(p.len(), |c| c.0)],
                    ));
                }
                if !operand {
                    return Err(syntax("missing argument to repetition operator", op_text));
                }
                out.push_str(op_text);
                out.push_str(&std::mem::take(&mut pending_flags));
                last_repeat = Some(i);
                i = end;
                continue;
            }
            _ => {
                out.push(c);
                operand = true;
                last_repeat = None;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return Err(syntax("missing closing )", p));
    }
    out.push_str(&pending_flags);
    Ok(out)
}

/// `(?flags)`, `(?flags:`, `(?P<name>` or `(?<name>` at `i`: the index after it.
fn group_flags(p: &str, chars: &[(usize, char)], i: usize) -> Result<usize, SyntaxError> {
    let at = chars[i].0;
    let bad = |end: usize| {
        syntax(
            "invalid or unsupported Perl syntax",
            &p[at..chars.get(end).map_or(p.len(), |c| c.0)],
        )
    };
    let mut k = i + 2;
    let c = chars.get(k).map(|c| c.1);
    if c == Some('P') || c == Some('<') {
        if c == Some('P') {
            k += 1;
            if chars.get(k).map(|c| c.1) != Some('<') {
                return Err(bad(k + 1));
            }
        }
        let name_start = k + 1;
        let mut j = name_start;
        while j < chars.len() && chars[j].1 != '>' {
            j += 1;
        }
        if j >= chars.len() {
            return Err(syntax("invalid named capture", &p[at..]));
        }
        let name: std::string::String = chars[name_start..j].iter().map(|c| c.1).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(syntax(
                "invalid named capture",
                &p[at..chars.get(j + 1).map_or(p.len(), |c| c.0)],
            ));
        }
        return Ok(j + 1);
    }
    let mut saw_flag = false;
    let mut negated = false;
    while k < chars.len() {
        match chars[k].1 {
            'i' | 'm' | 's' | 'U' => saw_flag = true,
            '-' if !negated => {
                negated = true;
                saw_flag = false;
            }
            ':' | ')' if !negated || saw_flag => return Ok(k + 1),
            _ => return Err(bad(k + 1)),
        }
        k += 1;
    }
    Err(syntax("invalid or unsupported Perl syntax", &p[at..]))
}

/// The length in chars of a valid `{n}`, `{n,}`, `{n,m}` at `i`; `Some(Err(end))` for a
/// repetition whose counts Go refuses (over 1000, or min > max); `None` when it is no
/// repetition (a literal `{`).
fn repeat_len(chars: &[(usize, char)], i: usize) -> Option<Result<usize, usize>> {
    let mut k = i + 1;
    let num = |k: &mut usize| -> Option<u64> {
        let start = *k;
        let mut n: u64 = 0;
        while *k < chars.len() && chars[*k].1.is_ascii_digit() {
            n = n
                .saturating_mul(10)
                .saturating_add(u64::from(chars[*k].1 as u8 - b'0'));
            *k += 1;
        }
        (*k > start).then_some(n)
    };
    let min = num(&mut k)?;
    let mut max = Some(min);
    if chars.get(k).map(|c| c.1) == Some(',') {
        k += 1;
        max = if chars.get(k).map(|c| c.1) == Some('}') {
            None
        } else {
            Some(num(&mut k)?)
        };
    }
    if chars.get(k).map(|c| c.1) != Some('}') {
        return None;
    }
    let len = k + 1 - i;
    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
        return Some(Err(k + 1));
    }
    Some(Ok(len))
}

/// A backslash escape at `i`: its translation and the index after it.
fn escape(
    p: &str,
    chars: &[(usize, char)],
    i: usize,
    in_class: bool,
) -> Result<(std::string::String, usize), SyntaxError> {
    let at = chars[i].0;
    let Some(&(_, c)) = chars.get(i + 1) else {
        return Err(syntax("trailing backslash at end of expression", ""));
    };
    let end_of = |k: usize| chars.get(k).map_or(p.len(), |c| c.0);
    let class = |set: &str, negated: bool| match (in_class, negated) {
        (true, false) => set.to_string(),
        (_, true) => format!("[^{set}]"),
        (false, false) => format!("[{set}]"),
    };
    let out = match c {
        'd' => class(DIGIT, false),
        'D' => class(DIGIT, true),
        'w' => class(WORD, false),
        'W' => class(WORD, true),
        's' => class(SPACE, false),
        'S' => class(SPACE, true),
        'b' if !in_class => r"(?-u:\b)".to_string(),
        'B' if !in_class => r"(?-u:\B)".to_string(),
        'A' | 'z' if !in_class => format!("\\{c}"),
        'a' | 'f' | 't' | 'n' | 'r' | 'v' => format!("\\{c}"),
        'Q' if !in_class => {
            let rest = &p[end_of(i + 2)..];
            let (lit, after) = match rest.find(r"\E") {
                Some(e) => (&rest[..e], end_of(i + 2) + e + 2),
                None => (rest, p.len()),
            };
            let next = chars
                .iter()
                .position(|c| c.0 >= after)
                .unwrap_or(chars.len());
            return Ok((regex::escape(lit), next));
        }
        'p' | 'P' => {
            if chars.get(i + 2).map(|c| c.1) == Some('{') {
                let mut k = i + 3;
                while k < chars.len() && chars[k].1 != '}' {
                    k += 1;
                }
                if k >= chars.len() {
                    return Err(syntax("invalid character class range", &p[at..]));
                }
                return Ok((p[at..end_of(k + 1)].to_string(), k + 1));
            }
            if i + 2 >= chars.len() {
                return Err(syntax("invalid character class range", &p[at..]));
            }
            return Ok((p[at..end_of(i + 3)].to_string(), i + 3));
        }
        'x' => {
            if chars.get(i + 2).map(|c| c.1) == Some('{') {
                let mut k = i + 3;
                while k < chars.len() && chars[k].1 != '}' {
                    k += 1;
                }
                if k >= chars.len() {
                    return Err(syntax("invalid escape sequence", &p[at..]));
                }
                return Ok((p[at..end_of(k + 1)].to_string(), k + 1));
            }
            let hex = chars
                .get(i + 2..i + 4)
                .is_some_and(|h| h.iter().all(|c| c.1.is_ascii_hexdigit()));
            if !hex {
                return Err(syntax("invalid escape sequence", &p[at..end_of(i + 4)]));
            }
            return Ok((p[at..end_of(i + 4)].to_string(), i + 4));
        }
        '0'..='7' => {
            // Go: a lone non-zero digit would be a backreference (refused); otherwise up to
            // three octal digits.
            let mut k = i + 1;
            let mut v = 0u32;
            while k < chars.len() && k < i + 4 && ('0'..='7').contains(&chars[k].1) {
                v = v * 8 + chars[k].1.to_digit(8).unwrap_or(0);
                k += 1;
            }
            if c != '0' && k == i + 2 {
                return Err(syntax("invalid escape sequence", &p[at..end_of(i + 2)]));
            }
            return Ok((format!("\\x{{{v:X}}}"), k));
        }
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => format!("\\{c}"),
        _ => {
            return Err(syntax("invalid escape sequence", &p[at..end_of(i + 2)]));
        }
    };
    Ok((out, i + 2))
}

/// A bracket class at `i`: its translation and the index after it.
fn class(
    p: &str,
    chars: &[(usize, char)],
    i: usize,
) -> Result<(std::string::String, usize), SyntaxError> {
    let at = chars[i].0;
    let end_of = |k: usize| chars.get(k).map_or(p.len(), |c| c.0);
    let missing = || syntax("missing closing ]", &p[at..]);
    let mut out = std::string::String::from("[");
    let mut k = i + 1;
    if chars.get(k).map(|c| c.1) == Some('^') {
        out.push('^');
        k += 1;
    }
    let first = k;
    // The previous single character and where it began, for range checks.
    let mut prev: Option<(char, usize)> = None;
    loop {
        let Some(&(_, c)) = chars.get(k) else {
            return Err(missing());
        };
        if c == ']' && k > first {
            out.push(']');
            return Ok((out, k + 1));
        }
        if c == '[' && chars.get(k + 1).map(|c| c.1) == Some(':') {
            let rest = &p[end_of(k)..];
            if let Some(e) = rest.find(":]") {
                out.push_str(&rest[..e + 2]);
                let after = end_of(k) + e + 2;
                k = chars
                    .iter()
                    .position(|c| c.0 >= after)
                    .unwrap_or(chars.len());
                prev = None;
                continue;
            }
        }
        if c == '-'
            && k > first
            && chars.get(k + 1).is_some_and(|n| n.1 != ']')
            && let Some((lo, lo_at)) = prev
        {
            let (hi, next) = match chars.get(k + 1) {
                Some(&(_, '\\')) => {
                    let (piece, next) = escape(p, chars, k + 1, true)?;
                    let single = single_char(&piece);
                    match single {
                        Some(h) => (h, next),
                        None => {
                            return Err(syntax(
                                "invalid character class range",
                                &p[chars[lo_at].0..end_of(next)],
                            ));
                        }
                    }
                }
                Some(&(_, h)) => (h, k + 2),
                None => return Err(missing()),
            };
            if hi < lo {
                return Err(syntax(
                    "invalid character class range",
                    &p[chars[lo_at].0..end_of(next)],
                ));
            }
            out.push('-');
            push_class_char(&mut out, hi);
            k = next;
            prev = None;
            continue;
        }
        if c == '\\' {
            let (piece, next) = escape(p, chars, k, true)?;
            prev = single_char(&piece).map(|ch| (ch, k));
            out.push_str(&piece);
            k = next;
            continue;
        }
        push_class_char(&mut out, c);
        prev = Some((c, k));
        k += 1;
    }
}

/// The character an escape translated to, if it is one (`\.` → `.`, `\x41` → `A`).
fn single_char(piece: &str) -> Option<char> {
    let rest = piece.strip_prefix('\\')?;
    let mut it = rest.chars();
    let c = it.next()?;
    match (c, it.as_str()) {
        (c, "") if !c.is_ascii_alphanumeric() => Some(c),
        ('t', "") => Some('\t'),
        ('n', "") => Some('\n'),
        ('r', "") => Some('\r'),
        ('f', "") => Some('\u{c}'),
        ('v', "") => Some('\u{b}'),
        ('a', "") => Some('\u{7}'),
        ('x', hex) => {
            let hex = hex.trim_start_matches('{').trim_end_matches('}');
            u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
        }
        _ => None,
    }
}

/// A literal character inside a class, escaped where the crate gives it a meaning Go does not
/// (`[`, `&&`, `--`, `~~` set operations).
fn push_class_char(out: &mut std::string::String, c: char) {
    if matches!(c, '[' | '&' | '~' | '-') {
        out.push('\\');
    }
    out.push(c);
}

/// Go's `allMatches` iteration: the `[start, end)` of each match, at most `n` (all if n < 0),
/// an empty match right after a match skipped.
fn all_matches(re: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let n = if n < 0 { s.len() as i64 + 1 } else { n };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while (out.len() as i64) < n && pos <= s.len() {
        let Some(m) = re.find_at(s, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if prev_end == Some(m.start()) {
                accept = false;
            }
            match s[pos..].chars().next() {
                Some(c) => pos += c.len_utf8(),
                None => pos = s.len() + 1,
            }
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

fn find_all(re: &Regex, s: &str, n: i64) -> R {
    Ok(crate::conv::string_list(
        all_matches(re, s, n)
            .into_iter()
            .map(|(a, b)| s[a..b].to_string()),
    ))
}

/// Go's `Regexp.Split`.
fn split(re: &Regex, pattern: &str, s: &str, n: i64) -> R {
    if n == 0 {
        return Ok(crate::conv::string_list(Vec::new()));
    }
    if !pattern.is_empty() && s.is_empty() {
        return Ok(crate::conv::string_list(vec![std::string::String::new()]));
    }
    let mut parts: Vec<std::string::String> = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (a, b) in all_matches(re, s, n) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = a;
        if b != 0 {
            parts.push(s[beg..end].to_string());
        }
        beg = b;
    }
    if end != s.len() {
        parts.push(s[beg..].to_string());
    }
    Ok(crate::conv::string_list(parts))
}

/// Go's `ReplaceAllString` (with `$` expansion) or `ReplaceAllLiteralString`.
fn replace_all(re: &Regex, src: &str, repl: &str, expand: bool) -> std::string::String {
    let mut out = std::string::String::with_capacity(src.len());
    let mut last_end = 0usize;
    let mut search = 0usize;
    let mut locs = re.capture_locations();
    while search <= src.len() {
        let Some(m) = re.captures_read_at(&mut locs, src, search) else {
            break;
        };
        out.push_str(&src[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            if expand {
                expand_into(&mut out, re, &locs, src, repl);
            } else {
                out.push_str(repl);
            }
        }
        last_end = m.end();
        let width = src[search..].chars().next().map_or(0, char::len_utf8);
        if search + width > m.end() {
            search += width;
        } else if search + 1 > m.end() {
            search += 1;
        } else {
            search = m.end();
        }
    }
    out.push_str(&src[last_end..]);
    out
}

/// Go's `Regexp.expand`: `$$`, `$name`, `${name}`; a name is the longest run of letters,
/// digits and `_`; a malformed reference stays as text.
fn expand_into(
    out: &mut std::string::String,
    re: &Regex,
    locs: &regex::CaptureLocations,
    src: &str,
    template: &str,
) {
    let mut t = template;
    while let Some(p) = t.find('$') {
        out.push_str(&t[..p]);
        t = &t[p + 1..];
        if let Some(rest) = t.strip_prefix('$') {
            out.push('$');
            t = rest;
            continue;
        }
        let Some((name, num, rest)) = extract_name(t) else {
            out.push('$');
            continue;
        };
        t = rest;
        let group = match num {
            Some(n) => Some(n),
            None => re
                .capture_names()
                .enumerate()
                .position(|(i, n)| n == Some(name) && locs.get(i).is_some()),
        };
        if let Some((a, b)) = group.and_then(|g| locs.get(g)) {
            out.push_str(&src[a..b]);
        }
    }
    out.push_str(t);
}

/// Go's `extract`: the name after a `$`, its number if it is one, and the rest.
fn extract_name(s: &str) -> Option<(&str, Option<usize>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|&c| crate::unicode::is_letter(c) || crate::unicode::is_digit(c) || c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let mut rest = &body[len..];
    if brace {
        rest = rest.strip_prefix('}')?;
    }
    let mut num: Option<usize> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                num = Some(n * 10 + usize::from(b - b'0'));
            }
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((name, num, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_syntax_errors() {
        for (p, e) in [
            ("(a", "error parsing regexp: missing closing ): `(a`"),
            ("a)", "error parsing regexp: unexpected ): `a)`"),
            ("[a", "error parsing regexp: missing closing ]: `[a`"),
            (
                "*a",
                "error parsing regexp: missing argument to repetition operator: `*`",
            ),
            (
                "a**",
                "error parsing regexp: invalid nested repetition operator: `**`",
            ),
            (
                r"\q",
                r"error parsing regexp: invalid escape sequence: `\q`",
            ),
            (
                "[z-a]",
                "error parsing regexp: invalid character class range: `z-a`",
            ),
            (
                "a{1001}",
                "error parsing regexp: invalid repeat count: `{1001}`",
            ),
            (
                "(?=a)",
                "error parsing regexp: invalid or unsupported Perl syntax: `(?=`",
            ),
        ] {
            assert_eq!(compile(p).err().as_deref(), Some(e), "{p}");
        }
    }

    #[test]
    fn ascii_classes() {
        let re = compile(r"\w+").unwrap();
        assert_eq!(re.find("é_a1").map(|m| m.as_str()), Some("_a1"));
        assert!(compile(r"[\d\s]").unwrap().is_match(" "));
        assert!(!compile(r"\s").unwrap().is_match("\u{b}"));
    }

    #[test]
    fn compiled_patterns_are_kept_and_bounded() {
        let first = compile(r"^a(\d+)$").unwrap();
        let again = compile(r"^a(\d+)$").unwrap();
        assert_eq!(again.as_str(), first.as_str());
        assert_eq!(again.replace("a12", "b$1"), "b12");
        // A bad pattern is not kept: it fails the same way each time.
        for _ in 0..2 {
            assert!(compile("(").unwrap_err().contains("missing closing )"));
        }
        for i in 0..CACHED_PATTERNS + 10 {
            assert!(
                compile(&format!("x{i}"))
                    .unwrap()
                    .is_match(&format!("-x{i}-"))
            );
        }
        let kept = COMPILED.with(|c| c.borrow().len());
        assert!((1..=CACHED_PATTERNS).contains(&kept), "{kept}");
    }
}
