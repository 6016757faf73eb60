//! The release record: what one revision of a release was, stored gzip-compressed as JSON
//! with a checksum over its content.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::object::ObjectRef;

/// The record format's identifier, stored in every record.
pub const RECORD_API_VERSION: &str = "charter.dev/release/v1";

/// Where a revision is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// An install is running.
    PendingInstall,
    /// An upgrade is running.
    PendingUpgrade,
    /// A rollback is running.
    PendingRollback,
    /// The live revision.
    Deployed,
    /// Replaced by a later revision.
    Superseded,
    /// The operation failed.
    Failed,
    /// An uninstall is running.
    Uninstalling,
    /// Uninstalled with `--keep-history`.
    Uninstalled,
}

impl Status {
    /// The label value and display form (`pending-install`, `deployed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
            Status::Deployed => "deployed",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::Uninstalled => "uninstalled",
        }
    }

    /// Parses the label form.
    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::PendingInstall,
            Status::PendingUpgrade,
            Status::PendingRollback,
            Status::Deployed,
            Status::Superseded,
            Status::Failed,
            Status::Uninstalling,
            Status::Uninstalled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether an operation was in flight when this was written.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall
                | Status::PendingUpgrade
                | Status::PendingRollback
                | Status::Uninstalling
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A duration as a person reads an age: `45s`, `12m3s`, `3h4m`, `2d3h`.
pub fn format_age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

/// Chart metadata kept with a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartRef {
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// App version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `sha256:<hex>` over the chart's files (sorted path + content).
    pub digest: String,
    /// For a chart pulled from an OCI registry: the reference and the manifest digest pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::repo::ChartSource>,
}

impl ChartRef {
    /// What a revision records of `chart`, pulled from `source` when it came from a registry.
    pub fn of(chart: &crate::chart::Chart, source: Option<&crate::repo::ChartSource>) -> ChartRef {
        ChartRef {
            name: chart.meta.name.clone(),
            version: chart.meta.version.clone(),
            app_version: chart.meta.app_version.clone(),
            description: chart.meta.description.clone(),
            digest: chart.digest(),
            source: source.cloned(),
        }
    }
}

/// The deploy-tree target a revision was rendered for.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    /// Environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Path below the stack root.
    #[serde(default)]
    pub name: String,
}

/// One revision of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRecord {
    /// Always [`RECORD_API_VERSION`].
    pub api_version: String,
    /// Release name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Revision number, from 1.
    pub revision: u64,
    /// Status.
    pub status: Status,
    /// What happened, in words.
    pub description: String,
    /// The chart.
    pub chart: ChartRef,
    /// The merged values.
    pub values: serde_json::Value,
    /// The values the user supplied (every layer above the chart defaults), merged; reapplied
    /// by `upgrade --reuse-values`.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub user_values: serde_json::Value,
    /// The layers used, lowest precedence first (files and flags).
    #[serde(default)]
    pub layers: Vec<String>,
    /// The deploy-tree target, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetRef>,
    /// The rendered manifest (CRDs first, then objects in install order).
    pub manifest: String,
    /// The objects applied.
    #[serde(with = "crate::object::inventory")]
    pub inventory: Vec<ObjectRef>,
    /// Rendered NOTES.txt.
    #[serde(default)]
    pub notes: String,
    /// Hooks of the chart (`helm.sh/hook`), kept with the revision as Helm keeps them: not
    /// part of `manifest` and not in the inventory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<Hook>,
    /// Generated values, read back on upgrade so they stay stable.
    #[serde(default)]
    pub generated: std::collections::BTreeMap<String, String>,
    /// Labels given with `--labels`, also set on the revision's Secret (`charter get metadata`
    /// shows them).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// When the release was first deployed (RFC 3339).
    pub first_deployed: String,
    /// When this revision was written (RFC 3339).
    pub last_deployed: String,
    /// When it was uninstalled, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
    /// The charter version that wrote the record.
    pub charter_version: String,
    /// `sha256:<hex>` over the record serialized with this field empty.
    #[serde(default)]
    pub checksum: String,
}

