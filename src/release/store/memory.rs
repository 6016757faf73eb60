//! Release records in memory, encoded into the same Secrets [`super::SecretStore`] writes (so
//! splitting, checksums and part reassembly behave alike), for tests of the code above a
//! store.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::FutureExt;

use super::encoding::{self, StoredSecret};
use super::{ReleaseHead, ReleaseStore, StoreError, StoreFuture, latest_heads};
use crate::release::record::ReleaseRecord;

/// Secrets by namespace and name.
#[derive(Default)]
pub struct MemoryStore {
    secrets: Mutex<BTreeMap<(String, String), StoredSecret>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<(String, String), StoredSecret>) -> T) -> T {
        let mut guard = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The stored Secrets of one release (main and parts), as the cluster would list them.
    fn of_release(&self, namespace: &str, release: &str) -> Vec<StoredSecret> {
        self.with(|m| {
            m.values()
                .filter(|s| {
                    s.namespace == namespace
                        && s.labels.get(encoding::LABEL_NAME).map(String::as_str) == Some(release)
                })
                .cloned()
                .collect()
        })
    }

    fn history_now(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<ReleaseRecord>, StoreError> {
        encoding::records(&self.of_release(namespace, release))
    }

    fn get_now(
        &self,
        namespace: &str,
        release: &str,
        revision: u64,
    ) -> Result<Option<ReleaseRecord>, StoreError> {
        let history = self.history_now(namespace, release)?;
        Ok(history.into_iter().find(|r| r.revision == revision))
    }

    fn put_now(&self, namespace: &str, record: &mut ReleaseRecord) {
        record.namespace = namespace.to_string();
        let secrets = encoding::to_secrets(record);
        let prefix = encoding::secret_name(&record.name, record.revision);
        self.with(|m| {
            // Parts of an earlier, larger write of this revision go.
            m.retain(|(ns, name), _| {
                !(ns == namespace && name.starts_with(&format!("{prefix}.p")))
            });
            for s in secrets {
                m.insert((s.namespace.clone(), s.name.clone()), s);
            }
        });
    }

    fn delete_now(&self, namespace: &str, release: &str, revision: u64) {
        let main = encoding::secret_name(release, revision);
        let parts = format!("{main}.p");
        self.with(|m| {
            m.retain(|(ns, name), _| {
                !(ns == namespace && (*name == main || name.starts_with(&parts)))
            })
        });
    }

    fn list_now(&self, namespace: Option<&str>) -> Vec<ReleaseHead> {
        let heads: Vec<ReleaseHead> = self.with(|m| {
            m.values()
                .filter(|s| namespace.is_none_or(|n| s.namespace == n))
                .filter_map(|s| {
                    let (revision, status) = encoding::peek(s)?;
                    Some(ReleaseHead {
                        namespace: s.namespace.clone(),
                        name: s.labels.get(encoding::LABEL_NAME)?.clone(),
                        revision,
                        status,
                        storage: super::Storage::Charter,
                    })
                })
                .collect()
        });
        latest_heads(heads)
    }
}

impl ReleaseStore for MemoryStore {
    fn history<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
    ) -> StoreFuture<'a, Vec<ReleaseRecord>> {
        futures::future::ready(self.history_now(namespace, release)).boxed()
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<ReleaseRecord>> {
        futures::future::ready(self.get_now(namespace, release, revision)).boxed()
    }

    fn put<'a>(&'a self, namespace: &'a str, record: &'a mut ReleaseRecord) -> StoreFuture<'a, ()> {
        self.put_now(namespace, record);
        futures::future::ready(Ok(())).boxed()
    }

    fn delete<'a>(
        &'a self,
        namespace: &'a str,
        release: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, ()> {
        self.delete_now(namespace, release, revision);
        futures::future::ready(Ok(())).boxed()
    }

    fn list<'a>(&'a self, namespace: Option<&'a str>) -> StoreFuture<'a, Vec<ReleaseHead>> {
        futures::future::ready(Ok(self.list_now(namespace))).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::{Status, noise, sample};

    fn block<T>(f: StoreFuture<'_, T>) -> T {
        futures::executor::block_on(f).unwrap()
    }

    #[test]
    fn history_is_per_release_and_namespace_oldest_first() {
        let store = MemoryStore::new();
        for (ns, name, rev, status) in [
            ("a", "web", 2, Status::Deployed),
            ("a", "web", 1, Status::Superseded),
            ("a", "api", 1, Status::Failed),
            ("b", "web", 5, Status::Uninstalled),
        ] {
            block(store.put(ns, &mut sample(name, rev, status)));
        }
        let h = block(store.history("a", "web"));
        assert_eq!(h.iter().map(|r| r.revision).collect::<Vec<_>>(), [1, 2]);
        assert!(
            h.iter()
                .all(|r| r.namespace == "a" && r.checksum.starts_with("sha256:"))
        );
        assert_eq!(
            block(store.get("b", "web", 5)).unwrap().status,
            Status::Uninstalled
        );
        assert!(block(store.get("b", "web", 4)).is_none());

        let heads = block(store.list(None));
        let seen: Vec<(&str, &str, u64)> = heads
            .iter()
            .map(|h| (h.namespace.as_str(), h.name.as_str(), h.revision))
            .collect();
        assert_eq!(seen, [("a", "api", 1), ("a", "web", 2), ("b", "web", 5)]);
        assert_eq!(heads[1].status, Some(Status::Deployed));
        assert_eq!(block(store.list(Some("b"))).len(), 1);

        block(store.delete("a", "web", 2));
        let h = block(store.history("a", "web"));
        assert_eq!(h.iter().map(|r| r.revision).collect::<Vec<_>>(), [1]);
        assert_eq!(block(store.list(Some("a")))[1].revision, 1);
    }

    #[test]
    fn a_large_record_is_split_and_a_smaller_rewrite_leaves_no_parts() {
        let store = MemoryStore::new();
        let mut big = sample("big", 1, Status::Deployed);
        big.manifest = noise(3_000_000);
        block(store.put("ns", &mut big));
        let count = || store.with(|m| m.len());
        assert!(count() >= 3, "{}", count());
        assert_eq!(block(store.history("ns", "big")), [big.clone()]);
        big.manifest = "small".into();
        block(store.put("ns", &mut big));
        assert_eq!(count(), 1);
        assert_eq!(block(store.get("ns", "big", 1)).unwrap().manifest, "small");
    }
}
