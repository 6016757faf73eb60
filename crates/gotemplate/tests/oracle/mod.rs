//! The Helm oracle (scripts/helm-oracle) as the tests talk to it: one long-running Go process
//! per test binary, one JSON request per line. When it cannot be built (no Go), `Oracle::get`
//! says so on stderr and tests skip, except under CI (which has Go), where they fail.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use gotemplate::{FuncMap, MissingKey, Options, TemplateSet, Value};
use serde_json::json;

pub struct Oracle {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

static ORACLE: OnceLock<Option<Mutex<Oracle>>> = OnceLock::new();

fn binary() -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var("CHARTER_HELM_ORACLE") {
        return Ok(PathBuf::from(p));
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/helm-oracle");
    let out = Command::new(&script)
        .arg("path")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} path failed", script.display()));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

impl Oracle {
    /// The shared oracle, or None (after saying why on stderr) when it is not available.
    pub fn get(test: &str) -> Option<MutexGuard<'static, Oracle>> {
        let cell = ORACLE.get_or_init(|| {
            match binary().and_then(|path| {
                let mut child = Command::new(&path)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| format!("cannot start {}: {e}", path.display()))?;
                let stdin = child.stdin.take().ok_or("no stdin")?;
                let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
                Ok(Oracle {
                    _child: child,
                    stdin,
                    stdout,
                })
            }) {
                Ok(o) => Some(Mutex::new(o)),
                Err(e) => {
                    eprintln!("helm oracle unavailable: {e}");
                    None
                }
            }
        });
        match cell {
            Some(m) => Some(m.lock().unwrap_or_else(|p| p.into_inner())),
            None => {
                eprintln!(
                    "SKIPPED {test}: the helm oracle is not available (needs Go; scripts/helm-oracle)"
                );
                None
            }
        }
    }

    pub fn request(&mut self, req: &serde_json::Value) -> serde_json::Value {
        let line = serde_json::to_string(req).expect("a request serializes");
        writeln!(self.stdin, "{line}").expect("the oracle reads its stdin");
        self.stdin.flush().expect("the oracle reads its stdin");
        let mut resp = String::new();
        self.stdout
            .read_line(&mut resp)
            .expect("the oracle answers");
        serde_json::from_str(&resp).unwrap_or_else(|e| panic!("oracle answered {resp:?}: {e}"))
    }
}

/// One differential case: templates parsed in order into one set, `execute` run by name with
/// `data` as dot.
#[derive(Clone, Debug)]
pub struct Case {
    pub templates: Vec<(String, String)>,
    pub execute: Vec<String>,
    pub data: serde_json::Value,
    pub missing_key: MissingKey,
    /// Integral numbers in data as int64 (Helm's --set) instead of float64.
    pub ints: bool,
}

impl Case {
    /// One template "t" executed with `data`.
    pub fn one(text: &str, data: serde_json::Value) -> Case {
        Case {
            templates: vec![("t".into(), text.into())],
            execute: vec!["t".into()],
            data,
            missing_key: MissingKey::Default,
            ints: false,
        }
    }
}

/// What one side produced: a parse error, or per executed template its output or error.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    ParseError(String),
    Results(Vec<Result<String, String>>),
}

fn missing_key_name(m: MissingKey) -> &'static str {
    match m {
        MissingKey::Default => "default",
        MissingKey::Zero => "zero",
        MissingKey::Error => "error",
    }
}

/// Go's outcome with only the built-ins.
pub fn go(oracle: &mut Oracle, case: &Case) -> Outcome {
    go_with(oracle, case, "none")
}

/// Go's outcome with `funcs`: "none" (built-ins only) or "sprig" (Sprig's map, as Helm has it).
pub fn go_with(oracle: &mut Oracle, case: &Case, funcs: &str) -> Outcome {
    let req = json!({
        "mode": "text",
        "templates": case.templates.iter().map(|(n, t)| json!({"name": n, "text": t})).collect::<Vec<_>>(),
        "execute": case.execute,
        "data": case.data,
        "missingkey": missing_key_name(case.missing_key),
        "ints": case.ints,
        "funcs": funcs,
    });
    let resp = oracle.request(&req);
    if let Some(e) = resp.get("parse_error").and_then(|e| e.as_str()) {
        return Outcome::ParseError(e.to_string());
    }
    if let Some(e) = resp.get("error").and_then(|e| e.as_str()) {
        panic!("oracle failed on {case:?}: {e}");
    }
    let results = resp
        .get("results")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    Outcome::Results(
        results
            .iter()
            .map(|r| match r.get("error").and_then(|e| e.as_str()) {
                Some(e) => Err(e.to_string()),
                None => Ok(r
                    .get("output")
                    .and_then(|o| o.as_str())
                    .unwrap_or_default()
                    .to_string()),
            })
            .collect(),
    )
}

pub fn rust(case: &Case, funcs: &FuncMap) -> Outcome {
    let mut set = TemplateSet::new("oracle-root", funcs.clone());
    set.set_options(Options {
        missing_key: case.missing_key,
        ..Options::default()
    });
    for (name, text) in &case.templates {
        if let Err(e) = set.parse(name, text) {
            return Outcome::ParseError(e.to_string());
        }
    }
    let data = if case.ints {
        Value::from_json_ints(&case.data)
    } else {
        Value::from_json(&case.data)
    };
    Outcome::Results(
        case.execute
            .iter()
            .map(|name| set.execute(name, &data).map_err(|e| e.to_string()))
            .collect(),
    )
}

/// Runs every case through both; returns the cases that differ, with both outcomes.
pub fn compare(
    oracle: &mut Oracle,
    cases: &[Case],
    funcs: &FuncMap,
) -> Vec<(Case, Outcome, Outcome)> {
    let mut diffs = Vec::new();
    for case in cases {
        let want = go(oracle, case);
        let got = rust(case, funcs);
        if want != got {
            diffs.push((case.clone(), want, got));
        }
    }
    diffs
}

pub fn report(diffs: &[(Case, Outcome, Outcome)]) -> String {
    let mut s = String::new();
    for (case, want, got) in diffs {
        s.push_str(&format!(
            "--- templates {:?} data {} missingkey {:?} ints {}\n    go:   {:?}\n    rust: {:?}\n",
            case.templates, case.data, case.missing_key, case.ints, want, got
        ));
    }
    s
}
