//! The local content-addressed store for registry content, inside charter's download cache:
//! chart archives go where repository downloads go (`charts/sha256/<hex>.tgz`, the
//! [`crate::repo::Cache`]), so a chart fetched either way is fetched once; manifests and
//! provenance files go to `oci/sha256/<hex>`. Everything is verified against its digest on
//! every read (a corrupt file is removed and fetched again).

use std::path::PathBuf;

use super::OciError;
use crate::chart::sha256_hex;
use crate::repo::cache::is_hex_digest;
use crate::repo::{Cache, Paths, write_atomic};

/// The cache.
#[derive(Debug, Clone)]
pub struct OciCache {
    charts: Cache,
    dir: PathBuf,
}

fn hex_of(digest: &str) -> Option<&str> {
    digest.strip_prefix("sha256:").filter(|h| is_hex_digest(h))
}

impl OciCache {
    /// The cache under `paths.cache_dir`.
    pub fn new(paths: &Paths) -> OciCache {
        OciCache {
            charts: Cache::new(paths),
            dir: paths.cache_dir.join("oci").join("sha256"),
        }
    }

    /// A chart archive by its layer digest (`sha256:<hex>`).
    pub fn chart(&self, digest: &str) -> Option<Vec<u8>> {
        self.charts.get_chart(hex_of(digest)?)
    }

    /// Stores a chart archive (under the sha256 of its bytes).
    pub fn put_chart(&self, bytes: &[u8]) -> Result<(), OciError> {
        self.charts
            .put_chart(bytes)
            .map(|_| ())
            .map_err(OciError::from)
    }

    /// A manifest or provenance blob by digest.
    pub fn blob(&self, digest: &str) -> Option<Vec<u8>> {
        let p = self.dir.join(hex_of(digest)?);
        let bytes = std::fs::read(&p).ok()?;
        if Some(sha256_hex(&bytes).as_str()) == hex_of(digest) {
            Some(bytes)
        } else {
            let _ = std::fs::remove_file(&p);
            None
        }
    }

    /// Stores a manifest or provenance blob under the sha256 of its bytes.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<(), OciError> {
        write_atomic(&self.dir.join(sha256_hex(bytes)), bytes, Some(0o644)).map_err(OciError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_and_charts_are_verified_on_read() {
        let t = tempfile::tempdir().unwrap();
        let paths = Paths {
            config_dir: t.path().join("c"),
            cache_dir: t.path().join("k"),
        };
        let c = OciCache::new(&paths);
        c.put_blob(b"manifest").unwrap();
        let d = format!("sha256:{}", sha256_hex(b"manifest"));
        assert_eq!(c.blob(&d).unwrap(), b"manifest");
        std::fs::write(
            t.path().join("k/oci/sha256").join(sha256_hex(b"manifest")),
            b"x",
        )
        .unwrap();
        assert!(c.blob(&d).is_none());
        assert!(c.blob("sha256:../../x").is_none());

        c.put_chart(b"chart").unwrap();
        let d = format!("sha256:{}", sha256_hex(b"chart"));
        assert_eq!(c.chart(&d).unwrap(), b"chart");
        // Shared with repository downloads.
        assert_eq!(
            Cache::new(&paths).get_chart(&sha256_hex(b"chart")).unwrap(),
            b"chart"
        );
    }
}
