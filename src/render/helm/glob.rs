//! The glob patterns of `.Files.Glob`: gobwas/glob's syntax with `/` as the separator, as Helm
//! compiles them.
//!
//! | pattern | matches |
//! |---|---|
//! | `*` | any run of characters but `/` |
//! | `**` | any run of characters |
//! | `?` | one character but `/` |
//! | `[abc]`, `[a-z]`, `[!a-z]` | one character in (not in) the class |
//! | `{a,b*,c}` | any of the alternatives (which may hold patterns) |
//! | `\c` | the character `c` |

#[derive(Debug, Clone)]
enum Token {
    Char(char),
    Star,
    SuperStar,
    Any,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Alternatives(Vec<Vec<Token>>),
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    /// Compiles `pattern`; `None` when it is malformed (Helm then matches everything).
    pub fn new(pattern: &str) -> Option<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let tokens = parse(&chars, &mut pos, false)?;
        (pos == chars.len()).then_some(Glob { tokens })
    }

    /// `**`: every path.
    pub fn any() -> Glob {
        Glob {
            tokens: vec![Token::SuperStar],
        }
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        match_seq(&self.tokens, &name, &[])
    }
}

/// Tokens up to the end, or (inside `{}`) up to a `,` or `}` left for the caller.
fn parse(p: &[char], pos: &mut usize, in_alt: bool) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    while let Some(&c) = p.get(*pos) {
        match c {
            ',' | '}' if in_alt => return Some(out),
            '*' => {
                if p.get(*pos + 1) == Some(&'*') {
                    *pos += 2;
                    out.push(Token::SuperStar);
                } else {
                    *pos += 1;
                    out.push(Token::Star);
                }
            }
            '?' => {
                *pos += 1;
                out.push(Token::Any);
            }
            '\\' => {
                out.push(Token::Char(*p.get(*pos + 1)?));
                *pos += 2;
            }
            '[' => {
                *pos += 1;
                let negated = p.get(*pos) == Some(&'!');
                if negated {
                    *pos += 1;
                }
                let mut ranges = Vec::new();
                loop {
                    let lo = *p.get(*pos)?;
                    if lo == ']' {
                        *pos += 1;
                        break;
                    }
                    if p.get(*pos + 1) == Some(&'-') && p.get(*pos + 2).is_some_and(|c| *c != ']') {
                        let hi = p[*pos + 2];
                        ranges.push((lo, hi));
                        *pos += 3;
                    } else {
                        ranges.push((lo, lo));
                        *pos += 1;
                    }
                }
                out.push(Token::Class { negated, ranges });
            }
            '{' => {
                *pos += 1;
                let mut alts = Vec::new();
                loop {
                    alts.push(parse(p, pos, true)?);
                    match p.get(*pos)? {
                        ',' => *pos += 1,
                        _ => {
                            *pos += 1;
                            break;
                        }
                    }
                }
                out.push(Token::Alternatives(alts));
            }
            c => {
                *pos += 1;
                out.push(Token::Char(c));
            }
        }
    }
    (!in_alt).then_some(out)
}

/// Whether `tokens` followed by `rest` (the tokens after an enclosing alternative) match all
/// of `name`.
fn match_seq(tokens: &[Token], name: &[char], rest: &[&[Token]]) -> bool {
    let Some((first, tail)) = tokens.split_first() else {
        return match rest.split_first() {
            Some((next, more)) => match_seq(next, name, more),
            None => name.is_empty(),
        };
    };
    match first {
        Token::Char(c) => name.first() == Some(c) && match_seq(tail, &name[1..], rest),
        Token::Any => name.first().is_some_and(|c| *c != '/') && match_seq(tail, &name[1..], rest),
        Token::Class { negated, ranges } => {
            name.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated
            }) && match_seq(tail, &name[1..], rest)
        }
        Token::Star => {
            for i in 0..=name.len() {
                if match_seq(tail, &name[i..], rest) {
                    return true;
                }
                if name.get(i) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Token::SuperStar => (0..=name.len()).any(|i| match_seq(tail, &name[i..], rest)),
        Token::Alternatives(alts) => {
            let mut more: Vec<&[Token]> = vec![tail];
            more.extend_from_slice(rest);
            alts.iter().any(|alt| match_seq(alt, name, &more))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        Glob::new(p).unwrap().matches(n)
    }

    #[test]
    fn gobwas_syntax() {
        assert!(m("files/*", "files/a.txt"));
        assert!(!m("files/*", "files/a/b.txt"));
        assert!(m("files/**", "files/a/b.txt"));
        assert!(m("**.yaml", "a/b/c.yaml"));
        assert!(m("*.{yaml,json}", "x.json"));
        assert!(!m("*.{yaml,json}", "x.toml"));
        assert!(m("conf/{a,b/*}.ini", "conf/b/x.ini"));
        assert!(m("f?le", "file"));
        assert!(!m("f?le", "f/le"));
        assert!(m("[a-c]*", "banana"));
        assert!(m("[!a-c]*", "dog"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(Glob::new("[a").is_none());
        assert!(Glob::new("{a,b").is_none());
        assert!(Glob::any().matches("x/y/z"));
    }
}
