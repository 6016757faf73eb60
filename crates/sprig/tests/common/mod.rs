//! What the Sprig differential tests share: the Helm oracle (the gotemplate crate's own test
//! module, included rather than copied), the data every case sees, and batch comparison.

#![allow(dead_code)]

#[path = "../../../gotemplate/tests/oracle/mod.rs"]
pub mod oracle;

use gotemplate::{FuncMap, MissingKey};
use oracle::{Case, Oracle, Outcome};
use serde_json::json;

/// Sprig as Helm has it.
pub fn funcs() -> FuncMap {
    sprig::helm_funcs()
}

/// The data every case sees as dot: values-file kinds (numbers are float64).
pub fn data() -> serde_json::Value {
    json!({
        "f": 1.5, "n": 3, "neg": -2.7, "big": 1000000, "zero": 0, "huge": 1e300,
        "s": "Hello World", "e": "", "b": true, "nb": false, "nil": null,
        "list": [1, "a", null, 2.5, true, [], {}],
        "strs": ["b", "a", "c", "a"],
        "empty": [], "emptymap": {},
        "map": {"a": 1, "b": {"c": "d", "e": [1, 2]}, "z": null, "f": false},
        "other": {"a": 2, "b": {"c": "x", "g": 1}, "z": "set", "f": true, "new": [3]},
        "html": "<a href=\"x\">&</a>",
        "unicode": "héllo wörld ß ǆ ΐ",
    })
}

/// The template of one expression: its Go type and its `%v`, as one line.
pub fn typed(expr: &str) -> String {
    format!("{{{{- $r := {expr} -}}}}{{{{ printf \"%T|%v\" $r $r }}}}")
}

/// Runs `templates` (each its own template) through Go and Rust in batches; returns the
/// differences as readable lines, and how many cases ran.
pub fn compare_all(templates: &[String]) -> Option<(usize, Vec<String>)> {
    compare_explained(templates, |_, _, _| None).map(|(n, d, _)| (n, d))
}

/// Why a difference is expected (a limit of the value model), if it is one.
pub type Explain =
    fn(&str, &Result<String, String>, &Result<String, String>) -> Option<&'static str>;

/// As `compare_all`, setting apart the differences `explain` accounts for (returned third,
/// with the reason).
pub fn compare_explained(
    templates: &[String],
    explain: Explain,
) -> Option<(usize, Vec<String>, Vec<String>)> {
    let mut oracle = Oracle::get("sprig differential")?;
    let funcs = funcs();
    let mut diffs = Vec::new();
    let mut explained = Vec::new();
    for chunk in templates.chunks(200) {
        let case = Case {
            templates: chunk
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("c{i}"), t.clone()))
                .collect(),
            execute: (0..chunk.len()).map(|i| format!("c{i}")).collect(),
            data: data(),
            missing_key: MissingKey::Default,
            ints: false,
        };
        let want = oracle::go_with(&mut oracle, &case, "sprig");
        let got = oracle::rust(&case, &funcs);
        match (want, got) {
            (Outcome::Results(w), Outcome::Results(g)) => {
                for (i, (w, g)) in w.iter().zip(g.iter()).enumerate() {
                    if !same(w, g) {
                        let line = format!("{}\n    go:   {w:?}\n    rust: {g:?}", chunk[i]);
                        match explain(&chunk[i], w, g) {
                            Some(why) => explained.push(format!("{line}\n    because {why}")),
                            None => diffs.push(line),
                        }
                    }
                }
            }
            (w, g) => {
                // A parse error fails the whole batch: find the template that causes it.
                if w != g {
                    for t in chunk {
                        let one = Case::one(t, data());
                        let w1 = oracle::go_with(&mut oracle, &one, "sprig");
                        let g1 = oracle::rust(&one, &funcs);
                        if w1 != g1 {
                            diffs.push(format!("{t}\n    go:   {w1:?}\n    rust: {g1:?}"));
                        }
                    }
                }
            }
        }
    }
    Some((templates.len(), diffs, explained))
}

/// Outputs agree, or both failed with the same message (the position prefixes, which name
/// the batch's template, compared too).
fn same(w: &Result<String, String>, g: &Result<String, String>) -> bool {
    w == g
}
