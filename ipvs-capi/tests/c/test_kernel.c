/*
 * test_kernel: libipvs from C against the real kernel (inside the VM, as root). The program moves
 * into a fresh network namespace first, so it can run beside anything else. Debian's ipvsadm is
 * the witness where it can be: what the library reads and writes is compared with ipvsadm -Sn.
 */
#include "harness.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

static ipvs_client *ipvs;

/* The output of a shell command (at most a few hundred KB). */
static const char *run(const char *cmd)
{
    static char buf[1 << 19];
    FILE *p = popen(cmd, "r");
    size_t n = 0;
    REQUIRE(p != NULL);
    n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* ipvs_table_save of the kernel's table. */
static const char *saved(ipvs_client *c)
{
    static char buf[1 << 19];
    ipvs_table *t = NULL;
    size_t n;
    REQUIRE(ipvs_client_table(c, &t) == IPVS_RESULT_OK);
    REQUIRE(ipvs_table_save(t, buf, sizeof buf, &n) == IPVS_RESULT_OK);
    ipvs_table_free(t);
    return buf;
}

static void apply_rules(ipvs_client *c, const char *rules)
{
    ipvs_ops *ops = NULL;
    ipvs_results *r = NULL;
    REQUIRE(ipvs_ops_from_rules(rules, strlen(rules), &ops) == IPVS_RESULT_OK);
    REQUIRE(ipvs_client_apply(c, ops, IPVS_ON_ERROR_STOP, &r) == IPVS_RESULT_OK);
    if (ipvs_results_failed(r) != 0) {
        fprintf(stderr, "loading rules failed: %s\n", TEXT(ipvs_error_message, ipvs_results_error(r, ipvs_results_len(r) - 1)));
        exit(2);
    }
    ipvs_results_free(r);
    ipvs_ops_free(ops);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_open_and_info(void)
{
    uint32_t version = 0, size = 0;
    CHECK(!ipvs_client_is_memory(ipvs));
    OK(ipvs_client_info(ipvs, &version, &size));
    CHECK(version == 0x010201 && size == 4096);
    struct stat sb;
    REQUIRE(stat("/proc/thread-self/ns/net", &sb) == 0);
    CHECK(ipvs_client_netns_inode(ipvs) == (uint64_t)sb.st_ino);
    OK(ipvs_client_set_timeout_ms(ipvs, 20000));
    OK(ipvs_client_set_timeout_ms(ipvs, 0));
    OK(ipvs_client_set_timeout_ms(ipvs, 30000));

    /* Every option, and the client still works with them. */
    ipvs_client_options *o = NULL;
    ipvs_client *c = NULL;
    OK(ipvs_client_options_new(&o));
    OK(ipvs_client_options_set_timeout_ms(o, 10000));
    OK(ipvs_client_options_set_receive_buffer(o, 256 << 10));
    OK(ipvs_client_options_set_max_in_flight(o, 1));
    OK(ipvs_client_options_set_verify_dumps(o, false));
    OK(ipvs_client_options_set_dump_attempts(o, 2));
    OK(ipvs_client_new(o, &c));
    ipvs_client_options_free(o); /* the client keeps its own copy */
    apply_rules(c, "-A -t 10.1.9.1:80 -s rr\n-a -t 10.1.9.1:80 -r 192.168.9.1:80 -m\n-a -t 10.1.9.1:80 -r 192.168.9.2:80 -m\n");
    CHECK_STR(saved(c), run("ipvsadm -Sn"));
    OK(ipvs_client_flush(c));
    ipvs_client_free(c);
}

/* Services and real servers with every attribute, read back field by field, and saved as
 * ipvsadm saves them. */
static void test_every_attribute(void)
{
    OK(ipvs_client_flush(ipvs));
    ipvs_service_key *tcp = key_of(IPVS_PROTOCOL_TCP, "10.1.0.1", 80), *udp = key_of(IPVS_PROTOCOL_UDP, "10.1.0.2", 53);
    ipvs_service_key *sctp = key_of(IPVS_PROTOCOL_SCTP, "10.1.0.3", 5000), *all = key_of(IPVS_PROTOCOL_TCP, "10.1.0.4", 0);
    ipvs_service_key *sip = key_of(IPVS_PROTOCOL_UDP, "10.1.0.5", 5060), *v6 = key_of(IPVS_PROTOCOL_TCP, "2001:db8::1", 443);
    ipvs_service_key *fw = NULL, *fw6 = NULL;
    OK(ipvs_service_key_new_fwmark(7, AF_INET, &fw));
    OK(ipvs_service_key_new_fwmark(8, AF_INET6, &fw6));
    ipvs_service *s;
    s = service_of(tcp, "wrr");
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(udp, "rr");
    OK(ipvs_service_set_flags(s, IPVS_SVC_F_ONEPACKET));
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(sctp, "lc");
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(all, "sh");
    ipvs_addr mask = addr_of("255.255.255.0");
    OK(ipvs_service_set_flags(s, IPVS_SVC_F_PERSISTENT | IPVS_SVC_F_SCHED1 | IPVS_SVC_F_SCHED2));
    OK(ipvs_service_set_timeout(s, 600));
    OK(ipvs_service_set_netmask_v4(s, &mask));
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(sip, "rr");
    OK(ipvs_service_set_flags(s, IPVS_SVC_F_PERSISTENT));
    OK(ipvs_service_set_timeout(s, 120));
    OK(ipvs_service_set_pe_name(s, "sip"));
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(fw, "mh");
    OK(ipvs_service_set_flags(s, IPVS_SVC_F_SCHED1));
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(fw6, "wlc");
    OK(ipvs_service_set_flags(s, IPVS_SVC_F_PERSISTENT));
    OK(ipvs_service_set_timeout(s, 300));
    OK(ipvs_service_set_netmask_v6(s, 64));
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);
    s = service_of(v6, "sed");
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_service_free(s);

    /* Read back one by one. */
    ipvs_service_status *st = NULL;
    OK(ipvs_client_service(ipvs, all, &st));
    const ipvs_service *got = ipvs_service_status_get_service(st);
    CHECK_STR(TEXT(ipvs_service_scheduler, got), "sh");
    CHECK(ipvs_service_flags(got) == (IPVS_SVC_F_PERSISTENT | IPVS_SVC_F_HASHED | IPVS_SVC_F_SCHED1 | IPVS_SVC_F_SCHED2));
    CHECK(ipvs_service_timeout(got) == 600 && ipvs_service_netmask_prefix(got) == 24);
    ipvs_addr m2;
    OK(ipvs_service_netmask_v4(got, &m2));
    CHECK_STR(TEXT(ipvs_addr_text, &m2), "255.255.255.0");
    CHECK(ipvs_service_key_port(ipvs_service_get_key(got)) == 0);
    ipvs_service_status_free(st);
    OK(ipvs_client_service(ipvs, sip, &st));
    CHECK_STR(TEXT(ipvs_service_pe_name, ipvs_service_status_get_service(st)), "sip");
    ipvs_service_status_free(st);
    OK(ipvs_client_service(ipvs, fw6, &st));
    got = ipvs_service_status_get_service(st);
    CHECK(ipvs_service_key_fwmark(ipvs_service_get_key(got)) == 8 && ipvs_service_key_family(ipvs_service_get_key(got)) == AF_INET6);
    CHECK(ipvs_service_netmask_family(got) == AF_INET6 && ipvs_service_netmask_prefix(got) == 64);
    ipvs_service_status_free(st);
    OK(ipvs_client_service(ipvs, udp, &st));
    CHECK(ipvs_service_flags(ipvs_service_status_get_service(st)) & IPVS_SVC_F_ONEPACKET);
    ipvs_service_status_free(st);

    /* Real servers of every kind on the TCP service. */
    ipvs_dest *d[8];
    d[0] = dest_of("192.168.1.1", 8080, IPVS_FORWARD_MASQUERADE, 1);
    d[1] = dest_of("192.168.1.2", 80, IPVS_FORWARD_DIRECT_ROUTE, 0);
    d[2] = dest_of("192.168.1.3", 80, IPVS_FORWARD_TUNNEL, 2147483647u);
    d[3] = dest_of("192.168.1.4", 80, IPVS_FORWARD_TUNNEL, 3);
    OK(ipvs_dest_set_tunnel_type(d[3], IPVS_TUNNEL_TYPE_GUE));
    OK(ipvs_dest_set_tunnel_port(d[3], 6080));
    OK(ipvs_dest_set_tunnel_flags(d[3], IPVS_TUNNEL_F_CSUM));
    d[4] = dest_of("192.168.1.5", 80, IPVS_FORWARD_TUNNEL, 4);
    OK(ipvs_dest_set_tunnel_type(d[4], IPVS_TUNNEL_TYPE_GRE));
    OK(ipvs_dest_set_tunnel_flags(d[4], IPVS_TUNNEL_F_CSUM));
    d[5] = dest_of("192.168.1.6", 80, IPVS_FORWARD_MASQUERADE, 5);
    OK(ipvs_dest_set_upper_threshold(d[5], 100));
    OK(ipvs_dest_set_lower_threshold(d[5], 50));
    d[6] = dest_of("2001:db8::6", 0, IPVS_FORWARD_TUNNEL, 6); /* another family: tunnels only */
    d[7] = dest_of("192.168.1.8", 80, IPVS_FORWARD_TUNNEL, 7);
    OK(ipvs_dest_set_tunnel_type(d[7], IPVS_TUNNEL_TYPE_GUE));
    OK(ipvs_dest_set_tunnel_port(d[7], 6081));
    OK(ipvs_dest_set_tunnel_flags(d[7], IPVS_TUNNEL_F_REMCSUM));
    for (int i = 0; i < 8; i++)
        OK(ipvs_client_add_dest(ipvs, tcp, d[i]));
    ipvs_dest *d6 = dest_of("2001:db8::10", 443, IPVS_FORWARD_MASQUERADE, 1);
    OK(ipvs_client_add_dest(ipvs, v6, d6));
    ipvs_dest *dfw = dest_of("192.168.1.20", 0, IPVS_FORWARD_DIRECT_ROUTE, 1);
    OK(ipvs_client_add_dest(ipvs, fw, dfw));

    ipvs_dest_list *dl = NULL;
    OK(ipvs_client_dests(ipvs, tcp, &dl));
    CHECK(ipvs_dest_list_len(dl) == 8);
    /* Newest first. */
    for (size_t i = 0; i < ipvs_dest_list_len(dl); i++) {
        const ipvs_dest_status *ds = ipvs_dest_list_get(dl, i);
        const ipvs_dest *g = ipvs_dest_status_get_dest(ds), *want = d[7 - i];
        ipvs_addr a, b;
        OK(ipvs_dest_addr(g, &a));
        OK(ipvs_dest_addr(want, &b));
        CHECK(memcmp(&a, &b, sizeof a) == 0 && ipvs_dest_port(g) == ipvs_dest_port(want));
        CHECK(ipvs_dest_forward(g) == ipvs_dest_forward(want) && ipvs_dest_weight(g) == ipvs_dest_weight(want));
        CHECK(ipvs_dest_upper_threshold(g) == ipvs_dest_upper_threshold(want));
        CHECK(ipvs_dest_lower_threshold(g) == ipvs_dest_lower_threshold(want));
        CHECK(ipvs_dest_tunnel_type(g) == ipvs_dest_tunnel_type(want));
        CHECK(ipvs_dest_tunnel_port(g) == ipvs_dest_tunnel_port(want));
        CHECK(ipvs_dest_tunnel_flags(g) == ipvs_dest_tunnel_flags(want));
        CHECK(ipvs_dest_status_active_conns(ds) == 0 && ipvs_dest_status_inactive_conns(ds) == 0);
        CHECK(ipvs_dest_status_persist_conns(ds) == 0);
    }
    ipvs_dest_list_free(dl);

    /* Edit in place; the kernel replaces every field. */
    OK(ipvs_dest_set_weight(d[5], 9));
    OK(ipvs_dest_set_upper_threshold(d[5], 0));
    OK(ipvs_dest_set_lower_threshold(d[5], 0));
    OK(ipvs_client_edit_dest(ipvs, tcp, d[5]));
    s = service_of(tcp, "wlc");
    OK(ipvs_client_edit_service(ipvs, s));
    ipvs_service_free(s);
    OK(ipvs_client_delete_dest(ipvs, tcp, d[1]));

    /* What the library saves is what Debian's ipvsadm saves, byte for byte. */
    CHECK_STR(saved(ipvs), run("ipvsadm -Sn"));
    CHECK(strstr(run("ipvsadm -Sn"), "-a -t 10.1.0.1:80 -r 192.168.1.6:80 -m -w 9\n") != NULL);
    CHECK(strstr(run("ipvsadm -Ln --thresholds"), "192.168.1.6:80") != NULL);

    for (int i = 0; i < 8; i++)
        ipvs_dest_free(d[i]);
    ipvs_dest_free(d6);
    ipvs_dest_free(dfw);
    ipvs_service_key *keys[] = {tcp, udp, sctp, all, sip, v6, fw, fw6};
    for (int i = 0; i < 8; i++)
        ipvs_service_key_free(keys[i]);
}

/* The kernel's refusals come back with their codes and errnos, and change nothing. */
static void test_kernel_errors(void)
{
    OK(ipvs_client_flush(ipvs));
    apply_rules(ipvs, "-A -t 10.3.0.1:80 -s rr\n-a -t 10.3.0.1:80 -r 192.168.3.1:80 -m\n-A -t [2001:db8::3]:80 -s rr\n");
    const char *before = strdup(saved(ipvs));
    ipvs_service_key *k = key_of(6, "10.3.0.1", 80), *missing = key_of(6, "10.3.0.2", 80);
    ipvs_service_key *k6 = key_of(6, "2001:db8::3", 80);
    ipvs_service *s = service_of(k, "rr");
    ipvs_dest *d = dest_of("192.168.3.1", 80, IPVS_FORWARD_MASQUERADE, 1);
    ipvs_dest *other = dest_of("192.168.3.9", 80, IPVS_FORWARD_MASQUERADE, 1);
    const ipvs_error *e;

    CHECK_RC(ipvs_client_add_service(ipvs, s), IPVS_RESULT_SERVICE_EXISTS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EEXIST);
    CHECK_RC(ipvs_client_delete_service(ipvs, missing), IPVS_RESULT_SERVICE_NOT_FOUND);
    e = ipvs_error_last();
    CHECK(ipvs_error_errno(e) == ESRCH && !ipvs_error_may_have_applied(e));
    CHECK_RC(ipvs_client_zero_service(ipvs, missing), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK_RC(ipvs_client_add_dest(ipvs, missing, d), IPVS_RESULT_SERVICE_NOT_FOUND);
    ipvs_service_status *st = NULL;
    ipvs_dest_list *dl = NULL;
    CHECK_RC(ipvs_client_service(ipvs, missing, &st), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK_RC(ipvs_client_dests(ipvs, missing, &dl), IPVS_RESULT_SERVICE_NOT_FOUND);
    CHECK(st == NULL && dl == NULL);
    CHECK_RC(ipvs_client_add_dest(ipvs, k, d), IPVS_RESULT_DESTINATION_EXISTS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EEXIST);
    CHECK_RC(ipvs_client_edit_dest(ipvs, k, other), IPVS_RESULT_DESTINATION_NOT_FOUND);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ENOENT);
    CHECK_RC(ipvs_client_delete_dest(ipvs, k, other), IPVS_RESULT_DESTINATION_NOT_FOUND);
    ipvs_service *bad = service_of(missing, "nonesuch");
    CHECK_RC(ipvs_client_add_service(ipvs, bad), IPVS_RESULT_SCHEDULER_OR_ENGINE_NOT_FOUND);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ENOENT);
    OK(ipvs_service_set_scheduler(bad, "rr"));
    OK(ipvs_service_set_flags(bad, IPVS_SVC_F_PERSISTENT));
    OK(ipvs_service_set_timeout(bad, 60));
    OK(ipvs_service_set_pe_name(bad, "nope"));
    CHECK_RC(ipvs_client_add_service(ipvs, bad), IPVS_RESULT_SCHEDULER_OR_ENGINE_NOT_FOUND);
    /* A link-local real server that is not a local address: the kernel says EINVAL. */
    ipvs_dest *ll = dest_of("fe80::1", 80, IPVS_FORWARD_MASQUERADE, 1);
    CHECK_RC(ipvs_client_add_dest(ipvs, k6, ll), IPVS_RESULT_KERNEL_INVALID);
    e = ipvs_error_last();
    CHECK(ipvs_error_errno(e) == EINVAL && !ipvs_error_may_have_applied(e));
    CHECK_STR(TEXT(ipvs_error_kernel_message, e), ""); /* IPVS sends no extended-ack text */
    /* Refused before anything is sent. */
    OK(ipvs_dest_set_weight(other, 2147483648u));
    CHECK_RC(ipvs_client_add_dest(ipvs, k, other), IPVS_RESULT_INVALID_WEIGHT);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ERANGE);
    ipvs_service *onepacket = service_of(k, "rr");
    OK(ipvs_service_set_flags(onepacket, IPVS_SVC_F_ONEPACKET));
    CHECK_RC(ipvs_client_edit_service(ipvs, onepacket), IPVS_RESULT_INVALID_FLAGS);
    CHECK_STR(saved(ipvs), before);
    CHECK_STR(saved(ipvs), run("ipvsadm -Sn"));
    free((void *)before);
    ipvs_service_free(onepacket);
    ipvs_dest_free(ll);
    ipvs_service_free(bad);
    ipvs_dest_free(other);
    ipvs_dest_free(d);
    ipvs_service_free(s);
    ipvs_service_key_free(k6);
    ipvs_service_key_free(missing);
    ipvs_service_key_free(k);
}

