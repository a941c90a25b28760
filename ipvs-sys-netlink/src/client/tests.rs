//! Host tests of the client against the scripted fake kernel ([`super::fake`]): the exchange
//! (sequence numbers, stale and foreign replies, timeouts, dropped acknowledgements, failed
//! sends) and the dump reconciliation (chunking, shifted dumps, `NLM_F_DUMP_INTR`, `EBUSY`).
#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;

use ipvs_core::table::MemoryBackend;
use ipvs_core::{
    Backend, Destination, Error, ErrorKind, ForwardMethod, Object, OnError, Operation, Scheduler, Service,
    ServiceKey,
};
use proptest::prelude::*;

use super::exchange::{Exchange, Kind};
use super::fake::{ack, genl_payload, nl_message, FakeKernel, FAMILY_ID};
use super::{ChunkSizes, Client, ClientOptions};
use crate::codec::{Frames, IpvsAttr, IpvsCmd, IpvsMessage};
use crate::convert;

/// A client of `kernel` with `opts`, its sockets sized as on a 4 KiB-page kernel.
fn client(kernel: &FakeKernel, opts: ClientOptions) -> Client {
    client_for_page(kernel, opts, ChunkSizes::for_page_size(4096))
}

fn client_for_page(kernel: &FakeKernel, opts: ClientOptions, chunks: ChunkSizes) -> Client {
    let main = kernel.channel(chunks.main);
    let verify = opts.verify_dumps.then(|| kernel.channel(chunks.verify_first));
    let k = kernel.clone();
    let reopen: super::Reopen = Box::new(move |_, len| Ok(k.channel(len)));
    let mut c = Client::from_parts(main, verify, Some(reopen), 1 << 20, opts, chunks);
    c.family_id = c.resolve_family().unwrap();
    c
}

fn key(port: u16) -> ServiceKey {
    ServiceKey::tcp([10, 0, 0, 1].into(), port)
}

fn rs(last: u8) -> Destination {
    Destination::new(([192, 168, 1, last], 80).into()).with_forward(ForwardMethod::Masquerade)
}

/// A table of `n` services on ports 1..=n, each with `dests` real servers.
fn table(n: u16, dests: u8) -> MemoryBackend {
    let mut t = MemoryBackend::new();
    for p in 1..=n {
        t.add_service(&Service::new(key(p)).with_scheduler(Scheduler::Rr)).unwrap();
        for d in 1..=dests {
            t.add_destination(&key(p), &rs(d)).unwrap();
        }
    }
    t
}

fn ports(services: &[ipvs_core::ServiceStatus]) -> Vec<u16> {
    let mut p: Vec<u16> = services.iter().map(|s| s.service.key.port()).collect();
    p.sort_unstable();
    p
}

#[test]
fn family_is_resolved_and_operations_are_applied() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    assert_eq!(c.family_id(), FAMILY_ID);
    c.add_service(&Service::new(key(80))).unwrap();
    assert_eq!(c.add_service(&Service::new(key(80))).unwrap_err().kind(), ErrorKind::Exists(Object::Service));
    c.add_destination(&key(80), &rs(1)).unwrap();
    let (svc, dests) = c.service_with_destinations(&key(80)).unwrap();
    assert_eq!(svc.service.key, key(80));
    assert_eq!(dests.len(), 1);
    let e = c.delete_service(&key(81)).unwrap_err();
    assert_eq!((e.kind(), e.errno()), (ErrorKind::NotFound(Object::Service), Some(libc::ESRCH)));
    assert!(!e.may_have_applied());
}

