//! `--set`, `--set-string`, `--set-json`, `--set-literal`: never panic; whatever is accepted
//! resolves (alone and over a base layer) and survives a YAML round trip.
#![no_main]
use std::path::Path;

use charter_fuzz::values::{self, Layer, LayerKind, SetKind};
use charter_fuzz::yaml;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "a: x\nb: {c: [1, 2, {d: null}]}\nl: [1, 2, 3]\nn: null\n";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(arg) = std::str::from_utf8(rest) else {
        return;
    };
    // --set-file is left out: it reads files named by the input.
    let kind = match selector % 4 {
        0 => SetKind::Set,
        1 => SetKind::SetString,
        2 => SetKind::SetJson,
        _ => SetKind::SetLiteral,
    };
    let Ok(layer) = values::parse_set(kind, arg, Path::new("/nonexistent")) else {
        return;
    };
    let alone = values::resolve(vec![layer.clone()]).expect("an accepted flag resolves alone");
    let text = yaml::to_yaml(&alone.values);
    let back = yaml::parse_str(&text, "roundtrip").expect("to_yaml output parses");
    assert_eq!(back, alone.values, "round trip changed the values:\n{text}");
    let base = Layer::from_str(BASE, Path::new("base.yaml"), LayerKind::ValuesFlag).expect("base");
    if let Ok(r) = values::resolve(vec![base, layer]) {
        let _ = values::explain(&r);
        let _ = values::explain_yaml(&r);
    }
});
