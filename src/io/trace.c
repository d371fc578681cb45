/* trace.c — collects CPU spans and GPU dispatch timings, writes Chrome trace-event JSON.
 * See trace.h for the tracks and how GPU time is placed on the host's clock. */
#include "io/trace.h"

#include <stdlib.h>
#include <string.h>

#include "io/json.h"

enum { TID_GPU = 1, TID_LAYER = 2, TID_CPU = 3 };

typedef struct Event {
    char name[48];
    char layer[40];
    char shape[160]; /* operand shapes of the op (dispatches), "" when unknown */
    int tid;
    long step;
    int index; /* dispatch index in the step, -1 otherwise */
    double ts, dur; /* seconds (vc_now() clock) */
    double flops, bytes;
    uint32_t groups[3];
} Event;

struct VcTrace {
    Event *ev;
    int n, cap;
    double origin; /* vc_now() at creation: ts 0 in the file */
    int dispatches; /* per step, of the last step added */
};

VcTrace *vc_trace_new(void) {
    VcTrace *t = vc_calloc(1, sizeof *t);
    t->origin = vc_now();
    return t;
}

void vc_trace_free(VcTrace *t) {
    if (!t) return;
    free(t->ev);
    free(t);
}

static Event *push(VcTrace *t, const char *name, int tid, long step, double ts, double dur) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->ev = vc_realloc(t->ev, sizeof *t->ev * (size_t)t->cap);
    }
    Event *e = &t->ev[t->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name ? name : "");
    e->tid = tid, e->step = step, e->index = -1, e->ts = ts, e->dur = dur > 0 ? dur : 0;
    return e;
}

void vc_trace_cpu(VcTrace *t, const char *name, double t0, double t1, long step) { push(t, name, TID_CPU, step, t0, t1 - t0); }

static bool same(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

void vc_trace_gpu_step(VcTrace *t, const VcTiming *tm, int n, long step, double submit_begin, double wait_end) {
    if (!tm || n <= 0) return;
    double span = 0; /* first start to last end, seconds */
    for (int i = 0; i < n; i++) span = VC_MAX(span, 1e-3 * (tm[i].start_ms + tm[i].ms));
    double base = VC_MAX(submit_begin, wait_end - span);
    t->dispatches = n;
    for (int i = 0; i < n; i++) {
        Event *e = push(t, tm[i].label, TID_GPU, step, base + 1e-3 * tm[i].start_ms, 1e-3 * tm[i].ms);
        snprintf(e->layer, sizeof e->layer, "%s", tm[i].group ? tm[i].group : "");
        snprintf(e->shape, sizeof e->shape, "%s", tm[i].shape ? tm[i].shape : "");
        e->index = i, e->flops = tm[i].flops, e->bytes = tm[i].bytes;
        memcpy(e->groups, tm[i].groups, sizeof e->groups);
    }
    for (int i = 0; i < n;) { /* layer passes: runs of one group */
        int j = i;
        while (j + 1 < n && same(tm[j + 1].group, tm[i].group)) j++;
        if (tm[i].group) {
            double t0 = 1e-3 * tm[i].start_ms, t1 = 1e-3 * (tm[j].start_ms + tm[j].ms);
            Event *e = push(t, tm[i].group, TID_LAYER, step, base + t0, t1 - t0);
            snprintf(e->layer, sizeof e->layer, "%s", tm[i].group);
            for (int a = i; a <= j; a++) e->flops += tm[a].flops, e->bytes += tm[a].bytes;
        }
        i = j + 1;
    }
}

static void meta(VcJsonWriter *w, const char *what, int tid, const char *name) {
    vc_json_begin_object(w);
    vc_json_field_string(w, "name", what);
    vc_json_field_string(w, "ph", "M");
    vc_json_field_int(w, "pid", 1);
    vc_json_field_int(w, "tid", tid);
    vc_json_put_key(w, "args");
    vc_json_begin_object(w);
    vc_json_field_string(w, "name", name);
    vc_json_end_object(w);
    vc_json_end_object(w);
}

int vc_trace_write(const VcTrace *t, const char *path, const char *device) {
    static const char *cats[] = {"", "dispatch", "layer", "cpu"};
    VcJsonWriter w;
    vc_json_writer_init(&w, 0);
    vc_json_begin_object(&w);
    vc_json_put_key(&w, "traceEvents");
    vc_json_begin_array(&w);
    char pname[300];
    snprintf(pname, sizeof pname, "vkcontrast on %s", device ? device : "?");
    meta(&w, "process_name", 0, pname);
    meta(&w, "thread_name", TID_GPU, "GPU dispatches");
    meta(&w, "thread_name", TID_LAYER, "GPU layer passes");
    meta(&w, "thread_name", TID_CPU, "CPU: record / submit / wait");
    for (int i = 0; i < t->n; i++) {
        const Event *e = &t->ev[i];
        vc_json_begin_object(&w);
        vc_json_field_string(&w, "name", e->name);
        vc_json_field_string(&w, "cat", cats[e->tid]);
        vc_json_field_string(&w, "ph", "X");
        vc_json_field_number(&w, "ts", 1e6 * (e->ts - t->origin));
        vc_json_field_number(&w, "dur", 1e6 * e->dur);
        vc_json_field_int(&w, "pid", 1);
        vc_json_field_int(&w, "tid", e->tid);
        vc_json_put_key(&w, "args");
        vc_json_begin_object(&w);
        if (e->step >= 0) vc_json_field_int(&w, "step", e->step);
        if (e->tid != TID_CPU) {
            vc_json_field_string(&w, "layer", e->layer);
            vc_json_field_number(&w, "flops", e->flops);
            vc_json_field_number(&w, "bytes", e->bytes);
        }
        if (e->tid == TID_GPU) {
            vc_json_field_int(&w, "index", e->index);
            if (e->shape[0]) vc_json_field_string(&w, "shape", e->shape);
            vc_json_put_key(&w, "workgroups");
            vc_json_begin_array(&w);
            for (int k = 0; k < 3; k++) vc_json_put_int(&w, e->groups[k]);
            vc_json_end_array(&w);
        }
        vc_json_end_object(&w);
        vc_json_end_object(&w);
    }
    vc_json_end_array(&w);
    vc_json_field_string(&w, "displayTimeUnit", "ms");
    vc_json_put_key(&w, "otherData");
    vc_json_begin_object(&w);
    vc_json_field_string(&w, "device", device ? device : "");
    vc_json_field_int(&w, "dispatches_per_step", t->dispatches);
    vc_json_end_object(&w);
    vc_json_end_object(&w);
    return vc_json_writer_save(&w, path);
}
