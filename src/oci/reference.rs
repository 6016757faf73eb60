//! `oci://` chart references: `oci://HOST[:PORT]/PATH/NAME`, optionally with `:TAG` and/or
//! `@sha256:HEX`, and the version request that goes with them (`--version` as an exact
//! version or a SemVer range resolved against the repository's tags).
//!
//! Tags cannot hold `+`, SemVer build metadata can: like Helm, a version's `+` is written `_`
//! in its tag (`1.2.3+build.1` ↔ tag `1.2.3_build.1`).

use std::fmt;

use crate::chart::Constraint;

use super::OciError;

/// The URL scheme of registry references.
pub const SCHEME: &str = "oci://";

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]` of the registry.
    pub registry: String,
    /// The repository path inside the registry (`charts/web`), lower case.
    pub repository: String,
    /// The tag, as written in the registry (with `_` for a version's `+`).
    pub tag: Option<String>,
    /// `sha256:<64 hex>`: the manifest digest pinned by `@sha256:…`.
    pub digest: Option<String>,
}

/// Whether `s` is an `oci://` reference.
pub fn is_oci(s: &str) -> bool {
    s.starts_with(SCHEME)
}

/// The tag a chart version is stored under (`+` → `_`).
pub fn version_to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The chart version a tag stands for (`_` → `+`).
pub fn tag_to_version(tag: &str) -> String {
    tag.replace('_', "+")
}

impl Reference {
    /// Parses `oci://HOST[:PORT]/PATH[:TAG][@sha256:HEX]`. A `+` in the tag is taken as `_`.
    pub fn parse(input: &str) -> Result<Reference, OciError> {
        let bad = |message: String| OciError::Reference {
            input: input.to_string(),
            message,
        };
        let rest = input.strip_prefix(SCHEME).ok_or_else(|| {
            bad("expected an oci:// reference such as oci://registry.example.com/charts/web".into())
        })?;
        let (rest, digest) = match rest.rsplit_once('@') {
            Some((r, d)) => (r, Some(parse_digest(d).map_err(&bad)?)),
            None => (rest, None),
        };
        let (host, path) = rest.split_once('/').ok_or_else(|| {
            bad("no repository path after the registry host; expected oci://HOST/PATH/NAME".into())
        })?;
        validate_host(host).map_err(&bad)?;
        // A tag is what follows the last ':' of the last path segment (a ':' before the last
        // '/' would be a port, which only the host may have).
        let (path, tag) = match path.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(version_to_tag(t))),
            _ => (path, None),
        };
        validate_repository(path).map_err(&bad)?;
        if let Some(t) = &tag {
            validate_tag(t).map_err(&bad)?;
        }
        Ok(Reference {
            registry: host.to_string(),
            repository: path.to_string(),
            tag,
            digest,
        })
    }

    /// The chart name: the last segment of the repository path.
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }

    /// The same repository pinned to a manifest digest (the tag is kept for display).
    pub fn with_digest(&self, digest: &str) -> Reference {
        Reference {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// The repository below this one called `name` (`oci://h/charts` + `web`).
    pub fn child(&self, name: &str) -> Result<Reference, OciError> {
        Reference::parse(&format!(
            "{SCHEME}{}/{}/{name}",
            self.registry, self.repository
        ))
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn manifest_reference(&self) -> Option<&str> {
        self.digest.as_deref().or(self.tag.as_deref())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Checks `sha256:<64 lower-case hex>`; other algorithms are refused by name.
pub fn parse_digest(d: &str) -> Result<String, String> {
    match d.split_once(':') {
        Some(("sha256", hex)) if crate::repo::cache::is_hex_digest(hex) => Ok(d.to_string()),
        Some(("sha256", _)) => Err(format!(
            "digest `{d}` is not sha256 followed by 64 lower-case hex digits"
        )),
        Some((alg, _)) => Err(format!(
            "digest algorithm `{alg}` is not supported; charter verifies sha256 digests only"
        )),
        None => Err(format!(
            "`{d}` is not a digest; expected @sha256:<64 hex digits>"
        )),
    }
}

fn validate_host(host: &str) -> Result<(), String> {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !name_ok {
        return Err(format!(
            "registry host `{host}` is invalid; expected a host name or IPv4 address, optionally with :PORT"
        ));
    }
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("registry port `{p}` is not a port number"));
    }
    Ok(())
}

/// The distribution spec's repository name grammar: lower-case path components of
/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn validate_repository(path: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && c.bytes().all(|x| {
                x.is_ascii_lowercase() || x.is_ascii_digit() || matches!(x, b'.' | b'_' | b'-')
            })
            && !c.contains("..")
            && !c.contains("___")
    };
    if path.is_empty() || !path.split('/').all(component_ok) {
        return Err(format!(
            "repository path `{path}` is invalid: use lower-case letters, digits and separators (. _ -) in components joined by /"
        ));
    }
    if path.len() > 255 {
        return Err(format!(
            "repository path is {} characters long; registries allow at most 255",
            path.len()
        ));
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && tag
            .bytes()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag `{tag}` is invalid: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        ))
    }
}

/// Which version of a chart to take.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionRequest {
    /// The manifest with this digest (`@sha256:…`); no tag lookup at all.
    Digest(String),
    /// This exact tag (`:TAG`, or `--version` naming one exact version).
    Tag(String),
    /// The highest version among the tags that satisfies the range.
    Range(Constraint),
}

/// A chart reference and the version asked for: what `install`/`pull`/`dep update` resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRequest {
    /// The repository (tag and digest as written).
    pub reference: Reference,
    /// Which version.
    pub version: VersionRequest,
}

