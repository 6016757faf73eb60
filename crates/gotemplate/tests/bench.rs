//! A micro benchmark: a Helm-like chart (helpers with `define`, `include` through `CallCtx`,
//! a Deployment and a Service reading nested values, ranges over ports and env) parsed once and
//! rendered many times. Ignored by default; run it with
//! `cargo test --release -p gotemplate --test bench -- --ignored --nocapture`.

use std::time::Instant;

use gotemplate::{
    CallCtx, FuncError, FuncMap, MissingKey, Options, Param, Signature, TemplateSet, Value,
};
use serde_json::json;

const HELPERS: &str = r#"{{/* Expand the name of the chart. */}}
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- range $k, $v := . }}
        {{ $k }}: {{ $v | quote }}
        {{- end }}
      {{- end }}
      labels:
        {{- include "app.selectorLabels" . | nindent 8 }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            {{- range .Values.service.ports }}
            - name: {{ .name }}
              containerPort: {{ .port }}
              protocol: {{ .protocol | default "TCP" }}
            {{- end }}
          env:
            {{- range $i, $e := .Values.env }}
            - name: {{ $e.name | upper }}
              value: {{ $e.value | quote }}
            {{- end }}
          {{- if and .Values.resources .Values.resources.limits }}
          resources:
            limits:
              cpu: {{ .Values.resources.limits.cpu }}
              memory: {{ .Values.resources.limits.memory }}
          {{- end }}
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    {{- range .Values.service.ports }}
    - port: {{ .port }}
      targetPort: {{ .name }}
      protocol: {{ .protocol | default "TCP" }}
      name: {{ .name }}
    {{- end }}
  selector:
    {{- include "app.selectorLabels" . | nindent 4 }}
"#;

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Nil => String::new(),
        v => v.to_string(),
    }
}

/// Simplified stand-ins for the Sprig functions the chart uses, and Helm's `include`.
fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    f.insert(
        "include",
        Signature::new(&[Param::String, Param::Any]),
        |ctx: &mut CallCtx<'_>, a: &[Value]| {
            Ok(Value::from(ctx.execute_template(&s(&a[0]), a[1].clone())?))
        },
    );
    f.insert(
        "default",
        Signature::variadic(&[Param::Any], Param::Any),
        |_, a| {
            Ok(match a.get(1) {
                Some(v) if v.is_true() => v.clone(),
                _ => a[0].clone(),
            })
        },
    );
    f.insert(
        "trunc",
        Signature::new(&[Param::Int, Param::String]),
        |_, a| {
            let Value::Int(n) = a[0] else {
                return Err(FuncError::new("trunc"));
            };
            Ok(Value::from(
                s(&a[1]).chars().take(n.max(0) as usize).collect::<String>(),
            ))
        },
    );
    f.insert(
        "trimSuffix",
        Signature::new(&[Param::String, Param::String]),
        |_, a| {
            let (suffix, text) = (s(&a[0]), s(&a[1]));
            Ok(Value::from(
                text.strip_suffix(suffix.as_str())
                    .unwrap_or(&text)
                    .to_string(),
            ))
        },
    );
    f.insert(
        "contains",
        Signature::new(&[Param::String, Param::String]),
        |_, a| Ok(Value::Bool(s(&a[1]).contains(s(&a[0]).as_str()))),
    );
    f.insert("quote", Signature::variadic(&[], Param::Any), |_, a| {
        Ok(Value::from(
            a.iter()
                .map(|v| format!("{:?}", s(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ))
    });
    f.insert("upper", Signature::new(&[Param::String]), |_, a| {
        Ok(Value::from(s(&a[0]).to_uppercase()))
    });
    f.insert(
        "nindent",
        Signature::new(&[Param::Int, Param::String]),
        |_, a| {
            let Value::Int(n) = a[0] else {
                return Err(FuncError::new("nindent"));
            };
            let pad = " ".repeat(n.max(0) as usize);
            Ok(Value::from(format!(
                "\n{pad}{}",
                s(&a[1]).replace('\n', &format!("\n{pad}"))
            )))
        },
    );
    f
}

fn data() -> Value {
    let env: Vec<_> = (0..20)
        .map(|i| json!({"name": format!("var_{i}"), "value": format!("value {i}")}))
        .collect();
    Value::from_json(&json!({
        "Chart": {"Name": "app", "Version": "1.2.3", "AppVersion": "2.0.0"},
        "Release": {"Name": "prod", "Namespace": "default", "Service": "Helm"},
        "Values": {
            "replicaCount": 3, "nameOverride": "", "fullnameOverride": "",
            "image": {"repository": "nginx", "tag": "", "pullPolicy": "IfNotPresent"},
            "autoscaling": {"enabled": false},
            "podAnnotations": {"a": "1", "b": "2", "prometheus.io/scrape": "true"},
            "service": {"type": "ClusterIP", "ports": [
                {"name": "http", "port": 80}, {"name": "https", "port": 443, "protocol": "TCP"},
                {"name": "metrics", "port": 9090}]},
            "env": env,
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}
        }
    }))
}

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
fn render_a_helm_like_chart_many_times() {
    let parses = 2000;
    let start = Instant::now();
    let mut set = TemplateSet::new("gotpl", funcs());
    for _ in 0..parses {
        set = TemplateSet::new("gotpl", funcs());
        set.set_options(Options {
            missing_key: MissingKey::Zero,
            ..Options::default()
        });
        set.parse("app/templates/_helpers.tpl", HELPERS)
            .expect("parses");
        set.parse("app/templates/deployment.yaml", DEPLOYMENT)
            .expect("parses");
        set.parse("app/templates/service.yaml", SERVICE)
            .expect("parses");
    }
    let parse = start.elapsed() / parses;

    let data = data();
    let renders = 20_000;
    let mut bytes = 0;
    let start = Instant::now();
    for _ in 0..renders {
        for name in [
            "app/templates/deployment.yaml",
            "app/templates/service.yaml",
        ] {
            bytes += set.execute(name, &data).expect("renders").len();
        }
    }
    let render = start.elapsed() / renders;
    let sample = set
        .execute("app/templates/deployment.yaml", &data)
        .expect("renders");
    assert!(
        sample.contains("name: prod-app") && sample.contains("VAR_19"),
        "{sample}"
    );
    println!(
        "parse (3 files, {} bytes): {parse:?} per set; render (2 files, {} bytes): {render:?} per chart ({:.0} charts/s)",
        HELPERS.len() + DEPLOYMENT.len() + SERVICE.len(),
        bytes / renders as usize,
        1.0 / render.as_secs_f64()
    );
}
