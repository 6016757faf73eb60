//! Template errors of Helm charts, better than Helm's one long line: where it failed (file, line
//! and column), the source line with a caret under the failing action, the chain of
//! `include`s/`template`s/`tpl`s that led there, and, for a value that is not set, the values
//! path (the action layer adds which layers could set it, see [`HelmTemplateError::help`]).
//!
//! A chart's own message (`required`, `fail`) is shown as the message itself, as Helm shows it.

use std::fmt;

use gotemplate::{Error, ExecError, Location, ParseError};

use super::funcs::{CHART_MESSAGE_END, CHART_MESSAGE_START};
use crate::render::RenderError;

/// What kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A template does not parse.
    Syntax,
    /// A template failed while it ran.
    Execution,
    /// The chart itself stopped the render (`required`, `fail`) with its message.
    ChartMessage,
}

/// A value a failing action read that is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingValue {
    /// The keys of the subchart whose `.Values` the action read (empty for the top chart).
    pub scope: Vec<String>,
    /// The path below that chart's values, e.g. `["service", "http"]`.
    pub path: Vec<String>,
}

impl MissingValue {
    /// The path from the top of the merged values, dotted.
    pub fn full_path(&self) -> String {
        self.scope
            .iter()
            .chain(self.path.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// A Helm chart's template failed to parse or to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmTemplateError {
    /// What kind of failure.
    pub failure: Failure,
    /// The template file (`web/templates/x.yaml`), or `gotpl` for text given to `tpl`.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The message: Go's, or the chart's own.
    pub message: String,
    /// The failing source line, and the caret line under it.
    pub excerpt: Option<(String, String)>,
    /// The calls that led there, outermost first: `FILE:LINE:COL: ACTION`.
    pub chain: Vec<String>,
    /// The value that is not set, when the failure is about one.
    pub missing: Option<MissingValue>,
    /// What to do, added where more is known (the layers that could set a missing value).
    pub help: Vec<String>,
}

/// How many calls of an include chain an error shows (the innermost and the outermost three).
const CHAIN_SHOWN: usize = 11;

impl fmt::Display for HelmTemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.failure {
            Failure::Syntax => "template syntax error: ",
            Failure::Execution => "",
            Failure::ChartMessage => "",
        };
        write!(
            f,
            "{}:{}:{}: {what}{}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some((src, caret)) = &self.excerpt {
            let n = self.line.to_string();
            let pad = " ".repeat(n.len());
            write!(f, "\n {pad} |\n {n} | {src}\n {pad} | {caret}")?;
        }
        // A runaway recursion has a chain as deep as the depth limit: the innermost calls, then
        // how many repeat, then the outermost.
        let n = self.chain.len();
        for (i, call) in self.chain.iter().rev().enumerate() {
            if n > CHAIN_SHOWN && i == CHAIN_SHOWN - 3 {
                write!(f, "\n         … {} more calls …", n - CHAIN_SHOWN)?;
            }
            if n > CHAIN_SHOWN && i >= CHAIN_SHOWN - 3 && i < n - 3 {
                continue;
            }
            let how = if i == 0 { "called from" } else { "       from" };
            write!(f, "\n  {how} {call}")?;
        }
        if let Some(m) = &self.missing
            && self.help.is_empty()
        {
            write!(f, "\n  the value `{}` is not set", m.full_path())?;
        }
        for h in &self.help {
            write!(f, "\n  {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for HelmTemplateError {}

fn excerpt(
    source: Option<&str>,
    line: usize,
    col: usize,
    width: usize,
) -> Option<(String, String)> {
    let text = source?.lines().nth(line.checked_sub(1)?)?;
    let text = text.trim_end_matches('\r');
    let before = text.get(..col.min(text.len()))?;
    let indent: String = before
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let rest = text.len().saturating_sub(col).max(1);
    Some((
        text.to_string(),
        format!("{indent}{}", "^".repeat(width.clamp(1, rest).min(80))),
    ))
}

/// Where the failing action starts on its line: Go places a field chain (`.Values.a.b`) at its
/// second field, but the caret goes under the whole action.
fn action_start(source: Option<&str>, at: &Location) -> usize {
    let Some(text) = source.and_then(|s| s.lines().nth(at.line.checked_sub(1)?)) else {
        return at.col;
    };
    let upto = (at.col + at.action.len()).min(text.len());
    text.get(..upto)
        .and_then(|t| t.rfind(at.action.as_str()))
        .filter(|&i| i <= at.col)
        .unwrap_or(at.col)
}

fn column(source: Option<&str>, line: usize, col: usize) -> usize {
    source
        .and_then(|s| s.lines().nth(line.checked_sub(1)?))
        .and_then(|l| l.get(..col.min(l.len())))
        .map_or(col, |b| b.chars().count())
        + 1
}

/// A template that does not parse.
pub(super) fn parse_error<'a>(
    sources: &impl Fn(&str) -> Option<&'a str>,
    e: ParseError,
) -> RenderError {
    let src = sources(&e.name);
    RenderError::Helm(Box::new(HelmTemplateError {
        failure: Failure::Syntax,
        column: column(src, e.line, e.col),
        excerpt: excerpt(src, e.line, e.col, 1),
        file: e.name,
        line: e.line,
        message: e.message,
        chain: Vec::new(),
        missing: None,
        help: Vec::new(),
    }))
}

/// A template that failed: the innermost error of an include chain, with the chain.
pub(super) fn exec_error<'a>(sources: &impl Fn(&str) -> Option<&'a str>, e: Error) -> RenderError {
    let mut exec = match e {
        Error::Parse(p) => return parse_error(sources, p),
        Error::Exec(x) => x,
    };
    // Go nests the error of an included template inside the caller's; the innermost one is
    // where the problem is, and it carries the whole chain. An inner error without a place
    // (`include` of a template that does not exist) is placed at the nearest call that has one.
    let mut placed: Option<(Location, Vec<Location>)> = None;
    while let Some(cause) = exec.cause.take() {
        if let Some(at) = &exec.at {
            placed = Some((at.clone(), exec.chain.clone()));
        }
        match *cause {
            Error::Exec(inner) => exec = inner,
            Error::Parse(p) => {
                let mut err = parse_error(sources, p);
                if let RenderError::Helm(h) = &mut err {
                    h.chain = exec.chain.iter().chain(exec.at.iter()).map(call).collect();
                }
                return err;
            }
        }
    }
    let ExecError {
        at,
        template,
        message,
        chain,
        ..
    } = *exec;
    let (failure, message) = match chart_message(&message) {
        Some(m) => (Failure::ChartMessage, m.to_string()),
        None => (Failure::Execution, message),
    };
    let (at, chain) = match (at, placed) {
        (Some(at), _) => (Some(at), chain),
        (None, Some((at, chain))) => (Some(at), chain),
        (None, None) => (None, chain),
    };
    let Some(at) = at else {
        return RenderError::Helm(Box::new(HelmTemplateError {
            failure,
            file: template,
            line: 0,
            column: 0,
            message,
            excerpt: None,
            chain: chain.iter().map(call).collect(),
            missing: None,
            help: Vec::new(),
        }));
    };
    let src = sources(&at.file);
    let missing = missing_value(&at, &message, failure);
    let help = if message.contains("nested reference name")
        || message.contains("maximum template depth")
    {
        vec![
            "the templates call each other without end (a cycle of include/template calls, listed above); \
             make the recursion stop"
                .to_string(),
        ]
    } else {
        Vec::new()
    };
    RenderError::Helm(Box::new(HelmTemplateError {
        failure,
        column: column(src, at.line, at.col),
        excerpt: excerpt(
            src,
            at.line,
            action_start(src, &at),
            at.action.chars().count(),
        ),
        line: at.line,
        chain: chain.iter().map(call).collect(),
        file: at.file.clone(),
        message,
        missing,
        help,
    }))
}

fn call(l: &Location) -> String {
    format!("{}:{}:{}: {}", l.file, l.line, l.col + 1, l.action)
}

/// The message `required` or `fail` gave, if this is one.
fn chart_message(message: &str) -> Option<&str> {
    let start = message.find(CHART_MESSAGE_START)? + CHART_MESSAGE_START.len();
    let end = message[start..].find(CHART_MESSAGE_END)? + start;
    Some(&message[start..end])
}

/// The `.Values` path a failing action read and found unset: for `nil pointer evaluating
/// interface {}.x`, the part of the chain before `x`; for `required`, its argument.
fn missing_value(at: &Location, message: &str, failure: Failure) -> Option<MissingValue> {
    let chain = values_chain(&at.action)?;
    let path = match failure {
        Failure::ChartMessage if at.action.trim_start().starts_with("required") => chain,
        Failure::Execution => {
            let field = message
                .strip_prefix("nil pointer evaluating ")?
                .rsplit('.')
                .next()?;
            let i = chain.iter().position(|s| s == field)?;
            chain[..i].to_vec()
        }
        _ => return None,
    };
    if path.is_empty() {
        return None;
    }
    Some(MissingValue {
        scope: scope_of(&at.file),
        path,
    })
}

/// The keys after the first `.Values.` of an action: `.Values.a.b` → `[a, b]`.
fn values_chain(action: &str) -> Option<Vec<String>> {
    let start = action.find(".Values.")? + ".Values.".len();
    let keys: Vec<String> = action[start..]
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .next()?
        .split('.')
        .take_while(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// The subchart keys of a template path: `web/charts/db/templates/x.yaml` → `[db]`.
fn scope_of(file: &str) -> Vec<String> {
    let mut scope = Vec::new();
    let mut parts = file.split('/').peekable();
    parts.next();
    while let Some(p) = parts.next() {
        if p == "charts"
            && let Some(name) = parts.next()
        {
            scope.push(name.to_string());
        } else if p == "templates" {
            break;
        }
    }
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_paths_and_scopes() {
        assert_eq!(
            values_chain("include \"x\" (dict \"v\" .Values.a.b_c.d)").unwrap(),
            ["a", "b_c", "d"]
        );
        assert_eq!(values_chain(".Release.Name"), None);
        assert_eq!(
            scope_of("web/charts/db/charts/common/templates/_x.tpl"),
            ["db", "common"]
        );
        assert!(scope_of("web/templates/x.yaml").is_empty());
        assert_eq!(
            chart_message("error calling required: HELM_ERR_STARTset x!HELM_ERR_END"),
            Some("set x!")
        );
    }
}
