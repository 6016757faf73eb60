//! JSON is YAML, and values files are often generated as JSON: those are read by serde_json,
//! several times faster and leaner than the YAML parser, with the line of every node found by
//! a scan of the text.

use indexmap::IndexMap;
use serde_json::Value;

use super::LineTree;

/// JSON is YAML, and values files are often generated as JSON: parse those with serde_json,
/// several times faster and leaner than the YAML parser. Anything that is not plain valid JSON
/// returns `None` and takes the YAML path (which also reports errors).
pub(super) fn parse_json(src: &str) -> Option<Value> {
    let first = src
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first()?;
    if *first != b'{' && *first != b'[' {
        return None;
    }
    serde_json::from_str(src).ok()
}

/// Source lines of a document already known to be valid JSON (see [`parse_json`]).
pub(super) fn json_lines(src: &str) -> Option<LineTree> {
    struct Scan<'a> {
        s: &'a str,
        i: usize,
        line: usize,
    }
    impl Scan<'_> {
        fn ws(&mut self) {
            let b = self.s.as_bytes();
            while self.i < b.len() && matches!(b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                if b[self.i] == b'\n' {
                    self.line += 1;
                }
                self.i += 1;
            }
        }
        fn string(&mut self) -> Option<&str> {
            let b = self.s.as_bytes();
            let start = self.i;
            self.i += 1;
            while self.i < b.len() {
                match b[self.i] {
                    b'\\' => self.i += 2,
                    b'"' => {
                        self.i += 1;
                        return self.s.get(start..self.i);
                    }
                    _ => self.i += 1,
                }
            }
            None
        }
        /// The items of an object or array up to `close`, each read by `item`; commas between
        /// them are skipped.
        fn items(
            &mut self,
            close: u8,
            mut item: impl FnMut(&mut Self) -> Option<()>,
        ) -> Option<()> {
            loop {
                self.ws();
                match *self.s.as_bytes().get(self.i)? {
                    c if c == close => {
                        self.i += 1;
                        return Some(());
                    }
                    b',' => self.i += 1,
                    _ => item(self)?,
                }
            }
        }

        fn node(&mut self, depth: usize) -> Option<LineTree> {
            if depth > 512 {
                return None;
            }
            self.ws();
            let b = self.s.as_bytes();
            let line = self.line;
            match *b.get(self.i)? {
                b'{' => {
                    self.i += 1;
                    let mut entries = IndexMap::new();
                    self.items(b'}', |scan| {
                        let raw = scan.string()?;
                        let key: String = serde_json::from_str(raw).ok()?;
                        scan.ws();
                        if *scan.s.as_bytes().get(scan.i)? != b':' {
                            return None;
                        }
                        scan.i += 1;
                        entries.insert(key, scan.node(depth + 1)?);
                        Some(())
                    })?;
                    Some(LineTree::Map { line, entries })
                }
                b'[' => {
                    self.i += 1;
                    let mut items = Vec::new();
                    self.items(b']', |scan| {
                        items.push(scan.node(depth + 1)?);
                        Some(())
                    })?;
                    Some(LineTree::Seq { line, items })
                }
                b'"' => {
                    self.string()?;
                    Some(LineTree::Leaf(line))
                }
                _ => {
                    while self.i < b.len()
                        && !matches!(b[self.i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                    {
                        self.i += 1;
                    }
                    Some(LineTree::Leaf(line))
                }
            }
        }
    }
    let mut scan = Scan {
        s: src,
        i: 0,
        line: 1,
    };
    scan.node(0)
}

#[cfg(test)]
mod tests {
    use super::super::events::Builder;
    use super::super::*;

    #[test]
    fn json_fast_path_matches_yaml_parser() {
        let src = "{\n  \"a\": 1,\n  \"b\": {\"c\": [true, null, \"x\\\"y\"],\n   \"d\": 2.5},\n  \"e\\u0041\": \"yes\"\n}\n";
        let (v, lines) = parse_str_with_lines(src, "f.json").unwrap();
        let mut b = Builder::new("f.json", true);
        let docs = b.run(src).unwrap();
        assert_eq!(v, docs[0].value);
        assert_eq!(lines.line_of(&[PathSeg::Key("a".into())]), Some(2));
        assert_eq!(
            lines.line_of(&[PathSeg::Key("b".into()), PathSeg::Key("d".into())]),
            Some(4)
        );
        assert_eq!(lines.line_of(&[PathSeg::Key("eA".into())]), Some(5));
        assert_eq!(v["eA"], "yes");
        // Not JSON (YAML flow with plain scalars): the YAML parser takes it.
        assert_eq!(parse_str("{a: yes}", "f").unwrap()["a"], true);
    }
}
