//! The two command lines over one daemon:
//!
//! ```text
//! ldirectord-rs [-d|--debug] [--check|--dry-run] [--pid-file PATH] [--metrics ADDR:PORT]
//!               [--status-socket PATH|--no-status-socket] [--json] [--] [CONFIG] start|stop|restart|try-restart|reload|force-reload|status
//! ipvs-director --keepalived CONFIG [--check|--dry-run] [-I|--dont-release-ipvs] [-d] [--metrics ADDR:PORT] [--status-socket PATH|--no-status-socket]
//! ipvs-director --ldirectord CONFIG [--check|--dry-run] [-d] [--metrics ADDR:PORT] [--status-socket PATH|--no-status-socket]
//! ipvs-director status [--status-socket PATH] [--json]
//! ```
//!
//! Both daemons also take [`DaemonOptions`]' `--reconcile-interval SECONDS` (10), `--own-table`,
//! `--drain-timeout SECONDS` (300; 0 deletes a removed real server at once),
//! `--expire-quiescent-template` and `--expire-nodest-conn` (set those sysctls to 1 at start),
//! and read systemd's `NOTIFY_SOCKET`/`WATCHDOG_USEC`; `ldirectord-rs --foreground` stays in the
//! foreground without `-d`'s debug lines (for systemd's `Type=notify`).
//!
//! `ldirectord-rs` follows ldirectord(8): `CONFIG` defaults to `ldirectord.cf` and is looked
//! for in `/etc/ha.d/`, then `/etc/ha.d/conf/`, then as given; `start` daemonizes and writes
//! `/var/run/ldirectord.NAME.pid` (NAME is the configuration's file name) unless `-d` or
//! `supervised = yes` keep it in the foreground, logging to standard error; `stop`, `reload`
//! and `status` find the running daemon through that pid file (SIGTERM, SIGHUP; `status`
//! exits 0 when running, 3 when stopped, 1 with a stale pid file). `ipvs-director` always
//! runs in the foreground, as keepalived does under systemd.
//!
//! `--check` parses the configuration, prints its warnings and exits (0 when it is good);
//! `--dry-run` prints the plan of the first apply (ipvsadm `-R` lines) and exits, changing
//! nothing.
//!
//! Observing ([`super::status`]): `--metrics ADDR:PORT` serves `/metrics` (Prometheus) and
//! `/status.json` over HTTP; the status socket (`/run/ldirectord-rs.NAME.sock`,
//! `/run/ipvs-director.sock`, or `--status-socket PATH`; `--no-status-socket` for none) gives
//! one JSON snapshot per connection. `status` reads that socket and prints a summary (`--json`:
//! the document) and exits 0; when no daemon answers, `ldirectord-rs status` falls back to the
//! pid file as before, and `ipvs-director status` exits 3.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use ipvs_core::director::config::{Dialect, DirectorConfig, OnStop};
use ipvs_core::director::{keepalived, ldirectord};

