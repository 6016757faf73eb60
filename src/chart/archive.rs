//! Reading a chart archive (`.tgz`) into memory, safely: no entry may escape the chart
//! (absolute paths, `..`, links), only regular files and directories are accepted, and sizes,
//! file counts and depth are bounded so a hostile archive costs little time and memory.

use std::io::Read;
use std::path::{Component, Path};

use super::ChartError;

/// Bounds on what an archive may contain.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Total bytes of all files once unpacked.
    pub max_total_bytes: u64,
    /// Bytes of any one file.
    pub max_file_bytes: u64,
    /// Number of entries (files and directories).
    pub max_entries: usize,
    /// Path components below the chart's top directory.
    pub max_depth: usize,
    /// Bytes of the compressed archive itself.
    pub max_archive_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_total_bytes: 100 * 1024 * 1024,
            max_file_bytes: 20 * 1024 * 1024,
            max_entries: 20_000,
            max_depth: 24,
            max_archive_bytes: 50 * 1024 * 1024,
        }
    }
}

/// Reads a gzip-compressed tar of one chart directory. Returns the files with the top-level
/// directory (`<name>/`) stripped, sorted by path.
pub fn read_archive(
    origin: &Path,
    bytes: &[u8],
    limits: &ArchiveLimits,
) -> Result<Vec<(String, Vec<u8>)>, ChartError> {
    let fail = |message: String| ChartError::Archive {
        archive: origin.display().to_string(),
        message,
    };
    if bytes.len() as u64 > limits.max_archive_bytes {
        return Err(fail(format!(
            "archive is {} bytes, over the limit of {} bytes",
            bytes.len(),
            limits.max_archive_bytes
        )));
    }
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err(fail(
            "not a gzip-compressed tar archive (expected a .tgz made by `charter package`)".into(),
        ));
    }
    let gz = flate2::read::GzDecoder::new(bytes);
    // Bound the decompressed stream too: tar headers and padding count, not just file bodies.
    let bounded = gz.take(limits.max_total_bytes + limits.max_entries as u64 * 1024 + 1024);
    let mut tar = tar::Archive::new(bounded);
    let entries = tar
        .entries()
        .map_err(|e| fail(format!("cannot read archive: {e}")))?;
    let mut out = Vec::new();
    let mut top: Option<String> = None;
    let mut total: u64 = 0;
    let mut count = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(format!("corrupt archive: {e}")))?;
        count += 1;
        if count > limits.max_entries {
            return Err(fail(format!(
                "archive has more than {} entries; refusing to unpack it",
                limits.max_entries
            )));
        }
        let raw_path = entry
            .path()
            .map_err(|e| fail(format!("entry with an unreadable path: {e}")))?
            .into_owned();
        let shown = raw_path.display().to_string();
        let mut parts = Vec::new();
        for c in raw_path.components() {
            match c {
                Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(fail(format!(
                        "entry `{shown}` contains `..`; refusing an archive that writes outside its chart"
                    )));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(fail(format!(
                        "entry `{shown}` has an absolute path; refusing the archive"
                    )));
                }
            }
        }
        if parts.is_empty() {
            continue;
        }
        if parts.len() > limits.max_depth + 1 {
            return Err(fail(format!(
                "entry `{shown}` is nested {} levels deep, over the limit of {}",
                parts.len() - 1,
                limits.max_depth
            )));
        }
        match &top {
            None => top = Some(parts[0].clone()),
            Some(t) if *t != parts[0] => {
                return Err(fail(format!(
                    "entry `{shown}` is outside the chart directory `{t}/`; a chart archive holds exactly one top directory"
                )));
            }
            Some(_) => {}
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(fail(format!(
                "entry `{shown}` is a link; chart archives may hold only regular files"
            )));
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            if kind.is_pax_global_extensions()
                || kind.is_pax_local_extensions()
                || kind.is_gnu_longname()
            {
                continue;
            }
            return Err(fail(format!(
                "entry `{shown}` is a {kind:?}, not a regular file; refusing device files, fifos and other special entries"
            )));
        }
        if parts.len() < 2 {
            return Err(fail(format!(
                "entry `{shown}` is a file at the archive root; expected everything under `<chart>/`"
            )));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > limits.max_file_bytes {
            return Err(fail(format!(
                "entry `{shown}` is {size} bytes unpacked, over the per-file limit of {} bytes",
                limits.max_file_bytes
            )));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(fail(format!(
                "archive unpacks to more than {} bytes (at entry `{shown}`); refusing it",
                limits.max_total_bytes
            )));
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(limits.max_file_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| fail(format!("cannot read entry `{shown}`: {e}")))?;
        if buf.len() as u64 > limits.max_file_bytes {
            return Err(fail(format!(
                "entry `{shown}` is larger than the per-file limit of {} bytes",
                limits.max_file_bytes
            )));
        }
        out.push((parts[1..].join("/"), buf));
    }
    if out.is_empty() {
        return Err(fail("archive holds no files".into()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Entry<'a> = (&'a str, &'a [u8], tar::EntryType);

    fn build(entries: &[Entry]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, data, kind) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // Write the raw name so hostile paths are not normalized by the builder.
            let name = h.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn read(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
        read_archive(Path::new("x.tgz"), bytes, &ArchiveLimits::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn strips_top_directory() {
        let files = read(&build(&[
            ("app/Chart.yaml", b"a", tar::EntryType::Regular),
            ("app/templates/x.yaml", b"b", tar::EntryType::Regular),
        ]))
        .unwrap();
        assert_eq!(files[0].0, "Chart.yaml");
        assert_eq!(files[1].0, "templates/x.yaml");
    }

    #[test]
    fn refuses_hostile_entries() {
        let cases: [(&[Entry], &str); 5] = [
            (
                &[("app/../evil", b"x", tar::EntryType::Regular)],
                "contains `..`",
            ),
            (
                &[("/etc/passwd", b"x", tar::EntryType::Regular)],
                "absolute path",
            ),
            (&[("app/link", b"", tar::EntryType::Symlink)], "is a link"),
            (
                &[("app/dev", b"", tar::EntryType::Char)],
                "not a regular file",
            ),
            (
                &[
                    ("app/Chart.yaml", b"x", tar::EntryType::Regular),
                    ("other/x", b"x", tar::EntryType::Regular),
                ],
                "outside the chart directory",
            ),
        ];
        for (entries, want) in cases {
            let err = read(&build(entries)).unwrap_err();
            assert!(err.contains(want), "{want}: {err}");
        }
        assert!(read(b"not gzip").unwrap_err().contains("not a gzip"));
    }
}
