//! Helm's template functions (Helm v4's `pkg/engine/funcs.go` and `engine.go`) over Sprig's:
//! `include`, `tpl`, `required`, `fail`, `toYaml`, `mustToYaml`, `toYamlPretty`, `fromYaml`,
//! `fromYamlArray`, `fromJson`, `fromJsonArray`, `toToml`, `lookup`, and `getHostByName`
//! answering nothing (Helm resolves names only with `--enable-dns`). Sprig's `toJson` and
//! `mustToJson` are Helm's own already (both are `json.Marshal`).

use std::sync::OnceLock;

use gotemplate::{CallCtx, FuncError, FuncMap, List, Map, Param, Signature, Value};

use super::to_go;
use crate::render::LookupFn;

/// How many times one template may be `include`d inside itself before Helm stops a runaway
/// recursion (its `recursionMaxNums`).
pub const MAX_INCLUDE_RECURSION: usize = 1000;

/// The markers Helm puts around the message of `required` and `fail`, so that the message
/// reaches the user without the template error's wording around it.
pub(super) const CHART_MESSAGE_START: &str = "HELM_ERR_START";
pub(super) const CHART_MESSAGE_END: &str = "HELM_ERR_END";

/// Helm's function map without `lookup` (built once: cloning a `FuncMap` is O(1)).
fn base() -> &'static FuncMap {
    static BASE: OnceLock<FuncMap> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut f = sprig::helm_funcs();
        register(&mut f);
        f
    })
}

/// The functions of a Helm render: Sprig's and Helm's, with `lookup` reading the cluster when
/// one is known and returning an empty map otherwise (as `helm template` does).
pub fn funcs(lookup: Option<LookupFn>) -> FuncMap {
    let mut f = base().clone();
    if let Some(lookup) = lookup {
        f.insert(
            "lookup",
            Signature::new(&[Param::String, Param::String, Param::String, Param::String]),
            move |_, a| {
                let s = |i: usize| a.get(i).and_then(Value::as_str).unwrap_or_default();
                match lookup(s(0), s(1), s(2), s(3)) {
                    Ok(Some(obj)) => Ok(gotemplate::Value::from_json_ints(&obj)),
                    Ok(None) => Ok(Value::Map(Map::new())),
                    Err(e) => Err(FuncError::new(e)),
                }
            },
        );
    }
    f
}

fn text(a: &[Value], i: usize) -> &str {
    a.get(i).and_then(Value::as_str).unwrap_or_default()
}

fn wrap_chart_message(msg: &str) -> FuncError {
    FuncError::new(format!("{CHART_MESSAGE_START}{msg}{CHART_MESSAGE_END}"))
}

