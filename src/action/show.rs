//! `show chart|values|readme`: a chart's Chart.yaml, values.yaml or README as published, from
//! a directory, an archive, a repository or an OCI registry. Only those files are read, so
//! this works for charts of either kind (charter's and Helm's) without loading the templates.

use std::path::Path;

use super::Error;
use crate::chart::{ArchiveLimits, read_archive};
use crate::oci::RegistrySettings;
use crate::repo::{ChartSource, ChartSpec, Fetcher, Resolver};

/// Which file to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowWhat {
    /// Chart.yaml.
    Chart,
    /// values.yaml.
    Values,
    /// README.md (or README.txt, README; any case), as Helm looks for it.
    Readme,
}

/// A chart to show a file of.
pub struct ShowRequest {
    /// A chart directory or `.tgz`, `REPO/NAME`, an https URL, or `oci://…`.
    pub chart: String,
    /// Version range (or, for `oci://`, an exact version: the tag).
    pub version: Option<String>,
    /// Consider pre-release versions.
    pub devel: bool,
    /// How to reach an OCI registry.
    pub registry: RegistrySettings,
    /// The file.
    pub what: ShowWhat,
}

/// The file's text (empty, with `file` `None`, when the chart has no such file).
pub struct Shown {
    /// The file's path inside the chart, when found.
    pub file: Option<String>,
    /// Its text.
    pub text: String,
}

/// Reads the requested file of a chart.
pub fn show(req: &ShowRequest) -> Result<Shown, Error> {
    let wanted = |name: &str| match req.what {
        ShowWhat::Chart => name == "Chart.yaml",
        ShowWhat::Values => name == "values.yaml",
        ShowWhat::Readme => {
            ["readme.md", "readme.txt", "readme"].contains(&name.to_lowercase().as_str())
        }
    };
    let spec = ChartSpec::parse(&req.chart);
    let (label, files) = match &spec {
        ChartSpec::Path(p) if p.is_dir() => {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(p).map_err(Error::io(format!("{}", p.display())))? {
                let entry = entry.map_err(Error::io(format!("{}", p.display())))?;
                if entry.path().is_file() && wanted(&entry.file_name().to_string_lossy()) {
                    let bytes = std::fs::read(entry.path())
                        .map_err(Error::io(format!("{}", entry.path().display())))?;
                    files.push((entry.file_name().to_string_lossy().into_owned(), bytes));
                }
            }
            (p.display().to_string(), files)
        }
        ChartSpec::Path(p) => {
            let bytes = std::fs::read(p).map_err(Error::io(format!(
                "{}: not a chart directory, .tgz, REPO/NAME, URL or oci:// reference",
                p.display()
            )))?;
            unpack(p.display().to_string(), &bytes)?
        }
        ChartSpec::Oci(reference) => {
            let pulled = resolver(req)?.pull_oci(reference, req.version.as_deref())?;
            unpack(ChartSource::of(&pulled).reference, &pulled.archive)?
        }
        ChartSpec::Repo { repo, name } => {
            let f = resolver(req)?.fetch(repo, name, req.version.as_deref(), req.devel)?;
            unpack(f.url, &f.bytes)?
        }
        ChartSpec::Url(url) => {
            let fetcher = Fetcher::new(resolver(req)?.transport_for_url(url));
            let bytes = fetcher.get(url, ArchiveLimits::default().max_archive_bytes)?;
            unpack(url.clone(), &bytes)?
        }
    };
    let found = files.into_iter().find(|(p, _)| wanted(p));
    let (file, text) = match found {
        Some((p, bytes)) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::Invalid(format!("{label}/{p}: not UTF-8 text")))?;
            (Some(p), text)
        }
        None if req.what == ShowWhat::Chart => {
            return Err(Error::Invalid(format!(
                "{label} has no Chart.yaml: it is not a chart"
            )));
        }
        None => (None, String::new()),
    };
    Ok(Shown { file, text })
}

fn resolver(req: &ShowRequest) -> Result<Resolver, Error> {
    Ok(Resolver::from_env()?.with_registry(req.registry.client_options()))
}

type Files = Vec<(String, Vec<u8>)>;

fn unpack(label: String, archive: &[u8]) -> Result<(String, Files), Error> {
    let files = read_archive(Path::new(&label), archive, &ArchiveLimits::default())?;
    Ok((label, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show_dir(dir: &Path, what: ShowWhat) -> Result<Shown, Error> {
        show(&ShowRequest {
            chart: dir.display().to_string(),
            version: None,
            devel: false,
            registry: RegistrySettings::default(),
            what,
        })
    }

    /// A directory's file is found by name (a README in any case); other files, binary ones
    /// too, are no obstacle; a missing values.yaml is empty, a missing Chart.yaml an error.
    #[test]
    fn a_chart_directory_shows_only_the_file_asked_for() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::write(d.join("Chart.yaml"), "name: a\nversion: 1.0.0\n").unwrap();
        std::fs::write(d.join("ReadMe.MD"), "# a\n").unwrap();
        std::fs::write(d.join("logo.png"), [0xff, 0xfe, 0x00]).unwrap();

        let chart = show_dir(d, ShowWhat::Chart).unwrap();
        assert_eq!(chart.file.as_deref(), Some("Chart.yaml"));
        assert_eq!(chart.text, "name: a\nversion: 1.0.0\n");
        let readme = show_dir(d, ShowWhat::Readme).unwrap();
        assert_eq!(readme.file.as_deref(), Some("ReadMe.MD"));
        assert_eq!(readme.text, "# a\n");
        let values = show_dir(d, ShowWhat::Values).unwrap();
        assert_eq!((values.file, values.text), (None, String::new()));

        std::fs::remove_file(d.join("Chart.yaml")).unwrap();
        let e = show_dir(d, ShowWhat::Chart).err().unwrap().to_string();
        assert!(e.contains("has no Chart.yaml"), "{e}");
    }
}
