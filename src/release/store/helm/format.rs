//! Helm's release record, as Helm 3 and Helm 4 store it (`helm.sh/release.v1`): the release as
//! JSON, gzip-compressed, base64-encoded, in the `release` key of a Secret (or ConfigMap) named
//! `sh.helm.release.v1.<release>.v<version>`, labelled `owner=helm`, `name`, `version`,
//! `status`.
//!
//! | field | charter's record | notes |
//! |---|---|---|
//! | `name`, `namespace`, `version` | name, namespace, revision | |
//! | `info.status` | status | Helm's `unknown` reads as failed |
//! | `info.first_deployed`, `last_deployed`, `deleted`, `description`, `notes` | the same | Helm 3 writes an empty `deleted`; Helm 4 leaves zero times out |
//! | `chart.metadata`, `chart.values` | chart (name, version, appVersion, description) | the digest is taken over the stored chart |
//! | `config` | user values | `--reuse-values` starts from them |
//! | `chart.values` coalesced with `config` | values | as `helm get values --all` computes them |
//! | `manifest` | manifest; the inventory is read from it | |
//! | `hooks` | hooks | |
//! | `apply_method` | — | Helm 4 only: `ssa` or `csa` (absent: client-side) |
//!
//! A record Helm wrote is kept as read ([`HelmRelease`] keeps fields charter does not know), so
//! rewriting its status changes nothing else. A record charter writes has what Helm reads: the
//! chart's metadata and values (no templates: Helm's upgrade and rollback never render a stored
//! chart), the user values, the manifest and hooks.

use std::io::{Read, Write};

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Digest;

use crate::object::ObjectRef;
use crate::release::record::{ChartRef, Hook, HookRun, RECORD_API_VERSION, ReleaseRecord, Status};

/// The `type` of the Secrets Helm writes.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// The `owner` label value of Helm's records.
pub const OWNER: &str = "helm";
/// The `owner` label of a Helm record `charter adopt` kept as a backup: neither Helm nor
/// charter lists it as a revision.
pub const ADOPTED_OWNER: &str = "charter-adopted";
/// The data key holding the encoded record.
pub const DATA_KEY: &str = "release";
/// What Kubernetes accepts in one Secret's or ConfigMap's data: 1 MiB.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
/// Labels Helm sets itself; any other label on a record is a custom label (`helm --labels`),
/// carried to the next revision as Helm does.
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// The name of a revision's Secret or ConfigMap.
pub fn object_name(release: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{release}.v{version}")
}

/// A release as Helm stores it. Fields charter does not read are kept in `rest` (and the chart
/// and hooks as they were), so a record rewritten by charter keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelmRelease {
    /// Release name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Status, times, description, notes.
    #[serde(default)]
    pub info: HelmInfo,
    /// Helm's chart object (metadata, values, templates, files, ...).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub chart: Value,
    /// The values the user supplied.
    #[serde(default, skip_serializing_if = "is_empty_config")]
    pub config: Value,
    /// The rendered manifest.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// Hooks, as Helm wrote them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Value>,
    /// Revision.
    #[serde(default)]
    pub version: u64,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Helm 4: `ssa` (server-side apply) or `csa`; absent means client-side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_method: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

fn is_empty_config(v: &Value) -> bool {
    v.is_null() || v.as_object().is_some_and(Map::is_empty)
}

/// `info` of a Helm release.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HelmInfo {
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub first_deployed: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_deployed: String,
    /// RFC 3339; empty (Helm 3) or absent (Helm 4) when not uninstalled.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deleted: String,
    /// What happened.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `deployed`, `pending-upgrade`, ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Anything else (`resources`).
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// What a new revision takes over from the release's latest Helm record, as `helm upgrade`
/// does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inherited {
    /// Helm 4's apply method: Helm's `--server-side=auto` goes on the way the latest revision
    /// went.
    pub apply_method: Option<String>,
    /// Custom labels (`helm --labels`).
    pub labels: std::collections::BTreeMap<String, String>,
}

