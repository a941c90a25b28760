//! `bound`: the physical bound for restoring and saving an IPVS table, that is what the kernel
//! itself costs. It is the reference `scripts/bench` compares `ipvsadm` and `ipvsadm-rs` with.
//!
//! ```text
//! bound restore [-w WINDOW] RULES   send every change of RULES, count the acknowledgements
//! bound save [-b BYTES] RULES       dump the services, then the real servers of each service
//! ```
//!
//! RULES is `ipvsadm -Sn` text (what `ipvsadm -R` reads, numeric only). Everything that is not
//! talking to the kernel happens before the clock starts: the rules are parsed, every request is
//! encoded (with `NLM_F_ACK` and increasing sequence numbers) into the buffers that go out as they
//! are, and the `"IPVS"` family id is resolved (the time this takes is printed as "prepared").
//! Then:
//!
//! * `restore` sends the requests WINDOW at a time, one `sendmsg` per window (the kernel carries
//!   them out in order), and reads the window's acknowledgements before sending the next one.
//!   The receive buffer is made large (`SO_RCVBUFFORCE`; IPVS needs CAP_NET_ADMIN anyway) so that
//!   a whole window of acknowledgements fits: one that does not would be dropped. `-w 1` is the
//!   naive client, one round trip per request. Exits 1 if any acknowledgement carries an error.
//! * `save` reads one GET_SERVICE dump, then one GET_DEST dump per service of RULES (a socket
//!   runs one dump at a time, so that is one round trip per service), and counts the messages up
//!   to each `NLMSG_DONE`. Nothing is decoded beyond the netlink header, and only the `-A` lines
//!   of RULES are parsed (`ipvsadm -Sn` has nothing to parse at all). Every `recv` is given
//!   BYTES (default 4096), which sizes the kernel's dump chunks. Exits 1 if the counts are not
//!   those of RULES.
//!
//! Each prints one line ending in the elapsed seconds. It needs a kernel with IPVS, so it runs
//! inside the VM (`scripts/bench` runs it there next to `ipvsadm` and `ipvsadm-rs`):
//!
//! ```sh
//! cargo build --release -p ipvs-sys-netlink --example bound
//! scripts/ipvs-vm 'target/release/examples/bound restore rules && target/release/examples/bound save rules'
//! ```
//!
//! Restore into a fresh table: IPVS keeps deleted real servers in a trash list for a minute or
//! more, and every new real server searches it linearly, so a restore right after `ipvsadm -C`
//! measures the flush as much as the restore.

use std::error::Error;
use std::os::fd::AsRawFd;
use std::time::Instant;

