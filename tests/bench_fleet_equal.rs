//! The fleet benchmark's two charts render the same objects: Helm v4.1.4 on
//! ../shared/bench/fleet-helm and charter on its Tera port testdata/bench/fleet, from one
//! generated values file (N=100 services, 300 objects). The benchmark script relies on this.

mod support;

use std::path::Path;
use std::process::Command;

use support::root;

fn objects(stream: &str) -> Vec<String> {
    let mut v: Vec<String> = charter::yaml::parse_documents(stream)
        .expect("parse rendered stream")
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| !d.is_null())
        .map(|d| sorted(&d).to_string())
        .collect();
    v.sort();
    v
}

/// Object keys sorted, so the comparison ignores key order (Go maps print sorted).
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[test]
fn fleet_charts_render_the_same_objects_at_n_100() {
    let shared = root().join("../shared/bench");
    if !shared.join("gen-values.py").is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared/bench is missing in CI"
        );
        support::say(&format!(
            "{}: skipped: ../shared/bench not found",
            support::test_name!()
        ));
        return;
    }
    let Some(tools) = support::reference_tools(support::test_name!()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let values = tmp.path().join("values.yaml");
    let gen_out = Command::new("python3")
        .arg(shared.join("gen-values.py"))
        .arg("100")
        .output()
        .expect("run gen-values.py");
    assert!(gen_out.status.success());
    std::fs::write(&values, &gen_out.stdout).unwrap();

    let helm = Command::new(tools.join("helm"))
        .args(["template", "fleet"])
        .arg(shared.join("fleet-helm"))
        .arg("-f")
        .arg(&values)
        .output()
        .expect("run helm");
    assert!(
        helm.status.success(),
        "{}",
        String::from_utf8_lossy(&helm.stderr)
    );
    let charter = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["template", "fleet"])
        .arg(Path::new(&root()).join("testdata/bench/fleet"))
        .arg("-f")
        .arg(&values)
        .output()
        .expect("run charter");
    assert!(
        charter.status.success(),
        "{}",
        String::from_utf8_lossy(&charter.stderr)
    );

    let h = objects(&String::from_utf8(helm.stdout).unwrap());
    let c = objects(&String::from_utf8(charter.stdout).unwrap());
    assert_eq!(h.len(), 300);
    assert_eq!(h, c, "helm and charter render different objects");
}
