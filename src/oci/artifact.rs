//! Helm's chart artifact, byte for byte as Helm v4 (`pkg/registry`) writes it, so that a chart
//! charter pushes is the manifest `helm push` of the same `.tgz` would have made (same digest
//! when the creation time is the same), and either tool pulls the other's pushes:
//!
//! - config `application/vnd.cncf.helm.config.v1+json`: Chart.yaml as Go's `encoding/json`
//!   marshals Helm's `Metadata` struct — Helm's field order, empty fields omitted, map keys
//!   sorted, `<`, `>`, `&` escaped as `\u003c`…, after Helm's own clean-up of the strings
//!   (whitespace becomes a space, control characters go);
//! - layers: the archive as `application/vnd.cncf.helm.chart.content.v1.tar+gzip` and, when
//!   given, the provenance file as `application/vnd.cncf.helm.chart.provenance.v1.prov`,
//!   sorted by digest;
//! - an OCI image manifest (`schemaVersion` 2, no `mediaType` field, as Helm writes it) with the
//!   `org.opencontainers.image.*` annotations Helm derives from Chart.yaml (description,
//!   title, version, url, created, source, authors) plus the chart's own annotations, which
//!   may not override title or version.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::OciError;
use crate::chart::{ArchiveLimits, read_archive, sha256_hex};

/// The OCI image manifest media type.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type (a multi-platform image, never a chart).
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's image manifest media type.
pub const DOCKER_MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list media type.
pub const DOCKER_LIST_MEDIA_TYPE: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The config of an OCI container image.
pub const OCI_IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The config of a Docker container image.
pub const DOCKER_IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.docker.container.image.v1+json";
/// Helm's chart config.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's chart archive layer.
pub const CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm's provenance layer.
pub const PROV_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The chart layer media type of Helm 3.0–3.6 pushes, still read.
pub const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the content.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// The descriptor of `bytes`.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: format!("sha256:{}", sha256_hex(bytes)),
            size: bytes.len() as u64,
            annotations: None,
        }
    }
}

/// An OCI image manifest (fields in the order Go's `ocispec.Manifest` marshals them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type, when written in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1), when written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The layers of a chart manifest that charter uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartLayers {
    /// The chart archive.
    pub chart: Descriptor,
    /// The provenance file, if pushed with one.
    pub prov: Option<Descriptor>,
}

/// Checks that `bytes` (served with Content-Type `content_type`) is a Helm chart manifest and
/// returns it with its chart layers; anything else is [`OciError::NotAChart`] naming what it
/// is.
pub fn parse_chart_manifest(
    reference: &str,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<(Manifest, ChartLayers), OciError> {
    let not_a_chart = |what: String| OciError::NotAChart {
        reference: reference.to_string(),
        what,
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| OciError::Protocol {
        registry: reference.to_string(),
        message: format!("the manifest is not valid JSON: {e}"),
    })?;
    let declared = probe
        .media_type
        .as_deref()
        .or(content_type.map(|c| c.split(';').next().unwrap_or(c).trim()));
    if probe.manifests.is_some()
        || matches!(declared, Some(INDEX_MEDIA_TYPE | DOCKER_LIST_MEDIA_TYPE))
    {
        return Err(not_a_chart(format!(
            "an image index ({}), which lists images for several platforms; Helm charts are single manifests",
            declared.unwrap_or(INDEX_MEDIA_TYPE)
        )));
    }
    let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| OciError::Protocol {
        registry: reference.to_string(),
        message: format!("the manifest is not an OCI image manifest: {e}"),
    })?;
    if manifest.config.media_type != CONFIG_MEDIA_TYPE {
        let what = match (&manifest.artifact_type, manifest.config.media_type.as_str()) {
            (Some(a), _) => format!("an artifact of type {a}"),
            (None, t @ (OCI_IMAGE_CONFIG_MEDIA_TYPE | DOCKER_IMAGE_CONFIG_MEDIA_TYPE)) => {
                format!("a container image (config {t})")
            }
            (None, t) => format!("an artifact with config media type {t}"),
        };
        return Err(not_a_chart(what));
    }
    let chart = manifest
        .layers
        .iter()
        .find(|l| {
            l.media_type == CHART_LAYER_MEDIA_TYPE || l.media_type == LEGACY_CHART_LAYER_MEDIA_TYPE
        })
        .cloned()
        .ok_or_else(|| {
            let types: Vec<&str> = manifest
                .layers
                .iter()
                .map(|l| l.media_type.as_str())
                .collect();
            not_a_chart(format!(
                "a Helm config without a chart layer ({CHART_LAYER_MEDIA_TYPE}); its layers are: {}",
                if types.is_empty() {
                    "none".to_string()
                } else {
                    types.join(", ")
                }
            ))
        })?;
    for d in std::iter::once(&chart).chain(manifest.layers.iter()) {
        super::reference::parse_digest(&d.digest).map_err(|e| OciError::Protocol {
            registry: reference.to_string(),
            message: format!("the manifest's layer {}: {e}", d.media_type),
        })?;
    }
    let prov = manifest
        .layers
        .iter()
        .find(|l| l.media_type == PROV_LAYER_MEDIA_TYPE)
        .cloned();
    Ok((manifest, ChartLayers { chart, prov }))
}