/* Batches: pipelined, a result per operation; Stop stops at the first failure. */
static void test_batches(void)
{
    OK(ipvs_client_flush(ipvs));
    ipvs_ops *ops = NULL;
    OK(ipvs_ops_new(&ops));
    char ip[32];
    for (int i = 0; i < 100; i++) {
        snprintf(ip, sizeof ip, "10.4.%d.%d", i / 200, i % 200 + 1);
        ipvs_service_key *k = key_of(6, ip, 80);
        ipvs_service *s = service_of(k, i % 2 ? "rr" : "wlc");
        OK(ipvs_ops_add_service(ops, s));
        for (int j = 0; j < 2; j++) {
            snprintf(ip, sizeof ip, "172.16.%d.%d", i / 200, i % 200 + 1);
            ipvs_dest *d = dest_of(ip, (uint16_t)(8000 + j), IPVS_FORWARD_MASQUERADE, (uint32_t)j + 1);
            OK(ipvs_ops_add_dest(ops, k, d));
            ipvs_dest_free(d);
        }
        ipvs_service_free(s);
        ipvs_service_key_free(k);
    }
    ipvs_results *r = NULL;
    OK(ipvs_client_apply(ipvs, ops, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_len(r) == 300 && ipvs_results_failed(r) == 0);
    ipvs_results_free(r);
    ipvs_service_list *sl = NULL;
    OK(ipvs_client_services(ipvs, &sl));
    CHECK(ipvs_service_list_len(sl) == 100);
    ipvs_service_list_free(sl);
    CHECK_STR(saved(ipvs), run("ipvsadm -Sn"));
    ipvs_ops_free(ops);

    /* Failures in the middle: the kernel's, and one refused before sending. */
    static const char mixed[] = "-A -t 10.4.0.1:80 -s rr\n"          /* exists */
                                "-A -t 10.4.9.1:80 -s rr\n"          /* new */
                                "-d -t 10.4.9.1:80 -r 192.168.4.4\n" /* no such real server */
                                "-a -t 10.4.9.1:80 -r 192.168.4.4 -m -w 2\n";
    OK(ipvs_ops_from_rules(mixed, sizeof mixed - 1, &ops));
    ipvs_ops *bad = NULL;
    OK(ipvs_ops_new(&bad));
    ipvs_service_key *k = key_of(6, "10.4.9.1", 80);
    ipvs_dest *heavy = dest_of("192.168.4.5", 80, IPVS_FORWARD_MASQUERADE, 2147483648u);
    OK(ipvs_ops_add_dest(bad, k, heavy));
    OK(ipvs_client_apply(ipvs, ops, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_len(r) == 4 && ipvs_results_failed(r) == 2);
    CHECK_RC(ipvs_results_get(r, 0), IPVS_RESULT_SERVICE_EXISTS);
    CHECK_RC(ipvs_results_get(r, 1), IPVS_RESULT_OK);
    CHECK_RC(ipvs_results_get(r, 2), IPVS_RESULT_DESTINATION_NOT_FOUND);
    CHECK_RC(ipvs_results_get(r, 3), IPVS_RESULT_OK);
    CHECK(ipvs_error_errno(ipvs_results_error(r, 0)) == EEXIST);
    ipvs_results_free(r);
    OK(ipvs_client_apply(ipvs, bad, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK_RC(ipvs_results_get(r, 0), IPVS_RESULT_INVALID_WEIGHT);
    ipvs_results_free(r);
    /* Stop: one request per round trip, nothing after the first failure. */
    OK(ipvs_client_delete_service(ipvs, k));
    OK(ipvs_client_apply(ipvs, ops, IPVS_ON_ERROR_STOP, &r));
    CHECK(ipvs_results_len(r) == 1 && ipvs_results_get(r, 0) == IPVS_RESULT_SERVICE_EXISTS);
    ipvs_results_free(r);
    ipvs_service_status *st = NULL;
    CHECK_RC(ipvs_client_service(ipvs, k, &st), IPVS_RESULT_SERVICE_NOT_FOUND);
    ipvs_dest_free(heavy);
    ipvs_service_key_free(k);
    ipvs_ops_free(bad);
    ipvs_ops_free(ops);
}

struct walk {
    int seen, stop_at;
    size_t dests;
};

static int walker(void *userdata, const ipvs_service_status *svc, const ipvs_dest_list *dests)
{
    struct walk *w = userdata;
    (void)svc;
    w->dests += ipvs_dest_list_len(dests);
    return ++w->seen == w->stop_at ? -1 : 0;
}

static void test_walk(void)
{
    /* After test_batches: 100 services with 2 real servers each. */
    struct walk w = {0, 0, 0};
    OK(ipvs_client_for_each(ipvs, walker, &w));
    CHECK(w.seen == 100 && w.dests == 200);
    struct walk s = {0, 10, 0};
    CHECK_RC(ipvs_client_for_each(ipvs, walker, &s), IPVS_RESULT_CALLBACK_STOPPED);
    CHECK(s.seen == 10);
    ipvs_table *t = NULL;
    OK(ipvs_client_table(ipvs, &t));
    CHECK(ipvs_table_len(t) == 100);
    ipvs_table_free(t);
}

static void test_zero_flush_timeouts(void)
{
    ipvs_service_key *k = key_of(6, "10.4.0.1", 80);
    OK(ipvs_client_zero_service(ipvs, k));
    OK(ipvs_client_zero_all(ipvs));
    uint32_t tcp, fin, udp, t2, f2, u2;
    OK(ipvs_client_timeouts(ipvs, &tcp, &fin, &udp));
    CHECK(tcp == 900 && fin == 120 && udp == 300);
    OK(ipvs_client_set_timeouts(ipvs, 1800, 0, 60));
    OK(ipvs_client_timeouts(ipvs, &t2, &f2, &u2));
    CHECK(t2 == 1800 && f2 == 120 && u2 == 60);
    CHECK_STR(run("ipvsadm -L --timeout"), "Timeout (tcp tcpfin udp): 1800 120 60\n");
    CHECK_RC(ipvs_client_set_timeouts(ipvs, 0, 0, 2678401), IPVS_RESULT_INVALID_TIMEOUT_UDP);
    OK(ipvs_client_set_timeouts(ipvs, tcp, fin, udp));
    OK(ipvs_client_flush(ipvs));
    ipvs_service_list *sl = NULL;
    OK(ipvs_client_services(ipvs, &sl));
    CHECK(ipvs_service_list_len(sl) == 0);
    ipvs_service_list_free(sl);
    CHECK_STR(run("ipvsadm -Sn"), "");
    ipvs_service_key_free(k);
}

static void test_daemons(void)
{
    ipvs_sync_daemon *m = NULL, *b = NULL, *nosuch = NULL;
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_MASTER, "dummy0", 7, &m));
    ipvs_addr g = addr_of("239.1.2.3");
    OK(ipvs_sync_daemon_set_group(m, &g));
    OK(ipvs_sync_daemon_set_max_len(m, 1400));
    OK(ipvs_sync_daemon_set_port(m, 8850));
    OK(ipvs_sync_daemon_set_ttl(m, 2));
    OK(ipvs_client_start_daemon(ipvs, m));
    CHECK_RC(ipvs_client_start_daemon(ipvs, m), IPVS_RESULT_SYNC_DAEMON_EXISTS);
    CHECK(ipvs_error_errno(ipvs_error_last()) == EEXIST);
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_BACKUP, "lo", 200, &b));
    OK(ipvs_client_start_daemon(ipvs, b));
    ipvs_daemon_list *l = NULL;
    OK(ipvs_client_daemons(ipvs, &l));
    CHECK(ipvs_daemon_list_len(l) == 2);
    char text[512];
    const char *first = TEXT(ipvs_sync_daemon_text, ipvs_daemon_list_get(l, 0));
    const char *second = TEXT(ipvs_sync_daemon_text, ipvs_daemon_list_get(l, 1));
    snprintf(text, sizeof text, "%s\n%s\n", first, second);
    CHECK_STR(text, run("ipvsadm -L --daemon"));
    const ipvs_sync_daemon *got = ipvs_daemon_list_get(l, 1);
    CHECK(ipvs_sync_daemon_role(got) == IPVS_SYNC_ROLE_BACKUP && ipvs_sync_daemon_sync_id(got) == 200);
    CHECK(ipvs_sync_daemon_port(got) == 8848 && ipvs_sync_daemon_ttl(got) == 1 && ipvs_sync_daemon_max_len(got) == 65507);
    ipvs_addr gg;
    OK(ipvs_sync_daemon_group(got, &gg));
    CHECK_STR(TEXT(ipvs_addr_text, &gg), "224.0.0.81");
    CHECK_STR(TEXT(ipvs_sync_daemon_interface, got), "lo");
    ipvs_daemon_list_free(l);
    /* While a daemon runs, the kernel refuses a real server of another family (EINVAL). */
    ipvs_service_key *f6 = NULL;
    OK(ipvs_service_key_new_fwmark(3, AF_INET6, &f6));
    ipvs_service *s = service_of(f6, "rr");
    OK(ipvs_client_add_service(ipvs, s));
    ipvs_dest *v4 = dest_of("192.168.6.1", 0, IPVS_FORWARD_TUNNEL, 1);
    CHECK_RC(ipvs_client_add_dest(ipvs, f6, v4), IPVS_RESULT_KERNEL_INVALID);
    OK(ipvs_client_stop_daemon(ipvs, IPVS_SYNC_ROLE_MASTER));
    OK(ipvs_client_stop_daemon(ipvs, IPVS_SYNC_ROLE_BACKUP));
    CHECK_RC(ipvs_client_stop_daemon(ipvs, IPVS_SYNC_ROLE_BACKUP), IPVS_RESULT_SYNC_DAEMON_NOT_FOUND);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ESRCH);
    OK(ipvs_sync_daemon_new(IPVS_SYNC_ROLE_MASTER, "nosuch0", 1, &nosuch));
    CHECK_RC(ipvs_client_start_daemon(ipvs, nosuch), IPVS_RESULT_INTERFACE_NOT_FOUND);
    CHECK(ipvs_error_errno(ipvs_error_last()) == ENODEV);
    OK(ipvs_client_daemons(ipvs, &l));
    CHECK(ipvs_daemon_list_len(l) == 0);
    ipvs_daemon_list_free(l);
    OK(ipvs_client_flush(ipvs));
    ipvs_dest_free(v4);
    ipvs_service_free(s);
    ipvs_service_key_free(f6);
    ipvs_sync_daemon_free(nosuch);
    ipvs_sync_daemon_free(b);
    ipvs_sync_daemon_free(m);
}

