//! Ignore rules: fields removed from every compared object (desired, live and last applied)
//! before the change and drift are computed, so an ignored field neither shows (in any output
//! format, the text diff included) nor counts for the exit code.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;

use super::ObjectRef;
use super::keys::scalar_text;
use super::normalize::is_empty_container;

/// An invalid ignore rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreRuleError {
    /// The path is not a JSON pointer.
    #[error(
        "ignore path `{path}` is not a JSON pointer: it must start with `/` (e.g. `/spec/replicas`)"
    )]
    NotAbsolute {
        /// The path as written.
        path: String,
    },
    /// A `~` not followed by `0` or `1`.
    #[error(
        "ignore path `{path}`: `~` at character {at} must be followed by `0` (a literal `~`) or `1` (a literal `/`)"
    )]
    BadEscape {
        /// The path as written.
        path: String,
        /// 1-based character position of the `~`.
        at: usize,
    },
    /// A `--ignore` string that does not follow the compact syntax.
    #[error(
        "ignore rule `{rule}`: {reason}; the syntax is `[KIND[/NAMESPACE]/NAME:]POINTER`, e.g. `Deployment/web:/spec/replicas`"
    )]
    BadSyntax {
        /// The rule as written.
        rule: String,
        /// What is wrong.
        reason: String,
    },
    /// A selector given as the empty string.
    #[error("ignore rule: `{field}` is empty; leave it out (or write `*`) to match any {field}")]
    EmptySelector {
        /// `kind`, `namespace` or `name`.
        field: &'static str,
    },
}

/// Where a rule was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// The charter.yaml.
    pub file: PathBuf,
    /// 1-based line of the rule.
    pub line: usize,
}

impl fmt::Display for RuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One ignore rule: a path (JSON pointer; a segment may contain `*`) and optional selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// The path as written, e.g. `/spec/replicas`.
    pub path: String,
    /// Only objects of this kind (ASCII case-insensitive); `None` for any.
    pub kind: Option<String>,
    /// Only objects in a namespace matching this glob; `None` for any (cluster-scoped too).
    pub namespace: Option<String>,
    /// Only objects whose name matches this glob; `None` for any.
    pub name: Option<String>,
    /// The charter.yaml and line it came from; `None` for `--ignore`.
    pub source: Option<RuleSource>,
    /// The unescaped pointer segments.
    segments: Vec<String>,
}

impl IgnoreRule {
    /// A rule from its parts; `*` or `None` selects any kind/namespace/name.
    pub fn new(
        path: &str,
        kind: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<Self, IgnoreRuleError> {
        let selector = |v: Option<&str>, field| match v {
            Some("") => Err(IgnoreRuleError::EmptySelector { field }),
            Some("*") | None => Ok(None),
            Some(s) => Ok(Some(s.to_string())),
        };
        Ok(IgnoreRule {
            segments: parse_pointer(path)?,
            path: path.to_string(),
            kind: selector(kind, "kind")?,
            namespace: selector(namespace, "namespace")?,
            name: selector(name, "name")?,
            source: None,
        })
    }

    /// Parses the compact `--ignore` syntax `[KIND[/NAMESPACE]/NAME:]POINTER`:
    /// `/metadata/labels/team`, `Deployment:/spec/replicas`, `Deployment/web-*:/spec/replicas`,
    /// `ConfigMap/prod/settings:/data/build-id`; `*` matches any kind, namespace or name.
    pub fn parse_compact(rule: &str) -> Result<Self, IgnoreRuleError> {
        if rule.starts_with('/') {
            return Self::new(rule, None, None, None);
        }
        let bad = |reason: &str| IgnoreRuleError::BadSyntax {
            rule: rule.to_string(),
            reason: reason.to_string(),
        };
        let Some((selector, pointer)) = rule.split_once(':') else {
            return Err(bad(
                "it neither starts with `/` nor has a `SELECTOR:` prefix",
            ));
        };
        let parts: Vec<&str> = selector.split('/').collect();
        let (kind, namespace, name) = match parts.as_slice() {
            [kind] => (*kind, None, None),
            [kind, name] => (*kind, None, Some(*name)),
            [kind, ns, name] => (*kind, Some(*ns), Some(*name)),
            _ => return Err(bad("the selector has more than three `/`-separated parts")),
        };
        Self::new(pointer, Some(kind), namespace, name)
    }

    /// The rule with the charter.yaml file and line it was read from.
    pub fn with_source(mut self, file: impl Into<PathBuf>, line: usize) -> Self {
        self.source = Some(RuleSource {
            file: file.into(),
            line,
        });
        self
    }

    /// Whether the rule applies to this object.
    pub fn selects(&self, key: &ObjectRef) -> bool {
        self.kind
            .as_ref()
            .is_none_or(|k| k.eq_ignore_ascii_case(&key.kind))
            && self.namespace.as_ref().is_none_or(|ns| {
                key.namespace
                    .as_deref()
                    .is_some_and(|actual| glob(ns, actual))
            })
            && self.name.as_ref().is_none_or(|n| glob(n, &key.name))
    }

    /// Removes every field the rule names from `value`; returns how many were removed.
    pub(crate) fn remove_from(&self, value: &mut Value) -> usize {
        remove_at(value, &self.segments)
    }
}

/// The compact form, as `--ignore` takes it.
impl fmt::Display for IgnoreRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind.is_some() || self.namespace.is_some() || self.name.is_some() {
            f.write_str(self.kind.as_deref().unwrap_or("*"))?;
            if let Some(ns) = &self.namespace {
                write!(f, "/{ns}")?;
            }
            if self.namespace.is_some() || self.name.is_some() {
                write!(f, "/{}", self.name.as_deref().unwrap_or("*"))?;
            }
            f.write_str(":")?;
        }
        f.write_str(&self.path)
    }
}

