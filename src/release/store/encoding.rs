//! Release records as Secrets: naming, labels, and splitting a large record across numbered
//! part Secrets so that no release fails for its size.
//!
//! The mapping is plain data ([`StoredSecret`]), so the same code serves the cluster store
//! ([`super::SecretStore`]) and the in-memory one ([`super::MemoryStore`]).

use std::collections::BTreeMap;

use sha2::Digest;

use super::StoreError;
use crate::release::record::{ReleaseRecord, Status};

/// The `type` of every Secret charter writes for a release.
pub const SECRET_TYPE: &str = "charter.dev/release.v1";
/// Label on every release Secret.
pub const LABEL_OWNER: &str = "owner";
/// Label naming the release.
pub const LABEL_NAME: &str = "name";
/// Label with the revision number.
pub const LABEL_REVISION: &str = "revision";
/// Label with the status (main Secret only).
pub const LABEL_STATUS: &str = "status";
/// Label with the part number (part Secrets only).
pub const LABEL_PART: &str = "part";
/// Annotation on the main Secret: how many Secrets hold the record (1 = no parts).
pub const ANNOTATION_PARTS: &str = "charter.dev/parts";
/// Annotation on the main Secret: sha256 of the whole compressed record.
pub const ANNOTATION_SHA256: &str = "charter.dev/record-sha256";
/// The data key holding (a part of) the compressed record.
pub const DATA_KEY: &str = "release";
/// Bytes of compressed record per Secret: well below the 1 MiB Secret limit, leaving room for
/// metadata and the base64 growth of the API request.
pub const PART_BYTES: usize = 700 * 1024;

/// A Secret as charter reads and writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSecret {
    /// Secret name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Data.
    pub data: Vec<u8>,
}

impl StoredSecret {
    /// The part number, for part Secrets.
    pub fn part(&self) -> Option<usize> {
        self.labels.get(LABEL_PART).and_then(|p| p.parse().ok())
    }
}

/// The name of a revision's main Secret.
pub fn secret_name(release: &str, revision: u64) -> String {
    format!("charter.release.v1.{release}.v{revision}")
}

/// The name of part `k` (1-based) of a revision's record.
pub fn part_name(release: &str, revision: u64, k: usize) -> String {
    format!("{}.p{k}", secret_name(release, revision))
}

/// The label selector for all Secrets of a release (or of all releases).
pub fn selector(release: Option<&str>) -> String {
    match release {
        Some(r) => format!("{LABEL_OWNER}=charter,{LABEL_NAME}={r}"),
        None => format!("{LABEL_OWNER}=charter"),
    }
}

fn labels(record: &ReleaseRecord) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_OWNER.to_string(), "charter".to_string()),
        (LABEL_NAME.to_string(), record.name.clone()),
        (LABEL_REVISION.to_string(), record.revision.to_string()),
    ])
}

/// Encodes a record (setting its checksum) into its main Secret and part Secrets.
pub fn to_secrets(record: &mut ReleaseRecord) -> Vec<StoredSecret> {
    let blob = record.encode();
    let digest = hex::encode(sha2::Sha256::digest(&blob));
    let chunks: Vec<&[u8]> = if blob.is_empty() {
        vec![&blob[..]]
    } else {
        blob.chunks(PART_BYTES).collect()
    };
    let mut out = Vec::with_capacity(chunks.len());
    for (k, chunk) in chunks.iter().enumerate() {
        let mut l = labels(record);
        let mut annotations = BTreeMap::new();
        let name = if k == 0 {
            l.insert(LABEL_STATUS.to_string(), record.status.as_str().to_string());
            annotations.insert(ANNOTATION_PARTS.to_string(), chunks.len().to_string());
            annotations.insert(ANNOTATION_SHA256.to_string(), digest.clone());
            secret_name(&record.name, record.revision)
        } else {
            l.insert(LABEL_PART.to_string(), k.to_string());
            part_name(&record.name, record.revision, k)
        };
        out.push(StoredSecret {
            name,
            namespace: record.namespace.clone(),
            labels: l,
            annotations,
            data: chunk.to_vec(),
        });
    }
    out
}

