//! Rendered manifests: splitting template output into YAML documents, checking each is a
//! Kubernetes object, and ordering objects for install (by kind, and into stages by charter's
//! ordering annotations: [`order`]).
//!
//! Checking a document reads only the object's identity (apiVersion, kind, name, namespace):
//! no value tree is built, so validating tens of thousands of rendered objects costs little
//! time and memory.

pub mod order;

use std::ops::Range;
use std::sync::Arc;

use crate::object::ObjectRef;
pub use crate::object::{INSTALL_ORDER, install_rank};

/// One rendered object: its document (a slice of its template's shared output) and identity.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The template it came from, e.g. `demo/templates/deployment.yaml`.
    pub source: Arc<str>,
    rendered: Arc<String>,
    range: Range<usize>,
    /// The object's identity.
    pub header: ObjectRef,
    /// 1-based line of the document in its template's rendered output.
    pub line: usize,
}

impl Manifest {
    /// A manifest from one document's own text.
    pub fn new(source: &str, text: &str, header: ObjectRef) -> Manifest {
        let text = trim_blank_lines(text);
        Manifest {
            source: Arc::from(source),
            range: 0..text.len(),
            rendered: Arc::new(text.to_string()),
            header,
            line: 1,
        }
    }

    /// The document's text, without the `---` separator, trimmed of surrounding blank lines.
    pub fn text(&self) -> &str {
        &self.rendered[self.range.clone()]
    }
}

/// Why a rendered document is not a usable Kubernetes object.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{source_name}: rendered document {index} (line {line} of the rendered output) {problem}\n{excerpt}"
)]
pub struct ManifestError {
    /// The template.
    pub source_name: String,
    /// 1-based index of the document within the template's output.
    pub index: usize,
    /// 1-based line of the problem in the rendered output.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
    /// The rendered lines around the problem.
    pub excerpt: String,
}

/// Splits rendered text into documents at `---` lines. Returns the byte range of each
/// non-empty document (comments and blank lines alone do not count) and its first line.
pub fn split_documents(text: &str) -> Vec<(Range<usize>, usize)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut line_no = 1usize;
    let mut pos = 0usize;
    let bytes = text.as_bytes();
    while pos <= text.len() {
        let end = memchr_newline(bytes, pos).unwrap_or(text.len());
        let line = &text[pos..end];
        if is_separator(line) {
            push_doc(text, start..pos, start_line, &mut docs);
            start = (end + 1).min(text.len());
            start_line = line_no + 1;
        }
        if end >= text.len() {
            break;
        }
        pos = end + 1;
        line_no += 1;
    }
    push_doc(text, start..text.len(), start_line, &mut docs);
    docs
}

fn memchr_newline(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| i + from)
}

fn is_separator(line: &str) -> bool {
    let line = line.strip_suffix('\r').unwrap_or(line);
    match line.strip_prefix("---") {
        Some(rest) => rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t'),
        None => false,
    }
}

fn push_doc(text: &str, range: Range<usize>, line: usize, out: &mut Vec<(Range<usize>, usize)>) {
    let body = &text[range.clone()];
    let has_content = body.lines().any(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    });
    if has_content {
        out.push((range, line));
    }
}

/// Checks a document is well-formed YAML and a Kubernetes object, and returns its identity
/// ([`crate::yaml::identity`]). Errors carry the 1-based line within the document and a
/// message.
pub fn scan_object(doc: &str) -> Result<ObjectRef, (usize, String)> {
    crate::yaml::identity::scan(doc)
}

