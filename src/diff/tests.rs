use base64::Engine;
use serde_json::{Value, json};

use super::*;

/// A Deployment as charter renders it (no server fields).
fn rendered(replicas: i64, image: &str, env: &[(&str, &str)]) -> Value {
    let env: Vec<Value> = env
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web", "team": "a"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web",
                    "image": image,
                    "env": env,
                    "ports": [{"containerPort": 8080}],
                    "resources": {"requests": {"cpu": 0.5, "memory": "64Mi"}}
                }]}
            }
        }
    })
}

/// The same object as the API server returns it (dry-run result or live): defaults filled in,
/// bookkeeping added. `rv` varies the bookkeeping so it must be normalized away.
fn served(replicas: i64, image: &str, env: &[(&str, &str)], rv: &str) -> Value {
    let mut v = rendered(replicas, image, env);
    v["metadata"]["uid"] = json!("0b8f-uid");
    v["metadata"]["resourceVersion"] = json!(rv);
    v["metadata"]["generation"] = json!(rv.len());
    v["metadata"]["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
    v["metadata"]["managedFields"] = json!([{"manager": "charter", "time": rv}]);
    v["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "3"});
    v["spec"]["revisionHistoryLimit"] = json!(10);
    v["spec"]["strategy"] = json!({"type": "RollingUpdate"});
    v["spec"]["template"]["metadata"]["creationTimestamp"] = Value::Null;
    let c = &mut v["spec"]["template"]["spec"]["containers"][0];
    c["terminationMessagePath"] = json!("/dev/termination-log");
    c["imagePullPolicy"] = json!("IfNotPresent");
    c["ports"] = json!([{"containerPort": 8080, "protocol": "TCP"}]);
    c["resources"]["requests"]["cpu"] = json!("500m");
    v["status"] = json!({"replicas": replicas, "observedGeneration": rv.len()});
    v
}

fn key() -> ObjectRef {
    ObjectRef::new("apps/v1", "Deployment", Some("prod"), "web")
}

fn input(desired: Option<Value>, live: Option<Value>, last: Option<Value>) -> ObjectInput {
    let key = desired
        .as_ref()
        .or(live.as_ref())
        .or(last.as_ref())
        .and_then(ObjectRef::of)
        .unwrap();
    ObjectInput {
        key,
        desired,
        live,
        last_applied: last,
    }
}

fn run(inputs: Vec<ObjectInput>) -> DiffReport {
    diff_objects(inputs, &IgnoreRules::default(), &DiffOptions::default())
}

fn paths(changes: &[FieldChange]) -> Vec<String> {
    changes.iter().map(|c| c.path.to_string()).collect()
}

const ENV: &[(&str, &str)] = &[("A", "1"), ("C", "3")];

#[test]
fn a_value_change_shows_exactly_that_field() {
    let report = run(vec![input(
        Some(served(3, "web:2", ENV, "dry")),
        Some(served(3, "web:1", ENV, "live")),
        Some(rendered(3, "web:1", ENV)),
    )]);
    let o = &report.objects[0];
    assert_eq!(o.action, Action::Change);
    assert_eq!(
        o.changes,
        vec![FieldChange {
            path: FieldPath(vec![
                Segment::Key("spec".into()),
                Segment::Key("template".into()),
                Segment::Key("spec".into()),
                Segment::Key("containers".into()),
                Segment::Item(vec![("name".into(), "web".into())]),
                Segment::Key("image".into()),
            ]),
            op: Op::Changed,
            old: Some(json!("web:1")),
            new: Some(json!("web:2")),
        }]
    );
    assert_eq!(
        o.changes[0].path.to_string(),
        "/spec/template/spec/containers/name=web/image"
    );
    assert!(o.drift.is_empty(), "{:?}", o.drift);
    assert_eq!(report.summary.change, 1);
    assert!(report.summary.has_changes());
    assert_eq!(report.summary.exit_code(false), 2);
    // The text diff has exactly one removed and one added line.
    let text = render_text(&report, false);
    let minus: Vec<_> = text.lines().filter(|l| l.starts_with('-')).collect();
    let plus: Vec<_> = text.lines().filter(|l| l.starts_with('+')).collect();
    assert_eq!(minus, ["-        image: web:1"], "{text}");
    assert_eq!(plus, ["+        image: web:2"], "{text}");
    assert!(
        text.starts_with("~ apps/v1 Deployment prod/web (change)\n"),
        "{text}"
    );
}

#[test]
fn defaulted_and_server_fields_never_show() {
    // Both sides carry defaults and bookkeeping the rendered object does not set; they differ
    // in bookkeeping (resourceVersion, managedFields, generation, status).
    let svc_rendered = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "prod", "annotations": {}},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
    });
    let svc_served = |rv: &str| {
        let mut s = svc_rendered.clone();
        s["metadata"]["resourceVersion"] = json!(rv);
        s["metadata"]["annotations"] = json!({
            "kubectl.kubernetes.io/last-applied-configuration": format!("{{\"rv\":\"{rv}\"}}")
        });
        s["spec"]["clusterIP"] = json!("10.96.4.7");
        s["spec"]["clusterIPs"] = json!(["10.96.4.7"]);
        s["spec"]["type"] = json!("ClusterIP");
        s["spec"]["sessionAffinity"] = json!("None");
        s["spec"]["ports"] = json!([{"port": 80, "targetPort": 8080, "protocol": "TCP"}]);
        s["status"] = json!({"loadBalancer": {}});
        s
    };
    let report = run(vec![
        input(
            Some(served(3, "web:1", ENV, "dry")),
            Some(served(3, "web:1", ENV, "live")),
            Some(rendered(3, "web:1", ENV)),
        ),
        input(
            Some(svc_served("2")),
            Some(svc_served("1")),
            Some(svc_rendered.clone()),
        ),
    ]);
    for o in &report.objects {
        assert_eq!(o.action, Action::Unchanged, "{}: {:?}", o.key, o.changes);
        assert!(o.changes.is_empty() && o.drift.is_empty(), "{o:?}");
    }
    assert_eq!(report.summary.unchanged, 2);
    assert_eq!(report.summary.exit_code(true), 0);
    // Unchanged objects without drift are left out of the text and Markdown outputs.
    let text = render_text(&report, true);
    assert!(
        !text.contains("clusterIP") && !text.contains("Deployment"),
        "{text}"
    );
}