/// Helm's `Maintainer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelmMaintainer {
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// E-mail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// Home page.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// Helm's `Dependency` (`name` and `repository` are always written).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HelmDependency {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Version range.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Repository URL.
    #[serde(default)]
    pub repository: String,
    /// Condition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Enabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enabled: bool,
    /// Import values.
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<serde_json::Value>,
    /// Alias.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
}

/// Helm's chart `Metadata`, the config blob of a chart artifact. Field order is Helm's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmMetadata {
    /// Chart name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Home page.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home: String,
    /// Source URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Chart version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Maintainers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintainers: Vec<HelmMaintainer>,
    /// Icon URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    /// `v1`, `v2` (Helm) or `charter/v1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Condition (Helm v1 charts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    /// Tags (Helm v1 charts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// Application version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deprecated: bool,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Kubernetes version constraint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    /// Dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<HelmDependency>,
    /// `application` or `library`.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub chart_type: String,
}

#[derive(Deserialize)]
struct Requirements {
    #[serde(default)]
    dependencies: Vec<HelmDependency>,
}

impl HelmMetadata {
    /// Reads Chart.yaml (and a Helm v1 chart's `requirements.yaml`) from a chart archive, as
    /// Helm's loader does.
    pub fn from_archive(origin: &Path, archive: &[u8]) -> Result<HelmMetadata, OciError> {
        let files = read_archive(origin, archive, &ArchiveLimits::default())?;
        let file = |name: &str| files.iter().find(|(p, _)| p == name).map(|(_, b)| b);
        let label = format!("{}: Chart.yaml", origin.display());
        let bad = |message: String| OciError::Chart {
            origin: origin.display().to_string(),
            message,
        };
        let chart_yaml = file("Chart.yaml").ok_or_else(|| {
            bad("the archive has no Chart.yaml at its top directory; package the chart with `charter package` or `helm package`".into())
        })?;
        let src = std::str::from_utf8(chart_yaml)
            .map_err(|_| bad(format!("{label} is not UTF-8 text")))?;
        let mut meta: HelmMetadata =
            crate::yaml::from_str(src).map_err(|e| bad(format!("{label}: {e}")))?;
        if let Some(req) = file("requirements.yaml") {
            let src = std::str::from_utf8(req)
                .map_err(|_| bad("requirements.yaml is not UTF-8 text".into()))?;
            let r: Requirements =
                crate::yaml::from_str(src).map_err(|e| bad(format!("requirements.yaml: {e}")))?;
            meta.dependencies = r.dependencies;
        }
        if meta.api_version.is_empty() {
            meta.api_version = "v1".into();
        }
        for (field, value) in [("name", &meta.name), ("version", &meta.version)] {
            if value.trim().is_empty() {
                return Err(bad(format!(
                    "{label} has no `{field}`; a chart needs a name and a version to be pushed"
                )));
            }
        }
        meta.sanitize();
        Ok(meta)
    }

    /// Helm's `Metadata.Validate` clean-up, which runs before Helm marshals the config.
    fn sanitize(&mut self) {
        for s in [
            &mut self.name,
            &mut self.description,
            &mut self.home,
            &mut self.icon,
            &mut self.condition,
            &mut self.tags,
            &mut self.app_version,
            &mut self.kube_version,
        ] {
            *s = sanitize(s);
        }
        for s in self.sources.iter_mut().chain(self.keywords.iter_mut()) {
            *s = sanitize(s);
        }
        for m in &mut self.maintainers {
            for s in [&mut m.name, &mut m.email, &mut m.url] {
                *s = sanitize(s);
            }
        }
    }

    /// The config blob: this metadata as Go's `json.Marshal` writes it.
    pub fn to_config_json(&self) -> Vec<u8> {
        go_json(self)
    }

