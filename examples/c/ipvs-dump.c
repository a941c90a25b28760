/*
 * ipvs-dump: prints the kernel's IPVS table exactly as `ipvsadm -Sn` prints it (same lines, same
 * order), built from the getters: it shows how to read every field of a service and a real
 * server. (ipvs_table_save writes the same text in one call.)
 *
 *   ipvs-dump > rules && ipvsadm -C && ipvsadm -R < rules
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror ipvs-dump.c $(pkg-config --cflags --libs ipvs)
 * Exit status: 0, or 1 when the table cannot be read (the reason on standard error).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <ipvs.h>

static int fail(const char *what)
{
    char msg[1024];
    size_t n;
    const ipvs_error *e = ipvs_error_last();
    if (e == NULL || ipvs_error_message(e, msg, sizeof msg, &n) != IPVS_RESULT_OK)
        snprintf(msg, sizeof msg, "unknown error");
    fprintf(stderr, "ipvs-dump: %s: %s\n", what, msg);
    return 1;
}

/* "addr:port", or "[addr6]:port" for IPv6 (ipvsadm -n). */
static void addr_port(char *out, size_t len, const ipvs_addr *a, unsigned port)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->family, a->addr, ip, sizeof ip);
    snprintf(out, len, a->family == IPVS_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* The service as ipvsadm's rules name it: "-t 10.1.2.3:80", "-f 5", "-f 5 -6". */
static void service_label(char *out, size_t len, const ipvs_service_key *k)
{
    if (ipvs_service_key_is_fwmark(k)) {
        /* ipvsadm prints the mark signed. */
        snprintf(out, len, "-f %d%s", (int)ipvs_service_key_fwmark(k),
                 ipvs_service_key_family(k) == IPVS_AF_INET6 ? " -6" : "");
        return;
    }
    const char *opt;
    switch (ipvs_service_key_protocol(k)) {
    case IPVS_PROTOCOL_TCP: opt = "-t"; break;
    case IPVS_PROTOCOL_UDP: opt = "-u"; break;
    case IPVS_PROTOCOL_SCTP: opt = "--sctp-service"; break;
    default: opt = "--xxx-service"; break; /* a protocol another program used; ipvsadm's text */
    }
    ipvs_addr a;
    char where[80];
    ipvs_service_key_addr(k, &a);
    addr_port(where, sizeof where, &a, ipvs_service_key_port(k));
    snprintf(out, len, "%s %s", opt, where);
}

/* ipvsadm's -b names for the scheduler flags: sh and mh have two names of their own. */
static void sched_flags(char *out, size_t len, const char *sched, uint32_t flags)
{
    const char *names[3] = {"flag-1", "flag-2", "flag-3"};
    int sh = strcmp(sched, "sh") == 0, mh = strcmp(sched, "mh") == 0;
    if (sh || mh) {
        names[0] = sh ? "sh-fallback" : "mh-fallback";
        names[1] = sh ? "sh-port" : "mh-port";
        names[2] = NULL; /* not shown for sh and mh */
    }
    const uint32_t bits[3] = {IPVS_SVC_F_SCHED1, IPVS_SVC_F_SCHED2, IPVS_SVC_F_SCHED3};
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 3; i++) {
        if ((flags & bits[i]) && names[i] != NULL)
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "", names[i]);
    }
}

