//! Hostile chart archives are refused quickly, with bounded memory, and with an error that
//! names the entry: path traversal, absolute paths, links out of the chart, device files, a
//! 10 GiB zero-filled entry, a "zip bomb" of many large zero files, 200,000 files, deep nesting.
//! Checked on `read_archive` (what `pull --untar`, `dep`, `repo index` use) and on `charter
//! template x.tgz` (what install uses).
//!
//! One test function runs the cases in sequence so the process's peak memory (VmHWM) measures
//! them and nothing else.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use charter::chart::{ArchiveLimits, read_archive};
use flate2::{Compress, Compression, FlushCompress};

fn header(path: &str, size: u64, kind: tar::EntryType, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    // Raw name bytes: the builder's own path checks would refuse the hostile ones.
    let name = &mut h.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    if let Some(l) = link {
        h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_cksum();
    h
}

fn tgz(entries: &[(tar::Header, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        Compression::fast(),
    ));
    for (h, data) in entries {
        b.append(h, *data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

const CHART_YAML: &[u8] = b"apiVersion: charter/v1\nname: app\nversion: 1.0.0\n";

fn chart_yaml() -> (tar::Header, &'static [u8]) {
    (
        header(
            "app/Chart.yaml",
            CHART_YAML.len() as u64,
            tar::EntryType::Regular,
            None,
        ),
        CHART_YAML,
    )
}

fn deflate(c: &mut Compress, input: &[u8], flush: FlushCompress, out: &mut Vec<u8>) {
    let mut pos = 0;
    loop {
        out.reserve(256 * 1024);
        let before = c.total_in();
        let status = c.compress_vec(&input[pos..], out, flush).unwrap();
        pos += (c.total_in() - before) as usize;
        // Done when all input is in and the call left spare room (the flush completed).
        let flushed = out.len() < out.capacity();
        if pos == input.len()
            && flushed
            && (flush != FlushCompress::Finish || status == flate2::Status::StreamEnd)
        {
            break;
        }
    }
}

/// A .tgz whose second entry is 10 GiB of zeros, built by repeating one self-contained
/// deflate segment (a full flush resets the compressor), so 10 GiB are never in memory.
fn ten_gib_of_zeros() -> Vec<u8> {
    const SEGMENT: usize = 1 << 20;
    const SIZE: u64 = 10 << 30;
    let mut tar_prefix = Vec::new();
    let (h, data) = chart_yaml();
    tar_prefix.extend_from_slice(h.as_bytes());
    tar_prefix.extend_from_slice(data);
    tar_prefix.resize(1024, 0);
    tar_prefix
        .extend_from_slice(header("app/zeros.bin", SIZE, tar::EntryType::Regular, None).as_bytes());

    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let mut c = Compress::new(Compression::best(), false);
    deflate(&mut c, &tar_prefix, FlushCompress::Full, &mut out);
    let zeros = vec![0u8; SEGMENT];
    let mut segment = Vec::new();
    deflate(&mut c, &zeros, FlushCompress::Full, &mut segment);
    drop(zeros);
    for _ in 0..SIZE / SEGMENT as u64 {
        out.extend_from_slice(&segment);
    }
    deflate(&mut c, &[0u8; 1024], FlushCompress::Finish, &mut out);
    // Trailer: the CRC is not computed (nothing may read that far); the size is mod 2^32.
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(((SIZE + 2048 + 1024) & 0xffff_ffff) as u32).to_le_bytes());
    out
}

fn many_files(n: usize) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), Compression::fast());
    let mut b = tar::Builder::new(gz);
    let (h, data) = chart_yaml();
    b.append(&h, data).unwrap();
    for i in 0..n {
        let h = header(&format!("app/f/{i:06}"), 0, tar::EntryType::Regular, None);
        b.append(&h, &[][..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn refuse(name: &str, bytes: &[u8], want: &[&str], within: Duration) {
    let start = Instant::now();
    let err = read_archive(Path::new("evil.tgz"), bytes, &ArchiveLimits::default())
        .expect_err(name)
        .to_string();
    let took = start.elapsed();
    for w in want {
        assert!(err.contains(w), "{name}: `{w}` not in: {err}");
    }
    assert!(took < within, "{name}: took {took:?}");

    // The same archive through the CLI, as `template` (and install) load it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.tgz"));
    std::fs::write(&path, bytes).unwrap();
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["template", path.to_str().unwrap()])
        .env("XDG_CONFIG_HOME", dir.path().join("c"))
        .env("XDG_CACHE_HOME", dir.path().join("k"))
        .output()
        .unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
    assert!(
        stderr.contains(&format!("{name}.tgz")),
        "{name}: names the archive: {stderr}"
    );
    for w in want {
        assert!(stderr.contains(w), "{name}: `{w}` not in: {stderr}");
    }
    assert!(
        took < within + Duration::from_secs(2),
        "{name}: CLI took {took:?}"
    );
    let _ = writeln!(
        std::io::stderr(),
        "{name}: refused in {took:?} ({} bytes)",
        bytes.len()
    );
}

#[test]
fn hostile_archives_are_refused_quickly_with_bounded_memory() {
    // Generous bounds for a loaded 2-core CI machine running a debug build; reading the 10 GiB
    // (or 200,000 files) would take minutes.
    let fast = Duration::from_secs(5);
    let (cy, cy_data) = chart_yaml();
    let r = tar::EntryType::Regular;
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "traversal",
            tgz(&[
                (cy.clone(), cy_data),
                (header("app/../../etc/cron.d/x", 1, r, None), b"x"),
            ]),
            vec!["app/../../etc/cron.d/x", "contains `..`"],
        ),
        (
            "absolute",
            tgz(&[(header("/etc/passwd", 1, r, None), b"x")]),
            vec!["/etc/passwd", "absolute path"],
        ),
        (
            "symlink-out",
            tgz(&[
                (cy.clone(), cy_data),
                (
                    header(
                        "app/templates/x.yaml",
                        0,
                        tar::EntryType::Symlink,
                        Some("../../../../etc/shadow"),
                    ),
                    b"",
                ),
            ]),
            vec!["app/templates/x.yaml", "is a link"],
        ),
        (
            "hardlink",
            tgz(&[
                (cy.clone(), cy_data),
                (
                    header(
                        "app/values.yaml",
                        0,
                        tar::EntryType::Link,
                        Some("/etc/passwd"),
                    ),
                    b"",
                ),
            ]),
            vec!["app/values.yaml", "is a link"],
        ),
        (
            "device",
            tgz(&[
                (cy.clone(), cy_data),
                (header("app/dev", 0, tar::EntryType::Block, None), b""),
            ]),
            vec!["app/dev", "not a regular file"],
        ),
        (
            "fifo",
            tgz(&[
                (cy.clone(), cy_data),
                (header("app/fifo", 0, tar::EntryType::Fifo, None), b""),
            ]),
            vec!["app/fifo", "not a regular file"],
        ),
        (
            "deep",
            tgz(&[
                (cy.clone(), cy_data),
                (
                    header(&format!("app/{}f", "d/".repeat(40)), 1, r, None),
                    b"x",
                ),
            ]),
            vec!["nested", "levels deep"],
        ),
    ];
    for (name, bytes, want) in &cases {
        refuse(name, bytes, want, fast);
    }

    // 10 GiB of zeros in one entry.
    let start = Instant::now();
    let bomb = ten_gib_of_zeros();
    let _ = writeln!(
        std::io::stderr(),
        "10 GiB bomb: {} compressed bytes, built in {:?}",
        bomb.len(),
        start.elapsed()
    );
    assert!(bomb.len() < 20 << 20, "{}", bomb.len());
    refuse(
        "ten-gib",
        &bomb,
        &["app/zeros.bin", "10737418240 bytes"],
        fast,
    );
    drop(bomb);

    // Six 19 MiB zero files: each under the per-file limit, together over the total; a few
    // hundred kilobytes compressed.
    let zeros = vec![0u8; 19 << 20];
    let mut entries = vec![chart_yaml()];
    let names: Vec<String> = (0..6).map(|i| format!("app/files/z{i}")).collect();
    for n in &names {
        entries.push((header(n, zeros.len() as u64, r, None), &zeros[..]));
    }
    let total_bomb = tgz(&entries);
    drop(entries);
    drop(zeros);
    assert!(total_bomb.len() < 1 << 20, "{}", total_bomb.len());
    refuse(
        "total",
        &total_bomb,
        &["app/files/z5", "unpacks to more than"],
        Duration::from_secs(15),
    );

    // 200,000 files.
    let many = many_files(200_000);
    refuse(
        "many-files",
        &many,
        &["more than 20000 entries"],
        Duration::from_secs(15),
    );

    // A well-formed archive still loads.
    let good = tgz(&[chart_yaml()]);
    assert_eq!(
        read_archive(Path::new("ok.tgz"), &good, &ArchiveLimits::default())
            .unwrap()
            .len(),
        1
    );

    if let Some(kib) = peak_rss_kib() {
        let _ = writeln!(
            std::io::stderr(),
            "peak RSS of the test process: {} MiB",
            kib / 1024
        );
        assert!(
            kib < 512 * 1024,
            "peak RSS {kib} KiB: memory is not bounded"
        );
    }
}