use ipvs_core::ipvsadm::cmdline::Parser;
use ipvs_core::ipvsadm::rules::{operations, CommentMode};
use ipvs_core::{Operation, ServiceKey};
use ipvs_sys_netlink::codec::ctrl::{decode_family_reply, encode_get_family_request, FamilyReply};
use ipvs_sys_netlink::codec::{
    encode_request_into, Frames, IpvsAttr, IpvsCmd, IpvsMessage, RequestHeader, NLMSG_HDRLEN,
};
use ipvs_sys_netlink::convert::{operation_message, service_key_attrs};
use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP};
use netlink_sys::{protocols::NETLINK_GENERIC, Socket};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Requests per `sendmsg` unless `-w` says otherwise. In the VM (5,000 services x 4 real
/// servers, a fresh namespace each time, medians of three) windows from 16 to 25,000 took
/// 0.93 to 1.28 s, within the noise of one another, and one request per `sendmsg` 1.33 s: the
/// kernel's work per request dwarfs the system calls. 1024 was among the fastest.
const DEFAULT_WINDOW: usize = 1024;
/// Receive and send buffers asked for; the kernel doubles them. An acknowledgement costs about
/// 768 bytes of receive buffer, so 16 MiB holds some 40,000; a `sendmsg` may be as large as the
/// send buffer (a request is about 100 bytes).
const SOCKET_BUFFER: libc::c_int = 16 << 20;
/// The length passed to `recv` unless `-b` says otherwise. The kernel allocates each dump chunk
/// as large as the largest length ever passed to `recv` on the socket (at most 32 KiB, at
/// least `NLMSG_GOODSIZE`, 3776 bytes with 4 KiB pages), and Debian's kernel zeroes every
/// allocation (`init_on_alloc`). With 5,000 one-chunk real-server dumps, 4 KiB saved in 0.9 s
/// where 32 KiB took 1.6 s.
const DEFAULT_RX_LEN: usize = 4096;

fn main() {
    if let Err(e) = run() {
        eprintln!("bound: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    let usage = "usage: bound restore [-w WINDOW] RULES | bound save [-b BYTES] RULES";
    let (mut window, mut rx_len, mut words) = (DEFAULT_WINDOW, DEFAULT_RX_LEN, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-w" => window = args.next().ok_or(usage)?.parse::<usize>()?.max(1),
            "-b" => rx_len = args.next().ok_or(usage)?.parse::<usize>()?.max(NLMSG_HDRLEN),
            _ => words.push(arg),
        }
    }
    let [cmd, file] = words.as_slice() else { return Err(usage.into()) };
    let started = Instant::now();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let ok = match cmd.as_str() {
        "restore" => restore(&mut Netlink::open(rx_len)?, &parse(&text)?, window, started)?,
        "save" => save(&mut Netlink::open(rx_len)?, &text, started)?,
        _ => return Err(usage.into()),
    };
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

/// The table changes of rules text.
fn parse(text: &str) -> Result<Vec<Operation>> {
    let ops = operations(text, CommentMode::Ipvsadm, &Parser::new()).map_err(|e| format!("rules: {e}"))?;
    Ok(ops.into_iter().map(|(_, op)| op).collect())
}

/// A generic-netlink socket with the IPVS family resolved.
struct Netlink {
    sock: Socket,
    family: u16,
    rx: Vec<u8>,
}

impl Netlink {
    fn open(rx_len: usize) -> Result<Self> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE] {
            let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: the value is a live c_int of `len` bytes that setsockopt only reads.
            let rc = unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&SOCKET_BUFFER as *const i32).cast(),
                    len,
                )
            };
            if rc < 0 {
                return Err(
                    format!("SO_RCVBUFFORCE/SO_SNDBUFFORCE: {}", std::io::Error::last_os_error()).into()
                );
            }
        }
        let mut nl = Netlink { sock, family: 0, rx: vec![0; rx_len] };
        nl.sock.send(&encode_get_family_request(1, 0, 0), 0)?;
        while nl.family == 0 {
            let len = nl.sock.recv(&mut &mut nl.rx[..], 0)?;
            for frame in Frames::new(&nl.rx[..len]) {
                match decode_family_reply(&frame?)? {
                    FamilyReply::Family(info) => nl.family = info.id,
                    FamilyReply::Error { code, .. } => {
                        return Err(format!("resolving the IPVS family: errno {}", -code).into())
                    }
                    _ => {}
                }
            }
        }
        Ok(nl)
    }

    /// Receives one datagram and calls `f` with each message's type, sequence number and
    /// payload.
    fn recv(&mut self, mut f: impl FnMut(u16, u32, &[u8])) -> Result<()> {
        let len = self.sock.recv(&mut &mut self.rx[..], libc::MSG_TRUNC)?;
        if len > self.rx.len() {
            return Err(
                format!("a {len}-byte datagram does not fit the {}-byte buffer", self.rx.len()).into()
            );
        }
        for frame in Frames::new(&self.rx[..len]) {
            let frame = frame?;
            f(frame.header.message_type, frame.header.sequence, frame.payload());
        }
        Ok(())
    }
}

