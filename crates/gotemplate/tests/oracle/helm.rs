//! Sprig functions with Sprig's signatures, and Helm's `include`, `tpl` and objects, written
//! on the crate's API as the Sprig and Helm layers would: shared by the API tests and the
//! Helm-mode generated test.

use std::any::Any;

use gotemplate::{
    CallCtx, Error, FuncError, FuncMap, List, Map, MissingKey, Object, Options, Param, Signature,
    TemplateSet, Value,
};

pub fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A few Sprig functions with Sprig's Go signatures, to check the engine's argument
/// conversion and errors against Go running the real ones.
pub fn sprig_subset() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert("upper", Signature::new(&[Param::String]), |_, a| {
        Ok(Value::from(str_arg(&a[0]).to_uppercase()))
    });
    f.insert(
        "repeat",
        Signature::new(&[Param::Int, Param::String]),
        |_, a| {
            let Value::Int(n) = a[0] else {
                return Err(FuncError::new("repeat: count is no int"));
            };
            Ok(Value::from(str_arg(&a[1]).repeat(n.max(0) as usize)))
        },
    );
    f.insert(
        "hasKey",
        Signature::new(&[Param::Map, Param::String]),
        |_, a| match &a[0] {
            Value::Map(m) => Ok(Value::Bool(m.contains_key(str_arg(&a[1])))),
            _ => Err(FuncError::new("hasKey: no map")),
        },
    );
    f.insert(
        "splitList",
        Signature::new(&[Param::String, Param::String]),
        |_, a| {
            Ok(Value::List(List::of_strings(
                str_arg(&a[1]).split(str_arg(&a[0])).map(str::to_string),
            )))
        },
    );
    f.insert("list", Signature::variadic(&[], Param::Any), |_, a| {
        Ok(Value::List(List::new(a.to_vec())))
    });
    f.insert("dict", Signature::variadic(&[], Param::Any), |_, a| {
        let m = Map::new();
        for kv in a.chunks(2) {
            let k = match &kv[0] {
                Value::String(s) => s.to_string(),
                other => other.to_string(),
            };
            m.insert(k, kv.get(1).cloned().unwrap_or_else(|| Value::from("")));
        }
        Ok(Value::Map(m))
    });
    f.insert(
        "set",
        Signature::new(&[Param::Map, Param::String, Param::Any]),
        |_, a| {
            if let Value::Map(m) = &a[0] {
                m.insert(str_arg(&a[1]), a[2].clone());
            }
            Ok(a[0].clone())
        },
    );
    f.insert("typeOf", Signature::new(&[Param::Any]), |_, a| {
        Ok(Value::from(a[0].type_name()))
    });
    f.insert("kindOf", Signature::new(&[Param::Any]), |_, a| {
        Ok(Value::from(a[0].kind_name()))
    });
    f.insert(
        "round",
        Signature::variadic(&[Param::Any, Param::Int], Param::Float64),
        |_, a| {
            let val = match a[0] {
                Value::Float(f) => f,
                Value::Int(i) | Value::Int64(i) => i as f64,
                _ => 0.0,
            };
            let Value::Int(p) = a[1] else {
                return Err(FuncError::new("round: places is no int"));
            };
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            let pow = 10f64.powi(p as i32);
            let digit = pow * val;
            let r = if digit.fract() >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        },
    );
    // Only the argument checks of a time.Time parameter are compared (the time is "now").
    f.insert(
        "unixEpoch",
        Signature::new(&[Param::Object("time.Time")]),
        |_, _| Ok(Value::from("0")),
    );
    f.insert("until", Signature::new(&[Param::Int]), |_, a| {
        let Value::Int(n) = a[0] else {
            return Err(FuncError::new("until: count is no int"));
        };
        Ok(Value::List(List::typed(
            gotemplate::Elem::Int,
            (0..n.max(0)).map(Value::Int).collect(),
        )))
    });
    f.insert(
        "ternary",
        Signature::new(&[Param::Any, Param::Any, Param::Bool]),
        |_, a| {
            Ok(if a[2].is_true() {
                a[0].clone()
            } else {
                a[1].clone()
            })
        },
    );
    f
}

