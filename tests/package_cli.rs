//! `charter package`: reproducible archives (same sha256 from copies with different mtimes,
//! umask and creation order), `.chartignore` (gitignore semantics) in packages and when
//! rendering a chart directory, and errors.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn ok(cwd: &Path, args: &[&str]) -> String {
    support::charter().cwd(cwd).xdg_in(cwd).ok(args)
}

fn fails(cwd: &Path, args: &[&str]) -> String {
    support::charter().cwd(cwd).xdg_in(cwd).fails(args)
}

const FILES: &[(&str, &str)] = &[
    (
        "Chart.yaml",
        "apiVersion: charter/v1\nname: repro\nversion: 0.4.2\ndescription: Reproducible\n",
    ),
    ("values.yaml", "replicas: 2\n"),
    (
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  r: \"{{ values.replicas }}\"\n",
    ),
    ("templates/_helpers.tera", "{# partials #}\n"),
    ("files/a/b/c.txt", "nested\n"),
    ("scripts/run.sh", "#!/bin/sh\necho hi\n"),
    (".chartignore", "*.swp\n"),
    ("notes.swp", "editor junk\n"),
];

/// Copy A: written by this process in declaration order, old mtimes.
fn copy_a(dir: &Path) {
    for (p, c) in FILES {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, c).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
            .unwrap();
    }
    set_exec(&dir.join("scripts/run.sh"), 0o755);
}

/// Copy B: written by a shell under umask 077, in reverse order, with fresh mtimes.
fn copy_b(dir: &Path) {
    let mut script = String::from("set -e\numask 077\n");
    for (p, c) in FILES.iter().rev() {
        let path = dir.join(p);
        script.push_str(&format!(
            "mkdir -p '{}'\nprintf '%s' '{}' > '{}'\n",
            path.parent().unwrap().display(),
            c.replace('\'', "'\\''"),
            path.display()
        ));
    }
    script.push_str(&format!(
        "chmod u+x '{}'\n",
        dir.join("scripts/run.sh").display()
    ));
    let st = Command::new("sh").arg("-c").arg(&script).status().unwrap();
    assert!(st.success());
}

#[cfg(unix)]
fn set_exec(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_exec(_p: &Path, _mode: u32) {}

fn digest_line(out: &str) -> String {
    out.split("sha256:")
        .nth(1)
        .unwrap()
        .trim_end_matches([')', '\n'])
        .to_string()
}

#[test]
fn same_sha256_from_copies_with_different_mtimes_umask_and_order() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a/repro"), t.path().join("b/repro"));
    copy_a(&a);
    copy_b(&b);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&a.join("values.yaml")), 0o644, "umask 022 copy");
        assert_eq!(mode(&b.join("values.yaml")), 0o600, "umask 077 copy");
    }
    let mut digests = Vec::new();
    for (i, src) in [&a, &b, &a, &b].iter().enumerate() {
        let dest: PathBuf = t.path().join(format!("out{i}"));
        std::fs::create_dir_all(&dest).unwrap();
        let out = ok(
            t.path(),
            &[
                "package",
                src.to_str().unwrap(),
                "-d",
                dest.to_str().unwrap(),
            ],
        );
        assert!(out.contains("Packaged repro 0.4.2"), "{out}");
        let bytes = std::fs::read(dest.join("repro-0.4.2.tgz")).unwrap();
        let d = digest_line(&out);
        assert_eq!(d, charter::chart::sha256_hex(&bytes));
        digests.push(d);
        // Fixed gzip header: no mtime, OS "unknown".
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(bytes[9], 255);
    }
    assert!(
        digests.windows(2).all(|w| w[0] == w[1]),
        "digests differ: {digests:?}"
    );

    // Entry metadata is normalized; the executable keeps 0755, the rest 0644.
    let bytes = std::fs::read(t.path().join("out1/repro-0.4.2.tgz")).unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut seen = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        let path = e.path().unwrap().display().to_string();
        assert_eq!(h.mtime().unwrap(), charter::chart::PACKAGE_MTIME, "{path}");
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0), "{path}");
        let want = if path.ends_with("run.sh") {
            0o755
        } else {
            0o644
        };
        assert_eq!(h.mode().unwrap(), want, "{path}");
        seen.push(path);
    }
    assert_eq!(
        seen,
        [
            "repro/.chartignore",
            "repro/Chart.yaml",
            "repro/files/a/b/c.txt",
            "repro/scripts/run.sh",
            "repro/templates/_helpers.tera",
            "repro/templates/cm.yaml",
            "repro/values.yaml",
        ]
    );
    // The package renders like the directory.
    let from_dir = ok(t.path(), &["template", a.to_str().unwrap()]);
    let from_tgz = ok(
        t.path(),
        &[
            "template",
            t.path().join("out1/repro-0.4.2.tgz").to_str().unwrap(),
        ],
    );
    assert_eq!(from_dir, from_tgz);
}