#[test]
fn kubectl_scale_is_drift_separate_from_the_change_and_overwritten() {
    let mut live = served(5, "web:1", ENV, "live");
    // `kubectl edit`: a label removed, an annotation added (not set by the release: not drift).
    live["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .shift_remove("team");
    live["metadata"]["annotations"]["note"] = json!("by hand");
    let mut desired = served(3, "web:1", ENV, "dry");
    desired["metadata"]["annotations"]["note"] = json!("by hand");
    // The chart itself dropped the label in this upgrade, so applying does not restore it.
    desired["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .shift_remove("team");
    let report = run(vec![input(
        Some(desired),
        Some(live),
        Some(rendered(3, "web:1", ENV)),
    )]);
    let o = &report.objects[0];
    assert_eq!(paths(&o.changes), ["/spec/replicas"]);
    assert_eq!(o.changes[0].old, Some(json!(5)));
    assert_eq!(o.changes[0].new, Some(json!(3)));
    let drift: Vec<_> = o
        .drift
        .iter()
        .map(|d| (d.path.to_string(), d.op, d.overwritten))
        .collect();
    assert_eq!(
        drift,
        [
            ("/metadata/labels/team".to_string(), Op::Removed, false),
            ("/spec/replicas".to_string(), Op::Changed, true),
        ]
    );
    assert_eq!(o.drift[1].last_applied, Some(json!(3)));
    assert_eq!(o.drift[1].live, Some(json!(5)));
    assert_eq!(o.drift[0].last_applied, Some(json!("a")));
    assert_eq!(report.summary.drift, 1);
    assert_eq!(report.summary.drift_overwritten, 1);
    let text = render_text(&report, false);
    assert!(
        text.contains("  ~ /spec/replicas: 3 -> 5 [overwritten by this apply]"),
        "{text}"
    );
    assert!(
        text.contains("  - /metadata/labels/team: \"a\" (removed from the live object)\n"),
        "{text}"
    );
}

#[test]
fn drift_alone_sets_the_exit_code_only_with_fail_on_drift() {
    // Someone scaled to 5 and the chart now says 5 too: no change, drift not overwritten.
    let report = run(vec![input(
        Some(served(5, "web:1", ENV, "dry")),
        Some(served(5, "web:1", ENV, "live")),
        Some(rendered(3, "web:1", ENV)),
    )]);
    let o = &report.objects[0];
    assert_eq!(o.action, Action::Unchanged);
    assert_eq!(o.drift.len(), 1);
    assert!(!o.drift[0].overwritten);
    assert_eq!(report.summary.exit_code(false), 0);
    assert_eq!(report.summary.exit_code(true), 2);
    assert!(render_text(&report, false).contains("(unchanged, drifted)"));
}

/// Charts render zero values the API server does not store (`hostNetwork: false`,
/// `hostIPC: false`, `subPath: ""`, `revisionHistoryLimit: 0` where omitted): their absence
/// from the live object is no drift; a non-zero value removed by hand still is.
#[test]
fn zero_values_the_server_omits_are_not_drift() {
    let mut last = rendered(3, "web:1", ENV);
    let pod = &mut last["spec"]["template"]["spec"];
    pod["hostNetwork"] = json!(false);
    pod["hostIPC"] = json!(false);
    pod["priority"] = json!(0);
    pod["schedulerName"] = json!("");
    pod["hostPID"] = json!(true);
    let report = run(vec![input(
        Some(served(3, "web:1", ENV, "dry")),
        Some(served(3, "web:1", ENV, "live")),
        Some(last),
    )]);
    let drift: Vec<_> = report.objects[0]
        .drift
        .iter()
        .map(|d| (d.path.to_string(), d.op))
        .collect();
    assert_eq!(
        drift,
        [("/spec/template/spec/hostPID".to_string(), Op::Removed)]
    );
}

#[test]
fn inserting_one_env_var_is_one_added_item() {
    let new_env = &[("A", "1"), ("B", "2"), ("C", "3")];
    let report = run(vec![input(
        Some(served(3, "web:1", new_env, "dry")),
        Some(served(3, "web:1", ENV, "live")),
        Some(rendered(3, "web:1", ENV)),
    )]);
    let o = &report.objects[0];
    assert_eq!(
        paths(&o.changes),
        ["/spec/template/spec/containers/name=web/env/name=B"]
    );
    assert_eq!(o.changes[0].op, Op::Added);
    assert_eq!(o.changes[0].old, None);
    assert_eq!(o.changes[0].new, Some(json!({"name": "B", "value": "2"})));
    let text = render_text(&report, false);
    assert!(!text.lines().any(|l| l.starts_with('-')), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with('+')).count(),
        2,
        "{text}"
    );
    // Removing a keyed item from the live object by hand is drift at the item's key.
    let report = run(vec![input(
        Some(served(3, "web:1", new_env, "dry")),
        Some(served(3, "web:1", &[("A", "1"), ("C", "3")], "live")),
        Some(rendered(3, "web:1", new_env)),
    )]);
    let d = &report.objects[0].drift;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(
        d[0].path.to_string(),
        "/spec/template/spec/containers/name=web/env/name=B"
    );
    assert_eq!(d[0].op, Op::Removed);
    assert!(d[0].overwritten);
}

#[test]
fn unkeyed_lists_compare_by_position() {
    let obj = |args: Value, tol: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "args": args}], "tolerations": tol}})
    };
    let report = run(vec![input(
        Some(obj(
            json!(["a", "x", "b"]),
            json!([{"key": "k", "operator": "Exists"}]),
        )),
        Some(obj(
            json!(["a", "b"]),
            json!([{"key": "k", "operator": "Equal"}]),
        )),
        None,
    )]);
    assert_eq!(
        paths(&report.objects[0].changes),
        [
            "/spec/containers/name=c/args",
            "/spec/tolerations/0/operator"
        ]
    );
}

