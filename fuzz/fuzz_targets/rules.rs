//! `ipvsadm -R` rules text (`ipvs_core::ipvsadm::rules`): the tokenizer on any bytes, the
//! restore reader in both comment modes and `RuleSet::from_text` on any text. Never panics;
//! a rule set that reads saves (`-S -n`) to text that reads back to the same rule set.
#![no_main]

use ipvs_core::ipvsadm::cmdline::Parser;
use ipvs_core::ipvsadm::rules::{restore, tokenize, CommentMode, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A word may be empty: a run of NUL bytes is a word, and C reads it as "".
    let mut last = 0;
    for (line, words) in tokenize(data) {
        assert!(line > last && !words.is_empty(), "line {line} after {last}: {words:?}");
        last = line;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parser = Parser::new();
    for mode in [CommentMode::Ipvsadm, CommentMode::Restore] {
        let r = restore(text, mode, &parser);
        assert!(r.lines.windows(2).all(|w| w[0].line < w[1].line), "lines out of order");
    }
    if let Ok(set) = RuleSet::from_text(text) {
        let saved = set.save(true);
        let again =
            RuleSet::from_text(&saved).unwrap_or_else(|e| panic!("saved rules do not read: {e}\n{saved}"));
        assert_eq!(again.save(true), saved, "save(read(save(x))) != save(x)");
    }
});
