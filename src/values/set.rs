//! The `--set` family, with Helm's syntax and types (Helm's `pkg/strvals`, behaviour verified
//! against Helm v4.1.4 by `tests/helm_set_diff.rs`).
//!
//! An argument is a comma-separated list of `path=value` assignments applied, in order, into the
//! values accumulated so far:
//! - path segments are separated by `.`; `name[i]` indexes a list (created and padded with
//!   nulls as needed; at most index 65536; at most 30 dots);
//! - `\` escapes the next character in paths and values (`\,` `\.` `\=` `\[` `\\`);
//! - `{a,b}` is a list; `--set` types values: `true`/`false`/`null` (any letter case), `0`, and
//!   base-10 integers that do not start with `0` become booleans/null/integers; anything else
//!   (`1.5`, `0123`, `1e3`, `yes`) stays a string;
//! - `--set-string` keeps every value a string; `--set-file` reads each value as a file path;
//!   `--set-json` parses each value as one JSON value (`a=` is null); `--set-literal` takes
//!   everything after the first `=` verbatim (no commas, escapes or lists).
use std::path::Path;

use serde_json::{Map, Value};

use super::{SetError, SetKind, type_name};
use crate::yaml::PathSeg;

/// Helm's `MaxIndex`.
pub const MAX_INDEX: i64 = 65536;
/// Helm's `MaxNestedNameLevel`.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// The result of applying one flag.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Paths whose value (subtree) this flag wrote.
    pub writes: Vec<Vec<PathSeg>>,
    /// Input Helm silently ignores (e.g. an unterminated `[`).
    pub warnings: Vec<String>,
}

enum Stop {
    /// End of input: success (with a warning when input was cut short).
    Eof(Option<String>),
    Fail(SetError),
}

type R<T> = Result<T, Stop>;

enum ValList {
    Eof,
    NotList,
    List(Vec<Value>),
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    kind: SetKind,
    base_dir: &'a Path,
    path: Vec<PathSeg>,
    applied: Applied,
    describe: &'a dyn Fn(&[PathSeg]) -> Option<String>,
}

/// Apply one flag argument into `data` (the values accumulated so far). `describe` names the
/// layer that set an existing value (for type-mismatch errors).
pub(crate) fn apply(
    kind: SetKind,
    arg: &str,
    base_dir: &Path,
    data: &mut Map<String, Value>,
    describe: &dyn Fn(&[PathSeg]) -> Option<String>,
) -> Result<Applied, SetError> {
    let mut p = Parser {
        s: arg,
        pos: 0,
        kind,
        base_dir,
        path: Vec::new(),
        applied: Applied::default(),
        describe,
    };
    loop {
        match p.key(data, 0) {
            Ok(()) => {}
            Err(Stop::Eof(w)) => {
                if let Some(w) = w {
                    p.applied
                        .warnings
                        .push(format!("{} {arg}: {w}", kind.flag()));
                }
                return Ok(p.applied);
            }
            Err(Stop::Fail(e)) => return Err(e),
        }
    }
}

