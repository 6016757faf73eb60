//! Merge rules, replicating Helm v4.1.4 exactly (verified by `tests/helm_set_diff.rs`).
//!
//! Two operations:
//! - [`override_merge`]: how user layers (deploy-tree files, `-f` files) stack: maps merge key by
//!   key, recursively; anything else (list, scalar, **and null**) replaces. A null is kept as a
//!   deletion marker so that it can delete the chart default beneath it.
//! - coalescing ([`coalesce_maps`]): the merged user values over the chart's defaults. A null
//!   deletes the default's key; a null with nothing (or only a null) beneath it is kept.
use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::provenance::{PNode, Src};

pub(crate) type PMap = IndexMap<String, PNode>;

fn take_child(p: &mut PMap, k: &str, v: &Value, fallback: Src) -> PNode {
    p.swap_remove(k)
        .unwrap_or_else(|| PNode::uniform(v, fallback))
}

fn as_pmap(p: PNode) -> PMap {
    match p {
        PNode::Map(_, m) => m,
        _ => IndexMap::new(),
    }
}

/// User-layer merge, with provenance: `over` wins; maps merge recursively; anything else
/// (including null) replaces.
pub(crate) fn override_merge(
    base: &mut Map<String, Value>,
    bp: &mut PMap,
    over: Map<String, Value>,
    mut op: PMap,
    over_src: Src,
) {
    for (k, v) in over {
        let pv = take_child(&mut op, &k, &v, over_src);
        match (base.get_mut(&k), v) {
            (Some(Value::Object(bm)), Value::Object(om)) => {
                let child_src = pv.src();
                let bpc = bp
                    .entry(k)
                    .or_insert_with(|| PNode::Map(child_src, IndexMap::new()))
                    .map_mut();
                override_merge(bm, bpc, om, as_pmap(pv), child_src);
            }
            (_, v) => {
                base.insert(k.clone(), v);
                bp.insert(k, pv);
            }
        }
    }
}

/// Which of Helm's two coalescing functions runs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Level<'a> {
    /// `coalesceValues`, at the root of a chart's values; the sections of its subcharts
    /// (`child_keys`) keep their nulls for the subchart's own coalescing.
    Root {
        /// The keys of the chart's subchart sections.
        child_keys: &'a [String],
    },
    /// `coalesceTablesFullKey`, for a table below the root.
    Table,
}

/// Helm's `coalesceValues` ([`Level::Root`]) and `coalesceTablesFullKey` ([`Level::Table`]):
/// `user` (authoritative) over `defaults`.
///
/// - a user null deletes the key: at the root whenever the defaults have it, in a table only
///   when the default's value is not null (a null over a missing or null default is kept);
///   with `merge` nulls are always kept;
/// - user map over default map: coalesced as a table (with nulls kept in subchart sections,
///   whose own defaults are coalesced later);
/// - otherwise the user value wins; keys only in the defaults are copied.
///
/// The result lists the defaults' keys first (in their order), then keys only the user set.
#[allow(clippy::too_many_arguments)] // mirrors Helm's functions, plus provenance
pub(crate) fn coalesce_maps(
    user: Map<String, Value>,
    mut up: PMap,
    defaults: Map<String, Value>,
    mut dp: PMap,
    level: Level<'_>,
    merge: bool,
    warnings: &mut Vec<String>,
    prefix: &str,
) -> (Map<String, Value>, PMap) {
    let mut user = user;
    let mut out = Map::new();
    let mut op = PMap::new();
    let zero = Src { source: 0, line: 0 };
    let root = matches!(level, Level::Root { .. });
    for (k, dv) in defaults {
        let dpn = take_child(&mut dp, &k, &dv, zero);
        let Some(uv) = user.shift_remove(&k) else {
            out.insert(k.clone(), dv);
            op.insert(k, dpn);
            continue;
        };
        let upn = take_child(&mut up, &k, &uv, zero);
        match (uv, dv) {
            (Value::Null, dv) if !merge && (root || !dv.is_null()) => {} // deleted
            (Value::Object(um), Value::Object(dm)) => {
                let merge =
                    merge || matches!(level, Level::Root { child_keys } if child_keys.contains(&k));
                let (v, p) =
                    coalesce_table((um, upn), (dm, dpn), merge, warnings, &join(prefix, &k));
                out.insert(k.clone(), v);
                op.insert(k, p);
            }
            (uv, dv) => {
                if dv.is_object() && (root || !uv.is_null()) {
                    warnings.push(format!(
                        "{}: the chart default is a map but a non-map value was given; \
                         the value replaces the map",
                        join(prefix, &k)
                    ));
                } else if uv.is_object() && !dv.is_null() {
                    warnings.push(format!(
                        "{}: a map was given where the chart default is not a map; \
                         the map is used",
                        join(prefix, &k)
                    ));
                }
                out.insert(k.clone(), uv);
                op.insert(k, upn);
            }
        }
    }
    for (k, uv) in user {
        let upn = take_child(&mut up, &k, &uv, zero);
        out.insert(k.clone(), uv);
        op.insert(k, upn);
    }
    (out, op)
}

