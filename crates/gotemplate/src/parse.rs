//! The parser: tokens to trees, as Go's text/template/parse does it, with Go's error messages.
//!
//! One text gives one tree under its own name plus one per `define` and `block` in it. Within
//! one text a name may be defined once (empty definitions aside); across texts a later
//! definition replaces an earlier one (the set decides that, see `TemplateSet::parse`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::{Arg, Branch, Command, ListNode, Node, Number, Pipe, Tree, line_col};
use crate::error::ParseError;
use crate::lex::{self, Kind, Token};

/// Parses `text` under `name`. `has_function` says whether a function name exists (built-ins
/// included): Go rejects calls to unknown functions at parse time.
pub fn parse(
    name: &str,
    text: &str,
    has_function: &dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let opts = lex::Options {
        break_ok: !has_function("break"),
        continue_ok: !has_function("continue"),
    };
    let tokens = lex::lex(text, opts);
    let text: Rc<str> = Rc::from(text);
    let parse_name: Rc<str> = Rc::from(name);
    let mut p = Parser {
        tokens,
        i: 0,
        furthest: std::cell::Cell::new(0),
        has_function,
        vars: vec!["$".into()],
        range_depth: 0,
        nesting: 0,
        action_pos: None,
        name: parse_name.clone(),
        text: text.clone(),
        trees: Vec::new(),
        names: HashMap::with_capacity_and_hasher(64, Default::default()),
    };
    let root = p.parse_top()?;
    let top = Tree {
        name: name.to_string(),
        parse_name,
        text,
        root,
    };
    p.add(top)?;
    Ok(p.trees)
}

struct Parser<'f, 'a> {
    tokens: Vec<Token<'a>>,
    i: usize,
    /// The furthest token read or peeked: Go's `token[0]`, whose line errors show.
    furthest: std::cell::Cell<usize>,
    has_function: &'f dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    /// Parentheses and if/with/range/block open around the current token.
    nesting: usize,
    /// Where the action being parsed opened (its `{{`), for errors that end it on a later line.
    action_pos: Option<usize>,
    name: Rc<str>,
    text: Rc<str>,
    trees: Vec<Tree>,
    /// One shared copy of each field, function, variable and string literal: templates repeat
    /// the same few (`.Values`, `include`, `$`), and a clone is cheaper than an allocation to
    /// make and another to free.
    names: HashMap<&'a str, Rc<str>, foldhash::fast::FixedState>,
}

type PResult<T> = Result<T, ParseError>;

/// How deeply parentheses and if/with/range/block may nest. Go sets no limit; a tree much
/// deeper than this would overflow the stack when it is dropped or printed, and no template
/// comes near it.
const MAX_NESTING: usize = 1000;

