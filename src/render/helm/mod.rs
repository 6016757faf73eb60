//! The Helm engine, for Helm charts (`apiVersion: v2`/`v1`): what `helm template` (Helm v4.1.4)
//! does between the coalesced values and the manifest, on `gotemplate`, `sprig` and `goyaml`.
//!
//! 1. Every template of the chart and of its (processed: aliased, enabled) subcharts is parsed
//!    into one template set, named by its path (`web/templates/x.yaml`,
//!    `web/charts/db/templates/y.yaml`), deepest paths first and then by name in descending
//!    order, so that a `define` of the top chart wins over a subchart's. A library chart brings
//!    only its partials (`_*`).
//! 2. Each template but the partials is executed (`missingkey=zero`) in that order with its
//!    chart's top-level object ([`objects`]): `.Values` (the chart's own section, shared with its
//!    parent's `.Values.<name>`), `.Release`, `.Chart`, `.Capabilities`, `.Files`,
//!    `.Template`, `.Subcharts`. `<no value>` is removed from the output.
//! 3. NOTES.txt files are set aside (the top chart's is the release's notes); the rest is cut
//!    into documents ([`manifests`]); hooks (`helm.sh/hook`) are kept apart from the objects.
//!
//! Templates execute on one thread: template values are reference-counted and shared between
//! templates, as Helm's are (a `set` on `.Values` in one template is seen by the next). The
//! documents are read on a second thread meanwhile ([`Reader`]): CRD files while the templates
//! parse, each template's output while the next one executes. Errors are reported as the
//! sequential order would meet them: a CRD file's first, then parsing and execution, then the
//! documents of the outputs in name order.

mod errors;
mod funcs;
mod glob;
mod manifests;
mod objects;

pub use errors::HelmTemplateError;
pub use manifests::split_manifests;
pub use objects::HELM_VERSION;

use std::borrow::Cow;
use std::sync::mpsc;

use gotemplate::{List, Map, MissingKey, Options, TemplateSet, Value};

use super::{ReleaseInfo, RenderError, RenderOptions, Rendered, check_kube_version};
use crate::chart::{Chart, ChartType, SourceFile, is_partial};
use crate::manifest::{self, Manifest, ManifestError};

/// The Kubernetes version Helm v4.1.4 renders for when no cluster and no `--kube-version` say
/// otherwise.
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The API versions Helm v4.1.4 assumes offline (client-go v0.35's scheme plus the
/// apiextensions groups), in Helm's order.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// Converts JSON values to template values as Helm holds them: a float64 stays a float64, an
/// integer is an int64 (only `--set` makes those, see `values::Numbers`).
pub(crate) fn to_go(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::Int64(i),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::List(List::new(a.iter().map(to_go).collect())),
        serde_json::Value::Object(m) => Value::Map(Map::from_entries(
            m.iter().map(|(k, v)| (k.clone(), to_go(v))).collect(),
        )),
    }
}

/// One template file to parse, with the top-level object its chart gives it.
struct Entry<'a> {
    name: String,
    source: &'a SourceFile,
    /// The chart's top-level object (its `next` map in Helm).
    top: Map,
    base_path: Value,
}

