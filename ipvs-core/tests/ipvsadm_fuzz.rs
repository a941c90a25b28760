//! No input makes the parsers panic: arbitrary strings and soups of real ipvsadm words, for the
//! command line, rules text and the /proc parsers. Whatever parses also round-trips through the
//! model's ipvsadm notation where that notation exists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ipvs_core::ipvsadm::cmdline::{self, parse, Command, ListFormat, Parser};
use ipvs_core::ipvsadm::rules::{restore, tokenize, CommentMode, RuleSet};
use ipvs_core::ipvsadm::{conn, list, proc, NumericResolver};
use proptest::prelude::*;

const VALUES: &[&str] = &[
    "10.0.0.1:80",
    "10.0.0.1",
    "[2001:db8::1]:80",
    "2001:db8::1",
    "[::1]",
    "0",
    "1",
    "65535",
    "65536",
    "-1",
    "360",
    "rr",
    "sh",
    "mh",
    "sh-port",
    "mh-fallback,mh-port",
    "flag-1",
    ",",
    "master",
    "backup",
    "eth0",
    "224.0.0.81",
    "ff02::1",
    "gue",
    "gre",
    "ipip",
    "sip",
    "--",
    "-",
    "",
    "!#:+",
    "=",
    "4294967295",
    "255.255.255.0",
    "64",
    "1.2.3.4:",
    "[1.2.3.4]:80",
    "#",
];

fn word() -> impl Strategy<Value = String> {
    let long: Vec<String> = cmdline::long_options().collect();
    let short: Vec<String> = cmdline::short_options().collect();
    prop_oneof![
        proptest::sample::select(long),
        proptest::sample::select(short.clone()),
        // Bundles of short options, possibly with a glued argument.
        (proptest::collection::vec(proptest::sample::select(short), 1..4), "[a-z0-9=:.]{0,4}").prop_map(
            |(v, tail)| {
                let mut s = String::from("-");
                for o in v {
                    s.push_str(&o[1..]);
                }
                s + &tail
            }
        ),
        proptest::sample::select(VALUES.to_vec()).prop_map(String::from),
        ".{0,12}",
    ]
}

fn check_command(c: &Command) {
    // A parsed change is printable as an ipvsadm line; a valid one parses back to itself.
    if let Some(op) = c.to_operation() {
        let line = op.to_string();
        if op.validate().is_ok() {
            let words: Vec<&str> = line.split(' ').collect();
            if let Ok(back) = parse(&words) {
                assert_eq!(back.to_operation(), Some(op), "{line}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn cmdline_never_panics_on_word_soups(words in proptest::collection::vec(word(), 0..10)) {
        if let Ok(c) = parse(&words) {
            check_command(&c);
        }
        let _ = Parser::new().posixly_correct(true).parse(&words);
    }

    #[test]
    fn cmdline_never_panics_on_arbitrary_strings(words in proptest::collection::vec(any::<String>(), 0..6)) {
        let _ = parse(&words);
    }

    #[test]
    fn rules_never_panic(text in proptest::collection::vec(prop_oneof![word(), Just("\n".to_string()), Just(" ".to_string()), Just("\r".to_string())], 0..30)) {
        let text = text.join(" ");
        for mode in [CommentMode::Ipvsadm, CommentMode::Restore] {
            let r = restore(&text, mode, &Parser::new());
            for l in &r.lines {
                check_command(&l.command);
            }
        }
        if let Ok(set) = RuleSet::from_text(&text) {
            let _ = list::list_all(&ipvs_core::Info::new(0x010201, 4096), &set.to_statuses(), &ListFormat::default(), &NumericResolver);
        }
    }

    #[test]
    fn tokenizer_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = tokenize(&bytes);
    }

    #[test]
    fn proc_parsers_never_panic(text in ".{0,300}", bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = conn::parse_conn(&text);
        let _ = conn::parse_conn_sync(&text);
        let _ = proc::parse_ip_vs(&text);
        let _ = conn::parse_conn(&format!("{}{}", conn::CONN_HEADER, text));
        let _ = proc::parse_ip_vs(&format!("IP Virtual Server version 1.2.1 (size=4096)\na\nb\n{text}"));
        let _ = conn::list_connections(&bytes, &ListFormat::default(), &NumericResolver);
        let mut with_header = conn::CONN_HEADER.as_bytes().to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = conn::list_connections(&with_header, &ListFormat { persistent_conn: true, ..ListFormat::numeric() }, &NumericResolver);
    }
}