/// Writes manifests as a YAML stream, each preceded by its `# Source:` line: what `template`
/// prints and what a release records.
pub fn write_stream<'a, W: std::io::Write>(
    out: &mut W,
    objects: impl IntoIterator<Item = &'a Manifest>,
) -> std::io::Result<()> {
    for m in objects {
        out.write_all(b"---\n# Source: ")?;
        out.write_all(m.source.as_bytes())?;
        out.write_all(b"\n")?;
        out.write_all(m.text().as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// [`write_stream`] into a string.
pub fn to_stream<'a>(objects: impl IntoIterator<Item = &'a Manifest>) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and every manifest's text is UTF-8.
    let _ = write_stream(&mut out, objects);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Sorts manifests for install: by kind rank, stable within a kind (template order, then
/// document order).
pub fn sort_for_install(manifests: &mut [Manifest]) {
    manifests.sort_by_key(|m| install_rank(&m.header.kind));
}

/// Checks one rendered document and builds its [`Manifest`].
pub fn check_document(
    source: &Arc<str>,
    rendered: &Arc<String>,
    range: Range<usize>,
    line: usize,
    index: usize,
) -> Result<Manifest, ManifestError> {
    let text = &rendered[range.clone()];
    match scan_object(text) {
        Ok(header) => {
            let trimmed = trim_blank_lines(text);
            let start = range.start + (trimmed.as_ptr() as usize - text.as_ptr() as usize);
            Ok(Manifest {
                source: source.clone(),
                rendered: rendered.clone(),
                range: start..start + trimmed.len(),
                header,
                line,
            })
        }
        Err((rel_line, problem)) => {
            let abs = line + rel_line.saturating_sub(1);
            Err(ManifestError {
                source_name: source.to_string(),
                index,
                line: abs,
                problem,
                excerpt: excerpt(rendered, abs),
            })
        }
    }
}

fn trim_blank_lines(s: &str) -> &str {
    let start = s
        .char_indices()
        .scan(0usize, |line_start, (i, c)| {
            if c == '\n' {
                *line_start = i + 1;
            }
            Some((i, c, *line_start))
        })
        .find(|(_, c, _)| !c.is_whitespace())
        .map(|(_, _, ls)| ls)
        .unwrap_or(s.len());
    s[start..].trim_end()
}

/// A few rendered lines around `line` (1-based), numbered, for error messages.
pub fn excerpt(text: &str, line: usize) -> String {
    let from = line.saturating_sub(2).max(1);
    text.lines()
        .enumerate()
        .skip(from - 1)
        .take(4)
        .map(|(i, l)| {
            let marker = if i + 1 == line { ">" } else { " " };
            format!("{marker}{:>5} | {l}", i + 1)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_separator_lines_only() {
        let text = "# c\n---\na: 1\n----\nb: 2\n--- # x\n\n# only comment\n---\nc: 3\n";
        let docs: Vec<_> = split_documents(text)
            .into_iter()
            .map(|(r, l)| (text[r].trim().to_string(), l))
            .collect();
        assert_eq!(
            docs,
            [
                ("a: 1\n----\nb: 2".to_string(), 3),
                ("c: 3".to_string(), 10)
            ]
        );
    }

    #[test]
    fn scans_identity() {
        let h = scan_object(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {a: b}\n  name: web\n  namespace: ns\nspec:\n  template:\n    metadata:\n      name: nope\n      namespace: nope\n  list:\n    - name: x\n      kind: y\n",
        )
        .unwrap();
        assert_eq!(h.api_version, "apps/v1");
        assert_eq!(h.kind, "Deployment");
        assert_eq!(h.name, "web");
        assert_eq!(h.namespace.as_deref(), Some("ns"));
        assert_eq!(h.group(), "apps");
    }

    #[test]
    fn rejects_non_objects() {
        let cases = [
            ("- a\n- b\n", "not a mapping"),
            ("just text\n", "not a mapping"),
            ("kind: A\nmetadata: {name: x}\n", "no `apiVersion`"),
            ("apiVersion: v1\nmetadata: {name: x}\n", "no `kind`"),
            (
                "apiVersion: v1\nkind: A\nmetadata: {}\n",
                "no `metadata.name`",
            ),
            ("apiVersion: v1\nkind: A\n  bad: indent\n", ""),
            ("a: [1, 2\n", ""),
        ];
        for (doc, want) in cases {
            let (_, msg) = scan_object(doc).unwrap_err();
            assert!(msg.contains(want), "{doc:?}: {msg}");
        }
    }

    #[test]
    fn error_line_is_absolute() {
        let rendered = "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: [x\n";
        let docs = split_documents(rendered);
        let (r, l) = docs[1].clone();
        let err = check_document(
            &Arc::from("c/templates/x.yaml"),
            &Arc::new(rendered.to_string()),
            r,
            l,
            2,
        )
        .unwrap_err();
        assert!(err.line >= 8, "{err}");
        assert!(
            err.to_string()
                .starts_with("c/templates/x.yaml: rendered document 2"),
            "{err}"
        );
    }
}