fn secret(data: Option<(&str, &str)>, string_data: Option<(&str, &str)>) -> Value {
    let mut s = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                       "metadata": {"name": "db", "namespace": "prod"}});
    if let Some((k, v)) = data {
        s["data"] = json!({ k: b64(v), "user": b64("admin") });
    }
    if let Some((k, v)) = string_data {
        s["stringData"] = json!({ k: v, "user": "admin" });
    }
    s
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn secret_values_are_masked_in_every_format() {
    let mut live = secret(Some(("password", "hunter2")), None);
    // kubectl client-side apply keeps a full copy in this annotation.
    live["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration":
            format!("{{\"data\":{{\"password\":\"{}\"}}}}", b64("hunter2"))
    });
    let report = run(vec![input(
        // The dry-run result already has data; stringData in it must be folded in as well.
        Some(secret(None, Some(("password", "hunter2-new")))),
        Some(live),
        // The last release rendered stringData with another value: drift, masked too.
        Some(secret(None, Some(("password", "hunter2-old")))),
    )]);
    let o = &report.objects[0];
    assert_eq!(o.action, Action::Change);
    assert_eq!(paths(&o.changes), ["/data/password"]);
    assert_eq!(o.changes[0].old, Some(json!("<secret: 7 bytes>")));
    assert_eq!(o.changes[0].new, Some(json!("<secret: 11 bytes, changed>")));
    assert_eq!(o.drift.len(), 1);
    assert_eq!(o.drift[0].last_applied, Some(json!("<secret: 11 bytes>")));
    assert_eq!(o.drift[0].live, Some(json!("<secret: 7 bytes, changed>")));
    assert!(o.drift[0].overwritten);

    let outputs = [
        ("text", render_text(&report, true)),
        ("json", render_json(&report)),
        ("markdown", render_markdown(&report, "charter diff")),
    ];
    for (name, out) in &outputs {
        for secret in ["hunter2", "hunter2-new", "hunter2-old"] {
            assert!(!out.contains(secret), "{name} leaks {secret}:\n{out}");
            assert!(
                !out.contains(&b64(secret)),
                "{name} leaks base64 of {secret}:\n{out}"
            );
        }
        // Same-size unchanged keys are masked too.
        assert!(!out.contains(&b64("admin")), "{name}:\n{out}");
        assert!(
            out.contains("<secret: 11 bytes, changed>"),
            "{name}:\n{out}"
        );
    }
    // Unchanged keys do not show as changes in the text diff.
    let text = &outputs[0].1;
    assert!(!text.contains("+  user"), "{text}");

    // --show-secrets: the values are there.
    let shown = diff_objects(
        vec![input(
            Some(secret(None, Some(("password", "hunter2-new")))),
            Some(secret(Some(("password", "hunter2")), None)),
            None,
        )],
        &IgnoreRules::default(),
        &DiffOptions { show_secrets: true },
    );
    assert!(render_text(&shown, false).contains(&b64("hunter2-new")));
}

