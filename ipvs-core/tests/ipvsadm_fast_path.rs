//! The parser's fast path (`Parser::parse_simple`, for lines as `ipvsadm -S` writes them)
//! against the full popt-compatible parser (`Parser::parse_full`): for every input both give
//! the same command or the same error. The inputs are lines of `ipvsadm -S -n` output of
//! arbitrary tables (which the fast path must take), those lines with words replaced, inserted,
//! removed, glued or split (which it must read exactly as the full parser does, or leave to it),
//! and soups of option words and tricky values. The fuzz target `fuzz/fuzz_targets/fast_path.rs`
//! checks the same on arbitrary bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs_core::ipvsadm::cmdline::{self, Parser};
use ipvs_core::ipvsadm::list;
use ipvs_core::ipvsadm::rules::{restore, tokenize, CommentMode, RestoreItem};
use ipvs_core::ipvsadm::{NumericResolver, Resolver};
use ipvs_core::{
    AddressFamily, Destination, ForwardMethod, Netmask, PeName, Protocol, Scheduler, Service, ServiceFlags,
    ServiceKey, Tunnel, TunnelFlags, TunnelType,
};
use proptest::prelude::*;

/// A resolver that knows a few names, so that the full parser's lookups (which the fast path
/// never makes) change results.
struct Names;

impl Resolver for Names {
    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        match name {
            "www" => Some(Ipv4Addr::new(10, 9, 8, 7)),
            "mask" => Some(Ipv4Addr::new(255, 255, 0, 0)),
            _ => None,
        }
    }
    fn service_port(&self, name: &str, _protocol: Protocol) -> Option<u16> {
        match name {
            "http" => Some(80),
            "0x50" => Some(81),
            _ => None,
        }
    }
}

fn parsers() -> [Parser<'static>; 3] {
    [
        Parser::new(),
        Parser::new().posixly_correct(true),
        Parser::new().program("ipvsadm-rs").with_resolver(&Names),
    ]
}

/// The fast path never disagrees with the full parser, and `parse` (fast path first) gives
/// exactly what the full parser gives. Returns whether the fast path took the line.
fn same(words: &[&str]) -> bool {
    let mut taken = false;
    for p in parsers() {
        let full = p.parse_full(words);
        if let Some(fast) = p.parse_simple(words) {
            taken = true;
            assert_eq!(Ok(&fast), full.as_ref(), "fast path differs on {words:?}");
        }
        assert_eq!(p.parse(words), full, "parse differs from the full parser on {words:?}");
    }
    taken
}

/// The restore of `text` gives the same items as the full parser run on each line of
/// `tokenize`.
fn same_restore(text: &str) {
    for mode in [CommentMode::Ipvsadm, CommentMode::Restore] {
        let p = Parser::new();
        let got = restore(text, mode, &p);
        let mut want = ipvs_core::ipvsadm::rules::Restore::default();
        let prepared = if mode == CommentMode::Restore {
            let mut s: String = text
                .split_inclusive('\n')
                .map(|l| {
                    if l.starts_with('#') {
                        if l.ends_with('\n') {
                            "\n"
                        } else {
                            ""
                        }
                    } else {
                        l
                    }
                })
                .collect();
            while s.ends_with('\n') {
                s.pop();
            }
            s.push('\n');
            s
        } else {
            text.to_owned()
        };
        for (line, words) in tokenize(prepared.as_bytes()) {
            let item = match p.parse_full(&words) {
                Ok(cmdline::Command::Restore) => RestoreItem::Fatal(ipvs_core::ipvsadm::rules::RuleError {
                    line,
                    error: cmdline::CmdError::TryHelp { program: "ipvsadm".into() },
                }),
                Ok(command) => RestoreItem::Line(ipvs_core::ipvsadm::rules::RuleLine {
                    line,
                    args: words.iter().collect(),
                    command,
                }),
                Err(error) if error.ends_restore() => {
                    RestoreItem::Fatal(ipvs_core::ipvsadm::rules::RuleError { line, error })
                }
                Err(error) => RestoreItem::Skipped(ipvs_core::ipvsadm::rules::RuleError { line, error }),
            };
            let end = match &item {
                RestoreItem::Fatal(_) => true,
                RestoreItem::Line(l) => {
                    matches!(l.command, cmdline::Command::Help | cmdline::Command::Version)
                }
                RestoreItem::Skipped(_) => false,
            };
            match item {
                RestoreItem::Line(l) => want.lines.push(l),
                RestoreItem::Skipped(e) => want.errors.push(e),
                RestoreItem::Fatal(e) => want.fatal = Some(e),
            }
            if end {
                break;
            }
        }
        assert_eq!(got, want, "restore differs on {text:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tables of every kind ipvsadm can hold, and what `ipvsadm -S -n` prints of them.

fn arb_addr(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 {
        prop_oneof![
            any::<[u16; 8]>().prop_map(|w| IpAddr::V6(Ipv6Addr::from(w))),
            (any::<u16>(), 0u16..3)
                .prop_map(|(a, b)| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, a, b))),
            any::<[u8; 4]>().prop_map(|o| IpAddr::V6(Ipv4Addr::from(o).to_ipv6_mapped())),
        ]
        .boxed()
    } else {
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))).boxed()
    }
}