/// The package format is part of charter's contract: this digest is the same on every machine
/// and only changes when the format (or the compressor) deliberately changes.
#[test]
fn golden_digest() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("golden");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: charter/v1\nname: golden\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: golden\n",
    )
    .unwrap();
    let out = ok(t.path(), &["package", "golden"]);
    assert_eq!(
        digest_line(&out),
        GOLDEN,
        "the package format changed; if deliberate, update GOLDEN and say so in docs/repositories.md"
    );
}

const GOLDEN: &str = "061dede8e9a40b8cb91af02355f5bf4e40c69d5c7310325308f03d00527ef878";

#[test]
fn chartignore_applies_to_packages_and_to_rendering_a_directory() {
    let t = tempfile::tempdir().unwrap();
    let c = t.path().join("ign");
    let w = |p: &str, s: &str| {
        let p = c.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    w(
        "Chart.yaml",
        "apiVersion: charter/v1\nname: ign\nversion: 1.0.0\n",
    );
    w(
        ".chartignore",
        "# docs and scratch\n*.md\n!README.md\nscratch/\n/templates/debug.yaml\n**/*.bak\n",
    );
    w("README.md", "kept\n");
    w("CHANGELOG.md", "ignored\n");
    w("scratch/tmp.yaml", "ignored\n");
    w("files/x.bak", "ignored\n");
    w(
        "templates/debug.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: debug\n",
    );
    w(
        "templates/real.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: real\n",
    );
    w(
        "templates/sub/debug.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub-debug\n",
    );
    ok(t.path(), &["package", "ign"]);
    let bytes = std::fs::read(t.path().join("ign-1.0.0.tgz")).unwrap();
    let files = charter::chart::read_archive(Path::new("x"), &bytes, &Default::default()).unwrap();
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            ".chartignore",
            "Chart.yaml",
            "README.md",
            "templates/real.yaml",
            "templates/sub/debug.yaml"
        ]
    );
    let rendered = ok(t.path(), &["template", "ign"]);
    assert!(rendered.contains("name: real") && rendered.contains("name: sub-debug"));
    assert!(!rendered.contains("name: debug\n"), "{rendered}");

    w(".chartignore", "[z-a]\n");
    let err = fails(t.path(), &["package", "ign"]);
    assert!(err.contains(".chartignore:1"), "{err}");
}

#[test]
fn package_errors_and_overrides() {
    let t = tempfile::tempdir().unwrap();
    let err = fails(t.path(), &["package", "nope"]);
    assert!(err.contains("nope"), "{err}");
    std::fs::create_dir_all(t.path().join("empty")).unwrap();
    let err = fails(t.path(), &["package", "empty"]);
    assert!(err.contains("no Chart.yaml"), "{err}");
    let c = t.path().join("c");
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        "apiVersion: charter/v1\nname: c\nversion: 1.0.0\n",
    )
    .unwrap();
    let err = fails(t.path(), &["package", "c", "--version", "v2"]);
    assert!(err.contains("--version") && err.contains("SemVer"), "{err}");
    let out = ok(
        t.path(),
        &[
            "package",
            "c",
            "--version",
            "2.0.0",
            "--app-version",
            "9.9",
            "-d",
            "dist",
        ],
    );
    assert!(out.contains("dist/c-2.0.0.tgz"), "{out}");
    let chart = charter::chart::Chart::load(&t.path().join("dist/c-2.0.0.tgz")).unwrap();
    assert_eq!(chart.meta.version, "2.0.0");
    assert_eq!(chart.meta.app_version.as_deref(), Some("9.9"));
    // A local chart must satisfy --version.
    let err = fails(
        t.path(),
        &["template", "dist/c-2.0.0.tgz", "--version", "^1"],
    );
    assert!(
        err.contains("2.0.0") && err.contains("does not satisfy"),
        "{err}"
    );
    ok(
        t.path(),
        &["template", "dist/c-2.0.0.tgz", "--version", "^2"],
    );
    std::fs::write(c.join("templates/bad.yaml"), [0xff, 0xfe]).unwrap();
    let err = fails(t.path(), &["package", "c"]);
    assert!(err.contains("bad.yaml") && err.contains("UTF-8"), "{err}");
}