#[test]
fn a_created_secret_is_masked_too() {
    let report = run(vec![input(
        Some(secret(Some(("password", "hunter2")), None)),
        None,
        None,
    )]);
    for out in [
        render_text(&report, false),
        render_json(&report),
        render_markdown(&report, "d"),
    ] {
        assert!(!out.contains(&b64("hunter2")), "{out}");
        assert!(out.contains("<secret: 7 bytes>"), "{out}");
    }
    // Invalid data (not a map) is hidden as well.
    let mut bad = secret(None, None);
    bad["data"] = json!(["hunter2"]);
    let report = run(vec![input(Some(bad), None, None)]);
    assert!(!render_json(&report).contains("hunter2"));
    assert!(!render_text(&report, false).contains("hunter2"));
}

fn scaled() -> ObjectInput {
    input(
        Some(served(3, "web:1", ENV, "dry")),
        Some(served(5, "web:1", ENV, "live")),
        Some(rendered(3, "web:1", ENV)),
    )
}

#[test]
fn an_ignore_rule_removes_the_difference_and_the_exit_code() {
    assert_eq!(run(vec![scaled()]).summary.exit_code(true), 2);
    let mut rules = IgnoreRules::default();
    rules
        .add_compact(["Deployment/web:/spec/replicas", "/spec/replicaz"])
        .unwrap();
    let report = diff_objects(vec![scaled()], &rules, &DiffOptions::default());
    let o = &report.objects[0];
    assert_eq!(o.action, Action::Unchanged);
    assert!(o.changes.is_empty() && o.drift.is_empty(), "{o:?}");
    assert_eq!(
        report.summary,
        DiffSummary {
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(report.summary.exit_code(true), 0);
    assert!(!render_text(&report, false).contains("replicas"));
    // The typo is reported, the rule that worked is not.
    let unmatched: Vec<String> = report
        .unmatched_rules
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(unmatched, ["/spec/replicaz"]);
    let json = to_json(&report);
    assert_eq!(json["unmatchedIgnoreRules"][0]["rule"], "/spec/replicaz");
}

#[test]
fn ignore_selectors_and_keyed_paths() {
    let change = || {
        input(
            Some(served(3, "web:2", ENV, "dry")),
            Some(served(3, "web:1", ENV, "live")),
            None,
        )
    };
    for (rule, ignored) in [
        ("/spec/template/spec/containers/name=web/image", true),
        ("/spec/template/spec/containers/*/image", true),
        ("/spec/template/spec/containers/0/image", true),
        ("/spec/template/spec/containers/name=w*/image", true),
        ("deployment/prod/web:/spec/template", true),
        ("Deployment/staging/web:/spec/template", false),
        ("StatefulSet:/spec/template", false),
        ("*/other:/spec/template", false),
        ("/spec/template/spec/containers/name=api/image", false),
    ] {
        let mut rules = IgnoreRules::default();
        rules.add_compact([rule]).unwrap();
        let report = diff_objects(vec![change()], &rules, &DiffOptions::default());
        assert_eq!(report.objects[0].changes.is_empty(), ignored, "{rule}");
        assert_eq!(report.unmatched_rules.is_empty(), ignored, "{rule}");
    }
}

#[test]
fn ignoring_the_only_annotation_leaves_no_empty_map_behind() {
    let mut desired = served(3, "web:1", ENV, "dry");
    desired["metadata"]["annotations"] = json!({"checksum/config": "abc"});
    let mut live = served(3, "web:1", ENV, "live");
    live["metadata"]
        .as_object_mut()
        .unwrap()
        .shift_remove("annotations");
    let mut rules = IgnoreRules::default();
    rules
        .add_compact(["/metadata/annotations/checksum~1*"])
        .unwrap();
    let report = diff_objects(
        vec![input(Some(desired), Some(live), None)],
        &rules,
        &DiffOptions::default(),
    );
    assert!(
        report.objects[0].changes.is_empty(),
        "{:?}",
        report.objects[0].changes
    );

    // The same when the other side holds an empty map there already.
    let pod = |dir: Value| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"volumes": [{"name": "tmp", "emptyDir": dir}]}})
    };
    let mut rules = IgnoreRules::default();
    rules
        .add_compact(["/spec/volumes/name=tmp/emptyDir/sizeLimit"])
        .unwrap();
    let report = diff_objects(
        vec![input(
            Some(pod(json!({"sizeLimit": "1Gi"}))),
            Some(pod(json!({}))),
            None,
        )],
        &rules,
        &DiffOptions::default(),
    );
    assert!(
        report.objects[0].changes.is_empty(),
        "{:?}",
        report.objects[0].changes
    );
    assert!(report.unmatched_rules.is_empty());
}

