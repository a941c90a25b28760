//! `ipvsadm-rs`: a drop-in for ipvsadm 1.31 built on the ipvs library.
//!
//! It accepts ipvsadm's command line, prints ipvsadm's listings byte for byte and its messages,
//! and exits with ipvsadm's statuses. Everything of substance lives in the library:
//! `ipvs_core::ipvsadm` parses the command line and the `-R` rules and formats every listing;
//! `ipvs_sys_netlink::Client` talks to the kernel. This file only wires them together.
//!
//! ```text
//! ipvsadm-rs -A -t 10.1.2.3:80 -s wrr
//! ipvsadm-rs -a -t 10.1.2.3:80 -r 192.168.1.10 -m -w 2
//! ipvsadm-rs -Ln --stats
//! ipvsadm-rs -Sn | ipvsadm-rs -R
//! ipvsadm-rs --apply --dry-run < wanted.rules   # print the minimal plan as -R lines
//! ipvsadm-rs --apply < wanted.rules             # make the table exactly that
//! ```
//!
//! `--apply [--dry-run]` is the one extension: it makes the kernel's services and real servers
//! exactly those of the `-R` text on standard input with the fewest operations (settings
//! changed in place, so live connections survive), or prints that plan.

use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;

use ipvs_core::ipvsadm::cmdline::{self, Command, ListCommand, ListTarget, Parser};
use ipvs_core::ipvsadm::rules::{self, CommentMode, RestoreItem, RuleSet};
use ipvs_core::ipvsadm::strerror::{self, Call};
use ipvs_core::ipvsadm::{conn, list, NumericResolver, Resolver};
use ipvs_core::plan::plan_for;
use ipvs_core::{Backend, Error, OnError, Operation, Protocol};
use ipvs_sys_netlink::Client;

/// Name lookups through the C library, as ipvsadm does them without `-n`.
struct LibcResolver;

impl Resolver for LibcResolver {
    fn host_name(&self, addr: IpAddr) -> Option<String> {
        let sa: std::net::SocketAddr = (addr, 0).into();
        let (storage, len) = sockaddr_of(&sa);
        let mut host = [0 as libc::c_char; 1025];
        // SAFETY: storage holds a valid sockaddr of `len` bytes; host is a writable buffer of
        // the length passed; the service buffer is NULL with length 0, as allowed.
        let rc = unsafe {
            libc::getnameinfo(
                (&storage as *const libc::sockaddr_storage).cast(),
                len,
                host.as_mut_ptr(),
                host.len() as libc::socklen_t,
                std::ptr::null_mut(),
                0,
                libc::NI_NAMEREQD,
            )
        };
        if rc != 0 {
            return None;
        }
        // SAFETY: getnameinfo wrote a NUL-terminated string into host.
        Some(unsafe { CStr::from_ptr(host.as_ptr()) }.to_string_lossy().into_owned())
    }

    fn service_name(&self, port: u16, protocol: Protocol) -> Option<String> {
        let proto = CString::new(protocol_name(protocol)?).ok()?;
        // SAFETY: proto is a valid C string; getservbyport returns NULL or a pointer to static
        // storage, read at once.
        let ent = unsafe { libc::getservbyport(i32::from(port.to_be()), proto.as_ptr()) };
        if ent.is_null() {
            return None;
        }
        // SAFETY: ent is non-NULL and s_name points to a NUL-terminated string.
        Some(unsafe { CStr::from_ptr((*ent).s_name) }.to_string_lossy().into_owned())
    }

