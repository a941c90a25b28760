//! The parser's fast path against the full popt-compatible parser
//! (`ipvs_core::ipvsadm::cmdline::Parser::parse_simple` / `parse_full`): on the words of every
//! line of any input, the fast path, when it takes a line, gives exactly what the full parser
//! gives, and `Parser::parse` (fast path first) gives the full parser's command or error; the
//! restore of the whole text gives the lines, skipped errors and end that the full parser gives
//! line by line. The proptest twin is `ipvs-core/tests/ipvsadm_fast_path.rs`.
#![no_main]

use ipvs_core::ipvsadm::cmdline::{CmdError, Command, Parser};
use ipvs_core::ipvsadm::rules::{restore, tokenize, CommentMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsers = [Parser::new(), Parser::new().posixly_correct(true)];
    let lines = tokenize(data);
    for (_, words) in &lines {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        for p in &parsers {
            let full = p.parse_full(&words);
            if let Some(fast) = p.parse_simple(&words) {
                assert_eq!(Ok(&fast), full.as_ref(), "fast path differs on {words:?}");
            }
            assert_eq!(p.parse(&words), full, "parse differs on {words:?}");
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let p = Parser::new();
    let got = restore(text, CommentMode::Ipvsadm, &p);
    // The same restore from the full parser, line by line.
    let (mut n, mut skipped) = (0, 0);
    for (line, words) in &lines {
        let full = p.parse_full(words);
        let ends = match &full {
            Ok(Command::Restore) => {
                let want = CmdError::TryHelp { program: "ipvsadm".into() };
                assert_eq!(got.fatal.as_ref().map(|f| (f.line, &f.error)), Some((*line, &want)));
                true
            }
            Ok(c) => {
                let l = got.lines.get(n).unwrap_or_else(|| panic!("line {line} missing"));
                assert_eq!((l.line, &l.command), (*line, c));
                assert_eq!(l.args, *words);
                n += 1;
                matches!(c, Command::Help | Command::Version)
            }
            Err(e) if e.ends_restore() => {
                assert_eq!(got.fatal.as_ref().map(|f| (f.line, &f.error)), Some((*line, e)));
                true
            }
            Err(e) => {
                let s = got.errors.get(skipped).unwrap_or_else(|| panic!("error of line {line} missing"));
                assert_eq!((s.line, &s.error), (*line, e));
                skipped += 1;
                false
            }
        };
        if ends {
            break;
        }
    }
    assert_eq!((got.lines.len(), got.errors.len()), (n, skipped));
});