#[test]
fn rule_syntax_and_errors() {
    let r = IgnoreRule::parse_compact("Deployment/prod/web-*:/spec/replicas").unwrap();
    assert_eq!(r.kind.as_deref(), Some("Deployment"));
    assert_eq!(r.namespace.as_deref(), Some("prod"));
    assert_eq!(r.name.as_deref(), Some("web-*"));
    assert_eq!(r.to_string(), "Deployment/prod/web-*:/spec/replicas");
    assert!(r.selects(&ObjectRef::new(
        "apps/v1",
        "deployment",
        Some("prod"),
        "web-1"
    )));
    assert!(!r.selects(&key()));
    assert!(!r.selects(&ObjectRef::new("apps/v1", "Deployment", None, "web-1")));
    for s in [
        "/spec/replicas",
        "Deployment:/a",
        "Deployment/web:/a",
        "*/ns/*:/a",
    ] {
        let r = IgnoreRule::parse_compact(s).unwrap();
        assert_eq!(IgnoreRule::parse_compact(&r.to_string()).unwrap(), r, "{s}");
    }
    assert_eq!(
        IgnoreRule::parse_compact("spec/replicas").unwrap_err(),
        IgnoreRuleError::BadSyntax {
            rule: "spec/replicas".into(),
            reason: "it neither starts with `/` nor has a `SELECTOR:` prefix".into()
        }
    );
    assert_eq!(
        IgnoreRule::parse_compact("Deployment:spec").unwrap_err(),
        IgnoreRuleError::NotAbsolute {
            path: "spec".into()
        }
    );
    assert_eq!(
        IgnoreRule::new("/a/b~2c", None, None, None).unwrap_err(),
        IgnoreRuleError::BadEscape {
            path: "/a/b~2c".into(),
            at: 5
        }
    );
    assert!(IgnoreRule::new("/a~", None, None, None).is_err());
    assert!(IgnoreRule::new("/a", Some(""), None, None).is_err());
    assert!(IgnoreRule::parse_compact("a/b/c/d:/x").is_err());
    let r = IgnoreRule::new("/metadata/annotations/a~1b~0c", None, None, None).unwrap();
    let mut v = json!({"metadata": {"annotations": {"a/b~c": "1", "x": "2"}}});
    assert_eq!(r.remove_from(&mut v), 1);
    assert_eq!(v, json!({"metadata": {"annotations": {"x": "2"}}}));
    // Selectors work on unkeyed lists too, values may glob; an emptied map goes with them.
    let r = IgnoreRule::new("/spec/tolerations/key=example.com~1*", None, None, None).unwrap();
    let mut v = json!({"spec": {"tolerations": [
        {"key": "example.com/gpu", "operator": "Exists"},
        {"key": "other", "operator": "Exists"},
        {"key": "example.com/tpu"}]}});
    assert_eq!(r.remove_from(&mut v), 2);
    assert_eq!(
        v,
        json!({"spec": {"tolerations": [{"key": "other", "operator": "Exists"}]}})
    );
    let r = IgnoreRule::new("/spec/x/*", None, None, None).unwrap();
    let mut v = json!({"spec": {"x": {"a": 1, "b": 2}, "y": 1}});
    assert_eq!(r.remove_from(&mut v), 2);
    assert_eq!(v, json!({"spec": {"y": 1}}));
}

