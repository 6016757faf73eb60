//! Tests of layering, provenance, explain and schema validation, and the merge laws.
use std::path::Path;

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn file_layer(src: &str, name: &str, kind: LayerKind) -> Layer {
    Layer::from_str(src, Path::new(name), kind).unwrap()
}

fn set_layer(kind: SetKind, arg: &str) -> Layer {
    parse_set(kind, arg, Path::new(".")).unwrap()
}

fn origins(r: &Resolved) -> Vec<(String, String)> {
    explain(r)
        .into_iter()
        .map(|row| (row.path, row.origin.to_string()))
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn resolve_layers_with_provenance() {
    let layers = vec![
        file_layer(
            "image:\n  repo: app\n  tag: v1\nreplicas: 1\n",
            "chart/values.yaml",
            LayerKind::ChartDefault,
        ),
        file_layer(
            "replicas: 3\n",
            "deploy/prod/values.yaml",
            LayerKind::Stack("prod".into()),
        ),
        set_layer(SetKind::Set, "image.tag=v2"),
    ];
    let r = resolve(layers).unwrap();
    assert_eq!(
        r.values,
        json!({"image": {"repo": "app", "tag": "v2"}, "replicas": 3})
    );
    assert_eq!(
        origins(&r),
        pairs(&[
            ("image.repo", "chart/values.yaml:2"),
            ("image.tag", "--set image.tag=v2"),
            ("replicas", "deploy/prod/values.yaml:1"),
        ])
    );
    assert!(r.warnings.is_empty());
}

#[test]
fn set_into_a_list_from_a_file_keeps_other_origins() {
    let layers = vec![
        file_layer(
            "hosts:\n- a\n- b\n- c\n",
            "values.yaml",
            LayerKind::ChartDefault,
        ),
        file_layer(
            "hosts:\n- x\n- y\n- z\n",
            "prod.yaml",
            LayerKind::ValuesFlag,
        ),
        set_layer(SetKind::Set, "hosts[1]=B,hosts[4]=E"),
    ];
    let r = resolve(layers).unwrap();
    assert_eq!(r.values, json!({"hosts": ["x", "B", "z", null, "E"]}));
    assert_eq!(
        origins(&r),
        pairs(&[
            ("hosts[0]", "prod.yaml:2"),
            ("hosts[1]", "--set hosts[1]=B,hosts[4]=E"),
            ("hosts[2]", "prod.yaml:4"),
            ("hosts[3]", "--set hosts[1]=B,hosts[4]=E"),
            ("hosts[4]", "--set hosts[1]=B,hosts[4]=E"),
        ])
    );
}

#[test]
fn set_type_clash_names_the_earlier_layer() {
    let layers = vec![
        file_layer(
            "image: nginx\n",
            "deploy/values.yaml",
            LayerKind::Stack(String::new()),
        ),
        set_layer(SetKind::Set, "image.tag=v2"),
    ];
    let e = resolve(layers).unwrap_err().to_string();
    assert!(e.contains("`image` already holds a string"), "{e}");
    assert!(e.contains("deploy/values.yaml:1"), "{e}");
    assert!(e.contains("column 6"), "{e}");
}

#[test]
fn subchart_scoping_and_globals() {
    let layers = vec![
        file_layer(
            "port: 5432\nglobal:\n  region: none\n",
            "charts/db/values.yaml",
            LayerKind::ChartDefault,
        )
        .nested_under(&["db".to_string()]),
        file_layer(
            "global:\n  region: eastus\ndb:\n  port: 6543\n",
            "values.yaml",
            LayerKind::ChartDefault,
        ),
    ];
    let r = resolve(layers).unwrap();
    assert_eq!(
        r.values,
        json!({"global": {"region": "eastus"}, "db": {"port": 6543, "global": {"region": "eastus"}}})
    );
    assert_eq!(
        r.origin_of(&[
            PathSeg::Key("db".into()),
            PathSeg::Key("global".into()),
            PathSeg::Key("region".into())
        ])
        .to_string(),
        "values.yaml:2"
    );
    assert_eq!(
        scope_for_subchart(&r.values, "db"),
        json!({"port": 6543, "global": {"region": "eastus"}})
    );
    let bad = vec![
        file_layer(
            "port: 1\n",
            "charts/db/values.yaml",
            LayerKind::ChartDefault,
        )
        .nested_under(&["db".to_string()]),
        file_layer("{}\n", "values.yaml", LayerKind::ChartDefault),
        set_layer(SetKind::Set, "db=off"),
    ];
    let e = resolve(bad).unwrap_err().to_string();
    assert!(
        e.contains("`db` holds a string (set by --set db=off)"),
        "{e}"
    );
}

#[test]
fn values_file_errors() {
    let e = Layer::from_str(
        "a: [1,\n",
        Path::new("deploy/prod/values.yaml"),
        LayerKind::ValuesFlag,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("malformed YAML in a values file: deploy/prod/values.yaml:"),
        "{e}"
    );
    let e = Layer::from_str("- a\n- b\n", Path::new("list.yaml"), LayerKind::ValuesFlag)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("list.yaml:1: a values file must be a map"),
        "{e}"
    );
    let e = Layer::from_file(Path::new("/nonexistent/values.yaml"), LayerKind::ValuesFlag)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot read values file /nonexistent/values.yaml"),
        "{e}"
    );
    let l = Layer::from_str("", Path::new("empty.yaml"), LayerKind::ValuesFlag).unwrap();
    assert_eq!(l.values, json!({}));
}