    fn host_addr(&self, name: &str) -> Option<Ipv4Addr> {
        use std::net::ToSocketAddrs;
        (name, 0).to_socket_addrs().ok()?.find_map(|a| match a.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
    }

    fn service_port(&self, name: &str, protocol: Protocol) -> Option<u16> {
        let proto = CString::new(protocol_name(protocol)?).ok()?;
        let name = CString::new(name).ok()?;
        // SAFETY: both are valid C strings; the result is NULL or static storage, read at once.
        let ent = unsafe { libc::getservbyname(name.as_ptr(), proto.as_ptr()) };
        if ent.is_null() {
            return None;
        }
        // SAFETY: ent is non-NULL; s_port holds the port in network byte order in an int.
        Some(u16::from_be(unsafe { (*ent).s_port } as u16))
    }
}

fn protocol_name(p: Protocol) -> Option<&'static str> {
    match p {
        Protocol::Tcp => Some("tcp"),
        Protocol::Udp => Some("udp"),
        Protocol::Sctp => Some("sctp"),
        _ => None,
    }
}

fn sockaddr_of(sa: &std::net::SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data for which all-zero bytes are valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match sa {
        std::net::SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in and suitably aligned.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: 0,
            };
            // SAFETY: sockaddr_storage is larger than sockaddr_in6 and suitably aligned.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// ipvsadm's process exit status for `return result` with result -1.
const FAIL: u8 = 255;

struct Ctx {
    program: String,
    client: Client,
    out: std::io::BufWriter<std::io::Stdout>,
}

impl Ctx {
    fn resolver(numeric: bool) -> &'static dyn Resolver {
        if numeric {
            &NumericResolver
        } else {
            &LibcResolver
        }
    }

    /// Runs one command; returns ipvsadm's status for it (0 or FAIL), or exits for the cases
    /// where ipvsadm exits at once.
    fn run(&mut self, cmd: Command, reading_stdin: bool) -> u8 {
        match cmd {
            Command::Help => {
                let _ = write!(self.out, "{}", cmdline::usage(&self.program));
                0
            }
            Command::Version => {
                let _ = write!(self.out, "{}", cmdline::version());
                0
            }
            Command::Restore => {
                if reading_stdin {
                    self.fatal(
                        &format!("Try `{0} -h' or '{0} --help' for more information.", self.program),
                        FAIL,
                    );
                }
                self.restore()
            }
            Command::Save { numeric } => match self.client.services_with_destinations() {
                Ok(table) => {
                    self.emit(&list::save(&table, numeric, Self::resolver(numeric)));
                    0
                }
                Err(e) => self.fatal(&strerror::message(Call::GetServices, errno(&e)), 1),
            },
            Command::List(l) => self.list(l),
            other => {
                let Some(op) = other.to_operation() else { return 0 };
                match self.client.apply(&op) {
                    Ok(()) => 0,
                    Err(e) => {
                        self.warn(strerror::message(Call::of(&op), errno(&e)));
                        FAIL
                    }
                }
            }
        }
    }

    fn list(&mut self, l: ListCommand) -> u8 {
        let f = l.format;
        let resolver = Self::resolver(f.numeric);
        let text = match l.target {
            ListTarget::All => self
                .client
                .info()
                .and_then(|info| Ok((info, self.client.services_with_destinations()?)))
                .map(|(info, table)| list::list_all(&info, &table, &f, resolver))
                .map_err(|e| strerror::message(Call::GetServices, errno(&e))),
            ListTarget::Service(key) => self
                .client
                .service_with_destinations(&key)
                .map(|(svc, dests)| list::list_service(&svc, &dests, &f, resolver))
                .map_err(|e| strerror::message(Call::GetService, errno(&e))),
            ListTarget::Timeout => self
                .client
                .timeouts()
                .map(|t| list::list_timeout(&t))
                .map_err(|e| strerror::message(Call::Other, errno(&e))),
            ListTarget::Daemon => self
                .client
                .daemons()
                .map(|d| list::list_daemons(&d))
                .map_err(|e| strerror::message(Call::Other, errno(&e))),
            ListTarget::Connections => match std::fs::read("/proc/net/ip_vs_conn") {
                Ok(bytes) => conn::list_connections(&bytes, &f, resolver).map_err(|e| e.to_string()),
                Err(e) => Err(format!("open(\"/proc/net/ip_vs_conn\"): {e}")),
            },
        };
        match text {
            Ok(t) => {
                self.emit(&t);
                0
            }
            Err(msg) => self.fatal(&msg, 1),
        }
    }

    /// `-R`: every line of standard input in order. Kernel errors are printed and do not stop
    /// the restore; the status is the last line's. A syntax error ends it as ipvsadm does.
    ///
    /// Runs of consecutive table changes go to the kernel pipelined ([`Backend::apply_all`]:
    /// many requests per `sendmsg`); the kernel carries out each request whatever the earlier
    /// ones did, exactly as ipvsadm's one-by-one restore does, and the messages come out in
    /// line order. Lines are parsed on a second thread while the first sends what is parsed,
    /// so parsing and the kernel's work overlap.
    fn restore(&mut self) -> u8 {
        /// Lines handed from the parsing thread at a time, and changes sent at a time.
        const CHUNK: usize = 256;
        const SEND_AT: usize = 1024;
        let input = read_stdin(self);
        let program = self.program.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RestoreItem>>(64);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let parser = Parser::new().program(program).with_resolver(&LibcResolver);
                let mut chunk = Vec::with_capacity(CHUNK);
                for item in rules::restore_items(&input, CommentMode::Ipvsadm, &parser) {
                    chunk.push(item);
                    if chunk.len() == CHUNK
                        && tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err()
                    {
                        return;
                    }
                }
                let _ = tx.send(chunk);
            });
            let mut status = 0;
            let mut batch: Vec<Operation> = Vec::new();
            for item in rx.iter().flatten() {
                match item {
                    RestoreItem::Line(line) => match line.command.to_operation() {
                        Some(op) => {
                            batch.push(op);
                            if batch.len() >= SEND_AT {
                                status = self.flush_batch(&mut batch).unwrap_or(status);
                            }
                        }
                        None => {
                            self.flush_batch(&mut batch);
                            status = self.run(line.command, true);
                        }
                    },
                    RestoreItem::Skipped(e) => {
                        self.flush_batch(&mut batch);
                        self.warn(&e.error);
                        status = FAIL;
                    }
                    RestoreItem::Fatal(fatal) => {
                        self.flush_batch(&mut batch);
                        let code = fatal.error.exit_code();
                        self.fatal(&fatal.error.to_string(), u8::try_from(code & 0xff).unwrap_or(FAIL));
                    }
                }
            }
            self.flush_batch(&mut batch).unwrap_or(status)
        })
    }

    /// Sends the pending operations of a restore in one pipelined batch, prints a message for
    /// each that failed, and returns the status of the last one (`None` for an empty batch).
    fn flush_batch(&mut self, batch: &mut Vec<Operation>) -> Option<u8> {
        if batch.is_empty() {
            return None;
        }
        let results = self.client.apply_all(batch, OnError::Continue);
        let mut status = 0;
        for (op, r) in batch.iter().zip(results) {
            status = match r {
                Ok(()) => 0,
                Err(e) => {
                    self.warn(strerror::message(Call::of(op), errno(&e)));
                    FAIL
                }
            };
        }
        batch.clear();
        Some(status)
    }

    /// `--apply` (an extension of ipvsadm): makes the kernel's services and real servers
    /// exactly those described by the `-R` text on standard input, with the minimal plan
    /// ([`ipvs_core::plan`]: edits in place, one deletion per removed service). With
    /// `dry_run`, prints the plan as `-R` lines (one operation per line, nothing else) and
    /// changes nothing. Timeouts and sync daemons are left alone.
    fn apply_rules(&mut self, dry_run: bool) -> u8 {
        let input = read_stdin(self);
        let parser = Parser::new().program(self.program.clone()).with_resolver(&LibcResolver);
        let desired = match RuleSet::from_text_with(&input, CommentMode::Ipvsadm, &parser) {
            Ok(set) => set,
            Err(e) => self.fatal(&format!("{}: {e}", self.program), FAIL),
        };
        let plan = match plan_for(&mut self.client, &desired.services) {
            Ok(p) => p,
            Err(e) => self.fatal(&strerror::message(Call::GetServices, errno(&e)), 1),
        };
        if dry_run {
            let _ = write!(self.out, "{plan}");
            return 0;
        }
        let report = plan.apply(&mut self.client, OnError::Continue);
        let mut status = 0;
        for (i, e) in report.failures() {
            let op = &plan.steps()[i].op;
            self.warn(format_args!("{}: {op}", strerror::message(Call::of(op), errno(e))));
            status = FAIL;
        }
        if status != 0 {
            // Undo what went through, so that refused rules leave the table as it was (an
            // apply whose additions the kernel refused had already deleted services: found by
            // the bad-input catalogue).
            plan.rollback(&mut self.client, &report);
        }
        status
    }

    /// Writes a whole listing to standard output in one write (after what is pending).
    fn emit(&mut self, text: &str) {
        // A write as large as the buffer or larger goes straight to standard output.
        let _ = self.out.flush();
        let _ = self.out.get_mut().lock().write_all(text.as_bytes());
    }

    /// Prints a message on standard error after what is pending on standard output, as
    /// ipvsadm's unbuffered-stderr, line-buffered-stdout order comes out.
    fn warn(&mut self, msg: impl std::fmt::Display) {
        let _ = self.out.flush();
        eprintln!("{msg}");
    }

    fn fatal(&mut self, msg: &str, code: u8) -> ! {
        self.warn(msg);
        std::process::exit(i32::from(code));
    }
}

