//! The download cache under `$XDG_CACHE_HOME/charter/`:
//!
//! - `repository/<repo>-index.yaml`: each repository's index as downloaded;
//! - `repository/<repo>-index.json`: the same index, validated and normalized, which `search`,
//!   `pull` and chart resolution read (JSON loads an order of magnitude faster than YAML;
//!   it is rebuilt from the YAML whenever it is missing, older, or from another charter);
//! - `charts/sha256/<digest>.tgz`: chart archives by content digest, re-verified on every read.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::config::Paths;
use super::index::Index;
use super::{RepoError, write_atomic};
use crate::chart::sha256_hex;

/// Version of the JSON index cache layout.
const CACHE_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedIndex {
    charter_index_cache: u32,
    index: Index,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache of `paths`.
    pub fn new(paths: &Paths) -> Cache {
        Cache {
            dir: paths.cache_dir.clone(),
        }
    }

    /// Where the downloaded index.yaml of `repo` is kept.
    pub fn index_yaml(&self, repo: &str) -> PathBuf {
        self.dir
            .join("repository")
            .join(format!("{repo}-index.yaml"))
    }

    fn index_json(&self, repo: &str) -> PathBuf {
        self.dir
            .join("repository")
            .join(format!("{repo}-index.json"))
    }

    /// Stores a freshly downloaded and parsed index.
    pub fn store_index(&self, repo: &str, raw: &[u8], index: &Index) -> Result<(), RepoError> {
        write_atomic(&self.index_yaml(repo), raw, Some(0o644))?;
        self.write_json(repo, index)
    }

    fn write_json(&self, repo: &str, index: &Index) -> Result<(), RepoError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Out<'a> {
            charter_index_cache: u32,
            index: &'a Index,
        }
        let bytes = serde_json::to_vec(&Out {
            charter_index_cache: CACHE_FORMAT,
            index,
        })
        .expect("index serializes");
        write_atomic(&self.index_json(repo), &bytes, Some(0o644))
    }

    /// The cached index of `repo`, or `None` when it was never downloaded.
    pub fn load_index(&self, repo: &str) -> Result<Option<Index>, RepoError> {
        let yaml = self.index_yaml(repo);
        let json = self.index_json(repo);
        let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let (ym, jm) = (modified(&yaml), modified(&json));
        if let Some(jm) = jm
            && ym.is_none_or(|ym| jm >= ym)
            && let Ok(bytes) = std::fs::read(&json)
            && let Ok(c) = serde_json::from_slice::<CachedIndex>(&bytes)
            && c.charter_index_cache == CACHE_FORMAT
        {
            return Ok(Some(c.index));
        }
        if ym.is_none() {
            return Ok(None);
        }
        let raw = std::fs::read(&yaml).map_err(RepoError::io(&yaml))?;
        let (index, _) = Index::from_yaml(&raw, &yaml.display().to_string())?;
        // Best effort: a read-only cache still works, only slower.
        let _ = self.write_json(repo, &index);
        Ok(Some(index))
    }

    /// Forgets the cached index of `repo`.
    pub fn remove_index(&self, repo: &str) -> Result<(), RepoError> {
        for p in [self.index_yaml(repo), self.index_json(repo)] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RepoError::io(&p)(e)),
            }
        }
        Ok(())
    }

    /// Where a chart archive with this sha256 is kept.
    pub fn chart_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("charts")
            .join("sha256")
            .join(format!("{digest}.tgz"))
    }

    /// The cached archive with this sha256, when present and intact (a corrupt file is removed).
    pub fn get_chart(&self, digest: &str) -> Option<Vec<u8>> {
        if !is_hex_digest(digest) {
            return None;
        }
        let p = self.chart_path(digest);
        let bytes = std::fs::read(&p).ok()?;
        if sha256_hex(&bytes) == digest {
            Some(bytes)
        } else {
            let _ = std::fs::remove_file(&p);
            None
        }
    }

    /// Stores an archive under its sha256.
    pub fn put_chart(&self, bytes: &[u8]) -> Result<String, RepoError> {
        let digest = sha256_hex(bytes);
        write_atomic(&self.chart_path(&digest), bytes, Some(0o644))?;
        Ok(digest)
    }
}

/// Whether `s` is 64 lower-case hex digits.
pub fn is_hex_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(t: &tempfile::TempDir) -> Cache {
        Cache::new(&Paths {
            config_dir: t.path().join("c"),
            cache_dir: t.path().join("k"),
        })
    }

    #[test]
    fn index_json_is_used_and_rebuilt_when_stale() {
        let t = tempfile::tempdir().unwrap();
        let c = cache(&t);
        assert!(c.load_index("r").unwrap().is_none());
        let raw = b"apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 1.0.0\n";
        let (idx, _) = Index::from_yaml(raw, "x").unwrap();
        c.store_index("r", raw, &idx).unwrap();
        assert_eq!(c.load_index("r").unwrap().unwrap(), idx);
        // A corrupt JSON cache falls back to the YAML and is rewritten.
        std::fs::write(c.index_json("r"), b"{").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(c.index_yaml("r"), raw).unwrap();
        assert_eq!(c.load_index("r").unwrap().unwrap(), idx);
        assert!(
            std::fs::read_to_string(c.index_json("r"))
                .unwrap()
                .contains("charterIndexCache")
        );
        c.remove_index("r").unwrap();
        assert!(c.load_index("r").unwrap().is_none());
    }

    #[test]
    fn charts_by_digest_are_verified() {
        let t = tempfile::tempdir().unwrap();
        let c = cache(&t);
        let d = c.put_chart(b"archive").unwrap();
        assert_eq!(c.get_chart(&d).unwrap(), b"archive");
        std::fs::write(c.chart_path(&d), b"tampered").unwrap();
        assert!(c.get_chart(&d).is_none());
        assert!(!c.chart_path(&d).exists());
        assert!(c.get_chart("../../etc/passwd").is_none());
    }
}
