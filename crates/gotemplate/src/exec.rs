//! The executor: walks a tree over a value, as Go's text/template `state` does.
//!
//! Go distinguishes two kinds of nothing, and templates observe the difference:
//! - the *invalid* value (`Slot` `None`): a missing map key under `missingkey=default`, and any
//!   nil once a pipeline stage is done with it. A field of it is no error (`<no value>`).
//! - the nil *interface* (`Some(Value::Nil)`): a YAML null or a missing key under
//!   `missingkey=zero` read straight out of a map, a nil list element. A field of it is the
//!   error "nil pointer evaluating interface {}.x"; it reaches functions as "got interface {}".
//!
//! Errors carry the node last reached (Go's `s.at(node)`), so they name the same action Go
//! names, at the same line and column.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::{Arg, Branch, Command, Node, Number, Pipe, Site, Tree};
use crate::builtins::{self, BParam, Builtin, Slot};
use crate::error::{Error, ExecError, Location};
use crate::func::{CallCtx, Engine, Function, Param, Signature};
use crate::gofmt;
use crate::set::{MissingKey, TemplateSet};
use crate::value::{Elem, Map, Value};

type R<T> = Result<T, Box<ExecError>>;

/// Templates a `tpl`-style render added on top of the set, visible for that render only.
pub(crate) struct Overlay {
    templates: HashMap<String, Rc<Tree>>,
    parent: Option<Rc<Overlay>>,
}

/// A template call on the way to the current one, for the error's include chain. The action's
/// text is found again from the tree and position only when an error needs it.
#[derive(Clone)]
struct Frame {
    tree: Rc<Tree>,
    pos: usize,
    site: Site,
}

/// The calls on the way to the current template, innermost first: a persistent list, so a
/// re-entry takes the chain as it is in O(1).
struct Link {
    frame: Frame,
    parent: Chain,
}

type Chain = Option<Rc<Link>>;

/// The frames of a chain, outermost first.
fn frames(chain: &Chain) -> Vec<&Frame> {
    let mut out = Vec::new();
    let mut c = chain.as_ref();
    while let Some(link) = c {
        out.push(&link.frame);
        c = link.parent.as_ref();
    }
    out.reverse();
    out
}

fn push(chain: &Chain, frame: Frame) -> Chain {
    Some(Rc::new(Link {
        frame,
        parent: chain.clone(),
    }))
}

/// How an execution was entered: from the top, or re-entered by a function.
pub(crate) struct Entry {
    chain: Chain,
    total_depth: usize,
}

impl Entry {
    pub(crate) fn top() -> Entry {
        Entry {
            chain: None,
            total_depth: 0,
        }
    }
}

/// What one execution shares across its template calls.
struct Exec<'s> {
    set: &'s TemplateSet,
    overlay: Option<Rc<Overlay>>,
    chain: RefCell<Chain>,
}

impl Exec<'_> {
    fn lookup(&self, name: &str) -> Option<Rc<Tree>> {
        let mut o = self.overlay.as_ref();
        while let Some(ov) = o {
            if let Some(t) = ov.templates.get(name) {
                return Some(t.clone());
            }
            o = ov.parent.as_ref();
        }
        self.set.templates.get(name).cloned()
    }

    fn exists(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }
}

/// Runs `tree` with `data` as dot and `$`, appending to `out`.
pub(crate) fn execute(
    set: &TemplateSet,
    overlay: Option<Rc<Overlay>>,
    tree: &Rc<Tree>,
    data: Value,
    out: &mut String,
    entry: &Entry,
) -> Result<(), Error> {
    let ex = Exec {
        set,
        overlay,
        chain: RefCell::new(entry.chain.clone()),
    };
    // Go takes reflect.ValueOf(data): nil data is the invalid value.
    let dot = V::from_slot(if data.is_nil() { None } else { Some(data) });
    let mut state = State {
        ex: &ex,
        tree,
        out,
        vars: vec![(Rc::from("$"), dot.clone())],
        depth: 0,
        total_depth: entry.total_depth,
        at: At::None,
    };
    state
        .walk_list(&dot, &tree.root)
        .map(|_| ())
        .map_err(Error::from)
}

/// The node last reached, as Go's `s.node`.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Arg(&'t Arg),
}

/// How a list walk ended.
#[derive(PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// Where a call goes.
enum Callee<'f> {
    Builtin(Builtin),
    Func(&'f Function),
    Method(Rc<dyn crate::value::Object>, Signature),
}