use super::daemon::{Daemon, Options as DaemonOptions};
use super::log::Logger;
use super::observe::{self, ReadError, SocketFile};
use super::source::{FsSource, SystemResolver};
use super::status;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// ldirectord's `start`, or `ipvs-director`: run the daemon.
    Start,
    /// `stop`: SIGTERM to the running daemon.
    Stop,
    /// `restart` / `try-restart` (`try` only restarts a running daemon).
    Restart {
        /// `try-restart`.
        only_if_running: bool,
    },
    /// `reload` / `force-reload`: SIGHUP to the running daemon.
    Reload,
    /// `status`.
    Status,
    /// `--check`: validate the configuration and exit.
    Check,
    /// `--dry-run`: print the first apply's plan and exit.
    DryRun,
    /// `-h`.
    Help,
    /// `-v`.
    Version,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// The configuration's dialect.
    pub dialect: Dialect,
    /// The configuration file (after ldirectord's search in `/etc/ha.d`).
    pub config: PathBuf,
    /// What to do.
    pub action: Action,
    /// `-d`: stay in the foreground and log verbosely to standard error.
    pub debug: bool,
    /// `ipvs-director`: always in the foreground.
    pub foreground: bool,
    /// keepalived's `-I` / `--dont-release-ipvs`: leave the table on stop.
    pub keep_on_stop: bool,
    /// The pid file (`start` in the background, `stop`, `reload`, `status`).
    pub pid_file: PathBuf,
    /// `--metrics ADDR:PORT`: where to serve `/metrics` and `/status.json`.
    pub metrics: Option<SocketAddr>,
    /// The status socket (none with `--no-status-socket`).
    pub status_socket: Option<PathBuf>,
    /// Whether the status socket was given (`--status-socket`): then failing to bind it is an
    /// error, while the default is only logged.
    pub status_socket_given: bool,
    /// `status --json`: print the raw document.
    pub json: bool,
    /// Drift repair, draining, sysctls ([`DaemonOptions`]).
    pub daemon: DaemonOptions,
}

/// The options both command lines share: the observers' endpoints.
#[derive(Debug, Default)]
struct Observing {
    metrics: Option<SocketAddr>,
    socket: Option<Option<PathBuf>>,
    json: bool,
}

