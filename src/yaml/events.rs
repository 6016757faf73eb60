//! The full parser: saphyr's parser events built into values, with anchors and aliases
//! (bounded expansion), merge keys, a depth limit, and optionally the line of every node.

use indexmap::IndexMap;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use super::scalar::{key_string, resolve_scalar};
use super::{ALIAS_EXPANSION_BUDGET, LineTree, MAX_DEPTH, YamlError, check_printable, fast};

pub(super) struct Doc {
    pub(super) value: Value,
    pub(super) lines: Option<LineTree>,
    pub(super) start_line: usize,
}

enum Frame {
    Map {
        map: Map<String, Value>,
        lines: Option<IndexMap<String, LineTree>>,
        key: Option<PendingKey>,
        anchor: usize,
        line: usize,
    },
    Seq {
        items: Vec<Value>,
        lines: Option<Vec<LineTree>>,
        anchor: usize,
        line: usize,
    },
}

struct PendingKey {
    key: String,
    line: usize,
    merge: bool,
    span: Span,
}

pub(super) struct Builder<'o> {
    origin: &'o str,
    track_lines: bool,
    stack: Vec<Frame>,
    anchors: std::collections::HashMap<usize, (Value, Option<LineTree>, usize)>,
    budget: usize,
    /// Try the fast line-based parser first (tests turn it off to compare).
    pub(super) use_fast: bool,
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(count_nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(count_nodes).sum::<usize>(),
        _ => 1,
    }
}

impl<'o> Builder<'o> {
    pub(super) fn new(origin: &'o str, track_lines: bool) -> Self {
        Builder {
            origin,
            track_lines,
            stack: Vec::new(),
            anchors: std::collections::HashMap::new(),
            budget: ALIAS_EXPANSION_BUDGET,
            use_fast: true,
        }
    }

