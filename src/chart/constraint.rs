//! SemVer constraints in the range syntax Helm users write (`>=1.2.3 <2.0.0`, `^1.2 || ^2`,
//! `1.2 - 1.4`, `~1.2`, `1.x`, `v1.2.3`), with Helm's rule for pre-releases: a version with a
//! pre-release tag only satisfies a comparison whose own version carries a pre-release.

use std::fmt;

use semver::Version;

/// A parsed constraint: OR of AND-groups of comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    groups: Vec<Vec<Comparison>>,
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparison {
    op: Op,
    version: Version,
    /// True when the constraint carried a pre-release tag (enables matching pre-releases).
    allows_pre: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// Why a constraint or version could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConstraintError(String);

/// A version as written by a user: `v1.2`, `1`, `1.2.3-rc.1+build`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wild {
    Num(u64),
    Any,
}

struct Partial {
    parts: [Option<Wild>; 3],
    pre: String,
    build: String,
}

impl Partial {
    fn parse(s: &str) -> Result<Partial, ConstraintError> {
        let s = s.trim();
        let s = s
            .strip_prefix('v')
            .or_else(|| s.strip_prefix('V'))
            .unwrap_or(s);
        if s.is_empty() {
            return Err(ConstraintError("empty version".into()));
        }
        let (core, build) = match s.split_once('+') {
            Some((c, b)) => (c, b.to_string()),
            None => (s, String::new()),
        };
        let (core, pre) = match core.split_once('-') {
            Some((c, p)) => (c, p.to_string()),
            None => (core, String::new()),
        };
        let mut parts = [None, None, None];
        let pieces: Vec<&str> = core.split('.').collect();
        if pieces.len() > 3 {
            return Err(ConstraintError(format!(
                "`{s}` has more than three version components"
            )));
        }
        for (i, piece) in pieces.iter().enumerate() {
            parts[i] = Some(match *piece {
                "x" | "X" | "*" => Wild::Any,
                p if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    Wild::Num(p.parse().map_err(|_| {
                        ConstraintError(format!("version component `{p}` is too large"))
                    })?)
                }
                p => {
                    return Err(ConstraintError(format!(
                        "`{s}` is not a version: component `{p}` must be a number, x or *"
                    )));
                }
            });
        }
        if !pre.is_empty() {
            semver::Prerelease::new(&pre)
                .map_err(|e| ConstraintError(format!("pre-release `{pre}` in `{s}`: {e}")))?;
        }
        Ok(Partial { parts, pre, build })
    }

    fn num(&self, i: usize) -> Option<u64> {
        match self.parts[i] {
            Some(Wild::Num(n)) => Some(n),
            _ => None,
        }
    }

    /// Number of leading concrete components (1.2.x → 2).
    fn concrete(&self) -> usize {
        self.parts
            .iter()
            .take_while(|p| matches!(p, Some(Wild::Num(_))))
            .count()
    }

    fn floor(&self) -> Version {
        let mut v = Version::new(
            self.num(0).unwrap_or(0),
            self.num(1).unwrap_or(0),
            self.num(2).unwrap_or(0),
        );
        if self.concrete() == 3 && !self.pre.is_empty() {
            v.pre = semver::Prerelease::new(&self.pre).unwrap_or(semver::Prerelease::EMPTY);
        }
        if !self.build.is_empty() {
            v.build =
                semver::BuildMetadata::new(&self.build).unwrap_or(semver::BuildMetadata::EMPTY);
        }
        v
    }

    /// The smallest version above the range the partial names (1.2 → 1.3.0, 1 → 2.0.0).
    fn ceiling(&self) -> Option<Version> {
        match self.concrete() {
            0 => None,
            1 => Some(Version::new(self.num(0)? + 1, 0, 0)),
            2 => Some(Version::new(self.num(0)?, self.num(1)? + 1, 0)),
            _ => None,
        }
    }
}

/// Parses a version leniently: `v` prefix, missing minor/patch (`1.2` → 1.2.0).
pub fn parse_version_lenient(s: &str) -> Result<Version, ConstraintError> {
    let p = Partial::parse(s)?;
    if p.parts.iter().any(|w| matches!(w, Some(Wild::Any))) {
        return Err(ConstraintError(format!("`{s}` is a range, not a version")));
    }
    let mut v = Version::new(
        p.num(0).unwrap_or(0),
        p.num(1).unwrap_or(0),
        p.num(2).unwrap_or(0),
    );
    if !p.pre.is_empty() {
        v.pre = semver::Prerelease::new(&p.pre).map_err(|e| ConstraintError(e.to_string()))?;
    }
    if !p.build.is_empty() {
        v.build =
            semver::BuildMetadata::new(&p.build).map_err(|e| ConstraintError(e.to_string()))?;
    }
    Ok(v)
}

