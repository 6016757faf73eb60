//! Paths (Go's `path`; `os…` are `path/filepath`, the same on Unix), URLs (`net/url`),
//! reflection (`typeOf`, `kindOf`, `deepEqual`), `fail`, `hello`, `getHostByName`, and the
//! environment functions Helm leaves out.

use gotemplate::{Map, Object, Param, Value};

use crate::{R, Registry, arg, err, map_arg, sig, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("hello", sig(&[]), |_| Ok(string("Hello!")));
    r.add("fail", sig(&[String]), |a| Err(err(str_arg(a, 0)?)));
    for name in ["base", "osBase"] {
        r.add(name, sig(&[String]), |a| Ok(string(base(str_arg(a, 0)?))));
    }
    for name in ["dir", "osDir"] {
        r.add(name, sig(&[String]), |a| Ok(string(dir(str_arg(a, 0)?))));
    }
    for name in ["clean", "osClean"] {
        r.add(name, sig(&[String]), |a| Ok(string(clean(str_arg(a, 0)?))));
    }
    for name in ["ext", "osExt"] {
        r.add(name, sig(&[String]), |a| Ok(string(ext(str_arg(a, 0)?))));
    }
    for name in ["isAbs", "osIsAbs"] {
        r.add(name, sig(&[String]), |a| {
            Ok(Value::Bool(str_arg(a, 0)?.starts_with('/')))
        });
    }
    r.add("typeOf", sig(&[Any]), |a| Ok(string(arg(a, 0).type_name())));
    r.add("typeIs", sig(&[String, Any]), |a| {
        Ok(Value::Bool(str_arg(a, 0)? == arg(a, 1).type_name()))
    });
    r.add("typeIsLike", sig(&[String, Any]), |a| {
        let (target, t) = (str_arg(a, 0)?, arg(a, 1).type_name());
        Ok(Value::Bool(
            t == target || t.strip_prefix('*') == Some(target),
        ))
    });
    r.add("kindOf", sig(&[Any]), |a| Ok(string(arg(a, 0).kind_name())));
    r.add("kindIs", sig(&[String, Any]), |a| {
        Ok(Value::Bool(str_arg(a, 0)? == arg(a, 1).kind_name()))
    });
    r.add("deepEqual", sig(&[Any, Any]), |a| {
        Ok(Value::Bool(crate::lists::deep_equal(arg(a, 0), arg(a, 1))))
    });
    r.add("getHostByName", sig(&[String]), |a| {
        use rand::seq::IndexedRandom;
        use std::net::ToSocketAddrs;
        let name = str_arg(a, 0)?;
        let addrs: Vec<std::string::String> = (name, 0)
            .to_socket_addrs()
            .map(|it| it.map(|s| s.ip().to_string()).collect())
            .unwrap_or_default();
        addrs
            .choose(&mut rand::rng())
            .map(|s| string(s.clone()))
            .ok_or_else(|| err("invalid argument to Intn"))
    });
    r.add("urlParse", sig(&[String]), |a| url_parse(str_arg(a, 0)?));
    r.add("urlJoin", sig(&[Map]), |a| url_join(&map_arg(a, 0)?));
}

/// `env` and `expandenv`, which Helm removes.
pub(crate) fn register_env(r: &mut Registry) {
    use Param::*;
    r.add("env", sig(&[String]), |a| {
        Ok(string(std::env::var(str_arg(a, 0)?).unwrap_or_default()))
    });
    r.add("expandenv", sig(&[String]), |a| {
        Ok(string(expand_env(str_arg(a, 0)?, |k| {
            std::env::var(k).unwrap_or_default()
        })))
    });
}