pub(super) fn render(
    chart: &Chart,
    values: Cow<'_, serde_json::Value>,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    if chart.meta.chart_type == ChartType::Library {
        return Err(RenderError::Engine {
            chart: chart.display_path.clone(),
            message: "library charts are not installable: this chart (type: library) only provides partials to the charts that depend on it; render a chart that uses it".into(),
        });
    }
    check_kube_version(chart, &opts.capabilities)?;
    let release = opts
        .release
        .clone()
        .unwrap_or_else(|| ReleaseInfo::install("release-name", "default"));
    let mut api_versions: Vec<String> = if opts.capabilities.from_cluster {
        Vec::new()
    } else {
        DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect()
    };
    api_versions.extend(opts.capabilities.api_versions.iter().cloned());
    let shared = Shared {
        release: objects::release_map(&release),
        capabilities: Value::object(objects::Capabilities::new(
            &opts.capabilities,
            &api_versions,
        )),
    };
    let root_values = match to_go(&values) {
        Value::Map(m) => m.as_named("common.Values"),
        _ => Map::named("common.Values", Default::default()),
    };
    drop(values);

    let mut entries = Vec::new();
    let mut crd_files = Vec::new();
    collect(
        chart,
        true,
        root_values,
        &shared,
        &mut entries,
        &mut crd_files,
    );
    // Helm's parse (and execution) order: more path segments first, then names descending.
    entries.sort_by(|a, b| {
        let depth = |s: &str| s.matches('/').count();
        (depth(&b.name), b.name.as_str()).cmp(&(depth(&a.name), a.name.as_str()))
    });

    std::thread::scope(|scope| {
        let mut sink = Sink::start(scope);
        for (name, source) in crd_files {
            sink.send(Job::Crd(name, &source.content));
        }
        let executed = execute(chart, &entries, opts, &mut sink);
        let read = sink.finish();
        // A CRD file is read before any template is parsed: its error comes first.
        let crds = read.crds?;
        let notes = executed?;
        let mut files = read.files;
        // Helm sorts the files by name before reading their documents.
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut manifests = Vec::new();
        let mut hooks = Vec::new();
        for (_, docs) in files {
            for doc in docs? {
                match doc {
                    manifests::Doc::Object(m) => manifests.push(m),
                    manifests::Doc::Hook(h) => hooks.push(h),
                    manifests::Doc::Skip => {}
                }
            }
        }
        manifest::sort_for_install(&mut manifests);
        // Helm orders hooks by kind too (stable), before any weight: `template` prints them so.
        hooks.sort_by_key(|h| manifest::install_rank(&h.manifest.header.kind));
        Ok(Rendered {
            manifests,
            crds,
            notes,
            generated: Default::default(),
            hooks,
        })
    })
}

/// Parses and executes the templates in Helm's order, handing each output but NOTES.txt to
/// `sink`; returns the release's notes (the top chart's NOTES.txt, when asked for).
fn execute(
    chart: &Chart,
    entries: &[Entry<'_>],
    opts: &RenderOptions,
    sink: &mut Sink<'_, '_>,
) -> Result<Option<String>, RenderError> {
    let mut set = TemplateSet::new("gotpl", funcs::funcs(opts.lookup.clone()));
    set.set_options(Options {
        missing_key: MissingKey::Zero,
        ..Options::default()
    });
    for e in entries {
        set.parse(&e.name, &e.source.content)
            .map_err(|err| errors::parse_error(&entries_source(entries), err))?;
    }

    let notes_name = format!("{}/templates/NOTES.txt", chart.display_path);
    let mut notes = None;
    for e in entries {
        if is_partial(&e.name) {
            continue;
        }
        let template = Map::named("common.Values", Default::default());
        template.insert("Name", Value::from(e.name.as_str()));
        template.insert("BasePath", e.base_path.clone());
        e.top.insert("Template", Value::Map(template));
        let out = set
            .execute(&e.name, &Value::Map(e.top.clone()))
            .map_err(|err| errors::exec_error(&entries_source(entries), err))?;
        let out = if out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        };
        if e.name.ends_with("NOTES.txt") {
            if e.name == notes_name && opts.notes {
                notes = Some(out);
            }
            continue;
        }
        sink.send(Job::Output(e.name.clone(), out));
    }
    Ok(notes)
}

/// Work for the [`Reader`]: a CRD file (name, text), or a template's output (name, text).
enum Job<'a> {
    Crd(String, &'a str),
    Output(String, String),
}

/// Reads the documents of CRD files and template outputs, in the order it is given them.
struct Reader {
    /// The CRD objects, or the first error of a CRD file (nothing is read after it).
    crds: Result<Vec<Manifest>, ManifestError>,
    /// Each non-empty output's documents, or its first document error.
    files: Vec<(String, Result<Vec<manifests::Doc>, ManifestError>)>,
}

impl Reader {
    fn new() -> Self {
        Reader {
            crds: Ok(Vec::new()),
            files: Vec::new(),
        }
    }