/// The errno of an `NLMSG_ERROR` payload (0 for an acknowledgement).
fn error_code(payload: &[u8]) -> i32 {
    payload.get(..4).map_or(i32::MIN, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// `started`: when the program started reading the rules.
fn restore(nl: &mut Netlink, ops: &[Operation], window: usize, started: Instant) -> Result<bool> {
    // Every request, encoded into the buffers that are sent as they are, one per window.
    let mut seq = 0;
    let mut batches = Vec::new();
    for chunk in ops.chunks(window) {
        let mut buf = Vec::new();
        for op in chunk {
            seq += 1;
            op.validate().map_err(|e| format!("operation {seq}: {e}"))?;
            let header = RequestHeader { family_id: nl.family, flags: NLM_F_ACK, sequence: seq, port: 0 };
            encode_request_into(&mut buf, &operation_message(op)?, header)?;
        }
        batches.push((buf, chunk.len()));
    }
    let start = Instant::now();
    let (mut acks, mut errors) = (0usize, Vec::new());
    for (buf, n) in &batches {
        nl.sock.send(buf, 0)?;
        let mut left = *n;
        while left > 0 {
            nl.recv(|kind, seq, payload| {
                if kind == NLMSG_ERROR {
                    left -= 1;
                    match error_code(payload) {
                        0 => acks += 1,
                        code => errors.push((seq, code)),
                    }
                }
            })?;
        }
    }
    let elapsed = start.elapsed();

    for (seq, code) in errors.iter().take(5) {
        let op = &ops[*seq as usize - 1];
        eprintln!("bound: request {seq} ({op:?}): {}", std::io::Error::from_raw_os_error(-code));
    }
    println!(
        "bound restore: {} requests, {acks} acks, {} errors, {} sendmsg (window {window}), prepared in {:.3} s, {:.6} s",
        ops.len(),
        errors.len(),
        batches.len(),
        (start - started).as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(errors.is_empty() && acks == ops.len())
}

fn save(nl: &mut Netlink, text: &str, started: Instant) -> Result<bool> {
    // Only the services' lines are parsed (`ipvsadm -S` starts them with `-A`), and real servers
    // are only counted: `ipvsadm -S` has nothing to parse.
    let service_lines: String =
        text.lines().filter(|l| l.starts_with("-A ")).map(|l| l.to_owned() + "\n").collect();
    let services: Vec<ServiceKey> = parse(&service_lines)?
        .iter()
        .filter_map(|op| match op {
            Operation::AddService(s) => Some(s.key),
            _ => None,
        })
        .collect();
    let expected_dests = text.lines().filter(|l| l.starts_with("-a ")).count();
    let encode = |cmd, nlas, seq| {
        let mut buf = Vec::new();
        let header = RequestHeader { family_id: nl.family, flags: NLM_F_DUMP, sequence: seq, port: 0 };
        encode_request_into(&mut buf, &IpvsMessage::new(cmd, nlas), header).map(|_| buf)
    };
    let service_dump = encode(IpvsCmd::GetService, vec![], 1)?;
    let dest_dumps = services
        .iter()
        .zip(2..)
        .map(|(key, seq)| encode(IpvsCmd::GetDest, vec![IpvsAttr::Service(service_key_attrs(key))], seq))
        .collect::<std::result::Result<Vec<_>, _>>()?;

    let start = Instant::now();
    let got_services = dump(nl, &service_dump)?;
    let mut got_dests = 0;
    for req in &dest_dumps {
        got_dests += dump(nl, req)?;
    }
    let elapsed = start.elapsed();

    println!(
        "bound save: {got_services} services, {got_dests} real servers, {} dumps, prepared in {:.3} s, {:.6} s",
        1 + dest_dumps.len(),
        (start - started).as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let ok = got_services == services.len() && got_dests == expected_dests;
    if !ok {
        eprintln!("bound: expected {} services and {expected_dests} real servers", services.len());
    }
    Ok(ok)
}

/// Sends one dump request and counts its messages up to `NLMSG_DONE`.
fn dump(nl: &mut Netlink, req: &[u8]) -> Result<usize> {
    nl.sock.send(req, 0)?;
    let (mut count, mut done, mut error) = (0, false, 0);
    while !done {
        nl.recv(|kind, _, payload| match kind {
            NLMSG_DONE => done = true,
            NLMSG_ERROR => (done, error) = (true, error_code(payload)),
            _ => count += 1,
        })?;
    }
    match error {
        0 => Ok(count),
        code => Err(format!("dump: {}", std::io::Error::from_raw_os_error(-code)).into()),
    }
}
