//! `semver` and `semverCompare`: Masterminds/semver v3.5.0 (the version Helm v4 builds with),
//! which is not SemVer 2 as the `semver` crate reads it: `v1`, `1.2` and leading zeros are
//! coerced into versions, and constraints have their own grammar (`~1.2`, `^0.x`, `1 - 2`,
//! `>=1.0 <2`, `||`), with prereleases only matching constraints that mention one. The
//! grammar is the library's own regular expressions, run on the same (RE2) semantics.

use std::sync::LazyLock;

use gotemplate::{CallCtx, FuncError, Object, Param, Signature, Value};
use regex::Regex;

use crate::{R, Registry, err, sig, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("semver", sig(&[String]), |a| {
        let v = Version::parse(str_arg(a, 0)?).map_err(err)?;
        Ok(Value::object(v))
    });
    r.add("semverCompare", sig(&[String, String]), |a| {
        let c = Constraints::parse(str_arg(a, 0)?).map_err(err)?;
        let v = Version::parse(str_arg(a, 1)?).map_err(err)?;
        Ok(Value::Bool(c.check(&v)))
    });
}

const WS: &str = r"[\t\n\x0C\r ]";
const LOOSE: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn re(pattern: String) -> Regex {
    // The patterns are constants of this module; a failure is a bug caught by its tests.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("semver pattern: {e}"))
}

static LOOSE_RE: LazyLock<Regex> = LazyLock::new(|| re(format!("^{LOOSE}$")));
static CONSTRAINT_RE: LazyLock<Regex> =
    LazyLock::new(|| re(format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$")));
static RANGE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")));
static FIND_RE: LazyLock<Regex> = LazyLock::new(|| re(format!(r"({OPS}){WS}*({CV})")));
static VALID_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(format!(
        r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$"
    ))
});

const MAX_VERSION_LEN: usize = 256;
const MAX_CONSTRAINT_LEN: usize = 512;
const MAX_CONSTRAINT_GROUPS: usize = 32;

/// A Masterminds `*semver.Version`, as templates see it (its methods).
#[derive(Clone, Debug)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
    /// A `semver.Version` value (from `IncMajor`…) rather than a pointer.
    by_value: bool,
}

impl Version {
    /// `semver.NewVersion`, coercing as the library does by default.
    pub fn parse(v: &str) -> Result<Version, String> {
        if v.len() > MAX_VERSION_LEN {
            return Err(format!(
                "version string is too long (max {MAX_VERSION_LEN} bytes)"
            ));
        }
        let m = LOOSE_RE
            .captures(v)
            .ok_or_else(|| "invalid semantic version".to_string())?;
        let get = |i: usize| m.get(i).map_or("", |x| x.as_str());
        let segment = |s: &str| -> Result<u64, String> {
            s.parse::<u64>().map_err(|_| {
                format!(
                    "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                    gotemplate::gofmt::sprintf("%q", &[Value::from(s)])
                )
            })
        };
        let major = segment(get(1))?;
        let minor = match get(2) {
            "" => 0,
            s => segment(s.trim_start_matches('.'))?,
        };
        let patch = match get(3) {
            "" => 0,
            s => segment(s.trim_start_matches('.'))?,
        };
        let pre = get(5).to_string();
        let metadata = get(8).to_string();
        if !pre.is_empty() {
            validate_prerelease(&pre)?;
        }
        if !metadata.is_empty() {
            validate_metadata(&metadata)?;
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            metadata,
            original: v.to_string(),
            by_value: false,
        })
    }

    fn compare(&self, o: &Version) -> i64 {
        let seg = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if seg != std::cmp::Ordering::Equal {
            return if seg == std::cmp::Ordering::Less {
                -1
            } else {
                1
            };
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => -1,
            _ => compare_prerelease(&self.pre, &o.pre),
        }
    }

    fn v_prefix(&self) -> &str {
        if self.original.starts_with('v') {
            "v"
        } else {
            ""
        }
    }

    fn bumped(&self, f: impl FnOnce(&mut Version)) -> Version {
        let mut next = self.clone();
        f(&mut next);
        next.original = format!("{}{}", self.v_prefix(), next);
        next.by_value = true;
        next
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(v: &str, o: &str) -> i64 {
    let (s, t): (Vec<&str>, Vec<&str>) = (v.split('.').collect(), o.split('.').collect());
    for i in 0..s.len().max(t.len()) {
        let d = compare_pre_part(
            s.get(i).copied().unwrap_or(""),
            t.get(i).copied().unwrap_or(""),
        );
        if d != 0 {
            return d;
        }
    }
    0
}

fn compare_pre_part(s: &str, o: &str) -> i64 {
    if s == o {
        return 0;
    }
    if s.is_empty() {
        return -1;
    }
    if o.is_empty() {
        return 1;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                1
            } else {
                -1
            }
        }
        (_, Err(_)) => -1,
        (Err(_), _) => 1,
        (Ok(a), Ok(b)) => {
            if a > b {
                1
            } else {
                -1
            }
        }
    }
}

