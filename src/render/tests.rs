use std::path::Path;

use serde_json::json;

use super::*;

const META: &str = "apiVersion: charter/v1\nname: app\nversion: 1.0.0\n";

fn chart(files: &[(&str, &str)]) -> Chart {
    let mut all = vec![("Chart.yaml".to_string(), META.as_bytes().to_vec())];
    for (p, c) in files {
        if *p == "Chart.yaml" {
            all[0].1 = c.as_bytes().to_vec();
        } else {
            all.push((p.to_string(), c.as_bytes().to_vec()));
        }
    }
    Chart::from_files(Path::new("app"), all).unwrap()
}

fn render_err(c: &Chart, values: serde_json::Value) -> String {
    render(c, &values, &RenderOptions::default())
        .unwrap_err()
        .to_string()
}

fn cm(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n{data}\n")
}

#[test]
fn renders_context_and_orders_for_install() {
    let c = chart(&[
        (
            "templates/a-deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ release.name }}-web\n  namespace: {{ release.namespace }}\nspec:\n  replicas: {{ values.replicas }}\n",
        ),
        (
            "templates/b-ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n",
        ),
        (
            "templates/c-cm.yaml",
            "{% for k, v in values.cms %}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ k }}\ndata:\n  v: {{ v | quote }}\n  chart: {{ chart.name }}-{{ chart.version }}\n{% endfor %}",
        ),
    ]);
    let opts = RenderOptions {
        release: Some(ReleaseInfo::install("rel", "team")),
        ..Default::default()
    };
    let r = render(
        &c,
        &json!({"replicas": 3, "cms": {"x": "1", "y": "yes"}}),
        &opts,
    )
    .unwrap();
    let kinds: Vec<_> = r
        .manifests
        .iter()
        .map(|m| format!("{}/{}", m.header.kind, m.header.name))
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace/ns1",
            "ConfigMap/x",
            "ConfigMap/y",
            "Deployment/rel-web"
        ]
    );
    let deploy = &r.manifests[3];
    assert_eq!(&*deploy.source, "app/templates/a-deploy.yaml");
    assert!(deploy.text().contains("replicas: 3"));
    assert_eq!(deploy.header.namespace.as_deref(), Some("team"));
    assert!(r.manifests[2].text().contains("v: \"yes\""));
    assert!(r.manifests[1].text().contains("chart: app-1.0.0"));
}

