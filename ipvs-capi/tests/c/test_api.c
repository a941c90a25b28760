/*
 * test_api: libipvs from C without a kernel: values (addresses, keys, services, real servers,
 * sync daemons), validation with one code per field, the in-memory table through the client
 * functions (every read and change, and the errors the kernel would give), batches and their
 * results, rules text, tables, plans with apply and rollback, walks, connection lists, errors and
 * their details, buffers, and that a failed call changes nothing.
 *
 * With IPVS_CAPI_NO_KERNEL_IPVS=1 (the host suite: the host's kernel has no IPVS) it also checks
 * that opening a kernel client fails with IPVS_RESULT_MODULE_MISSING.
 */
#include "harness.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "codes.h"

static ipvs_client *memory(void)
{
    ipvs_client *c = NULL;
    REQUIRE(ipvs_client_new_memory(&c) == IPVS_RESULT_OK);
    return c;
}

static void test_version(void)
{
    const char *v = ipvs_version();
    CHECK(v != NULL);
    CHECK_STR(v, IPVS_EXPECTED_VERSION);
}

static void test_result_messages(void)
{
    char buf[256], seen[sizeof all_codes / sizeof all_codes[0]][256];
    size_t n, count = sizeof all_codes / sizeof all_codes[0];
    for (size_t i = 0; i < count; i++) {
        OK(ipvs_result_message(all_codes[i].code, buf, sizeof buf, &n));
        CHECK(n == strlen(buf) && n > 0);
        if (strncmp(buf, "unknown result code", 19) == 0) {
            fprintf(stderr, "%s has no text\n", all_codes[i].name);
            CHECK(0);
        }
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(seen[j], buf) != 0);
        snprintf(seen[i], sizeof seen[i], "%s", buf);
    }
    /* The ranges hold. */
    for (size_t i = 0; i < count; i++) {
        unsigned c = all_codes[i].code;
        CHECK(c == 0 || (c >= 100 && c < 600));
        if (strncmp(all_codes[i].name, "IPVS_RESULT_INVALID_", 20) == 0 && c != IPVS_RESULT_INVALID_PARAMETER)
            CHECK(c >= 300 && c < 400);
    }
    CHECK(count >= 60);
    OK(ipvs_result_message(IPVS_RESULT_INVALID_WEIGHT, buf, sizeof buf, &n));
    CHECK_STR(buf, "invalid value: weight (-w)");
    OK(ipvs_result_message(IPVS_RESULT_SERVICE_NOT_FOUND, buf, sizeof buf, &n));
    CHECK_STR(buf, "no such service");
    OK(ipvs_result_message(1, buf, sizeof buf, &n));
    CHECK_STR(buf, "unknown result code 1");
    OK(ipvs_result_message(4294967295u, buf, sizeof buf, &n));
    CHECK_STR(buf, "unknown result code 4294967295");
    /* Too small: the buffer is untouched, n is the length needed. */
    memset(buf, 'q', sizeof buf);
    CHECK_RC(ipvs_result_message(IPVS_RESULT_OK, buf, 7, &n), IPVS_RESULT_BUFFER_TOO_SMALL);
    CHECK(n == 7 && buf[0] == 'q'); /* "success" */
    OK(ipvs_result_message(IPVS_RESULT_OK, buf, 8, &n));
    CHECK_STR(buf, "success");
}

