//! The lexer: template text to tokens, as Go's text/template/parse lexer does it.
//!
//! Whitespace trimming happens here: `{{- ` removes the white space (space, tab, CR, LF) before
//! the action, ` -}}` the white space after it. The marker needs the space: `{{-3}}` is the
//! number -3. Errors become a final `Error` token whose text is Go's message; the parser reports
//! it with the line the failing token started on. Tokens carry byte offsets only: lines are
//! counted when an error needs one, so a large plain file costs one scan for `{{`.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Error,
    Bool,
    /// A printable ASCII character inside an action that has no other meaning (`,` in range
    /// declarations).
    Char,
    CharConstant,
    Comment,
    Complex,
    /// `=`
    Assign,
    /// `:=`
    Declare,
    Eof,
    /// `.name`
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    /// `$` or `$name`
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Dot
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Nil
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

/// One token: its kind, text (borrowed from the input; an error's message) and byte offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub val: Cow<'a, str>,
    pub pos: usize,
}

impl std::fmt::Display for Token<'_> {
    /// Go's `item.String()`, as parse errors quote tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Eof => f.write_str("EOF"),
            Kind::Error => f.write_str(&self.val),
            k if k.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", crate::gofmt::quote(&head, false))
            }
            _ => f.write_str(&crate::gofmt::quote(&self.val, false)),
        }
    }
}

/// Lexer options the parser sets: `break` and `continue` are keywords unless a function of
/// that name exists.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub break_ok: bool,
    pub continue_ok: bool,
}

use std::borrow::Cow;

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Go's `isAlphaNumeric`: `_`, a letter, or a decimal digit.
fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || is_decimal_digit(c)
}

/// Go's `unicode.IsDigit` (category Nd). Rust has no Nd test; the decimal digit blocks are
/// runs of ten starting at these zeros.
fn is_decimal_digit(c: char) -> bool {
    const ZEROS: &[u32] = &[
        0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
        0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
        0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
        0xFF10,
    ];
    let u = c as u32;
    c.is_ascii_digit() || (!c.is_ascii() && ZEROS.iter().any(|&z| (z..z + 10).contains(&u)))
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(char::from(b[1]))
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(char::from(b[0])) && b[1] == b'-'
}

fn right_trim_len(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

struct Lexer<'a> {
    input: &'a str,
    opts: Options,
    start: usize,
    pos: usize,
    paren_depth: usize,
    tokens: Vec<Token<'a>>,
}

/// Splits `input` into tokens, ending with `Eof` or an `Error` token.
pub fn lex(input: &str, opts: Options) -> Vec<Token<'_>> {
    let mut l = Lexer {
        input,
        opts,
        start: 0,
        pos: 0,
        paren_depth: 0,
        // Helm charts' templates average one token per 14 bytes, the densest one per 4:
        // reserving one per 8 spares most of the copies a growing vector makes.
        tokens: Vec::with_capacity(input.len() / 8 + 8),
    };
    l.run();
    l.tokens
}

enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

impl<'a> Lexer<'a> {
    fn emit(&mut self, kind: Kind) {
        let val = Cow::Borrowed(&self.input[self.start..self.pos]);
        self.tokens.push(Token {
            kind,
            val,
            pos: self.start,
        });
        self.start = self.pos;
    }

