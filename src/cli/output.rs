//! Printing helpers shared by commands.

use std::io::{self, Write};

use super::{CliError, OutputFormat};
use crate::release::ReleaseRecord;
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
        eprintln!("warning: {l}");
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
        "updated": r.last_deployed,
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

/// Prints the revision an install, upgrade or rollback wrote.
pub fn print_record_summary(r: &ReleaseRecord, out: OutputFormat) -> Result<(), CliError> {
    match out {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary_json(r))?),
        OutputFormat::Yaml => print!("{}", crate::yaml::to_yaml(&summary_json(r))),
        OutputFormat::Table => {
            println!("NAME: {}", r.name);
            println!("NAMESPACE: {}", r.namespace);
            println!("REVISION: {}", r.revision);
            println!("STATUS: {}", r.status);
            println!("CHART: {}-{}", r.chart.name, r.chart.version);
            print!("{}", source_line(r));
            println!("DESCRIPTION: {}", r.description);
            if !r.notes.trim().is_empty() {
                println!("\nNOTES:\n{}", r.notes.trim_end());
            }
        }
    }
    Ok(())
}

/// Prints summaries of several revisions as a JSON or YAML list.
pub fn print_summaries(records: &[&ReleaseRecord], out: OutputFormat) -> Result<(), CliError> {
    let v: Vec<_> = records.iter().map(|r| summary_json(r)).collect();
    match out {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        _ => print!("{}", crate::yaml::to_yaml(&serde_json::Value::Array(v))),
    }
    Ok(())
}