/// Bug: sequence numbers skipped 0 while replies were matched by `seq - first`, so across the
/// wrap every later reply landed one slot late and the last request waited for its timeout.
#[test]
fn sequence_numbers_wrap_through_zero() {
    let msgs: Vec<IpvsMessage> = (0..4).map(|_| IpvsMessage::new(IpvsCmd::Flush, vec![])).collect();
    let reqs: Vec<(&IpvsMessage, Kind)> = msgs.iter().map(|m| (m, Kind::Ack)).collect();
    let mut next = u32::MAX - 1;
    let mut tx = Vec::new();
    let mut ex = Exchange::encode(&reqs, FAMILY_ID, 77, &mut next, &mut tx).unwrap();
    assert_eq!(next, 2);
    let seqs: Vec<u32> = Frames::new(&tx).map(|f| f.unwrap().header.sequence).collect();
    assert_eq!(seqs, [u32::MAX - 1, u32::MAX, 0, 1]);
    // Acknowledge in reverse order, each with its own code: -1 - position.
    let mut buf = Vec::new();
    for (i, s) in seqs.iter().enumerate().rev() {
        buf.extend(ack(&tx, *s, 77, -(i as i32 + 1), None));
    }
    ex.handle_datagram(&buf, 0).unwrap();
    assert!(ex.done(), "every request has its answer");
    for (i, slot) in ex.into_slots().into_iter().enumerate() {
        assert_eq!(slot.result.unwrap().unwrap_err().errno(), Some(i as i32 + 1), "slot {i}");
    }

    // The whole client across the wrap: every operation gets its own result.
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    c.next_seq = u32::MAX - 3;
    let add = |p| Operation::AddService(Service::new(key(p)));
    let ops = [add(1), add(2), add(1), add(3), add(2), add(4), Operation::DeleteService(key(9))];
    let got: Vec<Option<ErrorKind>> =
        c.apply_all(&ops, OnError::Continue).into_iter().map(|r| r.err().map(|e| e.kind())).collect();
    let mut reference = MemoryBackend::new();
    let want: Vec<Option<ErrorKind>> =
        reference.apply_all(&ops, OnError::Continue).into_iter().map(|r| r.err().map(|e| e.kind())).collect();
    assert_eq!(got, want);
    assert_eq!(ports(&c.services().unwrap()), [1, 2, 3, 4]);
}

#[test]
fn stale_foreign_and_other_port_replies_are_skipped() {
    let msgs = [IpvsMessage::new(IpvsCmd::Flush, vec![]), IpvsMessage::new(IpvsCmd::Flush, vec![])];
    let reqs: Vec<(&IpvsMessage, Kind)> = msgs.iter().map(|m| (m, Kind::Ack)).collect();
    let mut next = 10;
    let mut tx = Vec::new();
    let mut ex = Exchange::encode(&reqs, FAMILY_ID, 77, &mut next, &mut tx).unwrap();
    ex.handle_datagram(&ack(&tx, 11, 77, -libc::EINVAL, None), 4242).unwrap(); // another process
    assert!(!ex.done());
    let mut buf = ack(&tx, 9, 77, 0, None); // stale: before the window
    buf.extend(ack(&tx, 10, 78, 0, None)); // another port
    buf.extend(ack(&tx, 11, 77, -libc::EEXIST, None));
    buf.extend(ack(&tx, 10, 77, 0, None));
    buf.extend(ack(&tx, 10, 77, -libc::EINVAL, None)); // duplicate for an answered request
    ex.handle_datagram(&buf, 0).unwrap();
    assert!(ex.done());
    let r: Vec<_> = ex.into_slots().into_iter().map(|s| s.result.unwrap()).collect();
    assert_eq!(r[0], Ok(()));
    assert_eq!(r[1].as_ref().unwrap_err().errno(), Some(libc::EEXIST));

    // Through the client: injected foreign and stale datagrams change nothing.
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    let port = c.port_id();
    let stale = ack(&[0; 16], c.next_seq.wrapping_sub(1), port, -libc::EINVAL, None);
    let foreign = ack(&[0; 16], c.next_seq, port, -libc::EINVAL, None);
    kernel.lock().faults.inject = vec![(0, stale), (31337, foreign)];
    c.add_service(&Service::new(key(80))).unwrap();
}

#[test]
fn kernel_errors_keep_errno_and_extended_ack_text() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    kernel.lock().faults.ext_ack = Some("Attribute failed policy validation".into());
    let e = c.delete_destination(&key(80), &rs(1).key()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound(Object::Service));
    assert_eq!(e.message(), Some("Attribute failed policy validation"));
}

#[test]
fn a_lost_reply_is_a_timeout_whose_effect_is_unknown() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    kernel.lock().faults.swallow = 1;
    let e = c.add_service(&Service::new(key(80))).unwrap_err();
    assert_eq!(e, Error::Timeout);
    assert!(e.may_have_applied());
    // It did apply: the kernel has the service.
    assert_eq!(ports(&c.services().unwrap()), [80]);
}

