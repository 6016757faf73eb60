//! Go's `text/template` with Helm's semantics (Go 1.26, as Helm v4 uses it).
//!
//! Layers: [`lex`] turns text into tokens, [`parse`] tokens into the [`ast`], [`exec`] runs a
//! tree over a [`Value`], and [`gofmt`] formats values as Go's `fmt` does (`print`, `printf`,
//! and every value a template prints).
//!
//! The embedding program builds a [`FuncMap`] of its functions (Sprig, Helm's `include`…),
//! parses every file into one [`TemplateSet`] (where `define`s are shared, as Helm parses a
//! chart), and executes templates by name with a [`Value`] as data, as often as it likes.

pub mod ast;
mod builtins;
pub mod error;
mod escape;
pub mod exec;
pub mod func;
pub mod gofmt;
pub mod lex;
pub mod parse;
mod set;
pub mod value;

pub use error::{Error, ExecError, Location, ParseError};
pub use func::{CallCtx, FuncError, FuncImpl, FuncMap, Function, Param, Signature};
pub use set::{MissingKey, Options, TemplateSet};
pub use value::{Elem, List, Map, Object, Value};
