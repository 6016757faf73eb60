//! Where release records live: the [`ReleaseStore`] trait every command reads, writes and
//! lists release history through, and its stores.
//!
//! - [`SecretStore`]: charter's records as Secrets in the release's namespace (one per
//!   revision, plus part Secrets for a record over the size limit; [`encoding`]).
//! - [`MemoryStore`]: the same Secrets kept in memory, for tests of code above the store.
//!
//! A store does no locking: writers hold the release's lock ([`crate::release::lock`]), while
//! readers (`history`, `status`, `diff`, `list`) read without it.

pub mod encoding;
mod memory;
mod secret;

use futures::future::BoxFuture;

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