/// A parameter type as the executor converts arguments to it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// Go's `reflect.Value` (built-ins): the slot as is.
    Reflect,
    /// No type (a chain's receiver): invalid stays invalid.
    Untyped,
    Go(Param),
}

impl From<BParam> for Ty {
    fn from(p: BParam) -> Ty {
        match p {
            BParam::Reflect => Ty::Reflect,
            BParam::Any => Ty::Go(Param::Any),
            BParam::String => Ty::Go(Param::String),
        }
    }
}

struct State<'t> {
    ex: &'t Exec<'t>,
    tree: &'t Rc<Tree>,
    out: &'t mut String,
    vars: Vec<(Rc<str>, V)>,
    /// Go's template depth, counted from this execution's start.
    depth: usize,
    /// Template calls and re-entries on the stack, for the stack's sake.
    total_depth: usize,
    at: At<'t>,
}

/// Nested calls (template calls and re-entries together) allowed whatever the options say, so
/// that re-entries (`include` resets Go's count) cannot recurse without end. Go's own limit
/// for template calls: reaching it costs ~110 MB of stack in a release build.
const STACK_LIMIT: usize = 100_000;

/// Runs `f` with at least `RED_ZONE` bytes of stack, growing it on the heap if needed: every
/// recursion of the executor and the parser goes through here.
pub(crate) fn grow<T>(f: impl FnOnce() -> T) -> T {
    const RED_ZONE: usize = 128 * 1024;
    const NEW_SEGMENT: usize = 4 * 1024 * 1024;
    stacker::maybe_grow(RED_ZONE, NEW_SEGMENT, f)
}

impl<'t> State<'t> {
    fn error(&self, message: impl Into<String>) -> Box<ExecError> {
        self.error_with_cause(message.into(), None)
    }

    fn location(&self) -> Option<Location> {
        let pos = at_pos(self.at)?;
        let action = at_string(self.at);
        let (line, col) = self.tree.line_col(pos);
        Some(Location {
            file: self.tree.parse_name.to_string(),
            template: self.tree.name.clone(),
            line,
            col,
            action,
        })
    }

    fn error_with_cause(&self, message: String, cause: Option<Box<Error>>) -> Box<ExecError> {
        let chain = frames(&self.ex.chain.borrow())
            .into_iter()
            .map(|f| {
                let (line, col) = f.tree.line_col(f.pos);
                Location {
                    file: f.tree.parse_name.to_string(),
                    template: f.tree.name.clone(),
                    line,
                    col,
                    action: f.tree.action_at(f.pos, f.site),
                }
            })
            .collect();
        Box::new(ExecError {
            at: self.location(),
            template: self.tree.name.clone(),
            message,
            chain,
            cause,
        })
    }