static void print_service(FILE *f, const ipvs_service *s, const char *label)
{
    char sched[64], pe[64];
    size_t n;
    uint32_t flags = ipvs_service_flags(s);
    ipvs_service_scheduler(s, sched, sizeof sched, &n);
    sched[15] = '\0'; /* libipvs keeps 15 bytes of the name */
    fprintf(f, "-A %s -s %s", label, sched);
    if (flags & IPVS_SVC_F_PERSISTENT) {
        fprintf(f, " -p %u", ipvs_service_timeout(s));
        if (ipvs_service_netmask_family(s) == IPVS_AF_INET) {
            ipvs_addr m;
            ipvs_service_netmask_v4(s, &m);
            if (memcmp(m.addr, "\xff\xff\xff\xff", 4) != 0)
                fprintf(f, " -M %u.%u.%u.%u", m.addr[0], m.addr[1], m.addr[2], m.addr[3]);
        } else if (ipvs_service_netmask_prefix(s) != 128) {
            fprintf(f, " -M %d", (int)ipvs_service_netmask_prefix(s));
        }
    }
    ipvs_service_pe_name(s, pe, sizeof pe, &n);
    pe[16] = '\0';
    if (pe[0] != '\0')
        fprintf(f, " --pe %s", pe);
    if (flags & IPVS_SVC_F_ONEPACKET)
        fprintf(f, " -o");
    if (flags & (IPVS_SVC_F_SCHED1 | IPVS_SVC_F_SCHED2 | IPVS_SVC_F_SCHED3)) {
        char names[64];
        sched_flags(names, sizeof names, sched, flags);
        fprintf(f, " -b %s", names);
    }
    fputc('\n', f);
}

static void print_dest(FILE *f, const ipvs_dest *d, const char *label)
{
    static const char *const tun_opts[] = {"--tun-nocsum", "--tun-csum", "--tun-remcsum"};
    ipvs_addr a;
    char where[80];
    const char *fwd;
    ipvs_dest_addr(d, &a);
    addr_port(where, sizeof where, &a, ipvs_dest_port(d));
    switch (ipvs_dest_forward(d)) {
    case IPVS_FORWARD_MASQUERADE: fwd = "-m"; break;
    case IPVS_FORWARD_TUNNEL: fwd = "-i"; break;
    case IPVS_FORWARD_LOCAL:
    case IPVS_FORWARD_DIRECT_ROUTE: fwd = "-g"; break;
    default: fwd = "(null)"; break; /* what ipvsadm's printf of its NULL prints */
    }
    /* ipvsadm prints the weight signed. */
    fprintf(f, "-a %s -r %s %s -w %d", label, where, fwd, (int)ipvs_dest_weight(d));
    if (ipvs_dest_forward(d) == IPVS_FORWARD_TUNNEL) {
        uint32_t tf = ipvs_dest_tunnel_flags(d);
        const char *opt = tf < 3 ? tun_opts[tf] : "(null)";
        switch (ipvs_dest_tunnel_type(d)) {
        case IPVS_TUNNEL_TYPE_IPIP: fprintf(f, " --tun-type ipip"); break;
        case IPVS_TUNNEL_TYPE_GUE: fprintf(f, " --tun-type gue --tun-port %u %s", ipvs_dest_tunnel_port(d), opt); break;
        case IPVS_TUNNEL_TYPE_GRE: fprintf(f, " --tun-type gre %s", opt); break;
        default: break;
        }
    }
    fputc('\n', f);
}

int main(void)
{
    static char out[1 << 16];
    ipvs_client *ipvs = NULL;
    ipvs_table *table = NULL;
    int status = 1;

    setvbuf(stdout, out, _IOFBF, sizeof out);
    if (ipvs_client_new(NULL, &ipvs) != IPVS_RESULT_OK)
        return fail("opening IPVS");
    /* Every service with its real servers, then ipvsadm's order (services and real servers). */
    if (ipvs_client_table(ipvs, &table) != IPVS_RESULT_OK || ipvs_table_sort(table) != IPVS_RESULT_OK) {
        status = fail("reading the table");
        goto out;
    }
    for (size_t i = 0; i < ipvs_table_len(table); i++) {
        const ipvs_service *s = ipvs_service_status_get_service(ipvs_table_service(table, i));
        char label[128];
        service_label(label, sizeof label, ipvs_service_get_key(s));
        print_service(stdout, s, label);
        const ipvs_dest_list *dests = ipvs_table_dests(table, i);
        for (size_t j = 0; j < ipvs_dest_list_len(dests); j++)
            print_dest(stdout, ipvs_dest_status_get_dest(ipvs_dest_list_get(dests, j)), label);
    }
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    ipvs_table_free(table);
    ipvs_client_free(ipvs);
    return status;
}
