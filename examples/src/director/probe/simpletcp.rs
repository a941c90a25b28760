//! ldirectord's `service = simpletcp` (send `request`, a reply line must match `receive`),
//! also used for its greeting-based services (`nntp`, `pop`, `imap`, `ftp` without login):
//! connect, send, read lines until one matches.

use ipvs_core::director::config::Check;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{connect, Failure};

/// The most lines read while looking for a match.
const MAX_LINES: usize = 1000;

/// The send/expect check. Without `expect`, a connection that took what was sent passes.
pub async fn check(check: &Check, send: &str, expect: Option<&str>) -> Result<(), Failure> {
    let re = expect.map(regex::Regex::new).transpose().map_err(|e| format!("bad regular expression: {e}"))?;
    let stream = connect::stream(check).await.map_err(|e| format!("connect to {}: {e}", check.target))?;
    let (rd, mut wr) = stream.into_split();
    if !send.is_empty() {
        wr.write_all(send.as_bytes()).await.map_err(|e| format!("sending: {e}"))?;
    }
    let Some(re) = re else { return Ok(()) };
    let mut rd = BufReader::new(rd);
    let mut line = String::new();
    for _ in 0..MAX_LINES {
        line.clear();
        let n = rd.read_line(&mut line).await.map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            break;
        }
        if re.is_match(line.trim_end_matches(['\r', '\n'])) {
            return Ok(());
        }
    }
    Err(format!("no reply line matches /{}/", re.as_str()))
}
