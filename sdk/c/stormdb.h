/*
 * Write StormDB workload plugins in C.
 *
 * A thin layer over the bindings `wit-bindgen c` generates from wit/
 * (workload_plugin.h): a workload is a table of functions, exported with
 * SDB_EXPORT_WORKLOAD; this file adds values, row access, prepared
 * statements, transactions, COPY batching, logging, counters, errors and
 * the seeded random numbers shared by every StormDB SDK.
 *
 *     #include "stormdb.h"
 *
 *     static sdb_stmt select_stmt;
 *     static sdb_rng rng;
 *
 *     static bool ping_init(const sdb_context *ctx) {
 *         rng = sdb_rng_new(ctx->seed);
 *         return sdb_prepare("SELECT $1::int8", &select_stmt);
 *     }
 *
 *     static bool ping_step(sdb_outcome *out) {
 *         sdb_rows rows;
 *         out->operation = "select";
 *         if (!sdb_stmt_query(&select_stmt, SDB_PARAMS(sdb_int(sdb_rng_uniform(&rng, 1, 100))), &rows))
 *             return false;
 *         sdb_rows_free(&rows);
 *         return true;
 *     }
 *
 *     static const sdb_workload ping = {
 *         .name = "ping", .version = "0.1.0", .description = "SELECT 1 in a loop",
 *         .modes = (const sdb_mode[]){{"select", "one SELECT per step"}, {0}},
 *         .init = ping_init, .step = ping_step,
 *     };
 *     SDB_EXPORT_WORKLOAD(ping)
 *
 * Conventions
 * - Functions that can fail return bool: true on success. On failure the
 *   reason is kept as the *pending error* (a SQL error, or the message
 *   given to sdb_fail) and a workload function returns false to pass it to
 *   the host. sdb_error_message() and sdb_error_sqlstate() read it;
 *   sdb_error_clear() drops it (e.g. before retrying).
 * - Strings in parameters are borrowed: they must stay valid during the
 *   call only. Strings in results (sdb_str) are not NUL-terminated; print
 *   them with "%.*s" and SDB_STR_ARG(s).
 * - Results (sdb_rows) are owned by the caller: release them with
 *   sdb_rows_free.
 * - Workload state lives in static variables: each instance of the
 *   component is one worker.
 */
#ifndef STORMDB_H
#define STORMDB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stormdb_rng.h"
#include "workload_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ values */

typedef stormdb_workload_types_value_t sdb_value;
typedef workload_plugin_string_t sdb_str;

#define SDB_STR_ARG(s) (int)(s).len, (const char *)(s).ptr

/* The parameter list `(array, count)` for the values given. */
#define SDB_PARAMS(...) \
    (const sdb_value[]){__VA_ARGS__}, (sizeof((sdb_value[]){__VA_ARGS__}) / sizeof(sdb_value))
#define SDB_NO_PARAMS NULL, 0