impl Parser<'_> {
    fn literal(&self) -> bool {
        self.kind == SetKind::SetLiteral
    }

    fn fail(&self, at: usize, message: impl Into<String>) -> Stop {
        Stop::Fail(SetError::new(self.kind, self.s, at, message))
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Read until one of `stops` (consumed, returned) or the end (`None`). Outside
    /// `--set-literal`, `\` takes the next character literally; a trailing `\` is dropped.
    fn until(&mut self, stops: &[char]) -> (String, Option<char>) {
        let mut out = String::new();
        let escapes = !self.literal();
        while let Some(c) = self.bump() {
            if stops.contains(&c) {
                return (out, Some(c));
            }
            if escapes && c == '\\' {
                match self.bump() {
                    Some(n) => out.push(n),
                    None => return (out, None),
                }
            } else {
                out.push(c);
            }
        }
        (out, None)
    }

    fn path_with(&self, seg: PathSeg) -> String {
        let mut p = self.path.clone();
        p.push(seg);
        crate::yaml::path_to_string(&p)
    }

    fn set(&mut self, data: &mut Map<String, Value>, k: &str, v: Value) {
        if k.is_empty() {
            return; // Helm ignores empty keys
        }
        data.insert(k.to_string(), v);
        let mut p = self.path.clone();
        p.push(PathSeg::Key(k.to_string()));
        self.applied.writes.push(p);
    }

    fn mismatch(&self, at: usize, seg: PathSeg, existing: &Value, wanted: &str) -> Stop {
        let mut p = self.path.clone();
        p.push(seg);
        let name = crate::yaml::path_to_string(&p);
        let by = (self.describe)(&p)
            .map(|o| format!(" (set by {o})"))
            .unwrap_or_default();
        self.fail(
            at,
            format!(
                "`{name}` already holds {}{by}, so it cannot be used as {wanted}; \
                 Helm refuses this too. Set `{name}` itself, or change the earlier layer",
                type_name(existing)
            ),
        )
    }

    /// One `path=value` assignment (or the rest of one, after a `.`).
    fn key(&mut self, data: &mut Map<String, Value>, level: usize) -> R<()> {
        let start = self.pos;
        let stops: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.until(stops);
        match last {
            None if k.is_empty() => Err(Stop::Eof(None)),
            None => Err(self.fail(start, format!("`{k}` has no value: expected `{k}=VALUE`"))),
            Some('[') => {
                let open = self.pos - 1;
                let i = self.index()?;
                let existed = data.contains_key(&k);
                let mut list = match data.get_mut(&k) {
                    None => Vec::new(),
                    Some(Value::Array(a)) => std::mem::take(a),
                    Some(other) => {
                        let other = other.clone();
                        return Err(self.mismatch(open, PathSeg::Key(k), &other, "a list"));
                    }
                };
                self.path.push(PathSeg::Key(k.clone()));
                let r = self.list_item(&mut list, i, level, open);
                self.path.pop();
                if k.is_empty() && !existed {
                    return r; // Helm ignores empty keys
                }
                data.insert(k.clone(), Value::Array(list));
                if !existed {
                    let mut p = self.path.clone();
                    p.push(PathSeg::Key(k));
                    self.applied.writes.push(p);
                }
                r
            }
            Some('=') => match self.kind {
                SetKind::SetJson => {
                    if self.empty_val() {
                        self.set(data, &k, Value::Null);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    self.set(data, &k, v);
                    self.empty_val();
                    Ok(())
                }
                SetKind::SetLiteral => {
                    let v = self.s[self.pos..].to_string();
                    self.pos = self.s.len();
                    self.set(data, &k, Value::String(v));
                    Ok(())
                }
                _ => match self.val_list()? {
                    ValList::Eof => {
                        self.set(data, &k, Value::String(String::new()));
                        Err(Stop::Eof(None))
                    }
                    ValList::List(l) => {
                        self.set(data, &k, Value::Array(l));
                        Ok(())
                    }
                    ValList::NotList => {
                        let vstart = self.pos;
                        let (raw, _) = self.until(&[',']);
                        let v = self.reader(raw, vstart)?;
                        self.set(data, &k, v);
                        Ok(())
                    }
                },
            },
            Some(',') => Err(self.fail(
                start,
                format!(
                    "`{k}` has no value (an assignment cannot end with `,`): expected \
                     `{k}=VALUE`; write `\\,` for a comma inside a key or value"
                ),
            )),
            Some('.') => {
                let dot = self.pos - 1;
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(self.fail(
                        dot,
                        format!(
                            "the key path is nested more than {MAX_NESTED_NAME_LEVEL} levels deep \
                             (Helm's limit)"
                        ),
                    ));
                }
                let r = match data.get_mut(&k) {
                    Some(Value::Object(inner)) => {
                        self.path.push(PathSeg::Key(k.clone()));
                        let r = self.key(inner, level);
                        self.path.pop();
                        (r, inner.is_empty(), None)
                    }
                    Some(other) => {
                        let other = other.clone();
                        return Err(self.mismatch(dot, PathSeg::Key(k), &other, "a map"));
                    }
                    None => {
                        let mut inner = Map::new();
                        self.path.push(PathSeg::Key(k.clone()));
                        let r = self.key(&mut inner, level);
                        self.path.pop();
                        let empty = inner.is_empty();
                        (r, empty, Some(inner))
                    }
                };
                let (r, empty, detached) = r;
                if r.is_ok() && empty {
                    return Err(self.fail(
                        dot,
                        format!(
                            "`{}` has no key after the `.`",
                            self.path_with(PathSeg::Key(k))
                        ),
                    ));
                }
                if let Some(inner) = detached
                    && !empty
                {
                    self.set(data, &k, Value::Object(inner));
                }
                match r {
                    Err(Stop::Eof(None)) if empty => Err(Stop::Eof(Some(format!(
                        "`{}.` ends without a key; Helm ignores it, and so does charter",
                        self.path_with(PathSeg::Key(k))
                    )))),
                    r => r,
                }
            }
            Some(_) => Err(self.fail(start, "unexpected character")),
        }
    }

    /// After `[`: the index up to `]`, parsed like Go's `strconv.Atoi`.
    fn index(&mut self) -> R<i64> {
        let start = self.pos;
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err(Stop::Eof(Some(format!(
                "`[` at column {} is never closed with `]`; Helm ignores the rest of the \
                 argument, and so does charter",
                self.s[..start].chars().count()
            ))));
        }
        let digits = v.strip_prefix(['+', '-']).unwrap_or(&v);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.fail(
                start,
                format!("list index `{v}` is not a number: write an index like `list[0]=x`"),
            ));
        }
        v.parse::<i64>().map_err(|_| {
            self.fail(
                start,
                format!("list index `{v}` is out of range (the maximum is {MAX_INDEX})"),
            )
        })
    }

    fn set_index(&mut self, list: &mut Vec<Value>, i: i64, v: Value, at: usize) -> R<()> {
        if i < 0 {
            return Err(self.fail(at, format!("negative list index {i} is not allowed")));
        }
        if i > MAX_INDEX {
            return Err(self.fail(
                at,
                format!("list index {i} is greater than the maximum of {MAX_INDEX} (Helm's limit)"),
            ));
        }
        let i = usize::try_from(i).unwrap_or(0);
        if list.len() <= i {
            list.resize(i + 1, Value::Null);
        }
        list[i] = v;
        let mut p = self.path.clone();
        p.push(PathSeg::Index(i));
        self.applied.writes.push(p);
        Ok(())
    }

    /// What follows `name[i]`: `=value`, `[j]...` or `.key...`.
    fn list_item(&mut self, list: &mut Vec<Value>, i: i64, level: usize, open: usize) -> R<()> {
        if i < 0 {
            return Err(self.fail(open, format!("negative list index {i} is not allowed")));
        }
        let start = self.pos;
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err(self.fail(
                start,
                format!("unexpected `{k}` after `]`: expected `=`, `.` or `[` after a list index"),
            ));
        }
        match last {
            None => Err(Stop::Eof(Some(format!(
                "`{}` has no `=value`; Helm ignores it, and so does charter",
                self.path_with(PathSeg::Index(usize::try_from(i).unwrap_or(0)))
            )))),
            Some('=') => match self.kind {
                SetKind::SetJson => {
                    if self.empty_val() {
                        return self.set_index(list, i, Value::Null, open);
                    }
                    let v = self.json_value()?;
                    self.set_index(list, i, v, open)?;
                    self.empty_val();
                    Ok(())
                }
                SetKind::SetLiteral => {
                    let v = self.s[self.pos..].to_string();
                    self.pos = self.s.len();
                    self.set_index(list, i, Value::String(v), open)
                }
                _ => match self.val_list()? {
                    ValList::Eof => self.set_index(list, i, Value::String(String::new()), open),
                    ValList::List(l) => self.set_index(list, i, Value::Array(l), open),
                    ValList::NotList => {
                        let vstart = self.pos;
                        let (raw, _) = self.until(&[',']);
                        let v = self.reader(raw, vstart)?;
                        self.set_index(list, i, v, open)
                    }
                },
            },
            Some('[') => {
                let inner_open = self.pos - 1;
                let next = self.index()?;
                let iu = usize::try_from(i).unwrap_or(usize::MAX);
                if iu < list.len() && !list[iu].is_null() {
                    match &mut list[iu] {
                        Value::Array(inner) => {
                            self.path.push(PathSeg::Index(iu));
                            let r = self.list_item(inner, next, level, inner_open);
                            self.path.pop();
                            r
                        }
                        other => {
                            let other = other.clone();
                            Err(self.mismatch(open, PathSeg::Index(iu), &other, "a list"))
                        }
                    }
                } else {
                    let mut inner = Vec::new();
                    self.path.push(PathSeg::Index(iu));
                    let r = self.list_item(&mut inner, next, level, inner_open);
                    self.path.pop();
                    r?;
                    self.set_index(list, i, Value::Array(inner), open)
                }
            }
            Some('.') => {
                let iu = usize::try_from(i).unwrap_or(usize::MAX);
                if iu < list.len() {
                    if !list[iu].is_object() {
                        // Helm replaces a non-map element with an empty map.
                        list[iu] = Value::Object(Map::new());
                        let mut p = self.path.clone();
                        p.push(PathSeg::Index(iu));
                        self.applied.writes.push(p);
                    }
                    let Value::Object(inner) = &mut list[iu] else {
                        return Err(self.fail(open, "internal error: expected a map"));
                    };
                    self.path.push(PathSeg::Index(iu));
                    let r = self.key(inner, level);
                    self.path.pop();
                    r
                } else {
                    let mut inner = Map::new();
                    self.path.push(PathSeg::Index(iu));
                    let r = self.key(&mut inner, level);
                    self.path.pop();
                    r?;
                    self.set_index(list, i, Value::Object(inner), open)
                }
            }
            Some(_) => Err(self.fail(start, "unexpected character")),
        }
    }

    /// Skip whitespace and at most one comma. True at the end, or when a comma was consumed.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.peek() {
                None => return true,
                Some(',') => {
                    self.pos += 1;
                    return true;
                }
                Some(c) if c.is_whitespace() => {
                    self.pos += c.len_utf8();
                }
                Some(_) => return false,
            }
        }
    }

    /// One JSON value starting here (Go's `json.Decoder.Decode`: the value ends where its text
    /// ends, whatever follows).
    fn json_value(&mut self) -> R<Value> {
        let rest = &self.s[self.pos..];
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let first = stream.next();
        let offset = stream.byte_offset();
        let v = match first {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                // serde wants a delimiter after a number or literal; Go does not.
                match serde_json::from_str::<Value>(&rest[..offset]) {
                    Ok(v) if offset > 0 => v,
                    _ => {
                        return Err(
                            self.fail(self.pos, format!("the value is not valid JSON: {e}"))
                        );
                    }
                }
            }
            None => return Err(self.fail(self.pos, "expected a JSON value")),
        };
        self.pos += offset;
        Ok(v)
    }

    /// After `=`: a `{a,b}` list, or not a list, or nothing.
    fn val_list(&mut self) -> R<ValList> {
        match self.peek() {
            None => Ok(ValList::Eof),
            Some('{') => {
                let open = self.pos;
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    let istart = self.pos;
                    let (raw, last) = self.until(&[',', '}']);
                    match last {
                        None => {
                            return Err(self.fail(
                                open,
                                "the list starting here never ends: a list must end with `}`",
                            ));
                        }
                        Some('}') => {
                            if self.peek() == Some(',') {
                                self.pos += 1;
                            }
                            items.push(self.reader(raw, istart)?);
                            return Ok(ValList::List(items));
                        }
                        _ => items.push(self.reader(raw, istart)?),
                    }
                }
            }
            Some(_) => Ok(ValList::NotList),
        }
    }

    /// Turn a raw value into a value: typed (`--set`), string, or file contents.
    fn reader(&self, raw: String, at: usize) -> R<Value> {
        match self.kind {
            SetKind::Set => Ok(typed_value(raw)),
            SetKind::SetFile => {
                let path = self.base_dir.join(&raw);
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Value::String(match String::from_utf8(bytes) {
                        Ok(s) => s,
                        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    })),
                    Err(e) => Err(self.fail(
                        at,
                        format!("cannot read the file `{}`: {e}", path.display()),
                    )),
                }
            }
            _ => Ok(Value::String(raw)),
        }
    }
}

