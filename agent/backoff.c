/* backoff.c — reconnect delays with "full jitter" (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"):
 *
 *	ceiling = min(cap_ms, base_ms << attempt)
 *	delay   = max(min_ms, uniform[0, ceiling])
 *
 * The shift saturates instead of overflowing, and attempt saturates at
 * UINT32_MAX, so a collector that stays down for ever is fine.  Randomness is
 * xorshift64* over the state in struct backoff, which the caller owns: the
 * same seed gives the same delays.  Pure: no clock, no I/O, no globals. */
#include "agent/backoff.h"

#include <stdint.h>

/* Any non-zero value will do; xorshift is stuck at 0. */
#define BACKOFF_SEED_DEFAULT 0x9E3779B97F4A7C15ULL

static uint64_t xorshift64star(uint64_t *state)
{
	uint64_t x = *state;

	if (x == 0)
		x = BACKOFF_SEED_DEFAULT;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms, uint32_t min_ms, uint64_t seed)
{
	b->base_ms = base_ms;
	b->cap_ms = cap_ms;
	b->min_ms = min_ms;
	b->attempt = 0;
	b->rng = seed ? seed : BACKOFF_SEED_DEFAULT;
}

uint32_t backoff_ceiling_ms(const struct backoff *b)
{
	uint64_t c;

	if (b->base_ms == 0)
		return 0;
	if (b->attempt >= 32)
		return b->cap_ms;       /* base << 32 exceeds any uint32_t cap */
	c = (uint64_t)b->base_ms << b->attempt;
	return c < b->cap_ms ? (uint32_t)c : b->cap_ms;
}

uint32_t backoff_next_ms(struct backoff *b)
{
	uint32_t ceiling = backoff_ceiling_ms(b);
	uint64_t r = xorshift64star(&b->rng) >> 32;
	uint32_t delay;

	/* Scale 32 random bits onto [0, ceiling] (ceiling + 1 values). */
	delay = (uint32_t)((r * ((uint64_t)ceiling + 1)) >> 32);
	if (delay < b->min_ms)
		delay = b->min_ms;
	if (b->attempt < UINT32_MAX)
		b->attempt++;
	return delay;
}

void backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
