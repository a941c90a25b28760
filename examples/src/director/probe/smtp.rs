//! SMTP: a `220` greeting, then (keepalived `SMTP_CHECK` with `helo_name`) `HELO` answered
//! with `250`; `QUIT` at the end. ldirectord's `service = smtp` checks the greeting only.

use ipvs_core::director::config::Check;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::{connect, Failure};

/// Reads one SMTP reply (continuation lines `NNN-` up to the last `NNN `) and returns its code.
pub async fn reply<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Result<u16, Failure> {
    let mut line = String::new();
    for _ in 0..100 {
        line.clear();
        let n = r.read_line(&mut line).await.map_err(|e| format!("reading the reply: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        let code = line
            .get(..3)
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or_else(|| format!("bad reply {:?}", line.trim_end()))?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
    Err("reply too long".into())
}

/// The SMTP check.
pub async fn check(check: &Check, helo: Option<&str>) -> Result<(), Failure> {
    let stream = connect::stream(check).await.map_err(|e| format!("connect to {}: {e}", check.target))?;
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let code = reply(&mut rd).await?;
    if code != 220 {
        return Err(format!("greeting {code}"));
    }
    if let Some(name) = helo {
        wr.write_all(format!("HELO {name}\r\n").as_bytes())
            .await
            .map_err(|e| format!("sending HELO: {e}"))?;
        let code = reply(&mut rd).await?;
        if code != 250 {
            return Err(format!("HELO answered {code}"));
        }
    }
    let _ = wr.write_all(b"QUIT\r\n").await;
    Ok(())
}