/// What encoding/json writes for an object of this crate (time, version, certificate).
pub(crate) fn object_json(o: &dyn Object) -> Option<Value> {
    let any = o.as_any();
    if let Some(t) = any.downcast_ref::<crate::date::Time>() {
        return Some(string(t.rfc3339_nano()));
    }
    if let Some(v) = any.downcast_ref::<crate::semver::Version>() {
        return Some(string(v.to_string()));
    }
    if let Some(c) = any.downcast_ref::<crate::crypto::Certificate>() {
        let m = Map::new();
        m.insert("Cert", string(c.cert.clone()));
        m.insert("Key", string(c.key.clone()));
        return Some(Value::Map(m));
    }
    None
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> std::string::String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
fn base(p: &str) -> std::string::String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Dir`.
fn dir(p: &str) -> std::string::String {
    let d = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    clean(d)
}

/// Go's `path.Ext`.
fn ext(p: &str) -> &str {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return &p[i..];
        }
    }
    ""
}

/// Go's `os.Expand`.
fn expand_env(s: &str, get: impl Fn(&str) -> std::string::String) -> std::string::String {
    let b = s.as_bytes();
    let mut out = std::string::String::new();
    let mut i = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.push_str(&s[i..j]);
            let (name, w) = shell_name(&s[j + 1..]);
            if name.is_empty() && w > 0 {
                // Bad syntax: the characters are eaten.
            } else if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&get(name));
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    if i < s.len() {
        out.push_str(&s[i..]);
    }
    out
}

fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    let special = |c: u8| b"*#$@!?-".contains(&c) || c.is_ascii_digit();
    if b[0] == b'{' {
        if b.len() > 2 && special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        for i in 1..b.len() {
            if b[i] == b'}' {
                if i == 1 {
                    return ("", 2);
                }
                return (&s[1..i], i + 1);
            }
        }
        return ("", 1);
    }
    if special(b[0]) {
        return (&s[0..1], 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (&s[..n], n)
}

/// The parts of a URL as net/url holds them.
#[derive(Default)]
struct Url {
    scheme: std::string::String,
    opaque: std::string::String,
    user: Option<(std::string::String, Option<std::string::String>)>,
    host: std::string::String,
    path: std::string::String,
    omit_host: bool,
    force_query: bool,
    raw_query: std::string::String,
    fragment: std::string::String,
}

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    Path,
    Host,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Enc) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Enc::Host
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => {
            return match mode {
                Enc::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
                Enc::Fragment => false,
                Enc::Path => c == b'?',
                Enc::Host => true,
            };
        }
        _ => {}
    }
    if mode == Enc::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn escape(s: &str, mode: Enc) -> std::string::String {
    let mut out = std::string::String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if should_escape(c, mode) {
            out.push_str(&format!("%{c:02X}"));
        } else {
            out.push(char::from(c));
        }
    }
    out
}

/// net/url's `unescape` (for the modes urlParse needs).
fn unescape(s: &str, mode: Enc) -> Result<std::string::String, std::string::String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(h) = hex else {
                    let bad = &s[i..(i + 3).min(s.len())];
                    return Err(format!("invalid URL escape {}", go_quote(bad)));
                };
                let v = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("0"), 16).unwrap_or(0);
                if mode == Enc::Host && v < 0x80 && s[..i].rfind('[').is_none() && v != b'%' {
                    let bad = &s[i..i + 3];
                    return Err(format!("invalid URL escape {}", go_quote(bad)));
                }
                out.push(v);
                i += 3;
            }
            c => {
                if mode == Enc::Host && c < 0x80 && should_escape(c, Enc::Host) {
                    return Err(format!(
                        "invalid character {} in host name",
                        go_quote(&s[i..i + 1])
                    ));
                }
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(std::string::String::from_utf8_lossy(&out).into_owned())
}

fn go_quote(s: &str) -> std::string::String {
    gotemplate::gofmt::sprintf("%q", &[Value::from(s)])
}

fn parse_url(raw: &str) -> Result<Url, std::string::String> {
    let (u, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let wrap = |s: &str, e: std::string::String| format!("parse {}: {e}", go_quote(s));
    let mut url = parse_without_fragment(u).map_err(|e| wrap(u, e))?;
    if let Some(f) = frag {
        url.fragment = unescape(f, Enc::Fragment).map_err(|e| wrap(raw, e))?;
    }
    Ok(url)
}

fn parse_without_fragment(raw: &str) -> Result<Url, std::string::String> {
    if raw.bytes().any(|c| c < 0x20 || c == 0x7F) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == "*" {
        url.path = "*".into();
        return Ok(url);
    }
    let (scheme, mut rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else if let Some((r, q)) = rest.split_once('?') {
        url.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_string();
            return Ok(url);
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, path) = match authority_and_path.find('/') {
            Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
            None => (authority_and_path, ""),
        };
        rest = path;
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
    } else if !url.scheme.is_empty() && rest.starts_with('/') {
        url.omit_host = true;
    }
    url.path = unescape(rest, Enc::Path)?;
    Ok(url)
}

fn get_scheme(raw: &str) -> Result<(&str, &str), std::string::String> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err("missing protocol scheme".into());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

type UserInfo = Option<(std::string::String, Option<std::string::String>)>;

fn parse_authority(
    authority: &str,
) -> Result<(UserInfo, std::string::String), std::string::String> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host = parse_host(host)?;
    let Some(userinfo) = userinfo else {
        return Ok((None, host));
    };
    let valid = userinfo
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c) || c >= 0x80);
    if !valid {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match userinfo.split_once(':') {
        None => (unescape(userinfo, Enc::UserPassword)?, None),
        Some((u, p)) => (
            unescape(u, Enc::UserPassword)?,
            Some(unescape(p, Enc::UserPassword)?),
        ),
    };
    Ok((Some(user), host))
}

fn parse_host(host: &str) -> Result<std::string::String, std::string::String> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err("missing ']' in host".into());
        };
        let port = &host[i + 1..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
        return unescape(host, Enc::Host);
    }
    if let Some(i) = host.rfind(':') {
        let port = &host[i..];
        if !valid_optional_port(port) {
            return Err(format!("invalid port {} after host", go_quote(port)));
        }
    }
    unescape(host, Enc::Host)
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|c| c.is_ascii_digit()),
    }
}

impl Url {
    fn user_string(&self) -> std::string::String {
        match &self.user {
            None => std::string::String::new(),
            Some((u, p)) => {
                let mut s = escape(u, Enc::UserPassword);
                if let Some(p) = p {
                    s.push(':');
                    s.push_str(&escape(p, Enc::UserPassword));
                }
                s
            }
        }
    }

    fn hostname(&self) -> &str {
        let h = self.host.as_str();
        if let Some(rest) = h.strip_prefix('[') {
            return rest.split(']').next().unwrap_or("");
        }
        match h.rfind(':') {
            Some(i) => &h[..i],
            None => h,
        }
    }

    /// `URL.String`.
    fn to_go_string(&self) -> std::string::String {
        let mut buf = std::string::String::new();
        if !self.scheme.is_empty() {
            buf.push_str(&self.scheme);
            buf.push(':');
        }
        if !self.opaque.is_empty() {
            buf.push_str(&self.opaque);
        } else {
            let bare = self.host.is_empty() && self.user.is_none();
            // An authority is written unless there is none to write (no host, no user) and
            // either no scheme or a path-only URL (OmitHost).
            if !bare || !self.scheme.is_empty() && !self.omit_host {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.push_str("//");
                }
                if self.user.is_some() {
                    buf.push_str(&self.user_string());
                    buf.push('@');
                }
                if !self.host.is_empty() {
                    buf.push_str(&escape(&self.host, Enc::Host));
                }
            }
            let path = if self.path == "*" {
                "*".to_string()
            } else {
                escape(&self.path, Enc::Path)
            };
            if !path.is_empty() && !path.starts_with('/') && !self.host.is_empty() {
                buf.push('/');
            }
            if buf.is_empty() && path.split('/').next().unwrap_or("").contains(':') {
                buf.push_str("./");
            }
            buf.push_str(&path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push('?');
            buf.push_str(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push('#');
            buf.push_str(&escape(&self.fragment, Enc::Fragment));
        }
        buf
    }
}

fn url_parse(raw: &str) -> R {
    let url = parse_url(raw).map_err(|e| err(format!("unable to parse url: {e}")))?;
    let m = Map::new();
    m.insert("scheme", string(url.scheme.clone()));
    m.insert("host", string(url.host.clone()));
    m.insert("hostname", string(url.hostname()));
    m.insert("path", string(url.path.clone()));
    m.insert("query", string(url.raw_query.clone()));
    m.insert("opaque", string(url.opaque.clone()));
    m.insert("fragment", string(url.fragment.clone()));
    m.insert("userinfo", string(url.user_string()));
    Ok(Value::Map(m))
}

fn url_join(d: &Map) -> R {
    let field = |key: &str| -> Result<std::string::String, gotemplate::FuncError> {
        match d.get(key) {
            None => Ok(std::string::String::new()),
            Some(Value::String(s)) => Ok(s.to_string()),
            Some(Value::Nil) => Err(err(crate::lists::NIL_DEREF)),
            Some(v) => Err(err(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                v.kind_name()
            ))),
        }
    };
    let mut url = Url {
        scheme: field("scheme")?,
        host: field("host")?,
        path: field("path")?,
        raw_query: field("query")?,
        opaque: field("opaque")?,
        fragment: field("fragment")?,
        ..Url::default()
    };
    let userinfo = field("userinfo")?;
    if !userinfo.is_empty() {
        let temp = parse_url(&format!("proto://{userinfo}@host"))
            .map_err(|e| err(format!("unable to parse userinfo in dict: {e}")))?;
        url.user = temp.user;
    }
    Ok(string(url.to_go_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_paths() {
        assert_eq!(clean("a//b/../c/."), "a/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../../a"), "../../a");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("a"), ".");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }

    #[test]
    fn expand_env_as_os_expand() {
        let get = |k: &str| format!("<{k}>");
        assert_eq!(expand_env("a $B ${C} $ ${} $1x", get), "a <B> <C> $  <1>x");
    }
}
