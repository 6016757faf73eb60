//! Where each merged value came from, for `charter values --explain`.

use serde_json::Value;

use super::Resolved;
use super::provenance::{Origin, PNode, Provenance, Src};
use crate::yaml::{self, PathSeg};

/// One leaf of the merged values and the layer that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainRow {
    /// `a.b[2].c`
    pub path: String,
    /// The leaf (a scalar, or an empty map or list).
    pub value: Value,
    /// Who set it.
    pub origin: Origin,
}

/// Every leaf of the merged values with its origin, in values order (for
/// `charter values --explain`).
pub fn explain(resolved: &Resolved) -> Vec<ExplainRow> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    let p = &resolved.provenance;
    explain_walk(
        &resolved.values,
        Some(&p.root),
        p.root.src(),
        p,
        &mut path,
        &mut out,
    );
    out
}

fn explain_walk(
    v: &Value,
    node: Option<&PNode>,
    inherited: Src,
    prov: &Provenance,
    path: &mut Vec<PathSeg>,
    out: &mut Vec<ExplainRow>,
) {
    let src = node.map_or(inherited, PNode::src);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let child = match node {
                    Some(PNode::Map(_, pm)) => pm.get(k),
                    _ => None,
                };
                path.push(PathSeg::Key(k.clone()));
                explain_walk(c, child, src, prov, path, out);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, c) in a.iter().enumerate() {
                let child = match node {
                    Some(PNode::Seq(_, items)) => items.get(i),
                    _ => None,
                };
                path.push(PathSeg::Index(i));
                explain_walk(c, child, src, prov, path, out);
                path.pop();
            }
        }
        _ if path.is_empty() => {}
        _ => out.push(ExplainRow {
            path: yaml::path_to_string(path),
            value: v.clone(),
            origin: prov.origin_for(src),
        }),
    }
}

/// The merged values as YAML with each leaf's origin as a trailing comment
/// (`tag: v2  # deploy/app/prod/values.yaml:12`).
pub fn explain_yaml(resolved: &Resolved) -> String {
    yaml::to_yaml_annotated(&resolved.values, &|p: &[PathSeg]| {
        Some(resolved.provenance.origin_of(p).to_string())
    })
}
