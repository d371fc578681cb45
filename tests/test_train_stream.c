/* test_train_stream.c — a training run with streamed data (--stream on: the images reach
 * the GPU through the loader thread's staging ring) ends with exactly the weights of the
 * same run with the data resident on the device, over two epochs whose steps wrap the
 * ring several times. */
#include <string.h>
#include <sys/stat.h>

#include "data/feed.h"
#include "harness.h"
#include "methods/train.h"

#define FMNIST "/usr/share/datasets/fashion-mnist"

static void run(const char *root, const char *name, int stream) {
    VcTrainConfig c;
    vc_train_defaults(&c);
    snprintf(c.data, sizeof c.data, "%s", FMNIST);
    snprintf(c.out, sizeof c.out, "%s/%s", root, name);
    c.subset = 160;
    c.batch = 16; /* 10 steps per epoch through a ring of 4 */
    c.epochs = 2;
    c.knn_every = 0;
    c.quiet = 1;
    c.progress = 0;
    c.stream = stream;
    CHECK(vc_train_run(&c) == VC_OK, "run %s: %s", name, vc_last_error());
}

int main(void) {
    struct stat sb;
    if (stat(FMNIST, &sb) != 0) {
        printf("SKIP: %s missing\n", FMNIST);
        return 77;
    }
    char root[] = "/tmp/vc_stream_XXXXXX";
    VC_ASSERT(mkdtemp(root));
    vc_feed_set_ring_steps(4);
    run(root, "resident", 1);
    run(root, "streamed", 2);
    char a[200], b[200];
    snprintf(a, sizeof a, "%s/resident/checkpoint.safetensors", root);
    snprintf(b, sizeof b, "%s/streamed/checkpoint.safetensors", root);
    size_t na = 0, nb = 0;
    char *ca = th_read_file(a, &na), *cb = th_read_file(b, &nb);
    CHECK(ca && cb && na > 100000, "both checkpoints written (%zu, %zu bytes)", na, nb);
    CHECK(ca && cb && na == nb && memcmp(ca, cb, na) == 0, "streamed run's checkpoint is byte-identical to the resident run's");
    free(ca);
    free(cb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return th_finish();
}
