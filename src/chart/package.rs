//! `charter package`: a chart directory as a reproducible `<name>-<version>.tgz`.
//!
//! Reproducible means byte-identical for the same chart content on every run and machine:
//! entries sorted by path, only regular files (no directory entries), every entry with the
//! same fixed mtime, uid/gid 0 and no owner names, mode 0644 (0755 when the owner may execute
//! the file), and a gzip header without a file name or time stamp. File mtimes, owners and the
//! umask of the machine never reach the archive. Files are chosen by `.chartignore`
//! ([`super::ignore`]).

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::ignore::list_chart_files;
use super::{ArchiveLimits, Chart, ChartError, parse_chart_yaml, read_archive};

/// The mtime of every entry: 1980-01-01T00:00:00Z (the oldest date zip and many tools accept).
pub const PACKAGE_MTIME: u64 = 315_532_800;

/// Overrides applied to `Chart.yaml` while packaging.
#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// Set the chart's `version`.
    pub version: Option<String>,
    /// Set the chart's `appVersion`.
    pub app_version: Option<String>,
}

/// A packaged chart, in memory.
#[derive(Debug, Clone)]
pub struct Package {
    /// The chart's name.
    pub name: String,
    /// The chart's version.
    pub version: String,
    /// The archive bytes (gzip-compressed tar).
    pub bytes: Vec<u8>,
    /// Lower-case hex sha256 of `bytes`.
    pub sha256: String,
}

impl Package {
    /// `<name>-<version>.tgz`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Packages the chart directory `dir`. The chart must load (valid Chart.yaml, UTF-8 templates,
/// declared dependencies present under `charts/`), and the result must pass the same archive
/// checks `template` applies to a `.tgz`.
pub fn package_chart(dir: &Path, opts: &PackageOptions) -> Result<Package, ChartError> {
    if !dir.is_dir() {
        return Err(if dir.is_file() {
            ChartError::InvalidMeta {
                path: dir.display().to_string(),
                message: "is a file; `charter package` takes a chart directory (an archive is already a package)".into(),
            }
        } else {
            ChartError::NotFound {
                path: dir.to_path_buf(),
            }
        });
    }
    let listed = list_chart_files(dir)?;
    if !listed.iter().any(|f| f.rel == "Chart.yaml") {
        return Err(ChartError::NoChartYaml {
            dir: dir.to_path_buf(),
        });
    }
    let mut files: Vec<(String, Vec<u8>, bool)> = Vec::with_capacity(listed.len());
    for f in listed {
        let bytes = f.read()?;
        files.push((f.rel, bytes, f.executable));
    }
    let label = dir.join("Chart.yaml").display().to_string();
    let chart_yaml = files
        .iter_mut()
        .find(|(p, _, _)| p == "Chart.yaml")
        .expect("Chart.yaml listed");
    if opts.version.is_some() || opts.app_version.is_some() {
        chart_yaml.1 = override_chart_yaml(&label, &chart_yaml.1, opts)?.into_bytes();
    }
    let text = String::from_utf8(chart_yaml.1.clone()).map_err(|_| ChartError::NotUtf8 {
        path: label.clone(),
    })?;
    let meta = parse_chart_yaml(&text, &label)?;
    // The whole chart must load, exactly as `template` would load it.
    Chart::from_files(
        dir,
        files
            .iter()
            .map(|(p, b, _)| (p.clone(), b.clone()))
            .collect(),
    )?;

    let bytes = build_archive(&meta.name, &files).map_err(|source| ChartError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let archive_label = dir.join(format!("{}-{}.tgz", meta.name, meta.version));
    read_archive(&archive_label, &bytes, &ArchiveLimits::default())?;
    let sha256 = sha256_hex(&bytes);
    Ok(Package {
        name: meta.name,
        version: meta.version,
        bytes,
        sha256,
    })
}

/// Rewrites Chart.yaml with new `version` / `appVersion`. The file is re-emitted from its parsed
/// form (key order kept, comments dropped), so the result is the same for the same input.
fn override_chart_yaml(
    label: &str,
    bytes: &[u8],
    opts: &PackageOptions,
) -> Result<String, ChartError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ChartError::NotUtf8 {
        path: label.to_string(),
    })?;
    let mut value = crate::yaml::parse_str(text, label).map_err(|e| ChartError::InvalidMeta {
        path: label.to_string(),
        message: format!("{e}. Fix the YAML syntax of Chart.yaml at that line"),
    })?;
    let map = value
        .as_object_mut()
        .ok_or_else(|| ChartError::InvalidMeta {
            path: label.to_string(),
            message: "Chart.yaml must be a mapping".into(),
        })?;
    if let Some(v) = &opts.version {
        if semver::Version::parse(v).is_err() {
            return Err(ChartError::InvalidMeta {
                path: "--version".into(),
                message: format!("`{v}` is not SemVer 2 (expected MAJOR.MINOR.PATCH, e.g. 1.2.3)"),
            });
        }
        map.insert("version".into(), serde_json::Value::String(v.clone()));
    }
    if let Some(v) = &opts.app_version {
        map.insert("appVersion".into(), serde_json::Value::String(v.clone()));
    }
    Ok(crate::yaml::to_yaml(&value))
}

