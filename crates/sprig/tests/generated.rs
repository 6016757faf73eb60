//! Generated differential test: proptest draws calls of Sprig's deterministic functions with
//! argument values of the parameter types (and sometimes of the wrong type), renders each as
//! `TYPE|VALUE` through Go (the Helm oracle running Sprig v3.3.0) and through charter, and
//! compares. `SPRIG_CASES` sets how many (default 3000), `SPRIG_SEED` (0-255) which.

mod common;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// What a parameter takes.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Str,
    Int,
    /// A small int: a count Go allocates for (a huge one ends the Go process).
    Count,
    /// Unix seconds within years ±9999 (beyond them Go's time arithmetic wraps, charter's
    /// refuses: a known difference).
    Unix,
    Any,
    List,
    Map,
    Regex,
    Version,
    Constraint,
    Layout,
    Json,
    Bool,
}

use Kind::*;

/// The deterministic functions and their parameters (variadic ones with a few arities).
const FUNCS: &[(&str, &[Kind])] = &[
    ("trim", &[Str]),
    ("upper", &[Str]),
    ("lower", &[Str]),
    ("title", &[Str]),
    ("untitle", &[Str]),
    ("substr", &[Int, Int, Str]),
    ("repeat", &[Count, Str]),
    ("trimAll", &[Str, Str]),
    ("trimSuffix", &[Str, Str]),
    ("trimPrefix", &[Str, Str]),
    ("nospace", &[Str]),
    ("initials", &[Str]),
    ("swapcase", &[Str]),
    ("snakecase", &[Str]),
    ("kebabcase", &[Str]),
    ("camelcase", &[Str]),
    ("wrap", &[Int, Str]),
    ("wrapWith", &[Int, Str, Str]),
    ("contains", &[Str, Str]),
    ("hasPrefix", &[Str, Str]),
    ("hasSuffix", &[Str, Str]),
    ("quote", &[Any, Any]),
    ("squote", &[Any]),
    ("cat", &[Any, Any, Any]),
    ("indent", &[Count, Str]),
    ("nindent", &[Count, Str]),
    ("replace", &[Str, Str, Str]),
    ("plural", &[Str, Str, Int]),
    ("abbrev", &[Int, Str]),
    ("abbrevboth", &[Int, Int, Str]),
    ("trunc", &[Int, Str]),
    ("split", &[Str, Str]),
    ("splitn", &[Str, Int, Str]),
    ("splitList", &[Str, Str]),
    ("toStrings", &[Any]),
    ("join", &[Str, Any]),
    ("sortAlpha", &[Any]),
    ("atoi", &[Str]),
    ("int", &[Any]),
    ("int64", &[Any]),
    ("float64", &[Any]),
    ("toDecimal", &[Any]),
    ("toString", &[Any]),
    ("add", &[Any, Any]),
    ("add1", &[Any]),
    ("sub", &[Any, Any]),
    ("div", &[Any, Any]),
    ("mod", &[Any, Any]),
    ("mul", &[Any, Any, Any]),
    ("add1f", &[Any]),
    ("addf", &[Any, Any]),
    ("subf", &[Any, Any]),
    ("mulf", &[Any, Any]),
    ("divf", &[Any, Any]),
    ("max", &[Any, Any]),
    ("min", &[Any, Any, Any]),
    ("maxf", &[Any, Any]),
    ("minf", &[Any, Any]),
    ("ceil", &[Any]),
    ("floor", &[Any]),
    ("round", &[Any, Int]),
    ("until", &[Count]),
    ("untilStep", &[Count, Count, Count]),
    ("seq", &[Count, Count]),
    ("seq", &[Count, Count, Count]),
    ("list", &[Any, Any]),
    ("append", &[Any, Any]),
    ("prepend", &[Any, Any]),
    ("first", &[Any]),
    ("last", &[Any]),
    ("rest", &[Any]),
    ("initial", &[Any]),
    ("reverse", &[Any]),
    ("compact", &[Any]),
    ("uniq", &[Any]),
    ("without", &[Any, Any]),
    ("has", &[Any, Any]),
    ("slice", &[Any, Any, Any]),
    ("concat", &[List, Any]),
    ("chunk", &[Count, Any]),
    ("dict", &[Any, Any, Any]),
    ("get", &[Map, Str]),
    ("hasKey", &[Map, Str]),
    ("pluck", &[Str, Map, Map]),
    ("pick", &[Map, Str, Str]),
    ("omit", &[Map, Str]),
    ("merge", &[Map, Map]),
    ("mergeOverwrite", &[Map, Map, Map]),
    ("dig", &[Str, Str, Any, Map]),
    ("deepCopy", &[Any]),
    ("default", &[Any, Any]),
    ("empty", &[Any]),
    ("coalesce", &[Any, Any, Any]),
    ("all", &[Any, Any]),
    ("any", &[Any, Any]),
    ("ternary", &[Any, Any, Bool]),
    ("fromJson", &[Json]),
    ("mustFromJson", &[Json]),
    ("toJson", &[Any]),
    ("toPrettyJson", &[Any]),
    ("toRawJson", &[Any]),
    ("b64enc", &[Str]),
    ("b64dec", &[Str]),
    ("b32enc", &[Str]),
    ("b32dec", &[Str]),
    ("regexMatch", &[Regex, Str]),
    ("mustRegexMatch", &[Regex, Str]),
    ("regexFindAll", &[Regex, Str, Int]),
    ("regexFind", &[Regex, Str]),
    ("regexReplaceAll", &[Regex, Str, Str]),
    ("regexReplaceAllLiteral", &[Regex, Str, Str]),
    ("regexSplit", &[Regex, Str, Int]),
    ("regexQuoteMeta", &[Str]),
    ("semver", &[Version]),
    ("semverCompare", &[Constraint, Version]),
    ("dateInZone", &[Layout, Unix, Str]),
    ("date", &[Layout, Unix]),
    ("htmlDateInZone", &[Unix, Str]),
    ("duration", &[Any]),
    ("durationRound", &[Str]),
    ("sha256sum", &[Str]),
    ("adler32sum", &[Str]),
    ("base", &[Str]),
    ("dir", &[Str]),
    ("clean", &[Str]),
    ("ext", &[Str]),
    ("isAbs", &[Str]),
    ("urlParse", &[Str]),
    ("typeOf", &[Any]),
    ("kindOf", &[Any]),
    ("typeIs", &[Str, Any]),
    ("deepEqual", &[Any, Any]),
];

