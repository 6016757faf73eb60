//! Differential tests against Helm itself: every value goes through `toYaml`, `toYamlPretty`
//! and `toToml` in Helm v4.3.1's engine (scripts/helm-oracle) and through this crate, and the
//! outputs must be equal byte for byte. Without the oracle (no Go toolchain) the tests say so on
//! stderr and pass without checking.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

use super::*;

struct Oracle {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The oracle process shared by the tests of this binary, or None (said once on stderr) when
/// it cannot be built or started.
fn oracle() -> Option<&'static Mutex<Oracle>> {
    static ORACLE: OnceLock<Option<Mutex<Oracle>>> = OnceLock::new();
    ORACLE
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let started = (|| {
                let out = Command::new(root.join("scripts/helm-oracle"))
                    .arg("path")
                    .stderr(Stdio::inherit())
                    .output()
                    .map_err(|e| format!("cannot run scripts/helm-oracle: {e}"))?;
                if !out.status.success() {
                    return Err("scripts/helm-oracle could not build the oracle".to_string());
                }
                let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
                let mut child = Command::new(&path)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot start {path}: {e}"))?;
                let stdin = child.stdin.take().ok_or("no stdin")?;
                let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
                Ok(Oracle {
                    _child: child,
                    stdin,
                    stdout,
                })
            })();
            match started {
                Ok(oracle) => Some(Mutex::new(oracle)),
                Err(why) => {
                    eprintln!("goyaml: SKIPPING the Helm differential tests: {why}");
                    None
                }
            }
        })
        .as_ref()
}

/// Renders each template text (with `.Values.v` = `value`, Go ints for i64 numbers) through
/// Helm's engine: the outputs in order, or Helm's error.
fn helm(oracle: &Mutex<Oracle>, value: &Value, templates: &[&str]) -> Result<Vec<String>, String> {
    let files: Vec<Value> = templates
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"name": format!("t{i}.yaml"), "text": text}))
        .collect();
    let request = json!({"mode": "helm", "templates": files, "values": {"v": value}, "ints": true});
    let mut o = oracle.lock().unwrap_or_else(|e| e.into_inner());
    let mut line = serde_json::to_string(&request).expect("a JSON value serializes");
    line.push('\n');
    o.stdin
        .write_all(line.as_bytes())
        .expect("the oracle reads its stdin");
    o.stdin.flush().expect("the oracle reads its stdin");
    let mut answer = String::new();
    o.stdout.read_line(&mut answer).expect("the oracle answers");
    let answer: Value = serde_json::from_str(&answer).expect("the oracle answers JSON");
    if let Some(err) = answer.get("error").and_then(Value::as_str) {
        return Err(err.to_string());
    }
    Ok((0..templates.len())
        .map(|i| {
            answer["rendered"][format!("oracle/templates/t{i}.yaml")]
                .as_str()
                .unwrap_or("<missing>")
                .to_string()
        })
        .collect())
}

/// Helm's engine removes "<no value>" from whatever a template printed.
fn as_helm_prints(s: &str) -> String {
    s.replace("<no value>", "")
}

static CASES: AtomicUsize = AtomicUsize::new(0);
static RANDOM_IN_HELM: AtomicUsize = AtomicUsize::new(0);

/// Whether some map in `value` has keys that go-yaml's comparison does not order (see
/// `keys`): Helm's output then depends on Go's random map order.
fn has_unordered_keys(value: &Value, version: Version) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|v| has_unordered_keys(v, version)),
        Value::Object(map) => {
            let keys: Vec<&String> = map.keys().collect();
            let unordered = keys.iter().any(|a| {
                keys.iter().any(|b| {
                    keys.iter().any(|c| {
                        keys::less(a, b, version)
                            && keys::less(b, c, version)
                            && !keys::less(a, c, version)
                    })
                })
            });
            unordered || map.values().any(|v| has_unordered_keys(v, version))
        }
        _ => false,
    }
}