static void test_addresses(void)
{
    ipvs_addr a;
    OK(ipvs_addr_parse("10.1.2.3", &a));
    CHECK(a.family == IPVS_AF_INET && a.family == AF_INET);
    CHECK(memcmp(a.addr, "\x0a\x01\x02\x03\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
    CHECK_STR(TEXT(ipvs_addr_text, &a), "10.1.2.3");
    OK(ipvs_addr_parse("2001:db8::1", &a));
    CHECK(a.family == IPVS_AF_INET6 && a.family == AF_INET6 && a.addr[0] == 0x20 && a.addr[15] == 1);
    struct in6_addr in6;
    inet_pton(AF_INET6, "2001:db8::1", &in6);
    CHECK(memcmp(a.addr, &in6, 16) == 0);
    CHECK_STR(TEXT(ipvs_addr_text, &a), "2001:db8::1");
    OK(ipvs_addr_parse("::ffff:10.1.2.3", &a));
    CHECK(a.family == IPVS_AF_INET6);
    ipvs_addr before = a;
    CHECK_RC(ipvs_addr_parse("10.1.2.300", &a), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_addr_parse("[2001:db8::1]", &a), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_addr_parse("\xff", &a), IPVS_RESULT_INVALID_PARAMETER); /* not UTF-8 */
    CHECK(memcmp(&a, &before, sizeof a) == 0);
    ipvs_addr bad = {.family = 7};
    char buf[64];
    size_t n = 99;
    CHECK_RC(ipvs_addr_text(&bad, buf, sizeof buf, &n), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(n == 99);
    CHECK(strstr(last_message(), "family 7") != NULL);
}

static void test_service_keys(void)
{
    ipvs_service_key *k = key_of(IPVS_PROTOCOL_TCP, "10.1.2.3", 80), *c = NULL, *f = NULL, *f6 = NULL, *u6;
    ipvs_addr a;
    CHECK(!ipvs_service_key_is_fwmark(k));
    CHECK(ipvs_service_key_protocol(k) == 6 && ipvs_service_key_family(k) == AF_INET);
    CHECK(ipvs_service_key_port(k) == 80 && ipvs_service_key_fwmark(k) == 0);
    OK(ipvs_service_key_addr(k, &a));
    CHECK_STR(TEXT(ipvs_addr_text, &a), "10.1.2.3");
    CHECK_STR(TEXT(ipvs_service_key_text, k), "-t 10.1.2.3:80");
    OK(ipvs_service_key_clone(k, &c));
    CHECK(c != k && ipvs_service_key_equal(k, c));
    u6 = key_of(IPVS_PROTOCOL_UDP, "2001:db8::1", 53);
    CHECK_STR(TEXT(ipvs_service_key_text, u6), "-u [2001:db8::1]:53");
    CHECK(!ipvs_service_key_equal(k, u6));
    OK(ipvs_service_key_new_fwmark(5, AF_INET, &f));
    OK(ipvs_service_key_new_fwmark(4294967295u, AF_INET6, &f6));
    CHECK(ipvs_service_key_is_fwmark(f) && ipvs_service_key_fwmark(f) == 5 && ipvs_service_key_protocol(f) == 0);
    CHECK(ipvs_service_key_port(f) == 0 && ipvs_service_key_family(f6) == AF_INET6);
    OK(ipvs_service_key_addr(f, &a));
    CHECK(a.family == 0);
    CHECK_STR(TEXT(ipvs_service_key_text, f), "-f 5");
    CHECK_STR(TEXT(ipvs_service_key_text, f6), "-f 4294967295 -6");
    ipvs_service_key *sentinel = (ipvs_service_key *)&a;
    ipvs_service_key *out = sentinel;
    CHECK_RC(ipvs_service_key_new_fwmark(5, 3, &out), IPVS_RESULT_INVALID_PARAMETER);
    ipvs_addr badfam = {.family = 0};
    CHECK_RC(ipvs_service_key_new(6, &badfam, 80, &out), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(out == sentinel);
    /* Any protocol number can name a service (to delete it), but not create one. */
    ipvs_service_key *odd = key_of(99, "10.0.0.1", 9);
    CHECK(ipvs_service_key_protocol(odd) == 99);
    CHECK_STR(TEXT(ipvs_service_key_text, odd), "--?-service 10.0.0.1:9");
    ipvs_service_key_free(odd);
    ipvs_service_key_free(f6);
    ipvs_service_key_free(f);
    ipvs_service_key_free(u6);
    ipvs_service_key_free(c);
    ipvs_service_key_free(k);
    ipvs_service_key_free(NULL);
}

static void test_services(void)
{
    ipvs_service_key *k = key_of(IPVS_PROTOCOL_TCP, "10.1.2.3", 80);
    ipvs_service *s = NULL, *c = NULL;
    ipvs_addr m;
    OK(ipvs_service_new(k, &s));
    CHECK_STR(TEXT(ipvs_service_scheduler, s), "wlc");
    CHECK(ipvs_service_flags(s) == 0 && ipvs_service_timeout(s) == 0);
    CHECK(ipvs_service_netmask_family(s) == AF_INET && ipvs_service_netmask_prefix(s) == 32);
    OK(ipvs_service_netmask_v4(s, &m));
    CHECK_STR(TEXT(ipvs_addr_text, &m), "255.255.255.255");
    CHECK_STR(TEXT(ipvs_service_pe_name, s), "");
    CHECK(ipvs_service_key_equal(ipvs_service_get_key(s), k));
    OK(ipvs_service_validate(s));
    CHECK_STR(TEXT(ipvs_service_text, s), "-A -t 10.1.2.3:80 -s wlc");

    OK(ipvs_service_set_scheduler(s, "sh"));
    OK(ipvs_service_set_flags(s, IPVS_SVC_F_PERSISTENT | IPVS_SVC_F_SCHED1 | IPVS_SVC_F_SCHED2));
    OK(ipvs_service_set_timeout(s, 300));
    m = addr_of("255.255.255.0");
    OK(ipvs_service_set_netmask_v4(s, &m));
    OK(ipvs_service_set_pe_name(s, "sip"));
    CHECK(ipvs_service_flags(s) == 0x19 && ipvs_service_timeout(s) == 300 && ipvs_service_netmask_prefix(s) == 24);
    CHECK_STR(TEXT(ipvs_service_pe_name, s), "sip");
    OK(ipvs_service_validate(s));
    CHECK_STR(TEXT(ipvs_service_text, s), "-A -t 10.1.2.3:80 -s sh -p 300 -M 255.255.255.0 --pe sip -b sh-fallback,sh-port");
    OK(ipvs_service_clone(s, &c));
    OK(ipvs_service_set_pe_name(c, "")); /* removes it, in the copy only */
    CHECK_STR(TEXT(ipvs_service_pe_name, c), "");
    CHECK_STR(TEXT(ipvs_service_pe_name, s), "sip");

    /* Setters that cannot convert change nothing. */
    ipvs_addr v6 = addr_of("ffff::");
    CHECK_RC(ipvs_service_set_netmask_v4(s, &v6), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_service_set_netmask_v6(s, 256), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_service_set_scheduler(s, "w\xffrr"), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_service_set_pe_name(s, "\xfe"), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(ipvs_service_netmask_prefix(s) == 24);
    CHECK_STR(TEXT(ipvs_service_scheduler, s), "sh");
    /* A v6 prefix on this IPv4 service is stored, and refused when used. */
    OK(ipvs_service_set_netmask_v6(s, 64));
    CHECK(ipvs_service_netmask_family(s) == AF_INET6 && ipvs_service_netmask_prefix(s) == 64);
    CHECK_RC(ipvs_service_netmask_v4(s, &m), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_service_validate(s), IPVS_RESULT_INVALID_NETMASK);
    ipvs_service_free(c);
    ipvs_service_free(s);
    ipvs_service_key_free(k);
    ipvs_service_free(NULL);
}

/* One code per field: a service with one bad value. */
static void check_service_code(uint16_t proto, const char *vip, uint16_t port, const char *sched, uint32_t flags,
                               uint32_t timeout, const char *pe, ipvs_result want)
{
    ipvs_service_key *k = key_of(proto, vip, port);
    ipvs_service *s = service_of(k, sched);
    OK(ipvs_service_set_flags(s, flags));
    OK(ipvs_service_set_timeout(s, timeout));
    OK(ipvs_service_set_pe_name(s, pe));
    CHECK_RC(ipvs_service_validate(s), want);
    /* Adding it to a table fails the same way, before anything is done. */
    ipvs_client *mem = memory();
    CHECK_RC(ipvs_client_add_service(mem, s), want);
    ipvs_service_list *l = NULL;
    OK(ipvs_client_services(mem, &l));
    CHECK(ipvs_service_list_len(l) == (want == IPVS_RESULT_OK ? 1u : 0u));
    ipvs_service_list_free(l);
    ipvs_client_free(mem);
    ipvs_service_free(s);
    ipvs_service_key_free(k);
}

static void test_service_validation(void)
{
    check_service_code(6, "10.0.0.1", 80, "wlc", 0, 0, "", IPVS_RESULT_OK);
    check_service_code(99, "10.0.0.1", 80, "wlc", 0, 0, "", IPVS_RESULT_INVALID_PROTOCOL);
    check_service_code(6, "224.0.0.1", 80, "wlc", 0, 0, "", IPVS_RESULT_INVALID_SERVICE_ADDRESS);
    check_service_code(6, "10.0.0.1", 0, "wlc", 0, 0, "", IPVS_RESULT_INVALID_SERVICE_PORT);
    check_service_code(6, "10.0.0.1", 0, "wlc", IPVS_SVC_F_PERSISTENT, 60, "", IPVS_RESULT_OK);
    check_service_code(6, "10.0.0.1", 80, "", 0, 0, "", IPVS_RESULT_INVALID_SCHEDULER);
    check_service_code(6, "10.0.0.1", 80, "a-scheduler-too-long", 0, 0, "", IPVS_RESULT_INVALID_SCHEDULER);
    check_service_code(6, "10.0.0.1", 80, "wlc", 0x100, 0, "", IPVS_RESULT_INVALID_FLAGS);
    check_service_code(6, "10.0.0.1", 80, "wlc", IPVS_SVC_F_ONEPACKET, 0, "", IPVS_RESULT_INVALID_FLAGS);
    check_service_code(17, "10.0.0.1", 53, "wlc", IPVS_SVC_F_ONEPACKET, 0, "", IPVS_RESULT_OK);
    check_service_code(6, "10.0.0.1", 80, "wlc", IPVS_SVC_F_PERSISTENT, 0, "", IPVS_RESULT_INVALID_PERSISTENCE_TIMEOUT);
    check_service_code(6, "10.0.0.1", 80, "wlc", IPVS_SVC_F_PERSISTENT, 2678401, "",
                       IPVS_RESULT_INVALID_PERSISTENCE_TIMEOUT);
    check_service_code(6, "10.0.0.1", 80, "wlc", 0, 0, "bad name", IPVS_RESULT_INVALID_PERSISTENCE_ENGINE);
    /* A firewall mark of 0. */
    ipvs_service_key *f = NULL;
    ipvs_service *s = NULL;
    OK(ipvs_service_key_new_fwmark(0, AF_INET, &f));
    OK(ipvs_service_new(f, &s));
    CHECK_RC(ipvs_service_validate(s), IPVS_RESULT_INVALID_FWMARK);
    ipvs_service_free(s);
    ipvs_service_key_free(f);
    /* An IPv6 prefix out of range. */
    ipvs_service_key *k6 = key_of(6, "2001:db8::1", 80);
    s = service_of(k6, "rr");
    OK(ipvs_service_set_netmask_v6(s, 0));
    CHECK_RC(ipvs_service_validate(s), IPVS_RESULT_INVALID_NETMASK);
    OK(ipvs_service_set_netmask_v6(s, 129));
    CHECK_RC(ipvs_service_validate(s), IPVS_RESULT_INVALID_NETMASK);
    OK(ipvs_service_set_netmask_v6(s, 64));
    OK(ipvs_service_validate(s));
    CHECK_STR(TEXT(ipvs_service_text, s), "-A -t [2001:db8::1]:80 -s rr");
    ipvs_service_free(s);
    ipvs_service_key_free(k6);
}

static void test_dests(void)
{
    ipvs_dest *d = NULL, *c = NULL;
    ipvs_addr a = addr_of("192.168.1.10");
    OK(ipvs_dest_new(&a, 8080, &d));
    CHECK(ipvs_dest_forward(d) == IPVS_FORWARD_DIRECT_ROUTE && ipvs_dest_weight(d) == 1);
    CHECK(ipvs_dest_port(d) == 8080 && ipvs_dest_upper_threshold(d) == 0 && ipvs_dest_lower_threshold(d) == 0);
    CHECK(ipvs_dest_tunnel_type(d) == IPVS_TUNNEL_TYPE_IPIP && ipvs_dest_tunnel_port(d) == 0);
    CHECK(ipvs_dest_tunnel_flags(d) == 0);
    ipvs_addr back;
    OK(ipvs_dest_addr(d, &back));
    CHECK(memcmp(&a, &back, sizeof a) == 0);
    CHECK_STR(TEXT(ipvs_dest_text, d), "-r 192.168.1.10:8080 -g -w 1");
    OK(ipvs_dest_set_forward(d, IPVS_FORWARD_TUNNEL));
    OK(ipvs_dest_set_weight(d, 7));
    OK(ipvs_dest_set_upper_threshold(d, 100));
    OK(ipvs_dest_set_lower_threshold(d, 50));
    OK(ipvs_dest_set_tunnel_type(d, IPVS_TUNNEL_TYPE_GUE));
    OK(ipvs_dest_set_tunnel_port(d, 6080));
    OK(ipvs_dest_set_tunnel_flags(d, IPVS_TUNNEL_F_CSUM));
    CHECK(ipvs_dest_forward(d) == 2 && ipvs_dest_weight(d) == 7 && ipvs_dest_upper_threshold(d) == 100);
    CHECK(ipvs_dest_lower_threshold(d) == 50 && ipvs_dest_tunnel_type(d) == 1 && ipvs_dest_tunnel_port(d) == 6080);
    CHECK(ipvs_dest_tunnel_flags(d) == 1);
    CHECK_STR(TEXT(ipvs_dest_text, d), "-r 192.168.1.10:8080 -i -w 7 --tun-type gue --tun-port 6080 --tun-csum");
    OK(ipvs_dest_clone(d, &c));
    OK(ipvs_dest_set_weight(c, 9));
    CHECK(ipvs_dest_weight(d) == 7 && ipvs_dest_weight(c) == 9);
    /* Values that cannot be converted change nothing. */
    CHECK_RC(ipvs_dest_set_forward(d, 8), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_dest_set_tunnel_type(d, 256), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_dest_set_tunnel_flags(d, 0x10000), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(ipvs_dest_forward(d) == 2 && ipvs_dest_tunnel_type(d) == 1 && ipvs_dest_tunnel_flags(d) == 1);
    ipvs_dest_free(c);
    ipvs_dest_free(d);
    ipvs_dest_free(NULL);
}

/* The code `ipvs_dest_validate` gives for a real server of the TCP service 10.0.0.1:80. */
static ipvs_result dest_code(const char *ip, uint32_t fwd, uint32_t weight, uint32_t upper, uint32_t lower,
                             uint32_t tun_type, uint16_t tun_port, uint32_t tun_flags)
{
    ipvs_service_key *k = key_of(6, "10.0.0.1", 80);
    ipvs_dest *d = dest_of(ip, 80, fwd, weight);
    REQUIRE(ipvs_dest_set_upper_threshold(d, upper) == IPVS_RESULT_OK);
    REQUIRE(ipvs_dest_set_lower_threshold(d, lower) == IPVS_RESULT_OK);
    REQUIRE(ipvs_dest_set_tunnel_type(d, tun_type) == IPVS_RESULT_OK);
    REQUIRE(ipvs_dest_set_tunnel_port(d, tun_port) == IPVS_RESULT_OK);
    REQUIRE(ipvs_dest_set_tunnel_flags(d, tun_flags) == IPVS_RESULT_OK);
    ipvs_result r = ipvs_dest_validate(d, k);
    ipvs_dest_free(d);
    ipvs_service_key_free(k);
    return r;
}

static void test_dest_validation(void)
{
    CHECK_RC(dest_code("192.168.1.1", 0, 1, 0, 0, 0, 0, 0), IPVS_RESULT_OK);
    CHECK_RC(dest_code("0.0.0.0", 0, 1, 0, 0, 0, 0, 0), IPVS_RESULT_INVALID_DESTINATION_ADDRESS);
    CHECK_RC(dest_code("224.1.1.1", 0, 1, 0, 0, 0, 0, 0), IPVS_RESULT_INVALID_DESTINATION_ADDRESS);
    /* An IPv6 real server of an IPv4 service needs tunnelling. */
    CHECK_RC(dest_code("2001:db8::5", 0, 1, 0, 0, 0, 0, 0), IPVS_RESULT_INVALID_DESTINATION_ADDRESS);
    CHECK_RC(dest_code("2001:db8::5", IPVS_FORWARD_TUNNEL, 1, 0, 0, 0, 0, 0), IPVS_RESULT_OK);
    CHECK_RC(dest_code("192.168.1.1", 5, 1, 0, 0, 0, 0, 0), IPVS_RESULT_INVALID_FORWARD_METHOD);
    CHECK_RC(dest_code("192.168.1.1", 0, 2147483647u, 0, 0, 0, 0, 0), IPVS_RESULT_OK);
    CHECK_RC(dest_code("192.168.1.1", 0, 2147483648u, 0, 0, 0, 0, 0), IPVS_RESULT_INVALID_WEIGHT);
    CHECK_RC(dest_code("192.168.1.1", 0, 1, 2147483648u, 0, 0, 0, 0), IPVS_RESULT_INVALID_UPPER_THRESHOLD);
    CHECK_RC(dest_code("192.168.1.1", 0, 1, 10, 11, 0, 0, 0), IPVS_RESULT_INVALID_LOWER_THRESHOLD);
    CHECK_RC(dest_code("192.168.1.1", 2, 1, 0, 0, 3, 0, 0), IPVS_RESULT_INVALID_TUNNEL_TYPE);
    CHECK_RC(dest_code("192.168.1.1", 2, 1, 0, 0, IPVS_TUNNEL_TYPE_GUE, 0, 0), IPVS_RESULT_INVALID_TUNNEL_PORT);
    CHECK_RC(dest_code("192.168.1.1", 2, 1, 0, 0, IPVS_TUNNEL_TYPE_GRE, 0, 4), IPVS_RESULT_INVALID_TUNNEL_FLAGS);
    CHECK_RC(dest_code("192.168.1.1", 2, 1, 0, 0, IPVS_TUNNEL_TYPE_GRE, 0, IPVS_TUNNEL_F_REMCSUM),
             IPVS_RESULT_INVALID_TUNNEL_FLAGS);
    CHECK_RC(dest_code("192.168.1.1", 2, 1, 0, 0, IPVS_TUNNEL_TYPE_GUE, 9, IPVS_TUNNEL_F_REMCSUM), IPVS_RESULT_OK);
}

static void test_sync_daemons(void)
{
    ipvs_sync_daemon *d = NULL, *c = NULL;
    ipvs_addr g;
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_MASTER, "eth0", 7, &d));
    CHECK(ipvs_sync_daemon_role(d) == IPVS_SYNC_ROLE_MASTER && ipvs_sync_daemon_sync_id(d) == 7);
    CHECK_STR(TEXT(ipvs_sync_daemon_interface, d), "eth0");
    CHECK(ipvs_sync_daemon_max_len(d) == 0 && ipvs_sync_daemon_port(d) == 0 && ipvs_sync_daemon_ttl(d) == 0);
    OK(ipvs_sync_daemon_group(d, &g));
    CHECK(g.family == 0);
    CHECK_STR(TEXT(ipvs_sync_daemon_text, d), "master sync daemon (mcast=eth0, syncid=7)");
    OK(ipvs_sync_daemon_validate(d));
    g = addr_of("224.0.0.82");
    OK(ipvs_sync_daemon_set_group(d, &g));
    OK(ipvs_sync_daemon_set_max_len(d, 1400));
    OK(ipvs_sync_daemon_set_port(d, 8849));
    OK(ipvs_sync_daemon_set_ttl(d, 2));
    CHECK(ipvs_sync_daemon_max_len(d) == 1400 && ipvs_sync_daemon_port(d) == 8849 && ipvs_sync_daemon_ttl(d) == 2);
    ipvs_addr g2;
    OK(ipvs_sync_daemon_group(d, &g2));
    CHECK_STR(TEXT(ipvs_addr_text, &g2), "224.0.0.82");
    CHECK_STR(TEXT(ipvs_sync_daemon_text, d),
              "master sync daemon (mcast=eth0, syncid=7, maxlen=1400, group=224.0.0.82, port=8849, ttl=2)");
    OK(ipvs_sync_daemon_clone(d, &c));
    CHECK(ipvs_sync_daemon_sync_id(c) == 7);
    /* Validation: one code per field. */
    OK(ipvs_sync_daemon_set_max_len(c, 65508));
    CHECK_RC(ipvs_sync_daemon_validate(c), IPVS_RESULT_INVALID_SYNC_MAXLEN);
    ipvs_sync_daemon_free(c);
    g = addr_of("10.0.0.1");
    OK(ipvs_sync_daemon_set_group(d, &g));
    CHECK_RC(ipvs_sync_daemon_validate(d), IPVS_RESULT_INVALID_SYNC_GROUP);
    ipvs_sync_daemon_free(d);
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_BACKUP, "eth0", 256, &d));
    CHECK_RC(ipvs_sync_daemon_validate(d), IPVS_RESULT_INVALID_SYNC_ID);
    ipvs_sync_daemon_free(d);
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_BACKUP, "eth 0", 1, &d));
    CHECK_RC(ipvs_sync_daemon_validate(d), IPVS_RESULT_INVALID_SYNC_INTERFACE);
    ipvs_sync_daemon_free(d);
    /* Interface names are bytes. */
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_BACKUP, "v\xe9th0", 1, &d));
    CHECK_STR(TEXT(ipvs_sync_daemon_interface, d), "v\xe9th0");
    OK(ipvs_sync_daemon_validate(d));
    ipvs_sync_daemon_free(d);
    ipvs_sync_daemon *out = (ipvs_sync_daemon *)&g;
    CHECK_RC(ipvs_sync_daemon_new(3, "eth0", 1, &out), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(out == (ipvs_sync_daemon *)&g);
    ipvs_sync_daemon_free(NULL);
}