    fn walk_list(&mut self, dot: &V, list: &'t crate::ast::ListNode) -> R<Flow> {
        for node in &list.nodes {
            let flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &V, node: &'t Node) -> R<Flow> {
        self.at = At::Node(node);
        match node {
            Node::Text { text, .. } => self.out.push_str(text),
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    self.print(&val.s);
                }
            }
            Node::Comment { .. } => {}
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
            Node::If(b) => return grow(|| self.walk_if_or_with(false, dot, b)),
            Node::With(b) => return grow(|| self.walk_if_or_with(true, dot, b)),
            Node::Range(b) => return grow(|| self.walk_range(dot, node, b)),
            Node::Template { name, pipe, pos } => {
                self.walk_template(dot, node, name, pipe.as_ref(), *pos)?;
            }
        }
        Ok(Flow::Normal)
    }

    fn print(&mut self, val: &Slot) {
        match val {
            None | Some(Value::Nil) => self.out.push_str("<no value>"),
            Some(Value::String(s)) => self.out.push_str(s),
            Some(v) => self.out.push_str(&gofmt::sprint(std::slice::from_ref(v))),
        }
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &V, b: &'t Branch) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if builtins::truth(&val.s) {
            if with {
                self.walk_list(&val, &b.list)?
            } else {
                self.walk_list(dot, &b.list)?
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &V, node: &'t Node, r: &'t Branch) -> R<Flow> {
        self.at = At::Node(node);
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &r.pipe)?;
        let body_mark = self.vars.len();
        let decl = &r.pipe.decl;
        let val = val.s.map(|v| v.underlying());
        let mut ran = false;
        match &val {
            Some(Value::List(l)) => {
                for (i, elem) in l.items().iter().enumerate() {
                    ran = true;
                    let index = V::val(Value::Int(i as i64));
                    let elem = V::elem(elem.clone(), l.elem());
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Some(Value::Bytes(b)) => {
                for (i, x) in b.iter().enumerate() {
                    ran = true;
                    let index = V::val(Value::Int(i as i64));
                    let elem = V::val(Value::Int(i64::from(*x)));
                    if self.one_iteration(r, body_mark, index, elem)? == Flow::Break {
                        break;
                    }
                }
            }
            Some(Value::Map(m)) => {
                // Go sorts the keys and takes the values up front: the body may change the map.
                for (k, v) in m.entries() {
                    ran = true;
                    let elem = V::elem(v, m.elem());
                    if self.one_iteration(r, body_mark, V::val(Value::from(k)), elem)?
                        == Flow::Break
                    {
                        break;
                    }
                }
            }
            Some(n @ (Value::Int(_) | Value::Int64(_))) => {
                if decl.len() > 1 {
                    return Err(self.error(format!(
                        "can't use {} to iterate over more than one variable",
                        gofmt::sprint(std::slice::from_ref(n))
                    )));
                }
                let (count, int64) = match n {
                    Value::Int64(c) => (*c, true),
                    Value::Int(c) => (*c, false),
                    _ => unreachable!("matched above"),
                };
                for i in 0..count.max(0) {
                    ran = true;
                    let elem = V::val(if int64 {
                        Value::Int64(i)
                    } else {
                        Value::Int(i)
                    });
                    if self.one_iteration(r, body_mark, V::default(), elem)? == Flow::Break {
                        break;
                    }
                }
            }
            None => {}
            Some(v) => {
                return Err(self.error(format!(
                    "range can't iterate over {}",
                    gofmt::sprint(std::slice::from_ref(v))
                )));
            }
        }
        let mut flow = Flow::Normal;
        if !ran && let Some(e) = &r.else_list {
            // Go recovers a break anywhere in the range, its else list included: a break there
            // (which parses as the enclosing range's) only ends the else list. A continue goes
            // on to the enclosing range.
            flow = match self.walk_list(dot, e)? {
                Flow::Break => Flow::Normal,
                f => f,
            };
        }
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn one_iteration(&mut self, r: &'t Branch, mark: usize, index: V, elem: V) -> R<Flow> {
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                let n = self.vars.len();
                self.vars[n - 2].1 = index;
            }
        }
        let flow = self.walk_list(&elem, &r.list)?;
        self.vars.truncate(mark);
        Ok(match flow {
            Flow::Break => Flow::Break,
            _ => Flow::Normal,
        })
    }

    fn walk_template(
        &mut self,
        dot: &V,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
        pos: usize,
    ) -> R<()> {
        self.at = At::Node(node);
        let Some(tree) = self.ex.lookup(name) else {
            return Err(self.error(format!(
                "template {} not defined",
                gofmt::quote(name, false)
            )));
        };
        let max = self.ex.set.options.max_depth;
        if self.depth >= max {
            return Err(self.error(format!("exceeded maximum template depth ({max})")));
        }
        if self.total_depth >= STACK_LIMIT {
            return Err(self.error(format!(
                "exceeded maximum template depth ({STACK_LIMIT} nested calls)"
            )));
        }
        let dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => V::default(),
        };
        let outer = self.ex.chain.borrow().clone();
        *self.ex.chain.borrow_mut() = push(
            &outer,
            Frame {
                tree: self.tree.clone(),
                pos,
                site: Site::Template,
            },
        );
        let result = {
            let mut sub = State {
                ex: self.ex,
                tree: &tree,
                out: &mut *self.out,
                vars: vec![(Rc::from("$"), dot.clone())],
                depth: self.depth + 1,
                total_depth: self.total_depth + 1,
                at: At::None,
            };
            grow(|| sub.walk_list(&dot, &tree.root).map(|_| ()))
        };
        *self.ex.chain.borrow_mut() = outer;
        result
    }

    fn set_var(&mut self, name: &str, value: V) -> R<()> {
        for v in self.vars.iter_mut().rev() {
            if &*v.0 == name {
                v.1 = value;
                return Ok(());
            }
        }
        Err(self.error(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> R<V> {
        for v in self.vars.iter().rev() {
            if &*v.0 == name {
                return Ok(v.1.clone());
            }
        }
        Err(self.error(format!("undefined variable: {name}")))
    }

    fn eval_pipeline(&mut self, dot: &V, pipe: &'t Pipe) -> R<V> {
        self.at = At::Pipe(pipe);
        let mut value: Option<V> = None;
        for cmd in &pipe.cmds {
            // An interface{} result is dug out: a nil one becomes the invalid value.
            value = Some(self.eval_command(dot, cmd, value.take())?.dig());
        }
        let value = value.unwrap_or_default();
        for d in &pipe.decl {
            if pipe.is_assign {
                self.set_var(d, value.clone())?;
            } else {
                self.vars.push((d.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<V>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &V, cmd: &'t Command, final_: Option<V>) -> R<V> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), first, ident, &cmd.args, final_);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, final_),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, cmd, &cmd.args, final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return grow(|| self.eval_pipeline(dot, p));
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, final_),
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(V::val(Value::Bool(*val))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.error("nil is not a command")),
            Arg::Number { num, .. } => self.ideal_constant(first, num).map(V::val),
            Arg::String { text, .. } => Ok(V::val(Value::String(text.clone()))),
            _ => Err(self.error(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string(), false)
            ))),
        }
    }

    fn ideal_constant(&mut self, node: &'t Arg, n: &Number) -> R<Value> {
        self.at = At::Arg(node);
        let t = &*n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if let Some(f) = n.float
            && !is_hex_int
            && !is_rune
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i));
        }
        if n.uint.is_some() {
            return Err(self.error(format!("{t} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_chain(&mut self, dot: &V, chain: &'t Arg, args: &'t [Arg], final_: Option<V>) -> R<V> {
        let Arg::Chain { node, fields, .. } = chain else {
            unreachable!("eval_chain takes chain nodes")
        };
        self.at = At::Arg(chain);
        if matches!(node.as_ref(), Arg::Nil { .. }) {
            return Err(self.error(format!("indirection through explicit nil in {chain}")));
        }
        // Go evaluates the receiver as an untyped argument.
        self.at = At::Arg(node);
        let receiver = match node.as_ref() {
            Arg::Pipe(p) => grow(|| self.eval_pipeline(dot, p))?,
            Arg::Identifier { name, .. } => self.eval_function_arg(dot, node, name)?,
            other => V::from_slot(self.eval_arg(dot, Ty::Untyped, other)?),
        };
        self.eval_field_chain(dot, receiver, chain, fields, args, final_)
    }

    fn eval_variable(&mut self, dot: &V, var: &'t Arg, args: &'t [Arg], final_: Option<V>) -> R<V> {
        let Arg::Variable { ident, .. } = var else {
            unreachable!("eval_variable takes variable nodes")
        };
        self.at = At::Arg(var);
        let value = self.var_value(&ident[0])?;
        if ident.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, var, &ident[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &V,
        mut receiver: V,
        node: &'t Arg,
        ident: &[Rc<str>],
        args: &'t [Arg],
        final_: Option<V>,
    ) -> R<V> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(dot, name, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &ident[n - 1], node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &V,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        final_: Option<V>,
        receiver: V,
    ) -> R<V> {
        let Some(value) = &receiver.s else {
            if self.ex.set.options.missing_key == MissingKey::Error {
                return Err(self.error(format!(
                    "nil data; no entry for key {}",
                    gofmt::quote(name, false)
                )));
            }
            return Ok(V::default());
        };
        let has_args = args.len() > 1 || final_.is_some();
        let cannot = |s: &Self| {
            s.error(format!(
                "can't evaluate field {name} in type {}",
                receiver.type_name()
            ))
        };
        let map = match value {
            Value::Nil => {
                return Err(self.error(format!("nil pointer evaluating interface {{}}.{name}")));
            }
            Value::Object(o) => {
                if let Some(sig) = o.method(name) {
                    let callee = Callee::Method(o.clone(), sig);
                    return self.eval_call(dot, callee, At::Arg(node), name, args, final_);
                }
                if let Some(v) = o.field(name) {
                    if has_args {
                        return Err(self.error(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(V::val(v));
                }
                match o.underlying() {
                    Some(Value::Map(m)) => m,
                    _ => return Err(cannot(self)),
                }
            }
            Value::Map(m) => m.clone(),
            _ => return Err(cannot(self)),
        };
        if has_args {
            return Err(self.error(format!("{name} is not a method but has arguments")));
        }
        match map.get(name) {
            Some(v) => Ok(V::elem(v, map.elem())),
            None => match self.ex.set.options.missing_key {
                MissingKey::Default => Ok(V::default()),
                MissingKey::Zero => Ok(V::elem(map.elem().zero(), map.elem())),
                MissingKey::Error => Err(self.error(format!(
                    "map has no entry for key {}",
                    gofmt::quote(name, false)
                ))),
            },
        }
    }

    fn callee(&self, name: &str) -> R<Callee<'t>> {
        if let Some(f) = self.ex.set.funcs.get(name) {
            Ok(Callee::Func(f))
        } else if let Some(b) = builtins::lookup(name) {
            Ok(Callee::Builtin(b))
        } else {
            Err(self.error(format!(
                "{} is not a defined function",
                gofmt::quote(name, false)
            )))
        }
    }

    fn eval_function(
        &mut self,
        dot: &V,
        ident: &'t Arg,
        name: &str,
        cmd: &'t Command,
        args: &'t [Arg],
        final_: Option<V>,
    ) -> R<V> {
        self.at = At::Arg(ident);
        let callee = self.callee(name)?;
        self.eval_call(dot, callee, At::Cmd(cmd), name, args, final_)
    }

    /// A function used as an argument without parentheses: called with no arguments.
    fn eval_function_arg(&mut self, dot: &V, ident: &'t Arg, name: &str) -> R<V> {
        self.at = At::Arg(ident);
        let callee = self.callee(name)?;
        self.eval_call(dot, callee, At::Arg(ident), name, &[], None)
    }

    /// Go's `evalCall`. `args` holds the function's own node first, as Go's command args.
    fn eval_call(
        &mut self,
        dot: &V,
        callee: Callee<'_>,
        node: At<'t>,
        name: &str,
        args: &'t [Arg],
        final_: Option<V>,
    ) -> R<V> {
        let args = if args.is_empty() { args } else { &args[1..] };
        let sig = match &callee {
            Callee::Builtin(b) => {
                let (f, v) = b.signature();
                Sig::Builtin(f, v)
            }
            Callee::Func(f) => Sig::Go(f.signature),
            Callee::Method(_, s) => Sig::Go(*s),
        };
        let (fixed, variadic) = (sig.fixed(), sig.is_variadic());
        let num_in = args.len() + usize::from(final_.is_some());
        if variadic {
            if num_in < fixed {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {fixed} got {}",
                    args.len()
                )));
            }
        } else if num_in != fixed {
            return Err(self.error(format!(
                "wrong number of args for {name}: want {fixed} got {num_in}"
            )));
        }
        let ty_at = |i: usize| sig.ty(i);

        if let Callee::Builtin(b @ (Builtin::And | Builtin::Or)) = callee {
            let want = b == Builtin::Or;
            let mut v: Slot = None;
            for arg in args {
                v = self.eval_arg(dot, Ty::Reflect, arg)?;
                if builtins::truth(&v) == want {
                    return Ok(V::from_slot(v));
                }
            }
            if let Some(f) = final_ {
                v = f.s;
            }
            return Ok(V::from_slot(v));
        }

        let mut argv: Vec<Slot> = Vec::with_capacity(num_in);
        // Only `slice` looks at which arguments are still interfaces.
        let want_ifaces = matches!(callee, Callee::Builtin(Builtin::Slice));
        let mut ifaces: Vec<bool> = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let v = self.eval_arg_v(dot, ty_at(i), arg)?;
            argv.push(v.s);
            if want_ifaces {
                ifaces.push(v.iface);
            }
        }
        if let Some(f) = final_ {
            let t = ty_at(num_in - 1);
            argv.push(self.validate(f.s, t)?);
            if want_ifaces {
                ifaces.push(false);
            }
        }

        let result = match callee {
            Callee::Builtin(b) => {
                let call_name = args.first().map(|a| a.to_string()).unwrap_or_default();
                b.run(argv, &ifaces, &call_name).map_err(|m| (m, None))
            }
            Callee::Func(f) => {
                let values: Vec<Value> = argv.into_iter().map(Option::unwrap_or_default).collect();
                let imp = f.imp.clone();
                self.call_out(node, |ctx| imp(ctx, &values))
            }
            Callee::Method(o, _) => {
                let values: Vec<Value> = argv.into_iter().map(Option::unwrap_or_default).collect();
                self.call_out(node, |ctx| o.call_method(name, ctx, &values))
            }
        };
        match result {
            Ok(v) => Ok(V::from_slot(v)),
            Err((message, cause)) => {
                self.at = node;
                Err(self.error_with_cause(format!("error calling {name}: {message}"), cause))
            }
        }
    }

    /// Calls a registered function with a context that can re-enter the engine.
    fn call_out(
        &mut self,
        node: At<'t>,
        f: impl FnOnce(&mut CallCtx<'_>) -> Result<Value, crate::func::FuncError>,
    ) -> Result<Slot, (String, Option<Box<Error>>)> {
        let site = match node {
            At::Cmd(c) => Some((Site::Command, c.pos)),
            At::Arg(a) => Some((Site::Arg, a.pos())),
            _ => None,
        };
        let mut reentry = Reentry {
            ex: self.ex,
            tree: self.tree,
            site,
            total_depth: self.total_depth,
        };
        let mut ctx = CallCtx {
            engine: &mut reentry,
        };
        match f(&mut ctx) {
            Ok(v) => Ok(Some(v)),
            Err(crate::func::FuncError::Message(m)) => Err((m, None)),
            Err(crate::func::FuncError::Template(e)) => Err((e.to_string(), Some(e))),
        }
    }

    /// Go's `evalArg`, keeping whether a `reflect.Value` argument is still an interface.
    fn eval_arg_v(&mut self, dot: &V, ty: Ty, n: &'t Arg) -> R<V> {
        self.at = At::Arg(n);
        let v = match n {
            Arg::Dot { .. } => dot.clone(),
            Arg::Field { ident, .. } => {
                self.eval_field_chain(dot, dot.clone(), n, ident, std::slice::from_ref(n), None)?
            }
            Arg::Variable { .. } => self.eval_variable(dot, n, &[], None)?,
            _ => return self.eval_arg(dot, ty, n).map(V::from_slot),
        };
        let iface = v.iface && ty == Ty::Reflect;
        Ok(V {
            s: self.validate(v.s, ty)?,
            iface,
        })
    }

    /// Go's `evalArg`.
    fn eval_arg(&mut self, dot: &V, ty: Ty, n: &'t Arg) -> R<Slot> {
        self.at = At::Arg(n);
        match n {
            Arg::Dot { .. } => return self.validate(dot.s.clone(), ty),
            Arg::Nil { .. } => {
                return match ty {
                    Ty::Reflect | Ty::Untyped => Ok(None),
                    Ty::Go(p) => match nil_of(p) {
                        Some(v) => Ok(Some(v)),
                        None => Err(self.error(format!("cannot assign nil to {}", p.go_name()))),
                    },
                };
            }
            Arg::Field { ident, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    ident,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(v.s, ty);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, n, &[], None)?;
                return self.validate(v.s, ty);
            }
            Arg::Pipe(p) => {
                let v = grow(|| self.eval_pipeline(dot, p))?;
                return self.validate(v.s, ty);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function_arg(dot, n, name)?;
                return self.validate(v.s, ty);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, &[], None)?;
                return self.validate(v.s, ty);
            }
            _ => {}
        }
        // Constants: converted to the parameter's type, or an error naming what was expected.
        let p = match ty {
            Ty::Reflect | Ty::Untyped | Ty::Go(Param::Any) => {
                return self.eval_empty_interface(n).map(Some);
            }
            Ty::Go(p) => p,
        };
        let found = || n.to_string();
        match (p, n) {
            (Param::Bool, Arg::Bool { val, .. }) => Ok(Some(Value::Bool(*val))),
            (Param::Bool, _) => Err(self.error(format!("expected bool; found {}", found()))),
            (Param::String, Arg::String { text, .. }) => Ok(Some(Value::String(text.clone()))),
            (Param::String, _) => Err(self.error(format!("expected string; found {}", found()))),
            (Param::Int | Param::Int64, Arg::Number { num, .. }) if num.int.is_some() => {
                let i = num.int.unwrap_or_default();
                Ok(Some(if p == Param::Int {
                    Value::Int(i)
                } else {
                    Value::Int64(i)
                }))
            }
            (Param::Int | Param::Int64, _) => {
                Err(self.error(format!("expected integer; found {}", found())))
            }
            (Param::Float64, Arg::Number { num, .. }) if num.float.is_some() => {
                Ok(Some(Value::Float(num.float.unwrap_or_default())))
            }
            (Param::Float64, _) => Err(self.error(format!("expected float; found {}", found()))),
            (p, _) => Err(self.error(format!(
                "can't handle {} for arg of type {}",
                found(),
                p.go_name()
            ))),
        }
    }

    fn eval_empty_interface(&mut self, n: &'t Arg) -> R<Value> {
        match n {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Number { num, .. } => self.ideal_constant(n, num),
            Arg::String { text, .. } => Ok(Value::String(text.clone())),
            _ => Err(self.error(format!(
                "can't handle assignment of {n} to empty interface argument"
            ))),
        }
    }

    /// Go's `validateType`: the value as the parameter type, or Go's error.
    fn validate(&self, v: Slot, ty: Ty) -> R<Slot> {
        let p = match ty {
            Ty::Reflect | Ty::Untyped => return Ok(v),
            Ty::Go(Param::Any) => return Ok(Some(v.unwrap_or(Value::Nil))),
            Ty::Go(p) => p,
        };
        let Some(v) = v else {
            return match nil_of(p) {
                Some(z) => Ok(Some(z)),
                None => Err(self.error(format!("invalid value; expected {}", p.go_name()))),
            };
        };
        if let Some(ok) = assignable(&v, p) {
            return Ok(Some(ok));
        }
        let got = if v.is_nil() {
            "interface {}".to_string()
        } else {
            v.type_name()
        };
        Err(self.error(format!(
            "wrong type for value; expected {}; got {got}",
            p.go_name()
        )))
    }
}

/// A value as the executor holds it: the slot, and whether Go holds it in an `interface {}`
/// (read out of a `[]interface {}` or `map[string]interface {}` and not yet through a
/// pipeline), which errors name as type `interface {}`.
#[derive(Clone, Default)]
struct V {
    s: Slot,
    iface: bool,
}

impl V {
    fn val(v: Value) -> V {
        V {
            s: Some(v),
            iface: false,
        }
    }

    fn from_slot(s: Slot) -> V {
        V { s, iface: false }
    }

    /// An element of a container with element type `elem`.
    fn elem(v: Value, elem: Elem) -> V {
        V {
            s: Some(v),
            iface: elem == Elem::Any,
        }
    }

    /// What a pipeline stage leaves: the value out of its interface; nil becomes invalid.
    fn dig(self) -> V {
        match self.s {
            Some(Value::Nil) | None => V::default(),
            s => V::from_slot(s),
        }
    }

    fn type_name(&self) -> String {
        match &self.s {
            _ if self.iface => "interface {}".into(),
            Some(v) => v.type_name(),
            None => "<nil>".into(),
        }
    }
}

fn at_pos(at: At<'_>) -> Option<usize> {
    Some(match at {
        At::None => return None,
        At::Node(n) => node_pos(n),
        At::Pipe(p) => p.pos,
        At::Cmd(c) => c.pos,
        At::Arg(a) => a.pos(),
    })
}

fn at_string(at: At<'_>) -> String {
    match at {
        At::None => String::new(),
        At::Node(n) => n.to_string(),
        At::Pipe(p) => p.to_string(),
        At::Cmd(c) => c.to_string(),
        At::Arg(a) => a.to_string(),
    }
}

/// A callee's parameters, without allocating.
enum Sig {
    Builtin(&'static [BParam], Option<BParam>),
    Go(Signature),
}

impl Sig {
    fn fixed(&self) -> usize {
        match self {
            Sig::Builtin(f, _) => f.len(),
            Sig::Go(s) => s.params.len(),
        }
    }

    fn is_variadic(&self) -> bool {
        match self {
            Sig::Builtin(_, v) => v.is_some(),
            Sig::Go(s) => s.variadic.is_some(),
        }
    }

    /// The type of argument `i` (the variadic one past the fixed ones).
    fn ty(&self, i: usize) -> Ty {
        match self {
            Sig::Builtin(f, v) => f.get(i).copied().or(*v).map_or(Ty::Untyped, Ty::from),
            Sig::Go(s) => s.param(i).map_or(Ty::Untyped, Ty::Go),
        }
    }
}

/// The nil of a parameter type that can be nil (`interface {}`, slices, maps).
fn nil_of(p: Param) -> Option<Value> {
    match p {
        Param::Any => Some(Value::Nil),
        Param::List => Some(builtins::empty_list(Elem::Any)),
        Param::StringList => Some(builtins::empty_list(Elem::String)),
        Param::Map => Some(Value::Map(Map::new())),
        // A pointer type can be nil; a struct cannot.
        Param::Object(name) if name.starts_with('*') => Some(Value::Nil),
        _ => None,
    }
}

/// The value as `p` if Go would assign it (a named slice or map type assigns to its
/// unnamed underlying type).
fn assignable(v: &Value, p: Param) -> Option<Value> {
    let ok = match (p, v) {
        (Param::Any, _) => true,
        (Param::Bool, Value::Bool(_))
        | (Param::Int, Value::Int(_))
        | (Param::Int64, Value::Int64(_))
        | (Param::Float64, Value::Float(_))
        | (Param::String, Value::String(_)) => true,
        (Param::List, Value::List(l)) => l.elem() == Elem::Any,
        (Param::StringList, Value::List(l)) => l.elem() == Elem::String,
        (Param::Map, Value::Map(m)) => m.elem() == Elem::Any,
        (Param::Object(name), Value::Object(o)) => o.type_name() == name,
        (Param::List | Param::StringList | Param::Map, Value::Object(o)) => {
            return o.underlying().and_then(|u| match u {
                Value::List(_) | Value::Map(_) => assignable(&u, p),
                _ => None,
            });
        }
        _ => false,
    };
    ok.then(|| v.clone())
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text { pos, .. }
        | Node::Action { pos, .. }
        | Node::Comment { pos }
        | Node::Template { pos, .. }
        | Node::Break { pos }
        | Node::Continue { pos } => *pos,
        Node::If(b) | Node::With(b) | Node::Range(b) => b.pos,
    }
}

/// A function's way back into the engine.
struct Reentry<'a> {
    ex: &'a Exec<'a>,
    tree: &'a Rc<Tree>,
    /// The calling action and its position, for the include chain.
    site: Option<(Site, usize)>,
    total_depth: usize,
}