impl<'a> Parser<'_, 'a> {
    fn token(&self, i: usize) -> &Token<'a> {
        // The token list always ends with Eof or Error, and nothing reads past it.
        let i = i.min(self.tokens.len() - 1);
        if i > self.furthest.get() {
            self.furthest.set(i);
        }
        &self.tokens[i]
    }

    fn next(&mut self) -> Token<'a> {
        let t = self.token(self.i).clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&self) -> &Token<'a> {
        self.token(self.i)
    }

    fn next_non_space(&mut self) -> Token<'a> {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token<'a> {
        let t = self.next_non_space();
        self.backup();
        t
    }

    /// The shared copy of `s`, a slice of the source text or of a token.
    fn intern(&mut self, s: &'a str) -> Rc<str> {
        self.names.entry(s).or_insert_with(|| Rc::from(s)).clone()
    }

    /// `intern` for a token's text from byte `from` on (1 skips a field's dot).
    fn intern_token(&mut self, t: &Token<'a>, from: usize) -> Rc<str> {
        match &t.val {
            Cow::Borrowed(s) => self.intern(&s[from..]),
            // Only lexer errors own their text, and those are never names.
            Cow::Owned(s) => Rc::from(&s[from..]),
        }
    }

    fn errorf(&self, message: String) -> ParseError {
        let t = &self.tokens[self.furthest.get()];
        let (line, col) = line_col(&self.text, t.pos);
        ParseError {
            name: self.name.to_string(),
            line,
            col,
            message,
        }
    }

    fn unexpected(&self, token: &Token, context: &str) -> ParseError {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            let action_line = self.action_pos.map(|pos| line_col(&self.text, pos).0);
            if let Some(action_line) = action_line
                && action_line != line_col(&self.text, token.pos).0
            {
                extra = format!(" in action started at {}:{}", self.name, action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token<'a>> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn add(&mut self, tree: Tree) -> PResult<()> {
        match self.trees.iter().position(|t| t.name == tree.name) {
            None => self.trees.push(tree),
            Some(i) if self.trees[i].is_empty() => self.trees[i] = tree,
            Some(_) if tree.is_empty() => {}
            Some(_) => {
                return Err(self.errorf(format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::quote(&tree.name, false)
                )));
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> PResult<ListNode> {
        let mut root = ListNode {
            pos: self.peek().pos,
            nodes: Vec::new(),
        };
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let delim = self.i;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = delim;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.nodes.push(n),
                end => return Err(self.errorf(format!("unexpected {}", end.describe()))),
            }
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let t = self.next_non_space();
        if t.kind != Kind::String && t.kind != Kind::RawString {
            return Err(self.unexpected(&t, context));
        }
        let name = self.unquote(&t)?;
        self.expect(Kind::RightDelim, context)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let r = self.item_list();
        self.vars = saved_vars;
        let (list, end) = r?;
        if !matches!(end, Item::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        let tree = Tree {
            name,
            parse_name: self.name.clone(),
            text: self.text.clone(),
            root: list,
        };
        self.add(tree)
    }

    fn item_list(&mut self) -> PResult<(ListNode, Item)> {
        let mut list = ListNode {
            pos: self.peek_non_space().pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.nodes.push(n),
                end => return Ok((list, end)),
            }
        }
        Err(self.errorf("unexpected EOF".into()))
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Text => Ok(Item::Node(Node::Text {
                pos: t.pos,
                text: Rc::from(&*t.val),
            })),
            Kind::LeftDelim => {
                let saved = self.action_pos.replace(t.pos);
                let r = self.action();
                self.action_pos = saved;
                r
            }
            Kind::Comment => Ok(Item::Node(Node::Comment { pos: t.pos })),
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let t = self.next_non_space();
        match t.kind {
            Kind::Block => return self.block_control().map(Item::Node),
            Kind::Break | Kind::Continue => {
                let word = if t.kind == Kind::Break {
                    "break"
                } else {
                    "continue"
                };
                let next = self.next_non_space();
                if next.kind != Kind::RightDelim {
                    return Err(self.unexpected(&next, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                return Ok(Item::Node(if t.kind == Kind::Break {
                    Node::Break { pos: t.pos }
                } else {
                    Node::Continue { pos: t.pos }
                }));
            }
            Kind::Else => {
                let peek = self.peek_non_space();
                if peek.kind == Kind::If || peek.kind == Kind::With {
                    return Ok(Item::Else(peek.pos));
                }
                let t = self.expect(Kind::RightDelim, "else")?;
                return Ok(Item::Else(t.pos));
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Kind::If => return self.parse_control("if").map(|b| Item::Node(Node::If(b))),
            Kind::Range => {
                return self
                    .parse_control("range")
                    .map(|b| Item::Node(Node::Range(b)));
            }
            Kind::With => {
                return self
                    .parse_control("with")
                    .map(|b| Item::Node(Node::With(b)));
            }
            Kind::Template => return self.template_control().map(Item::Node),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Item::Node(Node::Action { pos, pipe }))
    }

    fn parse_control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let r = self.nested(|p| p.parse_control_inner(context));
        self.vars.truncate(mark);
        r
    }

    /// Runs a nested parse, refusing nesting beyond `MAX_NESTING`.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.nesting >= MAX_NESTING {
            return Err(self.errorf(format!(
                "nesting deeper than {MAX_NESTING} levels of parentheses and if/with/range/block"
            )));
        }
        self.nesting += 1;
        let r = crate::exec::grow(|| f(self));
        self.nesting -= 1;
        r
    }

    fn parse_control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, next) = r?;
        let else_list = match next {
            Item::Else(pos) => {
                // "else if" and "else with" chain: parse the inner if/with, whose {{end}}
                // also closes this one.
                let chained = match self.peek().kind {
                    Kind::If if context == "if" => Some("if"),
                    Kind::With if context == "with" => Some("with"),
                    _ => None,
                };
                if let Some(kw) = chained {
                    self.next();
                    let inner = self.parse_control(kw)?;
                    let node = if kw == "if" {
                        Node::If(inner)
                    } else {
                        Node::With(inner)
                    };
                    Some(ListNode {
                        pos,
                        nodes: vec![node],
                    })
                } else {
                    let (list, next) = self.item_list()?;
                    if !matches!(next, Item::End) {
                        return Err(self.errorf(format!("expected end; found {}", next.describe())));
                    }
                    Some(list)
                }
            }
            _ => None,
        };
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, t: &Token, context: &str) -> PResult<String> {
        match t.kind {
            Kind::String | Kind::RawString => self.unquote(t),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, Kind::RightDelim)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let r = self.nested(|p| p.item_list());
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        let (list, end) = r?;
        if !matches!(end, Item::End) {
            return Err(self.errorf(format!("unexpected {} in {context}", end.describe())));
        }
        self.add(Tree {
            name: name.clone(),
            parse_name: self.name.clone(),
            text: self.text.clone(),
            root: list,
        })?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations or assignments: `$x :=`, `$x =`, `$i, $v :=` (range only).
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let before = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            if next.kind == Kind::Assign || next.kind == Kind::Declare {
                pipe.is_assign = next.kind == Kind::Assign;
                self.next_non_space();
                pipe.decl.push(self.intern_token(&v, 0));
                self.vars.push(v.val.into_owned());
                break;
            } else if next.kind == Kind::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(self.intern_token(&v, 0));
                self.vars.push(v.val.into_owned());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().kind {
                        Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                        _ => return Err(self.errorf("range can only initialize variables".into())),
                    }
                }
                return Err(self.errorf(format!("too many declarations in {context}")));
            }
            self.i = before;
            break;
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number { .. }
                    | Arg::String { .. }
            ) {
                return Err(self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command".into()));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields: Vec<Rc<str>> = Vec::new();
        while self.peek().kind == Kind::Field {
            let t = self.next();
            fields.push(self.intern_token(&t, 1));
        }
        Ok(Some(match node {
            Arg::Field { mut ident, .. } => {
                ident.extend(fields);
                Arg::Field {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Variable { mut ident, .. } => {
                ident.extend(fields);
                Arg::Variable {
                    pos: chain_pos,
                    ident,
                }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.errorf(format!(
                    "unexpected . after term {}",
                    crate::gofmt::quote(&node.to_string(), false)
                )));
            }
            node => Arg::Chain {
                pos: chain_pos,
                node: Box::new(node),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        let arg = match t.kind {
            Kind::Identifier => {
                if !(self.has_function)(&t.val) {
                    return Err(self.errorf(format!(
                        "function {} not defined",
                        crate::gofmt::quote(&t.val, false)
                    )));
                }
                Arg::Identifier {
                    pos: t.pos,
                    name: self.intern_token(&t, 0),
                }
            }
            Kind::Dot => Arg::Dot { pos: t.pos },
            Kind::Nil => Arg::Nil { pos: t.pos },
            Kind::Variable => {
                if !self.vars.iter().any(|v| *v == *t.val) {
                    return Err(self.errorf(format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&t.val, false)
                    )));
                }
                Arg::Variable {
                    pos: t.pos,
                    ident: vec![self.intern_token(&t, 0)],
                }
            }
            Kind::Field => Arg::Field {
                pos: t.pos,
                ident: vec![self.intern_token(&t, 1)],
            },
            Kind::Bool => Arg::Bool {
                pos: t.pos,
                val: t.val == "true",
            },
            Kind::CharConstant | Kind::Complex | Kind::Number => Arg::Number {
                pos: t.pos,
                num: self.number(&t)?,
            },
            Kind::LeftParen => {
                let p = self.nested(|p| p.pipeline("parenthesized pipeline", Kind::RightParen))?;
                Arg::Pipe(Box::new(p))
            }
            Kind::String | Kind::RawString => {
                let text = match &t.val {
                    Cow::Borrowed(quoted) => match without_escapes(quoted) {
                        Some(body) => self.intern(body),
                        None => Rc::from(self.unquote(&t)?),
                    },
                    Cow::Owned(_) => Rc::from(self.unquote(&t)?),
                };
                Arg::String {
                    pos: t.pos,
                    quoted: self.intern_token(&t, 0),
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(arg))
    }

    fn unquote(&self, t: &Token) -> PResult<String> {
        unquote(&t.val).ok_or_else(|| self.errorf("invalid syntax".into()))
    }

    fn number(&self, t: &Token) -> PResult<Number> {
        let text = &*t.val;
        let mut n = Number {
            text: Rc::from(text),
            int: None,
            uint: None,
            float: None,
        };
        if t.kind == Kind::CharConstant {
            // Go's UnquoteChar on what follows the opening quote: a bad escape is "invalid
            // syntax"; more than one character before the closing quote is "malformed".
            let (c, tail) = unquote_one(&text[1..], b'\'')
                .ok_or_else(|| self.errorf("invalid syntax".into()))?;
            if tail != "'" {
                return Err(self.errorf(format!("malformed character constant: {text}")));
            }
            let c = match c {
                Unq::Char(c) => c,
                Unq::Byte(x) => char::from(x),
            };
            let c = i64::from(u32::from(c));
            n.int = Some(c);
            n.uint = Some(c as u64);
            n.float = Some(c as f64);
            return Ok(n);
        }
        if t.kind == Kind::Complex || text.ends_with('i') {
            // Go accepts complex constants; no Helm chart uses them and no value here can hold
            // one, so they are refused at parse time.
            return Err(self.errorf(format!("complex constants are not supported: {text}")));
        }
        let u = parse_go_uint(text);
        n.uint = u;
        if let Some(i) = parse_go_int(text) {
            n.int = Some(i);
            if i == 0 {
                n.uint = Some(0);
            }
        }
        if let Some(i) = n.int {
            n.float = Some(i as f64);
        } else if let Some(u) = n.uint {
            n.float = Some(u as f64);
        } else if let Some(f) = parse_go_float(text) {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(self.errorf(format!(
                    "integer overflow: {}",
                    crate::gofmt::quote(text, false)
                )));
            }
            n.float = Some(f);
            if f.is_finite() && f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
                n.int = Some(f as i64);
            }
            if f.is_finite() && f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 {
                n.uint = Some(f as u64);
            }
        }
        if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
            return Err(self.errorf(format!(
                "illegal number syntax: {}",
                crate::gofmt::quote(text, false)
            )));
        }
        Ok(n)
    }
}

/// What `text_or_action` found: a node, or the `{{end}}`/`{{else}}` that closes a list.
enum Item {
    Node(Node),
    End,
    Else(usize),
}

impl Item {
    /// Go's `String()` of the node, as errors quote it.
    fn describe(&self) -> String {
        match self {
            Item::End => "{{end}}".into(),
            Item::Else(_) => "{{else}}".into(),
            Item::Node(n) => n.to_string(),
        }
    }
}

/// Go's strconv.Unquote for "…" and `…` literals.
/// The text between the quotes of a string literal that `unquote` would return unchanged: one
/// without escapes (or, raw, without carriage returns), which most literals are.
fn without_escapes(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return None;
    }
    let body = &s[1..s.len() - 1];
    let plain = match b[0] {
        b'`' => !body.bytes().any(|c| c == b'`' || c == b'\r'),
        b'"' => !body.bytes().any(|c| c == b'"' || c == b'\\' || c == b'\n'),
        _ => false,
    };
    plain.then_some(body)
}

pub(crate) fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return None;
    }
    let body = &s[1..s.len() - 1];
    match b[0] {
        b'`' => {
            if body.contains('`') {
                return None;
            }
            Some(body.replace('\r', ""))
        }
        b'"' => {
            let mut out = String::new();
            let mut bytes: Vec<u8> = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                if rest.starts_with('"') || rest.starts_with('\n') {
                    return None;
                }
                let (c, tail) = unquote_one(rest, b'"')?;
                match c {
                    Unq::Char(c) => {
                        flush_bytes(&mut out, &mut bytes);
                        out.push(c);
                    }
                    // \x and octal escapes are bytes; consecutive ones may form UTF-8.
                    Unq::Byte(x) => bytes.push(x),
                }
                rest = tail;
            }
            flush_bytes(&mut out, &mut bytes);
            Some(out)
        }
        _ => None,
    }
}