/// Compares this crate with Helm on `value`: Err describes the first difference.
fn compare(oracle: &Mutex<Oracle>, value: &Value) -> Result<(), String> {
    CASES.fetch_add(1, Ordering::Relaxed);
    let ours_toml = match to_toml(value) {
        Ok(s) => Ok(s),
        Err(TomlError::Nil) => Err(TomlError::Nil),
        Err(e) => Ok(e.to_string()),
    };
    let mut templates = vec!["{{ toYaml .Values.v }}", "{{ toYamlPretty .Values.v }}"];
    if ours_toml.is_ok() {
        templates.push("{{ toToml .Values.v }}");
    }
    let theirs = helm(oracle, value, &templates).map_err(|e| format!("Helm failed: {e}"))?;
    let ours = [
        to_yaml(value),
        to_yaml_pretty(value),
        ours_toml.clone().unwrap_or_default(),
    ];
    let random_order = [
        has_unordered_keys(value, Version::V2),
        has_unordered_keys(value, Version::V3),
        false,
    ];
    if random_order.contains(&true) {
        RANDOM_IN_HELM.fetch_add(1, Ordering::Relaxed);
    }
    for (((name, ours), theirs), random) in ["toYaml", "toYamlPretty", "toToml"]
        .iter()
        .zip(&ours)
        .zip(&theirs)
        .zip(random_order)
    {
        let ours = as_helm_prints(ours);
        if &ours != theirs && !random {
            return Err(format!(
                "{name} differs for {}\n--- Helm\n{theirs}\n--- goyaml\n{ours}\n---",
                serde_json::to_string(value).unwrap_or_default()
            ));
        }
    }
    if ours_toml.is_err() {
        match helm(oracle, value, &["{{ toToml .Values.v }}"]) {
            Err(e) if e.contains(&TomlError::Nil.to_string()) => {}
            other => return Err(format!("toToml of nil: Helm gave {other:?}")),
        }
    }
    Ok(())
}

fn f(x: f64) -> Value {
    Value::Number(Number::from_f64(x).expect("a finite float"))
}