/// A hook of a revision (`helm.sh/hook` annotations), as Helm records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    /// The hook object's name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The template it came from.
    pub path: String,
    /// The rendered object.
    pub manifest: String,
    /// When it runs (`pre-install`, `post-upgrade`, ...).
    pub events: Vec<String>,
    /// `helm.sh/hook-weight`.
    #[serde(default)]
    pub weight: i64,
    /// `helm.sh/hook-delete-policy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_policies: Vec<String>,
    /// `helm.sh/hook-output-log-policy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_log_policies: Vec<String>,
    /// Its last run, if it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<HookRun>,
}

/// One run of a hook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRun {
    /// When it started (RFC 3339), empty if it did not.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started_at: String,
    /// When it completed (RFC 3339), empty if it did not.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completed_at: String,
    /// `Unknown`, `Running`, `Succeeded` or `Failed`.
    pub phase: String,
}

/// Errors decoding a stored record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not gzip, or truncated.
    #[error("{what}: the record is not valid gzip data: {source}")]
    Gzip {
        /// Which Secret.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a record.
    #[error("{what}: the record is not valid JSON for {RECORD_API_VERSION}: {source}")]
    Json {
        /// Which Secret.
        what: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// The checksum does not match.
    #[error(
        "{what}: the record's checksum does not match its content (stored {stored}, computed {computed}); the Secret was edited or corrupted. charter refuses to act on it: inspect it, restore it, or delete that revision's Secret"
    )]
    Checksum {
        /// Which Secret.
        what: String,
        /// Stored checksum.
        stored: String,
        /// Computed checksum.
        computed: String,
    },
    /// Written by an unknown format version.
    #[error(
        "{what}: unknown record format `{found}` (this charter reads {RECORD_API_VERSION}); upgrade charter"
    )]
    Version {
        /// Which Secret.
        what: String,
        /// The apiVersion found.
        found: String,
    },
}

/// How a record's JSON ends while its checksum is computed: `checksum` is the last field.
const EMPTY_CHECKSUM_TAIL: &[u8] = br#""checksum":""}"#;

/// sha256 over the concatenation of `chunks`, as stored in `checksum`.
fn checksum_of(chunks: &[&[u8]]) -> String {
    let mut hasher = sha2::Sha256::new();
    for c in chunks {
        hasher.update(c);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

impl ReleaseRecord {
    /// How long this revision has been pending (since it was last written), when its status
    /// is one of the pending ones.
    pub fn pending_for(&self) -> Option<std::time::Duration> {
        if !self.status.is_pending() {
            return None;
        }
        let since: jiff::Timestamp = self.last_deployed.parse().ok()?;
        let secs = jiff::Timestamp::now().duration_since(since).as_secs();
        Some(std::time::Duration::from_secs(secs.max(0).unsigned_abs()))
    }

    /// The record's checksum: sha256 over its JSON with `checksum` empty.
    pub fn compute_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        checksum_of(&[&serde_json::to_vec(&copy).unwrap_or_default()])
    }

    /// Sets the checksum, serializes and gzips the record.
    pub fn encode(&mut self) -> Vec<u8> {
        // One serialization serves both the checksum and the stored JSON: `checksum` is the
        // last field, so its value is spliced into the empty string it was hashed with.
        self.checksum.clear();
        let mut json = serde_json::to_vec(self).unwrap_or_default();
        let checksum = checksum_of(&[&json]);
        if json.ends_with(EMPTY_CHECKSUM_TAIL) {
            json.truncate(json.len() - 2);
            json.extend_from_slice(checksum.as_bytes());
            json.extend_from_slice(b"\"}");
            self.checksum = checksum;
        } else {
            self.checksum = checksum;
            json = serde_json::to_vec(self).unwrap_or_default();
        }
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(json.len() / 8),
            flate2::Compression::new(6),
        );
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&json);
        gz.finish().unwrap_or_default()
    }

    /// Gunzips, parses and verifies a record. `what` names the Secret in errors.
    pub fn decode(bytes: &[u8], what: &str) -> Result<ReleaseRecord, RecordError> {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut json)
            .map_err(|source| RecordError::Gzip {
                what: what.to_string(),
                source,
            })?;
        // The format version first, so a newer format is named as such rather than reported
        // as whatever field it changed.
        #[derive(Deserialize)]
        struct Probe<'a> {
            #[serde(rename = "apiVersion", borrow, default)]
            api_version: std::borrow::Cow<'a, str>,
        }
        let probe: Probe = serde_json::from_slice(&json).map_err(|source| RecordError::Json {
            what: what.to_string(),
            source,
        })?;
        if probe.api_version != RECORD_API_VERSION {
            return Err(RecordError::Version {
                what: what.to_string(),
                found: probe.api_version.into_owned(),
            });
        }
        let record: ReleaseRecord =
            serde_json::from_slice(&json).map_err(|source| RecordError::Json {
                what: what.to_string(),
                source,
            })?;
        // The checksum covers the JSON with the checksum's own value emptied: checked on the
        // bytes as written (no second serialization), or, for JSON laid out differently, on the
        // record serialized again.
        let stored_tail = format!("\"checksum\":\"{}\"}}", record.checksum);
        let as_written = match json.strip_suffix(stored_tail.as_bytes()) {
            Some(head) if !record.checksum.is_empty() => {
                Some(checksum_of(&[head, EMPTY_CHECKSUM_TAIL]))
            }
            _ => None,
        };
        if as_written.as_ref() == Some(&record.checksum) {
            return Ok(record);
        }
        let computed = record.compute_checksum();
        if computed != record.checksum {
            return Err(RecordError::Checksum {
                what: what.to_string(),
                stored: record.checksum.clone(),
                computed,
            });
        }
        Ok(record)
    }
}

