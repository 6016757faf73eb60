//! Hooks: rendered documents that are not objects of the release but run around an operation
//! (before or after an install, upgrade, rollback or uninstall, or as a test). A Helm chart
//! marks them with Helm's annotations (`helm.sh/hook`, `helm.sh/hook-weight`,
//! `helm.sh/hook-delete-policy`); a charter chart with charter's own (`charter.dev/hook`,
//! `charter.dev/hook-weight`, `charter.dev/hook-delete-policy`), never Helm's: one name space
//! per chart kind. The values are Helm's in both.
//!
//! Helm skips a hook naming an event it does not know and reads a weight that is not an
//! integer as 0; charter refuses both, naming the template and object, because either is a
//! typo that would make the hook silently never run or run out of order. Helm 2's
//! `crd-install`, which Helm 3 and 4 skip, is still skipped on Helm charts.

use serde_json::{Map, Value};

use crate::manifest::{Manifest, ManifestError};

/// The annotation names that mark a hook, for one kind of chart.
#[derive(Debug, Clone, Copy)]
pub struct HookKeys {
    /// The events it runs on, comma-separated.
    pub hook: &'static str,
    /// Its weight: lower runs first.
    pub weight: &'static str,
    /// When it is deleted, comma-separated.
    pub delete_policy: &'static str,
}

/// Helm's hook annotations, read on Helm charts.
pub const HELM_KEYS: HookKeys = HookKeys {
    hook: "helm.sh/hook",
    weight: "helm.sh/hook-weight",
    delete_policy: "helm.sh/hook-delete-policy",
};

/// charter's hook annotations, read on charter (Tera) charts.
pub const CHARTER_KEYS: HookKeys = HookKeys {
    hook: "charter.dev/hook",
    weight: "charter.dev/hook-weight",
    delete_policy: "charter.dev/hook-delete-policy",
};

/// The events a hook can run on (Helm's names).
pub const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// The delete policies a hook can have (Helm's names).
pub const DELETE_POLICIES: &[&str] = &["before-hook-creation", "hook-succeeded", "hook-failed"];

/// A hook object: rendered, but run around an operation rather than applied with the release.
#[derive(Debug, Clone)]
pub struct Hook {
    /// The object.
    pub manifest: Manifest,
    /// Its events (`pre-install`, `test`…), lower-cased.
    pub events: Vec<String>,
    /// Its weight (0 when absent).
    pub weight: i64,
    /// Its delete policies as written (none: `before-hook-creation` applies).
    pub delete_policies: Vec<String>,
}

impl Hook {
    /// Whether it is a test (`helm template --skip-tests` leaves those out).
    pub fn is_test(&self) -> bool {
        self.events
            .iter()
            .any(|e| e == "test" || e == "test-success")
    }
}

/// What a document's annotations make of it.
#[derive(Debug)]
pub enum HookMark {
    /// Not a hook.
    None,
    /// A hook.
    Hook {
        /// Its events.
        events: Vec<String>,
        /// Its weight.
        weight: i64,
        /// Its delete policies.
        delete_policies: Vec<String>,
    },
    /// A hook Helm skips (Helm 2's `crd-install`): neither an object nor a hook.
    Skipped,
}

/// Reads the hook annotations `keys` names from `annotations`; an error says what is wrong
/// with which annotation (the caller adds the template and object).
pub fn read_mark(
    keys: HookKeys,
    annotations: Option<&Map<String, Value>>,
) -> Result<HookMark, String> {
    let Some(a) = annotations else {
        return Ok(HookMark::None);
    };
    let Some(hook) = a.get(keys.hook) else {
        return Ok(HookMark::None);
    };
    let text = |v: &Value, key: &str| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
        Value::Null => Ok(String::new()),
        _ => Err(format!("has a `{key}` annotation that is not a string")),
    };
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect()
    };
    let hook = text(hook, keys.hook)?;
    let events = list(&hook);
    if keys.hook == HELM_KEYS.hook && events.iter().any(|e| e == "crd-install") {
        return Ok(HookMark::Skipped);
    }
    if let Some(bad) = events.iter().find(|e| !HOOK_EVENTS.contains(&e.as_str())) {
        return Err(format!(
            "has `{}: {hook}`: `{bad}` is no hook event; use one or more of {}",
            keys.hook,
            HOOK_EVENTS.join(", ")
        ));
    }
    if events.is_empty() {
        return Err(format!(
            "has an empty `{}` annotation; name one or more of {}",
            keys.hook,
            HOOK_EVENTS.join(", ")
        ));
    }
    let weight = match a.get(keys.weight) {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| format!("has `{}: {n}`, which is not an integer", keys.weight))?,
        Some(Value::String(s)) if s.trim().is_empty() => 0,
        Some(Value::String(s)) => s.trim().parse().map_err(|_| {
            format!(
                "has `{}: {s:?}`, which is not an integer (write e.g. \"-5\" or \"10\")",
                keys.weight
            )
        })?,
        Some(other) => {
            return Err(format!(
                "has `{}: {other}`, which is not an integer",
                keys.weight
            ));
        }
    };
    let delete_policies = match a.get(keys.delete_policy) {
        None => Vec::new(),
        Some(v) => list(&text(v, keys.delete_policy)?),
    };
    if let Some(bad) = delete_policies
        .iter()
        .find(|p| !DELETE_POLICIES.contains(&p.as_str()))
    {
        return Err(format!(
            "has `{}`: `{bad}` is no delete policy; use one or more of {}",
            keys.delete_policy,
            DELETE_POLICIES.join(", ")
        ));
    }
    Ok(HookMark::Hook {
        events,
        weight,
        delete_policies,
    })
}

