//! Go templates (crates/gotemplate): parsing and executing any text never panics, overflows the
//! stack or hangs, and every error displays.
//!
//! Templates that are slow in Go too are skipped: long numbers (`range 100000000`) and more
//! than a few template calls (each may call the next twice: exponential work).
#![no_main]
use gotemplate::{
    CallCtx, FuncError, FuncMap, MissingKey, Options, Param, Signature, TemplateSet, Value,
};
use libfuzzer_sys::fuzz_target;

const DATA: &str = r#"{"a": 1, "b": [1, "x", null, {"c": true}], "m": {"k": "v", "n": null},
  "s": "héllo", "f": 1e6, "z": 0, "e": [], "t": "{{ .a }}"}"#;

fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    // Helm's include and tpl, bounded as Helm bounds include.
    f.insert(
        "include",
        Signature::new(&[Param::String, Param::Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            if ctx.depth() > 50 {
                return Err(FuncError::new("too deep"));
            }
            let name = a[0].as_str().unwrap_or_default().to_string();
            Ok(Value::from(ctx.execute_template(&name, a[1].clone())?))
        },
    );
    f.insert(
        "tpl",
        Signature::new(&[Param::String, Param::Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            if ctx.depth() > 50 {
                return Err(FuncError::new("too deep"));
            }
            let text = a[0].as_str().unwrap_or_default().to_string();
            Ok(Value::from(ctx.execute_text("gotpl", &text, a[1].clone())?))
        },
    );
    f.insert("upper", Signature::new(&[Param::String]), |_, a| {
        Ok(Value::from(a[0].as_str().unwrap_or_default().to_uppercase()))
    });
    f
}

fn slow_in_go_too(text: &str) -> bool {
    let mut digits = 0;
    for c in text.chars() {
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
        if digits > 3 {
            return true;
        }
    }
    text.matches("template").count() + text.matches("include").count() + text.matches("tpl").count()
        > 6
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if slow_in_go_too(text) {
        return;
    }
    let (main, helpers) = text.split_once('\u{0}').unwrap_or((text, ""));
    let mut set = TemplateSet::new("gotpl", funcs());
    set.set_options(Options {
        missing_key: match selector % 3 {
            0 => MissingKey::Default,
            1 => MissingKey::Zero,
            _ => MissingKey::Error,
        },
        max_depth: 200,
    });
    for (name, text) in [("helpers.tpl", helpers), ("t", main)] {
        if let Err(e) = set.parse(name, text) {
            let _ = e.to_string();
            return;
        }
    }
    let data: serde_json::Value = serde_json::from_str(DATA).expect("the fixed data parses");
    let value = if selector & 4 == 0 {
        Value::from_json(&data)
    } else {
        Value::from_json_ints(&data)
    };
    match set.execute("t", &value) {
        Ok(out) => drop(out),
        Err(e) => drop(e.to_string()),
    }
});