#[test]
fn explain_yaml_annotates_leaves() {
    let r = resolve(vec![
        file_layer("a:\n  b: 1\n  c: []\n", "v.yaml", LayerKind::ChartDefault),
        set_layer(SetKind::SetString, "a.d=x"),
    ])
    .unwrap();
    assert_eq!(
        explain_yaml(&r),
        "a:\n  b: 1  # v.yaml:2\n  c: []  # v.yaml:3\n  d: x  # --set-string a.d=x\n"
    );
}

#[test]
fn warnings_for_helm_silent_cases() {
    let r = resolve(vec![
        file_layer("a:\n  b: 1\n", "v.yaml", LayerKind::ChartDefault),
        set_layer(SetKind::Set, "a=5,x[0=1"),
    ])
    .unwrap();
    assert_eq!(r.values, json!({"a": 5}));
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
}

#[test]
fn set_file_reads_relative_to_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "-----BEGIN-----\nabc\n").unwrap();
    let l = parse_set(SetKind::SetFile, "tls.cert=cert.pem", dir.path()).unwrap();
    assert_eq!(l.values, json!({"tls": {"cert": "-----BEGIN-----\nabc\n"}}));
    let e = parse_set(SetKind::SetFile, "tls.cert=missing.pem", dir.path()).unwrap_err();
    assert_eq!(e.column, 10);
    assert!(e.message.contains("cannot read the file"), "{e}");
}

#[test]
fn schema_errors_name_path_rule_and_origin() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["image"],
        "properties": {
            "replicas": {"type": "integer", "minimum": 1},
            "image": {
                "type": "object",
                "required": ["tag"],
                "properties": {"tag": {"type": "string"}},
                "additionalProperties": false
            },
            "ports": {"type": "array", "items": {"type": "integer"}}
        }
    });
    let r = resolve(vec![
        file_layer(
            "replicas: 1\nimage:\n  repo: x\nports: [80]\n",
            "chart/values.yaml",
            LayerKind::ChartDefault,
        ),
        file_layer(
            "replicas: 0\n",
            "deploy/prod/values.yaml",
            LayerKind::Stack("prod".into()),
        ),
        set_layer(SetKind::Set, "ports[1]=http"),
    ])
    .unwrap();
    let err = validate(Path::new("chart/values.schema.json"), &schema, &r).unwrap_err();
    let SchemaErrors::Violations { errors, .. } = &err else {
        panic!("{err}");
    };
    let got: Vec<(String, String, String)> = errors
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.keyword.clone(),
                e.origin
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("replicas", "minimum", "deploy/prod/values.yaml:1"),
        ("image.tag", "required", "chart/values.yaml:2"),
        ("image.repo", "additionalProperties", "chart/values.yaml:3"),
        // Helm applies --set before the chart defaults are coalesced in, so the flag builds a
        // new list ([null, "http"]) that replaces the default [80].
        ("ports[0]", "type", "--set ports[1]=http"),
        ("ports[1]", "type", "--set ports[1]=http"),
    ];
    for w in want {
        assert!(
            got.contains(&(w.0.to_string(), w.1.to_string(), w.2.to_string())),
            "missing {w:?} in {got:?}\n{err}"
        );
    }
    let text = err.to_string();
    assert!(text.contains("replicas: "), "{text}");
    assert!(
        text.contains("[minimum]; set by deploy/prod/values.yaml:1"),
        "{text}"
    );

    // draft 7 is honoured through $schema; a root-level required property has no origin.
    let d7 = json!({"$schema": "http://json-schema.org/draft-07/schema#", "required": ["name"]});
    let err = validate(Path::new("s.json"), &d7, &r).unwrap_err();
    assert!(
        err.to_string()
            .contains("name: the required property `name` is missing"),
        "{err}"
    );
    assert!(err.to_string().contains("required by s.json"), "{err}");
    let bad = json!({"type": 12});
    assert!(matches!(
        validate(Path::new("bad.json"), &bad, &r),
        Err(SchemaErrors::Invalid { .. })
    ));
    assert!(validate(Path::new("ok.json"), &json!({"type": "object"}), &r).is_ok());
}