impl Observing {
    /// Takes `a` (and its value from `it`) if it is one of these options.
    fn take(&mut self, a: &str, it: &mut impl Iterator<Item = String>) -> Result<bool, String> {
        match a {
            "--metrics" => {
                let v = it.next().ok_or("--metrics needs ADDR:PORT")?;
                self.metrics = Some(parse_listen(&v)?);
            }
            "--status-socket" => {
                self.socket = Some(Some(PathBuf::from(it.next().ok_or("--status-socket needs a path")?)))
            }
            "--no-status-socket" => self.socket = Some(None),
            "--json" => self.json = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(self, args: &mut Args, default_socket: PathBuf) {
        args.metrics = self.metrics;
        args.status_socket_given = matches!(self.socket, Some(Some(_)));
        args.status_socket = self.socket.unwrap_or(Some(default_socket));
        args.json = self.json;
    }
}

/// `ADDR:PORT` (`127.0.0.1:9100`, `[::1]:9100`), or `:PORT` for every IPv4 address.
pub fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    let full = if v.starts_with(':') { format!("0.0.0.0{v}") } else { v.to_string() };
    full.parse().map_err(|_| format!("--metrics: {v} is not ADDR:PORT"))
}

/// ldirectord's usage line.
pub const LDIRECTORD_USAGE: &str =
    "usage: ldirectord-rs [-d|--debug] [--check|--dry-run] [--pid-file PATH] [--metrics ADDR:PORT] \
[--status-socket PATH|--no-status-socket] [--json] [--foreground] [--reconcile-interval SECONDS] \
[--own-table] [--drain-timeout SECONDS] [--expire-quiescent-template] [--expire-nodest-conn] [--] [configfile] \
start|stop|restart|try-restart|reload|force-reload|status\n       ldirectord-rs -h|--help|-v|--version";

/// ipvs-director's usage line.
pub const DIRECTOR_USAGE: &str =
    "usage: ipvs-director (--keepalived|--ldirectord) CONFIG [--check|--dry-run] \
[-I|--dont-release-ipvs] [-d] [--metrics ADDR:PORT] [--status-socket PATH|--no-status-socket] \
[--reconcile-interval SECONDS] [--own-table] [--drain-timeout SECONDS] [--expire-quiescent-template] \
[--expire-nodest-conn]\n       \
ipvs-director status [--status-socket PATH] [--json]";

/// `ipvs-director`'s status socket unless `--status-socket` says otherwise.
pub const DIRECTOR_SOCKET: &str = "/run/ipvs-director.sock";

/// Where ldirectord looks for a configuration named `name`.
pub fn find_ldirectord_config(name: &str) -> PathBuf {
    for dir in ["/etc/ha.d", "/etc/ha.d/conf"] {
        let p = Path::new(dir).join(name);
        if !name.contains('/') && p.is_file() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// Parses ldirectord's command line (without the program name).
pub fn parse_ldirectord(args: &[OsString]) -> Result<Args, String> {
    let mut debug = false;
    let mut mode = None;
    let mut pid_file = None;
    let mut words = Vec::new();
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    let mut opts = true;
    let mut observing = Observing::default();
    let mut daemon = DaemonOptions::default();
    let mut foreground = false;
    while let Some(a) = it.next() {
        if opts && (observing.take(&a, &mut it)? || daemon.take(&a, &mut it)?) {
            continue;
        }
        match a.as_str() {
            "--" if opts => opts = false,
            "--foreground" if opts => foreground = true,
            "-d" | "--debug" if opts => debug = true,
            "-h" | "-?" | "--help" if opts => mode = Some(Action::Help),
            "-v" | "--version" if opts => mode = Some(Action::Version),
            "--check" if opts => mode = Some(Action::Check),
            "--dry-run" if opts => mode = Some(Action::DryRun),
            "--pid-file" if opts => {
                pid_file = Some(PathBuf::from(it.next().ok_or("--pid-file needs a path")?))
            }
            s if opts && s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            _ => words.push(a),
        }
    }
    let (config, action) = match (&mode, words.as_slice()) {
        (Some(Action::Help | Action::Version), _) => {
            (String::from("ldirectord.cf"), mode.clone().unwrap_or(Action::Help))
        }
        (Some(m), [c]) => (c.clone(), m.clone()),
        (Some(m), []) => ("ldirectord.cf".into(), m.clone()),
        (None, [cmd]) => ("ldirectord.cf".into(), action_word(cmd)?),
        (None, [c, cmd]) => (c.clone(), action_word(cmd)?),
        _ => return Err("expected [configfile] and one command".into()),
    };
    let name = if words.len() >= 2 || (mode.is_some() && words.len() == 1) {
        Path::new(&config)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| config.clone())
    } else {
        "ldirectord".into()
    };
    let mut out = Args {
        dialect: Dialect::Ldirectord,
        config: find_ldirectord_config(&config),
        action,
        debug,
        foreground: debug || foreground,
        keep_on_stop: false,
        pid_file: pid_file.unwrap_or_else(|| PathBuf::from(format!("/var/run/ldirectord.{name}.pid"))),
        metrics: None,
        status_socket: None,
        status_socket_given: false,
        json: false,
        daemon,
    };
    observing.finish(&mut out, PathBuf::from(format!("/run/ldirectord-rs.{name}.sock")));
    Ok(out)
}

fn action_word(w: &str) -> Result<Action, String> {
    Ok(match w {
        "start" => Action::Start,
        "stop" => Action::Stop,
        "restart" => Action::Restart { only_if_running: false },
        "try-restart" => Action::Restart { only_if_running: true },
        "reload" | "force-reload" => Action::Reload,
        "status" => Action::Status,
        _ => return Err(format!("unknown command {w}")),
    })
}

/// Parses `ipvs-director`'s command line (without the program name).
pub fn parse_director(args: &[OsString]) -> Result<Args, String> {
    let mut dialect = None;
    let mut config = None;
    let mut action = Action::Start;
    let mut debug = false;
    let mut keep = false;
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    let mut observing = Observing::default();
    let mut daemon = DaemonOptions::default();
    while let Some(a) = it.next() {
        if observing.take(&a, &mut it)? || daemon.take(&a, &mut it)? {
            continue;
        }
        match a.as_str() {
            "--keepalived" | "--ldirectord" => {
                dialect = Some(if a == "--keepalived" { Dialect::Keepalived } else { Dialect::Ldirectord });
                config =
                    Some(PathBuf::from(it.next().ok_or_else(|| format!("{a} needs a configuration file"))?));
            }
            "--check" => action = Action::Check,
            "--dry-run" => action = Action::DryRun,
            "-I" | "--dont-release-ipvs" => keep = true,
            "-d" | "--debug" => debug = true,
            "-h" | "--help" => action = Action::Help,
            "-v" | "--version" => action = Action::Version,
            "status" => action = Action::Status,
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    let mut out = Args {
        dialect: dialect.unwrap_or(Dialect::Keepalived),
        config: config.clone().unwrap_or_default(),
        action,
        debug,
        foreground: true,
        keep_on_stop: keep,
        pid_file: PathBuf::new(),
        metrics: None,
        status_socket: None,
        status_socket_given: false,
        json: false,
        daemon,
    };
    observing.finish(&mut out, PathBuf::from(DIRECTOR_SOCKET));
    if !matches!(out.action, Action::Help | Action::Version | Action::Status)
        && (dialect.is_none() || config.is_none())
    {
        return Err("--keepalived CONFIG or --ldirectord CONFIG is required".into());
    }
    Ok(out)
}

/// Reads and parses `path` as `dialect` ("file:line: message" on error).
pub fn load(dialect: Dialect, path: &Path) -> Result<DirectorConfig, String> {
    let parsed = match dialect {
        Dialect::Keepalived => keepalived::parse(path, &FsSource),
        _ => ldirectord::parse(path, &FsSource, &SystemResolver::new()),
    };
    parsed.map_err(|e| e.to_string())
}

/// [`load`], with the command line's overrides applied (`-I`, `--drain-timeout`).
fn load_with(args: &Args) -> Result<DirectorConfig, String> {
    let mut config = load(args.dialect, &args.config)?;
    args.daemon.configure(&mut config);
    if args.keep_on_stop {
        config.options.on_stop = OnStop::Keep;
    }
    Ok(config)
}

/// What a pid file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidState {
    /// A director runs with this pid.
    Running(i32),
    /// No pid file.
    Stopped,
    /// A pid file whose process is gone (or is not a director).
    Stale,
}

/// Reads a pid file and checks that its process is alive and is a director (its command line
/// names `ldirectord` or `ipvs-director`, as ldirectord checks for itself).
pub fn running_pid(pid_file: &Path) -> PidState {
    let Ok(text) = std::fs::read_to_string(pid_file) else { return PidState::Stopped };
    let Ok(pid) = text.trim().parse::<i32>() else { return PidState::Stale };
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmd) => {
            let cmd = String::from_utf8_lossy(&cmd);
            if cmd.contains("ldirectord") || cmd.contains("ipvs-director") {
                PidState::Running(pid)
            } else {
                PidState::Stale
            }
        }
        Err(_) => PidState::Stale,
    }
}

fn signal(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) takes plain integers; no memory is shared.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Runs a parsed command line; `program` names the binary in messages.
pub fn run(program: &str, args: Args) -> ExitCode {
    let err = |m: &str| {
        eprintln!("{program}: {m}");
        ExitCode::FAILURE
    };
    match args.action {
        Action::Help => {
            println!(
                "{}",
                if args.dialect == Dialect::Ldirectord { LDIRECTORD_USAGE } else { DIRECTOR_USAGE }
            );
            return ExitCode::SUCCESS;
        }
        Action::Version => {
            println!("{program} {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Action::Check => {
            return match load_with(&args) {
                Ok(c) => {
                    for w in &c.warnings {
                        eprintln!("{}: warning: {}", w.origin, w.message);
                    }
                    println!(
                        "{}: configuration ok: {} virtual services",
                        args.config.display(),
                        c.virtuals.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => err(&e),
            }
        }
        Action::Status => {
            if let Some(code) = status_from_socket(program, &args) {
                return code;
            }
            if args.pid_file.as_os_str().is_empty() {
                // ipvs-director has no pid file: the socket is the only way to ask.
                match &args.status_socket {
                    Some(p) => println!("{program} is not running (no daemon answers on {})", p.display()),
                    None => println!("{program} is not running (no status socket to ask)"),
                }
                return ExitCode::from(3);
            }
        }
        _ => {}
    }
    let running = running_pid(&args.pid_file);
    let shown = args.config.display();
    match (&args.action, running) {
        (Action::Status, PidState::Running(pid)) => {
            eprintln!("{program} for {shown} is running with pid: {pid}");
            return ExitCode::SUCCESS;
        }
        (Action::Status, PidState::Stopped) => {
            println!("{program} is stopped for {shown}");
            return ExitCode::from(3);
        }
        (Action::Status, PidState::Stale) => {
            eprintln!("{program} stale pid file {} for {shown}", args.pid_file.display());
            println!("{program} is stopped for {shown}");
            return ExitCode::from(1);
        }
        (Action::Stop, PidState::Running(pid)) => {
            signal(pid, libc::SIGTERM);
            return ExitCode::SUCCESS;
        }
        (Action::Stop, _)
        | (Action::Restart { only_if_running: true }, PidState::Stopped | PidState::Stale) => {
            return ExitCode::SUCCESS
        }
        (Action::Reload, PidState::Running(pid)) => {
            signal(pid, libc::SIGHUP);
            return ExitCode::SUCCESS;
        }
        (Action::Reload, _) => return err(&format!("{program} is stopped for {shown}")),
        (Action::Start, PidState::Running(_)) if !args.foreground => return ExitCode::SUCCESS,
        (Action::Restart { .. }, PidState::Running(pid)) => {
            signal(pid, libc::SIGTERM);
            while args.pid_file.exists() && signal(pid, 0) {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
        _ => {}
    }
    let config = match load_with(&args) {
        Ok(c) => c,
        Err(e) => return err(&e),
    };
    let foreground = args.foreground || config.options.supervised || args.action == Action::DryRun;
    let log = if foreground {
        Logger::stderr(program, args.debug)
    } else {
        Logger::new(program, &config.options.log, false)
    };
    for w in &config.warnings {
        log.info(&format!("{}: warning: {}", w.origin, w.message));
    }
    let mut pid_guard = None;
    if !foreground {
        if let Err(e) = daemonize() {
            return err(&format!("cannot daemonize: {e}"));
        }
        if let Err(e) = std::fs::write(&args.pid_file, format!("{}\n", std::process::id())) {
            log.error(&format!("cannot write {}: {e}", args.pid_file.display()));
            return ExitCode::FAILURE;
        }
        pid_guard = Some(PidFile(args.pid_file.clone()));
    }
    let code = serve(program, &args, config, log);
    drop(pid_guard);
    code
}

/// Removes the pid file when the daemon ends.
struct PidFile(PathBuf);

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs the daemon (or the dry run) on the kernel's table.
fn serve(program: &str, args: &Args, config: DirectorConfig, log: Logger) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            log.error(&format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let client = match ipvs_sys_netlink::Client::new() {
        Ok(c) => c,
        Err(e) => {
            log.error(&format!("cannot open IPVS: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let reload_args = args.clone();
    let loader = Box::new(move || load_with(&reload_args));
    let dry_run = args.action == Action::DryRun;
    let path = args.config.clone();
    rt.block_on(async move {
        let mut daemon = Daemon::new(config, client, log.clone(), loader, Some(path))
            .with_options(args.daemon.clone().with_systemd_env());
        let _socket = if dry_run {
            None
        } else {
            match start_observers(args, &mut daemon, &log).await {
                Ok(s) => s,
                Err(e) => {
                    log.error(&e);
                    return ExitCode::FAILURE;
                }
            }
        };
        if dry_run {
            return match daemon.first_plan() {
                Ok(plan) => {
                    print!("{plan}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{program}: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        match daemon.run().await {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                log.error(&format!("{e}"));
                ExitCode::FAILURE
            }
        }
    })
}

/// How long `status` waits for the daemon's answer.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);

/// `status` through the status socket: the exit code when a daemon answered (or the socket
/// failed in a way that says something is wrong), `None` when nobody answers there.
fn status_from_socket(program: &str, args: &Args) -> Option<ExitCode> {
    let path = args.status_socket.as_ref()?;
    match observe::read_socket(path, STATUS_TIMEOUT) {
        Ok(snapshot) => {
            if args.json {
                use std::io::Write;
                let _ = std::io::stdout().write_all(&observe::to_json(&snapshot));
            } else {
                print!("{}", status::summary(&snapshot));
            }
            Some(ExitCode::SUCCESS)
        }
        Err(ReadError::NotRunning(_)) => None,
        Err(e) => {
            eprintln!("{program}: {e}");
            // A pid file may still tell (ldirectord-rs); otherwise the status is unknown (LSB 4).
            if args.pid_file.as_os_str().is_empty() {
                Some(ExitCode::from(4))
            } else {
                None
            }
        }
    }
}

/// Starts the metrics server and the status socket on the daemon's runtime; the socket file,
/// removed when the returned guard drops. An endpoint asked for on the command line that cannot
/// be bound is an error; the default status socket is only logged.
async fn start_observers<B: ipvs_core::Backend>(
    args: &Args,
    daemon: &mut Daemon<B>,
    log: &Logger,
) -> Result<Option<SocketFile>, String> {
    if args.metrics.is_none() && args.status_socket.is_none() {
        return Ok(None);
    }
    let handle = daemon.status_handle();
    if let Some(addr) = args.metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        let shown = listener.local_addr().unwrap_or(addr);
        log.info(&format!("serving http://{shown}/metrics and /status.json"));
        tokio::spawn(observe::serve_http(listener, handle.clone()));
    }
    let Some(path) = &args.status_socket else { return Ok(None) };
    match observe::bind_socket(path) {
        Ok(listener) => {
            log.info(&format!("status socket {}", path.display()));
            tokio::spawn(observe::serve_socket(listener, handle));
            Ok(Some(SocketFile(path.clone())))
        }
        Err(e) if args.status_socket_given => {
            Err(format!("cannot bind the status socket {}: {e}", path.display()))
        }
        Err(e) => {
            log.error(&format!("no status socket: {}: {e}", path.display()));
            Ok(None)
        }
    }
}

/// Detaches from the terminal as a daemon does: fork, new session, fork again, `/` as the
/// working directory, standard streams on `/dev/null`. Returns in the grandchild only.
fn daemonize() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: called before any thread or runtime exists (the tokio runtime is built after),
    // so fork() copies a single-threaded process; the parents only call _exit.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(std::io::Error::last_os_error());
        }
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
    }
    std::env::set_current_dir("/")?;
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors with a descriptor we own.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn ldirectord_command_lines() {
        let a = parse_ldirectord(&os(&["start"])).unwrap();
        assert_eq!(a.action, Action::Start);
        // ldirectord's search: /etc/ha.d/ldirectord.cf when it exists, else as given.
        assert_eq!(a.config, find_ldirectord_config("ldirectord.cf"));
        assert_eq!(a.pid_file, PathBuf::from("/var/run/ldirectord.ldirectord.pid"));
        let a = parse_ldirectord(&os(&["-d", "/tmp/x/my.cf", "reload"])).unwrap();
        assert_eq!(a.action, Action::Reload);
        assert!(a.debug && a.foreground);
        assert_eq!(a.pid_file, PathBuf::from("/var/run/ldirectord.my.cf.pid"));
        assert_eq!(parse_ldirectord(&os(&["--check", "/tmp/x/my.cf"])).unwrap().action, Action::Check);
        assert_eq!(
            parse_ldirectord(&os(&["x.cf", "try-restart"])).unwrap().action,
            Action::Restart { only_if_running: true }
        );
        assert!(parse_ldirectord(&os(&["x.cf", "bogus"])).is_err());
        assert!(parse_ldirectord(&os(&["-x", "start"])).is_err());
        assert!(parse_ldirectord(&os(&[])).is_err());
        assert_eq!(
            parse_ldirectord(&os(&["--pid-file", "/run/p", "a", "status"])).unwrap().pid_file,
            PathBuf::from("/run/p")
        );
    }

    #[test]
    fn director_command_lines() {
        let a = parse_director(&os(&["--keepalived", "/etc/keepalived/keepalived.conf", "-I"])).unwrap();
        assert_eq!(a.dialect, Dialect::Keepalived);
        assert!(a.keep_on_stop && a.foreground);
        assert_eq!(
            parse_director(&os(&["--ldirectord", "a.cf", "--dry-run"])).unwrap().action,
            Action::DryRun
        );
        assert!(parse_director(&os(&["--check"])).is_err());
        assert!(parse_director(&os(&["--keepalived"])).is_err());
    }

    #[test]
    fn daemon_options() {
        let a = parse_director(&os(&[
            "--keepalived",
            "k.conf",
            "--reconcile-interval",
            "2",
            "--own-table",
            "--drain-timeout",
            "0",
            "--expire-quiescent-template",
        ]))
        .unwrap();
        assert_eq!(a.daemon.reconcile_interval, std::time::Duration::from_secs(2));
        assert_eq!(a.daemon.drain_timeout, std::time::Duration::ZERO);
        assert!(a.daemon.own_table && a.daemon.expire_quiescent_template && !a.daemon.expire_nodest_conn);
        let a = parse_ldirectord(&os(&["--foreground", "--drain-timeout", "60", "x.cf", "start"])).unwrap();
        assert!(a.foreground && !a.debug);
        assert_eq!(a.daemon.drain_timeout, std::time::Duration::from_secs(60));
        assert_eq!(a.daemon.reconcile_interval, std::time::Duration::from_secs(10));
        assert!(parse_director(&os(&["--keepalived", "k.conf", "--drain-timeout", "soon"])).is_err());
    }

    #[test]
    fn observing_options() {
        let a = parse_director(&os(&["--keepalived", "k.conf", "--metrics", "127.0.0.1:9100"])).unwrap();
        assert_eq!(a.metrics, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(a.status_socket, Some(PathBuf::from(DIRECTOR_SOCKET)));
        assert!(!a.status_socket_given);
        let a = parse_director(&os(&["status", "--json", "--status-socket", "/tmp/s"])).unwrap();
        assert_eq!(a.action, Action::Status);
        assert!(a.json && a.status_socket_given);
        assert_eq!(a.status_socket, Some(PathBuf::from("/tmp/s")));
        let a = parse_director(&os(&["--ldirectord", "l.cf", "--no-status-socket", "--metrics", ":9100"]))
            .unwrap();
        assert_eq!((a.status_socket, a.metrics), (None, Some("0.0.0.0:9100".parse().unwrap())));
        assert!(parse_director(&os(&["--keepalived", "k.conf", "--metrics", "nowhere"])).is_err());
        let a = parse_ldirectord(&os(&["--metrics", "[::1]:9100", "/tmp/x/my.cf", "start"])).unwrap();
        assert_eq!(a.status_socket, Some(PathBuf::from("/run/ldirectord-rs.my.cf.sock")));
        assert_eq!(a.metrics, Some("[::1]:9100".parse().unwrap()));
        let a = parse_ldirectord(&os(&["--json", "status"])).unwrap();
        assert!(a.json);
        assert_eq!(a.status_socket, Some(PathBuf::from("/run/ldirectord-rs.ldirectord.sock")));
    }
}
