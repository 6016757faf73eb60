//! Which files of a chart directory are part of the chart: `.chartignore` for charter's charts,
//! `.helmignore` for Helm's (the kind is read from Chart.yaml's `apiVersion`).
//!
//! `.chartignore`'s syntax and semantics are gitignore's: `#` comments, blank lines, `!`
//! re-includes, a trailing `/` matches directories only, a leading or inner `/` anchors the
//! pattern to the directory of the `.chartignore` file, `*` and `?` do not cross `/`, `**` does,
//! `[a-z]` classes, `\` escapes. Every directory of a chart may hold a `.chartignore`; its
//! patterns are relative to that directory and win over the ones of parent directories, exactly
//! like nested `.gitignore` files. As in git, a file inside an ignored directory cannot be
//! re-included.
//!
//! `.helmignore` is Helm's own format ([`HelmIgnore`]), read only at the top of the chart (a
//! subchart directory's `.helmignore` is not applied when its parent is loaded, as in Helm), with
//! Helm's default rule `templates/.?*` (hidden files under templates/ are not templates).
//!
//! Always: `.git/`, `.hg/` and `.svn/` are skipped, and the chart's own `Chart.yaml` is never
//! ignored. The rules apply wherever charter reads a chart directory: `charter package`, and
//! loading a chart directory for `template`, `install`, `lint`.

use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::ChartError;
use super::gomatch::GoPattern;

/// The ignore file's name.
pub const IGNORE_FILE: &str = ".chartignore";

/// Helm's ignore file's name.
pub const HELM_IGNORE_FILE: &str = ".helmignore";

/// A `.helmignore`, with Helm's semantics (Helm v4 `pkg/ignore`): rules are tried in order and
/// the first that decides wins. A rule is a Go `path.Match` pattern (no `**`); without a `/` it
/// is matched against the file's base name, with one against the whole path (a leading `/` is
/// dropped); a trailing `/` makes it apply to directories only. A `!rule` is Helm's inverted
/// rule: a path it does *not* match is ignored, one it matches goes on to the next rule. An
/// ignored directory is skipped whole.
#[derive(Debug, Clone, Default)]
pub struct HelmIgnore {
    rules: Vec<HelmRule>,
}

#[derive(Debug, Clone)]
struct HelmRule {
    pattern: GoPattern,
    negate: bool,
    must_dir: bool,
    /// Matched against the base name only.
    base_only: bool,
}

impl HelmIgnore {
    /// Parses the text of a `.helmignore` and adds Helm's default rule. `label` names the file
    /// in errors.
    pub fn parse(label: &str, src: &str) -> Result<HelmIgnore, ChartError> {
        let mut r = HelmIgnore::default();
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        for (i, line) in src.lines().enumerate() {
            r.add(line).map_err(|message| ChartError::InvalidMeta {
                path: format!("{label}:{}", i + 1),
                message,
            })?;
        }
        r.add_defaults();
        Ok(r)
    }

    /// Only Helm's default rule (a chart without `.helmignore`).
    pub fn defaults() -> HelmIgnore {
        let mut r = HelmIgnore::default();
        r.add_defaults();
        r
    }

    fn add_defaults(&mut self) {
        // A constant rule that parses.
        let _ = self.add("templates/.?*");
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(format!(
                "`{rule}`: .helmignore does not support `**` (Helm rejects it too); use a pattern per directory level"
            ));
        }
        let bad = |e: super::gomatch::BadPattern| format!("`{rule}`: {e} (Go's path.Match syntax)");
        GoPattern::new(rule).map_err(bad)?;
        let (negate, rest) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rest) = match rest.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let base_only = !rest.contains('/');
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        self.rules.push(HelmRule {
            pattern: GoPattern::new(rest).map_err(bad)?,
            negate,
            must_dir,
            base_only,
        });
        Ok(())
    }

    /// Whether Helm ignores `rel` (a `/`-separated path relative to the chart root).
    pub fn ignores(&self, rel: &str, is_dir: bool) -> bool {
        if rel.is_empty() || rel == "." || rel == "./" {
            return false;
        }
        // Decoded once for all the rules.
        let full: Vec<char> = rel.chars().collect();
        let base = full.iter().rposition(|&c| c == '/').map_or(0, |i| i + 1);
        for r in &self.rules {
            let name = if r.base_only {
                &full[base..]
            } else {
                &full[..]
            };
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !r.pattern.matches_chars(name) {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if r.pattern.matches_chars(name) {
                return true;
            }
        }
        false
    }
}

