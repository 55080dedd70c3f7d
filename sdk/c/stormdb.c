/*
 * The StormDB C SDK: helpers over the generated bindings and the
 * implementation of the contract's exports on top of an sdb_workload.
 * See stormdb.h for the API and its conventions.
 *
 * Ownership follows the bindings of `wit-bindgen c`: results of imported
 * calls belong to the caller (freed with the generated *_free functions),
 * arguments of exported calls belong to the callee, and what an export
 * returns is freed by the generated post-return code, so every string
 * returned to the host is a heap copy.
 */
#include "stormdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------------------ helpers */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort(); /* out of linear memory: the host replaces the instance */
    return p;
}

/* A heap copy the post-return code can free; empty strings stay NULL. */
static sdb_str dup_n(const void *s, size_t n) {
    sdb_str r = {NULL, 0};
    if (s && n) {
        r.ptr = xmalloc(n);
        memcpy(r.ptr, s, n);
        r.len = n;
    }
    return r;
}

static sdb_str dup_c(const char *s) { return dup_n(s, s ? strlen(s) : 0); }

static char *cstr(sdb_str s) {
    char *c = xmalloc(s.len + 1);
    memcpy(c, s.ptr, s.len);
    c[s.len] = '\0';
    return c;
}

static stormdb_workload_sql_list_value_t param_list(const sdb_value *params, size_t n) {
    stormdb_workload_sql_list_value_t l = {(sdb_value *)params, n};
    return l;
}

/* ------------------------------------------------------------ errors */

static struct {
    sdb_error_kind kind;
    stormdb_workload_types_sql_error_t sql; /* owned while kind is a SQL kind */
    char *failed;                           /* owned while kind is FAILED */
    char text[1024];                        /* sdb_error_message's answer */
    char sqlstate[8];                       /* sdb_error_sqlstate's answer */
} pending;

void sdb_error_clear(void) {
    if (pending.kind == SDB_ERROR_FAILED) free(pending.failed);
    else if (pending.kind != SDB_ERROR_NONE) stormdb_workload_types_sql_error_free(&pending.sql);
    pending.kind = SDB_ERROR_NONE;
    pending.failed = NULL;
}

/* Keep a SQL error returned by an import (taking ownership); returns false. */
static bool sql_failed(stormdb_workload_types_sql_error_t *err) {
    static const sdb_error_kind kinds[] = {
        [STORMDB_WORKLOAD_TYPES_SQL_ERROR_DENIED] = SDB_ERROR_DENIED,
        [STORMDB_WORKLOAD_TYPES_SQL_ERROR_DATABASE] = SDB_ERROR_DATABASE,
        [STORMDB_WORKLOAD_TYPES_SQL_ERROR_TIMEOUT] = SDB_ERROR_TIMEOUT,
        [STORMDB_WORKLOAD_TYPES_SQL_ERROR_CONNECTION] = SDB_ERROR_CONNECTION,
        [STORMDB_WORKLOAD_TYPES_SQL_ERROR_LIMIT] = SDB_ERROR_LIMIT,
        [STORMDB_WORKLOAD_TYPES_SQL_ERROR_INVALID] = SDB_ERROR_INVALID,
    };
    sdb_error_clear();
    pending.kind = kinds[err->tag];
    pending.sql = *err;
    return false;
}

static bool vfail(const char *fmt, va_list ap) {
    va_list again;
    int n;
    sdb_error_clear();
    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    pending.failed = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(pending.failed, (size_t)(n < 0 ? 0 : n) + 1, fmt, again);
    va_end(again);
    pending.kind = SDB_ERROR_FAILED;
    return false;
}

bool sdb_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(fmt, ap);
    va_end(ap);
    return false;
}

sdb_error_kind sdb_error_kind_now(void) { return pending.kind; }

const char *sdb_error_sqlstate(void) {
    if (pending.kind != SDB_ERROR_DATABASE) return "";
    snprintf(pending.sqlstate, sizeof pending.sqlstate, "%.*s", SDB_STR_ARG(pending.sql.val.database.sqlstate));
    return pending.sqlstate;
}