impl ChartRequest {
    /// Combines a reference with an optional `--version`. `--version` may be an exact version
    /// (taken as the tag) or a range; it must agree with a `:TAG` in the reference. A digest
    /// wins over both (the tag is then only checked by the registry, never trusted). Without a
    /// tag, digest or version this is an error that says how to name one.
    pub fn new(reference: Reference, version: Option<&str>) -> Result<ChartRequest, OciError> {
        let version = version.map(str::trim).filter(|v| !v.is_empty());
        if let Some(d) = &reference.digest {
            return Ok(ChartRequest {
                version: VersionRequest::Digest(d.clone()),
                reference,
            });
        }
        let request = match (&reference.tag, version) {
            (Some(tag), None) => VersionRequest::Tag(tag.clone()),
            (Some(tag), Some(v)) => {
                if version_to_tag(v) != *tag {
                    return Err(OciError::Reference {
                        input: reference.to_string(),
                        message: format!(
                            "the reference's tag `{tag}` and --version `{v}` disagree; give the version once, either as :TAG or as --version"
                        ),
                    });
                }
                VersionRequest::Tag(tag.clone())
            }
            (None, Some(v)) => {
                if semver::Version::parse(v).is_ok() {
                    VersionRequest::Tag(version_to_tag(v))
                } else {
                    let c = Constraint::parse(v).map_err(|e| OciError::Reference {
                        input: reference.to_string(),
                        message: format!("--version `{v}` is neither a version nor a range: {e}"),
                    })?;
                    VersionRequest::Range(c)
                }
            }
            (None, None) => {
                return Err(OciError::NoVersion {
                    reference: reference.to_string(),
                });
            }
        };
        Ok(ChartRequest {
            reference,
            version: request,
        })
    }
}

/// The highest tag (as a version, `_` read as `+`) that satisfies `range`; tags that are not
/// SemVer versions are ignored.
pub fn highest_matching<'a>(tags: &'a [String], range: &Constraint) -> Option<&'a String> {
    tags.iter()
        .filter_map(|t| {
            crate::chart::parse_version_lenient(&tag_to_version(t))
                .ok()
                .filter(|v| range.matches(v))
                .map(|v| (v, t))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_parse_host_port_path_tag_and_digest() {
        let r = Reference::parse("oci://127.0.0.1:5000/charts/web:1.2.3").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/web");
        assert_eq!(r.tag.as_deref(), Some("1.2.3"));
        assert_eq!(r.name(), "web");
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/charts/web:1.2.3");

        let r = Reference::parse(&format!("oci://reg.example.com/a/b/web@{D}")).unwrap();
        assert_eq!(r.registry, "reg.example.com");
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));

        let r = Reference::parse(&format!("oci://reg.example.com/web:1.0.0@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1.0.0"));
        assert_eq!(r.manifest_reference(), Some(D));

        let r = Reference::parse("oci://h:443/web").unwrap();
        assert_eq!((r.registry.as_str(), r.tag), ("h:443", None));
    }

    #[test]
    fn plus_in_a_version_is_an_underscore_in_its_tag() {
        let r = Reference::parse("oci://h/web:1.2.3+build.7").unwrap();
        assert_eq!(r.tag.as_deref(), Some("1.2.3_build.7"));
        assert_eq!(tag_to_version("1.2.3_build.7"), "1.2.3+build.7");
        let req =
            ChartRequest::new(Reference::parse("oci://h/web").unwrap(), Some("1.0.0+x")).unwrap();
        assert_eq!(req.version, VersionRequest::Tag("1.0.0_x".into()));
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        for (input, want) in [
            ("https://h/web", "oci://"),
            ("oci://h", "no repository path"),
            ("oci://h/Web", "lower-case"),
            ("oci://h:99999/web", "not a port"),
            ("oci://h/web@sha512:abcd", "sha512"),
            ("oci://h/web@sha256:abcd", "64"),
            ("oci://h/web:-x", "tag `-x`"),
            ("oci://h/a//b", "repository path"),
        ] {
            let e = Reference::parse(input).unwrap_err().to_string();
            assert!(e.contains(input) && e.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn version_requests() {
        let r = Reference::parse("oci://h/web").unwrap();
        let e = ChartRequest::new(r.clone(), None).unwrap_err().to_string();
        assert!(e.contains("oci://h/web") && e.contains("--version"), "{e}");
        assert_eq!(
            ChartRequest::new(r.clone(), Some("2.0.0")).unwrap().version,
            VersionRequest::Tag("2.0.0".into())
        );
        assert!(matches!(
            ChartRequest::new(r.clone(), Some("^1.2")).unwrap().version,
            VersionRequest::Range(_)
        ));
        let e = ChartRequest::new(r.with_tag("1.0.0"), Some("2.0.0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("disagree"), "{e}");
        let pinned = r.with_tag("1.0.0").with_digest(D);
        assert_eq!(
            ChartRequest::new(pinned, Some("1.0.0")).unwrap().version,
            VersionRequest::Digest(D.into())
        );
    }

    #[test]
    fn the_highest_matching_tag_wins() {
        let tags: Vec<String> = [
            "1.0.0",
            "1.2.0",
            "1.10.0_b",
            "2.0.0",
            "latest",
            "1.9.9-rc.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = Constraint::parse("^1.0").unwrap();
        assert_eq!(highest_matching(&tags, &c).unwrap(), "1.10.0_b");
        let c = Constraint::parse(">=3").unwrap();
        assert_eq!(highest_matching(&tags, &c), None);
    }
}
