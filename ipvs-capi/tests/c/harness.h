/*
 * A small test harness for libipvs's C tests: TEST functions run in order, each passes when
 * all its checks hold; the program prints "NAME: N passed, M failed" and exits 1 on failure.
 * Built twice by scripts/suites/capi.prepare: with -fsanitize=address,undefined, and plain for
 * valgrind --leak-check=full.
 */
#ifndef IPVS_TEST_HARNESS_H
#define IPVS_TEST_HARNESS_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipvs.h>

/* Not every test program uses every helper. */
#define H_UNUSED __attribute__((unused))

static H_UNUSED int h_checks_failed; /* in the current test */
static H_UNUSED int h_passed, h_failed;
static H_UNUSED const char *h_test;

/* The message of the last failure on this thread, for reports. */
static H_UNUSED const char *last_message(void)
{
    static char buf[2048];
    size_t n;
    const ipvs_error *e = ipvs_error_last();
    if (e == NULL)
        return "(no error recorded)";
    if (ipvs_error_message(e, buf, sizeof buf, &n) != IPVS_RESULT_OK)
        return "(message does not fit)";
    return buf;
}

static H_UNUSED ipvs_result last_result(void) { return ipvs_error_result(ipvs_error_last()); }

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            h_checks_failed++;                                                                               \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, h_test, #cond);             \
        }                                                                                                    \
    } while (0)

/* Checks that `expr` returns the result code `want`. */
#define CHECK_RC(expr, want)                                                                                 \
    do {                                                                                                     \
        ipvs_result h_r = (expr);                                                                            \
        if (h_r != (ipvs_result)(want)) {                                                                    \
            h_checks_failed++;                                                                               \
            fprintf(stderr, "%s:%d: %s: %s returned %u, expected %s (%u); last error: %s\n", __FILE__,       \
                    __LINE__, h_test, #expr, (unsigned)h_r, #want, (unsigned)(want), last_message());        \
        }                                                                                                    \
    } while (0)

#define OK(expr) CHECK_RC(expr, IPVS_RESULT_OK)

/* Checks two strings are equal. */
#define CHECK_STR(got, want)                                                                                 \
    do {                                                                                                     \
        const char *h_g = (got), *h_w = (want);                                                              \
        if (h_g == NULL || strcmp(h_g, h_w) != 0) {                                                          \
            h_checks_failed++;                                                                               \
            fprintf(stderr, "%s:%d: %s: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, h_test, #got,  \
                    h_g ? h_g : "(null)", h_w);                                                              \
        }                                                                                                    \
    } while (0)

/* Stops the test program: a fixture could not be made. */
#define REQUIRE(cond)                                                                                        \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: %s: REQUIRE(%s) failed: %s\n", __FILE__, __LINE__, h_test, #cond,        \
                    last_message());                                                                         \
            exit(2);                                                                                         \
        }                                                                                                    \
    } while (0)

#define RUN(fn)                                                                                              \
    do {                                                                                                     \
        h_test = #fn;                                                                                        \
        h_checks_failed = 0;                                                                                 \
        fn();                                                                                                \
        if (h_checks_failed) {                                                                               \
            h_failed++;                                                                                      \
            fprintf(stderr, "FAIL %s\n", #fn);                                                               \
        } else {                                                                                             \
            h_passed++;                                                                                      \
        }                                                                                                    \
    } while (0)

static H_UNUSED int finish(const char *program)
{
    printf("%s: %d passed, %d failed\n", program, h_passed, h_failed);
    return h_failed ? 1 : 0;
}

/* Text getters: calls FN(OBJ, buf, len, &n) into one of a few rotating buffers and returns the
 * text ("<error N>" when the call failed). */
static H_UNUSED char h_text[8][1 << 14];
static H_UNUSED int h_text_i;
static H_UNUSED size_t h_text_n;
#define TEXT(fn, obj)                                                                                        \
    (h_text_i = (h_text_i + 1) % 8,                                                                          \
     fn((obj), h_text[h_text_i], sizeof h_text[h_text_i], &h_text_n) == IPVS_RESULT_OK                       \
         ? h_text[h_text_i]                                                                                  \
         : (snprintf(h_text[h_text_i], sizeof h_text[h_text_i], "<error %u>", (unsigned)last_result()),     \
            h_text[h_text_i]))

/* An address from text (the fixture must parse). */
static H_UNUSED ipvs_addr addr_of(const char *text)
{
    ipvs_addr a;
    if (ipvs_addr_parse(text, &a) != IPVS_RESULT_OK) {
        fprintf(stderr, "bad test address %s\n", text);
        exit(2);
    }
    return a;
}

static H_UNUSED ipvs_service_key *key_of(uint16_t protocol, const char *vip, uint16_t port)
{
    ipvs_addr a = addr_of(vip);
    ipvs_service_key *k = NULL;
    REQUIRE(ipvs_service_key_new(protocol, &a, port, &k) == IPVS_RESULT_OK);
    return k;
}

static H_UNUSED ipvs_service *service_of(const ipvs_service_key *k, const char *sched)
{
    ipvs_service *s = NULL;
    REQUIRE(ipvs_service_new(k, &s) == IPVS_RESULT_OK);
    REQUIRE(ipvs_service_set_scheduler(s, sched) == IPVS_RESULT_OK);
    return s;
}

static H_UNUSED ipvs_dest *dest_of(const char *ip, uint16_t port, uint32_t forward, uint32_t weight)
{
    ipvs_addr a = addr_of(ip);
    ipvs_dest *d = NULL;
    REQUIRE(ipvs_dest_new(&a, port, &d) == IPVS_RESULT_OK);
    REQUIRE(ipvs_dest_set_forward(d, forward) == IPVS_RESULT_OK);
    REQUIRE(ipvs_dest_set_weight(d, weight) == IPVS_RESULT_OK);
    return d;
}

/* Runs a shell command line; returns its exit status. */
static H_UNUSED int sh(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* Moves the process into a fresh network namespace with lo up and a dummy interface routing
 * the test ranges, as ipvs-sys-netlink/tests/common does: IPVS tables are per namespace, so
 * test programs running side by side never see each other's services. */
static H_UNUSED void fresh_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        fprintf(stderr, "unshare(CLONE_NEWNET): %s (the kernel tests run in the VM, as root)\n", strerror(errno));
        exit(2);
    }
    if (sh("ip link set lo up && ip link add dummy0 type dummy && ip link set dummy0 up"
           " && ip route add 10.0.0.0/8 dev dummy0 && ip route add 172.16.0.0/12 dev dummy0"
           " && ip route add 192.168.0.0/16 dev dummy0 && ip -6 route add 2001:db8::/32 dev dummy0")
        != 0) {
        fprintf(stderr, "setting up the namespace failed\n");
        exit(2);
    }
}

#endif