#[test]
fn an_object_deleted_by_hand_is_created_and_is_drift() {
    let report = run(vec![input(
        Some(served(3, "web:1", ENV, "dry")),
        None,
        Some(rendered(3, "web:1", ENV)),
    )]);
    let o = &report.objects[0];
    assert_eq!(o.action, Action::Create);
    assert_eq!(o.changes.len(), 1);
    assert!(o.changes[0].path.is_root() && o.changes[0].op == Op::Added);
    assert_eq!(o.drift.len(), 1);
    assert_eq!(o.drift[0].op, Op::Deleted);
    assert!(o.drift[0].overwritten);
    assert_eq!(report.summary.create, 1);
    assert_eq!(report.summary.drift, 1);
    let text = render_text(&report, false);
    assert!(
        text.starts_with("+ apps/v1 Deployment prod/web (create, deleted by hand)\n"),
        "{text}"
    );
    assert!(text.contains("+kind: Deployment"), "{text}");
    // Normalized: no server bookkeeping in what is shown.
    assert!(
        !text.contains("resourceVersion") && !text.contains("status"),
        "{text}"
    );
}

#[test]
fn a_removed_template_is_pruned() {
    let report = run(vec![input(
        None,
        Some(served(3, "web:1", ENV, "live")),
        Some(rendered(3, "web:1", ENV)),
    )]);
    let o = &report.objects[0];
    assert_eq!(o.action, Action::Prune);
    assert_eq!(o.changes[0].op, Op::Removed);
    assert!(o.drift.is_empty());
    assert_eq!(report.summary.prune, 1);
    let text = render_text(&report, false);
    assert!(
        text.starts_with("- apps/v1 Deployment prod/web (prune)\n"),
        "{text}"
    );
    assert!(text.contains("-kind: Deployment"), "{text}");
}

#[test]
fn quantities_compare_by_value() {
    // rendered() says cpu: 0.5, served() says "500m": not drift. A real change is.
    let mut live = served(3, "web:1", ENV, "live");
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] =
        json!("128Mi");
    let report = run(vec![input(
        Some(served(3, "web:1", ENV, "dry")),
        Some(live),
        Some(rendered(3, "web:1", ENV)),
    )]);
    let d: Vec<String> = report.objects[0]
        .drift
        .iter()
        .map(|d| d.path.to_string())
        .collect();
    assert_eq!(
        d,
        ["/spec/template/spec/containers/name=web/resources/requests/memory"]
    );
    for (a, b, eq) in [
        (json!("1Gi"), json!(1073741824), true),
        (json!("0.5"), json!("500m"), true),
        (json!("2e3"), json!("2k"), true),
        (json!("1"), json!("1000m"), true),
        (json!("1Mi"), json!("1M"), false),
        (json!("1x"), json!("1x"), true),
        (json!("1x"), json!("1"), false),
    ] {
        assert_eq!(compare::values_eq(&a, &b, true), eq, "{a} {b}");
    }
    assert!(!compare::values_eq(&json!("0.5"), &json!("500m"), false));
}

