//! External commands: ldirectord's `checktype = external` (`checkcommand`, run with the
//! virtual's and the real server's address and port as arguments; exit 0 is up) and
//! keepalived's `MISC_CHECK` (`misc_path` as written; with `misc_dynamic`, exit 1 is down and
//! 2..=255 up with weight `code - 2`). Also the notify and fallback commands, which run
//! without anyone waiting.
//!
//! Every command runs as `/bin/sh -c LINE sh ARGS...` in a process group of its own, so when
//! a check times out its whole group is killed, not only the shell.

use std::process::Stdio;

use ipvs_core::ServiceKey;
use tokio::process::Command;

use super::{Failure, Subject, Verdict};

/// ldirectord's four arguments: virtual address, virtual port, real address, real port (for a
/// firewall-mark service the mark stands for the virtual address and the port is 0).
pub fn ldirectord_args(s: &Subject) -> Vec<String> {
    let (vip, vport) = match s.service {
        ServiceKey::Addr { addr, port, .. } => (addr.to_string(), port),
        ServiceKey::Fwmark { mark, .. } => (mark.to_string(), 0),
    };
    vec![vip, vport.to_string(), s.real.addr.to_string(), s.real.port.to_string()]
}

/// The shell command for `line` with `args` appended (each one word, quoted by the shell).
pub fn shell(line: &str, args: &[String]) -> Command {
    let script = if args.is_empty() { line.to_owned() } else { format!("{line} \"$@\"") };
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script).arg("sh").args(args);
    cmd.stdin(Stdio::null()).process_group(0);
    cmd
}

/// Kills a process group when dropped (the check timed out and its future was dropped, or it
/// ended and stragglers remain).
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory is
            // involved, and a group that is gone gives ESRCH, which is ignored.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// What an exit status means for a check.
pub fn judge(code: Option<i32>, dynamic_weight: bool) -> Verdict {
    match code {
        Some(0) => Ok(None),
        Some(1) if dynamic_weight => Err("exit status 1".into()),
        Some(c @ 2..=255) if dynamic_weight => Ok(Some((c - 2) as u32)),
        Some(c) => Err(format!("exit status {c}")),
        None => Err("killed by a signal".into()),
    }
}

/// The external check: runs `line` with `args`, its output discarded.
pub async fn check(line: &str, args: &[String], dynamic_weight: bool) -> Verdict {
    let mut cmd = shell(line, args);
    cmd.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {line}: {e}"))?;
    let guard = GroupGuard(child.id());
    let status = child.wait().await.map_err(|e| format!("waiting for {line}: {e}"));
    drop(guard);
    judge(status?.code(), dynamic_weight)
}

/// Starts `line` with `args` and does not wait: its end is reaped (and a failure logged by
/// `on_exit`) on a task of its own. Output goes where the daemon's goes.
pub fn spawn_detached(
    line: &str,
    args: &[String],
    on_exit: impl FnOnce(Result<std::process::ExitStatus, Failure>) + Send + 'static,
) {
    let mut cmd = shell(line, args);
    match cmd.spawn() {
        Ok(mut child) => {
            tokio::spawn(async move { on_exit(child.wait().await.map_err(|e| e.to_string())) });
        }
        Err(e) => on_exit(Err(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        assert_eq!(judge(Some(0), false), Ok(None));
        assert!(judge(Some(1), false).is_err());
        assert!(judge(Some(7), false).is_err());
        assert!(judge(Some(1), true).is_err());
        assert_eq!(judge(Some(2), true), Ok(Some(0)));
        assert_eq!(judge(Some(12), true), Ok(Some(10)));
        assert!(judge(None, true).is_err());
    }

    #[test]
    fn ldirectord_arguments() {
        let s = Subject {
            service: ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80),
            real: "192.168.1.2:8080".parse::<std::net::SocketAddr>().unwrap().into(),
        };
        assert_eq!(ldirectord_args(&s), ["10.0.0.1", "80", "192.168.1.2", "8080"]);
    }
}
