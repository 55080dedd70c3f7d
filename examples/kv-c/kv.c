/*
 * The kv example workload in C: point reads and updates on
 * kv(k bigint primary key, v text, n bigint), 10,000 rows per scale unit.
 *
 * Same table, modes, parameters and random sequence as examples/kv-rust,
 * kv-python and kv-js: the same seed writes the same rows in every language.
 */
#include <stdio.h>
#include <string.h>

#include "stormdb.h"

#define ROWS_PER_SCALE 10000
#define COPY_BATCH 5000
#define MAX_VALUE_LEN 1024

enum mode { MODE_MIXED, MODE_READ, MODE_WRITE, MODE_TXN, MODE_NOOP };

/* One instance is one worker: its state lives here. */
static struct {
    enum mode mode;
    double read_share;
    size_t value_len;
    int64_t rows;
    sdb_rng rng;
    sdb_stmt read, write;
} w;

static bool kv_is_loaded(const sdb_context *ctx, bool *loaded) {
    sdb_rows rows;
    bool present;
    int64_t count;
    if (!sdb_query("SELECT to_regclass('kv') IS NOT NULL", SDB_NO_PARAMS, &rows)) return false;
    if (!sdb_rows_bool(&rows, 0, 0, &present)) return sdb_rows_free(&rows), false;
    sdb_rows_free(&rows);
    if (!present) {
        *loaded = false;
        return true;
    }
    if (!sdb_query("SELECT count(*) FROM kv", SDB_NO_PARAMS, &rows)) return false;
    if (!sdb_rows_int(&rows, 0, 0, &count)) return sdb_rows_free(&rows), false;
    sdb_rows_free(&rows);
    *loaded = count == (int64_t)ctx->scale * ROWS_PER_SCALE;
    return true;
}

static bool kv_setup_schema(const sdb_context *ctx) {
    (void)ctx;
    return sdb_execute("DROP TABLE IF EXISTS kv", SDB_NO_PARAMS, NULL) &&
           sdb_execute("CREATE TABLE kv (k bigint NOT NULL, v text NOT NULL, n bigint NOT NULL)", SDB_NO_PARAMS,
                       NULL);
}

/* Loader i of L copies keys total*i/L+1 ..= total*(i+1)/L; values depend
 * only on the key, so any number of loaders gives the same table. */
static bool kv_load(const sdb_context *ctx) {
    static const char *const columns[] = {"k", "v", "n"};
    int64_t total = (int64_t)ctx->scale * ROWS_PER_SCALE;
    int64_t loaders = ctx->workers ? ctx->workers : 1;
    int64_t first = total * ctx->worker_id / loaders + 1;
    int64_t last = total * (ctx->worker_id + 1) / loaders;
    sdb_copy copy;
    char v[32];
    if (!sdb_copy_begin(&copy, "kv", columns, 3, COPY_BATCH)) return false;
    for (int64_t k = first; k <= last; k++) {
        snprintf(v, sizeof v, "row-%lld", (long long)k);
        if (!sdb_copy_push(&copy, (const sdb_value[]){sdb_int(k), sdb_text(v), sdb_int(0)})) {
            sdb_copy_finish(&copy, NULL);
            return false;
        }
    }
    if (!sdb_copy_finish(&copy, NULL)) return false;
    sdb_debug("loader %u: keys %lld..%lld", ctx->worker_id, (long long)first, (long long)last);
    return true;
}

static bool kv_finish_setup(const sdb_context *ctx) {
    (void)ctx;
    return sdb_execute("ALTER TABLE kv ADD PRIMARY KEY (k)", SDB_NO_PARAMS, NULL) &&
           sdb_execute("ANALYZE kv", SDB_NO_PARAMS, NULL);
}

static bool kv_init(const sdb_context *ctx) {
    double read_pct;
    int64_t value_len;
    if (strcmp(ctx->mode, "mixed") == 0) w.mode = MODE_MIXED;
    else if (strcmp(ctx->mode, "read") == 0) w.mode = MODE_READ;
    else if (strcmp(ctx->mode, "write") == 0) w.mode = MODE_WRITE;
    else if (strcmp(ctx->mode, "txn") == 0) w.mode = MODE_TXN;
    else if (strcmp(ctx->mode, "noop") == 0) w.mode = MODE_NOOP;
    else return sdb_fail("unknown mode '%s'", ctx->mode);
    if (!sdb_param_double(ctx, "read_pct", &read_pct)) return false;
    if (!(read_pct >= 0 && read_pct <= 100))
        return sdb_fail("parameter 'read_pct' must be between 0 and 100, got %g", read_pct);
    if (!sdb_param_int(ctx, "value_len", &value_len)) return false;
    if (value_len < 0 || value_len > MAX_VALUE_LEN)
        return sdb_fail("parameter 'value_len' must be between 0 and %d, got %lld", MAX_VALUE_LEN,
                        (long long)value_len);
    w.read_share = read_pct / 100;
    w.value_len = (size_t)value_len;
    w.rows = (int64_t)(ctx->scale ? ctx->scale : 1) * ROWS_PER_SCALE;
    w.rng = sdb_rng_new(ctx->seed);
    return sdb_prepare("SELECT v, n FROM kv WHERE k = $1", &w.read) &&
           sdb_prepare("UPDATE kv SET v = $2, n = n + 1 WHERE k = $1", &w.write);
}

