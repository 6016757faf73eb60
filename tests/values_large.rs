//! Large values files: loading and resolving scale linearly (no quadratic behaviour).
//!
//! The default run compares ~0.5 MB with ~5 MB. The 50 MB case is `#[ignore]`d (slow in a debug
//! build); run it with `cargo test --release --test values_large -- --ignored --nocapture`.
use std::path::Path;
use std::time::{Duration, Instant};

use charter::values::{self, Layer, LayerKind, SetKind};

/// A fleet-style values file: `n` services, ~250 bytes each.
fn values_yaml(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    s.push_str("global:\n  region: eastus\nservices:\n");
    for i in 0..n {
        s.push_str(&format!(
            "- name: svc-{i}\n  image: registry.example.com/team/svc-{i}:1.{}.0\n  replicas: {}\n  port: {}\n  enabled: yes\n  env:\n",
            i % 7,
            1 + i % 3,
            8000 + i % 100
        ));
        for j in 0..5 {
            s.push_str(&format!("    KEY_{j}: \"value-{i}-{j}\"\n"));
        }
    }
    s
}

fn load_and_resolve(src: &str) -> Duration {
    let t = Instant::now();
    let layer = Layer::from_str(src, Path::new("big.yaml"), LayerKind::ValuesFlag).unwrap();
    let defaults = Layer::from_str(
        "global: {a: 1}\n",
        Path::new("values.yaml"),
        LayerKind::ChartDefault,
    )
    .unwrap();
    let set = values::parse_set(SetKind::Set, "services[3].replicas=9", Path::new(".")).unwrap();
    let r = values::resolve(vec![defaults, layer, set]).unwrap();
    assert_eq!(r.values["services"][3]["replicas"], 9);
    assert_eq!(r.values["services"][3]["enabled"], true);
    let rows = values::explain(&r);
    assert!(rows.len() > 10);
    t.elapsed()
}

#[test]
fn loading_scales_linearly() {
    let small = values_yaml(2_000);
    let large = values_yaml(20_000);
    assert!(large.len() > 4_500_000, "{}", large.len());
    // Warm up, then take the best of two runs to damp noise from other processes.
    let _ = load_and_resolve(&small);
    let ts = load_and_resolve(&small).min(load_and_resolve(&small));
    let tl = load_and_resolve(&large).min(load_and_resolve(&large));
    let ratio = tl.as_secs_f64() / ts.as_secs_f64().max(1e-6);
    println!(
        "{} bytes: {ts:?}; {} bytes: {tl:?}; ratio {ratio:.1} (linear is 10)",
        small.len(),
        large.len()
    );
    assert!(
        ratio < 30.0,
        "10x the input took {ratio:.1}x the time: not linear"
    );
}

#[test]
#[ignore = "50 MB: run with --release -- --ignored"]
fn fifty_megabytes() {
    let src = values_yaml(200_000);
    assert!(src.len() > 50_000_000);
    let t = Instant::now();
    let v = charter::yaml::parse_str(&src, "big.yaml").unwrap();
    println!("parse_str {} bytes: {:?}", src.len(), t.elapsed());
    drop(v);
    println!("load + resolve + explain: {:?}", load_and_resolve(&src));
}
