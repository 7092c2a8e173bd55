/* backoff — reconnect delays: exponential with full jitter.
 * delay(attempt) = uniform random in [0, min(cap_ms, base_ms * 2^attempt)],
 * never below min_ms.  Pure: the random state is a seed the caller owns. */
#ifndef VIGIL_AGENT_BACKOFF_H
#define VIGIL_AGENT_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint32_t base_ms;     /* first ceiling, e.g. 100 */
	uint32_t cap_ms;      /* largest ceiling, e.g. 10000 */
	uint32_t min_ms;      /* floor, e.g. 10, so a dead collector is not hammered */
	uint32_t attempt;     /* failures since the last successful connection */
	uint64_t rng;         /* xorshift64* state; must not be 0 (0 is replaced) */
};

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t cap_ms, uint32_t min_ms, uint64_t seed);
/* The delay before the next attempt; increments attempt. */
uint32_t backoff_next_ms(struct backoff *b);
/* The current ceiling (what backoff_next_ms would draw under). */
uint32_t backoff_ceiling_ms(const struct backoff *b);
/* Connected: start again from base_ms. */
void backoff_reset(struct backoff *b);

#endif
