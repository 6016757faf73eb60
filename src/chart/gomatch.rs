//! Go's `path.Match` (which `filepath.Match` is on Unix): the shell patterns Helm uses for
//! `.helmignore` rules and `helm template --show-only`.
//!
//! | pattern | matches |
//! |---|---|
//! | `*` | any run of characters other than `/` |
//! | `?` | one character other than `/` |
//! | `[a-z]`, `[^a-z]` | one character in (not in) the class; `\` escapes inside it |
//! | `\c` | the character `c` |
//!
//! A malformed pattern (`[a`, `[]`, `a\`, `[z-a`…) is an error, as Go's `ErrBadPattern`, even
//! where Go would stop comparing before it reached the bad part: callers check rules once, when
//! they read them.

/// Why a pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern `{0}`")]
pub struct BadPattern(pub String);

/// A checked Go shell pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoPattern {
    chars: Vec<char>,
}

impl GoPattern {
    /// Checks `pattern` for Go's syntax.
    pub fn new(pattern: &str) -> Result<GoPattern, BadPattern> {
        let chars: Vec<char> = pattern.chars().collect();
        let bad = || BadPattern(pattern.to_string());
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    if i + 1 >= chars.len() {
                        return Err(bad());
                    }
                    i += 2;
                }
                '[' => i = class_end(&chars, i).ok_or_else(bad)?,
                _ => i += 1,
            }
        }
        Ok(GoPattern { chars })
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        self.matches_chars(&name)
    }

    /// [`GoPattern::matches`] for a name already split into characters.
    pub fn matches_chars(&self, name: &[char]) -> bool {
        match_from(&self.chars, name)
    }
}

/// The index after the class that starts at `start` (`[`), or `None` when it is malformed.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut ranges = 0;
    loop {
        let c = *p.get(i)?;
        if c == ']' && ranges > 0 {
            return Some(i + 1);
        }
        let (lo, next) = class_char(p, i)?;
        i = next;
        if p.get(i) == Some(&'-') {
            let (hi, next) = class_char(p, i + 1)?;
            if hi < lo {
                return None;
            }
            i = next;
        }
        ranges += 1;
    }
}

/// One character of a class (escaped or not) and the index after it.
fn class_char(p: &[char], i: usize) -> Option<(char, usize)> {
    match *p.get(i)? {
        '\\' => Some((*p.get(i + 1)?, i + 2)),
        '-' | ']' => None,
        c => Some((c, i + 1)),
    }
}

/// Whether `c` is in the class starting at `start`; the index after the class.
fn class_matches(p: &[char], start: usize, c: char) -> (bool, usize) {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while let Some(&pc) = p.get(i) {
        if pc == ']' && !first {
            return (found != negated, i + 1);
        }
        first = false;
        let Some((lo, next)) = class_char(p, i) else {
            break;
        };
        i = next;
        let mut hi = lo;
        if p.get(i) == Some(&'-')
            && let Some((h, next)) = class_char(p, i + 1)
        {
            hi = h;
            i = next;
        }
        if lo <= c && c <= hi {
            found = true;
        }
    }
    (false, i)
}

fn match_from(p: &[char], name: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // The last `*` seen and the name position it was tried at: backtracking as Go's
    // star-by-star loop does, bounded by `/` (a star never crosses it).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    while pi < p.len() && p[pi] == '*' {
                        pi += 1;
                    }
                    star = Some((pi, ni));
                    continue;
                }
                '?' if ni < name.len() && name[ni] != '/' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' if ni < name.len() && name[ni] != '/' => {
                    let (ok, next) = class_matches(p, pi, name[ni]);
                    if ok {
                        pi = next;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if ni < name.len() && p.get(pi + 1) == Some(&name[ni]) => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if !matches!(c, '?' | '[' | '\\') && ni < name.len() && name[ni] == c => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        } else if ni == name.len() {
            return true;
        }
        // Mismatch: let the last star take one more character, unless that is a `/`.
        match star {
            Some((sp, sn)) if sn < name.len() && name[sn] != '/' => {
                star = Some((sp, sn + 1));
                pi = sp;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        GoPattern::new(p).unwrap().matches(n)
    }

    /// Cases from Go's path/match_test.go.
    #[test]
    fn go_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("[\\-x]", "-", true),
            ("[\\-x]", "a", false),
            ("*x", "xxx", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(m(p, n), *want, "{p} {n}");
        }
    }

    #[test]
    fn bad_patterns() {
        for p in [
            "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "[a-]",
            "[z-a]", "a\\",
        ] {
            assert!(GoPattern::new(p).is_err(), "{p}");
        }
    }
}