    fn error(&mut self, message: String) -> State {
        self.tokens.push(Token {
            kind: Kind::Error,
            val: Cow::Owned(message),
            pos: self.start,
        });
        State::Done
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
        }
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn run(&mut self) {
        let mut state = State::Text;
        loop {
            state = match state {
                State::Text => self.lex_text(),
                State::LeftDelim => self.lex_left_delim(),
                State::Comment => self.lex_comment(),
                State::RightDelim => self.lex_right_delim(),
                State::InsideAction => self.lex_inside_action(),
                State::Done => return,
            }
        }
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = find_left_delim(self.rest()) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT.len();
                let trim = if has_left_trim_marker(&self.input[delim_end..]) {
                    right_trim_len(&self.input[self.start..self.pos])
                } else {
                    0
                };
                self.pos -= trim;
                if self.pos > self.start {
                    self.emit(Kind::Text);
                }
                self.pos += trim;
                self.start = self.pos;
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.emit(Kind::Text);
        }
        self.emit(Kind::Eof);
        State::Done
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (rest.starts_with(RIGHT), false)
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += LEFT.len();
        let trim = has_left_trim_marker(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.start = self.pos;
            return State::Comment;
        }
        self.emit(Kind::LeftDelim);
        self.pos += after;
        self.start = self.pos;
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        self.emit(Kind::Comment);
        if trim {
            self.pos += 2;
        }
        self.pos += RIGHT.len();
        if trim {
            self.pos += left_trim_len(self.rest());
        }
        self.start = self.pos;
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.start = self.pos;
        }
        self.pos += RIGHT.len();
        self.emit(Kind::RightDelim);
        if trim {
            self.pos += left_trim_len(self.rest());
            self.start = self.pos;
        }
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.error("unclosed left paren".into());
        }
        let c = self.next();
        match c {
            None => self.error("unclosed action".into()),
            Some(c) if is_space(c) => {
                self.backup(Some(c));
                self.lex_space()
            }
            Some('=') => {
                self.emit(Kind::Assign);
                State::InsideAction
            }
            Some(':') => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(Kind::Declare);
                State::InsideAction
            }
            Some('|') => {
                self.emit(Kind::Pipe);
                State::InsideAction
            }
            Some('"') => self.lex_quoted('"', Kind::String, "quoted string"),
            Some('`') => self.lex_raw_quote(),
            Some('$') => self.lex_variable(),
            Some('\'') => self.lex_quoted('\'', Kind::CharConstant, "character constant"),
            Some('.') if self.peek().is_some_and(|c| !c.is_ascii_digit()) => {
                self.lex_field_or_variable(Kind::Field)
            }
            Some(c @ ('.' | '+' | '-' | '0'..='9')) => {
                self.backup(Some(c));
                self.lex_number()
            }
            Some(c) if is_alnum(c) => {
                self.backup(Some(c));
                self.lex_identifier()
            }
            Some('(') => {
                self.paren_depth += 1;
                self.emit(Kind::LeftParen);
                State::InsideAction
            }
            Some(')') => {
                if self.paren_depth == 0 {
                    return self.error("unexpected right paren".into());
                }
                self.paren_depth -= 1;
                self.emit(Kind::RightParen);
                State::InsideAction
            }
            Some(c) if c.is_ascii() && (' '..='~').contains(&c) => {
                self.emit(Kind::Char);
                State::InsideAction
            }
            Some(c) => self.error(format!(
                "unrecognized character in action: {}",
                unicode_plus(c)
            )),
        }
    }

    fn lex_space(&mut self) -> State {
        let mut n = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            n += 1;
        }
        // A space followed by "-}}" is the trim marker, not an argument separator.
        let before = &self.input[self.pos - 1..];
        if has_right_trim_marker(before) && before[2..].starts_with(RIGHT) {
            self.pos -= 1;
            if n == 1 {
                return State::InsideAction;
            }
        }
        self.emit(Kind::Space);
        State::InsideAction
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(RIGHT),
        }
    }

    /// Moves past a run of `is_alnum` characters; returns the one after it (not consumed).
    fn skip_alnum(&mut self) -> Option<char> {
        let bytes = self.input.as_bytes();
        loop {
            // Names are ASCII but for rare exceptions: bytes first, a char only past ASCII.
            while let Some(&b) = bytes.get(self.pos) {
                if b.is_ascii_alphanumeric() || b == b'_' {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            match self.peek() {
                Some(c) if !c.is_ascii() && is_alnum(c) => self.pos += c.len_utf8(),
                c => return c,
            }
        }
    }

    fn lex_identifier(&mut self) -> State {
        let c = self.skip_alnum();
        let word = &self.input[self.start..self.pos];
        if !self.at_terminator() {
            return self.error(format!("bad character {}", unicode_plus_opt(c)));
        }
        let kind = match word {
            "block" => Kind::Block,
            "break" if self.opts.break_ok => Kind::Break,
            "continue" if self.opts.continue_ok => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "range" => Kind::Range,
            "nil" => Kind::Nil,
            "template" => Kind::Template,
            "with" => Kind::With,
            "true" | "false" => Kind::Bool,
            _ => Kind::Identifier,
        };
        self.emit(kind);
        State::InsideAction
    }

    fn lex_variable(&mut self) -> State {
        if self.at_terminator() {
            self.emit(Kind::Variable);
            return State::InsideAction;
        }
        self.lex_field_or_variable(Kind::Variable)
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> State {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return State::InsideAction;
        }
        let c = self.skip_alnum();
        if !self.at_terminator() {
            return self.error(format!("bad character {}", unicode_plus_opt(c)));
        }
        self.emit(kind);
        State::InsideAction
    }

    /// A '…' or "…" literal: backslash escapes, no newline, closed on the same line.
    fn lex_quoted(&mut self, quote: char, kind: Kind, what: &str) -> State {
        loop {
            match self.next() {
                Some('\\') => {
                    let c = self.next();
                    if c.is_some() && c != Some('\n') {
                        continue;
                    }
                    return self.error(format!("unterminated {what}"));
                }
                None | Some('\n') => return self.error(format!("unterminated {what}")),
                Some(c) if c == quote => break,
                _ => {}
            }
        }
        self.emit(kind);
        State::InsideAction
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            return self.error(format!(
                "bad number syntax: {}",
                crate::gofmt::quote(&self.input[self.start..self.pos], false)
            ));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex: 1+2i.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                return self.error(format!(
                    "bad number syntax: {}",
                    crate::gofmt::quote(&self.input[self.start..self.pos], false)
                ));
            }
            self.emit(Kind::Complex);
            return State::InsideAction;
        }
        self.emit(Kind::Number);
        State::InsideAction
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Kind::RawString);
        State::InsideAction
    }
}