const char *sdb_error_message(void) {
    static const char *names[] = {"", "denied", "database", "timeout", "connection", "limit", "invalid", "failed"};
    switch (pending.kind) {
    case SDB_ERROR_NONE:
        return "";
    case SDB_ERROR_FAILED:
        return pending.failed;
    case SDB_ERROR_DATABASE: {
        const stormdb_workload_types_database_error_t *d = &pending.sql.val.database;
        snprintf(pending.text, sizeof pending.text, "database: %.*s (SQLSTATE %.*s)", SDB_STR_ARG(d->message),
                 SDB_STR_ARG(d->sqlstate));
        return pending.text;
    }
    default:
        /* every other case carries its message as the variant's string */
        snprintf(pending.text, sizeof pending.text, "%s: %.*s", names[pending.kind],
                 SDB_STR_ARG(pending.sql.val.denied));
        return pending.text;
    }
}

/* Move the pending error into the contract's workload-error. */
static void take_error(exports_stormdb_workload_workload_workload_error_t *out, const char *call) {
    if (pending.kind == SDB_ERROR_NONE) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s returned false without an error (use sdb_fail)", call);
        out->tag = EXPORTS_STORMDB_WORKLOAD_WORKLOAD_WORKLOAD_ERROR_FAILED;
        out->val.failed = dup_c(msg);
    } else if (pending.kind == SDB_ERROR_FAILED) {
        out->tag = EXPORTS_STORMDB_WORKLOAD_WORKLOAD_WORKLOAD_ERROR_FAILED;
        out->val.failed = dup_c(pending.failed);
        free(pending.failed);
    } else {
        out->tag = EXPORTS_STORMDB_WORKLOAD_WORKLOAD_WORKLOAD_ERROR_SQL;
        out->val.sql = pending.sql; /* ownership passes to the post-return code */
    }
    pending.kind = SDB_ERROR_NONE;
    pending.failed = NULL;
}

/* ------------------------------------------------------------ values */

bool sdb_value_int(const sdb_value *v, int64_t *out) {
    if (v->tag != STORMDB_WORKLOAD_TYPES_VALUE_INT8) return false;
    *out = v->val.int8;
    return true;
}

bool sdb_value_float(const sdb_value *v, double *out) {
    switch (v->tag) {
    case STORMDB_WORKLOAD_TYPES_VALUE_FLOAT8:
        *out = v->val.float8;
        return true;
    case STORMDB_WORKLOAD_TYPES_VALUE_INT8:
        *out = (double)v->val.int8;
        return true;
    case STORMDB_WORKLOAD_TYPES_VALUE_NUMERIC: {
        char buf[64], *end;
        if (v->val.numeric.len >= sizeof buf) return false;
        snprintf(buf, sizeof buf, "%.*s", SDB_STR_ARG(v->val.numeric));
        *out = strtod(buf, &end);
        return *end == '\0';
    }
    default:
        return false;
    }
}

bool sdb_value_bool(const sdb_value *v, bool *out) {
    if (v->tag != STORMDB_WORKLOAD_TYPES_VALUE_BOOLEAN) return false;
    *out = v->val.boolean;
    return true;
}

bool sdb_value_text(const sdb_value *v, sdb_str *out) {
    switch (v->tag) {
    case STORMDB_WORKLOAD_TYPES_VALUE_TEXT:
    case STORMDB_WORKLOAD_TYPES_VALUE_NUMERIC:
    case STORMDB_WORKLOAD_TYPES_VALUE_JSON:
    case STORMDB_WORKLOAD_TYPES_VALUE_UUID:
        *out = v->val.text; /* the string cases share one layout */
        return true;
    default:
        return false;
    }
}

