//! `create`: a new charter chart — a Deployment and a Service with their values, a schema and
//! NOTES — that lints clean and installs as it is, to be edited from there.

use std::path::{Path, PathBuf};

use super::Error;

/// The scaffold's files, `NAME` standing for the chart's name.
const FILES: &[(&str, &str)] = &[
    ("Chart.yaml", include_str!("scaffold/Chart.yaml")),
    ("values.yaml", include_str!("scaffold/values.yaml")),
    (
        "values.schema.json",
        include_str!("scaffold/values.schema.json"),
    ),
    (".chartignore", include_str!("scaffold/.chartignore")),
    (
        "templates/_helpers.tera",
        include_str!("scaffold/templates/_helpers.tera"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("scaffold/templates/deployment.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("scaffold/templates/service.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("scaffold/templates/NOTES.txt"),
    ),
];

/// Writes a new chart into `dir`, named after its last path component; refuses a name that is
/// not a DNS-1123 label and a directory that exists and is not empty (nothing is overwritten).
/// Returns the files written.
pub fn run(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !crate::chart::is_dns1123_label(name) {
        return Err(Error::Invalid(format!(
            "`{name}` cannot name a chart: use lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (the last component of {} is the chart's name)",
            dir.display()
        )));
    }
    let io = |p: &Path, e: std::io::Error| Error::Invalid(format!("{}: {e}", p.display()));
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(Error::Invalid(format!(
            "{} already exists and is not empty: charter create writes a new chart only; choose another directory or remove it",
            dir.display()
        )));
    }
    let mut written = Vec::new();
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, text.replace("NAME", name)).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_chart_loads_and_renders_under_its_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("web-app");
        let files = run(&dir).unwrap();
        assert_eq!(files.len(), FILES.len());
        let chart = crate::chart::Chart::load(&dir).unwrap();
        assert_eq!(chart.meta.name, "web-app");
        assert!(chart.schema.is_some());
        assert_eq!(chart.renderable_templates().count(), 2);
    }

    #[test]
    fn refuses_a_bad_name_and_a_directory_in_use() {
        let tmp = tempfile::tempdir().unwrap();
        let err = run(&tmp.path().join("Web_App")).unwrap_err().to_string();
        assert!(err.contains("`Web_App` cannot name a chart"), "{err}");
        let used = tmp.path().join("used");
        std::fs::create_dir_all(&used).unwrap();
        std::fs::write(used.join("keep.txt"), "mine").unwrap();
        let err = run(&used).unwrap_err().to_string();
        assert!(err.contains("already exists and is not empty"), "{err}");
        assert_eq!(
            std::fs::read_to_string(used.join("keep.txt")).unwrap(),
            "mine"
        );
        // An empty directory is fine.
        let empty = tmp.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(run(&empty).is_ok());
    }
}