fn register(f: &mut FuncMap) {
    use Param::{Any, String};
    f.insert(
        "include",
        Signature::new(&[String, Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            let name = text(a, 0);
            let nested = ctx.call_chain().iter().filter(|n| *n == name).count();
            if nested > MAX_INCLUDE_RECURSION {
                return Err(FuncError::new(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                )));
            }
            let data = a.get(1).cloned().unwrap_or_default();
            Ok(Value::from(ctx.execute_template(name, data)?))
        },
    );
    f.insert(
        "tpl",
        Signature::new(&[String, Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            let data = a.get(1).cloned().unwrap_or_default();
            let out = ctx.execute_text("gotpl", text(a, 0), data)?;
            Ok(Value::from(out.replace("<no value>", "")))
        },
    );
    f.insert("required", Signature::new(&[String, Any]), |_, a| {
        let val = a.get(1).cloned().unwrap_or_default();
        match &val {
            Value::Nil => Err(wrap_chart_message(text(a, 0))),
            Value::String(s) if s.is_empty() => Err(wrap_chart_message(text(a, 0))),
            _ => Ok(val),
        }
    });
    f.insert("fail", Signature::new(&[String]), |_, a| {
        Err(wrap_chart_message(text(a, 0)))
    });
    f.insert("getHostByName", Signature::new(&[String]), |_, _| {
        Ok(Value::from(""))
    });
    f.insert(
        "lookup",
        Signature::new(&[String, String, String, String]),
        |_, _| Ok(Value::Map(Map::new())),
    );
    f.insert("toYaml", Signature::new(&[Any]), |_, a| {
        Ok(Value::from(goyaml::to_yaml(&json_of(a))))
    });
    f.insert("mustToYaml", Signature::new(&[Any]), |_, a| {
        goyaml::try_to_yaml(&json_of(a))
            .map(Value::from)
            .map_err(|e| FuncError::new(e.to_string()))
    });
    f.insert("toYamlPretty", Signature::new(&[Any]), |_, a| {
        Ok(Value::from(goyaml::to_yaml_pretty(&json_of(a))))
    });
    f.insert("toToml", Signature::new(&[Any]), |_, a| {
        Ok(Value::from(match goyaml::to_toml(&json_of(a)) {
            Ok(s) => s,
            Err(e) => e.to_string(),
        }))
    });
    f.insert("fromYaml", Signature::new(&[String]), |_, a| {
        Ok(Value::Map(match parse_yaml(text(a, 0)) {
            Ok(Value::Map(m)) => m,
            Ok(Value::Nil) => Map::new(),
            Ok(other) => error_map(cannot_unmarshal(&other, "map[string]interface {}")),
            Err(e) => error_map(e),
        }))
    });
    f.insert("fromYamlArray", Signature::new(&[String]), |_, a| {
        Ok(Value::List(match parse_yaml(text(a, 0)) {
            Ok(Value::List(l)) => l,
            Ok(Value::Nil) => List::new(Vec::new()),
            Ok(other) => List::new(vec![Value::from(cannot_unmarshal(
                &other,
                "[]interface {}",
            ))]),
            Err(e) => List::new(vec![Value::from(e)]),
        }))
    });
    f.insert("fromJson", Signature::new(&[String]), |_, a| {
        Ok(Value::Map(match parse_json(text(a, 0)) {
            Ok(Value::Map(m)) => m,
            Ok(Value::Nil) => Map::new(),
            Ok(other) => error_map(json_type_error(&other, "map[string]interface {}")),
            Err(e) => error_map(e),
        }))
    });
    f.insert("fromJsonArray", Signature::new(&[String]), |_, a| {
        Ok(Value::List(match parse_json(text(a, 0)) {
            Ok(Value::List(l)) => l,
            Ok(Value::Nil) => List::new(Vec::new()),
            Ok(other) => List::new(vec![Value::from(json_type_error(&other, "[]interface {}"))]),
            Err(e) => List::new(vec![Value::from(e)]),
        }))
    });
}

/// The argument as encoding/json sees it.
fn json_of(a: &[Value]) -> serde_json::Value {
    a.first()
        .map(Value::to_json)
        .unwrap_or(serde_json::Value::Null)
}

fn error_map(message: String) -> Map {
    let m = Map::new();
    m.insert("Error", Value::from(message));
    m
}

/// YAML as sigs.k8s.io/yaml reads it into an `interface {}`: the first document only, numbers
/// as float64.
fn parse_yaml(src: &str) -> Result<Value, String> {
    let first = match crate::yaml::parse_str(src, "") {
        Ok(v) => v,
        Err(_) => crate::yaml::parse_documents(src)
            .map_err(|e| {
                format!(
                    "error converting YAML to JSON: yaml: line {}: {}",
                    e.line, e.message
                )
            })?
            .into_iter()
            .next()
            .map(|(v, _)| v)
            .unwrap_or(serde_json::Value::Null),
    };
    Ok(to_go(&crate::values::Numbers::Helm.apply(first)))
}

fn parse_json(src: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(src)
        .map(|v| to_go(&crate::values::Numbers::Helm.apply(v)))
        .map_err(|e| e.to_string())
}

fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(_) | Value::Int64(_) | Value::Float(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "array",
        _ => "object",
    }
}

fn json_type_error(v: &Value, target: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {target}",
        go_json_type(v)
    )
}

fn cannot_unmarshal(v: &Value, target: &str) -> String {
    format!(
        "error unmarshaling JSON: while decoding JSON: {}",
        json_type_error(v, target)
    )
}
