//! The embedding API as the Sprig and Helm layers use it: functions with Go parameter types,
//! re-entry through `CallCtx` (`include`, `tpl`), objects with fields and methods, shared maps,
//! structured errors. Where Go can say what is right, the oracle does.

mod oracle;

use std::any::Any;

use gotemplate::{
    CallCtx, Error, FuncError, FuncMap, List, Map, MissingKey, Object, Options, Param, Signature,
    TemplateSet, Value,
};
use oracle::{Case, Oracle};
use serde_json::json;

fn str_arg(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A few Sprig functions with Sprig's Go signatures, to check the engine's argument
/// conversion and errors against Go running the real ones.
fn sprig_subset() -> FuncMap {
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

#[test]
fn typed_parameters_convert_and_fail_as_in_go() {
    let Some(mut oracle) = Oracle::get("typed_parameters_convert_and_fail_as_in_go") else {
        return;
    };
    let data = json!({"s": "abc", "n": 3, "m": {"a": 1}, "l": ["x"], "null": null, "f": 1.5});
    let texts = [
        "{{ upper .s }} {{ upper \"x\" }} {{ .s | upper }}",
        "{{ upper 3 }}",
        "{{ upper .n }}",
        "{{ upper .missing }}",
        "{{ upper .null }}",
        "{{ upper nil }}",
        "{{ .missing | upper }}",
        "{{ $x := .missing }}{{ upper $x }}",
        "{{ upper }}",
        "{{ upper \"a\" \"b\" }}",
        "{{ \"a\" | upper \"b\" }}",
        "{{ repeat 3 \"ab\" }} {{ repeat 2 .s }}",
        "{{ repeat .n \"x\" }}",
        "{{ repeat 1.5 \"x\" }}",
        "{{ repeat \"3\" \"x\" }}",
        "{{ repeat (len .s) \"x\" }}",
        "{{ hasKey .m \"a\" }} {{ hasKey .m \"b\" }} {{ hasKey (dict \"q\" 1) \"q\" }}",
        "{{ hasKey .l \"a\" }}",
        "{{ hasKey nil \"a\" }}",
        "{{ hasKey .missing \"a\" }}",
        "{{ hasKey 1 \"a\" }}",
        "{{ splitList \",\" \"a,b\" }} {{ typeOf (splitList \",\" \"a\") }} {{ typeOf (list 1) }}",
        "{{ typeOf .n }} {{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf .m }} {{ typeOf .null }} {{ typeOf .missing }}",
        "{{ kindOf .n }} {{ kindOf .l }} {{ kindOf .m }} {{ kindOf \"s\" }} {{ kindOf .null }}",
        "{{ list 1 \"a\" nil .m }} {{ list }} {{ len (list 1 2) }}",
        "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"b\" 2 }}{{ $d }}",
        "{{ $_ := set .m \"z\" 9 }}{{ .m }}",
        "{{ $d := dict }}{{ range list 1 2 3 }}{{ $_ := set $d (print .) . }}{{ end }}{{ $d }}",
        "{{ $d := dict \"k\" (dict) }}{{ $_ := set $d.k \"x\" 1 }}{{ $d }}",
        "{{ round 3.14159 2 }} {{ round 2.5 0 0.6 }} {{ round 2.5 0 .f }} {{ round .f 0 1 }} {{ round 1.25 1 .n }}",
        "{{ round 1.5 0 \"x\" }}",
        "{{ round 1.5 .n }}",
        "{{ round 1.5 1.0 }}",
        "{{ round 1.5 }}",
        "{{ until 3 }} {{ typeOf (until 2) }} {{ range until 2 }}{{ . }}{{ end }}",
        "{{ until .n }}",
        "{{ until \"3\" }}",
        "{{ ternary \"a\" \"b\" true }} {{ ternary \"a\" \"b\" .s }}",
        "{{ ternary 1 2 1 }}",
        "{{ upper (list 1) }}",
        "{{ splitList \",\" }}",
        "{{ dict \"a\" }}",
        "{{ (dict \"a\" (dict \"b\" 1)).a.b }}",
        "{{ (list 1 2).x }}",
        "{{ upper .s.x }}",
    ];
    let cases: Vec<Case> = texts.iter().map(|t| Case::one(t, data.clone())).collect();
    let mut diffs = Vec::new();
    for case in &cases {
        let want = oracle::go_with(&mut oracle, case, "sprig");
        let got = oracle::rust(case, &sprig_subset());
        if want != got {
            diffs.push((case.clone(), want, got));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        diffs.len(),
        cases.len(),
        oracle::report(&diffs)
    );
}

/// Helm's `include` and `tpl`, written as the Helm layer would, on the `CallCtx` API.
fn helm_like() -> FuncMap {
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
struct KubeVersion;

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

struct VersionSet(List);

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

struct Capabilities {
    api_versions: List,
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
fn render_helm_like(
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
    for ((_, text), name) in files.iter().zip(&names) {
        set.parse(name, text)?;
    }
    let top = Map::new();
    top.insert("Values", Value::from_json(values));
    top.insert(
        "Capabilities",
        Value::object(Capabilities {
            api_versions: List::of_strings(api_versions.iter().map(String::as_str)),
        }),
    );
    let release = Map::new();
    release.insert("Name", Value::from("release"));
    release.insert("Namespace", Value::from("default"));
    top.insert("Release", Value::Map(release));
    let mut out = Vec::new();
    for name in &names {
        if name.rsplit('/').next().is_some_and(|b| b.starts_with('_')) {
            continue;
        }
        let template = Map::new();
        template.insert("Name", Value::from(name.as_str()));
        template.insert("BasePath", Value::from("oracle/templates"));
        top.insert("Template", Value::Map(template));
        let text = set.execute(name, &Value::Map(top.clone()))?;
        out.push((name.clone(), text.replace("<no value>", "")));
    }
    Ok(out)
}

#[test]
fn include_tpl_and_objects_render_as_helm_renders_them() {
    let Some(mut oracle) = Oracle::get("include_tpl_and_objects_render_as_helm_renders_them")
    else {
        return;
    };
    // The API versions Helm reports offline.
    let probe = oracle.request(&json!({"mode": "helm", "templates": [{"name": "v.yaml",
        "text": "{{ range .Capabilities.APIVersions }}{{ . }}\n{{ end }}"}], "values": {}}));
    let api_versions: Vec<String> = probe["rendered"]["oracle/templates/v.yaml"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        api_versions.len() > 10,
        "helm lists its API versions: {probe}"
    );
    let values = json!({"name": "web", "replicas": 3, "big": 1000000, "tpl": "{{ .Values.name }}-x",
        "nested": {"a": null}, "list": [1, "two"]});
    let charts: Vec<Vec<(&str, &str)>> = vec![
        vec![
            (
                "_helpers.tpl",
                "{{- define \"c.name\" -}}{{ .Values.name | upper }}{{- end -}}\n{{- define \"c.labels\" -}}\napp: {{ include \"c.name\" . }}\nrelease: {{ .Release.Name }}\n{{- end -}}",
            ),
            (
                "deploy.yaml",
                "metadata:\n  name: {{ include \"c.name\" . }}\n  labels:\n{{ include \"c.labels\" . }}\nspec:\n  replicas: {{ .Values.replicas }}\n  big: {{ .Values.big }}\n  missing: {{ .Values.missing }}|{{ .Values.nested.a }}\n  tpl: {{ tpl .Values.tpl . }}\n",
            ),
        ],
        vec![(
            "t.yaml",
            "{{ tpl \"{{ define \\\"in\\\" }}inner {{ . }}{{ end }}{{ include \\\"in\\\" .Values.name }}\" . }}|{{ .Template.Name }}|{{ .Template.BasePath }}",
        )],
        vec![(
            "caps.yaml",
            "{{ .Capabilities.KubeVersion }} {{ .Capabilities.KubeVersion.Version }} {{ .Capabilities.KubeVersion.Minor }} {{ .Capabilities.KubeVersion.GitVersion }} {{ .Capabilities.APIVersions.Has \"apps/v1\" }} {{ .Capabilities.APIVersions.Has \"nope/v1\" }} {{ len .Capabilities.APIVersions }} {{ index .Capabilities.APIVersions 0 }} {{ typeOf .Capabilities.APIVersions }}",
        )],
        vec![(
            "vals.yaml",
            "{{ .Values }}\n{{ .Values.list }} {{ range $k, $v := .Values }}{{ $k }}={{ $v }};{{ end }}\n{{ $_ := set .Values \"added\" 1 }}{{ .Values.added }}",
        )],
        vec![
            ("a.yaml", "{{ include \"shared\" . }}"),
            (
                "b.yaml",
                "{{ define \"shared\" }}from b {{ .Template.Name }}{{ end }}",
            ),
        ],
    ];
    let mut failures = Vec::new();
    for files in &charts {
        let files_fixed: Vec<(&str, String)> =
            files.iter().map(|(n, t)| (*n, t.to_string())).collect();
        let req = json!({"mode": "helm", "values": values,
            "templates": files_fixed.iter().map(|(n, t)| json!({"name": n, "text": t})).collect::<Vec<_>>()});
        let resp = oracle.request(&req);
        let Some(rendered) = resp.get("rendered").and_then(|r| r.as_object()) else {
            failures.push(format!("helm failed on {files:?}: {resp}"));
            continue;
        };
        let refs: Vec<(&str, &str)> = files_fixed.iter().map(|(n, t)| (*n, t.as_str())).collect();
        match render_helm_like(&refs, &values, &api_versions) {
            Ok(ours) => {
                for (name, text) in ours {
                    let want = rendered
                        .get(&name)
                        .and_then(|v| v.as_str())
                        .unwrap_or("<absent>");
                    if want != text {
                        failures.push(format!("{name}:\n  helm: {want:?}\n  ours: {text:?}"));
                    }
                }
            }
            Err(e) => failures.push(format!("{files:?}: ours failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_carry_the_include_chain_and_the_failing_action() {
    let mut set = TemplateSet::new("gotpl", helm_like());
    set.set_options(Options {
        missing_key: MissingKey::Zero,
        ..Options::default()
    });
    set.parse(
        "chart/templates/_helpers.tpl",
        "{{ define \"inner\" }}\n  {{ .Values.x.y }}{{ end }}\n{{ define \"outer\" }}{{ include \"inner\" . }}{{ end }}",
    )
    .expect("parses");
    set.parse(
        "chart/templates/cm.yaml",
        "a: 1\nb: {{ include \"outer\" . }}",
    )
    .expect("parses");
    let data = Value::from_json(&json!({"Values": {}}));
    let err = set
        .execute("chart/templates/cm.yaml", &data)
        .expect_err("x is missing");
    assert_eq!(
        err.to_string(),
        "template: chart/templates/cm.yaml:2:6: executing \"chart/templates/cm.yaml\" at <include \"outer\" .>: error calling include: template: chart/templates/_helpers.tpl:3:23: executing \"outer\" at <include \"inner\" .>: error calling include: template: chart/templates/_helpers.tpl:2:12: executing \"inner\" at <.Values.x.y>: nil pointer evaluating interface {}.y"
    );
    // The innermost error, as data: where, which action, and how it was reached.
    let mut e = &err;
    while let Error::Exec(x) = e {
        match &x.cause {
            Some(c) => e = c,
            None => break,
        }
    }
    let Error::Exec(inner) = e else {
        panic!("an execution error: {e}")
    };
    let at = inner.at.as_ref().expect("a location");
    assert_eq!(
        (
            at.file.as_str(),
            at.template.as_str(),
            at.line,
            at.col,
            at.action.as_str()
        ),
        (
            "chart/templates/_helpers.tpl",
            "inner",
            2,
            12,
            ".Values.x.y"
        )
    );
    assert_eq!(inner.message, "nil pointer evaluating interface {}.y");
    let chain: Vec<(&str, usize, &str)> = inner
        .chain
        .iter()
        .map(|l| (l.template.as_str(), l.line, l.action.as_str()))
        .collect();
    assert_eq!(
        chain,
        vec![
            ("chart/templates/cm.yaml", 2, "include \"outer\" ."),
            ("outer", 3, "include \"inner\" ."),
        ]
    );
}

#[test]
fn runaway_include_recursion_ends_in_an_error() {
    let mut set = TemplateSet::new("gotpl", helm_like());
    set.parse(
        "t",
        "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}",
    )
    .expect("parses");
    let err = set
        .execute("t", &Value::Nil)
        .expect_err("recursion is bounded");
    assert!(
        err.to_string().contains(
            "rendering template has a nested reference name: r: unable to execute template"
        ),
        "{err}"
    );
}

#[test]
fn runaway_template_recursion_stops_at_gos_depth() {
    let mut set = TemplateSet::new("gotpl", FuncMap::new());
    set.set_options(Options {
        max_depth: 500,
        ..Options::default()
    });
    set.parse(
        "t",
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
    )
    .expect("parses");
    let err = set
        .execute("t", &Value::Nil)
        .expect_err("recursion is bounded");
    assert!(
        err.to_string()
            .ends_with("exceeded maximum template depth (500)"),
        "{err}"
    );
}

#[test]
fn a_set_parses_once_and_executes_many_times_with_different_data() {
    let mut set = TemplateSet::new("gotpl", FuncMap::new());
    set.parse("t", "{{ .a }}").expect("parses");
    for i in 0..3 {
        let out = set
            .execute("t", &Value::from_json(&json!({"a": i})))
            .expect("runs");
        assert_eq!(out, i.to_string());
    }
    assert!(set.contains("t") && !set.contains("u"));
}

#[test]
fn objects_report_go_errors_for_fields_and_methods() {
    let mut set = TemplateSet::new("gotpl", FuncMap::new());
    set.parse("a", "{{ .KubeVersion.Nope }}").expect("parses");
    set.parse("b", "{{ .APIVersions.Has }}").expect("parses");
    set.parse("c", "{{ .KubeVersion.Major 1 }}")
        .expect("parses");
    set.parse("d", "{{ .APIVersions.Has 1 }}").expect("parses");
    let caps = Value::object(Capabilities {
        api_versions: List::of_strings(["v1"]),
    });
    let err = |name: &str| set.execute(name, &caps).expect_err("fails").to_string();
    assert!(
        err("a").ends_with("can't evaluate field Nope in type common.KubeVersion"),
        "{}",
        err("a")
    );
    assert!(
        err("b").ends_with("wrong number of args for Has: want 1 got 0"),
        "{}",
        err("b")
    );
    assert!(
        err("c").ends_with("Major has arguments but cannot be invoked as function"),
        "{}",
        err("c")
    );
    assert!(
        err("d").ends_with("expected string; found 1"),
        "{}",
        err("d")
    );
}