/* A datagram this namespace sends to a virtual service is scheduled by IPVS (LOCAL_OUT): a
 * connection entry, counters, and zeroing them. */
static void test_connections_and_stats(void)
{
    apply_rules(ipvs, "-A -u 10.2.0.1:53 -s rr\n-a -u 10.2.0.1:53 -r 172.16.2.1:53 -m\n");
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "10.2.0.1", &to.sin_addr);
    REQUIRE(sendto(fd, "hello", 5, 0, (struct sockaddr *)&to, sizeof to) == 5);
    close(fd);
    /* The entry is made as the packet passes; read until it shows (bounded). */
    ipvs_conn_list *l = NULL;
    const ipvs_conn *c = NULL;
    for (int i = 0; i < 100 && c == NULL; i++) {
        ipvs_conn_list_free(l);
        l = NULL;
        OK(ipvs_client_connections(ipvs, &l));
        for (size_t j = 0; j < ipvs_conn_list_len(l); j++)
            if (ipvs_conn_virtual_port(ipvs_conn_list_get(l, j)) == 53)
                c = ipvs_conn_list_get(l, j);
        if (c == NULL)
            sleep_ms(100);
    }
    CHECK(c != NULL);
    if (c != NULL) {
        ipvs_addr a;
        CHECK(ipvs_conn_protocol(c) == IPVS_PROTOCOL_UDP && ipvs_conn_dest_port(c) == 53);
        OK(ipvs_conn_virtual_addr(c, &a));
        CHECK_STR(TEXT(ipvs_addr_text, &a), "10.2.0.1");
        OK(ipvs_conn_dest_addr(c, &a));
        CHECK_STR(TEXT(ipvs_addr_text, &a), "172.16.2.1");
        OK(ipvs_conn_client_addr(c, &a));
        CHECK(a.family == AF_INET && ipvs_conn_client_port(c) != 0);
        CHECK_STR(TEXT(ipvs_conn_state, c), "UDP");
        CHECK(ipvs_conn_expires(c) > 0 && ipvs_conn_expires(c) <= 300 && ipvs_conn_fwmark(c) == 0);
        CHECK_STR(TEXT(ipvs_conn_pe_data, c), "");
        /* The kernel's line, but for the seconds left, which count down. */
        char line[256];
        snprintf(line, sizeof line, "%s", TEXT(ipvs_conn_text, c));
        char *expires = strrchr(line, ' ');
        REQUIRE(expires != NULL);
        *expires = '\0';
        CHECK(strstr(run("cat /proc/net/ip_vs_conn"), line) != NULL);
    }
    ipvs_conn_list_free(l);
    OK(ipvs_client_sync_connections(ipvs, &l));
    CHECK(ipvs_conn_list_len(l) >= 1);
    if (ipvs_conn_list_len(l) >= 1)
        CHECK(ipvs_conn_get_origin(ipvs_conn_list_get(l, 0)) == IPVS_CONN_ORIGIN_LOCAL);
    ipvs_conn_list_free(l);

    ipvs_service_key *k = key_of(IPVS_PROTOCOL_UDP, "10.2.0.1", 53);
    ipvs_service_status *st = NULL;
    ipvs_stats stats = {0}, stats32 = {0};
    for (int i = 0; i < 100 && stats.conns == 0; i++) {
        ipvs_service_status_free(st);
        st = NULL;
        OK(ipvs_client_service(ipvs, k, &st));
        OK(ipvs_service_status_stats(st, &stats));
        if (stats.conns == 0)
            sleep_ms(100);
    }
    OK(ipvs_service_status_stats32(st, &stats32));
    CHECK(stats.conns == 1 && stats.in_packets == 1 && stats.in_bytes > 0 && stats32.conns == 1);
    ipvs_service_status_free(st);
    ipvs_dest_list *dl = NULL;
    OK(ipvs_client_dests(ipvs, k, &dl));
    OK(ipvs_dest_status_stats(ipvs_dest_list_get(dl, 0), &stats));
    OK(ipvs_dest_status_stats32(ipvs_dest_list_get(dl, 0), &stats32));
    CHECK(stats.conns == 1 && stats32.in_packets == 1);
    ipvs_dest_list_free(dl);
    OK(ipvs_client_zero_service(ipvs, k));
    OK(ipvs_client_service(ipvs, k, &st));
    OK(ipvs_service_status_stats(st, &stats));
    CHECK(stats.conns == 0 && stats.in_packets == 0);
    ipvs_service_status_free(st);
    OK(ipvs_client_flush(ipvs));
    ipvs_service_key_free(k);
}

