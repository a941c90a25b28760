//! The ipvsadm command line (`ipvs_core::ipvsadm::cmdline::parse`) on any words (the input
//! split at NUL bytes, as argv is). Never panics; a valid operation it parses, written back as
//! an ipvsadm command line (`Display`), parses to the same operation.
#![no_main]

use ipvs_core::ipvsadm::cmdline::parse;
use ipvs_core::{Netmask, Operation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let args: Vec<&str> = if text.is_empty() { Vec::new() } else { text.split('\0').collect() };
    let Ok(cmd) = parse(&args) else { return };
    let _ = cmd.name();
    let Some(op) = cmd.to_operation() else { return };
    // Only a valid operation has a command line: an argument with a blank in it (a scheduler
    // name " x") has none.
    if op.validate().is_err() {
        let _ = op.to_string();
        return;
    }
    let line = op.to_string();
    let words: Vec<&str> = line.split(' ').collect();
    let again = parse(&words).unwrap_or_else(|e| panic!("`{line}` (from {args:?}) does not parse: {e}"));
    // `-M` without `-p` is accepted and kept, but `-S` (Display) writes -M only for a
    // persistent service, as ipvsadm does.
    let mut op = op;
    if let Operation::AddService(s) | Operation::EditService(s) = &mut op {
        if !s.is_persistent() {
            s.netmask = Netmask::full(s.key.family());
        }
    }
    assert_eq!(again.to_operation().as_ref(), Some(&op), "`{line}` parses to another operation");
});