fn cmp(op: Op, v: Version, allows_pre: bool) -> Comparison {
    Comparison {
        op,
        version: v,
        allows_pre,
    }
}

impl Constraint {
    /// Parses a constraint.
    pub fn parse(input: &str) -> Result<Constraint, ConstraintError> {
        let mut groups = Vec::new();
        for group in input.split("||") {
            let group = group.trim();
            if group.is_empty() {
                return Err(ConstraintError(format!(
                    "empty alternative in `{input}`: remove the stray `||`"
                )));
            }
            groups.push(parse_group(group)?);
        }
        Ok(Constraint {
            groups,
            source: input.to_string(),
        })
    }

    /// Whether `version` satisfies the constraint.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|c| c.matches(version)))
    }

    /// The constraint as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Comparison {
    fn matches(&self, v: &Version) -> bool {
        if !v.pre.is_empty() && !self.allows_pre {
            return false;
        }
        let ord = cmp_precedence(v, &self.version);
        use std::cmp::Ordering::*;
        match self.op {
            Op::Eq => ord == Equal,
            Op::Ne => ord != Equal,
            Op::Gt => ord == Greater,
            Op::Ge => ord != Less,
            Op::Lt => ord == Less,
            Op::Le => ord != Greater,
        }
    }
}

/// SemVer precedence: build metadata is ignored.
fn cmp_precedence(a: &Version, b: &Version) -> std::cmp::Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| a.pre.cmp(&b.pre))
}

fn parse_group(group: &str) -> Result<Vec<Comparison>, ConstraintError> {
    // Tokens are separated by spaces or commas; an operator may be separated from its version
    // by spaces (`>= 1.2`), and a hyphen range is `A - B`.
    let raw: Vec<&str> = group.split([' ', ',']).filter(|t| !t.is_empty()).collect();
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let t = raw[i];
        let is_bare_op = matches!(
            t,
            "=" | "!=" | ">" | ">=" | "=>" | "<" | "<=" | "=<" | "~" | "~>" | "^"
        );
        if is_bare_op {
            let next = raw.get(i + 1).ok_or_else(|| {
                ConstraintError(format!(
                    "operator `{t}` at the end of `{group}` has no version"
                ))
            })?;
            tokens.push(format!("{t}{next}"));
            i += 2;
        } else {
            tokens.push(t.to_string());
            i += 1;
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.get(i + 1).map(String::as_str) == Some("-") {
            let hi = tokens.get(i + 2).ok_or_else(|| {
                ConstraintError(format!("hyphen range in `{group}` has no upper bound"))
            })?;
            let lo = Partial::parse(&tokens[i])?;
            let hi = Partial::parse(hi)?;
            out.push(cmp(Op::Ge, lo.floor(), !lo.pre.is_empty()));
            match hi.concrete() {
                3 => out.push(cmp(Op::Le, hi.floor(), !hi.pre.is_empty())),
                _ => {
                    if let Some(c) = hi.ceiling() {
                        out.push(cmp(Op::Lt, c, false));
                    }
                }
            }
            i += 3;
            continue;
        }
        out.extend(parse_one(&tokens[i])?);
        i += 1;
    }
    Ok(out)
}