/// An invalid schema names the schema file and the metaschema it breaks, whether the draft is
/// the default 2020-12 or draft 7 through `$schema`.
#[test]
fn invalid_schema_error_text() {
    let r = resolve(vec![file_layer(
        "a: 1\n",
        "values.yaml",
        LayerKind::ChartDefault,
    )])
    .unwrap();
    let file = std::path::absolute("c/values.schema.json").unwrap();
    let url = format!("file://{}#", file.display());
    for schema in [
        json!({"properties": {"a": {"type": 5}}}),
        json!({"$schema": "http://json-schema.org/draft-07/schema#", "enum": []}),
        json!({"properties": {"a": {"pattern": "("}}}),
    ] {
        let err = validate(Path::new("c/values.schema.json"), &schema, &r).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "c/values.schema.json: invalid JSON Schema: {url} is not valid against metaschema"
            ),
            "{schema}"
        );
    }
}

/// The vendored boon settles most schemas without compiling a metaschema (its `metacheck`):
/// whatever it decides must be what the compiled metaschema (format assertions on) decides,
/// for each keyword with values of every shape, at the root and in a subschema, in both
/// drafts it models.
#[test]
fn metaschema_shortcut_agrees_with_the_compiled_metaschema() {
    use boon::{CompileError, Compiler, Draft, Schemas};
    #[rustfmt::skip]
    let keywords = [
        "$id", "$schema", "$ref", "$dynamicRef", "$recursiveRef", "$anchor", "$dynamicAnchor",
        "$recursiveAnchor", "$vocabulary", "$comment", "$defs", "definitions", "title",
        "description", "default", "deprecated", "readOnly", "writeOnly", "examples", "type",
        "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains",
        "minContains", "maxProperties", "minProperties", "required", "dependentRequired",
        "prefixItems", "items", "additionalItems", "contains", "additionalProperties", "properties",
        "patternProperties", "dependentSchemas", "propertyNames", "if", "then", "else", "allOf",
        "anyOf", "oneOf", "not", "unevaluatedItems", "unevaluatedProperties", "format",
        "contentEncoding", "contentMediaType", "contentSchema", "dependencies", "form", "x-custom",
    ];
    #[rustfmt::skip]
    let values = [
        json!(null), json!(true), json!(false), json!(0), json!(1), json!(-1), json!(1.5),
        json!(1.0), json!(0.0), json!(-0.5), json!(""), json!("string"), json!("object"),
        json!("#"), json!("#a"), json!("a#"), json!("a#b"), json!("#/definitions/x"),
        json!("http://example.com/s"), json!("urn:x"), json!("a b"), json!("\\x"), json!("^a+$"),
        json!("("), json!("["), json!("\\p{L}"), json!("a-1"), json!("_a"), json!("1a"), json!("é"),
        json!([]), json!(["string"]), json!(["string", "string"]), json!(["string", "integer"]),
        json!(["a", "b"]), json!(["a", "a"]), json!([1]), json!([1, 1.0]), json!([{}]),
        json!([true]), json!([{"type": 5}]), json!({}), json!({"a": {}}), json!({"a": true}),
        json!({"a": 1}), json!({"(": {}}), json!({"a+": {}}), json!({"a": ["x"]}),
        json!({"a": ["x", "x"]}), json!({"a": {"type": 5}}), json!({"type": "string"}),
        json!({"type": 5}), json!({"http://x/v": true}), json!({"a": "b"}),
    ];
    let mut docs = vec![json!(true), json!(false), json!(5), json!("x"), json!([])];
    for k in keywords {
        for v in &values {
            if k != "$schema" {
                docs.push(json!({ k: v }));
            }
            docs.push(json!({"properties": {"p": { k: v }}}));
        }
    }
    for (meta_url, draft) in [
        (
            "https://json-schema.org/draft/2020-12/schema",
            Draft::V2020_12,
        ),
        ("http://json-schema.org/draft-07/schema", Draft::V7),
    ] {
        let mut oracle = Compiler::new();
        oracle.enable_format_assertions();
        let mut meta = Schemas::new();
        let meta_idx = oracle.compile(meta_url, &mut meta).unwrap();
        let (mut rejected, mut compiled) = (0, 0);
        for doc in &docs {
            let valid = meta.validate(doc, meta_idx).is_ok();
            let mut c = Compiler::new();
            c.set_default_draft(draft);
            c.add_resource("file:///t/s.json", doc.clone()).unwrap();
            let got = c.compile("file:///t/s.json", &mut Schemas::new());
            let meta_err = matches!(got, Err(CompileError::ValidationError { .. }));
            // `$id` and anchors are read before the metaschema check and fail on their own.
            let early = matches!(
                got,
                Err(CompileError::ParseIdError { .. }
                    | CompileError::ParseAnchorError { .. }
                    | CompileError::DuplicateId { .. }
                    | CompileError::DuplicateAnchor { .. })
            );
            if valid {
                assert!(
                    !meta_err,
                    "{meta_url}: {doc} passes the metaschema: {got:?}"
                );
            } else {
                assert!(
                    meta_err || early,
                    "{meta_url}: {doc} breaks the metaschema: {got:?}"
                );
                rejected += 1;
            }
            compiled += usize::from(got.is_ok());
        }
        // The corpus exercises both answers.
        assert!(rejected > 500 && compiled > 1000, "{rejected} {compiled}");
    }
}