const ALLOWED: fn(char) -> bool = |c| c.is_ascii_alphanumeric() || c == '-';

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        } else if part.chars().all(|c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !part.chars().all(ALLOWED) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    if m.split('.')
        .any(|p| p.is_empty() || !p.chars().all(ALLOWED))
    {
        return Err("invalid metadata string".into());
    }
    Ok(())
}

fn version_arg(args: &[Value], i: usize) -> Result<Version, FuncError> {
    match args.get(i) {
        Some(Value::Object(o)) => o
            .as_any()
            .downcast_ref::<Version>()
            .cloned()
            .ok_or_else(|| crate::wrong_type("*semver.Version", &args[i])),
        Some(v) => Err(crate::wrong_type("*semver.Version", v)),
        None => Err(crate::wrong_type("*semver.Version", &Value::Nil)),
    }
}

const NO_ARGS: Signature = Signature::new(&[]);
const ONE_VERSION: Signature = Signature::new(&[Param::Any]);
const ONE_STRING: Signature = Signature::new(&[Param::String]);

impl Object for Version {
    fn type_name(&self) -> &str {
        if self.by_value {
            "semver.Version"
        } else {
            "*semver.Version"
        }
    }

    fn kind(&self) -> &str {
        if self.by_value { "struct" } else { "ptr" }
    }

    fn method(&self, name: &str) -> Option<Signature> {
        match name {
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
            | "IncMajor" | "IncMinor" | "IncPatch" => Some(NO_ARGS),
            "Compare" | "LessThan" | "LessThanEqual" | "GreaterThan" | "GreaterThanEqual"
            | "Equal" => Some(ONE_VERSION),
            "SetPrerelease" | "SetMetadata" => Some(ONE_STRING),
            _ => None,
        }
    }

    fn call_method(&self, name: &str, _ctx: &mut CallCtx<'_>, args: &[Value]) -> R {
        Ok(match name {
            "Major" => Value::Int64(self.major as i64),
            "Minor" => Value::Int64(self.minor as i64),
            "Patch" => Value::Int64(self.patch as i64),
            "Prerelease" => string(self.pre.clone()),
            "Metadata" => string(self.metadata.clone()),
            "Original" => string(self.original.clone()),
            "String" => string(self.to_string()),
            "IncMajor" => Value::object(self.bumped(|v| {
                v.major = v.major.wrapping_add(1);
                v.minor = 0;
                v.patch = 0;
                v.pre.clear();
                v.metadata.clear();
            })),
            "IncMinor" => Value::object(self.bumped(|v| {
                v.minor = v.minor.wrapping_add(1);
                v.patch = 0;
                v.pre.clear();
                v.metadata.clear();
            })),
            "IncPatch" => Value::object(self.bumped(|v| {
                if v.pre.is_empty() {
                    v.patch = v.patch.wrapping_add(1);
                }
                v.pre.clear();
                v.metadata.clear();
            })),
            "SetPrerelease" => {
                let p = str_arg(args, 0)?;
                if !p.is_empty() {
                    validate_prerelease(p).map_err(err)?;
                }
                Value::object(self.bumped(|v| v.pre = p.to_string()))
            }
            "SetMetadata" => {
                let m = str_arg(args, 0)?;
                if !m.is_empty() {
                    validate_metadata(m).map_err(err)?;
                }
                Value::object(self.bumped(|v| v.metadata = m.to_string()))
            }
            _ => {
                let o = version_arg(args, 0)?;
                let c = self.compare(&o);
                match name {
                    "Compare" => Value::Int(c),
                    "LessThan" => Value::Bool(c < 0),
                    "LessThanEqual" => Value::Bool(c <= 0),
                    "GreaterThan" => Value::Bool(c > 0),
                    "GreaterThanEqual" => Value::Bool(c >= 0),
                    "Equal" => Value::Bool(c == 0),
                    _ => return Err(err(format!("{} has no method {name}", self.type_name()))),
                }
            }
        })
    }