/// In a batch, a lost acknowledgement ends the window: the operations answered keep their
/// results, the one without an answer is a timeout (effect unknown), and the windows after it
/// were never sent (`NotSent`: they changed nothing).
#[test]
fn batches_tell_unknown_effects_from_operations_never_sent() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default().max_in_flight(4));
    let ops: Vec<Operation> = (1..=10).map(|p| Operation::AddService(Service::new(key(p)))).collect();
    // The answer to the first request of the first window (1..=4) is lost; it still applies.
    kernel.lock().faults.swallow = 1;
    let r = c.apply_all(&ops, OnError::Continue);
    assert_eq!(r.len(), 10);
    assert_eq!(r[0], Err(Error::Timeout));
    assert!(r[0].as_ref().unwrap_err().may_have_applied());
    assert!(r[1..4].iter().all(Result::is_ok), "{r:?}");
    // 5..=10 were never sent.
    for e in &r[4..] {
        let e = e.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSent);
        assert!(!e.may_have_applied());
    }
    assert_eq!(ports(&c.services().unwrap()), [1, 2, 3, 4]);
}

#[test]
fn a_failed_send_changes_nothing_and_says_so() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default().max_in_flight(3));
    kernel.lock().faults.fail_send = Some(libc::ENOMEM);
    let ops: Vec<Operation> = (1..=5).map(|p| Operation::AddService(Service::new(key(p)))).collect();
    let r = c.apply_all(&ops, OnError::Continue);
    assert_eq!(r.len(), 5);
    for e in &r {
        let e = e.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSent, "{e}");
        assert_eq!(e.errno(), Some(libc::ENOMEM));
        assert!(!e.may_have_applied());
    }
    assert!(c.services().unwrap().is_empty());
}