/// Helm's `include` and `tpl`, written as the Helm layer would, on the `CallCtx` API.
pub fn helm_like() -> FuncMap {
    let mut f = sprig_subset();
    f.insert(
        "include",
        Signature::new(&[Param::String, Param::Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            let name = str_arg(&a[0]);
            if ctx.call_chain().iter().filter(|n| *n == name).count() > 1000 {
                return Err(FuncError::new(format!(
                    "rendering template has a nested reference name: {name}: unable to execute template"
                )));
            }
            Ok(Value::from(ctx.execute_template(name, a[1].clone())?))
        },
    );
    f.insert(
        "tpl",
        Signature::new(&[Param::String, Param::Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            let out = ctx.execute_text("gotpl", str_arg(&a[0]), a[1].clone())?;
            Ok(Value::from(out.replace("<no value>", "")))
        },
    );
    f
}

/// `.Capabilities` as Helm has it: a struct with a Stringer field and a named slice with a
/// method.
pub struct KubeVersion;

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn kind(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(Value::from(match name {
            "Version" => "v1.37.0",
            "Major" => "1",
            "Minor" => "37",
            _ => return None,
        }))
    }
    fn method(&self, name: &str) -> Option<Signature> {
        (name == "GitVersion").then_some(Signature::new(&[]))
    }
    fn call_method(&self, _: &str, _: &mut CallCtx<'_>, _: &[Value]) -> Result<Value, FuncError> {
        Ok(Value::from("v1.37.0"))
    }
    fn string(&self) -> Option<String> {
        Some("v1.37.0".into())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub struct VersionSet(pub List);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn kind(&self) -> &str {
        "slice"
    }
    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Has").then_some(Signature::new(&[Param::String]))
    }
    fn call_method(&self, _: &str, _: &mut CallCtx<'_>, a: &[Value]) -> Result<Value, FuncError> {
        let want = str_arg(&a[0]);
        Ok(Value::Bool(
            self.0.items().iter().any(|v| v.as_str() == Some(want)),
        ))
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::List(self.0.clone()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

pub struct Capabilities {
    pub api_versions: List,
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::object(KubeVersion)),
            "APIVersions" => Some(Value::object(VersionSet(self.api_versions.clone()))),
            _ => None,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Renders like Helm's engine: one set for all files, missingkey=zero, "<no value>" removed.
pub fn render_helm_like(
    files: &[(&str, &str)],
    values: &serde_json::Value,
    api_versions: &[String],
) -> Result<Vec<(String, String)>, Error> {
    let mut set = TemplateSet::new("gotpl", helm_like());
    set.set_options(Options {
        missing_key: MissingKey::Zero,
        ..Options::default()
    });
    let names: Vec<String> = files
        .iter()
        .map(|(n, _)| format!("oracle/templates/{n}"))
        .collect();
    // Helm parses deeper paths first, then names in descending order; later definitions win.
    let mut order: Vec<(&String, &str)> = names.iter().zip(files.iter().map(|(_, t)| *t)).collect();
    order.sort_by(|(a, _), (b, _)| {
        (b.matches('/').count(), b.as_str()).cmp(&(a.matches('/').count(), a.as_str()))
    });
    for (name, text) in order {
        set.parse(name, text)?;
    }
    // Helm's top level, .Values and .Template are its named map type common.Values.
    let named = |v: Value| match v {
        Value::Map(m) => Value::Map(Map::named("common.Values", m.borrow().clone())),
        v => v,
    };
    let top = Map::named("common.Values", Default::default());
    top.insert("Values", named(Value::from_json(values)));
    top.insert(
        "Capabilities",
        Value::object(Capabilities {
            api_versions: List::of_strings(api_versions.iter().map(String::as_str)),
        }),
    );
    // The other keys Helm's top level has (their contents are not modelled here).
    for key in ["Chart", "Files", "Subcharts"] {
        top.insert(key, Value::Map(Map::new()));
    }
    let release = Map::new();
    release.insert("Name", Value::from("release"));
    release.insert("Namespace", Value::from("default"));
    top.insert("Release", Value::Map(release));
    let mut out = Vec::new();
    for name in &names {
        if name.rsplit('/').next().is_some_and(|b| b.starts_with('_')) {
            continue;
        }
        let template = Map::named("common.Values", Default::default());
        template.insert("Name", Value::from(name.as_str()));
        template.insert("BasePath", Value::from("oracle/templates"));
        top.insert("Template", Value::Map(template));
        let text = set.execute(name, &Value::Map(top.clone()))?;
        out.push((name.clone(), text.replace("<no value>", "")));
    }
    Ok(out)
}
