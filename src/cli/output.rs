//! Printing helpers shared by commands.

use std::io::{self, Write};

use super::OutputFormat;
use crate::manifest::Manifest;
use crate::values::ExplainRow;

/// Writes manifests as a YAML stream, each preceded by its `# Source:` line.
pub fn write_manifests<W: Write>(out: &mut W, objects: &[&Manifest]) -> io::Result<()> {
    for m in objects {
        out.write_all(b"---\n# Source: ")?;
        out.write_all(m.source.as_bytes())?;
        out.write_all(b"\n")?;
        out.write_all(m.text().as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

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
