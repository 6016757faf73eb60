//! A set of templates parsed together, executed by name: Helm parses every file of a chart
//! into one set, so a `define` in one file serves `include`s in all of them.

use std::collections::HashMap;
use std::rc::Rc;

use crate::ast::Tree;
use crate::error::{Error, ExecError, ParseError};
use crate::func::FuncMap;
use crate::value::Value;

/// What a field or key lookup on a map gives when the key is absent: Go's `missingkey` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// "no value": prints `<no value>`, and a field of it is no error.
    #[default]
    Default,
    /// The map element type's zero value (nil for `interface {}`): what Helm uses; a field of
    /// it is the error "nil pointer evaluating interface {}.x".
    Zero,
    /// The error "map has no entry for key". Helm's `--strict` linting.
    Error,
}

/// Execution options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub missing_key: MissingKey,
    /// Nested `template`/`block` calls allowed (Go: 100000); deeper is the error "exceeded
    /// maximum template depth". Re-entries through functions (`include`) count towards the
    /// stack but start Go's count afresh, as in Go.
    pub max_depth: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            missing_key: MissingKey::Default,
            max_depth: 100_000,
        }
    }
}

/// Templates by name, with the functions they may call. Parse once, execute many times.
pub struct TemplateSet {
    /// The set's own name, as Go's root template has one (Helm: `gotpl`); errors about unknown
    /// templates name it.
    pub(crate) name: String,
    pub(crate) funcs: FuncMap,
    pub(crate) options: Options,
    pub(crate) templates: HashMap<String, Rc<Tree>>,
}

impl TemplateSet {
    /// An empty set called `name` whose templates may call `funcs` and the built-ins.
    pub fn new(name: impl Into<String>, funcs: FuncMap) -> TemplateSet {
        TemplateSet {
            name: name.into(),
            funcs,
            options: Options::default(),
            templates: HashMap::new(),
        }
    }

    pub fn options(&self) -> Options {
        self.options
    }

    pub fn set_options(&mut self, options: Options) {
        self.options = options;
    }

    pub fn funcs(&self) -> &FuncMap {
        &self.funcs
    }

    /// The functions, to add to: as in Go, a name must be there before a text calling it is
    /// parsed ("function "x" not defined" otherwise).
    pub fn funcs_mut(&mut self) -> &mut FuncMap {
        &mut self.funcs
    }

    /// Parses `text` as the template `name`, adding it and every template it defines. A later
    /// definition of a name replaces an earlier one, unless it is empty (only white space and
    /// comments), as Go's `AddParseTree` does.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let trees = self.parse_trees(name, text)?;
        for tree in trees {
            associate(&mut self.templates, |_| false, Rc::new(tree));
        }
        Ok(())
    }

    pub(crate) fn parse_trees(&self, name: &str, text: &str) -> Result<Vec<Tree>, ParseError> {
        let funcs = &self.funcs;
        crate::parse::parse(name, text, &|f| {
            funcs.contains(f) || crate::builtins::is_builtin(f)
        })
    }

    /// Whether a template of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// The names of all templates, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    /// Executes the template `name` with `data` as dot and `$`.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_into(name, data, &mut out)?;
        Ok(out)
    }

    /// Executes into `out`; on error, `out` holds what was written before it.
    pub fn execute_into(&self, name: &str, data: &Value, out: &mut String) -> Result<(), Error> {
        let Some(tree) = self.templates.get(name) else {
            return Err(self.no_template(name));
        };
        let tree = tree.clone();
        crate::exec::execute(
            self,
            None,
            &tree,
            data.clone(),
            out,
            &crate::exec::Entry::top(),
        )
    }

    pub(crate) fn no_template(&self, name: &str) -> Error {
        Error::from(ExecError {
            at: None,
            template: String::new(),
            message: format!(
                "no template {} associated with template {}",
                crate::gofmt::quote(name, false),
                crate::gofmt::quote(&self.name, false)
            ),
            chain: Vec::new(),
            cause: None,
        })
    }
}

/// Go's `associate`: an empty tree does not replace an existing template.
pub(crate) fn associate(
    map: &mut HashMap<String, Rc<Tree>>,
    exists_elsewhere: impl Fn(&str) -> bool,
    tree: Rc<Tree>,
) {
    let exists = map.contains_key(&tree.name) || exists_elsewhere(&tree.name);
    if exists && tree.is_empty() {
        return;
    }
    map.insert(tree.name.clone(), tree);
}