    /// The manifest annotations Helm writes for this chart.
    pub fn oci_annotations(&self, created: &str) -> BTreeMap<String, String> {
        let mut a = BTreeMap::new();
        let mut add = |k: &str, v: &str| {
            if !v.trim().is_empty() {
                a.insert(format!("org.opencontainers.image.{k}"), v.to_string());
            }
        };
        add("description", &self.description);
        add("title", &self.name);
        add("version", &self.version);
        add("url", &self.home);
        add("created", created);
        if let Some(s) = self.sources.first() {
            add("source", s);
        }
        if !self.maintainers.is_empty() {
            let authors: Vec<String> = self
                .maintainers
                .iter()
                .map(|m| {
                    let mut s = m.name.clone();
                    if !m.email.is_empty() {
                        s.push_str(&format!(" ({})", m.email));
                    }
                    s
                })
                .collect();
            add("authors", &authors.join(", "));
        }
        for (k, v) in &self.annotations {
            if k != "org.opencontainers.image.title" && k != "org.opencontainers.image.version" {
                a.insert(k.clone(), v.clone());
            }
        }
        a
    }
}

/// Helm's `sanitizeString`: Unicode whitespace becomes a space; control characters (what Go's
/// `unicode.IsPrint` refuses that matters in practice) are dropped.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{feff}')
            {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// JSON as Go's `encoding/json` marshals it: compact, and `<`, `>`, `&`, U+2028 and U+2029
/// escaped. Those characters only ever occur inside JSON strings, so escaping them in the
/// output text is exact.
pub fn go_json<T: Serialize>(value: &T) -> Vec<u8> {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

/// A chart artifact ready to push: every blob and the manifest that ties them.
#[derive(Debug, Clone)]
pub struct ChartArtifact {
    /// The chart's metadata (the config, parsed).
    pub metadata: HelmMetadata,
    /// The config blob.
    pub config: Vec<u8>,
    /// The chart archive.
    pub chart: Vec<u8>,
    /// The provenance file.
    pub prov: Option<Vec<u8>>,
    /// The manifest bytes.
    pub manifest: Vec<u8>,
    /// The manifest, parsed.
    pub manifest_parsed: Manifest,
}

impl ChartArtifact {
    /// Builds the artifact of a chart archive. `created` is the RFC 3339 time written as
    /// `org.opencontainers.image.created` (Helm uses the archive file's modification time).
    pub fn build(
        origin: &Path,
        archive: Vec<u8>,
        prov: Option<Vec<u8>>,
        created: &str,
    ) -> Result<ChartArtifact, OciError> {
        let metadata = HelmMetadata::from_archive(origin, &archive)?;
        let config = metadata.to_config_json();
        let mut layers = vec![Descriptor::of(CHART_LAYER_MEDIA_TYPE, &archive)];
        if let Some(p) = &prov {
            layers.push(Descriptor::of(PROV_LAYER_MEDIA_TYPE, p));
        }
        layers.sort_by(|a, b| a.digest.cmp(&b.digest));
        let annotations = metadata.oci_annotations(created);
        let manifest_parsed = Manifest {
            schema_version: 2,
            media_type: None,
            artifact_type: None,
            config: Descriptor::of(CONFIG_MEDIA_TYPE, &config),
            layers,
            annotations: (!annotations.is_empty()).then_some(annotations),
        };
        let manifest = go_json(&manifest_parsed);
        Ok(ChartArtifact {
            metadata,
            config,
            chart: archive,
            prov,
            manifest,
            manifest_parsed,
        })
    }

    /// The tag this chart is pushed under (its version, `+` as `_`).
    pub fn tag(&self) -> String {
        super::reference::version_to_tag(&self.metadata.version)
    }

    /// `sha256:<hex>` of the manifest.
    pub fn manifest_digest(&self) -> String {
        format!("sha256:{}", sha256_hex(&self.manifest))
    }
}

/// Seconds since the epoch as RFC 3339 UTC without fractions (Go's `time.RFC3339`).
pub fn rfc3339_seconds(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let t = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::MAX);
    crate::repo::rfc3339(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(files: &[(&str, &str)]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, path, body.as_bytes()).unwrap();
        }
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        gz.finish().unwrap()
    }

    const CHART: &str = "apiVersion: v2\nname: web\nversion: 1.2.3+build.1\nappVersion: 1.10\ndescription: A <web> & \"app\"\nhome: https://example.com\nsources: [https://src.example.com, https://b]\nmaintainers:\n- name: Ann\n  email: ann@example.com\n- name: Bob\nkeywords: [a]\nannotations:\n  z: last\n  org.opencontainers.image.title: ignored\n  a: first\ndependencies:\n- name: db\n  version: ~1.0\n  repository: oci://h/charts\n  import-values: [x]\ntype: application\nunknownField: kept-out\n";

    // `appVersion: 1.10` is the float 1.1 to Helm's loader too (`helm show chart` prints "1.1").
    #[test]
    fn the_config_is_chart_yaml_as_helm_marshals_it() {
        let meta =
            HelmMetadata::from_archive(Path::new("web.tgz"), &tgz(&[("web/Chart.yaml", CHART)]))
                .unwrap();
        let json = String::from_utf8(meta.to_config_json()).unwrap();
        assert_eq!(
            json,
            r#"{"name":"web","home":"https://example.com","sources":["https://src.example.com","https://b"],"version":"1.2.3+build.1","description":"A \u003cweb\u003e \u0026 \"app\"","keywords":["a"],"maintainers":[{"name":"Ann","email":"ann@example.com"},{"name":"Bob"}],"apiVersion":"v2","appVersion":"1.1","annotations":{"a":"first","org.opencontainers.image.title":"ignored","z":"last"},"dependencies":[{"name":"db","version":"~1.0","repository":"oci://h/charts","import-values":["x"]}],"type":"application"}"#
        );
    }

    #[test]
    fn the_manifest_carries_helms_annotations_and_sorted_layers() {
        let archive = tgz(&[("web/Chart.yaml", CHART)]);
        let a = ChartArtifact::build(
            Path::new("web.tgz"),
            archive.clone(),
            Some(b"prov".to_vec()),
            "2024-01-02T03:04:05Z",
        )
        .unwrap();
        assert_eq!(a.tag(), "1.2.3_build.1");
        let m: serde_json::Value = serde_json::from_slice(&a.manifest).unwrap();
        let keys: Vec<&String> = m.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["schemaVersion", "config", "layers", "annotations"]);
        let ann = &m["annotations"];
        assert_eq!(ann["org.opencontainers.image.title"], "web");
        assert_eq!(ann["org.opencontainers.image.version"], "1.2.3+build.1");
        assert_eq!(
            ann["org.opencontainers.image.created"],
            "2024-01-02T03:04:05Z"
        );
        assert_eq!(
            ann["org.opencontainers.image.source"],
            "https://src.example.com"
        );
        assert_eq!(
            ann["org.opencontainers.image.authors"],
            "Ann (ann@example.com), Bob"
        );
        assert_eq!(ann["a"], "first");
        let layers = m["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 2);
        assert!(layers[0]["digest"].as_str() < layers[1]["digest"].as_str());
        let (parsed, chart_layers) =
            parse_chart_manifest("r", Some(MANIFEST_MEDIA_TYPE), &a.manifest).unwrap();
        assert_eq!(parsed, a.manifest_parsed);
        assert_eq!(
            chart_layers.chart.digest,
            format!("sha256:{}", sha256_hex(&archive))
        );
        assert!(chart_layers.prov.is_some());
    }

    #[test]
    fn other_artifacts_are_named_by_what_they_are() {
        let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}"#;
        let e = parse_chart_manifest("oci://h/x:1", None, image)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("oci://h/x:1")
                && e.contains("container image")
                && e.contains("application/vnd.oci.image.config.v1+json"),
            "{e}"
        );
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        let e = parse_chart_manifest("r", Some(INDEX_MEDIA_TYPE), index)
            .unwrap_err()
            .to_string();
        assert!(e.contains("image index"), "{e}");
        let no_layer = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[{"mediaType":"text/plain","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1}]}"#;
        let e = parse_chart_manifest("r", None, no_layer)
            .unwrap_err()
            .to_string();
        assert!(e.contains("text/plain"), "{e}");
    }

    #[test]
    fn a_v1_chart_takes_dependencies_from_requirements_yaml() {
        let archive = tgz(&[
            (
                "old/Chart.yaml",
                "name: old\nversion: 0.1.0\ndescription: \"tab\\there\"\n",
            ),
            (
                "old/requirements.yaml",
                "dependencies:\n- name: x\n  repository: https://r\n",
            ),
        ]);
        let meta = HelmMetadata::from_archive(Path::new("old.tgz"), &archive).unwrap();
        assert_eq!(meta.api_version, "v1");
        assert_eq!(meta.description, "tab here");
        assert_eq!(meta.dependencies[0].name, "x");
        let e =
            HelmMetadata::from_archive(Path::new("n.tgz"), &tgz(&[("n/Chart.yaml", "name: n\n")]))
                .unwrap_err()
                .to_string();
        assert!(e.contains("n.tgz") && e.contains("version"), "{e}");
    }
}