/// Go's `strings.EqualFold` for the ASCII words Helm compares against (`ſ` folds to `s`).
fn eq_fold(a: &str, word: &str) -> bool {
    let mut ac = a.chars();
    for w in word.chars() {
        match ac.next() {
            Some(c) if c.eq_ignore_ascii_case(&w) => {}
            Some('\u{17f}') if w == 's' => {}
            _ => return false,
        }
    }
    ac.next().is_none()
}

/// `--set` typing (Helm's `typedVal`).
pub(crate) fn typed_value(s: String) -> Value {
    if eq_fold(&s, "true") {
        return Value::Bool(true);
    }
    if eq_fold(&s, "false") {
        return Value::Bool(false);
    }
    if eq_fold(&s, "null") {
        return Value::Null;
    }
    if s == "0" {
        return Value::from(0i64);
    }
    if !s.is_empty() && !s.starts_with('0') {
        let digits = s.strip_prefix(['+', '-']).unwrap_or(&s);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = s.parse::<i64>()
        {
            return Value::from(i);
        }
    }
    Value::String(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(kind: SetKind, args: &[&str]) -> Result<Value, SetError> {
        let mut m = Map::new();
        for a in args {
            apply(kind, a, Path::new("."), &mut m, &|_| None)?;
        }
        Ok(Value::Object(m))
    }

    fn set(args: &[&str]) -> Value {
        run(SetKind::Set, args).unwrap()
    }

    #[test]
    fn typing() {
        assert_eq!(
            set(&[
                "a=1.5,b=0123,c=True,d=NULL,e=-5,f=+5,g=1_000,h=00,i=0,j=-0,l=yes,m=,n=1e3,o=0x10"
            ]),
            json!({"a": "1.5", "b": "0123", "c": true, "d": null, "e": -5, "f": 5, "g": "1_000",
                   "h": "00", "i": 0, "j": 0, "l": "yes", "m": "", "n": "1e3", "o": "0x10"})
        );
        assert_eq!(
            set(&["k=99999999999999999999"]),
            json!({"k": "99999999999999999999"})
        );
        assert_eq!(set(&["f=fal\u{17f}e"]), json!({"f": false}));
    }

    #[test]
    fn syntax() {
        assert_eq!(set(&["a.b.c=1"]), json!({"a": {"b": {"c": 1}}}));
        assert_eq!(set(&["l[2]=x"]), json!({"l": [null, null, "x"]}));
        assert_eq!(set(&["a[2].b=c"]), json!({"a": [null, null, {"b": "c"}]}));
        assert_eq!(set(&["a={x,y,z}"]), json!({"a": ["x", "y", "z"]}));
        assert_eq!(set(&["a={}"]), json!({"a": [""]}));
        assert_eq!(set(&[r"a=x\,y"]), json!({"a": "x,y"}));
        assert_eq!(set(&[r"a\.b=1"]), json!({"a.b": 1}));
        assert_eq!(set(&["a=x=y"]), json!({"a": "x=y"}));
        assert_eq!(set(&["=1"]), json!({}));
        assert_eq!(set(&[".a=1"]), json!({}));
        assert_eq!(set(&["a[0=1"]), json!({}));
        assert_eq!(set(&["a[0]"]), json!({"a": []}));
        assert_eq!(set(&["a[0][1]=x"]), json!({"a": [[null, "x"]]}));
        assert_eq!(set(&["a={1,2,3}", "a[1]=x"]), json!({"a": [1, "x", 3]}));
        assert_eq!(set(&["a.b=y", "a=x"]), json!({"a": "x"}));
        assert_eq!(set(&[" a = 1 "]), json!({" a ": " 1 "}));
    }

    #[test]
    fn errors_with_positions() {
        let e = run(SetKind::Set, &["a[x]=1"]).unwrap_err();
        assert_eq!(e.column, 3);
        assert!(e.to_string().contains("not a number"), "{e}");
        assert!(
            e.to_string().contains("\n  --set a[x]=1\n          ^"),
            "{e}"
        );
        let e = run(SetKind::Set, &["a=x", "a.b=y"]).unwrap_err();
        assert!(e.message.contains("already holds a string"), "{e}");
        assert!(run(SetKind::Set, &["a=null", "a.b=1"]).is_err());
        assert!(run(SetKind::Set, &["a"]).is_err());
        assert!(run(SetKind::Set, &[",a=1"]).is_err());
        assert!(run(SetKind::Set, &["a=b,c"]).is_err());
        assert!(run(SetKind::Set, &["a..b=1"]).is_err());
        assert!(run(SetKind::Set, &["a[65537]=1"]).is_err());
        assert!(run(SetKind::Set, &["a[-1]=1"]).is_err());
        assert!(run(SetKind::Set, &["a={x,{y}}"]).is_err());
        assert!(run(SetKind::Set, &["a={x"]).is_err());
        assert!(run(SetKind::Set, &["a[0]b=1"]).is_err());
        let deep31 = (0..31)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(".")
            + "=1";
        assert!(run(SetKind::Set, &[&deep31]).is_ok());
        let deep32 = (0..32)
            .map(|i| format!("k{i}"))
            .collect::<Vec<_>>()
            .join(".")
            + "=1";
        assert!(run(SetKind::Set, &[&deep32]).is_err());
    }

    #[test]
    fn json_and_literal() {
        let j = |a: &[&str]| run(SetKind::SetJson, a);
        assert_eq!(j(&["a=1b=2"]).unwrap(), json!({"a": 1, "b": 2}));
        assert_eq!(
            j(&["a=[1,2] , b=\"x\""]).unwrap(),
            json!({"a": [1, 2], " b": "x"})
        );
        assert_eq!(j(&["a=,b=1"]).unwrap(), json!({"a": null, "b": 1}));
        assert_eq!(
            j(&["a[1]={\"b\":null}"]).unwrap(),
            json!({"a": [null, {"b": null}]})
        );
        assert!(j(&["a={\"x\":1}}"]).is_err());
        assert!(j(&["a=nul"]).is_err());
        let l = |a: &[&str]| run(SetKind::SetLiteral, a);
        assert_eq!(
            l(&[r"a.b=x,y=z\,w"]).unwrap(),
            json!({"a": {"b": r"x,y=z\,w"}})
        );
        assert_eq!(l(&[r"a\.b=1"]).unwrap(), json!({"a\\": {"b": "1"}}));
        assert!(l(&["a"]).is_err());
        assert_eq!(
            run(SetKind::SetString, &["a=1,b=true,c={1,null}"]).unwrap(),
            json!({"a": "1", "b": "true", "c": ["1", "null"]})
        );
    }

    #[test]
    fn warnings_for_ignored_input() {
        let mut m = Map::new();
        let a = apply(SetKind::Set, "a[0=1", Path::new("."), &mut m, &|_| None).unwrap();
        assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
        let a = apply(SetKind::Set, "b.", Path::new("."), &mut m, &|_| None).unwrap();
        assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
        let a = apply(SetKind::Set, "x=1", Path::new("."), &mut m, &|_| None).unwrap();
        assert!(a.warnings.is_empty());
    }
}
