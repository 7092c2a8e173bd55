/* outbox — a bounded FIFO of pending messages (the agent's events while the
 * collector is unreachable).  When full, the oldest message is dropped and
 * counted.  Pure: no I/O, no clock.  Each slot keeps LWS_PRE-style headroom
 * in front of the text so the glue can hand it to lws_write() directly. */
#ifndef VIGIL_AGENT_OUTBOX_H
#define VIGIL_AGENT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct outbox;

/* capacity messages of at most max_len bytes each, with headroom bytes in
 * front of each.  NULL on bad arguments (capacity or max_len 0) or no memory. */
struct outbox *outbox_new(size_t capacity, size_t max_len, size_t headroom);
void outbox_free(struct outbox *o);                 /* NULL is a no-op */

/* Copy len bytes in at the tail.  0; 1 when the oldest message was dropped to
 * make room; -EMSGSIZE when len > max_len (nothing queued). */
int outbox_push(struct outbox *o, const char *msg, size_t len);

/* The oldest message without removing it: returns a pointer to the text (the
 * headroom lies just before it) and its length in *len, or NULL if empty. */
char *outbox_peek(struct outbox *o, size_t *len);
void outbox_pop(struct outbox *o);                  /* drop the oldest; no-op if empty */

size_t outbox_count(const struct outbox *o);
uint64_t outbox_dropped(const struct outbox *o);    /* total dropped since creation */

#endif
