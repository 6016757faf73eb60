//! The objects Helm puts at a template's top level, with Helm v4's Go types as templates
//! observe them (field names, methods, `%v` and `%T`):
//!
//! | name | Go type | here |
//! |---|---|---|
//! | `.Capabilities` | `*common.Capabilities` | [`Capabilities`] |
//! | `.Capabilities.KubeVersion` | `common.KubeVersion` (`String()`, `GitVersion()`) | [`KubeVersion`] |
//! | `.Capabilities.APIVersions` | `common.VersionSet` (`Has`) | [`VersionSet`] |
//! | `.Capabilities.HelmVersion` | `version.BuildInfo` | [`HelmVersion`] |
//! | `.Files` | `engine.files`, a `map[string][]byte` with methods | [`Files`] |
//! | `.Chart` | `map[string]interface {}` of `chart.Metadata`'s fields, plus `IsRoot` | [`chart_map`] |
//! | `.Release` | `map[string]interface {}` | [`release_map`] |

use std::any::Any;
use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use gotemplate::{CallCtx, Elem, FuncError, List, Map, Object, Param, Signature, Value};

use super::glob::Glob;
use crate::chart::{Chart, ChartType};
use crate::render::ReleaseInfo;

/// The Helm version whose behaviour charter's Helm charts match, as
/// `.Capabilities.HelmVersion` reports it (and `helm version` of that release prints it).
pub const HELM_VERSION: &str = "v4.1.4";
const HELM_GIT_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
const HELM_GO_VERSION: &str = "go1.25.9";
const HELM_KUBE_CLIENT_VERSION: &str = "v1.35";

/// `.Capabilities.KubeVersion`: the version as given (`v1.33.4-gke.1`), the normalized one
/// that `String()` returns and constraints compare (`v1.33.4`), major and minor.
pub struct KubeVersion {
    version: String,
    normalized: String,
    major: String,
    minor: String,
}