#[test]
fn objects_are_sorted_and_output_is_deterministic() {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}});
    let cm = |n: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": n, "namespace": "prod"}, "data": {"k": "v"}})
    };
    let inputs = || {
        vec![
            input(
                Some(served(3, "web:2", ENV, "d")),
                Some(served(3, "web:1", ENV, "l")),
                None,
            ),
            input(Some(cm("b")), None, None),
            input(Some(cm("a")), None, None),
            input(Some(ns.clone()), None, None),
        ]
    };
    let report = run(inputs());
    let order: Vec<String> = report.objects.iter().map(|o| o.key.to_string()).collect();
    assert_eq!(
        order,
        [
            "v1 Namespace prod",
            "v1 ConfigMap prod/a",
            "v1 ConfigMap prod/b",
            "apps/v1 Deployment prod/web"
        ]
    );
    let mut reversed = inputs();
    reversed.reverse();
    let again = run(reversed);
    assert_eq!(render_json(&report), render_json(&again));
    assert_eq!(render_text(&report, true), render_text(&again, true));
    assert_eq!(render_markdown(&report, "t"), render_markdown(&again, "t"));
}

#[test]
fn markdown_has_a_table_and_collapsible_diffs() {
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "docs", "namespace": "prod"},
                        "data": {"README.md": "```\ncode\n```\n"}});
    let live = cm.clone();
    cm["data"]["README.md"] = json!("````\nmore code\n````\n");
    let report = run(vec![scaled(), input(Some(cm), Some(live), None)]);
    let md = render_markdown(&report, "charter diff prod/westus");
    assert!(
        md.starts_with("### charter diff prod/westus\n\n**0 to create, 2 to change"),
        "{md}"
    );
    assert!(
        md.contains("| Action | Object | Fields | Drift |\n|---|---|---|---|\n"),
        "{md}"
    );
    assert!(
        md.contains("| ~ change | `apps/v1 Deployment prod/web` | 1 | 1 (overwritten) |"),
        "{md}"
    );
    assert!(md.contains("<details><summary><code>~ apps/v1 Deployment prod/web (change, drifted)</code></summary>"), "{md}");
    assert!(md.contains("```diff\n@@"), "{md}");
    // A fence longer than any backtick run in the content.
    assert!(md.contains("`````diff\n"), "{md}");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    // Nothing to do: no table.
    let none = render_markdown(&run(vec![]), "x");
    assert_eq!(
        none,
        "### x\n\n**0 to create, 0 to change, 0 to prune, 0 unchanged**\n\n"
    );
}

#[test]
fn colors_only_when_asked() {
    let report = run(vec![scaled()]);
    assert!(!render_text(&report, false).contains('\x1b'));
    let colored = render_text(&report, true);
    assert!(
        colored.contains("\x1b[31m-  replicas: 5\x1b[0m"),
        "{colored:?}"
    );
    assert!(
        colored.contains("\x1b[32m+  replicas: 3\x1b[0m"),
        "{colored:?}"
    );
}