    fn take(&mut self, job: Job<'_>) {
        let Ok(crds) = &mut self.crds else {
            return;
        };
        match job {
            Job::Crd(name, text) => {
                for (i, doc) in manifests::split_manifests(text).into_iter().enumerate() {
                    match manifests::read_doc(&name, i + 1, doc) {
                        Ok(manifests::Doc::Object(m)) => crds.push(m),
                        Ok(_) => {}
                        Err(e) => {
                            self.crds = Err(e);
                            return;
                        }
                    }
                }
            }
            Job::Output(name, text) => {
                if text.trim().is_empty() {
                    return;
                }
                let docs = manifests::split_manifests(&text)
                    .into_iter()
                    .enumerate()
                    .map(|(i, doc)| manifests::read_doc(&name, i + 1, doc))
                    .collect();
                self.files.push((name, docs));
            }
        }
    }
}

/// Where jobs go: a reader thread, or (without a thread to be had) a reader on this one.
enum Sink<'scope, 'a> {
    Thread(
        mpsc::Sender<Job<'a>>,
        std::thread::ScopedJoinHandle<'scope, Reader>,
    ),
    Inline(Reader),
}

impl<'scope, 'a> Sink<'scope, 'a> {
    fn start<'env>(scope: &'scope std::thread::Scope<'scope, 'env>) -> Self
    where
        'a: 'scope,
    {
        let (tx, rx) = mpsc::channel::<Job<'a>>();
        let thread = std::thread::Builder::new()
            .name("manifests".into())
            .spawn_scoped(scope, move || {
                let mut reader = Reader::new();
                for job in rx {
                    reader.take(job);
                }
                reader
            });
        match thread {
            Ok(handle) => Sink::Thread(tx, handle),
            Err(_) => Sink::Inline(Reader::new()),
        }
    }

    fn send(&mut self, job: Job<'a>) {
        match self {
            Sink::Thread(tx, _) => {
                // The reader only stops with the channel: a send cannot fail before `finish`.
                let _ = tx.send(job);
            }
            Sink::Inline(reader) => reader.take(job),
        }
    }

    /// Waits for the reader to read everything sent.
    fn finish(self) -> Reader {
        match self {
            Sink::Thread(tx, handle) => {
                drop(tx);
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
            Sink::Inline(reader) => reader,
        }
    }
}

/// What every chart's top-level object shares.
struct Shared {
    release: Value,
    capabilities: Value,
}

/// Helm's `recAllTpls`: the templates of `chart` and its subcharts, each with its chart's
/// top-level object, and the CRD files (by name) in the same order; returns that object (a
/// parent's `.Subcharts.<name>`).
fn collect<'a>(
    chart: &'a Chart,
    is_root: bool,
    values: Map,
    shared: &Shared,
    out: &mut Vec<Entry<'a>>,
    crds: &mut Vec<(String, &'a SourceFile)>,
) -> Map {
    let subcharts = Map::new();
    let top = Map::new();
    top.insert("Chart", objects::chart_map(chart, is_root));
    top.insert("Files", Value::object(objects::Files::of(chart)));
    top.insert("Release", shared.release.clone());
    top.insert("Capabilities", shared.capabilities.clone());
    top.insert("Values", Value::Map(values.clone()));
    top.insert("Subcharts", Value::Map(subcharts.clone()));
    for sub in &chart.subcharts {
        let sub_values = match values.get(&sub.meta.name) {
            Some(Value::Map(m)) => m.as_named("common.Values"),
            _ => Map::named("common.Values", Default::default()),
        };
        let sub_top = collect(sub, false, sub_values, shared, out, crds);
        subcharts.insert(sub.meta.name.clone(), Value::Map(sub_top));
    }
    let base_path = Value::from(format!("{}/templates", chart.display_path));
    let library = chart.meta.chart_type == ChartType::Library;
    for t in &chart.templates {
        if library && !is_partial(&t.path) {
            continue;
        }
        out.push(Entry {
            name: format!("{}/{}", chart.display_path, t.path),
            source: t,
            top: top.clone(),
            base_path: base_path.clone(),
        });
    }
    for crd in &chart.crds {
        crds.push((format!("{}/{}", chart.display_path, crd.path), crd));
    }
    top
}

/// The template sources by name, for error excerpts.
fn entries_source<'a>(entries: &'a [Entry<'a>]) -> impl Fn(&str) -> Option<&'a str> + 'a {
    move |name: &str| {
        entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.source.content.as_str())
    }
}
