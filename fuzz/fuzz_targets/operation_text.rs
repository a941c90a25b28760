//! Structure-aware: any valid operation written as an ipvsadm command line (`Display`) parses
//! back (`ipvs_core::ipvsadm::cmdline::parse`) to the same operation, and as a one-line `-R`
//! input it reads to the same operation too.
#![no_main]

use arbitrary::Unstructured;
use ipvs_core::ipvsadm::cmdline::{parse, Parser};
use ipvs_core::ipvsadm::rules::{operations, CommentMode};
use ipvs_core::{ForwardMethod, Netmask, Operation, ServiceKey, Tunnel};
use libfuzzer_sys::fuzz_target;

/// What the command line can say: ipvsadm gives a direct-routing or tunnelling real server of
/// an address-keyed service the service's port, whatever `-r` says (ipvsadm.c: "The destination
/// port must be equal to the service port if the IP_VS_CONN_F_TUNNEL or IP_VS_CONN_F_DROUTE is
/// set"), a non-tunnel real server has the default tunnel, a non-persistent service's netmask
/// is not written and the kernel's `Local` and `Bypass` methods have no switch.
fn expressible(op: &Operation) -> Operation {
    let mut op = op.clone();
    // ipvsadm reads `-Z` of the all-zero address and port as "zero everything".
    if let Operation::Zero(Some(ServiceKey::Addr { addr, port: 0, .. })) = &op {
        if addr.is_unspecified() {
            op = Operation::Zero(None);
        }
    }
    if let Operation::AddService(s) | Operation::EditService(s) = &mut op {
        // `-S` writes -M only for a persistent service (as ipvsadm does).
        if !s.is_persistent() {
            s.netmask = Netmask::full(s.key.family());
        }
    }
    if let Operation::AddDestination(k, d) | Operation::EditDestination(k, d) = &mut op {
        // ipvsadm has no switch for the kernel's own methods (local, bypass); none is written,
        // which reads as -g.
        if matches!(d.forward, ForwardMethod::Local | ForwardMethod::Bypass) {
            d.forward = ForwardMethod::DirectRoute;
        }
        if d.forward != ForwardMethod::Tunnel {
            d.tunnel = Tunnel::default();
        }
        if matches!(k, ServiceKey::Addr { .. })
            && matches!(d.forward, ForwardMethod::Tunnel | ForwardMethod::DirectRoute)
        {
            d.port = k.port();
        }
    }
    op
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(op) = ipvs_fuzz::operation(&mut u) else { return };
    let line = op.to_string();
    if op.validate().is_err() {
        let words: Vec<&str> = line.split(' ').collect();
        let _ = parse(&words);
        return;
    }
    let words: Vec<&str> = line.split(' ').collect();
    let Ok(cmd) = parse(&words) else {
        // Some valid values are the kernel's, not ipvsadm's (weights above INT_MAX are not,
        // but e.g. flag bits ipvsadm has no option for): the parser may refuse them.
        return;
    };
    let want = expressible(&op);
    assert_eq!(cmd.to_operation().as_ref(), Some(&want), "`{line}` parses to another operation");
    let ops = operations(&format!("{line}\n"), CommentMode::Ipvsadm, &Parser::new())
        .unwrap_or_else(|e| panic!("`{line}` as -R input: {e}"));
    assert_eq!(ops, vec![(1, want)], "`{line}` as -R input");
});
