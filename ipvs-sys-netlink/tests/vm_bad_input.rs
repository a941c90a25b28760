//! The bad-input catalogue (`tests/bad-inputs/catalogue.txt`) on the real kernel, for the Rust
//! API (`Client`) and for `ipvsadm-rs` against Debian's ipvsadm: every case is refused with
//! its typed error (the API) or with exactly ipvsadm's output and exit status (ipvsadm-rs),
//! and the kernel's table, timeouts and sync daemons, read by Debian's ipvsadm, are the same
//! before and after each one. `bad_input.rs` runs the API half on the in-memory table.
//!
//! Needs `target/release/ipvsadm-rs` (built by `scripts/test` before the VM run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/catalogue.rs"]
mod catalogue;
mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use catalogue::Refusal;
use ipvs_core::{Backend, OnError};
use ipvs_sys_netlink::Client;

const BASE: &str = "\
-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.10:80 -m -w 1
-A -f 5 -s rr
";

fn ipvsadm_rs() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/ipvsadm-rs");
    assert!(p.exists(), "{} is missing: run `cargo build --release --bins` first", p.display());
    p
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    code: i32,
    out: Vec<u8>,
    err: Vec<u8>,
}

/// Runs `program` (named `ipvsadm` in its argv\[0\]) with raw argument bytes and `stdin`.
fn run(program: &OsStr, args: &[Vec<u8>], stdin: &[u8]) -> Run {
    let mut child = Command::new(program)
        .arg0("ipvsadm")
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // Written from a thread: a program that stops reading must not block the test.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    Run { code: out.status.code().unwrap_or(-1), out: out.stdout, err: out.stderr }
}

/// The kernel's state as Debian's ipvsadm reads it: rules, timeouts and sync daemons.
fn snapshot() -> String {
    let mut s = String::new();
    for args in [&["-Sn"][..], &["-L", "--timeout"], &["-L", "--daemon"]] {
        let r =
            run(OsStr::new("ipvsadm"), &args.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>(), b"");
        assert_eq!(r.code, 0, "ipvsadm {args:?}: {}", String::from_utf8_lossy(&r.err));
        s.push_str(&String::from_utf8_lossy(&r.out));
    }
    s
}

fn setup() -> String {
    let r = run(OsStr::new("ipvsadm"), &[b"-R".to_vec()], BASE.as_bytes());
    assert_eq!(r.code, 0, "{}", String::from_utf8_lossy(&r.err));
    snapshot()
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.len() > 300 {
        format!("{}... ({} bytes)", &s[..s.char_indices().nth(300).map_or(s.len(), |(i, _)| i)], b.len())
    } else {
        s.into_owned()
    }
}

#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn every_bad_input_is_refused_by_the_client_and_changes_nothing() {
    let _ns = common::kernel();
    let before = setup();
    let mut ipvs = Client::new().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut by_kernel = 0;
    for case in catalogue::api_cases() {
        let want = case.rust().to_owned();
        let got = match catalogue::build(&case) {
            Err(Refusal::Unrepresentable(_)) => "unrepresentable".to_owned(),
            Err(Refusal::Error(kind)) => catalogue::kind_name(kind),
            Ok(input) => match catalogue::read_text(&input) {
                Err(word) => word.to_owned(),
                Ok(ops) if ops.is_empty() => "accepted".to_owned(),
                Ok(ops) => {
                    let r: Result<Vec<()>, _> = ipvs.apply_all(&ops, OnError::Stop).into_iter().collect();
                    match r {
                        Ok(_) => "accepted".to_owned(),
                        Err(e) => {
                            if e.errno().is_some() && !matches!(e, ipvs_core::Error::Validation(_)) {
                                by_kernel += 1;
                            }
                            catalogue::kind_name(e.kind())
                        }
                    }
                }
            },
        };
        checked += 1;
        if got != want {
            failures.push(format!("{}: got {got}, expected {want}", case.id));
        }
        let after = snapshot();
        if after != before {
            failures.push(format!("{}: changed the kernel's table:\n{after}", case.id));
            run(OsStr::new("ipvsadm"), &[b"-C".to_vec()], b"");
            setup();
        }
    }
    println!("{checked} cases on the kernel, {by_kernel} refused by the kernel itself");
    assert!(failures.is_empty(), "{} of {checked} cases:\n{}", failures.len(), failures.join("\n"));
    assert!(by_kernel >= 4, "only {by_kernel} refusals came from the kernel");
}

/// Named `manual_` (left out of scripts/test) until a VM run has shown it passing after its last fix. First run: 4 of 49 differed (non-UTF-8 scheduler and -R text, a non-UTF-8 option's bytes, --apply without rollback), each fixed since.
#[test]
#[ignore = "needs a kernel with IPVS: scripts/test runs it in the VM"]
fn manual_every_bad_input_gets_ipvsadms_answer_from_ipvsadm_rs_and_changes_nothing() {
    let _ns = common::kernel();
    let before = setup();
    let ours = ipvsadm_rs();
    let mut failures = Vec::new();
    let (mut lines, mut restores, mut applies) = (0, 0, 0);
    let check = |what: String, theirs: Option<Run>, mine: Run, lossy: bool, failures: &mut Vec<String>| {
        if let Some(theirs) = theirs {
            // A non-UTF-8 argument is read lossily: its bytes come back as U+FFFD.
            let same = if lossy {
                let l = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                (mine.code, l(&mine.out), l(&mine.err)) == (theirs.code, l(&theirs.out), l(&theirs.err))
            } else {
                mine == theirs
            };
            if !same {
                failures.push(format!(
                    "{what}: ipvsadm-rs exit {} out {:?} err {:?}; ipvsadm exit {} out {:?} err {:?}",
                    mine.code,
                    show(&mine.out),
                    show(&mine.err),
                    theirs.code,
                    show(&theirs.out),
                    show(&theirs.err)
                ));
            }
        }
        if mine.code == 0 {
            failures.push(format!("{what}: ipvsadm-rs exit 0 (err {:?})", show(&mine.err)));
        }
        let after = snapshot();
        if after != before {
            failures.push(format!("{what}: changed the kernel's table:\n{after}"));
            run(OsStr::new("ipvsadm"), &[b"-C".to_vec()], b"");
            setup();
        }
    };
    for case in catalogue::load() {
        if let Some(args) = case.ipvsadm_args() {
            let theirs = run(OsStr::new("ipvsadm"), &args, b"");
            if theirs.code == 0 {
                failures.push(format!("{}: Debian's ipvsadm accepted it", case.id));
            }
            let mine = run(ours.as_os_str(), &args, b"");
            check(
                format!("{} (command line)", case.id),
                Some(theirs),
                mine,
                case.flag("lossy"),
                &mut failures,
            );
            lines += 1;
        }
        let text = case.get("text").unwrap_or_default().to_vec();
        if case.flag("restore") {
            let theirs = run(OsStr::new("ipvsadm"), &[b"-R".to_vec()], &text);
            let mine = run(ours.as_os_str(), &[b"-R".to_vec()], &text);
            check(format!("{} (-R)", case.id), Some(theirs), mine, case.flag("lossy"), &mut failures);
            restores += 1;
        }
        if case.flag("apply") {
            let mine = run(ours.as_os_str(), &[b"--apply".to_vec()], &text);
            check(format!("{} (--apply)", case.id), None, mine, false, &mut failures);
            applies += 1;
        }
    }
    println!("{lines} command lines, {restores} -R inputs compared with Debian's ipvsadm; {applies} --apply inputs");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(lines >= 35 && restores >= 4 && applies >= 6, "{lines} {restores} {applies}");
}