    pub(super) fn run(&mut self, src: &str) -> Result<Vec<Doc>, YamlError> {
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        check_printable(src, self.origin)?;
        if self.use_fast
            && let Ok(docs) = fast::parse(src, self.track_lines)
        {
            return Ok(docs);
        }
        let mut parser = Parser::new_from_str(src);
        let mut docs = Vec::new();
        let mut doc_start = 1usize;
        let mut current: Option<(Value, Option<LineTree>)> = None;
        loop {
            let (ev, span) = match parser.next_event() {
                None => break,
                Some(Ok(x)) => x,
                Some(Err(e)) => return Err(YamlError::from_scan(self.origin, &e)),
            };
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    doc_start = span.start.line().max(1);
                    current = None;
                    self.anchors.clear();
                    self.budget = ALIAS_EXPANSION_BUDGET;
                }
                Event::DocumentEnd => {
                    let (value, lines) = current.take().unwrap_or((Value::Null, None));
                    docs.push(Doc {
                        value,
                        lines,
                        start_line: doc_start,
                    });
                }
                Event::Alias(id) => {
                    let (v, l, n) = match self.anchors.get(&id) {
                        Some(x) => x,
                        None => {
                            return Err(YamlError::at(self.origin, &span, "unknown alias"));
                        }
                    };
                    if *n > self.budget {
                        return Err(YamlError::at(
                            self.origin,
                            &span,
                            format!(
                                "aliases expand to more than {ALIAS_EXPANSION_BUDGET} nodes in \
                                 this document (an alias bomb?); write the data out instead"
                            ),
                        ));
                    }
                    self.budget -= n;
                    let line = span.start.line();
                    let lines = if self.track_lines {
                        Some(l.clone().unwrap_or(LineTree::Leaf(line)))
                    } else {
                        None
                    };
                    self.push_node(v.clone(), lines, span, &mut current)?;
                }
                Event::Scalar(text, style, anchor, tag) => {
                    // Key position?
                    if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                        let k = self.key_from_scalar(&text, style, tag.as_deref(), &span)?;
                        if anchor != 0 {
                            self.anchors
                                .insert(anchor, (Value::String(k.key.clone()), None, 1));
                        }
                        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                            *key = Some(k);
                        }
                        continue;
                    }
                    let v = resolve_scalar(&text, style, tag.as_deref())
                        .map_err(|m| YamlError::at(self.origin, &span, m))?;
                    let lines = self.track_lines.then(|| LineTree::Leaf(span.start.line()));
                    if anchor != 0 {
                        self.anchors.insert(anchor, (v.clone(), lines.clone(), 1));
                    }
                    self.push_node(v, lines, span, &mut current)?;
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                        return Err(YamlError::at(
                            self.origin,
                            &span,
                            "a list or map used as a map key is not supported; keys must be \
                             scalars",
                        ));
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(YamlError::at(
                            self.origin,
                            &span,
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                        ));
                    }
                    let line = span.start.line();
                    let frame = if matches!(ev, Event::SequenceStart(..)) {
                        Frame::Seq {
                            items: Vec::new(),
                            lines: self.track_lines.then(Vec::new),
                            anchor,
                            line,
                        }
                    } else {
                        Frame::Map {
                            map: Map::new(),
                            lines: self.track_lines.then(IndexMap::new),
                            key: None,
                            anchor,
                            line,
                        }
                    };
                    self.stack.push(frame);
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        return Err(YamlError::at(self.origin, &span, "unbalanced collection"));
                    };
                    let (v, lines, anchor) = match frame {
                        Frame::Seq {
                            items,
                            lines,
                            anchor,
                            line,
                        } => (
                            Value::Array(items),
                            lines.map(|items| LineTree::Seq { line, items }),
                            anchor,
                        ),
                        Frame::Map {
                            map,
                            lines,
                            anchor,
                            line,
                            ..
                        } => (
                            Value::Object(map),
                            lines.map(|entries| LineTree::Map { line, entries }),
                            anchor,
                        ),
                    };
                    if anchor != 0 {
                        let n = count_nodes(&v);
                        self.anchors.insert(anchor, (v.clone(), lines.clone(), n));
                    }
                    self.push_node(v, lines, span, &mut current)?;
                }
            }
        }
        if let Some((value, lines)) = current.take() {
            docs.push(Doc {
                value,
                lines,
                start_line: doc_start,
            });
        }
        Ok(docs)
    }

    fn key_from_scalar(
        &self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: &Span,
    ) -> Result<PendingKey, YamlError> {
        let merge = style == ScalarStyle::Plain && tag.is_none() && text == "<<";
        let key = if merge {
            "<<".to_string()
        } else {
            let v = resolve_scalar(text, style, tag)
                .map_err(|m| YamlError::at(self.origin, span, m))?;
            key_string(v).ok_or_else(|| {
                YamlError::at(
                    self.origin,
                    span,
                    "a null map key (`~`, `null` or an empty key) is not supported; quote the \
                     key if you meant the string",
                )
            })?
        };
        Ok(PendingKey {
            key,
            line: span.start.line(),
            merge,
            span: *span,
        })
    }

    /// Attach a completed node to its parent (or make it the document root).
    fn push_node(
        &mut self,
        v: Value,
        lines: Option<LineTree>,
        span: Span,
        current: &mut Option<(Value, Option<LineTree>)>,
    ) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                *current = Some((v, lines));
                Ok(())
            }
            Some(Frame::Seq {
                items, lines: ls, ..
            }) => {
                items.push(v);
                if let (Some(ls), Some(l)) = (ls.as_mut(), lines) {
                    ls.push(l);
                }
                Ok(())
            }
            Some(Frame::Map {
                map,
                lines: ls,
                key,
                ..
            }) => {
                let Some(k) = key.take() else {
                    // A collection or alias in key position.
                    return match v {
                        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                            let ks = key_string(v).ok_or_else(|| {
                                YamlError::at(self.origin, &span, "a null map key is not supported")
                            })?;
                            *key = Some(PendingKey {
                                key: ks,
                                line: span.start.line(),
                                merge: false,
                                span,
                            });
                            Ok(())
                        }
                        _ => Err(YamlError::at(
                            self.origin,
                            &span,
                            "a list or map used as a map key is not supported; keys must be \
                             scalars",
                        )),
                    };
                };
                if k.merge {
                    return merge_into(map, ls.as_mut(), v, lines)
                        .map_err(|m| YamlError::at(self.origin, &k.span, m));
                }
                if let Some(ls) = ls.as_mut() {
                    // Every node under a key is attributed to the key's line.
                    let l = match lines {
                        Some(LineTree::Leaf(_)) | None => LineTree::Leaf(k.line),
                        Some(LineTree::Map { entries, .. }) => LineTree::Map {
                            line: k.line,
                            entries,
                        },
                        Some(LineTree::Seq { items, .. }) => LineTree::Seq {
                            line: k.line,
                            items,
                        },
                    };
                    ls.insert(k.key.clone(), l);
                }
                map.insert(k.key, v);
                Ok(())
            }
        }
    }
}

/// Apply a `<<` merge: keys already present win.
fn merge_into(
    map: &mut Map<String, Value>,
    mut lines: Option<&mut IndexMap<String, LineTree>>,
    v: Value,
    vlines: Option<LineTree>,
) -> Result<(), String> {
    const MSG: &str = "a merge key `<<` needs a map or a list of maps as its value";
    match v {
        Value::Object(src) => {
            let mut src_lines = match vlines {
                Some(LineTree::Map { entries, .. }) => Some(entries),
                _ => None,
            };
            for (k, val) in src {
                if !map.contains_key(&k) {
                    if let Some(ls) = lines.as_deref_mut() {
                        let l = src_lines
                            .as_mut()
                            .and_then(|s| s.shift_remove(&k))
                            .unwrap_or(LineTree::Leaf(0));
                        ls.insert(k.clone(), l);
                    }
                    map.insert(k, val);
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let mut item_lines = match vlines {
                Some(LineTree::Seq { items, .. }) => items.into_iter().map(Some).collect(),
                _ => Vec::new(),
            };
            for (i, item) in items.into_iter().enumerate() {
                if !item.is_object() {
                    return Err(MSG.to_string());
                }
                let il = item_lines.get_mut(i).and_then(Option::take);
                merge_into(map, lines.as_deref_mut(), item, il)?;
            }
            Ok(())
        }
        _ => Err(MSG.to_string()),
    }
}
