#!/usr/bin/env bash
# bench/store.sh — how fast the store writes and answers: the sustained insert
# rate through the real writer thread, one node's history page over 10
# million events, the 30-day availability report, the size on disk.  No
# network, no other process: bench/store_bench.c linked with store/store.c
# and store/history.c (see the top of that file for what each part does).
#
# Builds the program with:
#   gcc -std=c11 -D_GNU_SOURCE -O2 -I. bench/store_bench.c store/store.c \
#       store/history.c $(pkg-config --cflags --libs sqlite3) -lpthread -lm
# then runs it once.  Writes a Markdown section to $BENCH_MD (default:
# stdout), progress to stderr, the binary and the raw table to $BENCH_WORK.
# The databases (about 2 GB) go to a fresh directory under $STORE_BENCH_DIR
# (default /tmp) that is removed at exit, whatever happens.
# Parameters (environment):
: "${TRIALS:=3}"                   # insert trials (median reported)
: "${INSERT_ROWS:=1000000}"        # rows per insert trial
: "${EVENTS:=10000000}"            # events in the history database
: "${NODES:=1000}"                 # nodes, for the inserts and the history
: "${QUERIES:=200}"                # timed history pages per query shape
: "${REPORT_NODES:=100}"           # nodes in the report database
: "${REPORT_DAYS:=30}"             # days of history per node, and the window
: "${INDEX_EXPERIMENT:=0}"         # 1: also time everything with events(grp_id, ts_ms)
: "${PARTS:=insert,history,report}" # e.g. PARTS=insert for a quick insert-only run
: "${STORE_BENCH_DIR:=/tmp}"
: "${BENCH_MD:=/dev/stdout}"

set -u
. "$(dirname "$0")/lib.sh"

DIR=$(mktemp -d "$STORE_BENCH_DIR/vigil-store-bench.XXXXXX") || exit 2
trap 'rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM

BIN=$BENCH_WORK/store_bench
say "store: building $BIN"
# shellcheck disable=SC2046  # pkg-config prints several words on purpose
gcc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT" "$ROOT/bench/store_bench.c" \
	"$ROOT/store/store.c" "$ROOT/store/history.c" \
	$(pkg-config --cflags --libs sqlite3) -lpthread -lm -o "$BIN" || exit 2

ARGS=(-d "$DIR" -t "$TRIALS" -r "$INSERT_ROWS" -e "$EVENTS" -n "$NODES" -q "$QUERIES"
	-R "$REPORT_NODES" -D "$REPORT_DAYS" -p "$PARTS")
[ "$INDEX_EXPERIMENT" = 1 ] && ARGS+=(-x)

T0=$(now_ms)
say "store: $BIN ${ARGS[*]} (databases in $DIR, removed at exit)"
"$BIN" "${ARGS[@]}" >"$BENCH_WORK/store-table.md" || exit 1
SECS=$(( ($(now_ms) - T0) / 1000 ))

CMD="TRIALS=$TRIALS INSERT_ROWS=$INSERT_ROWS EVENTS=$EVENTS NODES=$NODES QUERIES=$QUERIES"
CMD="$CMD REPORT_NODES=$REPORT_NODES REPORT_DAYS=$REPORT_DAYS"
[ "$INDEX_EXPERIMENT" = 1 ] && CMD="$CMD INDEX_EXPERIMENT=1"
[ "$PARTS" != insert,history,report ] && CMD="$CMD PARTS=$PARTS"
{
	echo "## Store"
	echo
	echo "Command: \`$CMD bench/store.sh\` ($SECS s): \`bench/store_bench.c\` built with"
	echo "\`gcc -O2\` against \`store/store.c\` and \`store/history.c\`, SQLite $(pkg-config --modversion sqlite3),"
	echo "databases on the local disk under \`$STORE_BENCH_DIR\` (removed afterwards). Rates and times are"
	echo "medians or nearest-rank p50 / p99 of repeated timings in this one run."
	echo
	cat "$BENCH_WORK/store-table.md"
} >"$BENCH_MD"