static inline sdb_str sdb_str_n(const char *s, size_t n) {
    sdb_str r = {(uint8_t *)s, n};
    return r;
}
static inline sdb_str sdb_str_c(const char *s) { return sdb_str_n(s, strlen(s)); }
/* Whether the result string `s` equals the C string `c`. */
static inline bool sdb_str_eq(sdb_str s, const char *c) {
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

#define SDB_VALUE(kind, field, x) \
    sdb_value v;                  \
    v.tag = STORMDB_WORKLOAD_TYPES_VALUE_##kind; \
    v.val.field = (x);            \
    return v

static inline sdb_value sdb_null(void) {
    sdb_value v;
    v.tag = STORMDB_WORKLOAD_TYPES_VALUE_NULL;
    return v;
}
static inline sdb_value sdb_bool(bool b) { SDB_VALUE(BOOLEAN, boolean, b); }
/* int8: fits any integer column (the host range-checks it). */
static inline sdb_value sdb_int(int64_t i) { SDB_VALUE(INT8, int8, i); }
static inline sdb_value sdb_float(double d) { SDB_VALUE(FLOAT8, float8, d); }
/* text: also accepted for any type, in PostgreSQL's text format. */
static inline sdb_value sdb_text(const char *s) { SDB_VALUE(TEXT, text, sdb_str_c(s)); }
static inline sdb_value sdb_text_n(const char *s, size_t n) { SDB_VALUE(TEXT, text, sdb_str_n(s, n)); }
static inline sdb_value sdb_numeric(const char *s) { SDB_VALUE(NUMERIC, numeric, sdb_str_c(s)); }
static inline sdb_value sdb_json(const char *s) { SDB_VALUE(JSON, json, sdb_str_c(s)); }
static inline sdb_value sdb_uuid(const char *s) { SDB_VALUE(UUID, uuid, sdb_str_c(s)); }
static inline sdb_value sdb_bytea(const void *p, size_t n) {
    workload_plugin_list_u8_t b = {(uint8_t *)p, n};
    SDB_VALUE(BYTEA, bytea, b);
}
/* Microseconds since 1970-01-01 00:00 UTC. */
static inline sdb_value sdb_timestamp(int64_t us) { SDB_VALUE(TIMESTAMP, timestamp, us); }
/* Days since 1970-01-01. */
static inline sdb_value sdb_date(int32_t days) { SDB_VALUE(DATE, date, days); }
/* Microseconds since midnight. */
static inline sdb_value sdb_time(int64_t us) { SDB_VALUE(TIME, time, us); }
#undef SDB_VALUE

/* Reading a result cell: false (and no pending error) when the cell is
 * NULL or of another kind. */
static inline bool sdb_value_is_null(const sdb_value *v) {
    return v->tag == STORMDB_WORKLOAD_TYPES_VALUE_NULL;
}
bool sdb_value_int(const sdb_value *v, int64_t *out);
/* float8, int8 and numeric cells. */
bool sdb_value_float(const sdb_value *v, double *out);
bool sdb_value_bool(const sdb_value *v, bool *out);
/* text, numeric, json and uuid cells; the string is borrowed from the rows. */
bool sdb_value_text(const sdb_value *v, sdb_str *out);

/* ------------------------------------------------------------ errors */

typedef enum sdb_error_kind {
    SDB_ERROR_NONE,
    SDB_ERROR_DENIED,     /* refused by the host's policy */
    SDB_ERROR_DATABASE,   /* reported by PostgreSQL: see sdb_error_sqlstate */
    SDB_ERROR_TIMEOUT,
    SDB_ERROR_CONNECTION,
    SDB_ERROR_LIMIT,      /* a host limit (rows, bytes, statements per step) */
    SDB_ERROR_INVALID,    /* a malformed call */
    SDB_ERROR_FAILED,     /* the workload's own failure (sdb_fail) */
} sdb_error_kind;

/* Set the pending error to a failure in the workload's own words;
 * returns false, so `return sdb_fail("...", ...);` reads naturally. */
bool sdb_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
sdb_error_kind sdb_error_kind_now(void);
/* The pending error as text ("" when none); valid until the next error. */
const char *sdb_error_message(void);
/* The SQLSTATE of a pending database error (e.g. "40001"), else "". */
const char *sdb_error_sqlstate(void);
void sdb_error_clear(void);

/* ------------------------------------------------------------ rows */

typedef struct sdb_rows {
    stormdb_workload_sql_list_list_value_t rows;            /* owned */
    stormdb_workload_sql_list_column_t columns;             /* owned (sdb_query) */
    const stormdb_workload_sql_list_column_t *stmt_columns; /* borrowed (statements) */
} sdb_rows;

static inline size_t sdb_rows_count(const sdb_rows *r) { return r->rows.len; }
/* Cell (row, col), or NULL when out of range. */
const sdb_value *sdb_rows_cell(const sdb_rows *r, size_t row, size_t col);
/* The index of column `name`, or -1. */
int sdb_rows_column(const sdb_rows *r, const char *name);
/* Typed cells; false with a pending error naming the cell when it is
 * missing, NULL or of another kind. */
bool sdb_rows_int(const sdb_rows *r, size_t row, size_t col, int64_t *out);
bool sdb_rows_float(const sdb_rows *r, size_t row, size_t col, double *out);
bool sdb_rows_bool(const sdb_rows *r, size_t row, size_t col, bool *out);
bool sdb_rows_text(const sdb_rows *r, size_t row, size_t col, sdb_str *out);
void sdb_rows_free(sdb_rows *r);

/* ------------------------------------------------------------ sql */

/* Run a statement ($1, $2, ... placeholders) and return its rows. */
bool sdb_query(const char *sql, const sdb_value *params, size_t n, sdb_rows *out);
/* Run a statement; `affected` (may be NULL) receives the rows affected. */
bool sdb_execute(const char *sql, const sdb_value *params, size_t n, uint64_t *affected);

typedef struct sdb_stmt {
    stormdb_workload_sql_own_statement_t handle;
    stormdb_workload_sql_list_column_t columns;
    uint32_t param_count;
    bool open;
} sdb_stmt;

/* Prepare a statement (in init); errors in the SQL surface here. */
bool sdb_prepare(const char *sql, sdb_stmt *out);
bool sdb_stmt_query(const sdb_stmt *s, const sdb_value *params, size_t n, sdb_rows *out);
bool sdb_stmt_execute(const sdb_stmt *s, const sdb_value *params, size_t n, uint64_t *affected);
void sdb_stmt_close(sdb_stmt *s);

typedef enum sdb_isolation {
    SDB_ISOLATION_DEFAULT = STORMDB_WORKLOAD_SQL_ISOLATION_LEVEL_DEFAULT,
    SDB_ISOLATION_READ_COMMITTED = STORMDB_WORKLOAD_SQL_ISOLATION_LEVEL_READ_COMMITTED,
    SDB_ISOLATION_REPEATABLE_READ = STORMDB_WORKLOAD_SQL_ISOLATION_LEVEL_REPEATABLE_READ,
    SDB_ISOLATION_SERIALIZABLE = STORMDB_WORKLOAD_SQL_ISOLATION_LEVEL_SERIALIZABLE,
} sdb_isolation;

/* An open transaction. Prepared statements run inside it too (they use
 * the call's connection). Commit or roll back before returning: both
 * release the handle, and rolling back a finished transaction does
 * nothing, so `sdb_tx_rollback(&tx)` is a safe cleanup on every path. */
typedef struct sdb_tx {
    stormdb_workload_sql_own_transaction_t handle;
    bool open;
} sdb_tx;

bool sdb_begin(sdb_tx *tx);
bool sdb_begin_with(sdb_tx *tx, sdb_isolation isolation, bool read_only);
bool sdb_tx_query(sdb_tx *tx, const char *sql, const sdb_value *params, size_t n, sdb_rows *out);
bool sdb_tx_execute(sdb_tx *tx, const char *sql, const sdb_value *params, size_t n, uint64_t *affected);
bool sdb_tx_commit(sdb_tx *tx);
bool sdb_tx_rollback(sdb_tx *tx);

/* COPY in batches: push rows as a loader produces them. Text and bytea
 * values are copied, so the caller may reuse its buffers. */
typedef struct sdb_copy {
    const char *table;
    workload_plugin_list_string_t columns;
    size_t batch;
    stormdb_workload_sql_list_list_value_t rows;
    uint64_t copied;
} sdb_copy;

bool sdb_copy_begin(sdb_copy *c, const char *table, const char *const *columns, size_t ncolumns,
                    size_t batch_rows);
/* Add one row of `ncolumns` values; copies a full batch to the server. */
bool sdb_copy_push(sdb_copy *c, const sdb_value *row);
/* Copy the rest and release the batcher; `copied` (may be NULL) receives
 * the number of rows copied in all. */
bool sdb_copy_finish(sdb_copy *c, uint64_t *copied);

/* ------------------------------------------------------------ log, metrics */

typedef enum sdb_level {
    SDB_TRACE = STORMDB_WORKLOAD_LOG_LEVEL_TRACE,
    SDB_DEBUG = STORMDB_WORKLOAD_LOG_LEVEL_DEBUG,
    SDB_INFO = STORMDB_WORKLOAD_LOG_LEVEL_INFO,
    SDB_WARN = STORMDB_WORKLOAD_LOG_LEVEL_WARN,
    SDB_ERROR = STORMDB_WORKLOAD_LOG_LEVEL_ERROR,
} sdb_level;

/* Log a printf-style line through the host. */
void sdb_log(sdb_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sdb_debug(...) sdb_log(SDB_DEBUG, __VA_ARGS__)
#define sdb_info(...) sdb_log(SDB_INFO, __VA_ARGS__)
#define sdb_warn(...) sdb_log(SDB_WARN, __VA_ARGS__)
#define sdb_error(...) sdb_log(SDB_ERROR, __VA_ARGS__)

/* Add `delta` to counter `name` (summed over the measured window). */
void sdb_count(const char *name, uint64_t delta);

/* ------------------------------------------------------------ workload */

typedef struct sdb_param_entry {
    char *name, *value;
} sdb_param_entry;

/* The contract's context; strings are valid during the call. */
typedef struct sdb_context {
    const char *mode;
    uint32_t scale;
    uint32_t worker_id; /* init/step: this worker; load: this loader */
    uint32_t workers;   /* init/step: workers; load: loaders */
    uint64_t seed;
    size_t param_count;
    const sdb_param_entry *params;
} sdb_context;

/* Parameter `name` (every declared one is present), or NULL. */
const char *sdb_param(const sdb_context *ctx, const char *name);
/* Parameter `name` parsed; false with a pending error naming it. */
bool sdb_param_int(const sdb_context *ctx, const char *name, int64_t *out);
bool sdb_param_double(const sdb_context *ctx, const char *name, double *out);

/* What one step did. Set `operation` before the work: a failed step is
 * counted under it too. */
typedef struct sdb_outcome {
    const char *operation;
    bool rolled_back; /* an intended rollback: counted, not an error */
} sdb_outcome;

/* What the host measured, for summarize. */
typedef struct sdb_run {
    double elapsed_s;
    const exports_stormdb_workload_workload_run_summary_t *raw;
} sdb_run;

/* Counter `name` over the measured window, 0 if never counted. */
uint64_t sdb_run_counter(const sdb_run *run, const char *name);
/* Totals of operation `name`; false if it never ran. Outputs may be NULL. */
bool sdb_run_operation(const sdb_run *run, const char *name, uint64_t *count, uint64_t *errors,
                       uint64_t *rolled_back);

typedef struct sdb_figures {
    exports_stormdb_workload_workload_list_figure_t list;
    size_t cap;
} sdb_figures;

void sdb_figure(sdb_figures *out, const char *name, double value, const char *unit);
/* A figure checked against lo..=hi, described as `expected`. */
void sdb_figure_between(sdb_figures *out, const char *name, double value, const char *unit, double lo,
                        double hi, const char *expected);

typedef struct sdb_mode {
    const char *name, *description;
} sdb_mode;

typedef struct sdb_param_decl {
    const char *name, *default_value, *description;
} sdb_param_decl;

/* A workload: everything but `name`, `modes` and `step` may be left out
 * (setup calls then do nothing, is_loaded says yes). `modes` and `params`
 * end with an all-zero entry; the first mode is the default. */
typedef struct sdb_workload {
    const char *name, *version, *description;
    const sdb_mode *modes;
    const sdb_param_decl *params;
    uint32_t default_scale; /* 0 means 1 */
    bool (*is_loaded)(const sdb_context *ctx, bool *loaded);
    bool (*setup_schema)(const sdb_context *ctx);
    bool (*load)(const sdb_context *ctx);
    bool (*finish_setup)(const sdb_context *ctx);
    bool (*init)(const sdb_context *ctx);
    bool (*step)(sdb_outcome *out);
    bool (*summarize)(const sdb_context *ctx, const sdb_run *run, sdb_figures *out);
    bool (*cleanup)(const sdb_context *ctx);
} sdb_workload;

extern const sdb_workload *const sdb_workload_definition;

/* Export `w` (an sdb_workload) as this component's workload. Use once. */
#define SDB_EXPORT_WORKLOAD(w) const sdb_workload *const sdb_workload_definition = &(w);

#ifdef __cplusplus
}
#endif

#endif /* STORMDB_H */
