//! Where release records live: the [`ReleaseStore`] trait every command reads, writes and
//! lists release history through, and its stores.
//!
//! - [`SecretStore`]: charter's records as Secrets in the release's namespace (one per
//!   revision, plus part Secrets for a record over the size limit; [`encoding`]).
//! - [`helm::HelmStore`]: the records Helm writes (Secrets, or ConfigMaps), read and written in
//!   Helm's format so Helm keeps working on a release charter operates on.
//! - [`ClusterStore`]: what commands use: each release in whichever of those storages holds
//!   it ([`Storage`]); a release in two of them is refused, naming both.
//! - [`MemoryStore`]: charter's Secrets kept in memory, for tests of code above the store.
//!
//! A store does no locking: writers hold the release's lock ([`crate::release::lock`]), while
//! readers (`history`, `status`, `diff`, `list`) read without it.

mod cluster;
pub mod encoding;
pub mod helm;
mod memory;
mod secret;

use futures::future::BoxFuture;

pub use cluster::ClusterStore;
pub use encoding::StoredSecret;
pub use memory::MemoryStore;
pub use secret::SecretStore;

use super::record::{RecordError, ReleaseRecord, Status};
use crate::cluster::ClusterError;

/// What a store call returns.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// Reads and writes release records.
pub trait ReleaseStore: Send + Sync {
    /// Every revision of `release` in `namespace`, oldest first. A damaged revision is an error
    /// naming it: charter does not act on a history it cannot trust.
    fn history<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Vec<ReleaseRecord>>;

    /// One revision, if it exists.
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<ReleaseRecord>>;

    /// Writes (creates or replaces) a revision in `namespace`, setting the record's namespace
    /// and checksum.
    fn put<'a>(&'a self, namespace: &'a str, record: &'a mut ReleaseRecord) -> StoreFuture<'a, ()>;

    /// Deletes a revision.
    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, ()>;

    /// The latest revision of every release in `namespace` (every namespace when `None`), read
    /// without decoding the records, sorted by namespace and name.
    fn list<'a>(&'a self, namespace: Option<&'a str>) -> StoreFuture<'a, Vec<ReleaseHead>>;

    /// Which storage holds `release`; `None` when it has no records.
    fn storage<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Option<Storage>> {
        Box::pin(async move {
            let found = !self.history(namespace, release).await?.is_empty();
            Ok(found.then_some(Storage::Charter))
        })
    }
}

/// Where a release's records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Storage {
    /// charter's records (Secrets `charter.release.v1.<release>.v<N>`).
    Charter,
    /// Helm's default driver (Secrets `sh.helm.release.v1.<release>.v<N>`).
    HelmSecrets,
    /// Helm's ConfigMap driver (ConfigMaps `sh.helm.release.v1.<release>.v<N>`).
    HelmConfigMaps,
}

impl Storage {
    /// The short name `list` and `status` show: `charter`, `helm`, `helm-configmap`.
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Charter => "charter",
            Storage::HelmSecrets => "helm",
            Storage::HelmConfigMaps => "helm-configmap",
        }
    }

    /// Whether Helm's storage holds the release (charter then writes Helm's format).
    pub fn is_helm(self) -> bool {
        self != Storage::Charter
    }

    /// The records in words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Storage::Charter => "charter's records (Secrets charter.release.v1.*)",
            Storage::HelmSecrets => "Helm's records (Secrets sh.helm.release.v1.*)",
            Storage::HelmConfigMaps => "Helm's records (ConfigMaps sh.helm.release.v1.*)",
        }
    }

    /// The kind of object holding the records, as kubectl names it.
    pub fn kubectl_kind(self) -> &'static str {
        match self {
            Storage::Charter | Storage::HelmSecrets => "secret",
            Storage::HelmConfigMaps => "configmap",
        }
    }

    /// The kubectl command that deletes a release's records in this storage.
    pub fn delete_command(self, namespace: &str, release: &str) -> String {
        let owner = match self {
            Storage::Charter => "charter",
            Storage::HelmSecrets | Storage::HelmConfigMaps => "helm",
        };
        let kind = self.kubectl_kind();
        format!("kubectl delete {kind} -n {namespace} -l owner={owner},name={release}")
    }
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A release's latest revision as a listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseHead {
    /// Namespace.
    pub namespace: String,
    /// Release name.
    pub name: String,
    /// The latest revision.
    pub revision: u64,
    /// Its status; `None` when the stored label is not one charter knows.
    pub status: Option<Status>,
    /// Where its records are.
    pub storage: Storage,
}