/// Reassembles and verifies a record from its main Secret and the release's part Secrets.
pub fn from_secrets(
    main: &StoredSecret,
    parts: &[&StoredSecret],
) -> Result<ReleaseRecord, StoreError> {
    let count: usize = main
        .annotations
        .get(ANNOTATION_PARTS)
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let what = format!("Secret {}/{}", main.namespace, main.name);
    if count <= 1 {
        return Ok(ReleaseRecord::decode(&main.data, &what)?);
    }
    let mut blob = main.data.clone();
    for k in 1..count {
        let want = format!("{}.p{k}", main.name);
        let part =
            parts
                .iter()
                .find(|p| p.name == want)
                .ok_or_else(|| StoreError::MissingPart {
                    secret: what.clone(),
                    parts: count,
                    missing: k,
                    part_name: want.clone(),
                })?;
        blob.extend_from_slice(&part.data);
    }
    let digest = hex::encode(sha2::Sha256::digest(&blob));
    if main.annotations.get(ANNOTATION_SHA256) != Some(&digest) {
        return Err(StoreError::PartsCorrupt { secret: what });
    }
    Ok(ReleaseRecord::decode(&blob, &what)?)
}

/// Every revision of one release held in `secrets` (its main and part Secrets), oldest first.
pub fn records(secrets: &[StoredSecret]) -> Result<Vec<ReleaseRecord>, StoreError> {
    let parts: Vec<&StoredSecret> = secrets.iter().filter(|s| s.part().is_some()).collect();
    let mut out = secrets
        .iter()
        .filter(|s| s.part().is_none())
        .map(|main| from_secrets(main, &parts))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|r| r.revision);
    Ok(out)
}

/// Reads the revision number and status from a main Secret's labels without decoding it.
pub fn peek(secret: &StoredSecret) -> Option<(u64, Option<Status>)> {
    if secret.part().is_some() {
        return None;
    }
    let rev = secret.labels.get(LABEL_REVISION)?.parse().ok()?;
    Some((
        rev,
        secret
            .labels
            .get(LABEL_STATUS)
            .and_then(|s| Status::parse(s)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::{noise, sample};

    #[test]
    fn small_record_is_one_secret() {
        let mut r = sample("web", 3, Status::Deployed);
        let secrets = to_secrets(&mut r);
        assert_eq!(secrets.len(), 1);
        let s = &secrets[0];
        assert_eq!(s.name, "charter.release.v1.web.v3");
        assert_eq!(s.labels["owner"], "charter");
        assert_eq!(s.labels["name"], "web");
        assert_eq!(s.labels["revision"], "3");
        assert_eq!(s.labels["status"], "deployed");
        assert_eq!(from_secrets(s, &[]).unwrap(), r);
        assert_eq!(peek(s), Some((3, Some(Status::Deployed))));
    }

    #[test]
    fn large_record_splits_and_reassembles() {
        let mut r = sample("big", 1, Status::Deployed);
        // Incompressible content: ~3.5 MiB after gzip.
        r.manifest = noise(5_000_000);
        let secrets = to_secrets(&mut r);
        assert!(secrets.len() >= 5, "{}", secrets.len());
        assert!(secrets.iter().all(|s| s.data.len() <= PART_BYTES));
        assert_eq!(secrets[1].name, "charter.release.v1.big.v1.p1");
        assert!(peek(&secrets[1]).is_none());
        let parts: Vec<&StoredSecret> = secrets[1..].iter().collect();
        assert_eq!(from_secrets(&secrets[0], &parts).unwrap(), r);

        let err = from_secrets(&secrets[0], &parts[1..])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("part 1") && err.contains("charter.release.v1.big.v1.p1"),
            "{err}"
        );
        let mut bad = secrets[2].clone();
        bad.data[10] ^= 1;
        let mut with_bad = parts.clone();
        with_bad[1] = &bad;
        let err = from_secrets(&secrets[0], &with_bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256"), "{err}");
    }
}
