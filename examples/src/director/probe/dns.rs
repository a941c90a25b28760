//! DNS: ldirectord's `service = dns` (an `A` query for `request`, or `PTR` for an address,
//! whose answer must match `receive`) and keepalived's `DNS_CHECK` (`type`, `name`; any reply
//! with RCODE NOERROR passes). Messages are built and parsed with hickory-proto; one UDP
//! exchange.

use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use ipvs_core::director::config::Check;

use super::{connect, Failure};

/// The query message for `name` / `qtype` with id `id`, recursion desired.
pub fn query(id: u16, name: &str, qtype: &str) -> Result<Vec<u8>, Failure> {
    let rtype =
        RecordType::from_str(&qtype.to_ascii_uppercase()).map_err(|e| format!("query type {qtype}: {e}"))?;
    let mut fqdn = Name::from_ascii(name).map_err(|e| format!("query name {name}: {e}"))?;
    fqdn.set_fqdn(true);
    let mut msg = Message::new();
    msg.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true);
    msg.add_query(Query::query(fqdn, rtype));
    msg.to_vec().map_err(|e| format!("encoding the query: {e}"))
}

/// Whether `reply` answers query `id` with NOERROR and, with `expect`, an answer whose data
/// matches it.
pub fn judge(reply: &[u8], id: u16, expect: Option<&str>) -> Result<(), Failure> {
    let msg = Message::from_vec(reply).map_err(|e| format!("bad reply: {e}"))?;
    if msg.id() != id || msg.message_type() != MessageType::Response {
        return Err("reply to another query".into());
    }
    if msg.response_code() != ResponseCode::NoError {
        return Err(format!("rcode {}", msg.response_code()));
    }
    let Some(expect) = expect else { return Ok(()) };
    let re = regex::Regex::new(expect).map_err(|e| format!("bad regular expression: {e}"))?;
    if msg.answers().iter().any(|r| re.is_match(&r.data().to_string())) {
        Ok(())
    } else {
        Err(format!("no answer matches /{expect}/"))
    }
}

/// The DNS check.
pub async fn check(check: &Check, name: &str, qtype: &str, expect: Option<&str>) -> Result<(), Failure> {
    let id = query_id();
    let q = query(id, name, qtype)?;
    let fail = |e: std::io::Error| format!("dns to {}: {e}", check.target);
    let sock = connect::datagram(check).await.map_err(fail)?;
    sock.send(&q).await.map_err(fail)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await.map_err(fail)?;
        match judge(&buf[..n], id, expect) {
            Err(e) if e == "reply to another query" => continue,
            r => return r,
        }
    }
}

/// A query id that differs from one probe to the next (not a secret: the socket is connected
/// to the one server asked).
fn query_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = std::process::id() as u16;
    NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(40503).wrapping_add(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{rdata::A, RData, Record};

    #[test]
    fn query_and_judge_round_trip() {
        let q = query(7, "www.example.org", "a").unwrap();
        let mut reply = Message::from_vec(&q).unwrap();
        reply.set_message_type(MessageType::Response);
        let name = Name::from_ascii("www.example.org.").unwrap();
        reply.add_answer(Record::from_rdata(name, 60, RData::A(A::new(192, 0, 2, 7))));
        let bytes = reply.to_vec().unwrap();
        assert!(judge(&bytes, 7, None).is_ok());
        assert!(judge(&bytes, 7, Some("^192\\.0\\.2\\.7$")).is_ok());
        assert!(judge(&bytes, 7, Some("10\\.")).is_err());
        assert!(judge(&bytes, 8, None).is_err());
        reply.set_response_code(ResponseCode::NXDomain);
        assert_eq!(judge(&reply.to_vec().unwrap(), 7, None), Err("rcode Non-Existent Domain".into()));
    }

    #[test]
    fn bad_query_type_is_an_error() {
        assert!(query(1, ".", "NOPE").is_err());
    }
}
