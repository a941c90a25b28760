//! Tests of the boundary itself (the C tests in `ipvs-capi/tests/c` test the API from C):
//! every entry point runs inside the panic boundary, and a panic inside one comes back as
//! `IPVS_RESULT_PANIC` (or the getter's default), never as an unwind.

use std::ffi::{c_char, CStr};
use std::ptr;

use crate::ffi::inject_panic;
use crate::*;

fn last() -> (ipvs_result, String) {
    let e = ipvs_error_last();
    let mut buf = [0 as c_char; 512];
    let mut n = 0;
    assert_eq!(ipvs_error_message(e, buf.as_mut_ptr(), buf.len(), &mut n), ipvs_result::Ok);
    // SAFETY: ipvs_error_message wrote a NUL-terminated string into `buf`.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
    (ipvs_error_result(e), text)
}

fn memory() -> *mut ipvs_client {
    let mut c = ptr::null_mut();
    assert_eq!(ipvs_client_new_memory(&mut c), ipvs_result::Ok);
    c
}

fn addr(text: &str) -> ipvs_addr {
    let text = std::ffi::CString::new(text).unwrap();
    let mut a = ipvs_addr::default();
    assert_eq!(ipvs_addr_parse(text.as_ptr(), &mut a), ipvs_result::Ok);
    a
}

fn tcp_key(vip: &str, port: u16) -> *mut ipvs_service_key {
    let mut k = ptr::null_mut();
    assert_eq!(ipvs_service_key_new(IPVS_PROTOCOL_TCP, &addr(vip), port, &mut k), ipvs_result::Ok);
    k
}

#[test]
fn a_panic_inside_a_result_function_comes_back_as_the_panic_code() {
    let mem = memory();
    inject_panic();
    let mut list = ptr::null_mut();
    assert_eq!(ipvs_client_services(mem, &mut list), ipvs_result::Panic);
    assert!(list.is_null(), "no output is written when the call panics");
    let (code, text) = last();
    assert_eq!(code, ipvs_result::Panic);
    assert!(text.contains("panic injected by a test"), "{text}");
    // The client is still usable afterwards.
    assert_eq!(ipvs_client_services(mem, &mut list), ipvs_result::Ok);
    assert_eq!(ipvs_service_list_len(list), 0);
    ipvs_service_list_free(list);
    ipvs_client_free(mem);
}

#[test]
fn a_panic_inside_a_change_leaves_the_table_as_it_was() {
    let mem = memory();
    let key = tcp_key("10.0.0.1", 80);
    let mut svc = ptr::null_mut();
    assert_eq!(ipvs_service_new(key, &mut svc), ipvs_result::Ok);
    inject_panic();
    assert_eq!(ipvs_client_add_service(mem, svc), ipvs_result::Panic);
    let mut list = ptr::null_mut();
    assert_eq!(ipvs_client_services(mem, &mut list), ipvs_result::Ok);
    assert_eq!(ipvs_service_list_len(list), 0, "the panic came before the change");
    ipvs_service_list_free(list);
    assert_eq!(ipvs_client_add_service(mem, svc), ipvs_result::Ok);
    ipvs_service_free(svc);
    ipvs_service_key_free(key);
    ipvs_client_free(mem);
}