/// The rules of one `.chartignore` file.
#[derive(Debug, Clone)]
pub struct ChartIgnore {
    matcher: Gitignore,
}

impl ChartIgnore {
    /// Parses the text of a `.chartignore`. `label` names the file in errors.
    pub fn parse(label: &str, src: &str) -> Result<ChartIgnore, ChartError> {
        let mut b = GitignoreBuilder::new("");
        for (i, line) in src.lines().enumerate() {
            b.add_line(None, line).map_err(|e| ChartError::InvalidMeta {
                path: format!("{label}:{}", i + 1),
                message: format!(
                    "invalid .chartignore pattern `{line}`: {e}. The syntax is gitignore's (docs/repositories.md)"
                ),
            })?;
        }
        let matcher = b.build().map_err(|e| ChartError::InvalidMeta {
            path: label.to_string(),
            message: format!("invalid .chartignore: {e}"),
        })?;
        Ok(ChartIgnore { matcher })
    }

    /// `Some(true)` when the rules ignore `rel` (a `/`-separated path relative to the
    /// directory holding the file), `Some(false)` when a `!` rule re-includes it, `None` when no
    /// rule speaks about it.
    pub fn decide(&self, rel: &str, is_dir: bool) -> Option<bool> {
        match self.matcher.matched(rel, is_dir) {
            Match::None => None,
            Match::Ignore(_) => Some(true),
            Match::Whitelist(_) => Some(false),
        }
    }
}

/// One file of a chart directory, as `.chartignore` leaves it.
#[derive(Debug, Clone)]
pub struct ChartFile {
    /// Path relative to the chart root, `/`-separated.
    pub rel: String,
    /// The file on disk.
    pub abs: PathBuf,
    /// Whether the owner may execute it (kept as mode 0755 in packages, else 0644).
    pub executable: bool,
    /// Its size when listed, in bytes.
    pub len: u64,
}

impl ChartFile {
    /// The file's bytes. Like `std::fs::read`, with the size the listing already knows: the
    /// buffer is allocated once and no second `stat` is made (a file that changed size since
    /// is still read whole).
    pub fn read(&self) -> Result<Vec<u8>, ChartError> {
        use std::io::Read as _;
        let io = |source| ChartError::Io {
            path: self.abs.clone(),
            source,
        };
        let file = std::fs::File::open(&self.abs).map_err(io)?;
        let mut bytes = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
        // Through `Take`, whose reading to the end trusts the buffer's capacity, where
        // `File`'s would `stat` the file again for its size.
        file.take(u64::MAX).read_to_end(&mut bytes).map_err(io)?;
        Ok(bytes)
    }
}