fn build_archive(name: &str, files: &[(String, Vec<u8>, bool)]) -> std::io::Result<Vec<u8>> {
    let mut sorted: Vec<&(String, Vec<u8>, bool)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::new(9));
    let mut tar = tar::Builder::new(gz);
    for (rel, bytes, exec) in sorted {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(bytes.len() as u64);
        h.set_mode(if *exec { 0o755 } else { 0o644 });
        h.set_mtime(PACKAGE_MTIME);
        h.set_uid(0);
        h.set_gid(0);
        tar.append_data(&mut h, format!("{name}/{rel}"), bytes.as_slice())?;
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(dir: &Path) {
        let w = |p: &str, c: &str| {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        };
        w(
            "Chart.yaml",
            "apiVersion: charter/v1\nname: demo\nversion: 1.2.3 # pinned\n",
        );
        w("values.yaml", "a: 1\n");
        w("templates/cm.yaml", "kind: ConfigMap\n");
        w(".chartignore", "*.bak\n");
        w("old.bak", "x");
    }

    #[test]
    fn layout_modes_and_ignore() {
        let t = tempfile::tempdir().unwrap();
        chart(t.path());
        let p = package_chart(t.path(), &PackageOptions::default()).unwrap();
        assert_eq!(p.file_name(), "demo-1.2.3.tgz");
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(p.bytes.as_slice()));
        let mut seen = Vec::new();
        for e in ar.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(h.mtime().unwrap(), PACKAGE_MTIME);
            assert_eq!(h.uid().unwrap(), 0);
            assert_eq!(h.mode().unwrap(), 0o644);
            seen.push(e.path().unwrap().display().to_string());
        }
        assert_eq!(
            seen,
            [
                "demo/.chartignore",
                "demo/Chart.yaml",
                "demo/templates/cm.yaml",
                "demo/values.yaml"
            ]
        );
        // Chart.yaml is kept byte for byte when nothing is overridden.
        let files = read_archive(Path::new("x"), &p.bytes, &ArchiveLimits::default()).unwrap();
        assert!(String::from_utf8_lossy(&files[1].1).contains("# pinned"));
    }

    #[test]
    fn overrides_rewrite_chart_yaml() {
        let t = tempfile::tempdir().unwrap();
        chart(t.path());
        let opts = PackageOptions {
            version: Some("2.0.0-rc.1".into()),
            app_version: Some("v9".into()),
        };
        let p = package_chart(t.path(), &opts).unwrap();
        assert_eq!(p.file_name(), "demo-2.0.0-rc.1.tgz");
        let c = Chart::from_archive_bytes(Path::new("x.tgz"), &p.bytes).unwrap();
        assert_eq!(c.meta.version, "2.0.0-rc.1");
        assert_eq!(c.meta.app_version.as_deref(), Some("v9"));
        let bad = PackageOptions {
            version: Some("2.0".into()),
            app_version: None,
        };
        let err = package_chart(t.path(), &bad).unwrap_err().to_string();
        assert!(err.contains("--version") && err.contains("SemVer"), "{err}");
    }

    #[test]
    fn refuses_broken_charts() {
        let t = tempfile::tempdir().unwrap();
        chart(t.path());
        std::fs::write(
            t.path().join("Chart.yaml"),
            "apiVersion: charter/v1\nname: demo\nversion: 1.0.0\ndependencies:\n  - name: db\n    version: ^1\n",
        )
        .unwrap();
        let err = package_chart(t.path(), &PackageOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("dep update"), "{err}");
    }
}
