/* outbox.c — a bounded FIFO ring of pending messages.
 *
 * One allocation holds capacity slots of stride = headroom + max_len + 1
 * bytes: headroom bytes the glue may overwrite (LWS_PRE), the text, and a NUL
 * after it.  The outbox owns the slots; outbox_push() copies the caller's
 * bytes, and a pointer from outbox_peek() is valid until the next push or pop.
 * When the ring is full the oldest message is dropped and counted.
 * Pure: no I/O, no clock, no logging. */
#include "agent/outbox.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct outbox {
	size_t capacity;
	size_t max_len;
	size_t headroom;
	size_t stride;          /* headroom + max_len + 1 */
	size_t head;            /* index of the oldest message */
	size_t count;
	uint64_t dropped;
	size_t *lens;           /* capacity lengths */
	char *slots;            /* capacity * stride bytes */
};

static char *slot(const struct outbox *o, size_t i)
{
	return o->slots + i * o->stride;
}

struct outbox *outbox_new(size_t capacity, size_t max_len, size_t headroom)
{
	struct outbox *o = NULL;
	size_t stride;

	if (capacity == 0 || max_len == 0)
		return NULL;
	if (max_len > SIZE_MAX - 1 - headroom)
		return NULL;
	stride = headroom + max_len + 1;
	if (capacity > SIZE_MAX / stride || capacity > SIZE_MAX / sizeof(size_t))
		return NULL;

	o = calloc(1, sizeof(*o));
	if (!o)
		goto out;
	o->capacity = capacity;
	o->max_len = max_len;
	o->headroom = headroom;
	o->stride = stride;
	o->lens = calloc(capacity, sizeof(*o->lens));
	if (!o->lens)
		goto out_free_o;
	o->slots = malloc(capacity * stride);
	if (!o->slots)
		goto out_free_lens;
	return o;

out_free_lens:
	free(o->lens);
out_free_o:
	free(o);
	o = NULL;
out:
	return o;
}

void outbox_free(struct outbox *o)
{
	if (!o)
		return;
	free(o->slots);
	free(o->lens);
	free(o);
}

int outbox_push(struct outbox *o, const char *msg, size_t len)
{
	size_t tail;
	char *text;
	int dropped = 0;

	if (len > o->max_len)
		return -EMSGSIZE;
	if (o->count == o->capacity) {
		outbox_pop(o);
		o->dropped++;
		dropped = 1;
	}
	tail = (o->head + o->count) % o->capacity;
	text = slot(o, tail) + o->headroom;
	if (len)
		memcpy(text, msg, len);
	text[len] = '\0';
	o->lens[tail] = len;
	o->count++;
	return dropped;
}

char *outbox_peek(struct outbox *o, size_t *len)
{
	if (o->count == 0) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = o->lens[o->head];
	return slot(o, o->head) + o->headroom;
}

void outbox_pop(struct outbox *o)
{
	if (o->count == 0)
		return;
	o->head = (o->head + 1) % o->capacity;
	o->count--;
}

size_t outbox_count(const struct outbox *o)
{
	return o->count;
}

uint64_t outbox_dropped(const struct outbox *o)
{
	return o->dropped;
}
