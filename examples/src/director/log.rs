//! Where the daemon's lines go: standard error (`-d`, `supervised = yes`, keepalived's file in
//! the foreground), a file (ldirectord's `logfile = /path`, reopened on reload so log
//! rotation works), or syslog (`logfile = local0`: a facility name), as ldirectord does.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use ipvs_core::director::config::LogTarget;

/// How important a line is (syslog's severities that the daemon uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed (an apply, a command that could not start).
    Error = 3,
    /// A decision or a state change.
    Info = 6,
    /// Detail shown with `-d` only.
    Debug = 7,
}

/// A cheap, clonable handle on the log.
#[derive(Clone, Debug)]
pub struct Logger {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    program: String,
    debug: bool,
    sink: Mutex<Sink>,
}

#[derive(Debug)]
enum Sink {
    Stderr,
    File(PathBuf, Option<File>),
    Syslog(u8, Option<UnixDatagram>),
}

/// Syslog's facility numbers by name (`local0` ... `local7`, `daemon`, `user`, ...).
pub fn facility(name: &str) -> Option<u8> {
    Some(match name {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        _ => {
            let n: u8 = name.strip_prefix("local")?.parse().ok()?;
            if n > 7 {
                return None;
            }
            16 + n
        }
    })
}

impl Logger {
    /// A logger for `program` writing to `target`; `debug` shows [`Level::Debug`] lines.
    pub fn new(program: &str, target: &LogTarget, debug: bool) -> Self {
        let sink = match target {
            LogTarget::File(p) => Sink::File(p.clone(), None),
            LogTarget::Syslog(f) => Sink::Syslog(facility(f).unwrap_or(3), None),
            _ => Sink::Stderr,
        };
        Logger { inner: Arc::new(Inner { program: program.to_owned(), debug, sink: Mutex::new(sink) }) }
    }

    /// The program's name, as the lines show it.
    pub fn program(&self) -> &str {
        &self.inner.program
    }

    /// A logger to standard error.
    pub fn stderr(program: &str, debug: bool) -> Self {
        Self::new(program, &LogTarget::Stderr, debug)
    }

    /// Writes one line.
    pub fn log(&self, level: Level, msg: &str) {
        if level == Level::Debug && !self.inner.debug {
            return;
        }
        let Ok(mut sink) = self.inner.sink.lock() else { return };
        let pid = std::process::id();
        let program = &self.inner.program;
        match &mut *sink {
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr(), "{} {program}[{pid}]: {msg}", timestamp());
            }
            Sink::File(path, file) => {
                if file.is_none() {
                    *file = OpenOptions::new().create(true).append(true).open(&*path).ok();
                }
                match file {
                    Some(f) => {
                        let _ = writeln!(f, "[{}|{program}|{pid}] {msg}", timestamp());
                    }
                    None => {
                        let _ = writeln!(std::io::stderr(), "{program}[{pid}]: {msg}");
                    }
                }
            }
            Sink::Syslog(fac, sock) => {
                if sock.is_none() {
                    *sock = UnixDatagram::unbound().ok().filter(|s| s.connect("/dev/log").is_ok());
                }
                let line = format!("<{}>{program}[{pid}]: {msg}", u16::from(*fac) * 8 + level as u16);
                if sock.as_ref().is_none_or(|s| s.send(line.as_bytes()).is_err()) {
                    *sock = None;
                    let _ = writeln!(std::io::stderr(), "{program}[{pid}]: {msg}");
                }
            }
        }
    }

    /// An informational line.
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg);
    }

    /// An error line.
    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg);
    }

    /// A debug line (shown with `-d`).
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg);
    }

    /// Closes the log file or syslog socket, so that the next line reopens it (after log
    /// rotation, on reload).
    pub fn reopen(&self) {
        if let Ok(mut sink) = self.inner.sink.lock() {
            match &mut *sink {
                Sink::File(_, f) => *f = None,
                Sink::Syslog(_, s) => *s = None,
                Sink::Stderr => {}
            }
        }
    }
}

/// The time now, UTC, as `2026-05-01 12:34:56`.
pub fn timestamp() -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    format_unix_ms(ms)
}

/// A Unix time in milliseconds, UTC, as `2026-05-01 12:34:56` (the log's format).
pub fn format_unix_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(format_unix_ms(1_704_067_199_999), "2023-12-31 23:59:59");
    }

    #[test]
    fn facilities() {
        assert_eq!(facility("local0"), Some(16));
        assert_eq!(facility("local7"), Some(23));
        assert_eq!(facility("daemon"), Some(3));
        assert_eq!(facility("local8"), None);
        assert_eq!(facility("/var/log/x"), None);
    }
}