/// Appends escaped bytes; Go strings may hold invalid UTF-8, Rust strings cannot, so an
/// invalid sequence becomes U+FFFD (what Go prints for it too).
fn flush_bytes(out: &mut String, bytes: &mut Vec<u8>) {
    if !bytes.is_empty() {
        out.push_str(&String::from_utf8_lossy(bytes));
        bytes.clear();
    }
}

enum Unq {
    Char(char),
    Byte(u8),
}

/// Go's strconv.UnquoteChar: one (possibly escaped) character and the rest.
fn unquote_one(s: &str, quote: u8) -> Option<(Unq, &str)> {
    let c = s.chars().next()?;
    if c == char::from(quote) {
        return None;
    }
    if c != '\\' {
        return Some((Unq::Char(c), &s[c.len_utf8()..]));
    }
    let e = s[1..].chars().next()?;
    let rest = &s[1 + e.len_utf8()..];
    // Every escape letter is ASCII; anything else after a backslash is invalid.
    let e = u8::try_from(e).ok()?;
    let simple = |c: char| Some((Unq::Char(c), rest));
    match e {
        b'a' => simple('\x07'),
        b'b' => simple('\x08'),
        b'f' => simple('\x0c'),
        b'n' => simple('\n'),
        b'r' => simple('\r'),
        b't' => simple('\t'),
        b'v' => simple('\x0b'),
        b'\\' => simple('\\'),
        b'\'' | b'"' if e == quote => simple(char::from(e)),
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n)?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(hex, 16).ok()?;
            let tail = &rest[n..];
            if e == b'x' {
                return Some((Unq::Byte(v as u8), tail));
            }
            Some((Unq::Char(char::from_u32(v)?), tail))
        }
        b'0'..=b'7' => {
            let oct = s.get(1..4)?;
            if !oct.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
                return None;
            }
            let v = u32::from_str_radix(oct, 8).ok()?;
            Some((Unq::Byte(u8::try_from(v).ok()?), &s[4..]))
        }
        _ => None,
    }
}

