//! Multi-document parsing (rendered manifests): never panics; where the fast line-based parser
//! accepts the input, the full parser agrees exactly (values, line trees, document lines); each
//! document survives a round trip through the emitter.
#![no_main]
use charter_fuzz::yaml;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = yaml::parse_documents_fast(src, true) {
        let full = yaml::parse_documents_reference(src, true);
        assert_eq!(
            full.ok(),
            Some(fast),
            "the fast and full parsers differ on {src:?}"
        );
    }
    let Ok(docs) = yaml::parse_documents(src) else {
        return;
    };
    for (doc, _line) in docs {
        let text = yaml::to_yaml(&doc);
        let back = yaml::parse_str(&text, "roundtrip").expect("to_yaml output parses");
        assert_eq!(back, doc, "round trip changed the document:\n{text}");
    }
});
