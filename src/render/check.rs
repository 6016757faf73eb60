//! Checking rendered output while it is rendered: finished documents go to other threads in
//! batches and are checked to be Kubernetes objects while the engine renders the rest.

use std::sync::Arc;

use rayon::prelude::*;

use super::RenderError;
use crate::manifest::{self, Manifest, ManifestError};

/// Output is handed to the checkers in batches of about this many bytes, cut at `---` lines.
pub(super) const BATCH_BYTES: usize = 256 * 1024;

/// Collects Tera's output and, each time a batch of whole documents is complete, sends it to
/// the checkers while Tera goes on rendering.
pub(super) struct BatchSink {
    buf: Vec<u8>,
    next_batch: usize,
    tx: std::sync::mpsc::Sender<(usize, String)>,
}

struct CheckedBatch {
    index: usize,
    /// Newlines in `text`: the checkers number lines within their batch, and the batches are
    /// renumbered once all are back, which keeps this count off the rendering thread.
    lines: usize,
    text: Arc<String>,
    manifests: Option<Vec<Manifest>>,
}

impl BatchSink {
    /// The byte offset just after the last newline that precedes a `---` separator line.
    fn cut_point(&self) -> Option<usize> {
        let b = &self.buf;
        let mut end = b.len();
        while let Some(pos) = b[..end].windows(4).rposition(|w| w == b"\n---") {
            match b.get(pos + 4) {
                Some(b'\n' | b' ' | b'\t' | b'\r') => return Some(pos + 1),
                _ => end = pos,
            }
        }
        None
    }

    fn dispatch(&mut self, upto: usize) -> std::io::Result<()> {
        // An exact-size copy, and the working buffer keeps its capacity: batches held until the
        // end then carry no growth slack (a quarter of the output at 30,000 objects).
        let batch = self.buf[..upto].to_vec();
        self.buf.drain(..upto);
        let text = String::from_utf8(batch)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        // A closed receiver only means the checkers are gone; the caller reports that.
        let _ = self.tx.send((self.next_batch, text));
        self.next_batch += 1;
        Ok(())
    }
}

impl std::io::Write for BatchSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BATCH_BYTES
            && let Some(cut) = self.cut_point()
        {
            self.dispatch(cut)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn check_batch(source: &Arc<str>, index: usize, text: String) -> CheckedBatch {
    let lines = text.bytes().filter(|&c| c == b'\n').count();
    let text = Arc::new(text);
    let manifests = manifest::split_documents(&text)
        .into_iter()
        .enumerate()
        .map(|(i, (range, line))| manifest::check_document(source, &text, range, line, i + 1).ok())
        .collect();
    CheckedBatch {
        index,
        lines,
        text,
        manifests,
    }
}

/// Renders one template and checks its documents, overlapping the two: batches of finished
/// documents are checked on other threads while Tera renders the rest. On any problem the
/// whole output is checked again in one piece, so errors name exact documents and lines.
/// `render` writes the template's output into the sink it is given; `chart` names the chart in
/// errors.
pub(super) fn render_and_check(
    chart: &str,
    name: &str,
    render: impl FnOnce(&mut BatchSink) -> Result<(), RenderError> + Send,
) -> Result<Vec<Manifest>, RenderError> {
    let source: Arc<str> = Arc::from(name);
    let (tx, rx) = std::sync::mpsc::channel::<(usize, String)>();
    let (rendered, mut batches) = rayon::join(
        move || {
            let mut sink = BatchSink {
                buf: Vec::with_capacity(2 * BATCH_BYTES),
                next_batch: 0,
                tx,
            };
            let r = render(&mut sink);
            let len = sink.buf.len();
            r.and_then(|()| {
                sink.dispatch(len).map_err(|e| RenderError::Engine {
                    chart: chart.to_string(),
                    message: format!("rendered output: {e}"),
                })
            })
        },
        || {
            rx.into_iter()
                .par_bridge()
                .map(|(index, text)| check_batch(&source, index, text))
                .collect::<Vec<CheckedBatch>>()
        },
    );
    rendered?;
    batches.sort_by_key(|b| b.index);
    if batches.iter().all(|b| b.manifests.is_some()) {
        let count = batches
            .iter()
            .map(|b| b.manifests.as_ref().map_or(0, Vec::len))
            .sum();
        let mut all = Vec::with_capacity(count);
        let mut line_base = 0;
        for b in batches {
            all.extend(b.manifests.unwrap_or_default().into_iter().map(|mut m| {
                m.line += line_base;
                m
            }));
            line_base += b.lines;
        }
        return Ok(all);
    }
    let full: String = batches.iter().map(|b| b.text.as_str()).collect();
    check_output(name, full)
}

/// Splits a template's output into documents and checks them in parallel.
pub(super) fn check_output(source: &str, out: String) -> Result<Vec<Manifest>, RenderError> {
    let docs = manifest::split_documents(&out);
    let source: Arc<str> = Arc::from(source);
    let out = Arc::new(out);
    let (source, out) = (&source, &out);
    let checked: Result<Vec<Manifest>, ManifestError> = if docs.len() > 64 {
        docs.into_par_iter()
            .enumerate()
            .map(|(i, (range, line))| manifest::check_document(source, out, range, line, i + 1))
            .collect()
    } else {
        docs.into_iter()
            .enumerate()
            .map(|(i, (range, line))| manifest::check_document(source, out, range, line, i + 1))
            .collect()
    };
    Ok(checked?)
}
