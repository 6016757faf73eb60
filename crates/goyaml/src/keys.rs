//! go-yaml's map key order (its `keyList.Less`): a "natural" order, not byte order. Strings are
//! compared rune by rune up to the first difference; there, two letters compare as runes, a
//! letter sorts after anything else, and otherwise the runs of digits starting there compare by
//! value, then by length (`a1 < a01 < a2 < a10`). A run continuing non-zero digits before the
//! difference counts them (`105 < 1005`). v3 changed one case: after an equal digit, a letter
//! sorts before a non-letter.
//!
//! This comparison is not a total order: `02b < 0x1F` (a letter sorts last), `0x1F < 1_000`
//! (0 < 1) but `1_000 < 02b` (1 < 2). Go sorts the keys of a map, which it visits in random
//! order, with it all the same, so for such keys Helm's own output changes from run to run
//! (those three come out in three different orders). Any order is then Helm's; the merge sort
//! here is stable and, unlike Rust's slice sort, never panics on such a comparison.

use std::sync::LazyLock;

use regex::Regex;

use crate::resolve::Version;

// Go 1.26's unicode package is Unicode 15.0: characters assigned since are neither.
static LETTER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\p{L}&&\p{Age:15.0}]$").ok());
static DIGIT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\p{Nd}&&\p{Age:15.0}]$").ok());

fn in_class(class: &LazyLock<Option<Regex>>, c: char) -> bool {
    let mut buf = [0; 4];
    class
        .as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut buf)))
}

/// Go's `unicode.IsLetter`: general category L.
fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_class(&LETTER, c)
    }
}

/// Go's `unicode.IsDigit`: general category Nd.
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_class(&DIGIT, c)
    }
}

/// The value go-yaml gives the digit run at the start of `rest` (wrapping as Go's int64 does,
/// and with non-ASCII digits counted from `'0'` as Go does), and its length in runes.
fn digit_run(rest: std::str::Chars<'_>, start: i64) -> (i64, usize) {
    let mut n = start;
    let mut len = 0;
    for c in rest.take_while(|&c| is_digit(c)) {
        n = n
            .wrapping_mul(10)
            .wrapping_add(i64::from(c as u32) - i64::from(b'0'));
        len += 1;
    }
    (n, len)
}

/// `keyList.Less` for two string keys.
pub(crate) fn less(a: &str, b: &str, version: Version) -> bool {
    let (mut ai, mut bi) = (a.chars(), b.chars());
    // Whether the digits just before this position hold a non-zero one, and whether the last
    // equal rune was a digit (v3's rule).
    let mut run_nonzero = false;
    let mut after_digit = false;
    loop {
        let (a_rest, b_rest) = (ai.clone(), bi.clone());
        let (ca, cb) = match (ai.next(), bi.next()) {
            (Some(ca), Some(cb)) => (ca, cb),
            (None, Some(_)) => return true,
            _ => return false,
        };
        if ca == cb {
            after_digit = is_digit(ca);
            run_nonzero = after_digit && (run_nonzero || ca != '0');
            continue;
        }
        let (al, bl) = (is_letter(ca), is_letter(cb));
        if al && bl {
            return ca < cb;
        }
        if al || bl {
            return if version == Version::V3 && after_digit {
                al
            } else {
                bl
            };
        }
        let start = i64::from((ca == '0' || cb == '0') && run_nonzero);
        let (an, alen) = digit_run(a_rest, start);
        let (bn, blen) = digit_run(b_rest, start);
        if an != bn {
            return an < bn;
        }
        if alen != blen {
            return alen < blen;
        }
        return ca < cb;
    }
}

/// Sorts `items` by their keys in go-yaml's order (stable merge sort).
pub(crate) fn sort_by_key<T>(items: &mut Vec<T>, key: impl Fn(&T) -> &str, version: Version) {
    let n = items.len();
    if n < 2 {
        return;
    }
    let mut src: Vec<Option<T>> = items.drain(..).map(Some).collect();
    let mut dst: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut width = 1;
    while width < n {
        for lo in (0..n).step_by(2 * width) {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j) = (lo, mid);
            for slot in &mut dst[lo..hi] {
                let take_right = j < hi
                    && (i >= mid
                        || match (&src[j], &src[i]) {
                            (Some(r), Some(l)) => less(key(r), key(l), version),
                            _ => false,
                        });
                let from = if take_right { &mut j } else { &mut i };
                *slot = src[*from].take();
                *from += 1;
            }
        }
        std::mem::swap(&mut src, &mut dst);
        width *= 2;
    }
    items.extend(src.into_iter().flatten());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    fn order(a: &str, b: &str, version: Version) -> Ordering {
        if less(a, b, version) {
            Ordering::Less
        } else if less(b, a, version) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }

    fn sorted(keys: &[&'static str], version: Version) -> Vec<&'static str> {
        let mut v = keys.to_vec();
        sort_by_key(&mut v, |k| k, version);
        v
    }

    #[test]
    fn digits_sort_by_value_then_length() {
        assert_eq!(
            sorted(
                &["a10", "a2", "a01", "a1", "b", "A", "_x", "a"],
                Version::V2
            ),
            ["_x", "A", "a", "a1", "a01", "a2", "a10", "b"]
        );
        assert_eq!(
            sorted(&["1005", "105", "15"], Version::V2),
            ["15", "105", "1005"]
        );
        assert_eq!(order("k9", "k10", Version::V2), Ordering::Less);
    }

    #[test]
    fn letters_and_digits_are_unicode_15s_as_in_go() {
        assert!(is_letter('é') && is_letter('日') && is_letter('ǅ') && !is_letter('Ⅻ'));
        assert!(is_digit('٣') && !is_digit('Ⅻ') && !is_digit('²'));
        // CJK Extension I came with Unicode 15.1.
        assert!(!is_letter('\u{2EBF0}'));
    }

    #[test]
    fn v3_puts_letters_first_after_an_equal_digit() {
        assert!(less("1-", "1a", Version::V2));
        assert!(less("1a", "1-", Version::V3));
        assert!(less("a-", "ab", Version::V3));
    }

    #[test]
    fn sorting_is_stable_and_total_on_any_input() {
        let keys = [
            "99999999999999999999",
            "1",
            "9",
            "x",
            "99999999999999999999",
            "٣",
            "1٣",
            "",
        ];
        let mut v: Vec<(usize, &str)> = keys.iter().copied().enumerate().collect();
        sort_by_key(&mut v, |(_, k)| k, Version::V2);
        assert_eq!(v.len(), keys.len());
    }
}