fn arb_scheduler() -> impl Strategy<Value = Scheduler> {
    prop_oneof![
        proptest::sample::select(Scheduler::KNOWN.to_vec()),
        "[a-z][a-z0-9_]{0,16}".prop_map(|s| Scheduler::from(s.as_str())),
    ]
}

fn arb_service() -> impl Strategy<Value = Service> {
    let key = prop_oneof![
        (
            any::<bool>(),
            prop_oneof![
                Just(Protocol::Tcp),
                Just(Protocol::Udp),
                Just(Protocol::Sctp),
                Just(Protocol::from_raw(99))
            ],
            prop_oneof![Just(0u16), Just(80), any::<u16>()],
        )
            .prop_flat_map(|(v6, protocol, port)| {
                arb_addr(v6).prop_map(move |addr| ServiceKey::Addr { protocol, addr, port })
            }),
        (any::<u32>(), any::<bool>()).prop_map(|(mark, v6)| {
            ServiceKey::fwmark(mark, if v6 { AddressFamily::Inet6 } else { AddressFamily::Inet })
        }),
    ];
    (
        key,
        arb_scheduler(),
        any::<bool>(),
        prop_oneof![Just(0u32), 1u32..=2_678_400, any::<u32>()],
        any::<u32>(),
        any::<u8>(),
        prop_oneof![Just(None), Just(Some("sip")), Just(Some("x_y1")), Just(Some("a-very-long-pe-name"))],
        any::<bool>(),
        0u32..8,
    )
        .prop_map(|(key, scheduler, persistent, timeout, mask4, mask6, pe, ops, sched_bits)| {
            let mut s = Service::new(key).with_scheduler(scheduler);
            if persistent {
                let m = match key.family() {
                    AddressFamily::Inet => Netmask::V4(Ipv4Addr::from(mask4)),
                    AddressFamily::Inet6 => Netmask::V6(mask6),
                };
                s = s.with_persistence(timeout, Some(m));
            }
            if let Some(pe) = pe {
                s.pe_name = Some(PeName::from_kernel(pe));
            }
            if ops {
                s.flags |= ServiceFlags::ONEPACKET;
            }
            s.flags |= ServiceFlags::from_bits_retain(sched_bits << 3);
            s
        })
}

fn arb_dest(svc: ServiceKey) -> impl Strategy<Value = Destination> {
    (
        prop_oneof![
            Just(ForwardMethod::Masquerade),
            Just(ForwardMethod::DirectRoute),
            Just(ForwardMethod::Tunnel),
            Just(ForwardMethod::from_raw(5)),
        ],
        prop_oneof![4 => Just(false), 1 => Just(true)],
        any::<u16>(),
        prop_oneof![0u32..100, any::<u32>()],
        0u8..4,
        any::<u16>(),
        0u16..4,
    )
        .prop_flat_map(move |(forward, other_family, port, weight, kind, tun_port, tflags)| {
            let v6 = (svc.family() == AddressFamily::Inet6) != other_family;
            arb_addr(v6).prop_map(move |addr| {
                let mut d = Destination::new((addr, port).into()).with_forward(forward).with_weight(weight);
                d.tunnel = Tunnel::ipip();
                d.tunnel.kind = TunnelType::from_raw(kind);
                d.tunnel.port = tun_port;
                d.tunnel.flags = TunnelFlags::from_bits_retain(tflags);
                d
            })
        })
}

