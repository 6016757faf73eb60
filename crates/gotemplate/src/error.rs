//! Errors as structured data, displayed with Go's (and so Helm's) wording.

use std::fmt;

/// A template that failed to parse or to execute.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Exec(#[from] Box<ExecError>),
}

/// A syntax error. Displays as Go's `template: NAME:LINE: MESSAGE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// The name the text was parsed under (Helm: the file's path in the chart).
    pub name: String,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 0-based byte offset of the offending token within its line.
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template: {}:{}: {}", self.name, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A place in a template's source: the call sites of an include chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// The name of the text the action is in (Helm: the file).
    pub file: String,
    /// The template executing there (a `define`d name, or the file's own name).
    pub template: String,
    /// 1-based line.
    pub line: usize,
    /// 0-based byte offset within the line, as Go reports it.
    pub col: usize,
    /// The action as Go prints it (`.Values.x.y`, `include "a" .`), not truncated.
    pub action: String,
}

/// A failed execution. Displays as Go's
/// `template: FILE:LINE:COL: executing "TEMPLATE" at <ACTION>: MESSAGE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecError {
    /// Where it failed; `None` for errors before any action ran (`no such template "x"`).
    pub at: Option<Location>,
    /// The name of the template being executed, for errors without a location; empty for
    /// errors about the set itself (`no template "x" associated with template "gotpl"`).
    pub template: String,
    /// Go's message after the location (`nil pointer evaluating interface {}.y`,
    /// `error calling include: template: …`).
    pub message: String,
    /// The `template`/`block` calls and engine re-entries (`include`, `tpl`) that led here,
    /// outermost first, each at its call site.
    pub chain: Vec<Location>,
    /// For `error calling F: …`: the error of a template that F rendered, as data.
    pub cause: Option<Box<Error>>,
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            None if self.template.is_empty() => write!(f, "template: {}", self.message),
            None => write!(f, "template: {}: {}", self.template, self.message),
            Some(at) => write!(
                f,
                "template: {}:{}:{}: executing \"{}\" at <{}>: {}",
                at.file, at.line, at.col, at.template, at.action, self.message
            ),
        }
    }
}

impl std::error::Error for ExecError {}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Error {
        Error::Exec(Box::new(e))
    }
}
