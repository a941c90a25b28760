//! Every case of the bad-input catalogue (`tests/bad-inputs/catalogue.txt`) through the Rust
//! API on the in-memory reference table: each is refused with the catalogue's error kind (or
//! by the API's own types, or by its text parsers), and the table, its timeouts and its sync
//! daemons are the same afterwards. `vm_bad_input.rs` runs the same catalogue on the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/catalogue.rs"]
mod catalogue;

use catalogue::Refusal;
use ipvs_core::table::MemoryBackend;
use ipvs_core::{Backend, Destination, ForwardMethod, OnError, Scheduler, Service, ServiceKey};

/// The table every case starts from: the services and real servers the catalogue's edits name.
fn base() -> MemoryBackend {
    let mut t = MemoryBackend::new();
    let vip = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
    t.add_service(&Service::new(vip).with_scheduler(Scheduler::Wlc)).unwrap();
    let rs = Destination::new("192.168.1.10:80".parse().unwrap()).with_forward(ForwardMethod::Masquerade);
    t.add_destination(&vip, &rs).unwrap();
    t.add_service(&Service::new(ServiceKey::fwmark(5, ipvs_core::AddressFamily::Inet))).unwrap();
    t
}

fn snapshot(t: &mut MemoryBackend) -> String {
    format!(
        "{:?}\n{:?}\n{:?}",
        t.services_with_destinations().unwrap(),
        t.timeouts().unwrap(),
        t.daemons().unwrap()
    )
}

#[test]
fn catalogue_reads_and_covers_every_kind_of_bad_input() {
    let cases = catalogue::load();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for c in &cases {
        assert!(c.get("what").is_some(), "{}: no `what`", c.id);
        assert!(c.str("op").is_some(), "{}: no `op`", c.id);
        assert!(c.str("op") == Some("none") || c.get("rust").is_some(), "{}: no `rust`", c.id);
        assert!(
            c.str("op") != Some("none") || c.get("ipvsadm").is_some(),
            "{}: a command-line case without `ipvsadm`",
            c.id
        );
    }
    // The kinds of bad input the robustness issue names, each present at least once.
    for needle in [
        "port",
        "weight",
        "threshold",
        "timeout",
        "netmask",
        "scheduler",
        "pe-",
        "family",
        "fwmark-0",
        "ipv6-netmask-129",
        "tunnel-options",
        "nul",
        "non-utf8",
        "huge",
        "truncated",
    ] {
        assert!(cases.iter().any(|c| c.id.contains(needle)), "no case for {needle}");
    }
    assert_eq!(catalogue::unescape(r"a\{5}\x00\\\n"), b"aaaaa\0\\\n");
}

#[test]
fn every_bad_input_is_refused_by_the_rust_api_and_changes_nothing() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in catalogue::api_cases() {
        let want = case.rust().to_owned();
        let got = match catalogue::build(&case) {
            Err(Refusal::Unrepresentable(why)) => {
                if want != "unrepresentable" {
                    failures.push(format!("{}: unrepresentable ({why}), expected {want}", case.id));
                }
                checked += 1;
                continue;
            }
            Err(Refusal::Error(kind)) => catalogue::kind_name(kind),
            Ok(input) => match catalogue::read_text(&input) {
                Err(word) => word.to_owned(),
                Ok(ops) => {
                    let mut t = base();
                    let before = snapshot(&mut t);
                    let r: Result<Vec<()>, _> = t.apply_all(&ops, OnError::Stop).into_iter().collect();
                    let after = snapshot(&mut t);
                    if after != before {
                        failures.push(format!("{}: {ops:?} changed the table", case.id));
                    }
                    match r {
                        Ok(_) => "accepted".to_owned(),
                        Err(e) => catalogue::kind_name(e.kind()),
                    }
                }
            },
        };
        checked += 1;
        if got != want {
            failures.push(format!("{}: got {got}, expected {want}", case.id));
        }
    }
    assert!(failures.is_empty(), "{} of {checked} cases:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 40, "{checked} cases checked");
}
