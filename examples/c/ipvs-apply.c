/*
 * ipvs-apply: makes the kernel's IPVS table exactly what rules text on standard input describes
 * (the lines `ipvsadm -Sn` writes, `ipvsadm -R` input), with the minimal plan: settings that
 * differ are edited in place (connections survive), services no longer wanted are deleted, and
 * nothing else is touched. Prints one line per operation with its result.
 *
 *   ipvs-apply < wanted.rules             apply; exit 1 if any operation failed
 *   ipvs-apply --dry-run < wanted.rules   print the plan as -R lines and change nothing
 *
 * Build: cc -std=c11 -Wall -Wextra -Werror ipvs-apply.c $(pkg-config --cflags --libs ipvs)
 * Exit status: 0 done (or nothing to do), 1 an operation failed, 2 bad input or no IPVS.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipvs.h>

static int fail(const char *what, int status)
{
    char msg[1024];
    size_t n;
    const ipvs_error *e = ipvs_error_last();
    if (e == NULL || ipvs_error_message(e, msg, sizeof msg, &n) != IPVS_RESULT_OK)
        snprintf(msg, sizeof msg, "unknown error");
    fprintf(stderr, "ipvs-apply: %s: %s\n", what, msg);
    return status;
}

/* Reads all of standard input; NULL when out of memory. */
static char *read_all(FILE *in, size_t *len)
{
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        used += fread(buf + used, 1, cap - used, in);
        if (used < cap)
            break;
        char *bigger = realloc(buf, cap *= 2);
        if (bigger == NULL)
            free(buf);
        buf = bigger;
    }
    *len = used;
    return buf;
}

/* Writes the plan's text to standard output: asks for the length first (a too-small buffer
 * gives it), then writes. */
static int print_plan(const ipvs_plan *plan)
{
    char small[1];
    size_t need = 0;
    ipvs_result r = ipvs_plan_text(plan, small, sizeof small, &need);
    if (r == IPVS_RESULT_OK)
        return 0; /* an empty plan */
    if (r != IPVS_RESULT_BUFFER_TOO_SMALL)
        return fail("printing the plan", 2);
    char *text = malloc(need + 1);
    size_t n;
    if (text == NULL || ipvs_plan_text(plan, text, need + 1, &n) != IPVS_RESULT_OK) {
        free(text);
        return fail("printing the plan", 2);
    }
    fwrite(text, 1, n, stdout);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    static char out[1 << 16];
    int dry_run = 0, status = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = 1;
        } else {
            fprintf(stderr, "usage: ipvs-apply [--dry-run] < rules\n");
            return 2;
        }
    }
    setvbuf(stdout, out, _IOFBF, sizeof out);

    size_t len;
    char *text = read_all(stdin, &len);
    if (text == NULL) {
        fprintf(stderr, "ipvs-apply: out of memory reading standard input\n");
        return 2;
    }
    ipvs_table *desired = NULL;
    ipvs_client *ipvs = NULL;
    ipvs_plan *plan = NULL;
    ipvs_results *results = NULL;
    /* The table the rules describe; a bad line fails here with its line number. */
    ipvs_result r = ipvs_table_from_rules(text, len, &desired);
    free(text);
    if (r != IPVS_RESULT_OK) {
        status = fail("reading the rules", 2);
        goto out;
    }
    if (ipvs_client_new(NULL, &ipvs) != IPVS_RESULT_OK) {
        status = fail("opening IPVS", 2);
        goto out;
    }
    /* Reads the kernel's table and plans the fewest operations to the desired one. */
    if (ipvs_client_plan(ipvs, desired, &plan) != IPVS_RESULT_OK) {
        status = fail("planning", 2);
        goto out;
    }
    if (dry_run) {
        status = print_plan(plan);
        goto out;
    }
    /* Pipelined: many operations per system call, one result each. */
    if (ipvs_plan_apply(plan, ipvs, IPVS_ON_ERROR_CONTINUE, &results) != IPVS_RESULT_OK) {
        status = fail("applying", 2);
        goto out;
    }
    const ipvs_ops *ops = ipvs_plan_ops(plan);
    for (size_t i = 0; i < ipvs_results_len(results); i++) {
        char line[512], msg[1024] = "ok";
        size_t n;
        if (ipvs_op_text(ipvs_ops_get(ops, i), line, sizeof line, &n) != IPVS_RESULT_OK)
            snprintf(line, sizeof line, "(operation %zu)", i + 1);
        const ipvs_error *e = ipvs_results_error(results, i);
        if (e != NULL && ipvs_error_message(e, msg, sizeof msg, &n) != IPVS_RESULT_OK)
            snprintf(msg, sizeof msg, "failed (code %u)", (unsigned)ipvs_error_result(e));
        printf("%s: %s\n", line, msg);
    }
    status = ipvs_results_failed(results) == 0 ? 0 : 1;
out:
    if (fflush(stdout) != 0 && status == 0)
        status = 2;
    ipvs_results_free(results);
    ipvs_plan_free(plan);
    ipvs_client_free(ipvs);
    ipvs_table_free(desired);
    return status;
}