/// Keeps the newest revision per release of `(namespace, name, revision, status)` entries.
fn latest_heads(entries: impl IntoIterator<Item = ReleaseHead>) -> Vec<ReleaseHead> {
    let mut latest: std::collections::BTreeMap<(String, String), ReleaseHead> = Default::default();
    for h in entries {
        let key = (h.namespace.clone(), h.name.clone());
        match latest.get(&key) {
            Some(have) if have.revision >= h.revision => {}
            _ => {
                latest.insert(key, h);
            }
        }
    }
    latest.into_values().collect()
}

/// A release with records in two storages: each named, with the command that deletes its
/// records.
#[derive(Debug, thiserror::Error)]
#[error(
    "release {namespace}/{release} has records in two storages: {first} and {second}. charter will not guess which history is the release's: keep one and delete the other's records (`{first_delete}`, or `{second_delete}`)"
)]
pub struct TwoStorages {
    /// Namespace.
    pub namespace: String,
    /// Release.
    pub release: String,
    /// One storage and its records.
    pub first: String,
    /// The other.
    pub second: String,
    /// How to delete the first's records.
    pub first_delete: String,
    /// How to delete the second's.
    pub second_delete: String,
}

/// Errors of a release store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Talking to the cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The record itself is bad.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A part is missing.
    #[error(
        "{secret}: the record is split into {parts} Secrets but part {missing} ({part_name}) is missing; the release history is damaged. Restore the Secret or delete this revision's Secrets"
    )]
    MissingPart {
        /// Main Secret.
        secret: String,
        /// Parts expected.
        parts: usize,
        /// Missing part number.
        missing: usize,
        /// Its name.
        part_name: String,
    },
    /// Reassembled bytes do not match.
    #[error(
        "{secret}: the reassembled record does not match its sha256 annotation; a part was edited or corrupted. charter refuses to act on it"
    )]
    PartsCorrupt {
        /// Main Secret.
        secret: String,
    },
    /// One of Helm's records cannot be read.
    #[error(
        "{kind} {namespace}/{name}: {message}: this Helm release record is damaged, and charter does not act on a history it cannot read. Restore the {kind}, or delete it if that revision is not needed"
    )]
    HelmRecord {
        /// `Secret` or `ConfigMap`.
        kind: &'static str,
        /// Namespace.
        namespace: String,
        /// The object's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A release has records in two storages.
    #[error(transparent)]
    InTwoStorages(Box<TwoStorages>),
    /// A record too large for Helm's storage.
    #[error(
        "release {namespace}/{release} revision {revision}: the record is {size} bytes as Helm stores it (base64 of gzip), more than the {limit} bytes one {kind} holds, so Helm's storage cannot take it. Move the release to charter's records, which split large records: `charter adopt {release} -n {namespace}`"
    )]
    TooLargeForHelm {
        /// Namespace.
        namespace: String,
        /// Release.
        release: String,
        /// Revision.
        revision: u64,
        /// Its size as Helm stores it.
        size: usize,
        /// What one object holds.
        limit: usize,
        /// `Secret` or `ConfigMap`.
        kind: &'static str,
    },
    /// A Secret does not have the shape charter writes.
    #[error("Secret {namespace}/{name}: {message}")]
    Malformed {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// What is wrong.
        message: String,
    },
}