static bool kv_read(sdb_outcome *out) {
    int64_t k = sdb_rng_uniform(&w.rng, 1, w.rows);
    sdb_rows rows;
    size_t found;
    out->operation = "read";
    if (!sdb_stmt_query(&w.read, SDB_PARAMS(sdb_int(k)), &rows)) return false;
    found = sdb_rows_count(&rows);
    sdb_rows_free(&rows);
    if (found != 1) return sdb_fail("row %lld missing: is the table loaded at this scale? (--setup)", (long long)k);
    sdb_count("rows-read", 1);
    return true;
}

static bool kv_write(sdb_outcome *out) {
    int64_t k = sdb_rng_uniform(&w.rng, 1, w.rows);
    char v[MAX_VALUE_LEN + 1];
    uint64_t n;
    sdb_rng_alnum(&w.rng, v, w.value_len);
    out->operation = "write";
    if (!sdb_stmt_execute(&w.write, SDB_PARAMS(sdb_int(k), sdb_text_n(v, w.value_len)), &n)) return false;
    if (n != 1) return sdb_fail("row %lld missing: is the table loaded at this scale? (--setup)", (long long)k);
    sdb_count("rows-written", 1);
    return true;
}

/* Read one key and update another in one transaction. The prepared read
 * runs inside it: statements use the call's connection. */
static bool kv_txn(sdb_outcome *out) {
    int64_t k1 = sdb_rng_uniform(&w.rng, 1, w.rows);
    int64_t k2 = sdb_rng_uniform(&w.rng, 1, w.rows);
    char v[MAX_VALUE_LEN + 1];
    sdb_rows rows;
    sdb_tx tx;
    size_t found;
    uint64_t n;
    sdb_rng_alnum(&w.rng, v, w.value_len);
    out->operation = "txn";
    if (!sdb_begin(&tx)) return false;
    if (!sdb_stmt_query(&w.read, SDB_PARAMS(sdb_int(k1)), &rows)) goto rollback;
    found = sdb_rows_count(&rows);
    sdb_rows_free(&rows);
    if (found != 1) {
        sdb_fail("row %lld missing: is the table loaded at this scale? (--setup)", (long long)k1);
        goto rollback;
    }
    if (!sdb_tx_execute(&tx, "UPDATE kv SET v = $2, n = n + 1 WHERE k = $1",
                        SDB_PARAMS(sdb_int(k2), sdb_text_n(v, w.value_len)), &n))
        goto rollback;
    if (n != 1) {
        sdb_fail("row %lld missing: is the table loaded at this scale? (--setup)", (long long)k2);
        goto rollback;
    }
    if (!sdb_tx_commit(&tx)) return false;
    sdb_count("rows-read", 1);
    sdb_count("rows-written", 1);
    return true;
rollback:
    sdb_tx_rollback(&tx); /* keeps the pending error unless rolling back fails too */
    return false;
}

static bool kv_step(sdb_outcome *out) {
    switch (w.mode) {
    case MODE_READ:
        return kv_read(out);
    case MODE_WRITE:
        return kv_write(out);
    case MODE_TXN:
        return kv_txn(out);
    case MODE_MIXED:
        return sdb_rng_chance(&w.rng, w.read_share) ? kv_read(out) : kv_write(out);
    default:
        sdb_rng_uniform(&w.rng, 1, w.rows);
        out->operation = "noop";
        return true;
    }
}

static bool kv_summarize(const sdb_context *ctx, const sdb_run *run, sdb_figures *out) {
    uint64_t reads = sdb_run_counter(run, "rows-read"), writes = sdb_run_counter(run, "rows-written");
    sdb_figure(out, "rows-written", (double)writes, "rows");
    if (strcmp(ctx->mode, "mixed") == 0 && reads + writes > 0) {
        double pct, share = 100.0 * (double)reads / (double)(reads + writes);
        char expected[64];
        if (!sdb_param_double(ctx, "read_pct", &pct)) return false;
        snprintf(expected, sizeof expected, "%g-%g %%", pct - 5, pct + 5);
        sdb_figure_between(out, "read-share", share, "%", pct - 5, pct + 5, expected);
    }
    return true;
}

static bool kv_cleanup(const sdb_context *ctx) {
    (void)ctx;
    return sdb_execute("DROP TABLE IF EXISTS kv", SDB_NO_PARAMS, NULL);
}

static const sdb_workload kv = {
    .name = "kv",
    .version = "0.1.0",
    .description = "Key-value point reads and updates (C example)",
    .modes = (const sdb_mode[]){
        {"mixed", "reads and updates, read_pct percent reads"},
        {"read", "SELECT one row by primary key"},
        {"write", "UPDATE one row by primary key"},
        {"txn", "read one key and update another in one transaction"},
        {"noop", "draw a key and return: the cost of a step without SQL"},
        {0},
    },
    .params = (const sdb_param_decl[]){
        {"read_pct", "80", "percentage of reads in mixed mode (0-100)"},
        {"value_len", "16", "characters written per update"},
        {0},
    },
    .default_scale = 1,
    .is_loaded = kv_is_loaded,
    .setup_schema = kv_setup_schema,
    .load = kv_load,
    .finish_setup = kv_finish_setup,
    .init = kv_init,
    .step = kv_step,
    .summarize = kv_summarize,
    .cleanup = kv_cleanup,
};

SDB_EXPORT_WORKLOAD(kv)