/// A user map over a default map below the root, each with its provenance: the coalesced map
/// and its provenance, attributed to the user map.
fn coalesce_table(
    (user, up): (Map<String, Value>, PNode),
    (defaults, dp): (Map<String, Value>, PNode),
    merge: bool,
    warnings: &mut Vec<String>,
    prefix: &str,
) -> (Value, PNode) {
    let src = up.src();
    let (m, p) = coalesce_maps(
        user,
        as_pmap(up),
        defaults,
        as_pmap(dp),
        Level::Table,
        merge,
        warnings,
        prefix,
    );
    (Value::Object(m), PNode::Map(src, p))
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

/// Helm's `coalesceGlobals`: the parent's `global` map merged into a subchart section's
/// `global` (the parent's values win; nested maps merge). The section always ends up with a
/// `global` map.
pub(crate) fn coalesce_globals(
    section: &mut Map<String, Value>,
    sp: &mut PMap,
    parent_global: Option<(&Value, &PNode)>,
    section_src: Src,
    warnings: &mut Vec<String>,
    prefix: &str,
) {
    if section.get("global").is_some_and(|g| !g.is_object()) {
        warnings.push(format!(
            "{prefix}.global is not a map; the parent's globals are not passed down"
        ));
        return;
    }
    let global_src = sp.get("global").map_or(section_src, PNode::src);
    let (sg, sgp) = match parent_global {
        None => (Map::new(), PMap::new()),
        Some((Value::Object(m), p)) => {
            let pm = match p {
                PNode::Map(_, pm) => pm.clone(),
                _ => PMap::new(),
            };
            (m.clone(), pm)
        }
        Some(_) => {
            warnings.push("global is not a map; it is not passed down to subcharts".to_string());
            return;
        }
    };
    // The section's own `global` is taken out and put back (in its place) below.
    let (mut dg, mut dgp) = match section.get_mut("global") {
        Some(Value::Object(m)) => match sp.get_mut("global") {
            Some(PNode::Map(_, p)) => (std::mem::take(m), std::mem::take(p)),
            _ => (std::mem::take(m), PMap::new()),
        },
        _ => (Map::new(), PMap::new()),
    };
    let mut sgp = sgp;
    for (k, val) in sg {
        let pv = take_child(&mut sgp, &k, &val, global_src);
        match val {
            Value::Object(vv) => match dg.get(&k) {
                None => {
                    dg.insert(k.clone(), Value::Object(vv));
                    dgp.insert(k, pv);
                }
                Some(Value::Object(existing)) => {
                    let existing = existing.clone();
                    let ep = dgp.get(&k).cloned().unwrap_or_else(|| {
                        PNode::uniform(&Value::Object(existing.clone()), global_src)
                    });
                    let path = format!("{prefix}.global.{k}");
                    let (v, p) = coalesce_table((vv, pv), (existing, ep), true, warnings, &path);
                    dg.insert(k.clone(), v);
                    dgp.insert(k, p);
                }
                Some(_) => warnings.push(format!(
                    "{prefix}.global.{k}: cannot merge the parent's map onto a non-map; skipped"
                )),
            },
            val => {
                if matches!(dg.get(&k), Some(Value::Object(_))) {
                    warnings.push(format!(
                        "{prefix}.global.{k} is a map in the subchart; the parent's non-map value \
                         is skipped"
                    ));
                } else {
                    dg.insert(k.clone(), val);
                    dgp.insert(k, pv);
                }
            }
        }
    }
    section.insert("global".to_string(), Value::Object(dg));
    sp.insert("global".to_string(), PNode::Map(global_src, dgp));
}

/// Evaluate a Helm dependency `condition`: comma-separated value paths (`sub.enabled,
/// global.sub.enabled`); the first path that holds a boolean decides. Paths that are missing,
/// hold a map, or hold a non-boolean are skipped (Helm warns for the last). `None` when no path
/// decides (the dependency stays enabled).
pub fn condition_enabled(values: &Value, condition: &str) -> Option<bool> {
    for path in condition.split(',') {
        let path = path.trim();
        if path.is_empty() {
            continue;
        }
        if let Some(Value::Bool(b)) = path_value(values, path) {
            return Some(*b);
        }
    }
    None
}

/// Helm's `Values.PathValue`: a dotted path to a non-map value.
pub fn path_value<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = values;
    let segs: Vec<&str> = path.split('.').collect();
    let (last, parents) = segs.split_last()?;
    for seg in parents {
        node = node.as_object()?.get(*seg)?;
        if !node.is_object() {
            return None;
        }
    }
    let v = node.as_object()?.get(*last)?;
    (!v.is_object()).then_some(v)
}