/// A set of ignore rules, applied in order (the order only matters for reporting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    /// The rules.
    pub rules: Vec<IgnoreRule>,
}

impl IgnoreRules {
    /// A set from rules (e.g. a target's charter.yaml rules).
    pub fn new(rules: Vec<IgnoreRule>) -> Self {
        IgnoreRules { rules }
    }

    /// Adds `--ignore` flag values in the compact syntax.
    pub fn add_compact<I, S>(&mut self, flags: I) -> Result<(), IgnoreRuleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for f in flags {
            self.rules.push(IgnoreRule::parse_compact(f.as_ref())?);
        }
        Ok(())
    }
}

/// An ignore rule as written in charter.yaml: the compact string, or a map
/// `{path, kind?, namespace?, name?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreSpec {
    /// `Deployment/web:/spec/replicas`.
    Compact(String),
    /// The map form.
    Full {
        /// The JSON pointer.
        path: String,
        /// Kind selector.
        kind: Option<String>,
        /// Namespace selector.
        namespace: Option<String>,
        /// Name selector.
        name: Option<String>,
    },
}

impl IgnoreSpec {
    /// The rule it describes.
    pub fn to_rule(&self) -> Result<IgnoreRule, IgnoreRuleError> {
        match self {
            IgnoreSpec::Compact(s) => IgnoreRule::parse_compact(s),
            IgnoreSpec::Full {
                path,
                kind,
                namespace,
                name,
            } => IgnoreRule::new(path, kind.as_deref(), namespace.as_deref(), name.as_deref()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullSpec {
    path: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl<'de> Deserialize<'de> for IgnoreSpec {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IgnoreSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an ignore rule: a string `[KIND[/NAMESPACE]/NAME:]POINTER` or a map with `path` and optional `kind`, `namespace`, `name`",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<IgnoreSpec, E> {
                Ok(IgnoreSpec::Compact(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<IgnoreSpec, A::Error> {
                let f = FullSpec::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(IgnoreSpec::Full {
                    path: f.path,
                    kind: f.kind,
                    namespace: f.namespace,
                    name: f.name,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits and unescapes an RFC 6901 pointer.
fn parse_pointer(path: &str) -> Result<Vec<String>, IgnoreRuleError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(IgnoreRuleError::NotAbsolute {
            path: path.to_string(),
        });
    };
    let mut segs = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '/' => segs.push(std::mem::take(&mut cur)),
            '~' => match chars.next() {
                Some((_, '0')) => cur.push('~'),
                Some((_, '1')) => cur.push('/'),
                _ => {
                    return Err(IgnoreRuleError::BadEscape {
                        path: path.to_string(),
                        at: i + 2,
                    });
                }
            },
            c => cur.push(c),
        }
    }
    segs.push(cur);
    Ok(segs)
}

/// Removes what `segs` names below `v`. A map key segment may contain `*` globs; a list
/// segment is `*`, an index, or a selector `field=value[,field=value]` (values may use `*`),
/// which matches keyed and unkeyed lists alike. A map or list along the rule's path that is
/// empty afterwards is removed too, on every side alike (emptied by the rule on one side, or
/// already empty on the other), so the rule does not leave a `{}`-versus-missing difference.
fn remove_at(v: &mut Value, segs: &[String]) -> usize {
    let Some((first, rest)) = segs.split_first() else {
        return 0;
    };
    match v {
        Value::Object(m) if rest.is_empty() => {
            let before = m.len();
            m.retain(|k, _| !glob(first, k));
            before - m.len()
        }
        Value::Object(m) => {
            let mut n = 0;
            let mut emptied = Vec::new();
            for (k, child) in m.iter_mut().filter(|(k, _)| glob(first, k)) {
                let c = remove_at(child, rest);
                if is_empty_container(child) {
                    emptied.push(k.clone());
                }
                n += c;
            }
            for k in emptied {
                m.shift_remove(&k);
            }
            n
        }
        Value::Array(a) if rest.is_empty() => {
            let before = a.len();
            let mut i = 0;
            a.retain(|item| {
                let keep = !item_matches(first, i, item);
                i += 1;
                keep
            });
            before - a.len()
        }
        Value::Array(a) => a
            .iter_mut()
            .enumerate()
            .filter(|(i, item)| item_matches(first, *i, item))
            .map(|(_, item)| remove_at(item, rest))
            .sum(),
        _ => 0,
    }
}

fn item_matches(seg: &str, index: usize, item: &Value) -> bool {
    if seg == "*" {
        return true;
    }
    if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
        return seg.parse::<usize>().is_ok_and(|i| i == index);
    }
    if !seg.contains('=') {
        return false;
    }
    seg.split(',').all(|pair| {
        let Some((k, want)) = pair.split_once('=') else {
            return false;
        };
        let have = item.get(k).and_then(scalar_text).or_else(|| {
            // The API default, as in keyed-list matching.
            (k == "protocol" && item.is_object()).then(|| "TCP".to_string())
        });
        have.is_some_and(|h| glob(want, &h))
    })
}

/// `*` matches any run of characters (including `/`); everything else is literal.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == s;
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    // Classic wildcard matching with one backtrack point: linear for `*`-only patterns.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}
