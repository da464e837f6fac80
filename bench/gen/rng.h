/*
 * bench/gen/rng.h — the deterministic random numbers the input generators use.
 *
 * splitmix64 seeds a xoshiro256** state; the same seed gives the same bytes on
 * every machine (integer arithmetic only), so every peer in a benchmark run,
 * and every later run, reads exactly the same input.
 *
 * Interface: bench_rng_seed(&r, seed); bench_rng_next(&r); bench_rng_below(&r, n);
 * bench_rng_unit(&r) (a double in [0, 1) from the top 53 bits).
 */
#ifndef SD_BENCH_GEN_RNG_H
#define SD_BENCH_GEN_RNG_H

#include <stdint.h>

struct bench_rng {
	uint64_t s[4];
};

static inline uint64_t bench_rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = bench_rng_splitmix(&seed);
}

static inline uint64_t bench_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = bench_rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = bench_rng_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n) for n > 0 (Lemire's multiply-shift; bias < n / 2^64). */
static inline uint64_t bench_rng_below(struct bench_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rng_next(r) * n) >> 64);
}

static inline double bench_rng_unit(struct bench_rng *r)
{
	return (double)(bench_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
