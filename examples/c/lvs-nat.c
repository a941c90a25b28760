/*
 * lvs-nat: the classic LVS-NAT cluster of the LVS guides, from C. A virtual service on
 * 192.168.0.200:80 scheduled with wrr over two real servers reached by masquerading (NAT),
 * 172.16.100.10 and .11 with weights 1 and 2; then the table is read back and printed.
 *
 *   lvs-nat            the kernel's IPVS table (needs CAP_NET_ADMIN)
 *   lvs-nat --memory   the in-memory reference table: runs anywhere, same rules and errors
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror lvs-nat.c $(pkg-config --cflags --libs ipvs)
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <ipvs.h>

/* Prints what the last failing call on this thread said, and returns 1. */
static int fail(const char *what)
{
    char msg[1024];
    size_t n;
    const ipvs_error *e = ipvs_error_last();
    if (e == NULL || ipvs_error_message(e, msg, sizeof msg, &n) != IPVS_RESULT_OK)
        snprintf(msg, sizeof msg, "unknown error");
    fprintf(stderr, "lvs-nat: %s: %s (code %u, errno %d)\n", what, msg, (unsigned)ipvs_error_result(e),
            ipvs_error_errno(e));
    return 1;
}

/* Builds the cluster as one batch of operations. */
static int build(ipvs_ops *ops)
{
    ipvs_addr vip, rs;
    ipvs_service_key *key = NULL;
    ipvs_service *svc = NULL;
    int rc = 1;

    if (ipvs_addr_parse("192.168.0.200", &vip) != IPVS_RESULT_OK
        || ipvs_service_key_new(IPVS_PROTOCOL_TCP, &vip, 80, &key) != IPVS_RESULT_OK
        || ipvs_service_new(key, &svc) != IPVS_RESULT_OK || ipvs_service_set_scheduler(svc, "wrr") != IPVS_RESULT_OK
        || ipvs_ops_add_service(ops, svc) != IPVS_RESULT_OK)
        goto out;
    static const char *const servers[] = {"172.16.100.10", "172.16.100.11"};
    for (unsigned i = 0; i < 2; i++) {
        ipvs_dest *d = NULL;
        if (ipvs_addr_parse(servers[i], &rs) != IPVS_RESULT_OK || ipvs_dest_new(&rs, 80, &d) != IPVS_RESULT_OK)
            goto out;
        int ok = ipvs_dest_set_forward(d, IPVS_FORWARD_MASQUERADE) == IPVS_RESULT_OK
                 && ipvs_dest_set_weight(d, i + 1) == IPVS_RESULT_OK && ipvs_ops_add_dest(ops, key, d) == IPVS_RESULT_OK;
        ipvs_dest_free(d); /* the list holds its own copy */
        if (!ok)
            goto out;
    }
    rc = 0;
out:
    ipvs_service_free(svc);
    ipvs_service_key_free(key);
    return rc;
}

/* Formats address:port the way ipvsadm -Ln does. */
static const char *addr_port(char *out, size_t len, const ipvs_addr *a, unsigned port)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(a->family, a->addr, ip, sizeof ip);
    snprintf(out, len, a->family == IPVS_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
    return out;
}

int main(int argc, char **argv)
{
    int memory = argc > 1 && strcmp(argv[1], "--memory") == 0;
    ipvs_client *ipvs = NULL;
    ipvs_ops *ops = NULL;
    ipvs_results *results = NULL;
    ipvs_table *table = NULL;
    int status = 1;

    if ((memory ? ipvs_client_new_memory(&ipvs) : ipvs_client_new(NULL, &ipvs)) != IPVS_RESULT_OK)
        return fail("opening the IPVS table");
    if (ipvs_ops_new(&ops) != IPVS_RESULT_OK || build(ops) != 0) {
        status = fail("building the cluster");
        goto out;
    }

    /* One batch: every operation is attempted and has its own result. A service or real server
     * that already exists is fine (the program can run twice). */
    if (ipvs_client_apply(ipvs, ops, IPVS_ON_ERROR_CONTINUE, &results) != IPVS_RESULT_OK) {
        status = fail("applying");
        goto out;
    }
    int failed = 0;
    for (size_t i = 0; i < ipvs_results_len(results); i++) {
        char line[256], msg[512];
        size_t n;
        ipvs_result r = ipvs_results_get(results, i);
        ipvs_op_text(ipvs_ops_get(ops, i), line, sizeof line, &n);
        if (r == IPVS_RESULT_OK || r == IPVS_RESULT_SERVICE_EXISTS || r == IPVS_RESULT_DESTINATION_EXISTS) {
            printf("ipvsadm %s\n", line);
        } else {
            ipvs_error_message(ipvs_results_error(results, i), msg, sizeof msg, &n);
            fprintf(stderr, "lvs-nat: ipvsadm %s: %s\n", line, msg);
            failed = 1;
        }
    }
    if (failed)
        goto out;

    /* Read it back: every service with its real servers, in ipvsadm's order, printed as
     * ipvsadm -Ln prints this cluster. */
    uint32_t version, size;
    if (ipvs_client_info(ipvs, &version, &size) != IPVS_RESULT_OK
        || ipvs_client_table(ipvs, &table) != IPVS_RESULT_OK || ipvs_table_sort(table) != IPVS_RESULT_OK) {
        status = fail("reading the table");
        goto out;
    }
    printf("IP Virtual Server version %u.%u.%u (size=%u)\n", version >> 16 & 0xff, version >> 8 & 0xff,
           version & 0xff, size);
    printf("Prot LocalAddress:Port Scheduler Flags\n");
    printf("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    for (size_t i = 0; i < ipvs_table_len(table); i++) {
        const ipvs_service *s = ipvs_service_status_get_service(ipvs_table_service(table, i));
        const ipvs_service_key *k = ipvs_service_get_key(s);
        char sched[32], label[64];
        size_t n;
        ipvs_addr a;
        ipvs_service_scheduler(s, sched, sizeof sched, &n);
        ipvs_service_key_addr(k, &a);
        printf("%-4s %s %s\n", ipvs_service_key_protocol(k) == IPVS_PROTOCOL_TCP ? "TCP" : "UDP",
               addr_port(label, sizeof label, &a, ipvs_service_key_port(k)), sched);
        const ipvs_dest_list *dests = ipvs_table_dests(table, i);
        for (size_t j = 0; j < ipvs_dest_list_len(dests); j++) {
            const ipvs_dest_status *ds = ipvs_dest_list_get(dests, j);
            const ipvs_dest *d = ipvs_dest_status_get_dest(ds);
            ipvs_dest_addr(d, &a);
            printf("  -> %-28s %-7s %-6u %-10u %-10u\n", addr_port(label, sizeof label, &a, ipvs_dest_port(d)),
                   ipvs_dest_forward(d) == IPVS_FORWARD_MASQUERADE ? "Masq" : "Route", ipvs_dest_weight(d),
                   ipvs_dest_status_active_conns(ds), ipvs_dest_status_inactive_conns(ds));
        }
    }
    status = 0;
out:
    ipvs_table_free(table);
    ipvs_results_free(results);
    ipvs_ops_free(ops);
    ipvs_client_free(ipvs);
    return status;
}
