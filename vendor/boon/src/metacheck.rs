// A direct check of a schema document against the draft 2020-12 or draft 7 metaschema, as the
// compiled metaschema (format assertions on) would check it. It answers `true` only when the
// document is certainly valid; anything it does not model answers `false` and the caller
// validates against the compiled metaschema, so that errors come from one place only.
//
// It exists because compiling the metaschema costs more than compiling and checking most
// charts' schemas.

use serde_json::Value;

use crate::{formats, util};

/// Whether `v` is certainly valid against the metaschema of draft `version` (2020 or 7).
pub(crate) fn certainly_valid(version: usize, v: &Value) -> bool {
    match version {
        2020 => schema(Draft::V2020, v),
        7 => schema(Draft::V7, v),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Draft {
    V2020,
    V7,
}

fn schema(d: Draft, v: &Value) -> bool {
    match v {
        Value::Bool(_) => true,
        Value::Object(obj) => obj.iter().all(|(k, v)| keyword(d, k, v)),
        _ => false,
    }
}

fn keyword(d: Draft, k: &str, v: &Value) -> bool {
    use Draft::*;
    match (k, d) {
        // 2020-12 also forbids a non-empty fragment: `^[^#]*#?$`.
        ("$id", V2020) => {
            uri_reference(v)
                && v.as_str()
                    .is_some_and(|s| s.find('#').is_none_or(|i| i + 1 == s.len()))
        }
        ("$id" | "$ref", V7) | ("$ref" | "$dynamicRef" | "$recursiveRef", V2020) => {
            uri_reference(v)
        }
        ("$schema", _) => v.is_string() && formats::validate_uri(v).is_ok(),
        ("$anchor" | "$dynamicAnchor" | "$recursiveAnchor", V2020) => anchor(v),
        ("$vocabulary", V2020) => false,
        (
            "$comment" | "title" | "description" | "format" | "contentMediaType"
            | "contentEncoding",
            _,
        ) => v.is_string(),
        ("default" | "const", _) => true,
        ("readOnly" | "writeOnly" | "uniqueItems", _) | ("deprecated", V2020) => v.is_boolean(),
        ("examples", _) => v.is_array(),
        ("enum", V2020) => v.is_array(),
        ("enum", V7) => v.as_array().is_some_and(|a| !a.is_empty() && unique(a)),
        ("multipleOf", _) => v.as_f64().is_some_and(|f| f > 0.0),
        ("maximum" | "exclusiveMaximum" | "minimum" | "exclusiveMinimum", _) => v.is_number(),
        (
            "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties" | "minProperties",
            _,
        )
        | ("maxContains" | "minContains", V2020) => v.is_u64(),
        ("pattern", _) => v.is_string() && formats::validate_regex(v).is_ok(),
        (
            "contains" | "additionalProperties" | "propertyNames" | "if" | "then" | "else" | "not",
            _,
        )
        | ("additionalItems", V7)
        | ("items" | "unevaluatedItems" | "unevaluatedProperties" | "contentSchema", V2020) => {
            schema(d, v)
        }
        ("items", V7) => schema(d, v) || schema_array(d, v),
        ("allOf" | "anyOf" | "oneOf", _) | ("prefixItems", V2020) => schema_array(d, v),
        ("definitions" | "properties", _) | ("$defs" | "dependentSchemas", V2020) => v
            .as_object()
            .is_some_and(|m| m.values().all(|v| schema(d, v))),
        ("patternProperties", _) => v.as_object().is_some_and(|m| {
            m.iter().all(|(k, v)| {
                formats::validate_regex(&Value::String(k.clone())).is_ok() && schema(d, v)
            })
        }),
        ("dependencies", _) => v
            .as_object()
            .is_some_and(|m| m.values().all(|v| schema(d, v) || string_array(v))),
        ("dependentRequired", V2020) => v.as_object().is_some_and(|m| m.values().all(string_array)),
        ("required", _) => string_array(v),
        ("type", _) => match v {
            Value::String(s) => simple_type(s),
            Value::Array(a) => {
                !a.is_empty() && a.iter().all(|t| t.as_str().is_some_and(simple_type)) && unique(a)
            }
            _ => false,
        },
        // Keywords the metaschema does not name are unconstrained.
        _ => true,
    }
}

fn schema_array(d: Draft, v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|v| schema(d, v)))
}

fn string_array(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|a| a.iter().all(Value::is_string) && unique(a))
}

fn unique(a: &Vec<Value>) -> bool {
    a.len() < 2 || util::duplicates(a).is_none()
}

fn simple_type(s: &str) -> bool {
    matches!(
        s,
        "array" | "boolean" | "integer" | "null" | "number" | "object" | "string"
    )
}

fn uri_reference(v: &Value) -> bool {
    v.is_string() && formats::validate_uri_reference(v).is_ok()
}

fn anchor(v: &Value) -> bool {
    let Some(s) = v.as_str() else {
        return false;
    };
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}
