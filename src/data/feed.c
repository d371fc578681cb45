/* feed.c — resident or streamed dataset images for the recorded step (see feed.h). */
#include "data/feed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eval/embed.h"
#include "ops/augment.h"
#include "util.h"

#define DEFAULT_RING_STEPS 6
#define MIN_RING_STEPS 4 /* > the three steps in flight, or the loader could never run ahead */

static int g_ring_steps;

void vc_feed_set_ring_steps(int ring) { g_ring_steps = ring; }

struct VcFeed {
    VcContext *ctx;
    const VcDataset *d;
    size_t image_bytes;
    int batch, ring; /* ring = 0: resident */
    VcBuffer data;
    /* streaming: the loader thread and what it shares with the stepping thread */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int32_t *perm;    /* this epoch's order (a copy) */
    int steps;        /* steps in this epoch */
    int filled;       /* steps < filled are in their slots */
    int done;         /* steps < done have completed on the GPU */
    bool busy;        /* the loader is copying outside the lock */
    bool stop;
};

bool vc_feed_fits(const VcDeviceInfo *info, size_t bytes) {
    uint64_t heap = 0;
    for (int i = 0; i < info->heap_count; i++)
        if (info->heap_device_local[i] && info->heap_size[i] > heap) heap = info->heap_size[i];
    if (bytes > heap / 2) return false;
    if (info->max_allocation_size && bytes > info->max_allocation_size) return false;
    return bytes <= 4 * info->max_storage_buffer_range; /* the augmentation binds up to 4 ranges */
}

/* Copy step k's images (in the epoch's order) into slot k % ring. */
static void fill_slot(VcFeed *f, int k) {
    uint8_t *dst = (uint8_t *)f->data.mapped + (size_t)(k % f->ring) * f->batch * f->image_bytes;
    const int32_t *idx = f->perm + (size_t)k * f->batch;
    for (int b = 0; b < f->batch; b++) memcpy(dst + b * f->image_bytes, f->d->pixels + (size_t)idx[b] * f->image_bytes, f->image_bytes);
}

static void *loader(void *arg) {
    VcFeed *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        int k = f->filled;
        if (f->perm && k < f->steps && k < f->done + f->ring) {
            f->busy = true;
            pthread_mutex_unlock(&f->mu);
            fill_slot(f, k);
            pthread_mutex_lock(&f->mu);
            f->busy = false;
            f->filled = k + 1;
            pthread_cond_broadcast(&f->cv);
        } else {
            pthread_cond_wait(&f->cv, &f->mu);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

VcFeed *vc_feed_new(VcContext *ctx, const VcDataset *d, int batch, VcFeedMode mode, const char *what) {
    VcFeed *f = vc_calloc(1, sizeof *f);
    f->ctx = ctx;
    f->d = d;
    f->batch = batch;
    f->image_bytes = (size_t)d->c * d->h * d->w;
    size_t bytes = vc_augment_data_bytes((size_t)d->n, d->c, d->h, d->w);
    if (mode == VC_FEED_AUTO) mode = vc_feed_fits(vc_context_info(ctx), bytes) ? VC_FEED_RESIDENT : VC_FEED_STREAM;
    if (mode == VC_FEED_RESIDENT) {
        if (vc_buffer_alloc(ctx, bytes, what, &f->data) != VC_OK) {
            free(f);
            return NULL;
        }
        vc_buffer_upload(ctx, f->data, 0, d->pixels, (size_t)d->n * f->image_bytes);
        return f;
    }
    f->ring = g_ring_steps >= MIN_RING_STEPS ? g_ring_steps : DEFAULT_RING_STEPS;
    char name[160];
    snprintf(name, sizeof name, "%s (staging ring of %d batches)", what, f->ring);
    if (vc_buffer_alloc_mapped(ctx, vc_augment_data_bytes((size_t)f->ring * batch, d->c, d->h, d->w), name, &f->data) != VC_OK) {
        free(f);
        return NULL;
    }
    f->perm = vc_malloc((size_t)d->n * sizeof(int32_t));
    f->steps = 0; /* no epoch yet: the loader waits */
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    int err = pthread_create(&f->thread, NULL, loader, f);
    if (err) {
        vc_set_error("%s: cannot start the loader thread (error %d)", what, err);
        vc_feed_free(f);
        return NULL;
    }
    f->thread_started = true;
    return f;
}

void vc_feed_free(VcFeed *f) {
    if (!f) return;
    if (f->ring) {
        if (f->thread_started) {
            pthread_mutex_lock(&f->mu);
            f->stop = true;
            pthread_cond_broadcast(&f->cv);
            pthread_mutex_unlock(&f->mu);
            pthread_join(f->thread, NULL);
        }
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f->perm);
    }
    vc_buffer_free(f->ctx, &f->data);
    free(f);
}

bool vc_feed_streaming(const VcFeed *f) { return f->ring > 0; }
VcBuffer vc_feed_data(const VcFeed *f) { return f->data; }
int vc_feed_slots(const VcFeed *f) { return f->ring ? f->ring * f->batch : f->d->n; }
int vc_feed_ring_steps(const VcFeed *f) { return f->ring; }
uint32_t vc_feed_augment_flags(const VcFeed *f) { return f->ring ? VC_AUGMENT_GATHERED : 0u; }

/* Wait until the loader is not copying, and keep it idle (steps = 0). Lock held on return. */
static void quiesce(VcFeed *f) {
    pthread_mutex_lock(&f->mu);
    f->steps = 0;
    while (f->busy) pthread_cond_wait(&f->cv, &f->mu);
}

void vc_feed_begin_epoch(VcFeed *f, const int32_t *perm, int steps) {
    if (!f->ring) return;
    quiesce(f);
    memcpy(f->perm, perm, (size_t)f->d->n * sizeof(int32_t));
    f->steps = VC_MIN(steps, f->d->n / f->batch);
    f->filled = 0;
    f->done = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void vc_feed_wait_step(VcFeed *f, int k) {
    if (!f->ring) return;
    pthread_mutex_lock(&f->mu);
    VC_ASSERT(k < f->steps);
    while (f->filled <= k) pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

void vc_feed_completed(VcFeed *f, int k) {
    if (!f->ring) return;
    pthread_mutex_lock(&f->mu);
    if (k > f->done) {
        f->done = k;
        pthread_cond_broadcast(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
}

int vc_feed_embed(VcFeed *f, VcNet *net, const float *mean, const float *std, bool normalize, VcBuffer out) {
    const VcDataset *d = f->d;
    if (!f->ring) return vc_embed_images(net, f->data, d->n, d->c, d->h, d->w, mean, std, normalize, out);
    size_t row = (size_t)vc_net_model(net)->repr_dim * sizeof(float); /* bytes of one representation */
    int chunk = f->ring * f->batch;
    chunk -= chunk % 64; /* keeps the output slices' offsets aligned (64 rows of >= 4 floats) */
    if (chunk < 64) chunk = f->ring * f->batch;
    quiesce(f); /* the loader stays idle until the next epoch */
    pthread_mutex_unlock(&f->mu);
    int st = VC_OK;
    for (int i = 0; i < d->n && st == VC_OK; i += chunk) {
        int m = VC_MIN(chunk, d->n - i);
        memcpy(f->data.mapped, d->pixels + (size_t)i * f->image_bytes, (size_t)m * f->image_bytes);
        st = vc_embed_images(net, f->data, m, d->c, d->h, d->w, mean, std, normalize,
                             vc_buffer_slice(out, (size_t)i * row, (size_t)m * row));
    }
    return st;
}
