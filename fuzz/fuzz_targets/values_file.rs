//! Values files: never panic; an accepted file resolves over chart defaults, explains, and
//! survives a YAML round trip.
#![no_main]
use std::path::Path;

use charter_fuzz::values::{self, Layer, LayerKind};
use charter_fuzz::yaml;
use libfuzzer_sys::fuzz_target;

const DEFAULTS: &str = "a: 1\nb: {c: 2, d: null}\nl: [1, 2]\nsub: {x: 1}\nglobal: {g: 1}\n";

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(layer) = Layer::from_str(src, Path::new("values.yaml"), LayerKind::ValuesFlag) else {
        return;
    };
    let text = yaml::to_yaml(&layer.values);
    let back = yaml::parse_str(&text, "roundtrip").expect("to_yaml output parses");
    assert_eq!(back, layer.values, "round trip changed the values:\n{text}");
    let defaults = Layer::from_str(
        DEFAULTS,
        Path::new("chart/values.yaml"),
        LayerKind::ChartDefault,
    )
    .expect("defaults");
    let sub = Layer::from_str(
        "x: 2\ny: 3\n",
        Path::new("sub/values.yaml"),
        LayerKind::ChartDefault,
    )
    .expect("sub defaults")
    .nested_under(&["sub".to_string()]);
    if let Ok(r) = values::resolve(vec![sub, defaults, layer]) {
        let _ = values::explain(&r);
        let _ = values::scope_for_subchart(&r.values, "sub");
        let _ = values::condition_enabled(&r.values, "sub.enabled,a");
    }
});
