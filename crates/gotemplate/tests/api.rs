//! The embedding API as the Sprig and Helm layers use it: functions with Go parameter types,
//! re-entry through `CallCtx` (`include`, `tpl`), objects with fields and methods, shared maps,
//! structured errors. Where Go can say what is right, the oracle does.

mod oracle;

use gotemplate::{Error, FuncMap, List, MissingKey, Options, TemplateSet, Value};
use oracle::helm::{Capabilities, helm_like, render_helm_like, sprig_subset};
use oracle::{Case, Oracle};
use serde_json::json;

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
        "{{ unixEpoch \"x\" }}",
        "{{ unixEpoch .s }}",
        "{{ unixEpoch .missing }}",
        "{{ unixEpoch nil }}",
        "{{ unixEpoch .m }}",
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

/// A struct without String(), as Helm's `.Capabilities.HelmVersion` (a `version.BuildInfo`).
struct BuildInfo {
    pointer: bool,
}

impl gotemplate::Object for BuildInfo {
    fn type_name(&self) -> &str {
        if self.pointer {
            "*version.BuildInfo"
        } else {
            "version.BuildInfo"
        }
    }
    fn kind(&self) -> &str {
        if self.pointer { "ptr" } else { "struct" }
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.struct_fields()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
    fn struct_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(vec![
            ("Version".into(), Value::from("v4.3.1")),
            ("GitTreeState".into(), Value::from("")),
            ("Count".into(), Value::Int(2)),
        ])
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn structs_without_string_print_their_fields_as_go_does() {
    let mut set = TemplateSet::new("gotpl", FuncMap::new());
    set.parse(
        "t",
        "{{ .v }}|{{ printf \"%+v\" .v }}|{{ .p }}|{{ printf \"%+v\" .p }}|{{ .v.Version }}|{{ printf \"%T\" .p }}",
    )
    .expect("parses");
    let data = gotemplate::Map::new();
    data.insert("v", Value::object(BuildInfo { pointer: false }));
    data.insert("p", Value::object(BuildInfo { pointer: true }));
    assert_eq!(
        set.execute("t", &Value::Map(data)).expect("runs"),
        "{v4.3.1  2}|{Version:v4.3.1 GitTreeState: Count:2}|&{v4.3.1  2}|&{Version:v4.3.1 GitTreeState: Count:2}|v4.3.1|*version.BuildInfo"
    );
}

#[test]
fn deep_nesting_is_an_error_or_works_never_a_stack_overflow() {
    // Parentheses nested past the parser's limit: an error, not a tree too deep to drop.
    let mut set = TemplateSet::new("gotpl", FuncMap::new());
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let err = set.parse("t", &deep).expect_err("too deep");
    assert!(
        err.to_string().contains("nesting deeper than 1000 levels"),
        "{err}"
    );
    let ok = format!("{{{{ {}1{} }}}}", "(".repeat(900), ")".repeat(900));
    set.parse("t", &ok).expect("900 levels parse");
    assert_eq!(set.execute("t", &Value::Nil).expect("runs"), "1");

    // A value a template nests 100000 deep prints, compares and drops without recursing per
    // level on the thread's stack.
    let mut funcs = FuncMap::new();
    funcs.insert(
        "wrap",
        gotemplate::Signature::new(&[gotemplate::Param::Any]),
        |_, a| Ok(Value::List(List::new(vec![a[0].clone()]))),
    );
    let mut set = TemplateSet::new("gotpl", funcs);
    set.parse(
        "t",
        "{{ $d := 0 }}{{ range 100000 }}{{ $d = wrap $d }}{{ end }}{{ len (printf \"%v\" $d) }} {{ eq (len $d) 1 }}",
    )
    .expect("parses");
    assert_eq!(set.execute("t", &Value::Nil).expect("runs"), "200001 true");
}

/// `tpl` of an empty string inside `tpl`: Go runs the empty template it just parsed (it does
/// not replace the enclosing `tpl`'s template of the same name, which would then run again).
#[test]
fn tpl_of_empty_text_inside_tpl_renders_nothing() {
    let mut set = TemplateSet::new("gotpl", helm_like());
    set.set_options(Options {
        missing_key: MissingKey::Zero,
        ..Options::default()
    });
    set.parse(
        "chart/templates/cm.yaml",
        "{{ tpl .Values.outer . }}|{{ tpl \"\" . }}",
    )
    .expect("parses");
    let data = Value::from_json(&json!({"Values": {
        "outer": "a{{ tpl .Values.empty . }}b{{ tpl .Values.blank . }}c",
        "empty": "",
        "blank": "{{/* only a comment */}}",
    }}));
    assert_eq!(
        set.execute("chart/templates/cm.yaml", &data)
            .expect("renders"),
        "abc|"
    );
}