/* The memory client: every read and change, and the kernel's errors. */
static void test_memory_table(void)
{
    ipvs_client *mem = memory();
    CHECK(ipvs_client_is_memory(mem) && ipvs_client_netns_inode(mem) == 0);
    uint32_t version = 0, size = 0;
    OK(ipvs_client_info(mem, &version, &size));
    CHECK(version == 0x010201 && size == 4096);

    ipvs_service_key *k = key_of(6, "10.0.0.1", 80);
    ipvs_service *s = service_of(k, "wrr");
    OK(ipvs_client_add_service(mem, s));
    CHECK_RC(ipvs_client_add_service(mem, s), IPVS_RESULT_SERVICE_EXISTS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EEXIST);
    ipvs_dest *d1 = dest_of("192.168.1.1", 80, IPVS_FORWARD_MASQUERADE, 1);
    ipvs_dest *d2 = dest_of("192.168.1.2", 80, IPVS_FORWARD_MASQUERADE, 2);
    OK(ipvs_client_add_dest(mem, k, d1));
    OK(ipvs_client_add_dest(mem, k, d2));
    CHECK_RC(ipvs_client_add_dest(mem, k, d1), IPVS_RESULT_DESTINATION_EXISTS);

    ipvs_service_status *st = NULL;
    OK(ipvs_client_service(mem, k, &st));
    const ipvs_service *got = ipvs_service_status_get_service(st);
    CHECK_STR(TEXT(ipvs_service_scheduler, got), "wrr");
    CHECK(ipvs_service_flags(got) & IPVS_SVC_F_HASHED);
    ipvs_stats stats, stats32;
    OK(ipvs_service_status_stats(st, &stats));
    OK(ipvs_service_status_stats32(st, &stats32));
    CHECK(stats.conns == 0 && stats.in_bytes == 0 && stats32.out_bps == 0);
    ipvs_service_status_free(st);

    ipvs_dest_list *dl = NULL;
    OK(ipvs_client_dests(mem, k, &dl));
    CHECK(ipvs_dest_list_len(dl) == 2);
    /* Newest first, as the kernel lists them. */
    const ipvs_dest_status *ds = ipvs_dest_list_get(dl, 0);
    CHECK(ipvs_dest_weight(ipvs_dest_status_get_dest(ds)) == 2);
    CHECK(ipvs_dest_status_active_conns(ds) == 0 && ipvs_dest_status_inactive_conns(ds) == 0);
    CHECK(ipvs_dest_status_persist_conns(ds) == 0);
    OK(ipvs_dest_status_stats(ds, &stats));
    OK(ipvs_dest_status_stats32(ds, &stats32));
    CHECK(stats.conns == 0 && stats32.conns == 0);
    CHECK(ipvs_dest_list_get(dl, 2) == NULL && last_result() == IPVS_RESULT_INDEX_OUT_OF_RANGE);
    ipvs_dest_list_free(dl);

    OK(ipvs_dest_set_weight(d1, 5));
    OK(ipvs_client_edit_dest(mem, k, d1));
    OK(ipvs_service_set_scheduler(s, "rr"));
    OK(ipvs_client_edit_service(mem, s));
    OK(ipvs_client_delete_dest(mem, k, d2));
    CHECK_RC(ipvs_client_delete_dest(mem, k, d2), IPVS_RESULT_DESTINATION_NOT_FOUND);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ENOENT);
    CHECK_RC(ipvs_client_edit_dest(mem, k, d2), IPVS_RESULT_DESTINATION_NOT_FOUND);
    ipvs_table *t = NULL;
    OK(ipvs_client_table(mem, &t));
    CHECK_STR(TEXT(ipvs_table_save, t), "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 5\n");
    ipvs_table_free(t);

    /* The kernel's other refusals, as the in-memory table gives them. */
    ipvs_service_key *k2 = key_of(6, "10.0.0.2", 80);
    ipvs_service *s2 = service_of(k2, "nonesuch");
    CHECK_RC(ipvs_client_add_service(mem, s2), IPVS_RESULT_SCHEDULER_OR_ENGINE_NOT_FOUND);
    CHECK_RC(ipvs_client_delete_service(mem, k2), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ESRCH);
    CHECK_RC(ipvs_client_zero_service(mem, k2), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK_RC(ipvs_client_edit_service(mem, s2), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK_RC(ipvs_client_add_dest(mem, k2, d1), IPVS_RESULT_SERVICE_NOT_FOUND);
    ipvs_service_list *sl = NULL;
    CHECK_RC(ipvs_client_service(mem, k2, &st), IPVS_RESULT_SERVICE_NOT_FOUND);
    ipvs_service_key *k6 = key_of(6, "2001:db8::1", 80);
    ipvs_service *s6 = service_of(k6, "rr");
    OK(ipvs_client_add_service(mem, s6));
    ipvs_dest *ll = dest_of("fe80::1", 80, IPVS_FORWARD_MASQUERADE, 1);
    CHECK_RC(ipvs_client_add_dest(mem, k6, ll), IPVS_RESULT_KERNEL_INVALID);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EINVAL && !ipvs_error_may_have_applied(ipvs_error_last()));

    OK(ipvs_client_zero_service(mem, k));
    OK(ipvs_client_zero_all(mem));
    uint32_t tcp, fin, udp;
    OK(ipvs_client_timeouts(mem, &tcp, &fin, &udp));
    CHECK(tcp == 900 && fin == 120 && udp == 300);
    OK(ipvs_client_set_timeouts(mem, 1000, 0, 30));
    OK(ipvs_client_timeouts(mem, &tcp, &fin, &udp));
    CHECK(tcp == 1000 && fin == 120 && udp == 30);
    CHECK_RC(ipvs_client_set_timeouts(mem, 2678401, 0, 0), IPVS_RESULT_INVALID_TIMEOUT_TCP);
    CHECK_RC(ipvs_client_set_timeouts(mem, 0, 2678401, 0), IPVS_RESULT_INVALID_TIMEOUT_TCP_FIN);
    CHECK_RC(ipvs_client_set_timeouts(mem, 0, 0, 2678401), IPVS_RESULT_INVALID_TIMEOUT_UDP);
    OK(ipvs_client_timeouts(mem, &tcp, &fin, &udp));
    CHECK(tcp == 1000 && fin == 120 && udp == 30);

    ipvs_sync_daemon *m = NULL;
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_MASTER, "eth0", 3, &m));
    OK(ipvs_client_start_daemon(mem, m));
    CHECK_RC(ipvs_client_start_daemon(mem, m), IPVS_RESULT_SYNC_DAEMON_EXISTS);
    CHECK_RC(ipvs_client_stop_daemon(mem, IPVS_SYNC_ROLE_BACKUP), IPVS_RESULT_SYNC_DAEMON_NOT_FOUND);
    CHECK_RC(ipvs_client_stop_daemon(mem, 9), IPVS_RESULT_INVALID_PARAMETER);
    ipvs_daemon_list *daemons = NULL;
    OK(ipvs_client_daemons(mem, &daemons));
    CHECK(ipvs_daemon_list_len(daemons) == 1);
    /* Listed with the values the kernel chose, as the kernel lists them. */
    CHECK_STR(TEXT(ipvs_sync_daemon_text, ipvs_daemon_list_get(daemons, 0)),
              "master sync daemon (mcast=eth0, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)");
    CHECK(ipvs_daemon_list_get(daemons, 1) == NULL && last_result() == IPVS_RESULT_INDEX_OUT_OF_RANGE);
    ipvs_daemon_list_free(daemons);
    OK(ipvs_client_stop_daemon(mem, IPVS_SYNC_ROLE_MASTER));

    /* What only a kernel client has. */
    ipvs_conn_list *cl = NULL;
    CHECK_RC(ipvs_client_connections(mem, &cl), IPVS_RESULT_NOT_SUPPORTED);
    CHECK_RC(ipvs_client_sync_connections(mem, &cl), IPVS_RESULT_NOT_SUPPORTED);
    CHECK_RC(ipvs_client_set_timeout_ms(mem, 100), IPVS_RESULT_NOT_SUPPORTED);
    CHECK(cl == NULL);

    OK(ipvs_client_services(mem, &sl));
    CHECK(ipvs_service_list_len(sl) == 2);
    CHECK(ipvs_service_list_get(sl, 5) == NULL && last_result() == IPVS_RESULT_INDEX_OUT_OF_RANGE);
    ipvs_service_list_free(sl);
    OK(ipvs_client_delete_service(mem, k6));
    OK(ipvs_client_flush(mem));
    OK(ipvs_client_services(mem, &sl));
    CHECK(ipvs_service_list_len(sl) == 0);
    ipvs_service_list_free(sl);

    ipvs_sync_daemon_free(m);
    ipvs_dest_free(ll);
    ipvs_service_free(s6);
    ipvs_service_key_free(k6);
    ipvs_service_free(s2);
    ipvs_service_key_free(k2);
    ipvs_dest_free(d2);
    ipvs_dest_free(d1);
    ipvs_service_free(s);
    ipvs_service_key_free(k);
    ipvs_client_free(mem);
    ipvs_client_free(NULL);
}