/// Every report validates against the schema it ships, and the schema can fail.
#[test]
fn json_matches_the_shipped_schema() {
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/diff.schema.json")).unwrap();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource("diff.json", schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let idx = compiler.compile("diff.json", &mut schemas).unwrap();
    let cluster_scoped =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}});
    let mut rules = IgnoreRules::new(vec![
        IgnoreRule::new("/nope", None, None, None)
            .unwrap()
            .with_source("deploy/app/charter.yaml", 4),
    ]);
    rules.add_compact(["/also/nope"]).unwrap();
    let report = diff_objects(
        vec![
            scaled(),
            input(
                Some(served(3, "web:1", ENV, "d")),
                None,
                Some(rendered(3, "web:1", ENV)),
            ),
            input(None, Some(cluster_scoped.clone()), None),
            input(Some(cluster_scoped), None, None),
            input(
                Some(secret(None, Some(("password", "new")))),
                Some(secret(Some(("password", "old")), None)),
                None,
            ),
        ],
        &rules,
        &DiffOptions::default(),
    );
    let json: Value = serde_json::from_str(&render_json(&report)).unwrap();
    if let Err(e) = schemas.validate(&json, idx) {
        panic!("{e:#}\n{json:#}");
    }
    assert_eq!(json["apiVersion"], JSON_API_VERSION);
    assert_eq!(
        json["unmatchedIgnoreRules"][0]["source"],
        "deploy/app/charter.yaml:4"
    );
    assert_eq!(json["summary"]["drift"], 2);
    // The schema is not a check that cannot fail.
    for (ptr, bad) in [
        ("/objects/0/action", json!("update")),
        ("/summary/create", json!(-1)),
        ("/apiVersion", json!("charter.dev/diff/v0")),
        ("/objects/0/changes/0/op", json!("moved")),
    ] {
        let mut b = json.clone();
        *b.pointer_mut(ptr).unwrap() = bad;
        assert!(schemas.validate(&b, idx).is_err(), "{ptr}");
    }
}

#[test]
fn keyed_lists_fall_back_to_position_on_duplicate_or_missing_keys() {
    let items = |xs: Value| json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "w"}, "spec": {"items": xs}});
    // Duplicate names: positional, and nothing is lost.
    let report = run(vec![input(
        Some(items(json!([{"name": "a", "v": 1}, {"name": "a", "v": 3}]))),
        Some(items(json!([{"name": "a", "v": 1}, {"name": "a", "v": 2}]))),
        None,
    )]);
    assert_eq!(paths(&report.objects[0].changes), ["/spec/items/1/v"]);
    // Unique names on a CRD list: keyed by name.
    let report = run(vec![input(
        Some(items(json!([{"name": "z"}, {"name": "a", "v": 1}]))),
        Some(items(json!([{"name": "a", "v": 1}]))),
        None,
    )]);
    assert_eq!(paths(&report.objects[0].changes), ["/spec/items/name=z"]);
    // Container ports keyed by port+protocol, the protocol defaulted.
    let ports = |p: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "ports": p}]}});
    let report = run(vec![input(
        Some(ports(
            json!([{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}]),
        )),
        Some(ports(json!([{"containerPort": 53, "protocol": "TCP"}]))),
        // The rendered port has no protocol: the API default TCP matches the live one.
        Some(ports(json!([{"containerPort": 53}]))),
    )]);
    assert_eq!(
        paths(&report.objects[0].changes),
        ["/spec/containers/name=c/ports/containerPort=53,protocol=UDP"]
    );
    assert!(
        report.objects[0].drift.is_empty(),
        "{:?}",
        report.objects[0].drift
    );
}

#[test]
fn only_shown_objects_keep_their_normalized_copies() {
    // A plan holds every target's report until it prints: an unchanged object without drift
    // keeps no copies, while a changed or drifted one keeps both sides for the text diff.
    let same = served(3, "nginx:1", &[], "7");
    let unchanged = run(vec![input(
        Some(same.clone()),
        Some(same.clone()),
        Some(rendered(3, "nginx:1", &[])),
    )]);
    let o = &unchanged.objects[0];
    assert_eq!(o.action, Action::Unchanged);
    assert!(o.before.is_none() && o.after.is_none(), "{o:?}");

    let changed = run(vec![input(
        Some(served(3, "nginx:2", &[], "8")),
        Some(same.clone()),
        None,
    )]);
    let o = &changed.objects[0];
    assert_eq!(o.action, Action::Change);
    assert_eq!(
        o.before.as_ref().unwrap()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1"
    );
    assert_eq!(
        o.after.as_ref().unwrap()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2"
    );
    assert!(render_text(&changed, false).contains("+        image: nginx:2"));

    // Drift alone (scaled by hand, the chart unchanged): shown, so both sides are kept.
    let drifted = run(vec![input(
        Some(served(5, "nginx:1", &[], "9")),
        Some(served(5, "nginx:1", &[], "9")),
        Some(rendered(3, "nginx:1", &[])),
    )]);
    let o = &drifted.objects[0];
    assert_eq!((o.action, o.drift.len()), (Action::Unchanged, 1));
    assert!(o.before.is_some() && o.after.is_some());
    assert!(render_text(&drifted, false).contains("drift"));
}
