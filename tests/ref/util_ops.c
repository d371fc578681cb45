/* ref/util_ops.c — reference row ops. top-k sorts every row completely (qsort of the
 * indices by value descending, then index ascending): slow and obviously right. */
#include "ref/util_ops.h"

#include <math.h>
#include <stdlib.h>

void ref_reduce_sum_rows(int rows, int cols, double *out, const float *x) {
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++) s += x[(size_t)r * cols + c];
        out[r] = s;
    }
}

void ref_reduce_max_rows(int rows, int cols, double *out, const float *x) {
    for (int r = 0; r < rows; r++) {
        double m = -INFINITY;
        for (int c = 0; c < cols; c++) m = fmax(m, x[(size_t)r * cols + c]);
        out[r] = m;
    }
}

void ref_gather_rows(int count, int D, float *out, const float *x, int x_rows, const int *idx) {
    for (int i = 0; i < count; i++)
        for (int c = 0; c < D; c++)
            out[(size_t)i * D + c] = (idx[i] >= 0 && idx[i] < x_rows) ? x[(size_t)idx[i] * D + c] : 0.0f;
}

void ref_scatter_rows(int count, int D, float *x, int x_rows, const float *src, const int *idx) {
    for (int i = 0; i < count; i++)
        if (idx[i] >= 0 && idx[i] < x_rows)
            for (int c = 0; c < D; c++) x[(size_t)idx[i] * D + c] = src[(size_t)i * D + c];
}

static const float *g_row; /* qsort has no context argument */

static int by_value_then_index(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (g_row[i] > g_row[j]) return -1;
    if (g_row[i] < g_row[j]) return 1;
    return (i > j) - (i < j);
}

void ref_topk_rows(int rows, int cols, int k, float *values, int *indices, const float *x) {
    int *order = malloc(sizeof(int) * (size_t)cols);
    for (int r = 0; r < rows; r++) {
        g_row = x + (size_t)r * cols;
        for (int c = 0; c < cols; c++) order[c] = c;
        qsort(order, (size_t)cols, sizeof(int), by_value_then_index);
        for (int j = 0; j < k; j++) {
            values[(size_t)r * k + j] = g_row[order[j]];
            indices[(size_t)r * k + j] = order[j];
        }
    }
    free(order);
}