/* A deep copy of `v`, for values that outlive the caller's buffers. */
static sdb_value clone_value(const sdb_value *v) {
    sdb_value c = *v;
    switch (v->tag) {
    case STORMDB_WORKLOAD_TYPES_VALUE_NUMERIC:
    case STORMDB_WORKLOAD_TYPES_VALUE_TEXT:
    case STORMDB_WORKLOAD_TYPES_VALUE_JSON:
    case STORMDB_WORKLOAD_TYPES_VALUE_UUID:
        c.val.text = dup_n(v->val.text.ptr, v->val.text.len);
        break;
    case STORMDB_WORKLOAD_TYPES_VALUE_BYTEA:
    case STORMDB_WORKLOAD_TYPES_VALUE_RAW: {
        sdb_str s = dup_n(v->val.bytea.ptr, v->val.bytea.len);
        c.val.bytea.ptr = s.ptr;
        c.val.bytea.len = s.len;
        break;
    }
    case STORMDB_WORKLOAD_TYPES_VALUE_FLOAT4_ARRAY:
        c.val.float4_array.ptr = (float *)dup_n(v->val.float4_array.ptr, v->val.float4_array.len * sizeof(float)).ptr;
        break;
    case STORMDB_WORKLOAD_TYPES_VALUE_FLOAT8_ARRAY:
        c.val.float8_array.ptr = (double *)dup_n(v->val.float8_array.ptr, v->val.float8_array.len * sizeof(double)).ptr;
        break;
    case STORMDB_WORKLOAD_TYPES_VALUE_INT8_ARRAY:
        c.val.int8_array.ptr = (int64_t *)dup_n(v->val.int8_array.ptr, v->val.int8_array.len * sizeof(int64_t)).ptr;
        break;
    case STORMDB_WORKLOAD_TYPES_VALUE_BOOLEAN_ARRAY:
        c.val.boolean_array.ptr = (bool *)dup_n(v->val.boolean_array.ptr, v->val.boolean_array.len * sizeof(bool)).ptr;
        break;
    case STORMDB_WORKLOAD_TYPES_VALUE_TEXT_ARRAY: {
        size_t n = v->val.text_array.len;
        c.val.text_array.ptr = n ? xmalloc(n * sizeof(sdb_str)) : NULL;
        for (size_t i = 0; i < n; i++)
            c.val.text_array.ptr[i] = dup_n(v->val.text_array.ptr[i].ptr, v->val.text_array.ptr[i].len);
        break;
    }
    default:
        break;
    }
    return c;
}

/* ------------------------------------------------------------ rows */

static const stormdb_workload_sql_list_column_t *columns_of(const sdb_rows *r) {
    return r->stmt_columns ? r->stmt_columns : &r->columns;
}

const sdb_value *sdb_rows_cell(const sdb_rows *r, size_t row, size_t col) {
    if (row >= r->rows.len || col >= r->rows.ptr[row].len) return NULL;
    return &r->rows.ptr[row].ptr[col];
}

int sdb_rows_column(const sdb_rows *r, const char *name) {
    const stormdb_workload_sql_list_column_t *cols = columns_of(r);
    for (size_t i = 0; i < cols->len; i++)
        if (sdb_str_eq(cols->ptr[i].name, name)) return (int)i;
    return -1;
}

static bool cell_error(size_t row, size_t col, const char *type) {
    return sdb_fail("result cell (%zu, %zu) is missing, NULL or not %s", row, col, type);
}

bool sdb_rows_int(const sdb_rows *r, size_t row, size_t col, int64_t *out) {
    const sdb_value *v = sdb_rows_cell(r, row, col);
    return (v && sdb_value_int(v, out)) || cell_error(row, col, "an integer");
}

bool sdb_rows_float(const sdb_rows *r, size_t row, size_t col, double *out) {
    const sdb_value *v = sdb_rows_cell(r, row, col);
    return (v && sdb_value_float(v, out)) || cell_error(row, col, "a number");
}

bool sdb_rows_bool(const sdb_rows *r, size_t row, size_t col, bool *out) {
    const sdb_value *v = sdb_rows_cell(r, row, col);
    return (v && sdb_value_bool(v, out)) || cell_error(row, col, "a boolean");
}