/// Where the first `{{` of `s` starts. A search for `{` alone (memchr) then a look at the next
/// byte: faster than a two-byte substring search on long texts that hold few braces.
fn find_left_delim(s: &str) -> Option<usize> {
    let mut from = 0;
    // `str::find` of one ASCII char is a memchr.
    while let Some(i) = s[from..].find('{') {
        let at = from + i;
        if s.as_bytes().get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Go's `%#U`: `U+0041 'A'`.
fn unicode_plus(c: char) -> String {
    if crate::gofmt::is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

fn unicode_plus_opt(c: Option<char>) -> String {
    match c {
        Some(c) => unicode_plus(c),
        // Go's eof rune is -1.
        None => "U+FFFFFFFFFFFFFFFF".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        let opts = Options {
            break_ok: true,
            continue_ok: true,
        };
        lex(s, opts)
            .into_iter()
            .map(|t| (t.kind, t.val.into_owned()))
            .collect()
    }

    #[test]
    fn trim_markers_eat_surrounding_white_space() {
        let toks = kinds("a  \n{{- .x -}}\n  b");
        assert_eq!(
            toks,
            vec![
                (Kind::Text, "a".into()),
                (Kind::LeftDelim, "{{".into()),
                (Kind::Field, ".x".into()),
                (Kind::RightDelim, "}}".into()),
                (Kind::Text, "b".into()),
                (Kind::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn a_minus_without_space_is_a_number() {
        let toks = kinds("{{-3}}");
        assert_eq!(toks[1], (Kind::Number, "-3".into()));
    }

    #[test]
    fn field_chains_are_separate_field_tokens() {
        let toks = kinds("{{ $x.a.b }}");
        let ks: Vec<Kind> = toks.iter().map(|t| t.0).collect();
        assert_eq!(
            ks,
            vec![
                Kind::LeftDelim,
                Kind::Space,
                Kind::Variable,
                Kind::Field,
                Kind::Field,
                Kind::Space,
                Kind::RightDelim,
                Kind::Eof
            ]
        );
    }

    #[test]
    fn errors_end_the_stream() {
        let toks = kinds("{{ \"abc }}");
        assert_eq!(toks.last().map(|t| t.0), Some(Kind::Error));
        assert_eq!(
            toks.last().map(|t| t.1.as_str()),
            Some("unterminated quoted string")
        );
    }
}
