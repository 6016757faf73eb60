//! Sprig v3.3.0's template functions (`sprig.TxtFuncMap()`) for the `gotemplate` engine, with
//! Sprig's behaviour as Helm charts see it: the same results, the same empty-value and
//! number-conversion rules (spf13/cast), the same `%v` text, the same errors and the same
//! Go panics turned into errors (`error calling first: Cannot find first on type int`).
//!
//! ```
//! let mut funcs = gotemplate::FuncMap::new();
//! sprig::register(&mut funcs, sprig::Env::Hidden);
//! assert!(funcs.contains("default") && !funcs.contains("env"));
//! ```
//!
//! Where the behaviour comes from, module by module:
//!
//! | module      | functions                                   | follows                      |
//! |-------------|---------------------------------------------|------------------------------|
//! | [`strings`] | trim, case, abbrev, wrap, split, quote, …   | Go strings, goutils, xstrings|
//! | [`conv`]    | (shared) int/float/string conversions       | spf13/cast, strconv          |
//! | `math`      | add…, addf… (decimal), round, until, seq    | Sprig, shopspring/decimal    |
//! | `lists`     | list, first, append, uniq, has, slice, …    | Sprig (reflection on slices) |
//! | `dicts`     | dict, set, merge (mergo), dig, deepCopy, …  | Sprig, mergo, copystructure  |
//! | `defaults`  | default, empty, coalesce, ternary, JSON     | Sprig, encoding/json         |
//! | `encoding`  | b64*, b32*                                  | encoding/base64, base32      |
//! | `regex`     | regex*                                      | Go's regexp (RE2)            |
//! | `semver`    | semver, semverCompare                       | Masterminds/semver v3.5      |
//! | `date`      | now, date, toDate, duration, …              | Go's time                    |
//! | `crypto`    | hashes, bcrypt, keys, certificates, AES, …  | Go's crypto, x/crypto        |
//! | `misc`      | paths, URLs, reflection, fail, env, …       | Go's path, net/url, reflect  |
//!
//! Maps are shared (Go maps are references), so `set`, `unset`, `merge` and
//! `mergeOverwrite` change their first argument in place, as charts rely on. No function
//! copies a list or map it only reads.

use gotemplate::{FuncError, FuncMap, Map, Param, Signature, Value};

pub mod conv;
mod crypto;
mod date;
mod defaults;
mod dicts;
mod encoding;
mod json;
mod lists;
mod math;
mod misc;
mod regex;
mod semver;
pub mod strings;
mod unicode;

pub use date::Time;
pub use semver::Version;

/// Whether templates may read the process environment (`env`, `expandenv`). Helm removes
/// both from its function map, so charts never see the environment of the machine that
/// renders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Env {
    /// Helm's set: `env` and `expandenv` are not defined.
    Hidden,
    /// Sprig's full `TxtFuncMap`, with `env` and `expandenv`.
    Visible,
}

/// Adds every Sprig function to `funcs` (replacing functions of the same names).
pub fn register(funcs: &mut FuncMap, env: Env) {
    let mut r = Registry(funcs);
    strings::register(&mut r);
    conv_funcs(&mut r);
    math::register(&mut r);
    lists::register(&mut r);
    dicts::register(&mut r);
    defaults::register(&mut r);
    encoding::register(&mut r);
    regex::register(&mut r);
    semver::register(&mut r);
    date::register(&mut r);
    crypto::register(&mut r);
    misc::register(&mut r);
    if env == Env::Visible {
        misc::register_env(&mut r);
    }
}

/// Sprig's functions as Helm has them (without `env` and `expandenv`).
pub fn helm_funcs() -> FuncMap {
    let mut funcs = FuncMap::new();
    register(&mut funcs, Env::Hidden);
    funcs
}

/// What an implementation returns.
pub(crate) type R = Result<Value, FuncError>;

/// Registers implementations that need nothing from the engine.
pub(crate) struct Registry<'a>(&'a mut FuncMap);

impl Registry<'_> {
    pub(crate) fn add(&mut self, name: &str, signature: Signature, imp: fn(&[Value]) -> R) {
        self.0.insert(name, signature, move |_ctx, args| imp(args));
    }
}

/// Shorthand for signatures.
pub(crate) const fn sig(params: &'static [Param]) -> Signature {
    Signature::new(params)
}

pub(crate) const fn sig_var(params: &'static [Param], rest: Param) -> Signature {
    Signature::variadic(params, rest)
}

pub(crate) fn err(message: impl Into<String>) -> FuncError {
    FuncError::new(message)
}

/// The error text.template reports for an argument of the wrong type, for parameters the
/// engine cannot check (Go types it has no `Param` for, such as `time.Time`).
pub(crate) fn wrong_type(expected: &str, got: &Value) -> FuncError {
    err(format!(
        "wrong type for value; expected {expected}; got {}",
        got.type_name()
    ))
}

pub(crate) fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Nil)
}

/// A `Param::String` argument.
pub(crate) fn str_arg(args: &[Value], i: usize) -> Result<&str, FuncError> {
    match arg(args, i) {
        Value::String(s) => Ok(s),
        other => Err(wrong_type("string", other)),
    }
}

/// A `Param::Int` (or `Int64`) argument.
pub(crate) fn int_arg(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match arg(args, i) {
        Value::Int(n) | Value::Int64(n) => Ok(*n),
        other => Err(wrong_type("int", other)),
    }
}

/// A `Param::Bool` argument.
pub(crate) fn bool_arg(args: &[Value], i: usize) -> Result<bool, FuncError> {
    match arg(args, i) {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type("bool", other)),
    }
}

/// A `Param::Float64` argument.
pub(crate) fn float_arg(args: &[Value], i: usize) -> Result<f64, FuncError> {
    match arg(args, i) {
        Value::Float(f) => Ok(*f),
        Value::Int(n) | Value::Int64(n) => Ok(*n as f64),
        other => Err(wrong_type("float64", other)),
    }
}

/// A `Param::Map` argument. Go passes a nil map for a nil argument; it reads as empty.
pub(crate) fn map_arg(args: &[Value], i: usize) -> Result<Map, FuncError> {
    match arg(args, i) {
        Value::Map(m) => Ok(m.clone()),
        Value::Nil => Ok(Map::new()),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

pub(crate) fn string(s: impl Into<String>) -> Value {
    Value::from(s.into())
}

/// Conversions: `atoi`, `int`, `int64`, `float64`, `toDecimal`, `toString`.
fn conv_funcs(r: &mut Registry) {
    use Param::*;
    r.add("atoi", sig(&[String]), |a| {
        // Sprig drops the error: a syntax error is 0, out of range is clamped.
        let s = str_arg(a, 0)?;
        Ok(Value::Int(match conv::parse_int_clamped(s, 10) {
            Ok(i) => i,
            Err((_, clamped)) => clamped,
        }))
    });
    r.add("int", sig(&[Any]), |a| {
        Ok(Value::Int(conv::to_int64(arg(a, 0))))
    });
    r.add("int64", sig(&[Any]), |a| {
        Ok(Value::Int64(conv::to_int64(arg(a, 0))))
    });
    r.add("float64", sig(&[Any]), |a| {
        Ok(Value::Float(conv::to_float64(arg(a, 0))))
    });
    r.add("toDecimal", sig(&[Any]), |a| {
        let text = gotemplate::gofmt::sprint(&a[..a.len().min(1)]);
        Ok(Value::Int64(conv::parse_int_clamped(&text, 8).unwrap_or(0)))
    });
    r.add("toString", sig(&[Any]), |a| {
        Ok(string(conv::strval(arg(a, 0))))
    });
}