/// A Go string literal of `s`: Rust's debug form, with its `\u{e9}` escapes (used only for
/// control characters here) in Go's `\U000000e9` form.
fn quoted(s: &str) -> String {
    let debug = format!("{s:?}");
    let mut out = String::new();
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("\\u{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let end = after.find('}').unwrap_or(after.len());
        let code = u32::from_str_radix(&after[..end], 16).unwrap_or(0xFFFD);
        out.push_str(&format!("\\U{code:08x}"));
        rest = &after[(end + 1).min(after.len())..];
    }
    out.push_str(rest);
    out
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 _.,:/$-]{0,12}",
        2 => prop::sample::select(vec![
            "", " ", "Hello World", "hello_world", "HTTPServer", "x-y z", "a,b,,c", "  pad  ",
            "héllo wörld", "ß ǆ İ", "line1\nline2", "tab\there", "0x1F", "010", "1_000", "-7",
            "12.00", "1e3", "inf", "NaN", "aGVsbG8=", "NBSWY3DP", "/a/b/../c.txt", "a.b.c",
            "http://u:p@h:8/p?q#f", "1.2.3", "v1.2", "[x]", "$1", "${1}x", "a$$b",
        ]).prop_map(str::to_string),
        1 => "[a-zé_ \\-]{0,6}",
    ]
    .boxed()
}

fn int_lit() -> BoxedStrategy<String> {
    prop_oneof![
        4 => (-3i64..12).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["0", "-1", "100", "9223372036854775807", "-9223372036854775808"])
            .prop_map(str::to_string),
    ]
    .boxed()
}

fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        3 => text().prop_map(|s| quoted(&s)),
        2 => int_lit(),
        1 => prop::sample::select(vec![
            "1.5", "-2.5", "0.1", "1e6", "1e21", "0.0", "true", "false", "nil", ".f", ".n",
            ".neg", ".big", ".zero", ".huge", ".s", ".e", ".b", ".nil", "(float64 \"nan\")",
        ]).prop_map(str::to_string),
    ]
    .boxed()
}

fn any_value() -> BoxedStrategy<String> {
    let leaf = scalar();
    prop_oneof![
        4 => leaf.clone(),
        1 => prop::sample::select(vec![".list", ".strs", ".map", ".other", ".empty", ".emptymap", "(until 3)", "(splitList \",\" \"b,a\")"])
            .prop_map(str::to_string),
        1 => prop::collection::vec(leaf.clone(), 0..4).prop_map(|v| format!("(list {})", v.join(" "))),
        1 => prop::collection::vec((text(), leaf), 0..3).prop_map(|v| {
            let parts: Vec<String> = v.iter().map(|(k, x)| format!("{} {x}", quoted(k))).collect();
            format!("(dict {})", parts.join(" "))
        }),
    ]
    .boxed()
}

fn map_value() -> BoxedStrategy<String> {
    prop_oneof![
        2 => prop::sample::select(vec![".map", ".other", ".emptymap", "(deepCopy .map)", "(deepCopy .other)"])
            .prop_map(str::to_string),
        1 => prop::collection::vec((prop::sample::select(vec!["a", "b", "z", "f", "new"]), scalar()), 0..4)
            .prop_map(|v| {
                let parts: Vec<String> = v.iter().map(|(k, x)| format!("{k:?} {x}")).collect();
                format!("(dict {})", parts.join(" "))
            }),
    ]
    .boxed()
}