/* A client in another network namespace, by name, path and descriptor. */
static void test_namespaces(void)
{
    char name[64], cmd[256], path[128];
    snprintf(name, sizeof name, "capi-test-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "ip netns add %s", name);
    REQUIRE(sh(cmd) == 0);
    snprintf(path, sizeof path, "/run/netns/%s", name);
    ipvs_netns *ns = NULL, *byp = NULL, *byfd = NULL;
    OK(ipvs_netns_named(name, &ns));
    OK(ipvs_netns_path(path, &byp));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    OK(ipvs_netns_from_fd(fd, &byfd));
    close(fd);
    CHECK(ipvs_netns_inode(ns) == ipvs_netns_inode(byp) && ipvs_netns_inode(ns) == ipvs_netns_inode(byfd));
    CHECK(ipvs_netns_inode(ns) != ipvs_client_netns_inode(ipvs));
    ipvs_client *there = NULL, *again = NULL;
    OK(ipvs_client_new_in_netns(ns, NULL, &there));
    CHECK(ipvs_client_netns_inode(there) == ipvs_netns_inode(ns));
    ipvs_netns_free(ns); /* the client keeps its own handle */
    apply_rules(there, "-A -t 10.5.0.1:80 -s rr\n");
    CHECK_STR(saved(there), "-A -t 10.5.0.1:80 -s rr\n");
    CHECK_STR(saved(ipvs), "");
    snprintf(cmd, sizeof cmd, "ip netns exec %s ipvsadm -Sn", name);
    CHECK_STR(run(cmd), "-A -t 10.5.0.1:80 -s rr\n");
    ipvs_conn_list *l = NULL;
    OK(ipvs_client_connections(there, &l));
    CHECK(ipvs_conn_list_len(l) == 0);
    ipvs_conn_list_free(l);
    OK(ipvs_client_new_in_netns(byfd, NULL, &again));
    CHECK_STR(saved(again), "-A -t 10.5.0.1:80 -s rr\n");
    ipvs_client_free(again);
    ipvs_client_free(there);
    ipvs_netns_free(byfd);
    ipvs_netns_free(byp);
    snprintf(cmd, sizeof cmd, "ip netns del %s", name);
    CHECK(sh(cmd) == 0);
}

/* Without privileges: CAP_NET_ADMIN for IPVS, CAP_SYS_ADMIN to enter a namespace, file
 * access for namespace files. In a child that drops to nobody. */
static void test_permissions(void)
{
    ipvs_netns *here = NULL;
    OK(ipvs_netns_current(&here));
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(100);
        ipvs_client *c = NULL;
        ipvs_service_list *l = NULL;
        ipvs_netns *ns = NULL;
        if (ipvs_client_new(NULL, &c) != IPVS_RESULT_OK)
            bad |= 1;
        else if (ipvs_client_services(c, &l) != IPVS_RESULT_PERMISSION_DENIED_NET_ADMIN
                 || ipvs_error_errno(ipvs_error_last()) != EPERM)
            bad |= 2;
        if (ipvs_client_new_in_netns(here, NULL, &c) != IPVS_RESULT_PERMISSION_DENIED_SYS_ADMIN)
            bad |= 4;
        if (ipvs_netns_path("/proc/1/ns/net", &ns) != IPVS_RESULT_PERMISSION_DENIED_FILE_ACCESS
            || ipvs_error_errno(ipvs_error_last()) != EACCES)
            bad |= 8;
        if (strstr(last_message(), "permission denied") == NULL)
            bad |= 16;
        ipvs_client_free(c);
        _exit(bad);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "test_permissions: the unprivileged child failed checks %#x\n", WEXITSTATUS(status));
    CHECK(WEXITSTATUS(status) == 0);
    ipvs_netns_free(here);
}

