//! Tests of layering, provenance, explain and schema validation.
use std::path::Path;

use serde_json::json;

use super::*;

fn file_layer(src: &str, name: &str, kind: LayerKind) -> Layer {
    Layer::from_str(src, Path::new(name), kind).unwrap()
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
        parse_set(SetKind::Set, "image.tag=v2", Path::new(".")).unwrap(),
    ];
    let r = resolve(layers).unwrap();
    assert_eq!(
        r.values,
        json!({"image": {"repo": "app", "tag": "v2"}, "replicas": 3})
    );
    let rows = explain(&r);
    let shown: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.path.clone(), r.origin.to_string()))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("image.repo".to_string(), "chart/values.yaml:2".to_string()),
            ("image.tag".to_string(), "--set image.tag=v2".to_string()),
            (
                "replicas".to_string(),
                "deploy/prod/values.yaml:1".to_string()
            ),
        ]
    );
}