/// Takes the hooks (marked with `keys`) out of `manifests`: a charter chart's documents,
/// already checked to be objects. Only documents that mention the hook annotation are parsed
/// again.
pub fn split_hooks(
    manifests: Vec<Manifest>,
    keys: HookKeys,
) -> Result<(Vec<Manifest>, Vec<Hook>), ManifestError> {
    let mut objects = Vec::with_capacity(manifests.len());
    let mut hooks = Vec::new();
    for m in manifests {
        if !m.text().contains(keys.hook) && !m.text().contains(HELM_KEYS.hook) {
            objects.push(m);
            continue;
        }
        let fail = |problem: String| ManifestError {
            source_name: m.source.to_string(),
            index: 1,
            line: m.line,
            problem: format!("({}) {problem}", m.header.display()),
            excerpt: String::new(),
        };
        let obj = crate::yaml::parse_str(m.text(), &m.source)
            .map_err(|e| fail(format!("is not valid YAML: {}", e.message)))?;
        let annotations = obj
            .pointer("/metadata/annotations")
            .and_then(Value::as_object);
        if keys.hook != HELM_KEYS.hook
            && annotations.is_some_and(|a| a.contains_key(HELM_KEYS.hook))
        {
            return Err(fail(format!(
                "has a `{}` annotation, which a charter chart does not read: write `{}` (and `{}`, `{}`)",
                HELM_KEYS.hook, keys.hook, keys.weight, keys.delete_policy
            )));
        }
        match read_mark(keys, annotations).map_err(fail)? {
            HookMark::None => objects.push(m),
            HookMark::Skipped => {}
            HookMark::Hook {
                events,
                weight,
                delete_policies,
            } => hooks.push(Hook {
                manifest: m,
                events,
                weight,
                delete_policies,
            }),
        }
    }
    Ok((objects, hooks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mark(a: Value) -> Result<HookMark, String> {
        read_mark(CHARTER_KEYS, a.as_object())
    }

    #[test]
    fn events_weight_and_policies_are_read_and_checked() {
        let HookMark::Hook {
            events,
            weight,
            delete_policies,
        } = mark(json!({"charter.dev/hook": "Pre-Install, post-upgrade",
            "charter.dev/hook-weight": "-5",
            "charter.dev/hook-delete-policy": "hook-succeeded,before-hook-creation"}))
        .unwrap()
        else {
            panic!("not a hook");
        };
        assert_eq!(events, ["pre-install", "post-upgrade"]);
        assert_eq!(weight, -5);
        assert_eq!(delete_policies, ["hook-succeeded", "before-hook-creation"]);
        assert!(matches!(
            mark(json!({"helm.sh/hook": "pre-install"})).unwrap(),
            HookMark::None
        ));
        let e = mark(json!({"charter.dev/hook": "pre-instal"})).unwrap_err();
        assert!(e.contains("`pre-instal` is no hook event"), "{e}");
        let e = mark(json!({"charter.dev/hook": "test", "charter.dev/hook-weight": "first"}))
            .unwrap_err();
        assert!(e.contains("not an integer"), "{e}");
        let e =
            mark(json!({"charter.dev/hook": "test", "charter.dev/hook-delete-policy": "never"}))
                .unwrap_err();
        assert!(e.contains("`never` is no delete policy"), "{e}");
        assert!(matches!(
            read_mark(
                HELM_KEYS,
                json!({"helm.sh/hook": "crd-install"}).as_object()
            )
            .unwrap(),
            HookMark::Skipped
        ));
    }
}