/* Planning against the kernel: minimal, converges, rolls back after a failure. */
static void test_plans(void)
{
    OK(ipvs_client_flush(ipvs));
    apply_rules(ipvs, "-A -t 10.6.0.1:80 -s rr\n-a -t 10.6.0.1:80 -r 192.168.6.1:80 -m -w 1\n"
                      "-a -t 10.6.0.1:80 -r 192.168.6.2:80 -m -w 1\n-A -u 10.6.0.2:53 -s rr\n");
    char *before = strdup(saved(ipvs));
    static const char wanted[] = "-A -t 10.6.0.1:80 -s wrr -p 60\n"
                                 "-a -t 10.6.0.1:80 -r 192.168.6.1:80 -m -w 5\n"
                                 "-a -t 10.6.0.1:80 -r 192.168.6.3:80 -m -w 1\n"
                                 "-A -f 9 -s sh -b sh-port\n"
                                 "-a -f 9 -r 192.168.6.9:0 -g -w 1\n";
    ipvs_table *desired = NULL;
    OK(ipvs_table_from_rules(wanted, sizeof wanted - 1, &desired));
    ipvs_plan *p = NULL;
    OK(ipvs_client_plan(ipvs, desired, &p));
    CHECK(ipvs_plan_len(p) == 7);
    ipvs_results *r = NULL;
    OK(ipvs_plan_apply(p, ipvs, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_failed(r) == 0);
    CHECK_STR(saved(ipvs), TEXT(ipvs_table_save, desired));
    CHECK_STR(saved(ipvs), run("ipvsadm -Sn"));
    ipvs_plan *again = NULL;
    OK(ipvs_client_plan(ipvs, desired, &again));
    CHECK(ipvs_plan_len(again) == 0);
    /* Roll back to where we started. */
    ipvs_results *rb = NULL;
    OK(ipvs_plan_rollback(p, ipvs, r, &rb));
    CHECK(ipvs_results_failed(rb) == 0);
    CHECK_STR(saved(ipvs), before);
    ipvs_results_free(rb);
    ipvs_results_free(r);
    ipvs_plan_free(again);
    ipvs_plan_free(p);
    ipvs_table_free(desired);

    /* A plan the kernel refuses half-way (a scheduler it does not have): rollback undoes
     * what was done. */
    static const char refused[] = "-A -t 10.6.0.1:80 -s rr\n"
                                  "-a -t 10.6.0.1:80 -r 192.168.6.1:80 -m -w 1\n"
                                  "-a -t 10.6.0.1:80 -r 192.168.6.2:80 -m -w 1\n"
                                  "-A -t 10.6.0.7:80 -s rr\n"
                                  "-A -t 10.6.0.8:80 -s nonesuch\n";
    OK(ipvs_table_from_rules(refused, sizeof refused - 1, &desired));
    OK(ipvs_client_plan(ipvs, desired, &p));
    OK(ipvs_plan_apply(p, ipvs, IPVS_ON_ERROR_CONTINUE, &r));
    CHECK(ipvs_results_failed(r) == 1);
    CHECK_RC(ipvs_results_get(r, ipvs_results_len(r) - 1), IPVS_RESULT_SCHEDULER_OR_ENGINE_NOT_FOUND);
    ipvs_ops *undo = NULL;
    OK(ipvs_plan_undo_ops(p, r, &undo));
    CHECK(ipvs_ops_len(undo) >= 2);
    OK(ipvs_plan_rollback(p, ipvs, r, &rb));
    CHECK(ipvs_results_failed(rb) == 0);
    CHECK_STR(saved(ipvs), before);
    CHECK_STR(saved(ipvs), run("ipvsadm -Sn"));
    ipvs_ops_free(undo);
    ipvs_results_free(rb);
    ipvs_results_free(r);
    ipvs_plan_free(p);
    ipvs_table_free(desired);
    free(before);
    OK(ipvs_client_flush(ipvs));
}

int main(void)
{
    fresh_netns();
    REQUIRE(ipvs_client_new(NULL, &ipvs) == IPVS_RESULT_OK);
    RUN(test_open_and_info);
    RUN(test_every_attribute);
    RUN(test_kernel_errors);
    RUN(test_batches);
    RUN(test_walk);
    RUN(test_zero_flush_timeouts);
    RUN(test_daemons);
    RUN(test_connections_and_stats);
    RUN(test_namespaces);
    RUN(test_permissions);
    RUN(test_plans);
    ipvs_client_free(ipvs);
    return finish("test_kernel");
}
