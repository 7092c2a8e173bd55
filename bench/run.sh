#!/usr/bin/env bash
# bench/run.sh — run benchmarks and rebuild docs/benchmarks.md.  `make bench`
# calls it with no arguments.
#
#   bench/run.sh                 run every benchmark (each bench/*.sh but
#                                run.sh and lib.sh), then rebuild the document
#   bench/run.sh NAME...         run only those (e.g. `capacity sentinel`),
#                                then rebuild the document
#   bench/run.sh --rebuild-only  run nothing: rebuild the document from the
#                                stored sections
#
# Every benchmark writes one Markdown section.  The last successful section of
# each is kept in bench/results/NAME.md (committed), with what it was measured
# at in bench/results/NAME.meta (date, commit, collector binary, load average,
# runtime).  docs/benchmarks.md is rebuilt from all stored sections, so a
# rerun of one benchmark keeps the others' figures, each labelled with its
# own commit and date.  A benchmark that fails leaves its stored section as
# it was (and the exit status is 1).
#
# Parameters reach the benchmarks through the environment (see the top of
# each, e.g. TRIALS=5 LOADED_SECONDS=60 bench/run.sh detect).  BENCH_BIN
# measures programs built elsewhere (default bin/); BENCH_COMMIT then names
# the commit they were built from (default: this checkout's HEAD).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
DOC=$ROOT/docs/benchmarks.md
RES=$ROOT/bench/results
ORDER="detect store capacity footprint sentinel"   # sections first in this order, then the rest

ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

rebuild_only=0
names=()
for a in "$@"; do
	case $a in
	--rebuild-only | -r) rebuild_only=1 ;;
	-h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench/run.sh: unknown option $a" >&2; exit 2 ;;
	*)
		if [ ! -f "bench/$a.sh" ] || [ "$a" = run ] || [ "$a" = lib ]; then
			echo "bench/run.sh: no benchmark bench/$a.sh" >&2
			exit 2
		fi
		names+=("$a") ;;
	esac
done
if [ $rebuild_only = 0 ] && [ ${#names[@]} -eq 0 ]; then
	for b in bench/*.sh; do
		case ${b##*/} in run.sh | lib.sh) continue ;; esac
		names+=("$(basename "$b" .sh)")
	done
fi
mkdir -p "$RES"

# ---- run --------------------------------------------------------------------