/// Acknowledgements dropped for lack of receive-buffer space (`ENOBUFS`): the operations
/// whose acknowledgement is missing get `ENOBUFS` (effect unknown: here they were applied).
#[test]
fn dropped_acknowledgements_are_enobufs() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default().max_in_flight(8));
    kernel.lock().faults.queue_limit = Some(3);
    let ops: Vec<Operation> = (1..=8).map(|p| Operation::AddService(Service::new(key(p)))).collect();
    let r = c.apply_all(&ops, OnError::Continue);
    assert!(r[..3].iter().all(Result::is_ok), "{r:?}");
    for e in &r[3..] {
        let e = e.as_ref().unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOBUFS), "{e}");
        assert!(e.may_have_applied());
    }
    kernel.lock().faults.queue_limit = None;
    assert_eq!(ports(&c.services().unwrap()), [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn stop_on_error_sends_nothing_after_the_failure() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    let ops = [
        Operation::AddService(Service::new(key(1))),
        Operation::AddService(Service::new(key(1))),
        Operation::AddService(Service::new(key(2))),
    ];
    let r = c.apply_all(&ops, OnError::Stop);
    assert_eq!(r.len(), 2);
    assert_eq!(ports(&c.services().unwrap()), [1]);
}

#[test]
fn long_dumps_come_in_chunks_and_are_read_whole() {
    let kernel = FakeKernel::new(table(300, 0));
    let mut c = client(&kernel, ClientOptions::default());
    let s = c.services().unwrap();
    assert_eq!(ports(&s), (1..=300).collect::<Vec<_>>());
    // In the kernel's order, each once.
    assert_eq!(s.iter().map(|s| s.service.key.port()).collect::<Vec<_>>(), (1..=300).collect::<Vec<_>>());
    // More than one chunk was read: the dump was checked on the verifying socket.
    assert!(kernel.lock().dumps >= 2);
}

/// The 6.1 kernel resumes a dump by position: a service deleted before the current position
/// between two chunks makes the next chunk skip one. Without the check the listing silently
/// misses a service (the control); with it, the listing is whole.
#[test]
fn a_dump_shifted_between_chunks_is_repaired() {
    let shift = |kernel: &FakeKernel| {
        let mut deleted = false;
        kernel.lock().faults.between_chunks = Some(Box::new(move |t: &mut MemoryBackend, chunk| {
            // After the first chunk of the first dump only: delete port 1 (already listed).
            if chunk == 0 && !deleted {
                deleted = true;
                t.delete_service(&key(1)).unwrap();
            }
        }));
    };
    let kernel = FakeKernel::new(table(100, 0));
    shift(&kernel);
    let mut unchecked = client(&kernel, ClientOptions::default().verify_dumps(false));
    let s = unchecked.services().unwrap();
    let want: Vec<u16> = (2..=100).collect();
    // The control: the first chunk listed port 1 before it went; the next chunk resumed one
    // entry too far and skipped a service that was there all along.
    assert_ne!(ports(&s), want, "the control: an unchecked dump misses a service");
    assert_eq!(s.len(), 99);
    assert!(ports(&s).contains(&1));
    let missing: Vec<u16> = want.iter().copied().filter(|p| !ports(&s).contains(p)).collect();
    assert_eq!(missing.len(), 1, "{missing:?}");

    let kernel = FakeKernel::new(table(100, 0));
    shift(&kernel);
    let mut checked = client(&kernel, ClientOptions::default());
    assert_eq!(ports(&checked.services().unwrap()), want);
}

/// Services added and removed between the chunks of every dump, on every read: the listing
/// never lacks a service that was there the whole time.
#[test]
fn listings_stay_whole_under_constant_change() {
    let kernel = FakeKernel::new(table(200, 0));
    let mut n = 0u16;
    kernel.lock().faults.between_chunks = Some(Box::new(move |t: &mut MemoryBackend, _| {
        // Churn at the front of the table: ports 1000+ come and go, 1..=200 stay.
        n = n.wrapping_add(1);
        let churn = key(1000 + n % 7);
        if t.service(&churn).is_ok() {
            t.delete_service(&churn).unwrap();
        } else {
            t.add_service(&Service::new(churn)).unwrap();
        }
    }));
    let mut c = client(&kernel, ClientOptions::default().dump_attempts(8));
    for _ in 0..5 {
        let p = ports(&c.services().unwrap());
        let stable: Vec<u16> = p.iter().copied().filter(|p| *p <= 200).collect();
        assert_eq!(stable, (1..=200).collect::<Vec<_>>());
        assert!(p.windows(2).all(|w| w[0] < w[1]), "no service twice");
    }
    // The verifying socket went through its sizes and was replaced by a fresh one.
    assert!(kernel.lock().sockets >= 3, "{}", kernel.lock().sockets);
}

/// Bug: with 16 or 64 KiB pages the kernel's minimum chunk (`NLMSG_GOODSIZE`, 7872 bytes) was
/// larger than the verifying socket's buffer (5 to 7 KiB), so any listing longer than one
/// chunk failed with `EMSGSIZE`. The sizes now follow the page size.
#[test]
fn large_pages_read_long_listings() {
    for page in [16384, 65536] {
        let kernel = FakeKernel::new(table(300, 30));
        kernel.lock().page_size = page;
        let mut c = client_for_page(&kernel, ClientOptions::default(), ChunkSizes::for_page_size(page));
        assert_eq!(ports(&c.services().unwrap()), (1..=300).collect::<Vec<_>>(), "page {page}");
        assert_eq!(c.destinations(&key(7)).unwrap().len(), 30, "page {page}");
        // The sizes before the fix (main 8 KiB, verifying 5 to 7 KiB) fail there.
        let kernel = FakeKernel::new(table(300, 0));
        kernel.lock().page_size = page;
        let before = ChunkSizes { main: 8192, verify_first: 5120, verify_step: 1024, verify_max: 7168 };
        let mut old = client_for_page(&kernel, ClientOptions::default(), before);
        let e = old.services().unwrap_err();
        assert_eq!(e.errno(), Some(libc::EMSGSIZE), "page {page}: {e}");
    }
}

#[test]
fn real_server_dumps_settle() {
    let kernel = FakeKernel::new(table(1, 60));
    let mut deleted = false;
    kernel.lock().faults.between_chunks = Some(Box::new(move |t: &mut MemoryBackend, chunk| {
        if chunk == 0 && !deleted {
            deleted = true;
            // Newest first: rs(60) was listed first; removing it shifts the rest.
            t.delete_destination(&key(1), &rs(60).key()).unwrap();
        }
    }));
    let mut c = client(&kernel, ClientOptions::default());
    let d = c.destinations(&key(1)).unwrap();
    let mut got: Vec<u8> = d
        .iter()
        .map(|d| match d.dest.addr {
            std::net::IpAddr::V4(a) => a.octets()[3],
            _ => 0,
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, (1..=59).collect::<Vec<_>>());
}

#[test]
fn interrupted_dumps_are_read_again() {
    let kernel = FakeKernel::new(table(50, 0));
    let mut c = client(&kernel, ClientOptions::default());
    kernel.lock().faults.interrupt_dumps = 2;
    assert_eq!(ports(&c.services().unwrap()), (1..=50).collect::<Vec<_>>());
    kernel.lock().faults.interrupt_dumps = 100;
    let e = c.services().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Interrupted);
}

#[test]
fn a_busy_socket_is_drained_then_read() {
    let kernel = FakeKernel::new(table(60, 0));
    let mut c = client(&kernel, ClientOptions::default());
    kernel.lock().faults.stale_dump = true;
    assert_eq!(ports(&c.services().unwrap()), (1..=60).collect::<Vec<_>>());
}

#[test]
fn walks_stop_with_the_callers_error() {
    let kernel = FakeKernel::new(table(5, 2));
    let mut c = client(&kernel, ClientOptions::default());
    let mut seen = 0;
    let r: Result<(), Error> = c.try_for_each_service_with_destinations(|_, d| {
        assert_eq!(d.len(), 2);
        seen += 1;
        if seen == 3 {
            Err(Error::NotSupported)
        } else {
            Ok(())
        }
    });
    assert_eq!(r, Err(Error::NotSupported));
    assert_eq!(seen, 3);
    let mut all = 0;
    c.for_each_service_with_destinations(|_, _| {
        all += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(all, 5);
}

#[test]
fn info_timeouts_and_daemons_decode() {
    let kernel = FakeKernel::new(MemoryBackend::new());
    let mut c = client(&kernel, ClientOptions::default());
    assert_eq!(c.info().unwrap().version, 0x010201);
    assert_eq!(c.timeouts().unwrap(), ipvs_core::Timeouts::DEFAULT);
    assert!(c.daemons().unwrap().is_empty());
}

proptest! {
    /// Whatever datagrams arrive, handling them never panics, and a request only ever gets an
    /// answer that carries its own sequence number and port.
    #[test]
    fn arbitrary_datagrams_never_panic(
        first in any::<u32>(),
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..8),
        frames in proptest::collection::vec((0u32..6, any::<bool>(), -40i32..2, 0u16..0x30), 0..12),
    ) {
        let msgs: Vec<IpvsMessage> = (0..4).map(|_| IpvsMessage::new(IpvsCmd::Flush, vec![])).collect();
        let kinds = [Kind::Ack, Kind::Get, Kind::Dump, Kind::Ack];
        let reqs: Vec<(&IpvsMessage, Kind)> = msgs.iter().zip(kinds).collect();
        let mut next = first;
        let mut tx = Vec::new();
        let mut ex = Exchange::encode(&reqs, FAMILY_ID, 5, &mut next, &mut tx).unwrap();
        for d in &datagrams {
            let _ = ex.handle_datagram(d, 0);
        }
        // Well-framed messages with random sequence offsets, ports, codes and types.
        let mut buf = Vec::new();
        for (off, our_port, code, ty) in &frames {
            let seq = first.wrapping_add(*off);
            let port = if *our_port { 5 } else { 6 };
            match ty % 3 {
                0 => buf.extend(ack(&tx, seq, port, *code, Some("x"))),
                1 => buf.extend(nl_message(netlink_packet_core::NLMSG_DONE, 0, seq, port, &code.to_ne_bytes())),
                _ => buf.extend(nl_message(FAMILY_ID, 2, seq, port, &genl_payload(IpvsCmd::NewService, vec![]))),
            }
        }
        let _ = ex.handle_datagram(&buf, 0);
        let answered: Vec<bool> = ex.into_slots().iter().map(|s| s.result.is_some()).collect();
        for (i, a) in answered.iter().enumerate() {
            if *a && datagrams.is_empty() {
                // Only a frame for our port with this request's sequence number answers it.
                let seq = first.wrapping_add(i as u32);
                prop_assert!(frames.iter().any(|(off, p, _, ty)| *p && first.wrapping_add(*off) == seq && ty % 3 != 2));
            }
        }
    }
}

#[test]
fn fake_kernel_answers_like_the_codec_expects() {
    // The fake's service entries decode with the client's decoders (sanity of the harness).
    let p = genl_payload(
        IpvsCmd::NewService,
        vec![IpvsAttr::Service(convert::service_reply_attrs(&ipvs_core::ServiceStatus::new(Service::new(
            key(5),
        ))))],
    );
    assert_eq!(convert::service_key_from_genl(&p).unwrap(), key(5));
}

/// The cheaper check: a listing of a table that does not change is read twice (the second
/// read's chunk size chosen so that none of its chunks ends where one of the first read's
/// does), however often it is listed, and its chunks are large. The table's entries are all of
/// one size, where chunk sizes that are multiples of one another would end chunks at the same
/// entries again and again.
#[test]
fn an_unchanged_listing_is_read_twice() {
    let kernel = FakeKernel::new(table(1500, 0));
    let mut c = client(&kernel, ClientOptions::default());
    for round in 0..6 {
        let before = kernel.lock().dumps;
        assert_eq!(ports(&c.services().unwrap()), (1..=1500).collect::<Vec<_>>());
        assert_eq!(kernel.lock().dumps - before, 2, "round {round}");
    }
}

/// The kernel's chunking as the client predicts it is the fake kernel's (which fills chunks
/// as `netlink_dump` does: the first at the socket's previous receive length, the others at
/// the current one).
#[test]
fn predicted_chunk_starts_are_the_kernels() {
    let kernel = FakeKernel::new(table(700, 0));
    let mut c = client(&kernel, ClientOptions::default());
    let req = IpvsMessage::new(IpvsCmd::GetService, vec![]);
    for (first, size) in [(3776, 16384), (16384, 20480), (20480, 32448)] {
        c.verify.as_mut().unwrap().rx.resize(size, 0);
        let r = c.read(super::On::Verify, &[(&req, Kind::Dump)]).unwrap().pop().unwrap();
        let lens: Vec<usize> = r.entries.iter().map(|m| (16 + m.len()).next_multiple_of(4)).collect();
        let actual: Vec<usize> =
            (1..r.entries.len()).filter(|&i| r.chunk_of[i] != r.chunk_of[i - 1]).collect();
        let predicted: Vec<usize> = super::dump::predicted_starts(&lens, first, size).collect();
        assert_eq!(predicted, actual, "first chunk {first}, then {size}");
    }
}

/// A change during the second read (the first was whole): the second read skips a service,
/// which the first had; it is read on its own and kept. With the check off, the same change
/// during the only read loses a service (the control).
#[test]
fn a_shift_in_the_checking_read_is_repaired() {
    // The control: unchecked, one service goes missing.
    let kernel = FakeKernel::new(table(400, 0));
    let mut done = false;
    kernel.lock().faults.between_chunks = Some(Box::new(move |t: &mut MemoryBackend, chunk| {
        if chunk == 0 && !done {
            done = true;
            t.delete_service(&key(1)).unwrap();
        }
    }));
    let mut unchecked = client(&kernel, ClientOptions::default().verify_dumps(false));
    let got = ports(&unchecked.services().unwrap());
    let want: Vec<u16> = (2..=400).collect();
    assert_ne!(got, want, "the control: an unchecked dump misses a service");
    assert_eq!(got.len(), 399);

    // Checked: the first read is whole; the change comes during the second.
    let kernel = FakeKernel::new(table(400, 0));
    let mut c = client(&kernel, ClientOptions::default());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = seen.clone();
    let mut done = false;
    kernel.lock().faults.between_chunks = Some(Box::new(move |t: &mut MemoryBackend, chunk| {
        // Chunk 0 of each dump: the second dump is the checking read.
        if chunk == 0 {
            let n = s.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n == 1 && !done {
                done = true;
                t.delete_service(&key(1)).unwrap();
            }
        }
    }));
    // Port 1 was deleted during the listing: it may or may not be listed; every other is.
    let got = ports(&c.services().unwrap());
    let rest: Vec<u16> = got.iter().copied().filter(|p| *p != 1).collect();
    assert_eq!(rest, want);
    assert!(seen.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}