    fn string(&self) -> Option<String> {
        Some(self.to_string())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One `OP VERSION` of a constraint.
struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// `semver.Constraints`: groups joined by `||`, each a list that must all hold.
struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

impl Constraints {
    fn parse(c: &str) -> Result<Constraints, String> {
        if c.len() > MAX_CONSTRAINT_LEN {
            return Err(format!(
                "constraint string is too long (max {MAX_CONSTRAINT_LEN} bytes)"
            ));
        }
        let c = rewrite_range(c);
        let ors: Vec<&str> = c.split("||").collect();
        if ors.len() > MAX_CONSTRAINT_GROUPS {
            return Err(format!(
                "too many constraint groups (max {MAX_CONSTRAINT_GROUPS})"
            ));
        }
        let mut groups = Vec::with_capacity(ors.len());
        for v in ors {
            if !VALID_RE.is_match(v) {
                return Err(format!("improper constraint: {}", go_quote(v)));
            }
            let mut found: Vec<&str> = FIND_RE.find_iter(v).map(|m| m.as_str()).collect();
            if found.is_empty() {
                found.push(v);
            }
            let mut list = Vec::with_capacity(found.len());
            let mut has_pre = false;
            for s in found {
                let pc = parse_constraint(s)?;
                has_pre |= !pc.con.pre.is_empty();
                list.push(pc);
            }
            groups.push((list, has_pre));
        }
        Ok(Constraints { groups })
    }

    fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(list, pre)| list.iter().all(|c| c.check(v, *pre)))
    }
}

fn go_quote(s: &str) -> String {
    gotemplate::gofmt::sprintf("%q", &[Value::from(s)])
}

fn rewrite_range(i: &str) -> String {
    // A range needs a `-` between blanks; without one the large range pattern, compiled on
    // first use, is never needed (`>=1.19-0` is the common case).
    let ws = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ');
    if !i
        .as_bytes()
        .windows(3)
        .any(|w| w[1] == b'-' && ws(w[0]) && ws(w[2]))
    {
        return i.to_string();
    }
    let mut o = i.to_string();
    for m in RANGE_RE.captures_iter(i) {
        let whole = m.get(0).map_or("", |x| x.as_str());
        let t = format!(
            ">= {}, <= {} ",
            m.get(1).map_or("", |x| x.as_str()),
            m.get(11).map_or("", |x| x.as_str())
        );
        o = o.replacen(whole, &t, 1);
    }
    o
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::parse("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = CONSTRAINT_RE
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {}", go_quote(c)))?;
    let get = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (m3, m4, m5, m6) = (get(3), get(4), get(5), get(6));
    let mut ver = get(2).to_string();
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    if is_x(m3) || m3.is_empty() {
        ver = format!("0.0.0{m6}");
        dirty = true;
    } else if is_x(m4.trim_start_matches('.')) || m4.is_empty() {
        minor_dirty = true;
        dirty = true;
        ver = format!("{m3}.0.0{m6}");
    } else if is_x(m5.trim_start_matches('.')) || m5.is_empty() {
        dirty = true;
        patch_dirty = true;
        ver = format!("{m3}{m4}.0{m6}");
    }
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: get(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == 0
                }
            }
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != 0;
                        }
                        return false;
                    }
                }
                v.compare(c) != 0
            }
            ">" => {
                if !self.dirty {
                    return v.compare(c) == 1;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == 1
                }
            }
            "<" => v.compare(c) < 0,
            ">=" | "=>" => v.compare(c) >= 0,
            "<=" | "=<" => {
                if !self.dirty {
                    return v.compare(c) <= 0;
                }
                !(v.major > c.major || v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if v.compare(c) < 0 {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) < 0 {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&Version::parse(v).unwrap())
    }

    #[test]
    fn constraints_as_masterminds() {
        assert!(check(">=1.2.3", "1.3.0"));
        assert!(!check(">=1.2.3", "1.3.0-beta"));
        assert!(check(">=1.2.3-0", "1.3.0-beta"));
        assert!(check("~1.2", "1.2.9"));
        assert!(!check("~1.2", "1.3.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(check("1.2 - 1.4", "1.3.7"));
        assert!(check(">1 <3 || 5", "5.1.0"));
        assert!(check(">= 1.19-0", "1.20.3-gke.100"));
        assert_eq!(Version::parse("v1.2").unwrap().to_string(), "1.2.0");
        assert!(Version::parse("1.2.3.4").is_err());
    }
}
