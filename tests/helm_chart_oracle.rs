//! Differential tests of the Helm chart layer: whole charts (subcharts, aliases, conditions,
//! tags, globals, import-values, `.Files`, `.Capabilities`, `tpl`/`include`, hooks) rendered by
//! Helm v4.3.1's own loader and install action (`scripts/helm-oracle`, "chart" mode) and by
//! `charter template`. The documents must be the same (charter's install order may differ from
//! Helm's, so documents are compared as sorted lists). Without Go the test says "skipped" on
//! stderr and passes, unless `CI=true`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn oracle() -> Option<PathBuf> {
    let out = Command::new(support::root().join("scripts/helm-oracle"))
        .arg("path")
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success());
    match out {
        Some(o) => Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())),
        None => {
            assert!(
                !support::cluster_required(),
                "CI=true but scripts/helm-oracle could not be built"
            );
            support::say("helm chart oracle: skipped: scripts/helm-oracle could not be built");
            None
        }
    }
}

/// A chart as (path, text) pairs, and the `--set` flags.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, &'static str)>,
    set: Vec<&'static str>,
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Release.Name }}\ndata:\n  values: {{ toJson .Values | quote }}\n";

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "subcharts, alias, condition, tags, globals",
            files: vec![
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 0.1.0\n- name: sub\n  alias: second\n  version: 0.1.0\n  condition: second.enabled\n- name: off\n  version: 0.1.0\n  tags: [extra]\n",
                ),
                (
                    "values.yaml",
                    "global:\n  region: eu\n  n: 1000000\nsub:\n  a: 1\nsecond:\n  enabled: true\n  a: 2\ntags:\n  extra: false\n",
                ),
                ("templates/cm.yaml", CM),
                (
                    "charts/sub/Chart.yaml",
                    "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
                ),
                (
                    "charts/sub/values.yaml",
                    "a: 0\nb: [1, 2]\nglobal:\n  own: x\n",
                ),
                ("charts/sub/templates/cm.yaml", CM),
                (
                    "charts/off/Chart.yaml",
                    "apiVersion: v2\nname: off\nversion: 0.1.0\n",
                ),
                ("charts/off/templates/cm.yaml", CM),
            ],
            set: vec!["sub.b=null", "global.region=us"],
        },
        Case {
            name: "import-values, both forms",
            files: vec![
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: lib\n  version: 0.1.0\n  import-values:\n  - exported\n  - child: deep.table\n    parent: fromdeep\n",
                ),
                ("values.yaml", "fromdeep:\n  keep: mine\n"),
                ("templates/cm.yaml", CM),
                (
                    "charts/lib/Chart.yaml",
                    "apiVersion: v2\nname: lib\nversion: 0.1.0\n",
                ),
                (
                    "charts/lib/values.yaml",
                    "exports:\n  exported:\n    port: 80\ndeep:\n  table:\n    keep: theirs\n    x: 1\n",
                ),
                ("charts/lib/templates/cm.yaml", CM),
            ],
            set: vec![],
        },
        Case {
            name: "Files, Capabilities, tpl, include, Template, hooks",
            files: vec![
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: top\nversion: 1.0.0\nappVersion: \"2.0\"\n",
                ),
                (
                    "values.yaml",
                    "greeting: \"hello {{ .Release.Name }}\"\nlist: [a, b]\n",
                ),
                ("files/a.txt", "line1\nline2\n"),
                ("files/b.conf", "k=v\n"),
                (
                    "templates/_helpers.tpl",
                    "{{- define \"top.labels\" -}}\napp: {{ .Chart.Name }}\nversion: {{ .Chart.AppVersion | quote }}\n{{- end }}\n",
                ),
                (
                    "templates/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\n  labels:\n    {{- include \"top.labels\" . | nindent 4 }}\ndata:\n  greeting: {{ tpl .Values.greeting . | quote }}\n  a: {{ .Files.Get \"files/a.txt\" | quote }}\n  lines: {{ .Files.Lines \"files/a.txt\" | toJson | quote }}\n  glob: {{ range $p, $_ := .Files.Glob \"files/*\" }}{{ $p }},{{ end }}\n  kube: {{ .Capabilities.KubeVersion.Version }}\n  hasApps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n  template: {{ .Template.Name }}\n  base: {{ .Template.BasePath }}\n  list: {{ .Values.list | toYaml | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: asconfig\ndata:\n{{ (.Files.Glob \"files/*\").AsConfig | indent 2 }}\n",
                ),
                (
                    "templates/hook.yaml",
                    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\nspec: {}\n",
                ),
            ],
            set: vec!["list={x,y}"],
        },
    ]
}

/// Documents of a stream, trimmed, `---` separators dropped, sorted.
fn documents(stream: &str) -> Vec<String> {
    let mut docs: Vec<String> = stream
        .split("\n---")
        .map(|d| d.trim().trim_start_matches("---").trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    docs.sort();
    docs
}

#[test]
fn charts_render_as_helms_own_code_renders_them() {
    let Some(oracle) = oracle() else {
        return;
    };
    let mut child = Command::new(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the oracle");
    let mut stdin = child.stdin.take().expect("oracle stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("oracle stdout"));
    let mut failures = Vec::new();
    let all = cases();
    for c in &all {
        let files: Vec<Value> = c
            .files
            .iter()
            .map(|(n, t)| json!({"name": n, "text": t}))
            .collect();
        let req = json!({"mode": "chart", "files": files, "set": c.set, "release": "r", "namespace": "ns", "kube_version": "1.33.0"});
        writeln!(stdin, "{req}").expect("write to the oracle");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the oracle");
        let resp: Value = serde_json::from_str(&line).expect("oracle JSON");
        if let Some(e) = resp.get("error") {
            failures.push(format!("{}: helm failed: {e}", c.name));
            continue;
        }
        let mut helm = resp["manifest"].as_str().unwrap_or("").to_string();
        for h in resp["hooks"].as_array().into_iter().flatten() {
            helm.push_str(&format!(
                "\n---\n# Source: {}\n{}",
                h["path"].as_str().unwrap_or(""),
                h["manifest"].as_str().unwrap_or("")
            ));
        }
        let tmp = tempfile::tempdir().unwrap();
        for (n, t) in &c.files {
            support::write(tmp.path(), n, t);
        }
        // The oracle is Helm v4.3.1's library, whose offline KubeVersion differs from v4.1.4's.
        let mut args = vec![
            "template",
            "r",
            tmp.path().to_str().unwrap(),
            "-n",
            "ns",
            "--kube-version",
            "1.33.0",
        ];
        for s in &c.set {
            args.extend(["--set", s]);
        }
        let out = support::charter().run(&args);
        if !out.status.success() {
            failures.push(format!(
                "{}: charter failed: {}",
                c.name,
                String::from_utf8_lossy(&out.stderr)
            ));
            continue;
        }
        let ours = documents(&String::from_utf8_lossy(&out.stdout));
        let want = documents(&helm);
        if ours != want {
            failures.push(format!(
                "{}:\n  helm:    {want:#?}\n  charter: {ours:#?}",
                c.name
            ));
        }
    }
    drop(stdin);
    let _ = child.wait();
    support::say(&format!("{} charts compared with Helm's code", all.len()));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
