//! What Helm does with a template's output (Helm v4's `releaseutil.SortManifests`): the text is
//! cut into documents at Helm's separator, each document's head (apiVersion, kind, name,
//! annotations) is read, and a document annotated `helm.sh/hook` is a hook, not an object of
//! the release.

use serde_json::Value;

use crate::manifest::{Manifest, ManifestError};
use crate::object::ObjectRef;
use crate::render::hook::{HELM_KEYS, Hook, HookMark, read_mark};
use crate::values::type_name;

/// One template's rendered text cut into documents, as Helm's `SplitManifests` cuts it: at
/// every match of `(?:^|\s*\n)---\s*` in the trimmed text (so a separator eats the whitespace
/// around it), each piece trimmed, empty pieces dropped.
pub fn split_manifests(text: &str) -> Vec<&str> {
    let t = text.trim();
    let b = t.as_bytes();
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c');
    let mut pieces = Vec::new();
    let mut beg = 0;
    let mut pos = 0;
    loop {
        // The leftmost match at or after `pos`.
        let found = if pos == 0 && t.starts_with("---") {
            Some((0, 3))
        } else {
            t[pos..].find("\n---").map(|i| {
                let nl = pos + i;
                let mut start = nl;
                while start > pos && is_space(b[start - 1]) {
                    start -= 1;
                }
                (start, nl + 4)
            })
        };
        let Some((start, mut end)) = found else {
            break;
        };
        while end < b.len() && is_space(b[end]) {
            end += 1;
        }
        pieces.push(&t[beg..start]);
        beg = end;
        pos = end;
    }
    pieces.push(&t[beg..]);
    pieces
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(str::trim)
        .collect()
}

/// What a template's documents are: objects, hooks, or nothing (a document of comments only).
#[derive(Debug)]
pub enum Doc {
    /// An object of the release.
    Object(Manifest),
    /// A hook.
    Hook(Hook),
    /// Nothing to apply: an empty document, or a hook of an event Helm does not know.
    Skip,
}

/// Reads one document as Helm reads its head. An error is Helm's "YAML parse error": the
/// document is not YAML, or its head has the wrong shape (`metadata` not a map…).
pub fn read_doc(source: &str, index: usize, doc: &str) -> Result<Doc, ManifestError> {
    if !doc.contains("helm.sh/hook")
        && let Ok(header) = crate::yaml::identity::scan(doc)
    {
        return Ok(Doc::Object(Manifest::new(source, doc, header)));
    }
    let fail = |line: usize, problem: String| ManifestError {
        source_name: source.to_string(),
        index,
        line,
        problem,
        excerpt: excerpt(doc, line),
    };
    let value = crate::yaml::parse_str(doc, source)
        .map_err(|e| fail(e.line, format!("is not valid YAML: {}", e.message)))?;
    let obj = match &value {
        Value::Null => return Ok(Doc::Skip),
        Value::Object(m) => m,
        other => {
            return Err(fail(
                1,
                format!(
                    "is not a mapping but {}; a Kubernetes object is a YAML mapping",
                    type_name(other)
                ),
            ));
        }
    };
    let text_field = |v: Option<&Value>, what: &str| -> Result<String, ManifestError> {
        match v {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(v.to_string()),
            Some(other) => Err(fail(
                1,
                format!("has {what} that is {}, not a string", type_name(other)),
            )),
        }
    };
    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            return Err(fail(
                1,
                format!("has `metadata` that is {}, not a mapping", type_name(other)),
            ));
        }
    };
    let header = ObjectRef {
        api_version: text_field(obj.get("apiVersion"), "`apiVersion`")?,
        kind: text_field(obj.get("kind"), "`kind`")?,
        namespace: metadata
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        name: text_field(metadata.and_then(|m| m.get("name")), "`metadata.name`")?,
    };
    let annotations = match metadata.and_then(|m| m.get("annotations")) {
        None | Some(Value::Null) => None,
        Some(Value::Object(a)) => Some(a),
        Some(other) => {
            return Err(fail(
                1,
                format!(
                    "has `metadata.annotations` that is {}, not a mapping",
                    type_name(other)
                ),
            ));
        }
    };
    let manifest = Manifest::new(source, doc, header);
    if annotations.is_none_or(|a| !a.contains_key(HELM_KEYS.hook)) {
        return Ok(Doc::Object(manifest));
    }
    match read_mark(HELM_KEYS, annotations)
        .map_err(|problem| fail(1, format!("({}) {problem}", manifest.header.display())))?
    {
        HookMark::None => Ok(Doc::Object(manifest)),
        HookMark::Skipped => {
            tracing::info!("{source}: skipping a hook of Helm 2's crd-install event, as Helm does");
            Ok(Doc::Skip)
        }
        HookMark::Hook {
            events,
            weight,
            delete_policies,
        } => Ok(Doc::Hook(Hook {
            manifest,
            events,
            weight,
            delete_policies,
        })),
    }
}