/// Values chosen for the rules in the module docs, each a map under a key and alone.
fn tricky_values() -> Vec<Value> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "  a",
        "a ",
        "a  b",
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "n",
        "~",
        "null",
        "Null",
        "true",
        "FALSE",
        ".inf",
        "-.Inf",
        ".NaN",
        "+.inf",
        "0755",
        "08",
        "1e3",
        "1E3",
        ".5",
        "-.5",
        "1.",
        "0x1F",
        "0o17",
        "0o-5",
        "0b101",
        "0b-1",
        "-0b1",
        "1_000",
        "_1",
        "12:30",
        "1:2:3.5",
        "12:60",
        "2001-12-14",
        "2001-12-14T21:59:43.10-05:00",
        "2001-12-14t21:59:43Z",
        "2001-12-14 21:59:43.10",
        "2001-12-14  21:59:43",
        "2023-02-29",
        "2024-02-29",
        "2001-12-14T21:59:43+25:00",
        "1e400",
        "+1",
        "-1",
        "-",
        "--",
        "---",
        "...",
        "- a",
        "-a",
        "? a",
        "?a",
        ": a",
        ":a",
        "a:",
        "a: b",
        "a:b",
        "#a",
        "a #b",
        "a#b",
        "@a",
        "`a",
        "%a",
        "!a",
        "&a",
        "*a",
        "|a",
        ">a",
        "'a'",
        "\"a\"",
        "a'b",
        "a\"b",
        "a\\b",
        "[a]",
        "{a}",
        ",a",
        "a,b",
        "<<",
        "=",
        "a\nb",
        "a\n",
        "a\n\n",
        "\n",
        "\n\n",
        "\na",
        " \na",
        "a \nb",
        "a\n b",
        "a\tb",
        "\ta",
        "a\t\nb",
        "a\rb",
        "a\r\nb",
        "a\u{85}b",
        "a \u{85} b",
        "a\u{85}\u{85}b",
        "a\u{85}",
        "\u{85}a",
        "a\u{85}--- b",
        "a\u{85}...\u{85}",
        "a\u{85}---",
        "a\u{2028}b",
        "a\u{2029}",
        "\u{feff}ab c",
        "a\u{feff}b",
        "\u{a0}",
        "a\u{a0}b",
        "\u{7f}",
        "a\u{80}",
        "\u{9f}",
        "\u{fffe}",
        "\u{ffff}",
        "\u{fffd}",
        "\u{200b}",
        "\u{0}",
        "a\u{1b}b",
        "\u{7}\u{8}\u{b}\u{c}",
        "é",
        "日本語",
        "😀",
        "a 😀 b",
        "<no value>x",
        "<>&",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let words = "lorem ipsum dolor sit amet ".repeat(8);
    strings.push(words.clone());
    strings.push(format!("yes {words}"));
    strings.push(format!("{words}\nsecond line {words}"));
    strings.push("x".repeat(120));
    strings.push(format!("{}  {}", "a".repeat(85), "b".repeat(10)));
    strings.push(format!("\"{words}\""));
    strings.push(format!("{words}\t"));
    strings.push(format!("'{}' {}", "q".repeat(78), "tail words here"));
    strings.push(format!("{}\u{feff} end", "a ".repeat(50)));

    let mut values = Vec::new();
    for s in &strings {
        values.push(json!({ "k": s }));
        values.push(json!([s]));
        values.push(json!({ s.as_str(): 1 }));
        values.push(json!({ "k": [s, { s.as_str(): s }] }));
        values.push(Value::String(s.clone()));
    }
    let long_key = "k".repeat(129);
    values.push(json!({ long_key.as_str(): [1, 2], "x": { "y": [] } }));
    values.push(json!({ "a".repeat(1022): 1 }));
    values.push(json!({ "a".repeat(1023): 1 }));
    values.push(json!({ "<".repeat(171): 1 }));
    values.push(json!({ "<".repeat(170): 1 }));
    values.push(json!({ "multi\nline": 1, "multi\nline\n": [1], "a\tb\nc": {"d": 1} }));
    values.push(json!({ "k10": 1, "k9": 2, "k1": 3, "k01": 4, "K": 5, "_": 6, "1a": 7, "1-": 8, "é": 9, "z": 10 }));
    let numbers = [
        f(1_000_000.0),
        f(1234567.5),
        f(0.000001),
        f(1e-7),
        f(1e20),
        f(1e21),
        f(123456.0),
        f(-0.0),
        f(0.0),
        f(3.0),
        f(-2.5),
        f(1e300),
        f(5e-324),
        f(9.223372036854776e18),
        f(1.8446744073709552e19),
        f(12345678901234567890.0),
        f(-9.3e18),
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(1_000_000),
    ];
    for n in &numbers {
        values.push(json!({ "n": n, "l": [n] }));
        values.push(n.clone());
    }
    values.extend([
        Value::Null,
        json!(true),
        json!({}),
        json!([]),
        json!({ "a": null, "b": [], "c": {}, "d": [[]], "e": [{}], "f": [null] }),
        json!([[1, [2, [3]]], [{ "a": [1] }], [[{ "b": 1 }]]]),
        json!({ "a": { "b": { "c": [1, { "d": { "e": [[2]] } }] } } }),
        json!([{ "a": 1 }, { "b": { "c": 2 } }]),
        json!({ "t": [{ "a": 1, "s": { "x": 1 } }, { "b": [{ "c": 1 }] }], "z": [1, { "m": null, "n": 1 }] }),
        json!({ "k.d": { "s p": 1, "": 2, "é": 3, "\"q\"": 4 } }),
        json!({ "mixed": [1, "a", 2.5, true, [1, 2], { "x": 1 }] }),
        json!({ "inline": [{ "a": null }, { "a": 1, "b": null }] }),
        json!({ "deep": { "deeper": { "deepest": { "list": [{ "k": "v" }] } } } }),
    ]);
    values
}

#[test]
fn helm_agrees_on_enumerated_tricky_values() {
    let Some(oracle) = oracle() else { return };
    let values = tricky_values();
    let differences: Vec<String> = values
        .iter()
        .filter_map(|v| compare(oracle, v).err())
        .collect();
    eprintln!(
        "goyaml: {} enumerated values, {} differences from Helm",
        values.len(),
        differences.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Pieces of strings, each one a case of some rule.
const PIECES: &[&str] = &[
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "\r",
    "\"",
    "'",
    "\\",
    ": ",
    ":",
    " #",
    "#",
    "-",
    "- ",
    "?",
    "? ",
    ",",
    "[",
    "]",
    "{",
    "}",
    "&",
    "*",
    "!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "~",
    "---",
    "...",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "null",
    "true",
    "0755",
    "1e3",
    ".5",
    "0x1F",
    "1_000",
    "12:30",
    "0",
    "1",
    "-1",
    "+",
    "2001-12-14",
    "T21:59:43",
    "Z",
    "é",
    "日本",
    "😀",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{feff}",
    "\u{a0}",
    "\u{200b}",
    "\u{0}",
    "\u{1b}",
    "\u{7f}",
    "\u{9f}",
    "\u{fffe}",
    "word",
    "a",
    "b",
    "lorem ipsum dolor",
    "<<",
    "=",
];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(PIECES).prop_map(str::to_string),
        2 => "[a-z]{1,12}",
        1 => "[ -~]{1,6}",
        1 => any::<char>().prop_map(String::from),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(piece(), 0..6).prop_map(|p| p.concat()),
        1 => prop::collection::vec(piece(), 20..60).prop_map(|p| p.concat()),
        1 => ("[a-z]{1,10}", 1..30usize, " {1,2}").prop_map(|(w, n, sep)| vec![w; n].join(&sep)),
        1 => "[a-z]{70,140}",
        1 => prop::sample::select(PIECES).prop_map(str::to_string),
    ]
}

