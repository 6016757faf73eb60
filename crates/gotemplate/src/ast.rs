//! The parse tree, shaped as Go's text/template/parse nodes. Every node keeps its byte offset
//! in the source (`pos`), from which errors compute Go's `line:col`; `Display` prints a node
//! as Go's `String()` does, which is what execution errors quote (`at <.Values.x.y>`).

use std::fmt;
use std::rc::Rc;

/// One template: a file's top level or a `define`/`block` body.
#[derive(Debug)]
pub struct Tree {
    /// The template's name (`define`d name, or the name the text was parsed under).
    pub name: String,
    /// The name the source text was parsed under (Helm: the file), for error locations.
    pub parse_name: Rc<str>,
    /// The whole source text the tree came from, for error locations.
    pub text: Rc<str>,
    pub root: ListNode,
}

impl Tree {
    /// Go's `IsEmptyTree`: only white space text and comments. An empty definition does not
    /// replace an existing template of the same name.
    pub fn is_empty(&self) -> bool {
        self.root.nodes.iter().all(|n| match n {
            Node::Text { text, .. } => text.trim_matches(is_go_space).is_empty(),
            Node::Comment { .. } => true,
            _ => false,
        })
    }

    /// The text of the node of kind `site` at `pos`, as Go prints it in errors.
    pub fn action_at(&self, pos: usize, site: Site) -> String {
        find_in_list(&self.root, pos, site).unwrap_or_default()
    }

    /// Go's `line` and 0-based byte column of `pos`.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        line_col(&self.text, pos)
    }
}

/// Go's `line` and 0-based byte column of `pos` in `text`: counted only for errors, so parsing
/// never scans for lines.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let col = match before.rfind('\n') {
        Some(i) => pos - (i + 1),
        None => pos,
    };
    (line, col)
}

/// bytes.TrimSpace's white space (ASCII space characters and Unicode spaces).
fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// The kind of node a call site is: where an error's include chain passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// `{{template "x" .}}` (or a `block`).
    Template,
    /// A function call (`include "x" .`).
    Command,
    /// A method call on an object (`.Files.Get "x"`).
    Arg,
}

fn find_in_list(list: &ListNode, pos: usize, site: Site) -> Option<String> {
    list.nodes.iter().find_map(|n| find_in_node(n, pos, site))
}

fn find_in_node(node: &Node, pos: usize, site: Site) -> Option<String> {
    match node {
        Node::Template { pos: p, .. } if *p == pos && site == Site::Template => {
            Some(node.to_string())
        }
        Node::Template {
            pipe: Some(pipe), ..
        }
        | Node::Action { pipe, .. } => find_in_pipe(pipe, pos, site),
        Node::If(b) | Node::With(b) | Node::Range(b) => find_in_pipe(&b.pipe, pos, site)
            .or_else(|| find_in_list(&b.list, pos, site))
            .or_else(|| {
                b.else_list
                    .as_ref()
                    .and_then(|l| find_in_list(l, pos, site))
            }),
        _ => None,
    }
}

fn find_in_pipe(pipe: &Pipe, pos: usize, site: Site) -> Option<String> {
    pipe.cmds.iter().find_map(|c| {
        if c.pos == pos && site == Site::Command {
            return Some(c.to_string());
        }
        c.args.iter().find_map(|a| find_in_arg(a, pos, site))
    })
}

fn find_in_arg(arg: &Arg, pos: usize, site: Site) -> Option<String> {
    if arg.pos() == pos && site == Site::Arg && !matches!(arg, Arg::Pipe(_)) {
        return Some(arg.to_string());
    }
    match arg {
        Arg::Pipe(p) => find_in_pipe(p, pos, site),
        Arg::Chain { node, .. } => find_in_arg(node, pos, site),
        _ => None,
    }
}

#[derive(Debug, Default)]
pub struct ListNode {
    pub pos: usize,
    pub nodes: Vec<Node>,
}

#[derive(Debug)]
pub enum Node {
    Text {
        pos: usize,
        text: Rc<str>,
    },
    /// `{{pipeline}}`: printed unless it declares variables.
    Action {
        pos: usize,
        pipe: Pipe,
    },
    Comment {
        pos: usize,
    },
    If(Branch),
    With(Branch),
    Range(Branch),
    /// `{{template "name" pipeline}}` (also what `block` leaves in place).
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

/// The shared shape of `if`, `with` and `range`.
#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: ListNode,
    pub else_list: Option<ListNode>,
}

/// A pipeline, with its variable declarations (`$x :=`) or assignments (`$x =`).
#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Rc<str>>,
    pub cmds: Vec<Command>,
}

/// One stage of a pipeline: an operand or a function with its arguments.
#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub enum Arg {
    /// A function name.
    Identifier {
        pos: usize,
        name: Rc<str>,
    },
    /// `$x.a.b`: `ident[0]` is the variable, the rest are fields.
    Variable {
        pos: usize,
        ident: Vec<Rc<str>>,
    },
    /// `.a.b`, split into its names.
    Field {
        pos: usize,
        ident: Vec<Rc<str>>,
    },
    /// `(pipeline).a.b` or `func.a`: fields of any other operand.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<Rc<str>>,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number {
        pos: usize,
        num: Number,
    },
    /// A quoted string: `quoted` as written, `text` its value.
    String {
        pos: usize,
        quoted: Rc<str>,
        text: Rc<str>,
    },
    /// A parenthesised pipeline.
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

/// A numeric constant with every interpretation Go found for it (`1` is an int, a uint and a
/// float; `1.5` only a float; `'a'` all three).
#[derive(Debug, Clone)]
pub struct Number {
    pub text: Rc<str>,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, d) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(d)?;
            }
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            c.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match a {
                Arg::Pipe(p) => write!(f, "({p})")?,
                a => a.fmt(f)?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Variable { ident, .. } => f.write_str(&ident.join(".")),
            Arg::Field { ident, .. } => {
                for i in ident {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    n => n.fmt(f)?,
                }
                for i in fields {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { val, .. } => f.write_str(if *val { "true" } else { "false" }),
            Arg::Number { num, .. } => f.write_str(&num.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Pipe(p) => p.fmt(f),
        }
    }
}

impl fmt::Display for ListNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            n.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let branch = |f: &mut fmt::Formatter<'_>, kw: &str, b: &Branch| {
            write!(f, "{{{{{kw} {}}}}}{}", b.pipe, b.list)?;
            if let Some(e) = &b.else_list {
                write!(f, "{{{{else}}}}{e}")?;
            }
            f.write_str("{{end}}")
        };
        match self {
            Node::Text { text, .. } => f.write_str(text),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::Comment { .. } => f.write_str("{{/* */}}"),
            Node::If(b) => branch(f, "if", b),
            Node::With(b) => branch(f, "with", b),
            Node::Range(b) => branch(f, "range", b),
            Node::Template { name, pipe, .. } => match pipe {
                Some(p) => write!(
                    f,
                    "{{{{template {} {p}}}}}",
                    crate::gofmt::quote(name, false)
                ),
                None => write!(f, "{{{{template {}}}}}", crate::gofmt::quote(name, false)),
            },
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
        }
    }
}