#[cfg(test)]
pub(crate) fn sample(name: &str, revision: u64, status: Status) -> ReleaseRecord {
    ReleaseRecord {
        api_version: RECORD_API_VERSION.to_string(),
        name: name.to_string(),
        namespace: "ns".to_string(),
        revision,
        status,
        description: "Install complete".to_string(),
        chart: ChartRef {
            name: "demo".into(),
            version: "1.0.0".into(),
            app_version: Some("2.0".into()),
            description: None,
            digest: "sha256:00".into(),
            source: None,
        },
        values: serde_json::json!({"a": 1}),
        user_values: serde_json::json!({"a": 1}),
        layers: vec!["charts/demo/values.yaml".into()],
        target: None,
        manifest: "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n".into(),
        inventory: vec![ObjectRef::new("v1", "ConfigMap", Some("ns"), "x")],
        notes: String::new(),
        hooks: Vec::new(),
        generated: Default::default(),
        labels: Default::default(),
        first_deployed: "2026-01-01T00:00:00Z".into(),
        last_deployed: "2026-01-01T00:00:00Z".into(),
        deleted: None,
        charter_version: env!("CARGO_PKG_VERSION").into(),
        checksum: String::new(),
    }
}

/// Incompressible text of `len` characters, so that a record holding it stays large when
/// compressed.
#[cfg(test)]
pub(crate) fn noise(len: usize) -> String {
    let mut x: u64 = 0x9E3779B97F4A7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_verifies() {
        let mut r = sample("web", 1, Status::Deployed);
        let bytes = r.encode();
        let back = ReleaseRecord::decode(&bytes, "s").unwrap();
        assert_eq!(back, r);
        assert!(back.checksum.starts_with("sha256:"));
    }

    fn gzip(json: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn checksum_is_over_the_json_with_the_checksum_emptied() {
        let mut r = sample("web", 1, Status::Deployed);
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(r.encode().as_slice())
            .read_to_end(&mut json)
            .unwrap();
        // Spliced in by `encode`: the same as hashing a copy with an empty checksum.
        assert_eq!(r.checksum, r.compute_checksum());
        assert_eq!(json, serde_json::to_vec(&r).unwrap());
        // A record laid out differently (indented here) but with the same content verifies.
        let pretty = serde_json::to_vec_pretty(&r).unwrap();
        assert_eq!(ReleaseRecord::decode(&gzip(&pretty), "s").unwrap(), r);
        // One byte changed in the compact form is caught.
        let text = String::from_utf8(json)
            .unwrap()
            .replace("\"a\":1", "\"a\":3");
        let err = ReleaseRecord::decode(&gzip(text.as_bytes()), "s").unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        // A newer format is named as such.
        let newer =
            serde_json::to_vec(&serde_json::json!({"apiVersion": "charter.dev/release/v9"}))
                .unwrap();
        let err = ReleaseRecord::decode(&gzip(&newer), "s")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("release/v9") && err.contains("upgrade charter"),
            "{err}"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let mut r = sample("web", 1, Status::Deployed);
        r.encode();
        r.values = serde_json::json!({"a": 2});
        let json = serde_json::to_vec(&r).unwrap();
        let err = ReleaseRecord::decode(&gzip(&json), "charter.release.v1.web.v1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("charter.release.v1.web.v1") && err.contains("checksum"),
            "{err}"
        );
        let err = ReleaseRecord::decode(b"junk", "s").unwrap_err().to_string();
        assert!(err.contains("gzip"), "{err}");
    }

    /// Every record charter writes validates against the schema it ships.
    #[test]
    fn records_match_the_shipped_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/release-record.schema.json")).unwrap();
        let mut compiler = boon::Compiler::new();
        compiler.enable_format_assertions();
        compiler.add_resource("record.json", schema).unwrap();
        let mut schemas = boon::Schemas::new();
        let idx = compiler.compile("record.json", &mut schemas).unwrap();
        let mut r = sample("web", 1, Status::Deployed);
        r.target = Some(TargetRef {
            env: Some("prod".into()),
            region: Some("westus".into()),
            name: "prod/westus".into(),
        });
        r.hooks = vec![Hook {
            name: "web-migrate".into(),
            kind: "Job".into(),
            path: "demo/templates/migrate.yaml".into(),
            manifest: "apiVersion: batch/v1\nkind: Job".into(),
            events: vec!["pre-upgrade".into()],
            weight: -5,
            delete_policies: vec!["before-hook-creation".into()],
            output_log_policies: Vec::new(),
            last_run: Some(HookRun {
                started_at: "2026-11-30T14:13:47.419989854Z".into(),
                completed_at: "2026-11-30T14:13:47.451719886Z".into(),
                phase: "Succeeded".into(),
            }),
        }];
        r.chart.source = Some(crate::repo::ChartSource {
            reference: "oci://registry.example.com/charts/demo:1.0.0".into(),
            digest: format!("sha256:{}", "ab".repeat(32)),
        });
        r.encode();
        let json = serde_json::to_value(&r).unwrap();
        if let Err(e) = schemas.validate(&json, idx) {
            panic!("{e:#}");
        }
        // The schema is not a check that cannot fail.
        let mut bad = json.clone();
        bad["status"] = "bogus".into();
        assert!(schemas.validate(&bad, idx).is_err());
        let mut bad = json.clone();
        bad["checksum"] = "md5:x".into();
        assert!(schemas.validate(&bad, idx).is_err());
        let mut bad = json;
        bad["chart"]["source"]["digest"] = "sha256:abc".into();
        assert!(schemas.validate(&bad, idx).is_err());
    }

    #[test]
    fn pending_age() {
        let mut r = sample("web", 1, Status::PendingUpgrade);
        r.last_deployed =
            (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(725)).to_string();
        let age = r.pending_for().unwrap().as_secs();
        assert!((725..730).contains(&age), "{age}");
        assert_eq!(format_age(std::time::Duration::from_secs(725)), "12m5s");
        assert_eq!(format_age(std::time::Duration::from_secs(45)), "45s");
        assert_eq!(
            format_age(std::time::Duration::from_secs(3 * 3600 + 240)),
            "3h4m"
        );
        assert_eq!(
            format_age(std::time::Duration::from_secs(2 * 86400 + 3 * 3600)),
            "2d3h"
        );
        r.status = Status::Deployed;
        assert_eq!(r.pending_for(), None);
    }

    #[test]
    fn status_labels_round_trip() {
        for s in [
            "pending-install",
            "pending-upgrade",
            "pending-rollback",
            "deployed",
            "superseded",
            "failed",
            "uninstalling",
            "uninstalled",
        ] {
            assert_eq!(Status::parse(s).unwrap().as_str(), s);
        }
        assert!(Status::parse("bogus").is_none());
    }
}