impl Reentry<'_> {
    fn entry(&self) -> Entry {
        let mut chain = self.ex.chain.borrow().clone();
        if let Some((site, pos)) = self.site {
            chain = push(
                &chain,
                Frame {
                    tree: self.tree.clone(),
                    pos,
                    site,
                },
            );
        }
        Entry {
            chain,
            total_depth: self.total_depth + 1,
        }
    }

    /// Renders the template `name` of `ex` (this execution's set, or a `tpl` overlay on it).
    fn run(&self, ex: &Exec<'_>, name: &str, data: Value) -> Result<String, Error> {
        let Some(tree) = ex.lookup(name) else {
            return Err(ex.set.no_template(name));
        };
        self.run_tree(ex, tree, data)
    }

    fn run_tree(&self, ex: &Exec<'_>, tree: Rc<Tree>, data: Value) -> Result<String, Error> {
        let mut out = String::new();
        grow(|| {
            execute(
                ex.set,
                ex.overlay.clone(),
                &tree,
                data,
                &mut out,
                &self.entry(),
            )
        })?;
        Ok(out)
    }

    fn too_deep(&self) -> Option<Error> {
        (self.total_depth + 1 >= STACK_LIMIT).then(|| {
            Error::from(ExecError {
                at: None,
                template: self.tree.name.clone(),
                message: format!("exceeded maximum template depth ({STACK_LIMIT} nested calls)"),
                chain: Vec::new(),
                cause: None,
            })
        })
    }
}