fn pieces(options: Vec<&'static str>, max: usize) -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(options), 0..max)
        .prop_map(|v| v.concat())
        .boxed()
}

fn arg(kind: Kind) -> BoxedStrategy<String> {
    let typed = match kind {
        Str => text().prop_map(|s| quoted(&s)).boxed(),
        Int => int_lit(),
        Count => (-3i64..12).prop_map(|n| n.to_string()).boxed(),
        Unix => prop_oneof![
            (-10_000_000_000i64..10_000_000_000).prop_map(|n| n.to_string()),
            prop::sample::select(vec!["0", "-1", "86399", "1700000000", "951782400"])
                .prop_map(str::to_string),
        ]
        .boxed(),
        Any => any_value(),
        List => prop::sample::select(vec![".list", ".strs", "(list 1 2)", "(list)", "(until 2)"])
            .prop_map(str::to_string)
            .boxed(),
        Map => map_value(),
        Bool => prop::sample::select(vec!["true", "false"])
            .prop_map(str::to_string)
            .boxed(),
        Regex => pieces(
            vec![
                "a", "b", ".", "*", "+", "?", "\\d", "\\w", "\\s", "[a-c]", "[^b]", "(", ")", "|",
                "^", "$", "x{1,2}", "(?i)", "\\b", "é",
            ],
            6,
        )
        .prop_map(|s| quoted(&s))
        .boxed(),
        Version => pieces(
            vec!["v", "1", "0", ".", "2", "-", "rc", "+", "b", "x", "01"],
            7,
        )
        .prop_map(|s| quoted(&s))
        .boxed(),
        Constraint => pieces(
            vec![
                ">", "<", "=", "~", "^", "!", "1", "2", ".", "x", "*", " ", ",", "||", " - ", "-0",
                "3",
            ],
            7,
        )
        .prop_map(|s| quoted(&s))
        .boxed(),
        Layout => pieces(
            vec![
                "2006", "06", "01", "1", "Jan", "January", "02", "_2", "2", "15", "3", "03", "04",
                "05", "PM", "pm", "MST", "-0700", "Z07:00", ".000", ".999", "Mon", "Monday", "002",
                " ", "-", ":", "x",
            ],
            6,
        )
        .prop_map(|s| quoted(&s))
        .boxed(),
        Json => pieces(
            vec![
                "{",
                "}",
                "[",
                "]",
                "\"a\"",
                ":",
                ",",
                "1",
                "2.5",
                "-",
                "e5",
                "true",
                "null",
                " ",
                "\"\\u00e9\"",
                "tru",
                ".",
            ],
            7,
        )
        .prop_map(|s| quoted(&s))
        .boxed(),
    };
    // Now and then a value of any kind, for the type errors (not for counts: a huge one
    // would end the Go process).
    match kind {
        Count | Unix => typed,
        _ => prop_oneof![9 => typed, 1 => scalar()].boxed(),
    }
}

fn call() -> BoxedStrategy<String> {
    (0..FUNCS.len())
        .prop_flat_map(|i| {
            let (name, kinds) = FUNCS[i];
            let args: Vec<BoxedStrategy<String>> = kinds.iter().map(|k| arg(*k)).collect();
            args.prop_map(move |a| format!("{name} {}", a.join(" ")))
        })
        .boxed()
}

/// The differences that come from the value model, not from a function.
fn explain(
    template: &str,
    go: &Result<String, String>,
    rust: &Result<String, String>,
) -> Option<&'static str> {
    let slicing_past_len = template.contains(":= slice ")
        && go.is_ok()
        && rust
            .as_ref()
            .is_err_and(|e| e.ends_with("reflect.Value.Slice: slice index out of bounds"));
    slicing_past_len.then_some(
        "Go slices up to a list's capacity, beyond its length (showing zero values); lists \
         here have no spare capacity",
    )
}

#[test]
fn generated_calls_agree_with_go() {
    let n: usize = std::env::var("SPRIG_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed: u8 = std::env::var("SPRIG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    );
    let strategy = call();
    let templates: Vec<String> = (0..n)
        .map(|_| common::typed(&strategy.new_tree(&mut runner).expect("a case").current()))
        .collect();
    let Some((ran, diffs, explained)) = common::compare_explained(&templates, explain) else {
        return;
    };
    eprintln!(
        "generated: {ran} cases through Go and Rust, {} differ, {} more differ as explained",
        diffs.len(),
        explained.len()
    );
    for e in &explained {
        eprintln!("{e}");
    }
    assert!(
        diffs.is_empty(),
        "{} of {ran} differ:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