impl KubeVersion {
    /// Parses a Kubernetes version as Helm's `ParseKubeVersion` does (`1.33`, `v1.33.4-gke.1`).
    /// `None` when it holds no major.minor.
    pub fn parse(version: &str) -> Option<KubeVersion> {
        let v = version.strip_prefix('v').unwrap_or(version);
        let core_end = v
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(v.len());
        let parts: Vec<&str> = v[..core_end].split('.').collect();
        if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let nums: Vec<u64> = parts
            .iter()
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let normalized = format!(
            "v{}",
            nums.iter()
                .map(u64::to_string)
                .chain((nums.len()..3).map(|_| "0".to_string()))
                .collect::<Vec<_>>()
                .join(".")
        );
        Some(KubeVersion {
            version: format!("v{v}"),
            normalized,
            major: nums[0].to_string(),
            minor: nums[1].to_string(),
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn kind(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::from(self.version.as_str())),
            "Major" => Some(Value::from(self.major.as_str())),
            "Minor" => Some(Value::from(self.minor.as_str())),
            _ => None,
        }
    }
    fn method(&self, name: &str) -> Option<Signature> {
        matches!(name, "String" | "GitVersion").then_some(Signature::new(&[]))
    }
    fn call_method(
        &self,
        name: &str,
        _: &mut CallCtx<'_>,
        _: &[Value],
    ) -> Result<Value, FuncError> {
        Ok(Value::from(match name {
            "GitVersion" => self.version.as_str(),
            _ => self.normalized.as_str(),
        }))
    }
    fn string(&self) -> Option<String> {
        Some(self.normalized.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities.APIVersions`: a `[]string` with `Has`.
pub struct VersionSet(pub List);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn kind(&self) -> &str {
        "slice"
    }
    fn method(&self, name: &str) -> Option<Signature> {
        (name == "Has").then_some(Signature::new(&[Param::String]))
    }
    fn call_method(&self, _: &str, _: &mut CallCtx<'_>, a: &[Value]) -> Result<Value, FuncError> {
        let want = a.first().and_then(Value::as_str).unwrap_or_default();
        Ok(Value::Bool(
            self.0.items().iter().any(|v| v.as_str() == Some(want)),
        ))
    }
    fn underlying(&self) -> Option<Value> {
        Some(Value::List(self.0.clone()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities.HelmVersion`: Helm's build information.
pub struct HelmVersion;

impl HelmVersion {
    fn fields() -> [(&'static str, &'static str); 5] {
        [
            ("Version", HELM_VERSION),
            ("GitCommit", HELM_GIT_COMMIT),
            ("GitTreeState", "clean"),
            ("GoVersion", HELM_GO_VERSION),
            ("KubeClientVersion", HELM_KUBE_CLIENT_VERSION),
        ]
    }
}

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }
    fn kind(&self) -> &str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        HelmVersion::fields()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| Value::from(*v))
    }
    fn struct_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(
            HelmVersion::fields()
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect(),
        )
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Capabilities`.
pub struct Capabilities {
    kube_version: Value,
    api_versions: Value,
}

impl Capabilities {
    /// The capabilities of `caps` (an unparseable version reads as given for all fields).
    pub fn new(caps: &crate::render::Capabilities, api_versions: &[String]) -> Capabilities {
        let kv = KubeVersion::parse(&caps.kube_version).unwrap_or_else(|| KubeVersion {
            version: caps.kube_version.clone(),
            normalized: caps.kube_version.clone(),
            major: String::new(),
            minor: String::new(),
        });
        Capabilities {
            kube_version: Value::object(kv),
            api_versions: Value::object(VersionSet(List::of_strings(
                api_versions.iter().map(String::as_str),
            ))),
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(self.kube_version.clone()),
            "APIVersions" => Some(self.api_versions.clone()),
            "HelmVersion" => Some(Value::object(HelmVersion)),
            _ => None,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `.Files`: a chart's files by path, with Helm's methods.
pub struct Files(pub Rc<BTreeMap<String, Rc<[u8]>>>);

impl Files {
    /// The files `.Files` of `chart` holds.
    pub fn of(chart: &Chart) -> Files {
        Files(Rc::new(
            chart
                .files
                .iter()
                .map(|(p, b)| (p.clone(), Rc::from(b.as_slice())))
                .collect(),
        ))
    }

    fn get(&self, name: &str) -> Option<&Rc<[u8]>> {
        self.0.get(name)
    }

    /// Base names to contents, as AsConfig and AsSecrets lay them out (a later path with the
    /// same base name wins).
    fn by_base_name(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let mut m = serde_json::Map::new();
        for (k, v) in self.0.iter() {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), serde_json::Value::String(encode(v)));
        }
        goyaml::to_yaml(&serde_json::Value::Object(m))
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn kind(&self) -> &str {
        "map"
    }
    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some(Signature::new(&[Param::String])),
            "AsConfig" | "AsSecrets" => Some(Signature::new(&[])),
            _ => None,
        }
    }
    fn call_method(
        &self,
        name: &str,
        _: &mut CallCtx<'_>,
        a: &[Value],
    ) -> Result<Value, FuncError> {
        let arg = a.first().and_then(Value::as_str).unwrap_or_default();
        Ok(match name {
            "Get" => Value::from(
                self.get(arg)
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            ),
            "GetBytes" => Value::Bytes(self.get(arg).cloned().unwrap_or_else(|| Rc::from([]))),
            "Glob" => {
                let g = Glob::new(arg).unwrap_or_else(Glob::any);
                Value::object(Files(Rc::new(
                    self.0
                        .iter()
                        .filter(|(k, _)| g.matches(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )))
            }
            "Lines" => match self.get(arg) {
                None => Value::List(List::typed(Elem::String, Vec::new())),
                Some(b) if b.is_empty() => {
                    // Helm indexes the last byte of the file without checking its length.
                    return Err(FuncError::new("runtime error: index out of range [-1]"));
                }
                Some(b) => {
                    let s = String::from_utf8_lossy(b);
                    let s = s.strip_suffix('\n').unwrap_or(&s);
                    Value::List(List::of_strings(s.split('\n')))
                }
            },
            "AsConfig" => {
                Value::from(self.by_base_name(|b| String::from_utf8_lossy(b).into_owned()))
            }
            "AsSecrets" => Value::from(
                self.by_base_name(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            ),
            _ => return Err(FuncError::new(format!("engine.files has no method {name}"))),
        })
    }
    fn underlying(&self) -> Option<Value> {
        let m = Map::new();
        for (k, v) in self.0.iter() {
            m.insert(k.clone(), Value::Bytes(v.clone()));
        }
        Some(Value::Map(m))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn strings(items: &[String]) -> Value {
    Value::List(List::new(
        items.iter().map(|s| Value::from(s.as_str())).collect(),
    ))
}

fn opt(s: &Option<String>) -> Value {
    Value::from(s.as_deref().unwrap_or_default())
}

/// `.Chart`: the fields of Helm's `chart.Metadata` by their Go names (as Helm's `structToMap`
/// makes them), and `IsRoot`.
pub fn chart_map(chart: &Chart, is_root: bool) -> Value {
    let m = &chart.meta;
    let out = Map::new();
    out.insert("Name", Value::from(m.name.as_str()));
    out.insert("Home", opt(&m.home));
    out.insert("Sources", strings(&m.sources));
    out.insert("Version", Value::from(m.version.as_str()));
    out.insert("Description", opt(&m.description));
    out.insert("Keywords", strings(&m.keywords));
    out.insert(
        "Maintainers",
        Value::List(List::new(
            m.maintainers
                .iter()
                .map(|mt| {
                    let e = Map::new();
                    e.insert("Name", Value::from(mt.name.as_str()));
                    e.insert("Email", opt(&mt.email));
                    e.insert("URL", opt(&mt.url));
                    Value::Map(e)
                })
                .collect(),
        )),
    );
    out.insert("Icon", opt(&m.icon));
    out.insert("APIVersion", Value::from(m.api_version.as_str()));
    out.insert("Condition", opt(&m.condition));
    out.insert("Tags", opt(&m.tags));
    out.insert("AppVersion", opt(&m.app_version));
    out.insert("Deprecated", Value::Bool(m.deprecated));
    let annotations = Map::typed(Elem::String);
    for (k, v) in &m.annotations {
        annotations.insert(k.clone(), Value::from(v.as_str()));
    }
    out.insert("Annotations", Value::Map(annotations));
    out.insert("KubeVersion", opt(&m.kube_version));
    out.insert(
        "Dependencies",
        Value::List(List::new(
            m.dependencies
                .iter()
                .map(|d| {
                    let e = Map::new();
                    e.insert("Name", Value::from(d.key()));
                    e.insert("Version", opt(&d.version));
                    e.insert("Repository", opt(&d.repository));
                    e.insert("Condition", opt(&d.condition));
                    e.insert("Tags", strings(&d.tags));
                    e.insert("Enabled", Value::Bool(true));
                    e.insert(
                        "ImportValues",
                        Value::List(List::new(
                            d.import_values.iter().map(Value::from_json).collect(),
                        )),
                    );
                    e.insert("Alias", opt(&d.alias));
                    Value::Map(e)
                })
                .collect(),
        )),
    );
    out.insert(
        "Type",
        Value::from(match (m.chart_type, m.api_version.as_str()) {
            (ChartType::Library, _) => "library",
            (_, "v1") => "",
            _ => "application",
        }),
    );
    out.insert("IsRoot", Value::Bool(is_root));
    Value::Map(out)
}

/// `.Release`.
pub fn release_map(release: &ReleaseInfo) -> Value {
    let m = Map::new();
    m.insert("Name", Value::from(release.name.as_str()));
    m.insert("Namespace", Value::from(release.namespace.as_str()));
    m.insert("IsUpgrade", Value::Bool(release.is_upgrade));
    m.insert("IsInstall", Value::Bool(release.is_install));
    m.insert("Revision", Value::Int(release.revision as i64));
    m.insert("Service", Value::from("Helm"));
    Value::Map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_parse_as_helm_parses_them() {
        let kv = KubeVersion::parse("1.33").unwrap();
        assert_eq!(
            (kv.version.as_str(), kv.normalized.as_str()),
            ("v1.33", "v1.33.0")
        );
        let kv = KubeVersion::parse("v1.33.4-gke.1245000").unwrap();
        assert_eq!(kv.version, "v1.33.4-gke.1245000");
        assert_eq!(kv.normalized, "v1.33.4");
        assert_eq!((kv.major.as_str(), kv.minor.as_str()), ("1", "33"));
        assert!(KubeVersion::parse("1").is_none());
        assert!(KubeVersion::parse("x.y").is_none());
    }
}