// ---------------------------------------------------------------------------------------------
// Merge laws (property tests)
// ---------------------------------------------------------------------------------------------

fn arb_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..5).prop_map(Value::from),
        "[a-c]{0,2}".prop_map(Value::String),
        prop::collection::vec((0i64..3).prop_map(Value::from), 0..3).prop_map(Value::Array),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        prop::collection::vec((prop::sample::select(vec!["a", "b", "c"]), inner), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    })
}

fn arb_map() -> impl Strategy<Value = Value> {
    arb_values().prop_map(|v| match v {
        Value::Object(_) => v,
        other => json!({ "a": other }),
    })
}

fn m(a: &Value, b: &Value) -> Value {
    let mut x = a.clone();
    merge(&mut x, b.clone());
    x
}

/// True when some path holds a map in `a`, a non-map (including null) in `b` and a map in
/// `c`: the one shape where stacking is not associative (B erased A's map; C's map then
/// merges with A's in one grouping and not in the other).
fn erases_then_rebuilds(a: &Value, b: &Value, c: &Value) -> bool {
    match (a, b, c) {
        (Value::Object(am), Value::Object(bm), Value::Object(cm)) => {
            cm.iter().any(|(k, cv)| match (am.get(k), bm.get(k)) {
                (Some(av), Some(bv)) => erases_then_rebuilds(av, bv, cv),
                _ => false,
            })
        }
        (Value::Object(_), b, Value::Object(_)) => !b.is_object(),
        _ => false,
    }
}

fn layer_of(v: &Value, name: &str, kind: LayerKind) -> Layer {
    Layer::from_str(&crate::yaml::to_yaml(v), Path::new(name), kind).unwrap()
}

fn has_null_over_non_null(user: &Value, defaults: &Value, top: bool) -> Option<String> {
    let (Value::Object(u), Value::Object(d)) = (user, defaults) else {
        return None;
    };
    for (k, uv) in u {
        let Some(dv) = d.get(k) else { continue };
        if uv.is_null() && (top || !dv.is_null()) {
            return Some(k.clone());
        }
        if let Some(p) = has_null_over_non_null(uv, dv, false) {
            return Some(format!("{k}.{p}"));
        }
    }
    None
}

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