impl HelmRelease {
    /// Decodes the text Helm stores (base64 of gzip of JSON; Helm also reads uncompressed
    /// JSON). The error says which step failed.
    pub fn decode(text: &[u8]) -> Result<HelmRelease, String> {
        let text: Vec<u8> = text
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .map_err(|e| format!("the record is not base64 ({e})"))?;
        let json = if raw.starts_with(&GZIP_MAGIC) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| format!("the record is not valid gzip data ({e})"))?;
            out
        } else {
            raw
        };
        serde_json::from_slice(&json).map_err(|e| format!("the record is not a Helm release ({e})"))
    }

    /// Encodes the record as Helm does: JSON, gzip (best compression), base64.
    pub fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&json);
        let zipped = gz.finish().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .encode(zipped)
            .into_bytes()
    }

    /// The chart's metadata (`chart.metadata`), or an empty map.
    fn metadata(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.chart
            .get("metadata")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The manifest's objects, namespaces as written. A document that is not an object is an
    /// error naming it.
    pub fn objects(&self) -> Result<Vec<ObjectRef>, String> {
        crate::manifest::split_documents(&self.manifest)
            .into_iter()
            .enumerate()
            .map(|(i, (range, line))| {
                crate::manifest::scan_object(&self.manifest[range]).map_err(|(l, problem)| {
                    format!(
                        "document {} of its manifest (line {}) is not an object charter can read: {problem}",
                        i + 1,
                        line + l.saturating_sub(1)
                    )
                })
            })
            .collect()
    }

    /// The manifest's objects placed as Helm applied them: a namespaced kind (`namespaced`'s
    /// answer) in the namespace written in the document, else the release's; a cluster-scoped
    /// one in none.
    pub fn inventory(
        &self,
        namespaced: &dyn Fn(&ObjectRef) -> bool,
    ) -> Result<Vec<ObjectRef>, String> {
        let mut out = self.objects()?;
        for item in &mut out {
            item.namespace = if namespaced(item) {
                Some(
                    item.namespace
                        .take()
                        .unwrap_or_else(|| self.namespace.clone()),
                )
            } else {
                None
            };
        }
        Ok(out)
    }

    /// The record charter works with; `inventory` from [`HelmRelease::inventory`].
    pub fn to_record(&self, inventory: Vec<ObjectRef>) -> ReleaseRecord {
        let meta = self.metadata();
        let text = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_string);
        let defaults = self.chart.get("values").cloned().unwrap_or(Value::Null);
        let user = match &self.config {
            Value::Null => json!({}),
            v => v.clone(),
        };
        let values = crate::values::coalesce(
            user.clone(),
            &match defaults {
                Value::Object(_) => defaults,
                _ => json!({}),
            },
        );
        let (status, description) = match Status::parse(&self.info.status) {
            Some(s) => (s, self.info.description.clone()),
            None => (
                Status::Failed,
                format!(
                    "{} (Helm status `{}`)",
                    self.info.description, self.info.status
                ),
            ),
        };
        let digest = sha2::Sha256::digest(serde_json::to_vec(&self.chart).unwrap_or_default());
        ReleaseRecord {
            api_version: RECORD_API_VERSION.to_string(),
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            revision: self.version,
            status,
            description,
            chart: ChartRef {
                name: text("name").unwrap_or_default(),
                version: text("version").unwrap_or_default(),
                app_version: text("appVersion"),
                description: text("description"),
                digest: format!("sha256:{}", hex::encode(digest)),
                // Helm does not record where a chart came from.
                source: None,
            },
            values,
            user_values: user,
            layers: Vec::new(),
            target: None,
            manifest: self.manifest.clone(),
            inventory,
            notes: self.info.notes.clone(),
            hooks: self.hooks.iter().filter_map(hook_from_helm).collect(),
            generated: Default::default(),
            // Helm keeps custom labels on its Secret, not in the record; see `Inherited`.
            labels: Default::default(),
            first_deployed: self.info.first_deployed.clone(),
            last_deployed: self.info.last_deployed.clone(),
            deleted: (!self.info.deleted.is_empty()).then(|| self.info.deleted.clone()),
            charter_version: env!("CARGO_PKG_VERSION").to_string(),
            checksum: String::new(),
        }
    }

    /// A new Helm record of `record`: what Helm's history, rollback, upgrade and `get` read.
    pub fn from_record(record: &ReleaseRecord, inherited: &Inherited) -> HelmRelease {
        let mut metadata = Map::new();
        metadata.insert("name".into(), record.chart.name.clone().into());
        metadata.insert("version".into(), record.chart.version.clone().into());
        if let Some(d) = &record.chart.description {
            metadata.insert("description".into(), d.clone().into());
        }
        metadata.insert("apiVersion".into(), "v2".into());
        if let Some(a) = &record.chart.app_version {
            metadata.insert("appVersion".into(), a.clone().into());
        }
        let values = match &record.values {
            Value::Object(_) => record.values.clone(),
            _ => json!({}),
        };
        let mut out = HelmRelease {
            name: record.name.clone(),
            info: HelmInfo::default(),
            // Helm's `--reuse-values` coalesces the stored chart's values with `config`: the
            // merged values are the same defaults after that coalescing.
            chart: json!({
                "metadata": metadata,
                "lock": null,
                "templates": [],
                "values": values,
                "schema": null,
                "files": [],
            }),
            config: record.user_values.clone(),
            manifest: record.manifest.clone(),
            hooks: record.hooks.iter().map(hook_to_helm).collect(),
            version: record.revision,
            namespace: record.namespace.clone(),
            apply_method: inherited.apply_method.clone(),
            rest: Map::new(),
        };
        out.info.first_deployed = record.first_deployed.clone();
        out.set_state(record);
        out
    }

    /// Takes what an operation changes of a revision (status, description, times, notes) from
    /// `record`, keeping everything else as stored.
    pub fn set_state(&mut self, record: &ReleaseRecord) {
        self.info.status = record.status.as_str().to_string();
        self.info.description = record.description.clone();
        self.info.last_deployed = record.last_deployed.clone();
        self.info.deleted = record.deleted.clone().unwrap_or_default();
        self.info.notes = record.notes.clone();
    }
}