#[test]
fn components_from_partials_and_include() {
    let c = chart(&[
        (
            "templates/_helpers.tera",
            "{% component labels(name, @chart) %}app: {{ name }}\nchart: {{ chart.name }}{% endcomponent labels %}",
        ),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    {{- <labels name=\"web\" /> | nindent(n=4) }}\n  annotations:\n    {{- include(component=\"labels\", name=\"api\") | nindent(n=4) }}\n",
        ),
    ]);
    let r = render(&c, &json!({}), &RenderOptions::default()).unwrap();
    assert_eq!(
        r.manifests[0].text(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    app: web\n    chart: app\n  annotations:\n    app: api\n    chart: app"
    );
}

#[test]
fn filters_behave_like_helm() {
    let c = chart(&[(
        "templates/cm.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: f
data:
  yaml: |
    {{- values.obj | to_yaml | nindent(n=4) }}
  json: {{ values.obj | to_json | quote }}
  b64: {{ "hello" | b64encode }}
  unb64: {{ "aGVsbG8=" | b64decode }}
  sha: {{ "abc" | sha256 }}
  sq: {{ "it's" | squote }}
  dflt: {{ values.nothing | default(value="d") }}
  dnull: {{ values.null_value | default(value="dn") }}
  indented: |
{{ "a\nb" | indent(n=4) }}
  tpl: {{ "{{ values.obj.k }}" | tpl }}
  semver: "{{ semver_compare(constraint=">=1.2 <2", version="v1.5.0") }}"
  lookup: "{{ lookup(api_version="v1", kind="Secret", namespace="x", name="y") | length }}"
  {%- set fy = "a: [1, 2]" | from_yaml %}
  fromyaml: "{{ fy.a[1] }}"
  {%- set fj = '{"b": true}' | from_json %}
  fromjson: "{{ fj.b }}"
  trunc: {{ "abcdef" | trunc(n=3) }}
  suffix: {{ "name-suffix" | trim_suffix(suffix="-suffix") }}
"#,
    )]);
    let r = render(
        &c,
        &json!({"obj": {"k": "v", "list": [1, "on"]}, "null_value": null}),
        &RenderOptions::default(),
    )
    .unwrap();
    let text = r.manifests[0].text();
    for want in [
        "  yaml: |\n    k: v\n    list:\n    - 1\n    - \"on\"\n",
        r#"json: "{\"k\":\"v\",\"list\":[1,\"on\"]}""#,
        "b64: aGVsbG8=",
        "unb64: hello",
        "sha: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sq: 'it''s'",
        "dflt: d",
        "dnull: dn",
        "indented: |\n    a\n    b\n",
        "tpl: v",
        "semver: \"true\"",
        "lookup: \"0\"",
        "fromyaml: \"2\"",
        "fromjson: \"true\"",
        "trunc: abc",
        "suffix: name",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn undefined_value_names_variable_and_line() {
    let c = chart(&[(
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.image.tag }}\n",
    )]);
    let err = render_err(&c, json!({"image": {"repo": "x"}}));
    assert!(err.starts_with("app/templates/cm.yaml:4:"), "{err}");
    assert!(err.contains("tag"), "{err}");
}

#[test]
fn required_fails_with_message_and_location() {
    let c = chart(&[(
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ values.host | required(msg=\"host is required: set values.host\") }}\n",
    )]);
    let err = render_err(&c, json!({}));
    assert!(err.contains("host is required: set values.host"), "{err}");
    assert!(err.contains("app/templates/cm.yaml:6"), "{err}");
}

#[test]
fn include_of_missing_partial_lists_known_ones() {
    let c = chart(&[
        (
            "templates/_h.tera",
            "{% component known() %}k{% endcomponent known %}",
        ),
        ("templates/cm.yaml", "{{ include(component=\"nope\") }}"),
    ]);
    let err = render_err(&c, json!({}));
    assert!(
        err.contains("no partial component named `nope`") && err.contains("known"),
        "{err}"
    );
}

#[test]
fn runaway_include_recursion_is_an_error() {
    let c = chart(&[
        (
            "templates/_h.tera",
            "{% component loop() %}{{ include(component=\"loop\") }}{% endcomponent loop %}",
        ),
        ("templates/cm.yaml", "{{ include(component=\"loop\") }}"),
    ]);
    let err = render_err(&c, json!({}));
    assert!(err.contains("nested more than"), "{err}");
    let c = chart(&[
        (
            "templates/_h.tera",
            "{% component selfish() %}{{ <selfish/> }}{% endcomponent selfish %}",
        ),
        ("templates/cm.yaml", "{{ <selfish/> }}"),
    ]);
    let err = render_err(&c, json!({}));
    assert!(err.to_lowercase().contains("recursion"), "{err}");
}

#[test]
fn invalid_documents_name_template_and_line() {
    let c = chart(&[(
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1\n",
    )]);
    let err = render_err(&c, json!({}));
    assert!(
        err.starts_with("app/templates/cm.yaml: rendered document 1"),
        "{err}"
    );
    let c = chart(&[("templates/cm.yaml", "- just\n- a list\n")]);
    let err = render_err(&c, json!({}));
    assert!(err.contains("not a mapping"), "{err}");
    let c = chart(&[(
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\ndata: {}\n",
    )]);
    let err = render_err(&c, json!({}));
    assert!(err.contains("metadata.name"), "{err}");
}

#[test]
fn syntax_error_has_location() {
    let c = chart(&[("templates/cm.yaml", "a\n{% if %}\n")]);
    let err = render_err(&c, json!({}));
    assert!(err.starts_with("app/templates/cm.yaml:2:"), "{err}");
}

#[test]
fn subcharts_get_scoped_values_globals_and_conditions() {
    let sub = |name: &str| {
        vec![
            (
                format!("charts/{name}/Chart.yaml"),
                format!("apiVersion: charter/v1\nname: {name}\nversion: 1.0.0\n"),
            ),
            (
                format!("charts/{name}/templates/cm.yaml"),
                cm(
                    &format!("{name}-{{{{ values.size }}}}"),
                    "  region: {{ values.global.region }}",
                ),
            ),
        ]
    };
    let mut files = vec![(
        "Chart.yaml".to_string(),
        "apiVersion: charter/v1\nname: app\nversion: 1.0.0\ndependencies:\n  - name: db\n    alias: database\n    condition: database.enabled\n  - name: cache\n    condition: cache.enabled\n".to_string(),
    )];
    files.extend(sub("db"));
    files.extend(sub("cache"));
    let c = Chart::from_files(
        Path::new("app"),
        files
            .into_iter()
            .map(|(p, c)| (p, c.into_bytes()))
            .collect(),
    )
    .unwrap();
    let r = render(
        &c,
        &json!({"global": {"region": "eu"}, "database": {"enabled": true, "size": "big"}, "cache": {"enabled": false, "size": "s"}}),
        &RenderOptions::default(),
    )
    .unwrap();
    assert_eq!(r.manifests.len(), 1, "{:?}", r.manifests);
    assert_eq!(r.manifests[0].header.name, "db-big");
    assert!(r.manifests[0].text().contains("region: eu"));
    assert_eq!(&*r.manifests[0].source, "app/charts/db/templates/cm.yaml");
}

#[test]
fn crds_notes_and_kube_version() {
    let c = chart(&[
        (
            "Chart.yaml",
            "apiVersion: charter/v1\nname: app\nversion: 1.0.0\nkubeVersion: \">=1.30.0-0\"\n",
        ),
        (
            "crds/widget.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n# {{ not templated }}\n",
        ),
        (
            "templates/NOTES.txt",
            "Installed {{ release.name }} rev {{ release.revision }}",
        ),
    ]);
    let opts = RenderOptions {
        notes: true,
        release: Some(ReleaseInfo::install("r", "ns")),
        ..Default::default()
    };
    let r = render(&c, &json!({}), &opts).unwrap();
    assert_eq!(r.crds.len(), 1);
    assert!(r.crds[0].text().contains("{{ not templated }}"));
    assert_eq!(r.notes.as_deref(), Some("Installed r rev 1"));
    let old = RenderOptions {
        capabilities: Capabilities {
            kube_version: "v1.29.3".into(),
            api_versions: vec![],
            from_cluster: false,
        },
        ..Default::default()
    };
    let err = render(&c, &json!({}), &old).unwrap_err().to_string();
    assert!(
        err.contains("requires Kubernetes >=1.30.0-0") && err.contains("v1.29.3"),
        "{err}"
    );
}

#[test]
fn generated_values_are_stable_from_previous_release() {
    let c = chart(&[(
        "templates/s.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: {{ generated(key=\"pw\", length=12) }}\n  b: {{ generated(key=\"pw\") }}\n",
    )]);
    let r = render(&c, &json!({}), &RenderOptions::default()).unwrap();
    let pw = r.generated.get("pw").unwrap().clone();
    assert_eq!(pw.len(), 12);
    assert!(
        r.manifests[0]
            .text()
            .contains(&format!("a: {pw}\n  b: {pw}"))
    );
    let again = RenderOptions {
        previous_generated: r.generated.clone(),
        ..Default::default()
    };
    let r2 = render(&c, &json!({}), &again).unwrap();
    assert_eq!(r2.generated.get("pw"), Some(&pw));
}

#[test]
fn output_is_byte_identical_run_to_run() {
    let c = chart(&[(
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  {{- values.m | to_yaml | nindent(n=2) }}\n  keys: \"{% for k, v in values.m %}{{ k }},{% endfor %}\"\n",
    )]);
    let values = json!({"m": {"z": "1", "a": "2", "m": "3", "b": "4"}});
    let first = render(&c, &values, &RenderOptions::default())
        .unwrap()
        .manifests[0]
        .text()
        .to_string();
    for _ in 0..20 {
        let again = render(&c, &values, &RenderOptions::default())
            .unwrap()
            .manifests[0]
            .text()
            .to_string();
        assert_eq!(first, again);
    }
    assert!(first.contains("keys: \"z,a,m,b,\""), "{first}");
}

#[test]
fn large_output_is_checked_in_batches_with_true_line_numbers() {
    // Over BATCH_BYTES of output: documents are checked in several batches, and each
    // manifest's line must still count from the start of the template's whole output.
    let c = chart(&[(
        "templates/many.yaml",
        "{% for i in range(end=values.n) %}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ i }}\ndata:\n  pad: {{ values.pad | quote }}\n{% endfor %}",
    )]);
    let n = 4000;
    let values = json!({"n": n, "pad": "x".repeat(120)});
    let r = render(&c, &values, &RenderOptions::default()).unwrap();
    assert_eq!(r.manifests.len(), n);
    let bytes: usize = r.manifests.iter().map(|m| m.text().len()).sum();
    assert!(
        bytes > 2 * check::BATCH_BYTES,
        "only {bytes} bytes: not several batches"
    );
    for (i, m) in r.manifests.iter().enumerate() {
        assert_eq!(m.header.name, format!("cm-{i}"));
        // Each document is 7 lines, the first being its `---`.
        assert_eq!(m.line, 7 * i + 2, "cm-{i}");
    }
}

#[test]
fn charter_hooks_are_kept_apart_and_helms_annotation_is_refused() {
    let job = |annotations: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n{annotations}\nspec: {{}}\n"
        )
    };
    let hooked = job(
        "    charter.dev/hook: pre-upgrade\n    charter.dev/hook-weight: \"3\"\n    charter.dev/hook-delete-policy: hook-succeeded",
    );
    let c = chart(&[
        ("templates/cm.yaml", &cm("plain", "  a: \"1\"")),
        ("templates/job.yaml", &hooked),
    ]);
    let r = render(&c, &json!({}), &RenderOptions::default()).unwrap();
    let names: Vec<&str> = r.manifests.iter().map(|m| m.header.name.as_str()).collect();
    assert_eq!(names, ["plain"]);
    assert_eq!(r.hooks.len(), 1);
    let h = &r.hooks[0];
    assert_eq!(
        (
            h.manifest.header.name.as_str(),
            h.events.as_slice(),
            h.weight
        ),
        ("migrate", &["pre-upgrade".to_string()][..], 3)
    );
    assert_eq!(h.delete_policies, ["hook-succeeded"]);

    let helms = chart(&[("templates/job.yaml", &job("    helm.sh/hook: pre-install"))]);
    let e = render_err(&helms, json!({}));
    assert!(
        e.contains("app/templates/job.yaml")
            && e.contains("Job/migrate")
            && e.contains("write `charter.dev/hook`"),
        "{e}"
    );
}