proptest! {
    // Failures print their minimal input; regressions worth keeping become unit tests.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(512) })]

    /// Stacking user layers is associative, except where a layer replaces a map with a
    /// non-map and a later layer brings a map back ([`erases_then_rebuilds`]).
    #[test]
    fn stacking_is_associative(a in arb_map(), b in arb_map(), c in arb_map()) {
        prop_assume!(!erases_then_rebuilds(&a, &b, &c));
        prop_assert_eq!(m(&m(&a, &b), &c), m(&a, &m(&b, &c)));
    }

    /// The empty layer is neutral and stacking a layer on itself changes nothing.
    #[test]
    fn identity_and_idempotence(a in arb_map()) {
        prop_assert_eq!(m(&a, &json!({})), a.clone());
        prop_assert_eq!(m(&json!({}), &a), a.clone());
        prop_assert_eq!(m(&a, &a), a.clone());
    }

    /// Resolving [D, A, B, C] equals resolving [D, A⊕B, C] and [D, A, B⊕C] (same condition):
    /// grouping user layers does not change the result, through YAML files and coalescing.
    #[test]
    fn layering_is_associative_through_resolve(
        d in arb_map(), a in arb_map(), b in arb_map(), c in arb_map()
    ) {
        prop_assume!(!erases_then_rebuilds(&a, &b, &c));
        let dl = || layer_of(&d, "chart/values.yaml", LayerKind::ChartDefault);
        let f = |v: &Value, n: &str| layer_of(v, n, LayerKind::ValuesFlag);
        let r1 = resolve(vec![dl(), f(&a, "a"), f(&b, "b"), f(&c, "c")]).unwrap().values;
        let r2 = resolve(vec![dl(), f(&m(&a, &b), "ab"), f(&c, "c")]).unwrap().values;
        let r3 = resolve(vec![dl(), f(&a, "a"), f(&m(&b, &c), "bc")]).unwrap().values;
        prop_assert_eq!(&r1, &r2);
        prop_assert_eq!(&r1, &r3);
    }

    /// Null deletes: after resolving, no key that the stacked user layers set to null survives
    /// where the chart default beneath it is non-null (or, at the top level, exists at all).
    #[test]
    fn null_deletes_chart_defaults(d in arb_map(), u in arb_map()) {
        let r = resolve(vec![
            layer_of(&d, "chart/values.yaml", LayerKind::ChartDefault),
            layer_of(&u, "u.yaml", LayerKind::ValuesFlag),
        ]).unwrap().values;
        if let Some(path) = has_null_over_non_null(&u, &d, true) {
            prop_assert!(get_path(&r, &path).is_none(), "{} survived: {}", path, r);
        }
        // Anything the user set to a non-null value wins.
        if let Value::Object(um) = &u {
            for (k, v) in um {
                if !v.is_null() && !v.is_object() {
                    prop_assert_eq!(r.get(k), Some(v));
                }
            }
        }
    }

    /// Resolving is deterministic and provenance covers every leaf.
    #[test]
    fn provenance_covers_every_leaf(d in arb_map(), u in arb_map()) {
        let r = resolve(vec![
            layer_of(&d, "chart/values.yaml", LayerKind::ChartDefault),
            layer_of(&u, "u.yaml", LayerKind::ValuesFlag),
        ]).unwrap();
        for row in explain(&r) {
            let o = row.origin.to_string();
            prop_assert!(o.starts_with("chart/values.yaml") || o.starts_with("u.yaml"), "{} from {}", row.path, o);
        }
    }

    /// The `--set` parser never panics, and what it accepts it accepts again when re-applied.
    #[test]
    fn set_parser_total(arg in "[a-c0-9=,.\\[\\]{}\\\\ \"n-u]{0,24}") {
        for kind in [SetKind::Set, SetKind::SetString, SetKind::SetJson, SetKind::SetLiteral] {
            if let Ok(l) = parse_set(kind, &arg, Path::new(".")) {
                prop_assert!(resolve(vec![l]).is_ok());
            }
        }
    }
}