fn parse_one(token: &str) -> Result<Vec<Comparison>, ConstraintError> {
    let ops = ["!=", ">=", "=>", "<=", "=<", "~>", "=", ">", "<", "~", "^"];
    let (op, rest) = ops
        .iter()
        .find_map(|o| token.strip_prefix(o).map(|r| (*o, r)))
        .unwrap_or(("", token));
    let p = Partial::parse(rest).map_err(|e| ConstraintError(format!("in `{token}`: {e}")))?;
    let pre = !p.pre.is_empty();
    let floor = p.floor();
    let n = p.concrete();
    let whole = n == 3;
    Ok(match op {
        "" | "=" => match (n, p.ceiling()) {
            (0, _) => vec![cmp(Op::Ge, Version::new(0, 0, 0), pre)],
            (3, _) => vec![cmp(Op::Eq, floor, pre)],
            (_, Some(c)) => vec![cmp(Op::Ge, floor, pre), cmp(Op::Lt, c, pre)],
            _ => vec![cmp(Op::Eq, floor, pre)],
        },
        "!=" => match (n, p.ceiling()) {
            (3, _) => vec![cmp(Op::Ne, floor, pre)],
            // `!=1.2.x`: outside [1.2.0, 1.3.0); expressed as one comparison failing inside.
            _ => {
                return Err(ConstraintError(format!(
                    "`{token}`: `!=` with a wildcard is not supported; write `<{floor} || >=…` instead"
                )));
            }
        },
        ">" => {
            if whole {
                vec![cmp(Op::Gt, floor, pre)]
            } else {
                match p.ceiling() {
                    Some(c) => vec![cmp(Op::Ge, c, pre)],
                    None => vec![cmp(Op::Gt, floor, pre)],
                }
            }
        }
        ">=" | "=>" => vec![cmp(Op::Ge, floor, pre)],
        "<" => vec![cmp(Op::Lt, floor, pre)],
        "<=" | "=<" => {
            if whole {
                vec![cmp(Op::Le, floor, pre)]
            } else {
                match p.ceiling() {
                    Some(c) => vec![cmp(Op::Lt, c, pre)],
                    None => vec![cmp(Op::Ge, Version::new(0, 0, 0), pre)],
                }
            }
        }
        "~" | "~>" => {
            // ~1.2.3 → >=1.2.3 <1.3.0; ~1.2 → >=1.2.0 <1.3.0; ~1 → >=1.0.0 <2.0.0
            let upper = match n {
                0 => None,
                1 => Some(Version::new(floor.major + 1, 0, 0)),
                _ => Some(Version::new(floor.major, floor.minor + 1, 0)),
            };
            let mut v = vec![cmp(Op::Ge, floor, pre)];
            if let Some(u) = upper {
                v.push(cmp(Op::Lt, u, pre));
            }
            v
        }
        "^" => {
            // ^1.2.3 → <2.0.0; ^0.2.3 → <0.3.0; ^0.0.3 → <0.0.4; ^0 → <1.0.0; ^0.0 → <0.1.0
            let upper = if floor.major > 0 || n <= 1 {
                if n == 0 {
                    None
                } else {
                    Some(Version::new(floor.major + 1, 0, 0))
                }
            } else if floor.minor > 0 || n == 2 {
                Some(Version::new(0, floor.minor + 1, 0))
            } else {
                Some(Version::new(0, 0, floor.patch + 1))
            };
            let mut v = vec![cmp(Op::Ge, floor, pre)];
            if let Some(u) = upper {
                v.push(cmp(Op::Lt, u, pre));
            }
            v
        }
        _ => unreachable!("operator list is exhaustive"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: &str, v: &str) -> bool {
        Constraint::parse(c)
            .unwrap_or_else(|e| panic!("{c}: {e}"))
            .matches(&parse_version_lenient(v).unwrap())
    }

    #[test]
    fn helm_range_syntax() {
        let yes = [
            (">=1.2.3 <2.0.0", "1.9.9"),
            (">=1.2.3, <2.0.0", "1.2.3"),
            ("^1.2 || ^2", "2.5.0"),
            ("^1.2 || ^2", "1.2.0"),
            ("1.2 - 1.4", "1.4.9"),
            ("1.2 - 1.4.5", "1.4.5"),
            ("~1.2", "1.2.9"),
            ("~1.2.3", "1.2.3"),
            ("1.x", "1.99.0"),
            ("1.2.*", "1.2.7"),
            ("*", "3.0.0"),
            ("v1.2.3", "1.2.3"),
            ("=v1.2.3", "v1.2.3"),
            ("^0.2.3", "0.2.9"),
            ("^0.0.3", "0.0.3"),
            ("> 1.2", "1.3.0"),
            ("<= 1.2", "1.2.9"),
            ("!=1.2.3", "1.2.4"),
            (">=1.28.0-0", "1.34.1-rc.1"),
            ("~1", "1.9.0"),
        ];
        for (c, v) in yes {
            assert!(m(c, v), "{c} should match {v}");
        }
        let no = [
            (">=1.2.3 <2.0.0", "2.0.0"),
            ("^1.2 || ^2", "3.0.0"),
            ("^1.2", "1.1.9"),
            ("1.2 - 1.4", "1.5.0"),
            ("~1.2", "1.3.0"),
            ("1.x", "2.0.0"),
            ("^0.2.3", "0.3.0"),
            ("^0.0.3", "0.0.4"),
            ("> 1.2", "1.2.9"),
            ("!=1.2.3", "1.2.3"),
            (">=1.0.0", "1.5.0-beta.1"),
            ("^1.2", "1.3.0-rc.1"),
        ];
        for (c, v) in no {
            assert!(!m(c, v), "{c} should not match {v}");
        }
    }

    #[test]
    fn bad_constraints_are_errors() {
        for c in ["", ">=", "1.2.3.4", ">=x.y", "abc", "^1 ||", "1.2 -"] {
            assert!(Constraint::parse(c).is_err(), "{c:?} should be an error");
        }
    }

    #[test]
    fn lenient_versions() {
        assert_eq!(
            parse_version_lenient("v1.34").unwrap(),
            Version::new(1, 34, 0)
        );
        assert_eq!(
            parse_version_lenient("v1.34.1+k3s1")
                .unwrap()
                .build
                .as_str(),
            "k3s1"
        );
        assert!(parse_version_lenient("1.x").is_err());
    }
}