fn arb_table() -> impl Strategy<Value = Vec<(Service, Vec<Destination>)>> {
    proptest::collection::vec(
        arb_service().prop_flat_map(|s| {
            let k = s.key;
            (Just(s), proptest::collection::vec(arb_dest(k), 0..4))
        }),
        1..4,
    )
}

/// Words that change a line's meaning or push it off the fast path.
const TRICKY: &[&str] = &[
    "-A",
    "-E",
    "-D",
    "-a",
    "-e",
    "-d",
    "-C",
    "-L",
    "-l",
    "-Z",
    "-S",
    "-R",
    "-h",
    "-v",
    "-n",
    "-t",
    "-u",
    "-f",
    "-6",
    "-s",
    "-p",
    "-M",
    "-r",
    "-m",
    "-g",
    "-i",
    "-w",
    "-x",
    "-y",
    "-o",
    "-b",
    "-c",
    "-X",
    "-Ln",
    "-nL",
    "-srr",
    "-s=rr",
    "-p300",
    "-w=3",
    "--add-service",
    "--tcp-service",
    "--tcp-service=10.0.0.1:80",
    "--sctp-service",
    "--udp-service",
    "--fwmark-service",
    "--scheduler",
    "--persistent",
    "--netmask",
    "--real-server",
    "--weight",
    "--masquerading",
    "--gatewaying",
    "--ipip",
    "--pe",
    "--sched-flags",
    "--tun-type",
    "--tun-port",
    "--tun-nocsum",
    "--tun-csum",
    "--tun-remcsum",
    "--ops",
    "--set",
    "--sort",
    "--nosort",
    "--numeric",
    "--stats",
    "--start-daemon",
    "--stop-daemon",
    "--syncid",
    "--mcast-interface",
    "--",
    "-",
    "",
    "!#:+",
    "a!#:+b",
    "=",
    "(null)",
    "--xxx-service",
    "ipip",
    "gue",
    "gre",
    "master",
    "rr",
    "wlc",
    "sh",
    "mh",
    "sh-port",
    "mh-fallback,mh-port",
    "flag-1,flag-2",
    ",",
    "sip",
    "0",
    "1",
    "01",
    "+1",
    " 1",
    "1 ",
    "-1",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "0x10",
    "300",
    "2678400",
    "2678401",
    "128",
    "129",
    "64",
    "255.255.255.0",
    "255.255.255.255",
    "mask",
    "www",
    "www:http",
    "10.0.0.1",
    "10.0.0.1:80",
    "10.0.0.1:080",
    "10.0.0.1:+80",
    "10.0.0.1:",
    "010.0.0.1:80",
    "10.1:80",
    "0x0a.0.0.1:80",
    "10.0.0.256:80",
    "10.0.0.1:65536",
    "10.0.0.1:http",
    "10.0.0.1:0x50",
    "10.0.0.1:80:80",
    "1.2.3.4 :80",
    "[::1]:80",
    "[::1]",
    "::1",
    "[2001:db8::1]:0",
    "[1.2.3.4]:80",
    "[::ffff:1.2.3.4]:80",
    "[::1]80",
    "2001:db8::1:80",
    "10.0.0.1\u{a0}:80",
    "é",
    "-é",
];

fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRICKY.to_vec()).prop_map(String::from),
        1 => "[-a-z0-9.:\\[\\]=!#+,]{0,8}",
    ]
}

/// A change to a line's words.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, String),
    Insert(usize, String),
    Remove(usize),
    /// Glue a word to the next (`-s` `rr` → `-srr`).
    Glue(usize),
    Swap(usize, usize),
}

fn arb_edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), tricky()).prop_map(|(i, w)| Edit::Replace(i, w)),
        (any::<usize>(), tricky()).prop_map(|(i, w)| Edit::Insert(i, w)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Glue),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::Swap(i, j)),
    ]
}