bool sdb_rows_text(const sdb_rows *r, size_t row, size_t col, sdb_str *out) {
    const sdb_value *v = sdb_rows_cell(r, row, col);
    return (v && sdb_value_text(v, out)) || cell_error(row, col, "text");
}

void sdb_rows_free(sdb_rows *r) {
    stormdb_workload_sql_list_list_value_free(&r->rows);
    stormdb_workload_sql_list_column_free(&r->columns);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ sql */

/* Move a row-set into `out`. The bindings give the `types` and `sql`
 * interfaces separate list types of identical layout; one cast bridges them. */
static void take_row_set(sdb_rows *out, stormdb_workload_types_row_set_t *rs) {
    out->rows.ptr = (stormdb_workload_sql_list_value_t *)rs->rows.ptr;
    out->rows.len = rs->rows.len;
    out->columns.ptr = rs->columns.ptr;
    out->columns.len = rs->columns.len;
}

bool sdb_query(const char *sql, const sdb_value *params, size_t n, sdb_rows *out) {
    sdb_str text = sdb_str_c(sql);
    stormdb_workload_sql_list_value_t p = param_list(params, n);
    stormdb_workload_types_row_set_t rs;
    stormdb_workload_types_sql_error_t err;
    memset(out, 0, sizeof *out);
    if (!stormdb_workload_sql_query(&text, &p, &rs, &err)) return sql_failed(&err);
    take_row_set(out, &rs);
    return true;
}

bool sdb_execute(const char *sql, const sdb_value *params, size_t n, uint64_t *affected) {
    sdb_str text = sdb_str_c(sql);
    stormdb_workload_sql_list_value_t p = param_list(params, n);
    stormdb_workload_types_sql_error_t err;
    uint64_t count;
    if (!stormdb_workload_sql_execute(&text, &p, &count, &err)) return sql_failed(&err);
    if (affected) *affected = count;
    return true;
}

bool sdb_prepare(const char *sql, sdb_stmt *out) {
    sdb_str text = sdb_str_c(sql);
    stormdb_workload_types_sql_error_t err;
    stormdb_workload_sql_borrow_statement_t b;
    memset(out, 0, sizeof *out);
    if (!stormdb_workload_sql_prepare(&text, &out->handle, &err)) return sql_failed(&err);
    b = stormdb_workload_sql_borrow_statement(out->handle);
    stormdb_workload_sql_method_statement_columns(b, &out->columns);
    out->param_count = stormdb_workload_sql_method_statement_param_count(b);
    out->open = true;
    return true;
}

bool sdb_stmt_query(const sdb_stmt *s, const sdb_value *params, size_t n, sdb_rows *out) {
    stormdb_workload_sql_list_value_t p = param_list(params, n);
    stormdb_workload_types_sql_error_t err;
    memset(out, 0, sizeof *out);
    if (!s->open) return sdb_fail("query on a statement that is not prepared");
    if (!stormdb_workload_sql_method_statement_query(stormdb_workload_sql_borrow_statement(s->handle), &p,
                                                     &out->rows, &err))
        return sql_failed(&err);
    out->stmt_columns = &s->columns;
    return true;
}

bool sdb_stmt_execute(const sdb_stmt *s, const sdb_value *params, size_t n, uint64_t *affected) {
    stormdb_workload_sql_list_value_t p = param_list(params, n);
    stormdb_workload_types_sql_error_t err;
    uint64_t count;
    if (!s->open) return sdb_fail("execute on a statement that is not prepared");
    if (!stormdb_workload_sql_method_statement_execute(stormdb_workload_sql_borrow_statement(s->handle), &p,
                                                       &count, &err))
        return sql_failed(&err);
    if (affected) *affected = count;
    return true;
}

void sdb_stmt_close(sdb_stmt *s) {
    if (!s->open) return;
    stormdb_workload_sql_statement_drop_own(s->handle);
    stormdb_workload_sql_list_column_free(&s->columns);
    memset(s, 0, sizeof *s);
}

bool sdb_begin_with(sdb_tx *tx, sdb_isolation isolation, bool read_only) {
    stormdb_workload_sql_transaction_options_t opts = {(stormdb_workload_sql_isolation_level_t)isolation, read_only};
    stormdb_workload_types_sql_error_t err;
    tx->open = false;
    if (!stormdb_workload_sql_begin(&opts, &tx->handle, &err)) return sql_failed(&err);
    tx->open = true;
    return true;
}

bool sdb_begin(sdb_tx *tx) { return sdb_begin_with(tx, SDB_ISOLATION_DEFAULT, false); }

bool sdb_tx_query(sdb_tx *tx, const char *sql, const sdb_value *params, size_t n, sdb_rows *out) {
    sdb_str text = sdb_str_c(sql);
    stormdb_workload_sql_list_value_t p = param_list(params, n);
    stormdb_workload_types_row_set_t rs;
    stormdb_workload_types_sql_error_t err;
    memset(out, 0, sizeof *out);
    if (!tx->open) return sdb_fail("query on a finished transaction");
    if (!stormdb_workload_sql_method_transaction_query(stormdb_workload_sql_borrow_transaction(tx->handle), &text,
                                                       &p, &rs, &err))
        return sql_failed(&err);
    take_row_set(out, &rs);
    return true;
}

bool sdb_tx_execute(sdb_tx *tx, const char *sql, const sdb_value *params, size_t n, uint64_t *affected) {
    sdb_str text = sdb_str_c(sql);
    stormdb_workload_sql_list_value_t p = param_list(params, n);
    stormdb_workload_types_sql_error_t err;
    uint64_t count;
    if (!tx->open) return sdb_fail("execute on a finished transaction");
    if (!stormdb_workload_sql_method_transaction_execute(stormdb_workload_sql_borrow_transaction(tx->handle), &text,
                                                         &p, &count, &err))
        return sql_failed(&err);
    if (affected) *affected = count;
    return true;
}

static bool tx_finish(sdb_tx *tx, bool commit) {
    stormdb_workload_types_sql_error_t err;
    stormdb_workload_sql_borrow_transaction_t b;
    bool ok;
    if (!tx->open) return commit ? sdb_fail("commit of a finished transaction") : true;
    b = stormdb_workload_sql_borrow_transaction(tx->handle);
    ok = commit ? stormdb_workload_sql_method_transaction_commit(b, &err)
                : stormdb_workload_sql_method_transaction_rollback(b, &err);
    stormdb_workload_sql_transaction_drop_own(tx->handle);
    tx->open = false;
    return ok || sql_failed(&err);
}

bool sdb_tx_commit(sdb_tx *tx) { return tx_finish(tx, true); }
bool sdb_tx_rollback(sdb_tx *tx) { return tx_finish(tx, false); }

/* ------------------------------------------------------------ copy */

bool sdb_copy_begin(sdb_copy *c, const char *table, const char *const *columns, size_t ncolumns,
                    size_t batch_rows) {
    memset(c, 0, sizeof *c);
    if (ncolumns == 0) return sdb_fail("sdb_copy_begin: no columns for table %s", table);
    c->table = table;
    c->batch = batch_rows ? batch_rows : 1;
    c->columns.ptr = xmalloc(ncolumns * sizeof(sdb_str));
    c->columns.len = ncolumns;
    for (size_t i = 0; i < ncolumns; i++) c->columns.ptr[i] = sdb_str_c(columns[i]);
    c->rows.ptr = xmalloc(c->batch * sizeof(stormdb_workload_sql_list_value_t));
    return true;
}

static void copy_release_rows(sdb_copy *c) {
    for (size_t i = 0; i < c->rows.len; i++) stormdb_workload_sql_list_value_free(&c->rows.ptr[i]);
    c->rows.len = 0;
}

static bool copy_flush(sdb_copy *c) {
    sdb_str table = sdb_str_c(c->table);
    stormdb_workload_types_sql_error_t err;
    uint64_t n;
    bool ok;
    if (c->rows.len == 0) return true;
    ok = stormdb_workload_sql_copy_in(&table, &c->columns, &c->rows, &n, &err);
    copy_release_rows(c);
    if (!ok) return sql_failed(&err);
    c->copied += n;
    return true;
}

bool sdb_copy_push(sdb_copy *c, const sdb_value *row) {
    size_t n = c->columns.len;
    stormdb_workload_sql_list_value_t *dst = &c->rows.ptr[c->rows.len++];
    dst->ptr = xmalloc(n * sizeof(sdb_value));
    dst->len = n;
    for (size_t i = 0; i < n; i++) dst->ptr[i] = clone_value(&row[i]);
    return c->rows.len < c->batch || copy_flush(c);
}

bool sdb_copy_finish(sdb_copy *c, uint64_t *copied) {
    bool ok = copy_flush(c);
    copy_release_rows(c);
    free(c->rows.ptr);
    free(c->columns.ptr);
    if (copied) *copied = c->copied;
    memset(c, 0, sizeof *c);
    return ok;
}

/* ------------------------------------------------------------ log, metrics */

void sdb_log(sdb_level level, const char *fmt, ...) {
    char buf[512];
    char *text = buf;
    va_list ap, again;
    int n;
    va_start(ap, fmt);
    va_copy(again, ap);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n >= (int)sizeof buf) {
        text = xmalloc((size_t)n + 1);
        vsnprintf(text, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    va_end(ap);
    if (n < 0) return;
    {
        sdb_str s = sdb_str_n(text, (size_t)n);
        stormdb_workload_log_log((stormdb_workload_log_level_t)level, &s);
    }
    if (text != buf) free(text);
}

void sdb_count(const char *name, uint64_t delta) {
    sdb_str s = sdb_str_c(name);
    stormdb_workload_metrics_count(&s, delta);
}

/* ------------------------------------------------------------ context */

const char *sdb_param(const sdb_context *ctx, const char *name) {
    for (size_t i = 0; i < ctx->param_count; i++)
        if (strcmp(ctx->params[i].name, name) == 0) return ctx->params[i].value;
    return NULL;
}

bool sdb_param_int(const sdb_context *ctx, const char *name, int64_t *out) {
    const char *raw = sdb_param(ctx, name);
    char *end;
    long long v;
    if (!raw) return sdb_fail("parameter '%s' is missing", name);
    errno = 0;
    v = strtoll(raw, &end, 10);
    while (*end == ' ') end++;
    if (errno || end == raw || *end != '\0')
        return sdb_fail("parameter '%s' has value '%s', which is not an integer", name, raw);
    *out = v;
    return true;
}

bool sdb_param_double(const sdb_context *ctx, const char *name, double *out) {
    const char *raw = sdb_param(ctx, name);
    char *end;
    double v;
    if (!raw) return sdb_fail("parameter '%s' is missing", name);
    errno = 0;
    v = strtod(raw, &end);
    while (*end == ' ') end++;
    if (errno || end == raw || *end != '\0')
        return sdb_fail("parameter '%s' has value '%s', which is not a number", name, raw);
    *out = v;
    return true;
}

typedef struct context_holder {
    sdb_context ctx;
    char *mode;
    sdb_param_entry *params;
} context_holder;

static void context_open(context_holder *h, const exports_stormdb_workload_workload_context_t *raw) {
    size_t n = raw->params.len;
    h->mode = cstr(raw->mode);
    h->params = xmalloc(n * sizeof(sdb_param_entry));
    for (size_t i = 0; i < n; i++) {
        h->params[i].name = cstr(raw->params.ptr[i].f0);
        h->params[i].value = cstr(raw->params.ptr[i].f1);
    }
    h->ctx.mode = h->mode;
    h->ctx.scale = raw->scale;
    h->ctx.worker_id = raw->worker_id;
    h->ctx.workers = raw->workers;
    h->ctx.seed = raw->seed;
    h->ctx.param_count = n;
    h->ctx.params = h->params;
}

/* Release the holder and the exported call's argument, which we own. */
static void context_close(context_holder *h, exports_stormdb_workload_workload_context_t *raw) {
    for (size_t i = 0; i < h->ctx.param_count; i++) {
        free(h->params[i].name);
        free(h->params[i].value);
    }
    free(h->params);
    free(h->mode);
    exports_stormdb_workload_workload_context_free(raw);
}

/* ------------------------------------------------------------ summarize */

uint64_t sdb_run_counter(const sdb_run *run, const char *name) {
    for (size_t i = 0; i < run->raw->counters.len; i++)
        if (sdb_str_eq(run->raw->counters.ptr[i].f0, name)) return run->raw->counters.ptr[i].f1;
    return 0;
}

bool sdb_run_operation(const sdb_run *run, const char *name, uint64_t *count, uint64_t *errors,
                       uint64_t *rolled_back) {
    for (size_t i = 0; i < run->raw->operations.len; i++) {
        const exports_stormdb_workload_workload_operation_summary_t *o = &run->raw->operations.ptr[i];
        if (!sdb_str_eq(o->name, name)) continue;
        if (count) *count = o->count;
        if (errors) *errors = o->errors;
        if (rolled_back) *rolled_back = o->rolled_back;
        return true;
    }
    return false;
}

static exports_stormdb_workload_workload_figure_t *figure_push(sdb_figures *out) {
    if (out->list.len == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 4;
        out->list.ptr = realloc(out->list.ptr, out->cap * sizeof *out->list.ptr);
        if (!out->list.ptr) abort();
    }
    return &out->list.ptr[out->list.len++];
}

void sdb_figure(sdb_figures *out, const char *name, double value, const char *unit) {
    exports_stormdb_workload_workload_figure_t *f = figure_push(out);
    memset(f, 0, sizeof *f);
    f->name = dup_c(name);
    f->value = value;
    f->unit = dup_c(unit);
}

void sdb_figure_between(sdb_figures *out, const char *name, double value, const char *unit, double lo,
                        double hi, const char *expected) {
    sdb_figure(out, name, value, unit);
    exports_stormdb_workload_workload_figure_t *f = &out->list.ptr[out->list.len - 1];
    f->expected.is_some = true;
    f->expected.val = dup_c(expected);
    f->ok.is_some = true;
    f->ok.val = value >= lo && value <= hi;
}

/* ------------------------------------------------------------ exports */

#define DEF sdb_workload_definition

void exports_stormdb_workload_workload_describe(exports_stormdb_workload_workload_info_t *ret) {
    static const sdb_mode fallback_modes[] = {{"default", "the only mode"}, {0}};
    const sdb_mode *modes = DEF->modes && DEF->modes[0].name ? DEF->modes : fallback_modes;
    size_t nm = 0, np = 0;
    while (modes[nm].name) nm++;
    while (DEF->params && DEF->params[np].name) np++;
    memset(ret, 0, sizeof *ret);
    ret->name = dup_c(DEF->name);
    ret->version = dup_c(DEF->version ? DEF->version : "0.1.0");
    ret->description = dup_c(DEF->description);
    ret->modes.ptr = xmalloc(nm * sizeof *ret->modes.ptr);
    ret->modes.len = nm;
    for (size_t i = 0; i < nm; i++) {
        ret->modes.ptr[i].name = dup_c(modes[i].name);
        ret->modes.ptr[i].description = dup_c(modes[i].description);
    }
    ret->parameters.ptr = np ? xmalloc(np * sizeof *ret->parameters.ptr) : NULL;
    ret->parameters.len = np;
    for (size_t i = 0; i < np; i++) {
        ret->parameters.ptr[i].name = dup_c(DEF->params[i].name);
        ret->parameters.ptr[i].description = dup_c(DEF->params[i].description);
        ret->parameters.ptr[i].default_value = dup_c(DEF->params[i].default_value);
    }
    ret->default_scale = DEF->default_scale ? DEF->default_scale : 1;
}

/* Run a context-taking workload function (absent: success). */
static bool run_ctx(bool (*fn)(const sdb_context *), const char *call,
                    exports_stormdb_workload_workload_context_t *raw,
                    exports_stormdb_workload_workload_workload_error_t *err) {
    context_holder h;
    bool ok = true;
    sdb_error_clear();
    if (fn) {
        context_open(&h, raw);
        ok = fn(&h.ctx);
        context_close(&h, raw);
    } else {
        exports_stormdb_workload_workload_context_free(raw);
    }
    if (!ok) take_error(err, call);
    return ok;
}

bool exports_stormdb_workload_workload_is_loaded(exports_stormdb_workload_workload_context_t *raw, bool *ret,
                                                 exports_stormdb_workload_workload_workload_error_t *err) {
    context_holder h;
    bool ok = true, loaded = true;
    sdb_error_clear();
    if (DEF->is_loaded) {
        context_open(&h, raw);
        ok = DEF->is_loaded(&h.ctx, &loaded);
        context_close(&h, raw);
    } else {
        exports_stormdb_workload_workload_context_free(raw);
    }
    if (!ok) take_error(err, "is_loaded");
    *ret = loaded;
    return ok;
}

bool exports_stormdb_workload_workload_setup_schema(exports_stormdb_workload_workload_context_t *raw,
                                                    exports_stormdb_workload_workload_workload_error_t *err) {
    return run_ctx(DEF->setup_schema, "setup_schema", raw, err);
}

bool exports_stormdb_workload_workload_load(exports_stormdb_workload_workload_context_t *raw,
                                            exports_stormdb_workload_workload_workload_error_t *err) {
    return run_ctx(DEF->load, "load", raw, err);
}

bool exports_stormdb_workload_workload_finish_setup(exports_stormdb_workload_workload_context_t *raw,
                                                    exports_stormdb_workload_workload_workload_error_t *err) {
    return run_ctx(DEF->finish_setup, "finish_setup", raw, err);
}

bool exports_stormdb_workload_workload_init(exports_stormdb_workload_workload_context_t *raw,
                                            exports_stormdb_workload_workload_workload_error_t *err) {
    return run_ctx(DEF->init, "init", raw, err);
}

bool exports_stormdb_workload_workload_cleanup(exports_stormdb_workload_workload_context_t *raw,
                                               exports_stormdb_workload_workload_workload_error_t *err) {
    return run_ctx(DEF->cleanup, "cleanup", raw, err);
}

bool exports_stormdb_workload_workload_step(exports_stormdb_workload_workload_outcome_t *ret,
                                            exports_stormdb_workload_workload_step_error_t *err) {
    sdb_outcome out = {NULL, false};
    bool ok;
    sdb_error_clear();
    ok = DEF->step ? DEF->step(&out) : sdb_fail("the workload defines no step function");
    if (ok) {
        ret->operation = dup_c(out.operation ? out.operation : "step");
        ret->rolled_back = out.rolled_back;
    } else {
        err->operation = dup_c(out.operation ? out.operation : "step");
        take_error(&err->error, "step");
    }
    return ok;
}

bool exports_stormdb_workload_workload_summarize(exports_stormdb_workload_workload_context_t *raw,
                                                 exports_stormdb_workload_workload_run_summary_t *run,
                                                 exports_stormdb_workload_workload_list_figure_t *ret,
                                                 exports_stormdb_workload_workload_workload_error_t *err) {
    sdb_figures figures = {{NULL, 0}, 0};
    context_holder h;
    bool ok = true;
    sdb_error_clear();
    if (DEF->summarize) {
        sdb_run r = {run->elapsed_s, run};
        context_open(&h, raw);
        ok = DEF->summarize(&h.ctx, &r, &figures);
        context_close(&h, raw);
    } else {
        exports_stormdb_workload_workload_context_free(raw);
    }
    exports_stormdb_workload_workload_run_summary_free(run);
    if (!ok) {
        exports_stormdb_workload_workload_list_figure_free(&figures.list);
        take_error(err, "summarize");
        return false;
    }
    *ret = figures.list;
    return true;
}
