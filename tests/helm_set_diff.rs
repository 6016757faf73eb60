//! Differential test: the `--set` family, `-f` layering and chart-default coalescing, run
//! through the real Helm v4.1.4 and through charter, both as `template` on charts that print
//! `toJson .Values`. The results must be equal, and both must fail where Helm fails. Besides the
//! hand-written cases, generated combinations set the same keys with every kind of flag in
//! every order (Helm applies the kinds in a fixed order, not in command-line order).
//! `HELM_SET_CASES` sets the number of generated cases (default 120), `HELM_SET_SEED` replays a
//! run (each run prints its seed).
//!
//! Helm comes from `scripts/reference-tools`. Without it the test says "skipped: no helm" on
//! stderr and passes, unless `CI=true`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::root;

use serde_json::Value;

fn data() -> PathBuf {
    root().join("testdata/helm-set")
}

#[derive(Clone, Copy, PartialEq)]
enum Chart {
    /// No defaults, no subcharts.
    Empty,
    /// Defaults with nulls, globals and a subchart `sub`.
    Defaults,
}

struct Case {
    name: String,
    chart: Chart,
    /// (flag, argument): flag is `-f`, `--set`, `--set-string`, `--set-json`, `--set-file`,
    /// `--set-literal`. `-f` paths and `--set-file` values are relative to testdata/helm-set.
    flags: Vec<(&'static str, String)>,
}

fn case(name: &str, chart: Chart, flags: &[(&'static str, &str)]) -> Case {
    Case {
        name: name.to_string(),
        chart,
        flags: flags.iter().map(|(f, a)| (*f, a.to_string())).collect(),
    }
}

fn s(name: &'static str, args: &[&str]) -> Case {
    let flags: Vec<(&'static str, &str)> = args.iter().map(|a| ("--set", *a)).collect();
    case(name, Chart::Empty, &flags)
}

fn cases() -> Vec<Case> {
    use Chart::*;
    let deep30 = (0..31)
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(".")
        + "=1";
    let deep31 = (0..32)
        .map(|i| format!("k{i}"))
        .collect::<Vec<_>>()
        .join(".")
        + "=1";
    let mut v = vec![
        // --set: paths, lists, types
        s("simple", &["a=b"]),
        s("nested", &["a.b.c=1"]),
        s("two assignments", &["a=1,b=2"]),
        s(
            "type inference",
            &[
                "a=1.5,b=0123,c=True,d=NULL,e=-5,f=+5,g=1_000,h=00,i=0,j=-0,k=99999999999999999999,l=yes,m=,n=1e3,o=0x10,p=FALSE,q=-9223372036854775808",
            ],
        ),
        s("list index 0", &["list[0]=x"]),
        s("nil padding", &["list[2]=x"]),
        s("index then key", &["a[2].b=c"]),
        s("list literal", &["a={x,y,z}"]),
        s("empty list literal", &["a={}"]),
        s("typed list items", &["a={1,true,null,x}"]),
        s("list literal then more", &["a={x},b=2"]),
        s("escaped comma", &[r"a=x\,y"]),
        s("escaped dot", &[r"a\.b=1"]),
        s("escaped equals", &[r"a=x\=y"]),
        s("unescaped equals in value", &["a=x=y"]),
        s("escaped backslash", &[r"a=x\\y"]),
        s("backslash before plain char", &[r"a=x\y"]),
        s("escaped brackets", &[r"a\[0\]=1"]),
        s("null value", &["a=null"]),
        s("null replaces map", &["a.b=1", "a=null"]),
        s("nested lists", &["a[0][1]=x"]),
        s("lists in maps in lists", &["a[0].b[1].c=x"]),
        s("edit a list element", &["a={1,2,3}", "a[1]=x"]),
        s("two flags build a list", &["a[0]=1", "a[2]=3"]),
        s("scalar replaces map", &["a.b=y", "a=x"]),
        s("space in key", &["a b=1"]),
        s("spaces kept", &[" a = 1 "]),
        s("trailing comma", &["a=1,"]),
        s("empty key ignored", &["=1"]),
        s("leading dot ignored", &[".a=1"]),
        s("unterminated index ignored", &["a[0=1"]),
        s("index without value", &["a[0]"]),
        s("closing bracket in key", &["a]=1"]),
        s("30 levels", &[&deep30]),
        s("unicode", &["a=héllo ✓,ключ=значение"]),
        s("out of order indexes", &["a[1]=x,a[0]=y"]),
        s("last wins", &["a=true,a=false"]),
        s("large index", &["a[1000]=1"]),
        // --set errors
        s("error: no value", &["a"]),
        s("error: leading comma", &[",a=1"]),
        s("error: value with bare comma", &["a=b,c"]),
        s("error: trailing dot", &["a.=1"]),
        s("error: double dot", &["a..b=1"]),
        s("error: index too large", &["a[65537]=1"]),
        s("error: negative index", &["a[-1]=1"]),
        s("error: non-numeric index", &["a[x]=1"]),
        s("error: nested list literal", &["a={x,{y}}"]),
        s("error: unterminated list", &["a={x"]),
        s("error: data after index", &["a[0]b=1"]),
        s("error: key into string", &["a=x", "a.b=y"]),
        s("error: key into null", &["a=null", "a.b=1"]),
        s("error: index into string", &["a=x", "a[0]=y"]),
        s("error: 31 levels", &[&deep31]),
        // --set-string
        case(
            "set-string",
            Empty,
            &[("--set-string", "a=1,b=true,c={1,null},d=null")],
        ),
        case(
            "set-string nested",
            Empty,
            &[("--set-string", "a.b[1]=007")],
        ),
        // --set-json
        case(
            "json object",
            Empty,
            &[("--set-json", r#"a={"x":[1,2,{"y":null}],"s":"t"}"#)],
        ),
        case("json no delimiter", Empty, &[("--set-json", "a=1b=2")]),
        case(
            "json list and space",
            Empty,
            &[("--set-json", r#"a=[1,2] , b="x""#)],
        ),
        case("json empty is null", Empty, &[("--set-json", "a=")]),
        case("json empty then more", Empty, &[("--set-json", "a=,b=1")]),
        case(
            "json big int",
            Empty,
            &[("--set-json", "a=12345678901234567890")],
        ),
        case(
            "json into index",
            Empty,
            &[("--set-json", r#"a[1]={"b":null}"#)],
        ),
        case("json float", Empty, &[("--set-json", "a=1.5e3,b=-0.25")]),
        case("error: json invalid", Empty, &[("--set-json", "a=nul")]),
        case(
            "error: json trailing brace",
            Empty,
            &[("--set-json", r#"a={"x":1}}"#)],
        ),
        // --set-literal, --set-file
        case("literal", Empty, &[("--set-literal", r"a.b=x,y=z\,w")]),
        case("literal backslash", Empty, &[("--set-literal", r"a\.b=1")]),
        case(
            "error: literal without value",
            Empty,
            &[("--set-literal", "a")],
        ),
        case("set-file", Empty, &[("--set-file", "a.b=file.txt")]),
        case(
            "error: set-file missing",
            Empty,
            &[("--set-file", "a=does-not-exist.txt")],
        ),
        // kinds apply in Helm's fixed order (json, set, string, file, literal)
        case(
            "kind order json/set",
            Empty,
            &[("--set", "a=1"), ("--set-json", "a=2")],
        ),
        case(
            "kind order string/set",
            Empty,
            &[("--set-string", "a=1"), ("--set", "a=2")],
        ),
        case(
            "kind order literal/string",
            Empty,
            &[("--set-literal", "a=1"), ("--set-string", "a=2")],
        ),
        // -f layering, --set into file values, YAML scalars
        case("scalars file", Empty, &[("-f", "scalars.yaml")]),
        case("number-like scalars", Empty, &[("-f", "numbers.yaml")]),
        case(
            "error: control character in a file",
            Empty,
            &[("-f", "control.yaml")],
        ),
        case(
            "set edits a list from a file",
            Empty,
            &[("-f", "listbase.yaml"), ("--set", "list[1]=x")],
        ),
        case(
            "error: set key into file string",
            Empty,
            &[("-f", "listbase.yaml"), ("--set", "str.x=1")],
        ),
        case(
            "error: set key into file null",
            Empty,
            &[("-f", "listbase.yaml"), ("--set", "nul.x=1")],
        ),
        // coalescing with chart defaults (nulls delete), subchart and globals
        case("defaults only", Defaults, &[]),
        case("file nulls and lists", Defaults, &[("-f", "f1.yaml")]),
        case(
            "two files",
            Defaults,
            &[("-f", "f1.yaml"), ("-f", "f2.yaml")],
        ),
        case(
            "null deletes defaults",
            Defaults,
            &[(
                "--set",
                "keep=null,defnull=3,nested.dn=null,nested.a=null,nested.zz=null",
            )],
        ),
        case("scalar over table", Defaults, &[("--set", "nested.deep=5")]),
        case("table over scalar", Defaults, &[("--set", "keep.x=5")]),
        case(
            "null then json",
            Defaults,
            &[
                ("--set", "nested=null"),
                ("--set-json", r#"nested={"b":null,"k":1}"#),
            ],
        ),
        case(
            "set index into a chart-default list",
            Defaults,
            &[("--set", "list[1]=x")],
        ),
        case("list replaced", Defaults, &[("--set", "list={7}")]),
        case(
            "subchart values",
            Defaults,
            &[("--set", "sub.snull=5,sub.global.g1=user,sub.global.g4=user")],
        ),
        case(
            "subchart default deleted",
            Defaults,
            &[("--set", "sub.sa=null,sub.sb=null")],
        ),
        case(
            "globals from user",
            Defaults,
            &[("--set", "global.g1=x,global.gm.c=1,global.new=2")],
        ),
        case(
            "error: subchart section not a map",
            Defaults,
            &[("--set", "sub=5")],
        ),
        case(
            "sub-subchart values",
            Defaults,
            &[(
                "--set",
                "sub.subsub.ss=3,sub.subsub.ssnull=4,sub.subsub.sm.b=2",
            )],
        ),
        case(
            "sub-subchart null",
            Defaults,
            &[(
                "--set",
                "sub.subsub.ss=null,sub.snested.nn=null,sub.global.gm=null",
            )],
        ),
        case("global null", Defaults, &[("--set", "global=null")]),
        case(
            "global not a map (Helm warns)",
            Defaults,
            &[("--set", "global=5")],
        ),
        case("subchart from file", Defaults, &[("-f", "subvalues.yaml")]),
    ];
    v.extend([
        case(
            "kind order json/set on one key, several times",
            Empty,
            &[
                ("--set", "a.b=1"),
                ("--set-json", r#"a={"b":2,"c":3}"#),
                ("--set-string", "a.c=4"),
                ("--set-json", "a.d=5"),
            ],
        ),
        case(
            "json object form",
            Defaults,
            &[(
                "--set-json",
                r#"{"nested": {"a": 7, "x": null}, "list": [1]}"#,
            )],
        ),
        case(
            "file then json object then set",
            Defaults,
            &[
                ("--set", "keep=9"),
                ("--set-json", r#"{"keep": 8}"#),
                ("-f", "f1.yaml"),
            ],
        ),
        case(
            "literal beats file and string",
            Empty,
            &[
                ("--set-literal", "a=lit"),
                ("--set-file", "a=file.txt"),
                ("--set-string", "a=str"),
            ],
        ),
        case(
            "error: json object form invalid",
            Empty,
            &[("--set-json", r#"{"a": }"#)],
        ),
    ]);
    v.retain(|c| !c.name.is_empty());
    v
}

/// Numbers as f64 (Helm's float64), maps order-insensitive (serde_json's Map equality).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

fn chart_dir(c: Chart) -> PathBuf {
    match c {
        Chart::Empty => data().join("chart"),
        Chart::Defaults => data().join("chart-defaults"),
    }
}

fn run_helm(helm: &Path, c: &Case) -> Result<Value, String> {
    let mut cmd = Command::new(helm);
    cmd.current_dir(data())
        .arg("template")
        .arg("x")
        .arg(chart_dir(c.chart))
        .args(["--show-only", "templates/values.yaml"]);
    for (flag, arg) in &c.flags {
        cmd.arg(flag).arg(arg);
    }
    let out = cmd.output().map_err(|e| format!("cannot run helm: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("no JSON in helm output: {text}"))?;
    serde_json::from_str(line).map_err(|e| format!("helm printed invalid JSON ({e}): {line}"))
}

fn run_charter(c: &Case) -> Result<Value, String> {
    let args: Vec<String> = ["template", "x"]
        .iter()
        .map(|s| s.to_string())
        .chain([chart_dir(c.chart).display().to_string()])
        .chain([
            "--show-only".to_string(),
            "templates/values.yaml".to_string(),
        ])
        .chain(c.flags.iter().flat_map(|(f, a)| [f.to_string(), a.clone()]))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = support::charter().cwd(&data()).run(&args);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("no JSON in charter's output: {text}"))?;
    serde_json::from_str(line).map_err(|e| format!("charter printed invalid JSON ({e}): {line}"))
}

/// A small deterministic generator (splitmix64), so that a seed replays a run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Combinations of flag kinds on overlapping keys, with `-f` files written to `dir`.
fn generated(n: usize, seed: u64, dir: &Path) -> Vec<Case> {
    let mut rng = Rng(seed);
    let keys = [
        "a", "a.b", "a.c", "list[0]", "list[1]", "m.x.y", "global.g", "sub.sa", "keep",
    ];
    let scalars = ["1", "x", "true", "null", "007", "1.5", "", "{p,q}"];
    let json = [
        "1",
        "\"s\"",
        "null",
        "[1,2]",
        "{\"z\":null,\"w\":2}",
        "true",
        "1e3",
    ];
    let mut out = Vec::new();
    for i in 0..n {
        let chart = if rng.next().is_multiple_of(2) {
            Chart::Empty
        } else {
            Chart::Defaults
        };
        let count = 2 + (rng.next() % 4) as usize;
        let mut flags = Vec::new();
        for j in 0..count {
            let key = *rng.pick(&keys);
            let flag = *rng.pick(&[
                "--set",
                "--set-string",
                "--set-json",
                "--set-literal",
                "--set-file",
                "-f",
                "--set-json-object",
            ]);
            let arg = match flag {
                "--set-json" => format!("{key}={}", rng.pick(&json)),
                "--set-file" => format!("{key}=file.txt"),
                "--set-json-object" => {
                    let k = key.split(['.', '[']).next().unwrap_or(key);
                    format!("{{\"{k}\": {}}}", rng.pick(&json))
                }
                "-f" => {
                    let file = dir.join(format!("g{i}-{j}.yaml"));
                    let k = key.split(['.', '[']).next().unwrap_or(key);
                    let v = rng.pick(&scalars);
                    let body = match rng.next() % 3 {
                        0 => format!("{k}: {v}\n"),
                        1 => format!("{k}:\n  b: {v}\n  n: null\n"),
                        _ => format!("{k}:\n- {v}\n- 2\n"),
                    };
                    std::fs::write(&file, body).expect("write a values file");
                    file.display().to_string()
                }
                _ => format!("{key}={}", rng.pick(&scalars)),
            };
            let flag = if flag == "--set-json-object" {
                "--set-json"
            } else {
                flag
            };
            flags.push((flag, arg));
        }
        out.push(Case {
            name: format!("generated {i} (seed {seed})"),
            chart,
            flags,
        });
    }
    out
}

/// A run's values, or its error message.
type Outcome = Result<Value, String>;

/// Runs every case through Helm (four at a time) and charter; the differences.
fn compare_with_helm(helm: &Path, cases: &[Case], exact_errors: bool) -> Vec<String> {
    let results: Vec<(usize, Outcome, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                scope.spawn(move || {
                    cases
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % 4 == t)
                        .map(|(i, c)| (i, run_helm(helm, c), run_charter(c)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut failures = Vec::new();
    for (i, h, ours) in results {
        let c = &cases[i];
        let expect_error = c.name.starts_with("error:");
        match (&h, &ours) {
            (Ok(hv), Ok(ov))
                if normalize(hv) == normalize(ov) && !(exact_errors && expect_error) => {}
            (Err(_), Err(_)) if expect_error || !exact_errors => {}
            _ => failures.push(format!(
                "{}: flags {:?}\n    helm:    {:?}\n    charter: {:?}",
                c.name, c.flags, h, ours
            )),
        }
    }
    failures
}

#[test]
fn set_and_merge_semantics_match_helm() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let cases = cases();
    assert!(cases.len() >= 40);
    let failures = compare_with_helm(&helm, &cases, true);
    support::say(&format!("{} cases compared with helm", cases.len()));
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Helm:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The same keys set by `-f` files and every kind of `--set` flag, in random orders.
#[test]
fn generated_flag_combinations_match_helm() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let n = std::env::var("HELM_SET_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let seed = std::env::var("HELM_SET_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cases = generated(n, seed, dir.path());
    let failures = compare_with_helm(&helm, &cases, false);
    support::say(&format!(
        "{n} generated flag combinations compared with helm (HELM_SET_SEED={seed})"
    ));
    assert!(
        failures.is_empty(),
        "{} of {n} generated cases differ from Helm (replay with HELM_SET_SEED={seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Strings that `to_yaml` writes must read back unchanged through Helm's own YAML reader
/// (YAML 1.1 rules: `yes`, `on`, `0755`, `1e3`, ... must be quoted), as values and as keys.
#[test]
fn to_yaml_output_reads_back_in_helm() {
    let Some(helm) = support::helm(support::test_name!()) else {
        return;
    };
    let tricky = [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "Y",
        "N",
        "Yes",
        "NO",
        "On",
        "OFF",
        "true",
        "False",
        "null",
        "Null",
        "~",
        "",
        "0755",
        "0o17",
        "1e3",
        "0x1F",
        "0b101",
        "1_000",
        ".5",
        "+12",
        "-1",
        "1.5",
        ".inf",
        "-.inf",
        ".nan",
        "12:30",
        "190:20:30",
        "2001-12-14",
        "2001-12-14T21:59:43.10-05:00",
        " lead",
        "trail ",
        "a: b",
        "a #b",
        "- a",
        "-",
        "?",
        ":",
        ",a",
        "[a",
        "]",
        "{a",
        "}",
        "#a",
        "&a",
        "*a",
        "!a",
        "|",
        ">",
        "'a",
        "\"a",
        "%a",
        "@a",
        "`a",
        "a\nb",
        "a\nb\n",
        "line1\n  indented\n",
        "a\tb",
        "=",
        "<<",
        "---",
        "...",
        "x: y: z",
        "1.2.3",
        "v1.2",
        "-x",
        "a:b",
        "http://x.y/z",
        "héllo ✓",
        "\\",
        "\\n",
        "0.1_0",
        "._5",
        ".1_0",
        "nO",
        "Nil",
        "1:2",
    ];
    let mut obj = serde_json::Map::new();
    let mut list = Vec::new();
    for (i, t) in tricky.iter().enumerate() {
        obj.insert(format!("v{i}"), Value::String(t.to_string()));
        list.push(Value::String(t.to_string()));
    }
    let mut keys = serde_json::Map::new();
    for (i, t) in tricky.iter().enumerate() {
        if !t.is_empty() {
            keys.insert(t.to_string(), Value::from(i));
        }
    }
    obj.insert("list".to_string(), Value::Array(list));
    obj.insert("keys".to_string(), Value::Object(keys));
    let expected = Value::Object(obj);
    let text = charter::yaml::to_yaml(&expected);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tricky.yaml");
    std::fs::write(&file, &text).unwrap();
    let c = Case {
        name: "to_yaml round trip".to_string(),
        chart: Chart::Empty,
        flags: vec![("-f", file.display().to_string())],
    };
    let got = run_helm(&helm, &c).unwrap_or_else(|e| panic!("helm failed: {e}\n{text}"));
    assert_eq!(normalize(&got), normalize(&expected), "emitted:\n{text}");
}
