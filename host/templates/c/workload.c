/*
 * The {{name}} workload for StormDB: point reads and updates on one table,
 * {{name_snake}}_items(id bigint primary key, hits bigint, note text), 1,000
 * rows per scale unit.
 *
 * Build: make. Run: stormdb run --plugin build/{{name}}.wasm
 * --allow-unsigned --setup -t 10000. The API is stormdb/stormdb.h; the guide
 * is docs/authoring.md in the StormDB repository. Every *.c file in this
 * directory is compiled into the component.
 */
#include <stdio.h>
#include <string.h>

#include "stormdb.h"

#define ROWS_PER_SCALE 1000
#define COPY_BATCH 1000
#define TABLE "{{name_snake}}_items"

enum mode { MODE_MIXED, MODE_READ, MODE_WRITE };

/* One instance is one worker: its state lives here. */
static struct {
    enum mode mode;
    double read_share;
    int64_t rows;
    sdb_rng rng;
    sdb_stmt read, write;
} w;

static int64_t total_rows(const sdb_context *ctx) { return (int64_t)(ctx->scale ? ctx->scale : 1) * ROWS_PER_SCALE; }

static bool plugin_is_loaded(const sdb_context *ctx, bool *loaded) {
    sdb_rows rows;
    bool present;
    int64_t count;
    if (!sdb_query("SELECT to_regclass('" TABLE "') IS NOT NULL", SDB_NO_PARAMS, &rows)) return false;
    if (!sdb_rows_bool(&rows, 0, 0, &present)) return sdb_rows_free(&rows), false;
    sdb_rows_free(&rows);
    if (!present) {
        *loaded = false;
        return true;
    }
    if (!sdb_query("SELECT count(*) FROM " TABLE, SDB_NO_PARAMS, &rows)) return false;
    if (!sdb_rows_int(&rows, 0, 0, &count)) return sdb_rows_free(&rows), false;
    sdb_rows_free(&rows);
    *loaded = count == total_rows(ctx);
    return true;
}

static bool plugin_setup_schema(const sdb_context *ctx) {
    (void)ctx;
    return sdb_execute("DROP TABLE IF EXISTS " TABLE, SDB_NO_PARAMS, NULL) &&
           sdb_execute("CREATE TABLE " TABLE " (id bigint NOT NULL, hits bigint NOT NULL, note text NOT NULL)",
                       SDB_NO_PARAMS, NULL);
}

/* Loader i of L copies its share of the ids (several loaders run at once). */
static bool plugin_load(const sdb_context *ctx) {
    static const char *const columns[] = {"id", "hits", "note"};
    int64_t total = total_rows(ctx);
    int64_t loaders = ctx->workers ? ctx->workers : 1;
    int64_t first = total * ctx->worker_id / loaders + 1;
    int64_t last = total * (ctx->worker_id + 1) / loaders;
    sdb_copy copy;
    char note[32];
    if (!sdb_copy_begin(&copy, TABLE, columns, 3, COPY_BATCH)) return false;
    for (int64_t id = first; id <= last; id++) {
        snprintf(note, sizeof note, "item-%lld", (long long)id);
        if (!sdb_copy_push(&copy, (const sdb_value[]){sdb_int(id), sdb_int(0), sdb_text(note)})) {
            sdb_copy_finish(&copy, NULL);
            return false;
        }
    }
    return sdb_copy_finish(&copy, NULL);
}

static bool plugin_finish_setup(const sdb_context *ctx) {
    (void)ctx;
    return sdb_execute("ALTER TABLE " TABLE " ADD PRIMARY KEY (id)", SDB_NO_PARAMS, NULL) &&
           sdb_execute("ANALYZE " TABLE, SDB_NO_PARAMS, NULL);
}

static bool plugin_init(const sdb_context *ctx) {
    double read_pct;
    if (strcmp(ctx->mode, "mixed") == 0) w.mode = MODE_MIXED;
    else if (strcmp(ctx->mode, "read") == 0) w.mode = MODE_READ;
    else if (strcmp(ctx->mode, "write") == 0) w.mode = MODE_WRITE;
    else return sdb_fail("unknown mode '%s'", ctx->mode);
    if (!sdb_param_double(ctx, "read_pct", &read_pct)) return false;
    if (!(read_pct >= 0 && read_pct <= 100))
        return sdb_fail("parameter 'read_pct' must be between 0 and 100, got %g", read_pct);
    w.read_share = read_pct / 100;
    w.rows = total_rows(ctx);
    w.rng = sdb_rng_new(ctx->seed);
    return sdb_prepare("SELECT hits, note FROM " TABLE " WHERE id = $1", &w.read) &&
           sdb_prepare("UPDATE " TABLE " SET hits = hits + 1 WHERE id = $1", &w.write);
}

static bool plugin_read(sdb_outcome *out) {
    int64_t id = sdb_rng_uniform(&w.rng, 1, w.rows);
    sdb_rows rows;
    size_t found;
    out->operation = "read"; /* before the work: a failure is counted under it */
    if (!sdb_stmt_query(&w.read, SDB_PARAMS(sdb_int(id)), &rows)) return false;
    found = sdb_rows_count(&rows);
    sdb_rows_free(&rows);
    if (found != 1) return sdb_fail("item %lld missing: run with --setup at this scale", (long long)id);
    sdb_count("items-read", 1);
    return true;
}

static bool plugin_write(sdb_outcome *out) {
    int64_t id = sdb_rng_uniform(&w.rng, 1, w.rows);
    uint64_t n;
    out->operation = "write";
    if (!sdb_stmt_execute(&w.write, SDB_PARAMS(sdb_int(id)), &n)) return false;
    if (n != 1) return sdb_fail("item %lld missing: run with --setup at this scale", (long long)id);
    sdb_count("items-updated", 1);
    return true;
}

static bool plugin_step(sdb_outcome *out) {
    switch (w.mode) {
    case MODE_READ:
        return plugin_read(out);
    case MODE_WRITE:
        return plugin_write(out);
    default:
        return sdb_rng_chance(&w.rng, w.read_share) ? plugin_read(out) : plugin_write(out);
    }
}

static bool plugin_cleanup(const sdb_context *ctx) {
    (void)ctx;
    return sdb_execute("DROP TABLE IF EXISTS " TABLE, SDB_NO_PARAMS, NULL);
}

static const sdb_workload plugin = {
    .name = "{{name}}",
    .version = "0.1.0",
    .description = "Point reads and updates on one table",
    .modes = (const sdb_mode[]){
        {"mixed", "reads and updates, read_pct percent reads"}, /* the first is the default */
        {"read", "SELECT one item by primary key"},
        {"write", "UPDATE one item by primary key"},
        {0},
    },
    .params = (const sdb_param_decl[]){
        {"read_pct", "90", "percentage of reads in mixed mode (0-100)"},
        {0},
    },
    .default_scale = 1,
    .is_loaded = plugin_is_loaded,
    .setup_schema = plugin_setup_schema,
    .load = plugin_load,
    .finish_setup = plugin_finish_setup,
    .init = plugin_init,
    .step = plugin_step,
    .cleanup = plugin_cleanup,
};

SDB_EXPORT_WORKLOAD(plugin)
