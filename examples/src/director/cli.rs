//! The two command lines over one daemon:
//!
//! ```text
//! ldirectord-rs [-d|--debug] [--check|--dry-run] [--pid-file PATH] [--] [CONFIG] start|stop|restart|try-restart|reload|force-reload|status
//! ipvs-director --keepalived CONFIG [--check|--dry-run] [-I|--dont-release-ipvs] [-d]
//! ipvs-director --ldirectord CONFIG [--check|--dry-run] [-d]
//! ```
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

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ipvs_core::director::config::{Dialect, DirectorConfig, OnStop};
use ipvs_core::director::{keepalived, ldirectord};

use super::daemon::Daemon;
use super::log::Logger;
use super::source::{FsSource, SystemResolver};

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
}

/// ldirectord's usage line.
pub const LDIRECTORD_USAGE: &str =
    "usage: ldirectord-rs [-d|--debug] [--check|--dry-run] [--pid-file PATH] [--] [configfile] \
start|stop|restart|try-restart|reload|force-reload|status\n       ldirectord-rs -h|--help|-v|--version";

/// ipvs-director's usage line.
pub const DIRECTOR_USAGE: &str = "usage: ipvs-director (--keepalived|--ldirectord) CONFIG [--check|--dry-run] [-I|--dont-release-ipvs] [-d]";

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
    while let Some(a) = it.next() {
        match a.as_str() {
            "--" if opts => opts = false,
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
    Ok(Args {
        dialect: Dialect::Ldirectord,
        config: find_ldirectord_config(&config),
        action,
        debug,
        foreground: debug,
        keep_on_stop: false,
        pid_file: pid_file.unwrap_or_else(|| PathBuf::from(format!("/var/run/ldirectord.{name}.pid"))),
    })
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
    while let Some(a) = it.next() {
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
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    if matches!(action, Action::Help | Action::Version) {
        return Ok(Args {
            dialect: Dialect::Keepalived,
            config: PathBuf::new(),
            action,
            debug,
            foreground: true,
            keep_on_stop: keep,
            pid_file: PathBuf::new(),
        });
    }
    let (Some(dialect), Some(config)) = (dialect, config) else {
        return Err("--keepalived CONFIG or --ldirectord CONFIG is required".into());
    };
    Ok(Args {
        dialect,
        config,
        action,
        debug,
        foreground: true,
        keep_on_stop: keep,
        pid_file: PathBuf::new(),
    })
}

/// Reads and parses `path` as `dialect` ("file:line: message" on error).
pub fn load(dialect: Dialect, path: &Path) -> Result<DirectorConfig, String> {
    let parsed = match dialect {
        Dialect::Keepalived => keepalived::parse(path, &FsSource),
        _ => ldirectord::parse(path, &FsSource, &SystemResolver::new()),
    };
    parsed.map_err(|e| e.to_string())
}

/// [`load`], with the command line's overrides applied (`-I`).
fn load_with(args: &Args) -> Result<DirectorConfig, String> {
    let mut config = load(args.dialect, &args.config)?;
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
        let mut daemon = Daemon::new(config, client, log.clone(), loader, Some(path));
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
}