/// Keys: any string, or short ones of letters, digits and punctuation that sort "naturally".
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => string(),
        1 => "[a-cA0-2٣_. -]{0,5}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |x| Number::from_f64(x).map(Value::Number)),
        (-1e7f64..1e7).prop_map(|x| f((x * 4.0).round() / 4.0)),
        (-25i32..25, 1u32..10).prop_map(|(e, m)| f(f64::from(m) * 10f64.powi(e))),
        prop::sample::select(vec![0.0, -0.0, 1e21, 1e20, 1e-6, 1e-7, 9.3e18, 1.9e19]).prop_map(f),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        6 => string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// How many generated values the differential test runs (GOYAML_ORACLE_CASES overrides).
fn generated_cases() -> u32 {
    std::env::var("GOYAML_ORACLE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500)
}

#[test]
fn helm_agrees_on_generated_values() {
    let Some(oracle) = oracle() else { return };
    let before = CASES.load(Ordering::Relaxed);
    let random_before = RANDOM_IN_HELM.load(Ordering::Relaxed);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: generated_cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&value(), |v| {
        compare(oracle, &v).map_err(TestCaseError::fail)
    });
    eprintln!(
        "goyaml: {} generated values compared with Helm (toYaml, toYamlPretty, toToml); in {} \
         of them Helm's YAML key order is random (keys go-yaml does not order), only toToml \
         and the other YAML function were compared",
        CASES.load(Ordering::Relaxed) - before,
        RANDOM_IN_HELM.load(Ordering::Relaxed) - random_before
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn a_megabyte_of_values_emits_in_linear_time() {
    let item = |i: usize| {
        json!({
            "name": format!("item-{i}"),
            "labels": { "app": "web", "tier": format!("t{}", i % 7), "yes": "no" },
            "command": ["sh", "-c", "echo hello world && sleep 10 # not a comment"],
            "script": "line one\nline two\n  indented\n",
            "replicas": i, "ratio": 0.25 * i as f64,
        })
    };
    let small = Value::Array((0..200).map(item).collect());
    let big = Value::Array((0..5000).map(item).collect());
    // The fastest of a few runs, so that another process taking the CPU does not count.
    let time = |v: &Value, runs: usize| {
        let wrapped = json!({ "v": v });
        (0..runs)
            .map(|_| {
                let start = std::time::Instant::now();
                let n = to_yaml(v).len()
                    + to_yaml_pretty(v).len()
                    + to_toml(&wrapped).map_or(0, |s| s.len());
                (start.elapsed(), n)
            })
            .min()
            .unwrap_or_default()
    };
    let (t_small, n_small) = time(&small, 5);
    let (t_big, n_big) = time(&big, 2);
    assert!(n_big > 1_000_000, "{n_big} bytes");
    eprintln!("goyaml: {n_small} bytes in {t_small:?}, {n_big} bytes in {t_big:?}");
    // 25 times the input: linear costs about 25 times the time (more with cache misses),
    // quadratic 625 times.
    assert!(
        t_big < t_small * 200,
        "{t_small:?} for {n_small} bytes but {t_big:?} for {n_big}"
    );
}

#[test]
fn nesting_beyond_go_yamls_reader_fails_without_overflowing_the_stack() {
    let mut v = Value::Null;
    for _ in 0..10_001 {
        v = Value::Array(vec![v]);
    }
    assert_eq!(try_to_yaml(&v), Err(YamlError::TooDeep));
    assert!(to_yaml_pretty(&v).starts_with("- - - "));
    // serde_json drops values recursively: unwind it by hand.
    while let Value::Array(mut items) = v {
        v = items.pop().unwrap_or(Value::Null);
    }
}
