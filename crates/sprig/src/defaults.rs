//! `default`, `empty`, `coalesce`, `all`, `any`, `ternary` (Sprig's emptiness: nil, false, 0,
//! "" and empty collections), and the JSON functions.
//!
//! `default` is on the hot path of every chart: it returns one of its arguments as it is
//! (values are shared, nothing is copied).

use gotemplate::{Param, Value};

use crate::conv::empty;
use crate::json::{self, Style};
use crate::{Registry, arg, bool_arg, err, sig, sig_var, str_arg, string};

const MARSHAL: Style = Style {
    escape_html: true,
    indent: None,
};
const PRETTY: Style = Style {
    escape_html: true,
    indent: Some("  "),
};
const RAW: Style = Style {
    escape_html: false,
    indent: None,
};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("default", sig_var(&[Any], Any), |a| {
        // `default D` alone: Sprig sees no given value.
        Ok(match a.get(1) {
            Some(given) if !empty(given) => given.clone(),
            _ => arg(a, 0).clone(),
        })
    });
    r.add("empty", sig(&[Any]), |a| Ok(Value::Bool(empty(arg(a, 0)))));
    r.add("coalesce", sig_var(&[], Any), |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    r.add("all", sig_var(&[], Any), |a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    r.add("any", sig_var(&[], Any), |a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    r.add("ternary", sig(&[Any, Any, Bool]), |a| {
        Ok(arg(a, if bool_arg(a, 2)? { 0 } else { 1 }).clone())
    });
    r.add("fromJson", sig(&[String]), |a| {
        Ok(json::decode(str_arg(a, 0)?).value)
    });
    r.add("mustFromJson", sig(&[String]), |a| {
        let decoded = json::decode(str_arg(a, 0)?);
        match decoded.error {
            Some(e) => Err(err(e)),
            None => Ok(decoded.value),
        }
    });
    r.add("toJson", sig(&[Any]), |a| {
        Ok(string(json::encode(arg(a, 0), MARSHAL).unwrap_or_default()))
    });
    r.add("mustToJson", sig(&[Any]), |a| {
        json::encode(arg(a, 0), MARSHAL).map(string).map_err(err)
    });
    r.add("toPrettyJson", sig(&[Any]), |a| {
        Ok(string(json::encode(arg(a, 0), PRETTY).unwrap_or_default()))
    });
    r.add("mustToPrettyJson", sig(&[Any]), |a| {
        json::encode(arg(a, 0), PRETTY).map(string).map_err(err)
    });
    // toRawJson panics on what it cannot encode: an error all the same.
    for name in ["toRawJson", "mustToRawJson"] {
        r.add(name, sig(&[Any]), |a| {
            json::encode(arg(a, 0), RAW).map(string).map_err(err)
        });
    }
}