impl Engine for Reentry<'_> {
    fn template_name(&self) -> &str {
        &self.tree.name
    }

    fn depth(&self) -> usize {
        self.total_depth + 1
    }

    fn call_chain(&self) -> Vec<String> {
        let mut names: Vec<String> = frames(&self.ex.chain.borrow())
            .into_iter()
            .map(|f| f.tree.name.clone())
            .collect();
        names.push(self.tree.name.clone());
        names
    }

    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        if let Some(e) = self.too_deep() {
            return Err(e);
        }
        self.run(self.ex, name, data)
    }

    fn execute_text(&mut self, name: &str, text: &str, data: Value) -> Result<String, Error> {
        if let Some(e) = self.too_deep() {
            return Err(e);
        }
        let trees = self.ex.set.parse_trees(name, text)?;
        let mut templates = HashMap::new();
        // Go executes the template it just parsed the text into, even when the text is empty
        // and so does not replace an existing template of that name (which would then run
        // again, forever, when it is the text of an enclosing `tpl`).
        let mut main = None;
        for tree in trees {
            let tree = Rc::new(tree);
            if tree.name == name {
                main = Some(tree.clone());
            }
            crate::set::associate(&mut templates, |n| self.ex.exists(n), tree);
        }
        let overlay = Rc::new(Overlay {
            templates,
            parent: self.ex.overlay.clone(),
        });
        let ex = Exec {
            set: self.ex.set,
            overlay: Some(overlay),
            chain: RefCell::new(None),
        };
        match main {
            Some(tree) => self.run_tree(&ex, tree, data),
            None => self.run(&ex, name, data),
        }
    }
}