/// The values a subchart sees: its section of the parent's values (`name_or_alias`), with the
/// parent's `global` merged into the section's `global` (the parent wins; Helm semantics).
pub fn scope_for_subchart(parent: &Value, name_or_alias: &str) -> Value {
    let mut section = match parent.get(name_or_alias) {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let zero = Src { source: 0, line: 0 };
    let mut sp = PMap::new();
    let pg = parent.get("global");
    let pgn = pg.map(|g| PNode::uniform(g, zero));
    let mut warnings = Vec::new();
    coalesce_globals(
        &mut section,
        &mut sp,
        pg.zip(pgn.as_ref()),
        zero,
        &mut warnings,
        name_or_alias,
    );
    Value::Object(section)
}

/// Coalesce a subchart's own `values.yaml` defaults under its section of the parent's values
/// (the parent's values win; a null in the section deletes the default's key). Helm applies
/// this after [`scope_for_subchart`].
pub fn coalesce_subchart_defaults(section: Value, sub_defaults: &Value) -> Value {
    let user = match section {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let defaults = match sub_defaults {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    let mut warnings = Vec::new();
    let (m, _) = coalesce_maps(
        user,
        PMap::new(),
        defaults,
        PMap::new(),
        Level::Root { child_keys: &[] },
        false,
        &mut warnings,
        "",
    );
    Value::Object(m)
}

/// Merge `overlay` into `base` the way user layers stack (Helm's `-f` rule): maps merge key by
/// key, recursively; lists and scalars replace; a null replaces too and is kept, so that it
/// deletes the chart default beneath when the result is coalesced with the chart's defaults
/// ([`coalesce`]). A non-map `base` is replaced by `overlay`.
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            let zero = Src { source: 0, line: 0 };
            let mut bp = PMap::new();
            override_merge(b, &mut bp, o, PMap::new(), zero);
        }
        (b, o) => *b = o,
    }
}

/// Coalesce user values over chart defaults (Helm's rule): a null in `user` deletes the key
/// from `defaults` (at the top level whatever the default is; below it when the default is not
/// null); a null with nothing beneath stays null; maps merge; anything else from `user` wins.
pub fn coalesce(user: Value, defaults: &Value) -> Value {
    coalesce_subchart_defaults(user, defaults)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn override_merge_keeps_nulls_and_replaces_lists() {
        let mut b = json!({"a": {"x": 1, "y": [1, 2]}, "k": 1});
        merge(&mut b, json!({"a": {"y": [3], "z": null}, "k": null}));
        assert_eq!(b, json!({"a": {"x": 1, "y": [3], "z": null}, "k": null}));
    }

    #[test]
    fn coalesce_matches_helm() {
        // Pinned against helm template v4.1.4 (see tests/helm_set_diff.rs for the live check).
        let defaults = json!({
            "keep": 1, "defnull": null,
            "nested": {"a": 1, "b": 2, "dn": null, "deep": {"x": 1}},
            "list": [1, 2, 3]
        });
        let user = json!({
            "nested": {"a": null, "c": 3, "deep": null, "q": null, "dn": null},
            "fnull": null, "list": [9], "defnull": null
        });
        assert_eq!(
            coalesce(user, &defaults),
            json!({
                "keep": 1,
                "nested": {"b": 2, "dn": null, "c": 3, "q": null},
                "list": [9], "fnull": null
            })
        );
    }

    #[test]
    fn globals_flow_down() {
        let parent = json!({
            "global": {"g1": "parent", "gm": {"a": "parent"}},
            "sub": {"global": {"g1": "sub", "g3": "sub", "gm": {"a": "sub", "b": "sub"}}, "x": 1}
        });
        assert_eq!(
            scope_for_subchart(&parent, "sub"),
            json!({"global": {"g1": "parent", "g3": "sub", "gm": {"a": "parent", "b": "sub"}}, "x": 1})
        );
        assert_eq!(scope_for_subchart(&json!({}), "sub"), json!({"global": {}}));
    }

    #[test]
    fn conditions() {
        let v = json!({"sub": {"enabled": false, "str": "yes", "m": {}}, "global": {"on": true}});
        assert_eq!(condition_enabled(&v, "sub.enabled"), Some(false));
        assert_eq!(condition_enabled(&v, "missing.x, global.on"), Some(true));
        assert_eq!(condition_enabled(&v, "sub.str,sub.enabled"), Some(false));
        assert_eq!(condition_enabled(&v, "sub.m"), None);
        assert_eq!(condition_enabled(&v, ""), None);
    }
}