/* Every kind of operation, its getters, and batches with a result each. */
static void test_ops(void)
{
    ipvs_ops *ops = NULL;
    OK(ipvs_ops_new(&ops));
    ipvs_service_key *k = key_of(17, "10.0.0.5", 53);
    ipvs_service *s = service_of(k, "rr");
    ipvs_dest *d = dest_of("192.168.2.1", 53, IPVS_FORWARD_MASQUERADE, 3);
    ipvs_sync_daemon *m = NULL;
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_BACKUP, "eth1", 9, &m));
    OK(ipvs_ops_add_service(ops, s));
    OK(ipvs_ops_edit_service(ops, s));
    OK(ipvs_ops_add_dest(ops, k, d));
    OK(ipvs_ops_edit_dest(ops, k, d));
    OK(ipvs_ops_zero_service(ops, k));
    OK(ipvs_ops_zero_all(ops));
    OK(ipvs_ops_set_timeouts(ops, 0, 60, 0));
    OK(ipvs_ops_start_daemon(ops, m));
    OK(ipvs_ops_stop_daemon(ops, IPVS_SYNC_ROLE_BACKUP));
    OK(ipvs_ops_delete_dest(ops, k, d));
    OK(ipvs_ops_delete_service(ops, k));
    OK(ipvs_ops_flush(ops));
    CHECK_RC(ipvs_ops_stop_daemon(ops, 0), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(ipvs_ops_len(ops) == 12);
    /* The list holds copies: changing or freeing ours does not change it. */
    OK(ipvs_dest_set_weight(d, 99));
    CHECK_STR(TEXT(ipvs_ops_text, ops), "-A -u 10.0.0.5:53 -s rr\n-E -u 10.0.0.5:53 -s rr\n"
                                        "-a -u 10.0.0.5:53 -r 192.168.2.1:53 -m -w 3\n"
                                        "-e -u 10.0.0.5:53 -r 192.168.2.1:53 -m -w 3\n"
                                        "-Z -u 10.0.0.5:53\n-Z\n--set 0 60 0\n"
                                        "--start-daemon backup --mcast-interface eth1 --syncid 9\n"
                                        "--stop-daemon backup\n-d -u 10.0.0.5:53 -r 192.168.2.1:53\n"
                                        "-D -u 10.0.0.5:53\n-C\n");
    static const uint32_t kinds[] = {IPVS_OP_KIND_ADD_SERVICE, IPVS_OP_KIND_EDIT_SERVICE,  IPVS_OP_KIND_ADD_DEST,
                                     IPVS_OP_KIND_EDIT_DEST,   IPVS_OP_KIND_ZERO,          IPVS_OP_KIND_ZERO,
                                     IPVS_OP_KIND_SET_TIMEOUTS, IPVS_OP_KIND_START_DAEMON, IPVS_OP_KIND_STOP_DAEMON,
                                     IPVS_OP_KIND_DELETE_DEST, IPVS_OP_KIND_DELETE_SERVICE, IPVS_OP_KIND_FLUSH};
    for (size_t i = 0; i < 12; i++)
        CHECK(ipvs_op_get_kind(ipvs_ops_get(ops, i)) == kinds[i]);
    const ipvs_op *add = ipvs_ops_get(ops, 0), *adest = ipvs_ops_get(ops, 2), *set = ipvs_ops_get(ops, 6);
    const ipvs_op *start = ipvs_ops_get(ops, 7), *stop = ipvs_ops_get(ops, 8), *ddest = ipvs_ops_get(ops, 9);
    const ipvs_op *flush = ipvs_ops_get(ops, 11);
    CHECK(ipvs_ops_get(ops, 12) == NULL && last_result() == IPVS_RESULT_INDEX_OUT_OF_RANGE);
    CHECK_STR(TEXT(ipvs_op_text, adest), "-a -u 10.0.0.5:53 -r 192.168.2.1:53 -m -w 3");
    CHECK(ipvs_service_key_equal(ipvs_op_get_key(add), k) && ipvs_op_get_service(add) != NULL);
    CHECK(ipvs_op_get_service(adest) == NULL && ipvs_op_get_dest(add) == NULL);
    CHECK(ipvs_op_get_key(flush) == NULL && ipvs_op_get_key(set) == NULL);
    CHECK(ipvs_dest_weight(ipvs_op_get_dest(adest)) == 3);
    ipvs_addr a;
    OK(ipvs_op_dest_addr(ddest, &a));
    CHECK_STR(TEXT(ipvs_addr_text, &a), "192.168.2.1");
    CHECK(ipvs_op_dest_port(ddest) == 53 && ipvs_op_dest_port(add) == 0 && ipvs_op_get_dest(ddest) == NULL);
    CHECK_RC(ipvs_op_dest_addr(add, &a), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(ipvs_sync_daemon_sync_id(ipvs_op_get_daemon(start)) == 9 && ipvs_op_get_daemon(stop) == NULL);
    CHECK(ipvs_op_role(start) == IPVS_SYNC_ROLE_BACKUP && ipvs_op_role(stop) == IPVS_SYNC_ROLE_BACKUP);
    CHECK(ipvs_op_role(add) == 0);
    uint32_t tcp = 1, fin = 1, udp = 1;
    OK(ipvs_op_timeouts(set, &tcp, &fin, &udp));
    CHECK(tcp == 0 && fin == 60 && udp == 0);
    CHECK_RC(ipvs_op_timeouts(add, &tcp, &fin, &udp), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(fin == 60);

    /* Applied to the in-memory table: a result per operation. */
    ipvs_client *mem = memory();
    ipvs_results *r = NULL;
    CHECK_RC(ipvs_client_apply(mem, ops, 2, &r), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(r == NULL);
    OK(ipvs_client_apply(mem, ops, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_len(r) == 12 && ipvs_results_failed(r) == 0);
    for (size_t i = 0; i < 12; i++) {
        CHECK_RC(ipvs_results_get(r, i), IPVS_RESULT_OK);
        CHECK(ipvs_results_error(r, i) == NULL);
    }
    CHECK_RC(ipvs_results_get(r, 12), IPVS_RESULT_INDEX_OUT_OF_RANGE);
    CHECK(ipvs_results_error(r, 12) == NULL);
    ipvs_results_free(r);

    /* The second time the deletions fail; Continue goes on, Stop stops at the first failure. */
    ipvs_ops *again = NULL;
    OK(ipvs_ops_new(&again));
    OK(ipvs_ops_add_service(again, s));
    OK(ipvs_ops_delete_dest(again, k, d));
    OK(ipvs_ops_add_dest(again, k, d)); /* weight 99 now */
    OK(ipvs_ops_add_service(again, s));
    OK(ipvs_ops_flush(again));
    OK(ipvs_client_apply(mem, again, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_len(r) == 5 && ipvs_results_failed(r) == 2);
    CHECK_RC(ipvs_results_get(r, 1), IPVS_RESULT_DESTINATION_NOT_FOUND);
    CHECK_RC(ipvs_results_get(r, 3), IPVS_RESULT_SERVICE_EXISTS);
    const ipvs_error *e = ipvs_results_error(r, 1);
    CHECK(e != NULL && ipvs_error_result(e) == IPVS_RESULT_DESTINATION_NOT_FOUND && ipvs_error_errno(e) == ENOENT);
    CHECK_STR(TEXT(ipvs_error_message, e), "no such destination");
    ipvs_results_free(r);
    OK(ipvs_client_apply(mem, again, IPVS_ON_ERROR_STOP, &r));
    CHECK(ipvs_results_len(r) == 2 && ipvs_results_failed(r) == 1);
    CHECK_RC(ipvs_results_get(r, 1), IPVS_RESULT_DESTINATION_NOT_FOUND);
    ipvs_results_free(r);
    ipvs_service_list *sl = NULL;
    OK(ipvs_client_services(mem, &sl));
    CHECK(ipvs_service_list_len(sl) == 1); /* the flush was never attempted */
    ipvs_service_list_free(sl);

    ipvs_ops_free(again);
    ipvs_client_free(mem);
    ipvs_sync_daemon_free(m);
    ipvs_dest_free(d);
    ipvs_service_free(s);
    ipvs_service_key_free(k);
    ipvs_ops_free(ops);
    ipvs_ops_free(NULL);
    ipvs_results_free(NULL);
}

static void test_rules(void)
{
    static const char rules[] = "-A -t 10.0.0.2:80 -s rr\n"
                                "-a -t 10.0.0.2:80 -r 192.168.1.2:80 -m -w 1\n"
                                "-A -t 192.168.0.1:80 -s wlc -p 300\n"
                                "-A -t 10.0.0.1:80 -s rr\n"
                                "-a -t 10.0.0.1:80 -r 192.168.1.9:80 -g -w 2\n"
                                "-a -t 10.0.0.1:80 -r 192.168.1.3:80 -g -w 2\n";
    ipvs_ops *ops = NULL;
    OK(ipvs_ops_from_rules(rules, sizeof rules - 1, &ops));
    CHECK(ipvs_ops_len(ops) == 6);
    CHECK_STR(TEXT(ipvs_ops_text, ops), rules);
    ipvs_ops_free(ops);

    /* The table the rules describe, and ipvsadm -Sn of it (sorted as ipvsadm sorts: its
     * comparator subtracts addresses in an int, so 192.168.0.1 sorts before 10.0.0.1). */
    ipvs_table *t = NULL;
    OK(ipvs_table_from_rules(rules, sizeof rules - 1, &t));
    CHECK(ipvs_table_len(t) == 3);
    CHECK_STR(TEXT(ipvs_service_key_text, ipvs_service_get_key(ipvs_service_status_get_service(ipvs_table_service(t, 0)))),
              "-t 10.0.0.2:80");
    CHECK_STR(TEXT(ipvs_table_save, t), "-A -t 192.168.0.1:80 -s wlc -p 300\n"
                                        "-A -t 10.0.0.1:80 -s rr\n"
                                        "-a -t 10.0.0.1:80 -r 192.168.1.3:80 -g -w 2\n"
                                        "-a -t 10.0.0.1:80 -r 192.168.1.9:80 -g -w 2\n"
                                        "-A -t 10.0.0.2:80 -s rr\n"
                                        "-a -t 10.0.0.2:80 -r 192.168.1.2:80 -m -w 1\n");
    OK(ipvs_table_sort(t));
    CHECK_STR(TEXT(ipvs_service_key_text, ipvs_service_get_key(ipvs_service_status_get_service(ipvs_table_service(t, 0)))),
              "-t 192.168.0.1:80");
    const ipvs_dest_list *dl = ipvs_table_dests(t, 1);
    CHECK(ipvs_dest_list_len(dl) == 2);
    ipvs_addr a;
    OK(ipvs_dest_addr(ipvs_dest_status_get_dest(ipvs_dest_list_get(dl, 0)), &a));
    CHECK_STR(TEXT(ipvs_addr_text, &a), "192.168.1.3");
    CHECK(ipvs_table_service(t, 3) == NULL && last_result() == IPVS_RESULT_INDEX_OUT_OF_RANGE);
    CHECK(ipvs_table_dests(t, 3) == NULL);
    /* A text buffer too small: untouched, written is what is needed. */
    char small[16];
    size_t need = 0;
    memset(small, 'k', sizeof small);
    CHECK_RC(ipvs_table_save(t, small, sizeof small, &need), IPVS_RESULT_BUFFER_TOO_SMALL);
    CHECK(need == strlen(TEXT(ipvs_table_save, t)) && small[0] == 'k' && small[15] == 'k');
    ipvs_table_free(t);

    /* Errors name their line. */
    static const char bad[] = "-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -s rr -Q\n";
    ipvs_ops *o2 = (ipvs_ops *)&a;
    CHECK_RC(ipvs_ops_from_rules(bad, sizeof bad - 1, &o2), IPVS_RESULT_RULES_SYNTAX);
    CHECK(o2 == (ipvs_ops *)&a);
    CHECK(ipvs_error_line(ipvs_error_last()) == 2 && ipvs_error_errno(ipvs_error_last()) == EINVAL);
    CHECK(strncmp(last_message(), "line 2: ", 8) == 0);
    ipvs_table *t2 = (ipvs_table *)&a;
    CHECK_RC(ipvs_table_from_rules(bad, sizeof bad - 1, &t2), IPVS_RESULT_RULES_SYNTAX);
    static const char orphan[] = "-A -t 10.0.0.1:80\n\n-a -t 10.0.0.9:80 -r 192.168.1.1\n";
    CHECK_RC(ipvs_table_from_rules(orphan, sizeof orphan - 1, &t2), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK(ipvs_error_line(ipvs_error_last()) == 3);
    CHECK(strstr(last_message(), "line 3") != NULL);
    static const char twice[] = "-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n";
    CHECK_RC(ipvs_table_from_rules(twice, sizeof twice - 1, &t2), IPVS_RESULT_SERVICE_EXISTS);
    static const char weight[] = "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1 -w 2147483648\n";
    ipvs_result wr = ipvs_table_from_rules(weight, sizeof weight - 1, &t2);
    CHECK(wr == IPVS_RESULT_RULES_SYNTAX || wr == IPVS_RESULT_INVALID_WEIGHT);
    CHECK_RC(ipvs_table_from_rules("\xff\n", 2, &t2), IPVS_RESULT_INVALID_PARAMETER);
    CHECK(t2 == (ipvs_table *)&a);
    /* Length, not NUL, ends the text. */
    OK(ipvs_ops_from_rules("-C\n-Z\n", 3, &ops));
    CHECK(ipvs_ops_len(ops) == 1);
    ipvs_ops_free(ops);
}

static void test_tables(void)
{
    ipvs_table *t = NULL;
    OK(ipvs_table_new(&t));
    CHECK(ipvs_table_len(t) == 0);
    ipvs_service_key *k = key_of(6, "10.0.0.1", 80), *k2 = key_of(6, "10.0.0.2", 80);
    ipvs_service *s = service_of(k, "wrr");
    ipvs_dest *d = dest_of("192.168.1.1", 80, IPVS_FORWARD_MASQUERADE, 4);
    OK(ipvs_table_add_service(t, s));
    OK(ipvs_table_add_dest(t, k, d));
    CHECK_RC(ipvs_table_add_dest(t, k2, d), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK(ipvs_table_len(t) == 1 && ipvs_dest_list_len(ipvs_table_dests(t, 0)) == 1);
    CHECK_STR(TEXT(ipvs_table_save, t), "-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 4\n");
    ipvs_stats st;
    OK(ipvs_service_status_stats(ipvs_table_service(t, 0), &st));
    CHECK(st.conns == 0);
    ipvs_table_free(t);
    ipvs_table_free(NULL);
    ipvs_dest_free(d);
    ipvs_service_free(s);
    ipvs_service_key_free(k2);
    ipvs_service_key_free(k);
}

static void test_plans(void)
{
    static const char current_rules[] = "-A -t 10.0.0.1:80 -s rr\n"
                                        "-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1\n"
                                        "-a -t 10.0.0.1:80 -r 192.168.1.2:80 -m -w 1\n"
                                        "-A -t 10.0.0.9:80 -s rr\n";
    static const char desired_rules[] = "-A -t 10.0.0.1:80 -s wrr\n"
                                        "-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 3\n"
                                        "-a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 1\n";
    ipvs_table *current = NULL, *desired = NULL;
    OK(ipvs_table_from_rules(current_rules, sizeof current_rules - 1, &current));
    OK(ipvs_table_from_rules(desired_rules, sizeof desired_rules - 1, &desired));
    ipvs_plan *p = NULL;
    OK(ipvs_plan_new(current, desired, &p));
    CHECK(ipvs_plan_len(p) == 5);
    CHECK_STR(TEXT(ipvs_plan_text, p), "-D -t 10.0.0.9:80\n-E -t 10.0.0.1:80 -s wrr\n"
                                       "-d -t 10.0.0.1:80 -r 192.168.1.2:80\n"
                                       "-e -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 3\n"
                                       "-a -t 10.0.0.1:80 -r 192.168.1.3:80 -m -w 1\n");
    const ipvs_ops *ops = ipvs_plan_ops(p);
    CHECK(ipvs_ops_len(ops) == 5 && ipvs_op_get_kind(ipvs_ops_get(ops, 0)) == IPVS_OP_KIND_DELETE_SERVICE);
    ipvs_plan *same = NULL;
    OK(ipvs_plan_new(desired, desired, &same));
    CHECK(ipvs_plan_len(same) == 0);
    CHECK_STR(TEXT(ipvs_plan_text, same), "");
    ipvs_plan_free(same);

    /* Against the in-memory table: load the current table, plan, apply, converge. */
    ipvs_client *mem = memory();
    ipvs_ops *load = NULL;
    ipvs_results *r = NULL;
    OK(ipvs_ops_from_rules(current_rules, sizeof current_rules - 1, &load));
    OK(ipvs_client_apply(mem, load, IPVS_ON_ERROR_STOP, &r));
    CHECK(ipvs_results_failed(r) == 0);
    ipvs_results_free(r);
    ipvs_plan *live = NULL;
    OK(ipvs_client_plan(mem, desired, &live));
    CHECK_STR(TEXT(ipvs_plan_text, live), TEXT(ipvs_plan_text, p));
    OK(ipvs_plan_apply(live, mem, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_len(r) == 5 && ipvs_results_failed(r) == 0);
    ipvs_table *now = NULL;
    OK(ipvs_client_table(mem, &now));
    CHECK_STR(TEXT(ipvs_table_save, now), TEXT(ipvs_table_save, desired));
    ipvs_table_free(now);
    ipvs_plan *again = NULL;
    OK(ipvs_client_plan(mem, desired, &again));
    CHECK(ipvs_plan_len(again) == 0);
    ipvs_plan_free(again);

    /* Undo and rollback restore the table as it was. */
    ipvs_ops *undo = NULL;
    OK(ipvs_plan_undo_ops(live, r, &undo));
    CHECK(ipvs_ops_len(undo) >= 5);
    CHECK_STR(TEXT(ipvs_op_text, ipvs_ops_get(undo, 0)), "-d -t 10.0.0.1:80 -r 192.168.1.3:80");
    ipvs_ops_free(undo);
    ipvs_results *rb = NULL;
    OK(ipvs_plan_rollback(live, mem, r, &rb));
    CHECK(ipvs_results_failed(rb) == 0);
    OK(ipvs_client_table(mem, &now));
    CHECK_STR(TEXT(ipvs_table_save, now), TEXT(ipvs_table_save, current));
    ipvs_table_free(now);
    ipvs_results_free(rb);
    ipvs_results_free(r);
    ipvs_plan_free(live);

    /* A desired table the kernel would refuse is refused before anything is planned. */
    ipvs_table *dup = NULL;
    OK(ipvs_table_new(&dup));
    ipvs_service_key *k = key_of(6, "10.0.0.1", 80);
    ipvs_service *s = service_of(k, "rr");
    OK(ipvs_table_add_service(dup, s));
    ipvs_dest *d = dest_of("192.168.1.1", 80, IPVS_FORWARD_MASQUERADE, 1);
    OK(ipvs_table_add_dest(dup, k, d));
    OK(ipvs_table_add_dest(dup, k, d));
    ipvs_plan *bad = (ipvs_plan *)&s;
    CHECK_RC(ipvs_client_plan(mem, dup, &bad), IPVS_RESULT_DESTINATION_EXISTS);
    CHECK(strstr(last_message(), "192.168.1.1:80 is listed twice for service -t 10.0.0.1:80") != NULL);
    CHECK_RC(ipvs_plan_new(current, dup, &bad), IPVS_RESULT_DESTINATION_EXISTS);
    ipvs_table_free(dup);
    OK(ipvs_table_new(&dup));
    OK(ipvs_table_add_service(dup, s));
    OK(ipvs_table_add_service(dup, s));
    CHECK_RC(ipvs_plan_new(current, dup, &bad), IPVS_RESULT_SERVICE_EXISTS);
    CHECK(strstr(last_message(), "service -t 10.0.0.1:80 is listed twice") != NULL);
    ipvs_table_free(dup);
    OK(ipvs_table_new(&dup));
    OK(ipvs_dest_set_weight(d, 2147483648u));
    OK(ipvs_table_add_service(dup, s));
    OK(ipvs_table_add_dest(dup, k, d));
    CHECK_RC(ipvs_plan_new(current, dup, &bad), IPVS_RESULT_INVALID_WEIGHT);
    CHECK(bad == (ipvs_plan *)&s);
    CHECK_RC(ipvs_plan_apply(p, mem, 7, &r), IPVS_RESULT_INVALID_PARAMETER);
    ipvs_table_free(dup);
    ipvs_dest_free(d);
    ipvs_service_free(s);
    ipvs_service_key_free(k);
    ipvs_ops_free(load);
    ipvs_client_free(mem);
    ipvs_plan_free(p);
    ipvs_plan_free(NULL);
    ipvs_table_free(desired);
    ipvs_table_free(current);
}

struct walk {
    int seen, stop_at, dests;
    void *marker;
};

static int walker(void *userdata, const ipvs_service_status *svc, const ipvs_dest_list *dests)
{
    struct walk *w = userdata;
    CHECK(ipvs_service_status_get_service(svc) != NULL);
    w->dests += (int)ipvs_dest_list_len(dests);
    return ++w->seen == w->stop_at ? 42 : 0;
}

static void test_walk(void)
{
    static const char rules[] = "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 192.168.1.1\n"
                                "-A -t 10.0.0.2:80\n-a -t 10.0.0.2:80 -r 192.168.1.1\n-a -t 10.0.0.2:80 -r 192.168.1.2\n"
                                "-A -t 10.0.0.3:80\n";
    ipvs_client *mem = memory();
    ipvs_ops *ops = NULL;
    ipvs_results *r = NULL;
    OK(ipvs_ops_from_rules(rules, sizeof rules - 1, &ops));
    OK(ipvs_client_apply(mem, ops, IPVS_ON_ERROR_CONTINUE, &r));
    struct walk w = {0, 0, 0, NULL};
    OK(ipvs_client_for_each(mem, walker, &w));
    CHECK(w.seen == 3 && w.dests == 3);
    struct walk stop = {0, 2, 0, NULL};
    CHECK_RC(ipvs_client_for_each(mem, walker, &stop), IPVS_RESULT_CALLBACK_STOPPED);
    CHECK(stop.seen == 2 && strstr(last_message(), "42") != NULL);
    ipvs_results_free(r);
    ipvs_ops_free(ops);
    ipvs_client_free(mem);
}

static void test_connections(void)
{
    static const char text[] =
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
        "TCP CB007105 C738 0A000001 0050 C0A8010B 0050 ESTABLISHED     899\n"
        "IP  CB007100 0000 00000005 0000 C0A8010B 0000 NONE            299\n"
        "UDP CB007105 13C4 0A000001 13C4 C0A8010B 13C4 UDP             179 sip call-1@example\n";
    ipvs_conn_list *l = NULL;
    OK(ipvs_conn_list_from_text(text, sizeof text - 1, &l));
    CHECK(ipvs_conn_list_len(l) == 3);
    const ipvs_conn *c = ipvs_conn_list_get(l, 0);
    ipvs_addr a;
    CHECK(ipvs_conn_protocol(c) == 6 && ipvs_conn_client_port(c) == 51000 && ipvs_conn_virtual_port(c) == 80);
    OK(ipvs_conn_client_addr(c, &a));
    CHECK_STR(TEXT(ipvs_addr_text, &a), "203.0.113.5");
    OK(ipvs_conn_virtual_addr(c, &a));
    CHECK_STR(TEXT(ipvs_addr_text, &a), "10.0.0.1");
    OK(ipvs_conn_dest_addr(c, &a));
    CHECK_STR(TEXT(ipvs_addr_text, &a), "192.168.1.11");
    CHECK(ipvs_conn_dest_port(c) == 80 && ipvs_conn_expires(c) == 899 && ipvs_conn_fwmark(c) == 0);
    CHECK_STR(TEXT(ipvs_conn_state, c), "ESTABLISHED");
    CHECK_STR(TEXT(ipvs_conn_pe_name, c), "");
    CHECK(ipvs_conn_get_origin(c) == IPVS_CONN_ORIGIN_UNKNOWN);
    CHECK_STR(TEXT(ipvs_conn_text, c), "TCP CB007105 C738 0A000001 0050 C0A8010B 0050 ESTABLISHED     899");
    const ipvs_conn *tmpl = ipvs_conn_list_get(l, 1);
    CHECK(ipvs_conn_protocol(tmpl) == 0 && ipvs_conn_fwmark(tmpl) == 5);
    const ipvs_conn *sip = ipvs_conn_list_get(l, 2);
    CHECK_STR(TEXT(ipvs_conn_pe_name, sip), "sip");
    CHECK_STR(TEXT(ipvs_conn_pe_data, sip), "call-1@example");
    CHECK(ipvs_conn_list_get(l, 3) == NULL && last_result() == IPVS_RESULT_INDEX_OUT_OF_RANGE);
    ipvs_conn_list_free(l);
    ipvs_conn_list_free(NULL);
    static const char broken[] = "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
                                 "TCP nothex\n";
    ipvs_conn_list *out = (ipvs_conn_list *)&a;
    CHECK_RC(ipvs_conn_list_from_text(broken, sizeof broken - 1, &out), IPVS_RESULT_DECODE);
    CHECK(out == (ipvs_conn_list *)&a);
}

/* ipvs_error_last and the ipvs_error readers. */
static void test_errors(void)
{
    ipvs_client *mem = memory();
    ipvs_service_key *k = key_of(6, "10.0.0.1", 80);
    CHECK_RC(ipvs_client_delete_service(mem, k), IPVS_RESULT_SERVICE_NOT_FOUND);
    const ipvs_error *e = ipvs_error_last();
    CHECK(e != NULL && ipvs_error_result(e) == IPVS_RESULT_SERVICE_NOT_FOUND && ipvs_error_errno(e) == ESRCH);
    CHECK_STR(TEXT(ipvs_error_message, e), "no such service");
    CHECK_STR(TEXT(ipvs_error_kernel_message, e), "");
    CHECK(ipvs_error_line(e) == 0 && !ipvs_error_may_have_applied(e));
    /* A success leaves it; the readers never replace it, even when they fail. */
    CHECK(ipvs_service_key_port(k) == 80);
    CHECK(ipvs_error_last() == e);
    char small[4];
    size_t n = 0;
    CHECK_RC(ipvs_error_message(e, small, sizeof small, &n), IPVS_RESULT_BUFFER_TOO_SMALL);
    CHECK(n == strlen("no such service"));
    CHECK_RC(ipvs_error_message(e, NULL, 0, &n), IPVS_RESULT_NULL_PARAMETER);
    CHECK_RC(ipvs_result_message(0, small, 0, &n), IPVS_RESULT_BUFFER_TOO_SMALL);
    CHECK(ipvs_error_last() == e && ipvs_error_result(e) == IPVS_RESULT_SERVICE_NOT_FOUND);
    /* The next failure replaces it. */
    CHECK_RC(ipvs_service_key_addr(k, NULL), IPVS_RESULT_NULL_PARAMETER);
    e = ipvs_error_last();
    CHECK(ipvs_error_result(e) == IPVS_RESULT_NULL_PARAMETER && ipvs_error_errno(e) == 0);
    CHECK_STR(TEXT(ipvs_error_message, e), "out is NULL");
    /* Getters that fail record it too. */
    CHECK(ipvs_service_key_port(NULL) == 0);
    CHECK_STR(TEXT(ipvs_error_message, ipvs_error_last()), "key is NULL");
    /* Readers of a NULL error. */
    CHECK(ipvs_error_result(NULL) == IPVS_RESULT_NULL_PARAMETER && ipvs_error_errno(NULL) == 0);
    CHECK(ipvs_error_line(NULL) == 0 && !ipvs_error_may_have_applied(NULL));
    ipvs_service_key_free(k);
    ipvs_client_free(mem);
}

/* Options, namespaces, and opening a kernel client where there is no IPVS. */
static void test_options_and_namespaces(void)
{
    ipvs_client_options *o = NULL;
    OK(ipvs_client_options_new(&o));
    OK(ipvs_client_options_set_timeout_ms(o, 5000));
    OK(ipvs_client_options_set_timeout_ms(o, 0));
    OK(ipvs_client_options_set_receive_buffer(o, 1 << 20));
    OK(ipvs_client_options_set_max_in_flight(o, 16));
    OK(ipvs_client_options_set_max_in_flight(o, 0));
    OK(ipvs_client_options_set_verify_dumps(o, false));
    OK(ipvs_client_options_set_dump_attempts(o, 0));

    ipvs_netns *cur = NULL, *byfd = NULL, *bypath = NULL, *out = (ipvs_netns *)&o;
    OK(ipvs_netns_current(&cur));
    struct stat sb;
    REQUIRE(stat("/proc/self/ns/net", &sb) == 0);
    CHECK(ipvs_netns_inode(cur) == (uint64_t)sb.st_ino);
    OK(ipvs_netns_path("/proc/self/ns/net", &bypath));
    CHECK(ipvs_netns_inode(bypath) == ipvs_netns_inode(cur));
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    OK(ipvs_netns_from_fd(fd, &byfd));
    CHECK(ipvs_netns_inode(byfd) == ipvs_netns_inode(cur));
    CHECK(fcntl(fd, F_GETFD) != -1); /* the caller keeps its descriptor */
    close(fd);
    CHECK_RC(ipvs_netns_from_fd(-1, &out), IPVS_RESULT_INVALID_PARAMETER);
    CHECK_RC(ipvs_netns_from_fd(fd, &out), IPVS_RESULT_OS); /* closed now */
    CHECK(ipvs_error_errno(ipvs_error_last()) == EBADF);
    CHECK_RC(ipvs_netns_named("a/b", &out), IPVS_RESULT_OS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EINVAL);
    CHECK_RC(ipvs_netns_named("no-such-namespace-here", &out), IPVS_RESULT_OS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ENOENT);
    CHECK_RC(ipvs_netns_path("/proc/self/status", &out), IPVS_RESULT_OS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EINVAL);
    CHECK(out == (ipvs_netns *)&o);

    if (getenv("IPVS_CAPI_NO_KERNEL_IPVS") != NULL) {
        ipvs_client *c = (ipvs_client *)&o;
        CHECK_RC(ipvs_client_new(NULL, &c), IPVS_RESULT_MODULE_MISSING);
        CHECK_RC(ipvs_client_new(o, &c), IPVS_RESULT_MODULE_MISSING);
        CHECK_RC(ipvs_client_new_in_netns(cur, NULL, &c), IPVS_RESULT_MODULE_MISSING);
        CHECK(ipvs_error_errno(ipvs_error_last()) == ENOENT);
        CHECK(c == (ipvs_client *)&o);
    }
    ipvs_netns_free(byfd);
    ipvs_netns_free(bypath);
    ipvs_netns_free(cur);
    ipvs_netns_free(NULL);
    ipvs_client_options_free(o);
    ipvs_client_options_free(NULL);
}

int main(void)
{
    RUN(test_version);
    RUN(test_result_messages);
    RUN(test_addresses);
    RUN(test_service_keys);
    RUN(test_services);
    RUN(test_service_validation);
    RUN(test_dests);
    RUN(test_dest_validation);
    RUN(test_sync_daemons);
    RUN(test_memory_table);
    RUN(test_ops);
    RUN(test_rules);
    RUN(test_tables);
    RUN(test_plans);
    RUN(test_walk);
    RUN(test_connections);
    RUN(test_errors);
    RUN(test_options_and_namespaces);
    return finish("test_api");
}
