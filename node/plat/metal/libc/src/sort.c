/*
 * libc/src/sort.c — qsort (heapsort: O(n log n) worst case, no recursion, no
 * allocation; not stable, as the standard allows) and bsearch.
 */
#include <stdlib.h>

static void sort_swap(unsigned char *a, unsigned char *b, size_t size)
{
	while (size--) {
		unsigned char t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Restores the max-heap property below root for heap[0..count). */
static void sort_sift_down(unsigned char *base, size_t root, size_t count, size_t size,
			   int (*cmp)(const void *, const void *))
{
	for (;;) {
		size_t child = 2 * root + 1;

		if (child >= count)
			return;
		if (child + 1 < count && cmp(base + child * size, base + (child + 1) * size) < 0)
			child++;
		if (cmp(base + root * size, base + child * size) >= 0)
			return;
		sort_swap(base + root * size, base + child * size, size);
		root = child;
	}
}

void qsort(void *base, size_t count, size_t size, int (*cmp)(const void *, const void *))
{
	unsigned char *b = base;

	if (count < 2 || size == 0)
		return;
	for (size_t i = count / 2; i-- > 0;)
		sort_sift_down(b, i, count, size, cmp);
	for (size_t end = count - 1; end > 0; end--) {
		sort_swap(b, b + end * size, size);
		sort_sift_down(b, 0, end, size, cmp);
	}
}

void *bsearch(const void *key, const void *base, size_t count, size_t size,
	      int (*cmp)(const void *, const void *))
{
	const unsigned char *b = base;
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(key, b + mid * size);

		if (c == 0)
			return (void *)(b + mid * size);
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}
