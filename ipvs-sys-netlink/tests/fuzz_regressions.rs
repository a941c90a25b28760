//! Inputs the fuzz targets (`fuzz/`) found, each kept as a test with the input as found.
#![allow(clippy::unwrap_used)]

use ipvs_core::AddressFamily;
use ipvs_sys_netlink::codec::IpvsMessage;
use ipvs_sys_netlink::convert;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `genl_decoders`: a service entry followed by one stray byte. The codec refuses the payload
/// (the byte is no attribute); the read path's decoder stopped at the nest and accepted it.
#[test]
fn read_path_refuses_bytes_after_the_nest_as_the_codec_does() {
    let payload =
        hex("010100005c00010006000100020000000600020011000000140003000a0102050000000000000000000000000600\
         040013c40000070006007272000008000b00736970000c00070001000000ffffffff080008003c000000080009\
         00ffffffc1ff");
    assert!(IpvsMessage::decode(&payload).is_err());
    assert!(convert::service_status_from_genl(&payload).is_err());
    assert!(convert::service_key_from_genl(&payload).is_err());
    assert!(convert::dest_status_from_genl(&payload, AddressFamily::Inet).is_err());
    // Without the stray byte both read it, alike.
    let whole = &payload[..payload.len() - 1];
    let fast = convert::service_status_from_genl(whole).unwrap();
    let codec = convert::service_status_from_message(&IpvsMessage::decode(whole).unwrap()).unwrap();
    assert_eq!(fast, codec);
}
