//! Printing helpers shared by commands.

use std::io::{self, Write};

use super::{CliError, OutputFormat};
use crate::release::{ReleaseRecord, Status};
use crate::values::ExplainRow;

/// Writes `values --explain` rows: every leaf, its value, and the layer that set it.
pub fn write_explain<W: Write>(
    out: &mut W,
    rows: &[ExplainRow],
    format: OutputFormat,
) -> io::Result<()> {
    match format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "path": r.path,
                        "value": r.value,
                        "origin": r.origin.to_string(),
                    })
                })
                .collect();
            let v = serde_json::Value::Array(list);
            if format == OutputFormat::Json {
                serde_json::to_writer_pretty(&mut *out, &v)?;
                writeln!(out)
            } else {
                out.write_all(crate::yaml::to_yaml(&v).as_bytes())
            }
        }
        OutputFormat::Table => {
            let shown: Vec<(String, String, String)> = rows
                .iter()
                .map(|r| {
                    let value = serde_json::to_string(&r.value).unwrap_or_default();
                    (r.path.clone(), value, r.origin.to_string())
                })
                .collect();
            let w_path = shown.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
            let w_value = shown
                .iter()
                .map(|r| r.1.chars().count().min(48))
                .max()
                .unwrap_or(5)
                .max(5);
            writeln!(out, "{:<w_path$}  {:<w_value$}  FROM", "PATH", "VALUE")?;
            for (p, v, o) in shown {
                let v = if v.chars().count() > 48 {
                    format!("{}…", v.chars().take(47).collect::<String>())
                } else {
                    v
                };
                writeln!(out, "{p:<w_path$}  {v:<w_value$}  {o}")?;
            }
            Ok(())
        }
    }
}

/// Prints data as pretty JSON, or as YAML for any other format.
pub fn print_data<T: serde::Serialize>(format: OutputFormat, data: &T) -> Result<(), CliError> {
    let value = serde_json::to_value(data)?;
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
        }
        _ => out.write_all(crate::yaml::to_yaml(&value).as_bytes())?,
    }
    Ok(())
}

/// Prints rows as aligned columns (the last column is not padded).
pub fn print_table<W: Write>(
    out: &mut W,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |out: &mut W, cells: Vec<&str>| -> std::io::Result<()> {
        let last = cells.len() - 1;
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            s.push_str(c);
            if i < last {
                s.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(out, header.to_vec())?;
    for r in rows {
        line(out, r.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

/// Prints warnings on stderr.
pub fn warn(lines: &[String]) {
    for l in lines {
        say!("warning: {l}");
    }
}

/// The actions' warnings, printed on stderr once each (a deploy tree's targets share layers,
/// and values are merged again where a message needs line numbers).
pub fn warnings() -> crate::action::Warnings {
    static SEEN: std::sync::Mutex<Option<std::collections::HashSet<String>>> =
        std::sync::Mutex::new(None);
    crate::action::Warnings::to(|w| {
        if SEEN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Default::default)
            .insert(w.to_string())
        {
            say!("warning: {w}");
        }
    })
}

/// When a revision last changed: its uninstall for an uninstalled one, else its deploy.
pub fn updated(r: &ReleaseRecord) -> &str {
    match (&r.status, &r.deleted) {
        (Status::Uninstalled, Some(deleted)) => deleted,
        _ => &r.last_deployed,
    }
}

/// A timestamp for a table: whole seconds in UTC (`2026-11-30T13:34:18Z`), so the column keeps
/// its width; as stored when it does not parse.
pub fn seconds(stamp: &str) -> String {
    match stamp.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => stamp.to_string(),
    }
}

/// A revision's summary as JSON/YAML show it.
pub fn summary_json(r: &ReleaseRecord) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": r.name,
        "namespace": r.namespace,
        "revision": r.revision,
        "status": r.status,
        "chart": format!("{}-{}", r.chart.name, r.chart.version),
        "appVersion": r.chart.app_version,
        "updated": updated(r),
        "description": r.description,
        "notes": r.notes,
    });
    if let Some(s) = &r.chart.source {
        v["chartSource"] = serde_json::json!({"reference": s.reference, "digest": s.digest});
    }
    v
}

/// `SOURCE: oci://…:TAG@sha256:…` for a chart pulled from a registry, else nothing.
pub fn source_line(r: &ReleaseRecord) -> String {
    match &r.chart.source {
        Some(s) => format!("SOURCE: {}@{}\n", s.reference, s.digest),
        None => String::new(),
    }
}

/// Prints the revision an install, upgrade or rollback wrote; `rolled_back_to` for a
/// rollback, which does not print the notes it copied (they were rendered for the revision it
/// returns to, and would say "installed" or "upgraded to revision N").
pub fn print_record_summary(
    r: &ReleaseRecord,
    rolled_back_to: Option<u64>,
    out: OutputFormat,
) -> Result<(), CliError> {
    match out {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&summary_json(r))?)?,
        OutputFormat::Yaml => out!("{}", crate::yaml::to_yaml(&summary_json(r)))?,
        OutputFormat::Table => {
            outln!("NAME: {}", r.name)?;
            outln!("NAMESPACE: {}", r.namespace)?;
            outln!("REVISION: {}", r.revision)?;
            outln!("STATUS: {}", r.status)?;
            outln!("CHART: {}-{}", r.chart.name, r.chart.version)?;
            out!("{}", source_line(r))?;
            outln!("DESCRIPTION: {}", r.description)?;
            match rolled_back_to {
                Some(to) => outln!(
                    "\nrelease \"{}\" rolled back to revision {to} (as revision {})",
                    r.name,
                    r.revision
                )?,
                None if !r.notes.trim().is_empty() => outln!("\nNOTES:\n{}", r.notes.trim_end())?,
                None => {}
            }
        }
    }
    Ok(())
}

/// Prints summaries of several revisions as a JSON or YAML list.
pub fn print_summaries(records: &[&ReleaseRecord], out: OutputFormat) -> Result<(), CliError> {
    let v: Vec<_> = records.iter().map(|r| summary_json(r)).collect();
    match out {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&v)?)?,
        _ => out!("{}", crate::yaml::to_yaml(&serde_json::Value::Array(v)))?,
    }
    Ok(())
}