failed=0
if [ ${#names[@]} -gt 0 ]; then
	: "${BENCH_BIN:=$ROOT/bin}"
	export BENCH_BIN
	if [ "$BENCH_BIN" = "$ROOT/bin" ]; then
		for p in vigil-collector vigil-agent vigil vigil-swarm vigil-opwatch; do
			[ -x "bin/$p" ] || { make -C "$ROOT" all tools || exit 2; break; }
		done
	fi
	if [ -z "${BENCH_COMMIT:-}" ]; then
		BENCH_COMMIT=$(GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
		if ! GIT_OPTIONAL_LOCKS=0 git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then
			BENCH_COMMIT="$BENCH_COMMIT (with uncommitted changes)"
		fi
	fi
	WORK=$(mktemp -d /tmp/vigil-bench.XXXXXX)
	echo "bench: work directory $WORK (logs, stores, raw samples; kept)" >&2
	for name in "${names[@]}"; do
		echo "bench: running bench/$name.sh" >&2
		mkdir -p "$WORK/$name"
		date=$(date -u '+%Y-%m-%d %H:%M UTC')
		load0=$(cut -d' ' -f1-3 /proc/loadavg)
		binsum=$(sha256sum "$BENCH_BIN/vigil-collector" 2>/dev/null | cut -c1-12)
		t0=$(ms)
		if BENCH_WORK=$WORK/$name BENCH_MD=$WORK/$name.md bash "bench/$name.sh" && [ -s "$WORK/$name.md" ]; then
			cp "$WORK/$name.md" "$RES/$name.md"
			{
				printf 'date\t%s\n' "$date"
				printf 'commit\t%s\n' "$BENCH_COMMIT"
				printf 'collector_sha256\t%s\n' "${binsum:-?}"
				printf 'load\t%s / %s\n' "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
				printf 'runtime_s\t%s\n' $(( ($(ms) - t0) / 1000 ))
			} >"$RES/$name.meta"
			echo "bench: $name done; section stored in bench/results/$name.md" >&2
		else
			echo "bench: bench/$name.sh failed; its stored section is left as it was (see $WORK/$name)" >&2
			failed=1
		fi
	done
fi

# ---- rebuild ----------------------------------------------------------------

meta() { awk -F'\t' -v k="$2" '$1 == k { print $2 }' "$RES/$1.meta" 2>/dev/null; }

sections=()
for n in $ORDER; do [ -s "$RES/$n.md" ] && sections+=("$n"); done
for f in "$RES"/*.md; do
	[ -e "$f" ] || continue
	n=$(basename "$f" .md)
	[[ " $ORDER " == *" $n "* ]] || sections+=("$n")
done
if [ ${#sections[@]} -eq 0 ]; then
	echo "bench: no stored sections in $RES; nothing to write" >&2
	exit 1
fi

TMPDOC=$DOC.tmp.$$
trap 'rm -f "$TMPDOC"' EXIT
{
	echo "# Benchmarks"
	echo
	echo "Built by \`bench/run.sh\` from the sections stored in \`bench/results/\` (last rebuilt"
	echo "$(date -u '+%Y-%m-%d %H:%M UTC')). Do not edit the figures by hand: \`make bench\` reruns everything,"
	echo "\`bench/run.sh NAME...\` reruns some benchmarks and keeps the others' sections, and"
	echo "\`bench/run.sh --rebuild-only\` only rebuilds this file. Each section says when, at which commit"
	echo "and under which load it was measured."
	echo
	echo "How the figures are produced: the benchmarks start real programs (\`bin/vigil-collector\`,"
	echo "\`bin/vigil-agent\`, the bench tools \`bin/vigil-swarm\` and \`bin/vigil-opwatch\`, copied before the"
	echo "run so a rebuild cannot change them half-way) on 127.0.0.1 only, inflict the failure or the load,"
	echo "and read the collector's own record of its verdicts (the SQLite store) or /proc. Figures are"
	echo "medians (p50) and p99 (nearest rank), with min and max, over repeated trials or samples in one"
	echo "run, never a single sample."
	echo
	echo "> The machine is shared and noisy: other jobs may run on it at the same time, so figures"
	echo "> move between runs. Every section gives the load average it was measured under; read the"
	echo "> goals with a margin in mind, and rerun before drawing conclusions from a small miss."
	echo
	echo "| machine | |"
	echo "|---|---|"
	echo "| CPUs (\`nproc\`) | $(nproc) |"
	echo "| CPU model | $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) |"
	echo "| memory | $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
	echo "| kernel | $(uname -sr) |"
	echo "| OS | $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") |"
	echo
	echo "| section | measured | commit | collector binary sha256 | load average start / end | runtime |"
	echo "|---|---|---|---|---|---:|"
	for n in "${sections[@]}"; do
		echo "| [$n](#$n) | $(meta "$n" date) | $(meta "$n" commit) | $(meta "$n" collector_sha256)… | $(meta "$n" load) | $(meta "$n" runtime_s) s |"
	done
	for n in "${sections[@]}"; do
		echo
		echo "<a id=\"$n\"></a>"
		echo
		# the section's heading, then where and when it was measured
		awk -v d="$(meta "$n" date)" -v c="$(meta "$n" commit)" -v l="$(meta "$n" load)" -v r="$(meta "$n" runtime_s)" '
			NR == 1 { print; print ""; printf "*Measured %s at commit %s, load average %s (start / end), %s s.*\n", d, c, l, r; next }
			{ print }' "$RES/$n.md"
	done
} >"$TMPDOC" && mv "$TMPDOC" "$DOC"
echo "bench: wrote $DOC from ${#sections[@]} stored sections" >&2
exit $failed