fn read_stdin(ctx: &mut Ctx) -> String {
    // Bytes, as ipvsadm reads them; text that is not UTF-8 is read lossily (it was refused
    // whole before, where ipvsadm goes on: found by the bad-input catalogue).
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        ctx.fatal(&format!("reading standard input: {e}"), FAIL);
    }
    String::from_utf8(input).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `--apply [--dry-run]`, in any order, and nothing else: the extension's command line.
fn apply_args(args: &[String]) -> Option<bool> {
    let apply = args.iter().filter(|a| *a == "--apply").count();
    let dry = args.iter().filter(|a| *a == "--dry-run").count();
    (apply == 1 && dry <= 1 && apply + dry == args.len()).then_some(dry == 1)
}

fn errno(e: &Error) -> i32 {
    e.errno().unwrap_or(libc::EINVAL)
}

fn main() -> ExitCode {
    // Arguments are bytes, as C sees them: `std::env::args` would panic on one that is not
    // UTF-8 (found by the bad-input catalogue); such bytes are read lossily.
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let program = args.next().unwrap_or_else(|| "ipvsadm".into());
    let args: Vec<String> = args.collect();

    let client = match Client::new() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", strerror::init_failure(errno(&e)));
            return ExitCode::from(2);
        }
    };
    let mut ctx = Ctx { program: program.clone(), client, out: std::io::BufWriter::new(std::io::stdout()) };
    if let Ok(info) = ctx.client.info() {
        if let Some(w) = strerror::version_warning(&info) {
            eprint!("{w}");
        }
    }
    if let Some(dry_run) = apply_args(&args) {
        let status = ctx.apply_rules(dry_run);
        let _ = ctx.out.flush();
        return ExitCode::from(status);
    }
    let parser = Parser::new().program(program).with_resolver(&LibcResolver);
    let status = match parser.parse(&args) {
        Ok(cmd) => ctx.run(cmd, false),
        Err(e) => ctx.fatal(&e.to_string(), u8::try_from(e.exit_code() & 0xff).unwrap_or(FAIL)),
    };
    let _ = ctx.out.flush();
    ExitCode::from(status)
}