/// strconv.ParseInt(s, 0, 64): Go's integer literal syntax (base prefixes, `_` separators).
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(body)?;
    if neg {
        (u <= i64::MAX as u64 + 1).then(|| (u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// strconv.ParseUint(s, 0, 64).
fn parse_go_uint(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b[0] == b'+' || b[0] == b'-' {
        return None;
    }
    let (radix, digits, prefix) = if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => (16, &s[2..], true),
            b'o' | b'O' => (8, &s[2..], true),
            b'b' | b'B' => (2, &s[2..], true),
            _ => (8, &s[1..], true),
        }
    } else {
        (10, s, false)
    };
    // Go's underscoreOK: each `_` sits between digits (a base prefix counts as a digit).
    let mut prev_digit = prefix;
    let mut prev_us = false;
    for c in digits.chars() {
        if c == '_' {
            if !prev_digit {
                return None;
            }
            prev_us = true;
            prev_digit = false;
        } else {
            prev_us = false;
            prev_digit = true;
        }
    }
    if prev_us {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    u64::from_str_radix(&clean, radix).ok()
}

/// strconv.ParseFloat(s, 64) for Go's literal syntax (decimal and hex floats, `_`).
fn parse_go_float(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let (neg, body) = match lower.as_bytes().first() {
        Some(b'-') => (true, &lower[1..]),
        Some(b'+') => (false, &lower[1..]),
        _ => (false, lower.as_str()),
    };
    let v = if let Some(hex) = body.strip_prefix("0x") {
        let (mant, exp) = hex.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut v = 0f64;
        for c in int.chars() {
            v = v * 16.0 + f64::from(c.to_digit(16)?);
        }
        let mut scale = 1.0 / 16.0;
        for c in frac.chars() {
            v += f64::from(c.to_digit(16)?) * scale;
            scale /= 16.0;
        }
        v * 2f64.powi(exp)
    } else {
        if !body.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_multibyte_character_is_invalid_syntax_not_a_panic() {
        assert_eq!(unquote("\"\\߂\""), None);
        assert_eq!(unquote("\"a\\u00e9\\x41\\101\""), Some("aéAA".to_string()));
        assert!(unquote_one("\\߂'", b'\'').is_none());
    }
}
