//! JSON Schema validation of the merged values (boon: draft 2020-12 by default, or the draft
//! the schema's `$schema` names, e.g. draft 7). Each error names the key path, the rule, and
//! the layer that set the offending value.
use std::fmt;
use std::path::{Path, PathBuf};

use boon::{Compiler, Draft, ErrorKind, InstanceToken, Schemas, ValidationError};
use serde_json::Value;

use super::{Origin, Resolved};
use crate::yaml::{PathSeg, path_to_string};

/// One schema violation.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    /// The key path of the offending value (`a.b[2].c`; for a missing required property, the
    /// property's path). Empty for the root.
    pub path: String,
    /// The path as segments.
    pub segments: Vec<PathSeg>,
    /// The schema keyword broken (`type`, `required`, `minimum`, ...).
    pub keyword: String,
    /// What the schema expected.
    pub message: String,
    /// The layer that set the offending value; `None` when the offending object is the whole
    /// values map (e.g. a missing top-level required property).
    pub origin: Option<Origin>,
}

/// Schema validation failure.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaErrors {
    /// The schema itself is invalid or could not be compiled.
    Invalid {
        /// The schema file.
        schema_file: PathBuf,
        /// Why.
        message: String,
    },
    /// The values break the schema.
    Violations {
        /// The schema file.
        schema_file: PathBuf,
        /// Every violation, in document order.
        errors: Vec<SchemaError>,
    },
}

impl fmt::Display for SchemaErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaErrors::Invalid {
                schema_file,
                message,
            } => write!(
                f,
                "{}: invalid JSON Schema: {message}",
                schema_file.display()
            ),
            SchemaErrors::Violations {
                schema_file,
                errors,
            } => {
                write!(
                    f,
                    "the values do not match the schema {} ({} error{}):",
                    schema_file.display(),
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                )?;
                for e in errors {
                    let path = if e.path.is_empty() {
                        "(the values)"
                    } else {
                        e.path.as_str()
                    };
                    write!(f, "\n  - {path}: {} [{}]", e.message, e.keyword)?;
                    match &e.origin {
                        Some(o) => write!(f, "; set by {o}")?,
                        None => write!(f, "; required by {}", schema_file.display())?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SchemaErrors {}

/// Validate the merged values against a chart's `values.schema.json` (already parsed).
pub fn validate(
    schema_file: &Path,
    schema: &Value,
    resolved: &Resolved,
) -> Result<(), SchemaErrors> {
    validate_scoped(schema_file, schema, resolved, &[])
}

/// Validate the values at `scope` (a subchart's key path, as Helm validates each subchart's
/// section against the subchart's own schema).
pub fn validate_scoped(
    schema_file: &Path,
    schema: &Value,
    resolved: &Resolved,
    scope: &[String],
) -> Result<(), SchemaErrors> {
    let invalid = |message: String| SchemaErrors::Invalid {
        schema_file: schema_file.to_path_buf(),
        message,
    };
    let mut instance = &resolved.values;
    for s in scope {
        instance = instance.get(s).unwrap_or(&Value::Null);
    }
    let empty = Value::Object(serde_json::Map::new());
    if instance.is_null() {
        instance = &empty;
    }
    let mut compiler = Compiler::new();
    compiler.set_default_draft(Draft::V2020_12);
    let loc = std::path::absolute(schema_file)
        .unwrap_or_else(|_| schema_file.to_path_buf())
        .display()
        .to_string();
    compiler
        .add_resource(&loc, schema.clone())
        .map_err(|e| invalid(e.to_string()))?;
    let mut schemas = Schemas::new();
    let idx = compiler
        .compile(&loc, &mut schemas)
        .map_err(|e| invalid(e.to_string()))?;
    let Err(err) = schemas.validate(instance, idx) else {
        return Ok(());
    };
    let mut leaves = Vec::new();
    collect(&err, &mut leaves);
    let scope_segs: Vec<PathSeg> = scope.iter().map(|s| PathSeg::Key(s.clone())).collect();
    let mut errors = Vec::new();
    for e in leaves {
        let mut segs = scope_segs.clone();
        segs.extend(e.instance_location.tokens.iter().map(|t| match t {
            InstanceToken::Prop(p) => PathSeg::Key(p.to_string()),
            InstanceToken::Item(i) => PathSeg::Index(*i),
        }));
        let keyword = e
            .kind
            .keyword_path()
            .map(|k| k.keyword.to_string())
            .or_else(|| e.schema_url.rsplit('/').next().map(str::to_string))
            .unwrap_or_default();
        let origin_of = |p: &[PathSeg]| -> Option<Origin> {
            (!p.is_empty()).then(|| resolved.provenance.origin_of(p))
        };
        match &e.kind {
            ErrorKind::Required { want } => {
                for prop in want {
                    let mut p = segs.clone();
                    p.push(PathSeg::Key((*prop).to_string()));
                    errors.push(SchemaError {
                        path: path_to_string(&p),
                        keyword: keyword.clone(),
                        message: format!(
                            "the required property `{prop}` is missing; set it in a values \
                             layer"
                        ),
                        origin: origin_of(&segs),
                        segments: p,
                    });
                }
            }
            ErrorKind::AdditionalProperties { got } => {
                for prop in got {
                    let mut p = segs.clone();
                    p.push(PathSeg::Key(prop.to_string()));
                    errors.push(SchemaError {
                        path: path_to_string(&p),
                        // boon names this keyword `additionalProperty`.
                        keyword: "additionalProperties".to_string(),
                        message: format!(
                            "`{prop}` is not a property the schema allows here (a typo?)"
                        ),
                        origin: origin_of(&p),
                        segments: p,
                    });
                }
            }
            kind => errors.push(SchemaError {
                path: path_to_string(&segs),
                keyword,
                message: kind.to_string(),
                origin: origin_of(&segs),
                segments: segs,
            }),
        }
    }
    errors.dedup();
    Err(SchemaErrors::Violations {
        schema_file: schema_file.to_path_buf(),
        errors,
    })
}

/// The leaf errors (the ones without causes) of boon's error tree.
fn collect<'a, 's, 'v>(e: &'a ValidationError<'s, 'v>, out: &mut Vec<&'a ValidationError<'s, 'v>>) {
    if e.causes.is_empty() {
        out.push(e);
    } else {
        for c in &e.causes {
            collect(c, out);
        }
    }
}