/// The lines of `doc` around `line`, numbered.
fn excerpt(doc: &str, line: usize) -> String {
    let lines: Vec<&str> = doc.lines().collect();
    let from = line.saturating_sub(3).max(1);
    let to = (line + 2).min(lines.len());
    (from..=to)
        .filter_map(|n| lines.get(n - 1).map(|l| format!("{n:>4} | {l}")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_helms_regex_does() {
        assert_eq!(split_manifests("a: 1\n---\nb: 2\n"), ["a: 1", "b: 2"]);
        // Go's regexp: the first separator's `\s*` eats the newline the second one needs.
        assert_eq!(
            split_manifests("---\na: 1\n---  \n\n---\nb: 2"),
            ["a: 1", "---\nb: 2"]
        );
        assert_eq!(split_manifests("a: |\n  ---\n  x\n"), ["a: |\n  ---\n  x"]);
        // The separator eats the indentation that follows it.
        assert_eq!(
            split_manifests("x: 1\n---\n  y: 2\n  z: 3"),
            ["x: 1", "y: 2\n  z: 3"]
        );
        // `---foo` separates too: the regex needs no space after the dashes.
        assert_eq!(split_manifests("a: 1\n---b: 2"), ["a: 1", "b: 2"]);
        // A separator right after another one's trailing whitespace stays in the document.
        assert_eq!(
            split_manifests("a: 1\n---\n---\nb: 2"),
            ["a: 1", "---\nb: 2"]
        );
        assert!(split_manifests(" \n ").is_empty());
    }

    #[test]
    fn heads_and_hooks() {
        let doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: Test , pre-install\n    helm.sh/hook-weight: \"-5\"\n";
        let Doc::Hook(h) = read_doc("c/templates/t.yaml", 1, doc).unwrap() else {
            panic!("not a hook");
        };
        assert_eq!(h.events, ["test", "pre-install"]);
        assert_eq!(h.weight, -5);
        assert!(h.is_test());
        let helm2 = doc.replace("Test , pre-install", "crd-install");
        assert!(matches!(read_doc("c", 1, &helm2).unwrap(), Doc::Skip));
        let unknown = doc.replace("Test , pre-install", "pre-instal");
        let e = read_doc("c/templates/t.yaml", 1, &unknown)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c/templates/t.yaml") && e.contains("Pod/t") && e.contains("`pre-instal`"),
            "{e}"
        );
        let weight = doc.replace("\"-5\"", "heavy");
        let e = read_doc("c", 1, &weight).unwrap_err().to_string();
        assert!(e.contains("not an integer"), "{e}");
        // Helm takes documents that are no complete Kubernetes object.
        let Doc::Object(m) = read_doc("c", 1, "kind: Note\nnote: 1\n").unwrap() else {
            panic!("not an object");
        };
        assert_eq!(m.header.kind, "Note");
        assert!(matches!(
            read_doc("c", 1, "# only a comment").unwrap(),
            Doc::Skip
        ));
        let err = read_doc("c", 2, "kind: X\nmetadata: [a]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`metadata`"), "{err}");
        assert!(read_doc("c", 1, "a: [\n").is_err());
    }
}