fn apply(words: &mut Vec<String>, edit: &Edit) {
    let n = words.len();
    match edit {
        Edit::Replace(i, w) if n > 0 => words[i % n] = w.clone(),
        Edit::Insert(i, w) => words.insert(i % (n + 1), w.clone()),
        Edit::Remove(i) if n > 0 => {
            words.remove(i % n);
        }
        Edit::Glue(i) if n > 1 => {
            let i = i % (n - 1);
            let next = words.remove(i + 1);
            words[i].push_str(&next);
        }
        Edit::Swap(i, j) if n > 0 => words.swap(i % n, j % n),
        _ => {}
    }
}

fn save_lines(table: &[(Service, Vec<Destination>)]) -> Vec<String> {
    list::save_rules(table, true, &NumericResolver).lines().map(str::to_owned).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Every line `ipvsadm -S -n` prints takes the fast path when ipvsadm reads it back
    /// without an error, and gives what the full parser gives.
    #[test]
    fn saved_lines_take_the_fast_path(table in arb_table()) {
        for line in save_lines(&table) {
            let words: Vec<&str> = line.split(' ').collect();
            let taken = same(&words);
            if Parser::new().parse_full(&words).is_ok() {
                prop_assert!(taken, "an -S line the full parser reads is left to it: {}", line);
            }
        }
    }

    /// Saved lines with words changed: the same command or the same error either way.
    #[test]
    fn edited_lines_parse_alike(table in arb_table(), edits in proptest::collection::vec(arb_edit(), 1..4)) {
        for line in save_lines(&table) {
            let mut words: Vec<String> = line.split(' ').map(str::to_owned).collect();
            for e in &edits {
                apply(&mut words, e);
            }
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            same(&words);
        }
    }

    /// Soups of option words and values.
    #[test]
    fn word_soups_parse_alike(words in proptest::collection::vec(tricky(), 0..10)) {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        same(&words);
    }

    /// Whole rules texts, with `ipvsadm` tokens, blanks, comments and odd line ends: the restore
    /// gives the same lines, errors and end as the full parser on each tokenized line.
    #[test]
    fn restores_read_alike(
        table in arb_table(),
        noise in proptest::collection::vec((any::<usize>(), prop_oneof![
            Just(" "), Just("\t"), Just("\r"), Just("\n"), Just("  "), Just(" ipvsadm "), Just("#"),
            Just("\0"), Just("\u{e9}"), Just("-x "),
        ]), 0..4),
    ) {
        let mut text = save_lines(&table).join("\n");
        text.push('\n');
        for (at, what) in noise {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, what);
        }
        same_restore(&text);
    }
}

#[test]
fn canonical_lines_take_the_fast_path() {
    for line in [
        "-A -t 10.0.0.1:80 -s wrr",
        "-A -t 10.0.0.1:443 -s rr -p 300",
        "-A -u 10.0.0.1:53 -s sh -p 60 -M 255.255.255.0 --pe sip -o -b sh-fallback,sh-port",
        "-A --sctp-service [2001:db8::1]:80 -s mh -p 360 -M 64 -b mh-port",
        "-A -f 7 -6 -s wlc",
        "-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 1",
        "-a -t 10.0.0.1:80 -r 192.168.1.1:80 -g -w 0",
        "-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -i -w 5 --tun-type ipip",
        "-a -t 10.0.0.1:80 -r 192.168.1.1:80 -i -w 5 --tun-type gue --tun-port 6080 --tun-remcsum",
        "-a -f 7 -6 -r [2001:db8::2]:0 -i -w 5 --tun-type gre --tun-csum",
    ] {
        let words: Vec<&str> = line.split(' ').collect();
        assert!(Parser::new().parse_simple(&words).is_some(), "{line}");
        assert!(same(&words), "{line}");
    }
    // Left to the full parser: a bundle, a glued argument, a plain argument, an expansion, a
    // line ipvsadm refuses; each gives the full parser's result.
    for line in [
        "-Ln",
        "-A -t 10.0.0.1:80 -srr",
        "--set 1 2 3",
        "-A -t 10.0.0.1:80 -s !#:+ rr",
        "-A -t 10.0.0.1:0 -s rr",
        "-a -t 10.0.0.1:80 -r [2001:db8::2]:80 -m",
    ] {
        let words: Vec<&str> = line.split(' ').collect();
        assert!(Parser::new().parse_simple(&words).is_none(), "{line}");
        assert!(!same(&words));
    }
}