#[test]
fn a_panic_inside_a_getter_gives_its_default() {
    let mem = memory();
    let key = tcp_key("10.0.0.1", 8080);
    inject_panic();
    assert_eq!(ipvs_service_key_port(key), 0);
    assert_eq!(last().0, ipvs_result::Panic);
    assert_eq!(ipvs_service_key_port(key), 8080);
    inject_panic();
    assert!(!ipvs_client_is_memory(mem));
    assert!(ipvs_client_is_memory(mem));
    let mut table = ptr::null_mut();
    assert_eq!(ipvs_table_new(&mut table), ipvs_result::Ok);
    inject_panic();
    assert!(ipvs_table_service(table, 0).is_null());
    inject_panic();
    assert_eq!(
        ipvs_results_get(ptr::null(), 0),
        ipvs_result::Panic,
        "a code-returning getter gives the panic code"
    );
    inject_panic();
    // SAFETY: ipvs_version returns a static NUL-terminated string, even when it panics.
    assert_eq!(unsafe { CStr::from_ptr(ipvs_version()) }.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(last().0, ipvs_result::Panic);
    ipvs_table_free(table);
    ipvs_service_key_free(key);
    ipvs_client_free(mem);
}

#[test]
fn a_panic_inside_a_free_function_is_swallowed() {
    let key = tcp_key("10.0.0.1", 80);
    inject_panic();
    ipvs_service_key_free(key); // panics before freeing: nothing unwinds, nothing is freed
    assert_eq!(last().0, ipvs_result::Panic);
    assert_eq!(ipvs_service_key_port(key), 80, "the key is still there");
    ipvs_service_key_free(key);
}

#[test]
fn the_error_readers_do_not_replace_the_last_error_even_when_they_panic() {
    let mem = memory();
    let key = tcp_key("10.0.0.9", 80);
    assert_eq!(ipvs_client_delete_service(mem, key), ipvs_result::ServiceNotFound);
    let e = ipvs_error_last();
    inject_panic();
    assert_eq!(ipvs_error_errno(e), 0, "the panic gives the default");
    inject_panic();
    let mut buf = [0 as c_char; 64];
    let mut n = 0;
    assert_eq!(ipvs_result_message(0, buf.as_mut_ptr(), buf.len(), &mut n), ipvs_result::Panic);
    assert_eq!(ipvs_error_last(), e, "still the same error");
    assert_eq!(ipvs_error_result(e), ipvs_result::ServiceNotFound);
    assert_eq!(ipvs_error_errno(e), 3);
    ipvs_service_key_free(key);
    ipvs_client_free(mem);
}

#[test]
fn a_panic_inside_an_apply_gives_no_results() {
    let mem = memory();
    let mut ops = ptr::null_mut();
    assert_eq!(ipvs_ops_new(&mut ops), ipvs_result::Ok);
    inject_panic();
    assert_eq!(ipvs_ops_flush(ops), ipvs_result::Panic);
    assert_eq!(ipvs_ops_len(ops), 0);
    assert_eq!(ipvs_ops_flush(ops), ipvs_result::Ok);
    let mut results = ptr::null_mut();
    inject_panic();
    assert_eq!(ipvs_client_apply(mem, ops, 0, &mut results), ipvs_result::Panic);
    assert!(results.is_null());
    assert_eq!(ipvs_client_apply(mem, ops, 0, &mut results), ipvs_result::Ok);
    assert_eq!(ipvs_results_len(results), 1);
    assert_eq!(ipvs_results_get(results, 0), ipvs_result::Ok);
    ipvs_results_free(results);
    ipvs_ops_free(ops);
    ipvs_client_free(mem);
}

/// Every `extern "C"` function of the crate runs its body inside one of the boundary
/// functions, so that the tests above cover them all: the body's first expression is one
/// of them.
#[test]
fn every_entry_point_runs_inside_the_panic_boundary() {
    let sources = [
        ("lib.rs", include_str!("lib.rs")),
        ("addr.rs", include_str!("addr.rs")),
        ("client.rs", include_str!("client.rs")),
        ("conn.rs", include_str!("conn.rs")),
        ("dest.rs", include_str!("dest.rs")),
        ("error.rs", include_str!("error.rs")),
        ("list.rs", include_str!("list.rs")),
        ("ops.rs", include_str!("ops.rs")),
        ("plan.rs", include_str!("plan.rs")),
        ("service.rs", include_str!("service.rs")),
        ("status.rs", include_str!("status.rs")),
    ];
    let boundaries =
        ["ffi::call(", "ffi::call_quiet(", "ffi::value(", "ffi::value_quiet(", "ffi::void(", "push(ops,"];
    let mut count = 0;
    for (file, src) in sources {
        let mut rest = src;
        while let Some(i) = rest.find("pub extern \"C\" fn ") {
            rest = &rest[i..];
            let name: String = rest["pub extern \"C\" fn ".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let open = rest.find('{').expect("a body");
            let body = rest[open + 1..].trim_start();
            assert!(
                boundaries.iter().any(|b| body.starts_with(b))
                    || body.starts_with("const VERSION") && body.contains("\n    ffi::value("),
                "{file}: {name} does not run inside the panic boundary"
            );
            count += 1;
            rest = &rest[open..];
        }
        // Every #[no_mangle] item is one of these functions.
        assert_eq!(
            src.matches("#[no_mangle]").count(),
            src.matches("pub extern \"C\" fn ").count(),
            "{file}"
        );
    }
    assert!(count > 150, "only {count} entry points found");
}

#[test]
fn a_memory_client_applies_and_plans() {
    let mem = memory();
    let rules = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 2\n";
    let mut desired = ptr::null_mut();
    assert_eq!(ipvs_table_from_rules(rules.as_ptr().cast(), rules.len(), &mut desired), ipvs_result::Ok);
    let mut plan = ptr::null_mut();
    assert_eq!(ipvs_client_plan(mem, desired, &mut plan), ipvs_result::Ok);
    assert_eq!(ipvs_plan_len(plan), 2);
    let mut results = ptr::null_mut();
    assert_eq!(ipvs_plan_apply(plan, mem, 0, &mut results), ipvs_result::Ok);
    assert_eq!(ipvs_results_failed(results), 0);
    let mut table = ptr::null_mut();
    assert_eq!(ipvs_client_table(mem, &mut table), ipvs_result::Ok);
    let mut buf = vec![0 as c_char; 256];
    let mut n = 0;
    assert_eq!(ipvs_table_save(table, buf.as_mut_ptr(), buf.len(), &mut n), ipvs_result::Ok);
    // SAFETY: ipvs_table_save wrote a NUL-terminated string into `buf`.
    assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), rules);
    assert_eq!(n, rules.len());
    let mut undo = ptr::null_mut();
    assert_eq!(ipvs_plan_rollback(plan, mem, results, &mut undo), ipvs_result::Ok);
    assert_eq!(ipvs_results_len(undo), 2);
    let mut again = ptr::null_mut();
    assert_eq!(ipvs_client_services(mem, &mut again), ipvs_result::Ok);
    assert_eq!(ipvs_service_list_len(again), 0, "rolled back");
    for p in [results, undo] {
        ipvs_results_free(p);
    }
    ipvs_service_list_free(again);
    ipvs_table_free(table);
    ipvs_plan_free(plan);
    ipvs_table_free(desired);
    ipvs_client_free(mem);
}
