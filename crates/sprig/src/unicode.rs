//! Go's `unicode` predicates and simple case mappings, from Rust's tables.
//!
//! Go classifies by general category (`IsUpper` is Lu, `IsPunct` is P*) and maps case rune by
//! rune with UnicodeData's simple mappings (`ToUpper('ß')` is `ß`); Rust's `char` methods use
//! derived properties (Uppercase includes Other_Uppercase such as Ⓐ) and full mappings
//! (`'ß'.to_uppercase()` is "SS"). The differences are patched here; non-ASCII punctuation is
//! covered for the Latin-1, General Punctuation, CJK and fullwidth blocks.

/// `unicode.IsUpper`: category Lu.
pub fn is_upper(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    c.is_uppercase() && !other_uppercase(c) && !is_title(c)
}

/// `unicode.IsLower`: category Ll.
pub fn is_lower(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_lowercase();
    }
    c.is_lowercase() && !other_lowercase(c)
}

/// `unicode.IsTitle`: category Lt.
pub fn is_title(c: char) -> bool {
    matches!(c as u32,
        0x01C5 | 0x01C8 | 0x01CB | 0x01F2 | 0x1F88..=0x1F8F | 0x1F98..=0x1F9F
        | 0x1FA8..=0x1FAF | 0x1FBC | 0x1FCC | 0x1FFC)
}

/// `unicode.IsLetter`: category L*.
pub fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    c.is_alphabetic() && !c.is_numeric() && !other_alphabetic_mark(c)
}

/// `unicode.IsDigit`: category Nd (approximated by Rust's numeric test, exact for ASCII).
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    c.is_numeric()
}

/// `unicode.IsNumber`: category N*.
pub fn is_number(c: char) -> bool {
    c.is_numeric()
}

/// `unicode.IsSpace`: White_Space (Rust's `is_whitespace` is the same set).
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// `unicode.IsPunct`: category P*. In ASCII that excludes `$+<=>^`|~`, which are symbols.
pub fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            '!' | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '_'
                | '{'
                | '}'
        );
    }
    matches!(c as u32,
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F
        | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B
        | 0xFF1F | 0xFF20 | 0xFF3B..=0xFF3D | 0xFF3F | 0xFF5B | 0xFF5D | 0xFF5F..=0xFF65)
}

/// `unicode.ToUpper`: the simple mapping, the rune itself when there is none.
pub fn to_upper(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut m = c.to_uppercase();
    match (m.next(), m.next()) {
        (Some(u), None) => u,
        // A full mapping of several runes: the simple one, where UnicodeData has one, is
        // the Greek iota-subscript titlecase letter.
        _ => greek_iota_title(c).unwrap_or(c),
    }
}

/// `unicode.ToLower`.
pub fn to_lower(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut m = c.to_lowercase();
    match (m.next(), m.next()) {
        (Some(l), None) => l,
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

/// `unicode.ToTitle`.
pub fn to_title(c: char) -> char {
    match c as u32 {
        0x01C4..=0x01C6 => '\u{1C5}',
        0x01C7..=0x01C9 => '\u{1C8}',
        0x01CA..=0x01CC => '\u{1CB}',
        0x01F1..=0x01F3 => '\u{1F2}',
        _ => to_upper(c),
    }
}

fn greek_iota_title(c: char) -> Option<char> {
    let u = c as u32;
    let t = match u {
        0x1F80..=0x1FAF if u & 0xF < 8 => u + 8,
        0x1F80..=0x1FAF => u,
        0x1FB3 | 0x1FBC => 0x1FBC,
        0x1FC3 | 0x1FCC => 0x1FCC,
        0x1FF3 | 0x1FFC => 0x1FFC,
        _ => return None,
    };
    char::from_u32(t)
}

fn other_uppercase(c: char) -> bool {
    matches!(c as u32, 0x2160..=0x216F | 0x24B6..=0x24CF | 0x1F130..=0x1F149 | 0x1F150..=0x1F169 | 0x1F170..=0x1F189)
}

fn other_lowercase(c: char) -> bool {
    matches!(c as u32,
        0xAA | 0xBA | 0x2B0..=0x2B8 | 0x2C0..=0x2C1 | 0x2E0..=0x2E4 | 0x345 | 0x37A | 0x10FC
        | 0x1D2C..=0x1D6A | 0x1D78 | 0x1D9B..=0x1DBF | 0x2071 | 0x207F | 0x2090..=0x209C
        | 0x2170..=0x217F | 0x24D0..=0x24E9 | 0x2C7C..=0x2C7D | 0xA69C..=0xA69D | 0xA770
        | 0xA7F2..=0xA7F4 | 0xA7F8..=0xA7F9 | 0xAB5C..=0xAB5F | 0xAB69)
}

/// Combining marks that Rust counts as alphabetic (Other_Alphabetic) but Go does not count
/// as letters: the common combining blocks.
fn other_alphabetic_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x0900..=0x0903 | 0x093A..=0x094F | 0x1AB0..=0x1AFF
        | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_case_mappings_as_go() {
        assert_eq!(to_upper('ß'), 'ß');
        assert_eq!(to_upper('é'), 'É');
        assert_eq!(to_upper('\u{1F80}'), '\u{1F88}');
        assert_eq!(to_lower('\u{130}'), 'i');
        assert_eq!(to_title('ǆ'), 'ǅ');
        assert!(!is_upper('Ⓐ'));
        assert!(is_upper('É'));
        assert!(!is_punct('$'));
        assert!(is_punct('_'));
    }
}
