//! Go's `text/template` with Helm's semantics (Go 1.26, as Helm v4 uses it): the same output
//! and the same error messages, checked against Go itself (tests/ and scripts/helm-oracle).
//!
//! Layers: [`lex`] turns text into tokens, [`parse`] tokens into the [`ast`], [`exec`] runs a
//! tree over a [`Value`], and [`gofmt`] formats values as Go's `fmt` does (`print`, `printf`,
//! and every value a template prints).
//!
//! The embedding program builds a [`FuncMap`] of its functions (Sprig, Helm's `include`…),
//! parses every file into one [`TemplateSet`] (where `define`s are shared, as Helm parses a
//! chart), and executes templates by name with a [`Value`] as data, as often as it likes:
//!
//! ```
//! use gotemplate::{CallCtx, FuncMap, MissingKey, Options, Param, Signature, TemplateSet, Value};
//!
//! let mut funcs = FuncMap::new();
//! // Helm's include: renders a template of the same set into a string.
//! funcs.insert("include", Signature::new(&[Param::String, Param::Any]),
//!     |ctx: &mut CallCtx<'_>, args: &[Value]| {
//!         let name = args[0].as_str().unwrap_or_default().to_string();
//!         Ok(Value::from(ctx.execute_template(&name, args[1].clone())?))
//!     });
//! let mut set = TemplateSet::new("gotpl", funcs);
//! set.set_options(Options { missing_key: MissingKey::Zero, ..Options::default() });
//! set.parse("_helpers.tpl", r#"{{ define "name" }}{{ .Values.name }}{{ end }}"#).unwrap();
//! set.parse("cm.yaml", r#"name: {{ include "name" . }} replicas: {{ .Values.n }}"#).unwrap();
//! let data = Value::from_json(&serde_json::json!({"Values": {"name": "web", "n": 1000000}}));
//! assert_eq!(set.execute("cm.yaml", &data).unwrap(), "name: web replicas: 1e+06");
//! ```
//!
//! Values are cheap to clone and maps are shared (Sprig's `set` changes a dict in place), so a
//! set is not `Send`: parse and execute on one thread. Errors are structured ([`ExecError`]:
//! file, template, line, column, action, message, the chain of calls that led there, and the
//! error of an included template as data) and display exactly as Go's.

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