fn hook_from_helm(v: &Value) -> Option<Hook> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let list = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let last_run = v.get("last_run").and_then(Value::as_object).map(|r| {
        let t = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        HookRun {
            started_at: t("started_at"),
            completed_at: t("completed_at"),
            phase: t("phase"),
        }
    });
    Some(Hook {
        name: s("name"),
        kind: s("kind"),
        path: s("path"),
        manifest: s("manifest"),
        events: list("events"),
        weight: v.get("weight").and_then(Value::as_i64).unwrap_or(0),
        delete_policies: list("delete_policies"),
        output_log_policies: list("output_log_policies"),
        last_run: last_run.filter(|r| !r.phase.is_empty() || !r.started_at.is_empty()),
    })
}

fn hook_to_helm(h: &Hook) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), h.name.clone().into());
    m.insert("kind".into(), h.kind.clone().into());
    m.insert("path".into(), h.path.clone().into());
    m.insert("manifest".into(), h.manifest.clone().into());
    m.insert("events".into(), h.events.clone().into());
    let run = h.last_run.clone().unwrap_or_default();
    let mut last_run = Map::new();
    if !run.started_at.is_empty() {
        last_run.insert("started_at".into(), run.started_at.into());
    }
    if !run.completed_at.is_empty() {
        last_run.insert("completed_at".into(), run.completed_at.into());
    }
    last_run.insert("phase".into(), run.phase.into());
    m.insert("last_run".into(), Value::Object(last_run));
    if h.weight != 0 {
        m.insert("weight".into(), h.weight.into());
    }
    if !h.delete_policies.is_empty() {
        m.insert("delete_policies".into(), h.delete_policies.clone().into());
    }
    if !h.output_log_policies.is_empty() {
        m.insert(
            "output_log_policies".into(),
            h.output_log_policies.clone().into(),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as helm v4.1.4 wrote it for `helm install r4 ./chart -n h4 --set message=hi`
    /// (templates shortened).
    pub(crate) const HELM4_RECORD: &str = r#"{"name":"r4","info":{"first_deployed":"2026-11-30T14:13:47.021166278Z","last_deployed":"2026-11-30T14:13:47.021166278Z","description":"Install complete","status":"deployed","notes":"Thanks for installing r4.\n"},"chart":{"metadata":{"name":"demo","version":"0.1.0","apiVersion":"v2","appVersion":"1.0"},"lock":null,"templates":[{"name":"templates/cm.yaml","data":"YQ==","modtime":"2026-11-30T14:13:46.605936515Z"}],"values":{"extra":true,"message":"hello","replicas":1},"schema":null,"schemamodtime":"0001-01-01T00:00:00Z","files":null,"modtime":"2026-11-30T14:13:46.605936515Z"},"config":{"message":"hi"},"manifest":"---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: r4-cm\ndata:\n  message: \"hi\"\n---\n# Source: demo/templates/role.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r4-reader\nrules: []\n---\n# Source: demo/templates/other.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elsewhere\n  namespace: other\n","hooks":[{"name":"r4-hook","kind":"ConfigMap","path":"demo/templates/hook.yaml","manifest":"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: r4-hook","events":["post-install","post-upgrade"],"last_run":{"started_at":"2026-11-30T14:13:47.419989854Z","completed_at":"2026-11-30T14:13:47.451719886Z","phase":"Succeeded"},"weight":5,"delete_policies":["before-hook-creation"]}],"version":1,"namespace":"h4","apply_method":"ssa"}"#;

    fn encoded(json: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(json.as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD
            .encode(gz.finish().unwrap())
            .into_bytes()
    }

    fn namespaced(r: &ObjectRef) -> bool {
        r.kind != "ClusterRole"
    }

    #[test]
    fn a_helm_4_record_reads_as_a_revision() {
        let h = HelmRelease::decode(&encoded(HELM4_RECORD)).unwrap();
        assert_eq!(h.apply_method.as_deref(), Some("ssa"));
        let r = h.to_record(h.inventory(&namespaced).unwrap());
        assert_eq!(
            (r.name.as_str(), r.namespace.as_str(), r.revision),
            ("r4", "h4", 1)
        );
        assert_eq!(r.status, Status::Deployed);
        assert_eq!(r.chart.name, "demo");
        assert_eq!(r.chart.version, "0.1.0");
        assert_eq!(r.chart.app_version.as_deref(), Some("1.0"));
        assert!(r.chart.digest.starts_with("sha256:"));
        assert_eq!(r.user_values, json!({"message": "hi"}));
        assert_eq!(
            r.values,
            json!({"extra": true, "message": "hi", "replicas": 1})
        );
        assert_eq!(r.notes, "Thanks for installing r4.\n");
        assert_eq!(r.deleted, None);
        assert_eq!(
            r.inventory,
            [
                ObjectRef::new("v1", "ConfigMap", Some("h4"), "r4-cm"),
                ObjectRef::new(
                    "rbac.authorization.k8s.io/v1",
                    "ClusterRole",
                    None,
                    "r4-reader"
                ),
                ObjectRef::new("v1", "ConfigMap", Some("other"), "elsewhere"),
            ]
        );
        assert_eq!(r.hooks.len(), 1);
        assert_eq!(r.hooks[0].events, ["post-install", "post-upgrade"]);
        assert_eq!(r.hooks[0].weight, 5);
        assert_eq!(r.hooks[0].last_run.as_ref().unwrap().phase, "Succeeded");
    }

    #[test]
    fn a_status_change_keeps_the_rest_of_the_record() {
        let mut h = HelmRelease::decode(&encoded(HELM4_RECORD)).unwrap();
        let mut r = h.to_record(Vec::new());
        r.status = Status::Superseded;
        r.description = "Superseded".into();
        h.set_state(&r);
        let back: Value = serde_json::from_slice(&{
            let mut out = Vec::new();
            let zipped = base64::engine::general_purpose::STANDARD
                .decode(h.encode())
                .unwrap();
            flate2::read::GzDecoder::new(zipped.as_slice())
                .read_to_end(&mut out)
                .unwrap();
            out
        })
        .unwrap();
        let mut want: Value = serde_json::from_str(HELM4_RECORD).unwrap();
        want["info"]["status"] = "superseded".into();
        want["info"]["description"] = "Superseded".into();
        assert_eq!(back, want);
    }

    #[test]
    fn a_helm_3_record_and_its_quirks() {
        // Helm 3 writes an empty `deleted`, no apply_method; Helm also reads plain JSON.
        let json = r#"{"name":"r3","info":{"first_deployed":"2026-11-30T15:13:47.6+01:00","last_deployed":"2026-11-30T15:13:47.6+01:00","deleted":"","description":"Upgrade \"r3\" failed","status":"unknown"},"chart":{"metadata":{"name":"demo","version":"0.1.0"},"values":null},"manifest":"","version":4,"namespace":"h3"}"#;
        let plain = base64::engine::general_purpose::STANDARD.encode(json);
        let h = HelmRelease::decode(plain.as_bytes()).unwrap();
        assert_eq!(h.apply_method, None);
        let r = h.to_record(h.inventory(&namespaced).unwrap());
        assert_eq!(r.status, Status::Failed);
        assert!(
            r.description.contains("Helm status `unknown`"),
            "{}",
            r.description
        );
        assert_eq!(r.deleted, None);
        assert_eq!(r.values, json!({}));
        assert!(r.inventory.is_empty());
    }

    #[test]
    fn what_charter_writes_reads_back_the_same() {
        let h = HelmRelease::decode(&encoded(HELM4_RECORD)).unwrap();
        let mut r = h.to_record(h.inventory(&namespaced).unwrap());
        r.revision = 2;
        r.status = Status::PendingUpgrade;
        r.deleted = Some("2026-12-01T00:00:00Z".into());
        let inherited = Inherited {
            apply_method: Some("ssa".into()),
            labels: Default::default(),
        };
        let written = HelmRelease::from_record(&r, &inherited);
        let back = HelmRelease::decode(&written.encode()).unwrap();
        assert_eq!(back, written);
        assert_eq!(back.apply_method.as_deref(), Some("ssa"));
        let mut again = back.to_record(back.inventory(&namespaced).unwrap());
        // The digest is over the stored chart, which charter writes without templates.
        again.chart.digest = r.chart.digest.clone();
        assert_eq!(again, r);
        assert_eq!(back.chart["metadata"]["apiVersion"], "v2");
        assert_eq!(back.hooks[0]["last_run"]["phase"], "Succeeded");
        assert_eq!(
            back.hooks[0]["delete_policies"],
            json!(["before-hook-creation"])
        );
    }

    #[test]
    fn damaged_records_say_what_is_wrong() {
        assert!(
            HelmRelease::decode(b"%%%")
                .unwrap_err()
                .contains("not base64")
        );
        let not_gzip = base64::engine::general_purpose::STANDARD.encode([0x1f, 0x8b, 0x08, 0, 1]);
        assert!(
            HelmRelease::decode(not_gzip.as_bytes())
                .unwrap_err()
                .contains("gzip")
        );
        let not_json = base64::engine::general_purpose::STANDARD.encode("{\"name\": 3");
        assert!(
            HelmRelease::decode(not_json.as_bytes())
                .unwrap_err()
                .contains("not a Helm release")
        );
        let mut h = HelmRelease::decode(&encoded(HELM4_RECORD)).unwrap();
        h.manifest = "---\nkind: ConfigMap\n".into();
        let err = h.inventory(&namespaced).unwrap_err();
        assert!(err.contains("document 1"), "{err}");
    }
}
