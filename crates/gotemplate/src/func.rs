//! Template functions registered by the embedding program (Sprig, Helm's `include`, `tpl`,
//! `toYaml`, …), and the context a function runs in.
//!
//! A Go template function has typed parameters, and text/template converts and checks the
//! arguments before the call: `{{ indent .Values.n "x" }}` with `n` from a values file fails
//! with "wrong type for value; expected int; got float64", `{{ upper 3 }}` with "expected
//! string; found 3". A function here declares the same parameter types (`Signature`) and the
//! engine does the same checks with the same errors, so an implementation receives arguments
//! already of the declared kinds: a `Param::String` argument is a `Value::String`, a
//! `Param::Int` one a `Value::Int`, a `Param::Any` one anything, nil included.
//!
//! ```
//! use gotemplate::{FuncError, FuncMap, Param, Signature, Value};
//!
//! let mut funcs = FuncMap::new();
//! funcs.insert("repeat", Signature::new(&[Param::Int, Param::String]), |_ctx, args| {
//!     // The engine has checked the kinds; the match only unpacks them.
//!     let (Value::Int(n), Value::String(s)) = (&args[0], &args[1]) else {
//!         return Err(FuncError::new("repeat takes an int and a string"));
//!     };
//!     Ok(Value::from(s.repeat((*n).max(0) as usize)))
//! });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::value::Value;

/// A parameter type, as the Go function declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `interface {}`: any value; an absent value arrives as `Value::Nil`.
    Any,
    Bool,
    /// `int`: a `Value::Int` (Go converts no other number to it).
    Int,
    /// `int64`.
    Int64,
    /// `float64`.
    Float64,
    String,
    /// `[]interface {}`: a list whose element type is `Elem::Any` (nil arrives empty).
    List,
    /// `[]string` (nil arrives empty).
    StringList,
    /// `map[string]interface {}`: a map whose element type is `Elem::Any`, named or not
    /// (nil arrives as a new empty map).
    Map,
    /// A struct or pointer type, by its Go name (`time.Time`, `sprig.certificate`): an object
    /// whose `type_name` is exactly that.
    Object(&'static str),
}

impl Param {
    /// Go's name of the type, as errors show it.
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Bool => "bool",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Float64 => "float64",
            Param::String => "string",
            Param::List => "[]interface {}",
            Param::StringList => "[]string",
            Param::Map => "map[string]interface {}",
            Param::Object(name) => name,
        }
    }
}

/// The parameters of a function: fixed ones, then optionally a variadic tail (`...T`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: &'static [Param],
    pub variadic: Option<Param>,
}

impl Signature {
    /// Exactly these parameters.
    pub const fn new(params: &'static [Param]) -> Signature {
        Signature {
            params,
            variadic: None,
        }
    }

    /// These parameters, then any number of `rest`.
    pub const fn variadic(params: &'static [Param], rest: Param) -> Signature {
        Signature {
            params,
            variadic: Some(rest),
        }
    }

    /// The type of argument `i`, `None` past the end of a fixed list.
    pub fn param(&self, i: usize) -> Option<Param> {
        self.params.get(i).copied().or(self.variadic)
    }
}

/// A failed function call. The engine reports it as Go does: `error calling NAME: MESSAGE`,
/// at the action that made the call.
#[derive(Debug)]
pub enum FuncError {
    /// The function's own error message.
    Message(String),
    /// A template the function rendered failed (`include`, `tpl`): the whole error is kept, so
    /// the include chain and positions survive.
    Template(Box<crate::Error>),
}

impl FuncError {
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError::Message(message.into())
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuncError::Message(m) => f.write_str(m),
            FuncError::Template(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FuncError {}

impl From<crate::Error> for FuncError {
    fn from(e: crate::Error) -> FuncError {
        FuncError::Template(Box::new(e))
    }
}

/// What a function's implementation is.
pub type FuncImpl = dyn Fn(&mut CallCtx<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync;

/// One registered function: its signature and implementation.
#[derive(Clone)]
pub struct Function {
    pub signature: Signature,
    pub imp: Arc<FuncImpl>,
}

/// Functions by name, as Go's `template.FuncMap`. Cloning is O(1) (the table is shared and
/// copied only when a clone is changed), so one map built at start-up serves every set.
#[derive(Clone, Default)]
pub struct FuncMap {
    funcs: Arc<HashMap<String, Function>>,
}

impl FuncMap {
    /// An empty map: the built-ins (`and`, `len`, `printf`, …) are always there besides it.
    pub fn new() -> FuncMap {
        FuncMap::default()
    }

    /// Registers `name`, replacing an earlier function or shadowing a built-in of that name.
    pub fn insert<F>(&mut self, name: impl Into<String>, signature: Signature, imp: F)
    where
        F: Fn(&mut CallCtx<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.funcs).insert(
            name.into(),
            Function {
                signature,
                imp: Arc::new(imp),
            },
        );
    }

    /// Adds every function of `other`, replacing those of the same name.
    pub fn extend(&mut self, other: &FuncMap) {
        Arc::make_mut(&mut self.funcs)
            .extend(other.funcs.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    pub fn get(&self, name: &str) -> Option<&Function> {
        self.funcs.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    pub fn remove(&mut self, name: &str) -> Option<Function> {
        Arc::make_mut(&mut self.funcs).remove(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.funcs.keys().map(String::as_str)
    }
}

/// What a running function can ask of the engine: render other templates of the same set
/// (Helm's `include`), parse and render text with that set (`tpl`), and where it is.
pub struct CallCtx<'a> {
    pub(crate) engine: &'a mut dyn Engine,
}

/// The executor behind a `CallCtx`.
pub(crate) trait Engine {
    fn template_name(&self) -> &str;
    fn depth(&self) -> usize;
    fn call_chain(&self) -> Vec<String>;
    fn execute_template(&mut self, name: &str, data: Value) -> Result<String, crate::Error>;
    fn execute_text(&mut self, name: &str, text: &str, data: Value)
    -> Result<String, crate::Error>;
}

impl CallCtx<'_> {
    /// The name of the template being executed (a `define`d name inside an include).
    pub fn template_name(&self) -> &str {
        self.engine.template_name()
    }

    /// How many template calls (`template`, `block`, and renders through this context) are
    /// active: one at the top.
    pub fn depth(&self) -> usize {
        self.engine.depth()
    }

    /// The names of the templates being executed, outermost first, the current one last.
    /// Helm's `include` counts a name here to stop a runaway recursion with its own error.
    pub fn call_chain(&self) -> Vec<String> {
        self.engine.call_chain()
    }

    /// Renders the named template of the set with `data` as dot: Helm's `include`. Undefined
    /// names are Go's error (`no such template "x"`).
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, crate::Error> {
        self.engine.execute_template(name, data)
    }

    /// Parses `text` as a template called `name` next to the set's templates (its `define`s
    /// shadow theirs, for this render only) and renders it with `data`: Helm's `tpl`.
    pub fn execute_text(
        &mut self,
        name: &str,
        text: &str,
        data: Value,
    ) -> Result<String, crate::Error> {
        self.engine.execute_text(name, text, data)
    }
}