/// Lists the files of the chart directory `root` that its ignore rules keep (`.helmignore`
/// for a Helm chart, `.chartignore` otherwise), sorted by path. Symbolic links are followed
/// only when they stay inside the chart; a link that points outside, or a directory link
/// cycle, is an error naming the link.
pub fn list_chart_files(root: &Path) -> Result<Vec<ChartFile>, ChartError> {
    let canonical_root = root.canonicalize().map_err(|source| ChartError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let helm = if super::dir_holds_helm_chart(root) {
        let file = root.join(HELM_IGNORE_FILE);
        Some(if file.is_file() {
            let src = std::fs::read_to_string(&file).map_err(|source| ChartError::Io {
                path: file.clone(),
                source,
            })?;
            HelmIgnore::parse(&file.display().to_string(), &src)?
        } else {
            HelmIgnore::defaults()
        })
    } else {
        None
    };
    let mut walker = Walker {
        root,
        canonical_root: canonical_root.clone(),
        out: Vec::new(),
        rules: Vec::new(),
        helm,
        ancestors: vec![canonical_root],
    };
    walker.walk(root, "")?;
    let mut out = walker.out;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

struct Walker<'a> {
    root: &'a Path,
    canonical_root: PathBuf,
    out: Vec<ChartFile>,
    /// (directory relative to the root, its rules), outermost first.
    rules: Vec<(String, ChartIgnore)>,
    /// A Helm chart's `.helmignore` (which replaces `.chartignore` files).
    helm: Option<HelmIgnore>,
    /// Canonical paths of the directories being walked, to detect link cycles.
    ancestors: Vec<PathBuf>,
}

impl Walker<'_> {
    fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        if rel == "Chart.yaml" {
            return false;
        }
        if let Some(h) = &self.helm {
            return h.ignores(rel, is_dir);
        }
        for (base, rules) in self.rules.iter().rev() {
            let sub = if base.is_empty() {
                rel
            } else {
                match rel
                    .strip_prefix(base.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                {
                    Some(r) => r,
                    None => continue,
                }
            };
            if let Some(decision) = rules.decide(sub, is_dir) {
                return decision;
            }
        }
        false
    }

    fn walk(&mut self, dir: &Path, rel_dir: &str) -> Result<(), ChartError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ChartError::Io { path, source }
        };
        let ignore_file = dir.join(IGNORE_FILE);
        let pushed = if self.helm.is_none() && ignore_file.is_file() {
            let src = std::fs::read_to_string(&ignore_file).map_err(io(&ignore_file))?;
            let rules = ChartIgnore::parse(&ignore_file.display().to_string(), &src)?;
            self.rules.push((rel_dir.to_string(), rules));
            true
        } else {
            false
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io(dir))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" || name == ".hg" || name == ".svn" {
                continue;
            }
            let path = entry.path();
            let rel = if rel_dir.is_empty() {
                name.clone()
            } else {
                format!("{rel_dir}/{name}")
            };
            // A link is followed (its target's metadata); anything else is stat'ed relative to
            // the directory being read, without resolving the whole path again.
            let is_link = entry.file_type().map_err(io(&path))?.is_symlink();
            let meta = if is_link {
                std::fs::metadata(&path)
            } else {
                entry.metadata()
            }
            .map_err(io(&path))?;
            if self.ignored(&rel, meta.is_dir()) {
                continue;
            }
            // Only a link can lead elsewhere: anything else is where its directory is (the
            // last ancestor), which saves realpath's readlink of every path component.
            let real = match self.ancestors.last() {
                Some(parent) if !is_link => parent.join(entry.file_name()),
                _ => path.canonicalize().map_err(io(&path))?,
            };
            if !real.starts_with(&self.canonical_root) {
                return Err(ChartError::Archive {
                    archive: self.root.display().to_string(),
                    message: format!(
                        "{} is a link that points outside the chart ({}); charts must be self-contained (copy the file in, or list the link in .chartignore)",
                        path.display(),
                        real.display()
                    ),
                });
            }
            if meta.is_dir() {
                if self.ancestors.contains(&real) {
                    return Err(ChartError::Archive {
                        archive: self.root.display().to_string(),
                        message: format!(
                            "{} is a link to one of its own parent directories (a cycle); remove it or list it in .chartignore",
                            path.display()
                        ),
                    });
                }
                self.ancestors.push(real);
                self.walk(&path, &rel)?;
                self.ancestors.pop();
            } else if meta.is_file() {
                self.out.push(ChartFile {
                    rel,
                    abs: path,
                    executable: is_executable(&meta),
                    len: meta.len(),
                });
            }
        }
        if pushed {
            self.rules.pop();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let p = t.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        t
    }

    fn listed(t: &tempfile::TempDir) -> Vec<String> {
        list_chart_files(t.path())
            .unwrap()
            .into_iter()
            .map(|f| f.rel)
            .collect()
    }

    #[test]
    fn gitignore_semantics() {
        let t = tree(&[
            ("Chart.yaml", "x"),
            (
                ".chartignore",
                "# comment\n\n*.bak\n/secret.txt\ntmp/\n!keep.bak\ndocs/**/*.md\n\\#literal\n",
            ),
            ("a.bak", ""),
            ("keep.bak", ""),
            ("secret.txt", ""),
            ("templates/secret.txt", ""),
            ("templates/x.yaml", ""),
            ("templates/old.bak", ""),
            ("tmp/a", ""),
            ("templates/tmp/b", ""),
            ("docs/a/b/c.md", ""),
            ("docs/readme.txt", ""),
            ("#literal", ""),
            (".git/HEAD", ""),
        ]);
        assert_eq!(
            listed(&t),
            [
                ".chartignore",
                "Chart.yaml",
                "docs/readme.txt",
                "keep.bak",
                "templates/secret.txt",
                "templates/x.yaml",
            ]
        );
    }

    #[test]
    fn nested_files_win_and_ignored_dirs_stay_ignored() {
        let t = tree(&[
            ("Chart.yaml", "x"),
            (".chartignore", "*.txt\nbuild/\n"),
            ("charts/sub/.chartignore", "!*.txt\n"),
            ("charts/sub/notes.txt", ""),
            ("top.txt", ""),
            ("build/.chartignore", "!*\n"),
            ("build/out", ""),
        ]);
        assert_eq!(
            listed(&t),
            [
                ".chartignore",
                "Chart.yaml",
                "charts/sub/.chartignore",
                "charts/sub/notes.txt"
            ]
        );
    }

    #[test]
    fn chart_yaml_is_never_ignored() {
        let t = tree(&[
            ("Chart.yaml", "x"),
            (".chartignore", "*\n!.chartignore\n"),
            ("a", ""),
        ]);
        assert_eq!(listed(&t), [".chartignore", "Chart.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn links_outside_and_cycles_are_errors_unless_ignored() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), "x").unwrap();
        let t = tree(&[("Chart.yaml", "x")]);
        std::os::unix::fs::symlink(outside.path().join("f"), t.path().join("out")).unwrap();
        let err = list_chart_files(t.path()).unwrap_err().to_string();
        assert!(err.contains("points outside the chart"), "{err}");
        std::fs::write(t.path().join(".chartignore"), "out\n").unwrap();
        assert_eq!(listed(&t), [".chartignore", "Chart.yaml"]);

        std::fs::create_dir(t.path().join("d")).unwrap();
        std::os::unix::fs::symlink(t.path(), t.path().join("d/loop")).unwrap();
        let err = list_chart_files(t.path()).unwrap_err().to_string();
        assert!(err.contains("cycle"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_are_followed_and_checked_where_they_lead() {
        let t = tree(&[
            ("Chart.yaml", "x"),
            ("real/a.txt", "from real"),
            ("real/deep/b.txt", "deep"),
        ]);
        std::os::unix::fs::symlink(t.path().join("real"), t.path().join("alias")).unwrap();
        std::os::unix::fs::symlink(t.path().join("real/a.txt"), t.path().join("a-link")).unwrap();
        // The chart reached through a link to its directory lists the same files.
        let via = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(t.path(), via.path().join("chart")).unwrap();
        let files = list_chart_files(&via.path().join("chart")).unwrap();
        let rels: Vec<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "Chart.yaml",
                "a-link",
                "alias/a.txt",
                "alias/deep/b.txt",
                "real/a.txt",
                "real/deep/b.txt"
            ]
        );
        let a = files.iter().find(|f| f.rel == "alias/a.txt").unwrap();
        assert_eq!((a.len, a.read().unwrap()), (9, b"from real".to_vec()));

        // A link under a linked directory that leaves the chart is still caught.
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), t.path().join("real/deep/out"))
            .unwrap();
        let err = list_chart_files(t.path()).unwrap_err().to_string();
        assert!(
            err.contains("alias/deep/out") && err.contains("points outside the chart"),
            "{err}"
        );
    }

    #[test]
    fn helmignore_matches_base_names_paths_directories_and_negations() {
        let h = HelmIgnore::parse(".helmignore", "*.tmp\n/docs/*.md\nbuild/\né?.txt\n").unwrap();
        for (rel, is_dir, ignored) in [
            ("a.tmp", false, true),
            ("deep/dir/b.tmp", false, true),
            ("docs/guide.md", false, true),
            ("docs/sub/guide.md", false, false),
            ("x/docs/guide.md", false, false),
            ("build", true, true),
            ("build", false, false),
            ("dir/éa.txt", false, true),
            ("dir/éab.txt", false, false),
            ("templates/.hidden", false, true),
            ("templates/cm.yaml", false, false),
        ] {
            assert_eq!(h.ignores(rel, is_dir), ignored, "{rel}");
        }
        // A negated rule ignores every path it does not match.
        let h = HelmIgnore::parse(".helmignore", "*.tmp\n!ci/keep.yaml\n").unwrap();
        for (rel, ignored) in [
            ("ci/keep.yaml", false),
            ("ci/other.yaml", true),
            ("x.tmp", true),
        ] {
            assert_eq!(h.ignores(rel, false), ignored, "{rel}");
        }
    }

    #[test]
    fn bad_pattern_names_file_and_line() {
        let err = ChartIgnore::parse("c/.chartignore", "ok\n[z-a\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c/.chartignore:2"), "{err}");
    }
}
