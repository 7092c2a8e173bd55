# vigil — one non-recursive Makefile.
#
#   make demo    install missing packages, build, run a local cluster + live view
#   make test    install missing packages, build (-Werror), unit + sanitizer + integration tests
#                (the integration tests run twice: plain and sanitizer builds)
#   make         build bin/vigil-agent, bin/vigil-collector, bin/vigil
#
# Libraries come from pkg-config.  Variables are lazy (=) so that `make test`
# on a fresh machine can install the packages before they are asked for.

CC      ?= cc
OPT     ?= -O2
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wwrite-strings -Wno-format-nonliteral -Werror
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -I. -MMD -MP $(CFLAGS)

PC       = pkg-config
LWS_CF   = $(shell $(PC) --cflags libwebsockets 2>/dev/null)
LWS_LIBS = $(shell $(PC) --libs libwebsockets 2>/dev/null)
JSON_CF  = $(shell $(PC) --cflags libcjson 2>/dev/null)
JSON_LIBS= $(shell $(PC) --libs libcjson 2>/dev/null)
SQL_LIBS = $(shell $(PC) --libs sqlite3 2>/dev/null)
CUR_CF   = $(shell $(PC) --cflags ncursesw 2>/dev/null)
CUR_LIBS = $(shell $(PC) --libs ncursesw 2>/dev/null)
CHK_CF   = $(shell $(PC) --cflags check 2>/dev/null)
CHK_LIBS = $(shell $(PC) --libs check 2>/dev/null)
INC      = $(LWS_CF) $(JSON_CF) $(CHK_CF)

# Pure or library modules (no main), grouped by what may link them.
PROTO_SRC = proto/proto.c proto/names.c proto/jsonw.c proto/urls.c
STORE_SRC = store/store.c store/history.c store/alerts_store.c
CORE_SRC  = collector/phi.c collector/core.c collector/auth.c collector/views.c collector/promtext.c collector/groups.c \
            collector/leadership.c collector/alerts.c collector/config.c collector/sinks.c
AGENTLIB_SRC = agent/outbox.c agent/sysmetrics.c agent/backoff.c agent/checks.c agent/statsd.c agent/lease.c agent/proc.c agent/hooks.c agent/state.c
TUILIB_SRC = tui/table.c tui/model.c tui/grid.c tui/ui.c tui/view.c
COMMON_SRC = proto/util.c

COLLECTOR_SRC = collector/main.c collector/server.c collector/alerting.c collector/delivery.c $(CORE_SRC) $(STORE_SRC) $(PROTO_SRC) $(COMMON_SRC)
AGENT_SRC     = agent/main.c agent/agent.c $(AGENTLIB_SRC) $(PROTO_SRC) $(COMMON_SRC)
TUI_SRC       = tui/main.c tui/client.c tui/dash.c $(TUILIB_SRC) $(PROTO_SRC) $(COMMON_SRC)

TEST_SRC = tests/check_main.c tests/check_proto.c tests/check_store.c tests/check_history.c \
           tests/check_phi.c tests/check_core.c tests/check_health.c tests/check_auth.c \
           tests/check_table.c tests/check_outbox.c tests/check_sysmetrics.c tests/check_backoff.c \
           tests/check_urls.c tests/check_checks.c tests/check_statsd.c tests/check_groups.c \
           tests/check_lease.c tests/check_sim.c tests/check_hooks.c tests/check_alerts.c tests/check_config.c tests/check_sinks.c tests/check_dash.c tests/check_alerts_store.c
UNIT_SRC = $(TEST_SRC) $(PROTO_SRC) $(COMMON_SRC) $(STORE_SRC) $(CORE_SRC) $(AGENTLIB_SRC) $(TUILIB_SRC)

# BUILD and BIN may be overridden (make BUILD=build-x BIN=bin-x) so that two
# people can build side by side in one checkout.
BUILD ?= build
BIN   ?= bin
obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

BINS = $(BIN)/vigil-agent $(BIN)/vigil-collector $(BIN)/vigil

.PHONY: all deps demo test check build-all unit asan integration integration-asan bench tools clean help
all: $(BINS)

help:
	@sed -n '2,7p' Makefile

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(INC) -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=undefined $(INC) -c $< -o $@

$(BIN)/vigil-collector: $(call obj,rel,$(COLLECTOR_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) $(SQL_LIBS) -lpthread -lm

# The agent must stay small: no SQLite, no ncurses.  It links libwebsockets
# and OpenSSL statically (Debian's libwebsockets.a, libssl.a, libcrypto.a):
# the shared libcrypto alone costs every agent 1.4 MiB of resident pages,
# most of them relocations of tables the agent never uses, even without TLS
# (docs/benchmarks.md, footprint).  The price: after a security update of
# libssl-dev or libwebsockets-dev, rebuild the agent.  AGENT_LINK=shared links
# the shared libraries instead.  Relative relocations are packed (DT_RELR,
# glibc 2.36): the position-independent agent then reads 6 KiB of them at
# start instead of 460 KiB.
AGENT_LINK ?= static
AGENT_LWS_LIBS_static = -Wl,-Bstatic -lwebsockets -lssl -lcrypto -Wl,-Bdynamic -lcap -ldl -pthread
AGENT_LWS_LIBS_shared = $(LWS_LIBS)
$(BIN)/vigil-agent: $(call obj,rel,$(AGENT_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -Wl,-z,pack-relative-relocs -o $@ $^ $(AGENT_LWS_LIBS_$(AGENT_LINK)) $(JSON_LIBS) -lm

$(BIN)/vigil: $(call obj,rel,$(TUI_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) $(CUR_LIBS) -lm

# Benchmark tools (bench/): N simulated agents in one process, and an operator
# stream watcher.  Built by `make bench`, or `make tools`.
$(BIN)/vigil-swarm: $(call obj,rel,bench/swarm.c $(PROTO_SRC) $(COMMON_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) -lm

$(BIN)/vigil-opwatch: $(call obj,rel,bench/opwatch.c $(PROTO_SRC) $(COMMON_SRC))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) -lm

tools: $(BIN)/vigil-swarm $(BIN)/vigil-opwatch

# Test tools: a raw WebSocket client for the integration tests.
$(BUILD)/wsprobe: $(call obj,rel,tests/tools/wsprobe.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(LWS_LIBS)

# The dashboard's fold + render times with many nodes (bench/dash_bench.c).
$(BUILD)/dash_bench: $(call obj,rel,bench/dash_bench.c $(TUILIB_SRC) $(PROTO_SRC) $(COMMON_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) -lm

$(BUILD)/check_unit: $(call obj,rel,$(UNIT_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(SQL_LIBS) $(CHK_LIBS) -lpthread -lm

# The programs with AddressSanitizer + UBSan, for the integration tests:
#   make integration-asan
$(BUILD)/asan-bin/vigil-collector: $(call obj,asan,$(COLLECTOR_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=address,undefined -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) $(SQL_LIBS) -lpthread -lm

$(BUILD)/asan-bin/vigil-agent: $(call obj,asan,$(AGENT_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=address,undefined -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) -lpthread -lm

$(BUILD)/asan-bin/vigil: $(call obj,asan,$(TUI_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=address,undefined -o $@ $^ $(LWS_LIBS) $(JSON_LIBS) $(CUR_LIBS) -lm

$(BUILD)/check_unit_asan: $(call obj,asan,$(UNIT_SRC))
	$(CC) $(LDFLAGS) -fsanitize=address,undefined -o $@ $^ $(JSON_LIBS) $(SQL_LIBS) $(CHK_LIBS) -lpthread -lm

deps:
	@scripts/install-deps.sh

# `make test` = set-up, then the real work in a sub-make so that pkg-config
# answers with the packages just installed.
test: deps
	@$(MAKE) --no-print-directory -j2 build-all
	@$(MAKE) --no-print-directory check

check: all unit asan integration integration-asan

# Everything the tests need, so that `make -j2 build-all` compiles on both cores.
build-all: all $(BUILD)/check_unit $(BUILD)/check_unit_asan $(BUILD)/wsprobe \
	   $(BUILD)/asan-bin/vigil-collector $(BUILD)/asan-bin/vigil-agent $(BUILD)/asan-bin/vigil

unit: $(BUILD)/check_unit
	@echo "== unit tests"
	@tests/run_unit.sh $(BUILD)/check_unit

asan: $(BUILD)/check_unit_asan
	@echo "== unit tests under AddressSanitizer + UBSan"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  tests/run_unit.sh $(BUILD)/check_unit_asan

integration: all $(BUILD)/wsprobe
	@echo "== integration tests (real processes on 127.0.0.1)"
	@VIGIL_BIN=$(abspath $(BIN)) VIGIL_PROBE=$(abspath $(BUILD))/wsprobe tests/integration/run.sh

integration-asan: $(BUILD)/asan-bin/vigil-collector $(BUILD)/asan-bin/vigil-agent $(BUILD)/asan-bin/vigil $(BUILD)/wsprobe
	@echo "== integration tests against the sanitizer builds"
	@VIGIL_BIN=$(abspath $(BUILD))/asan-bin VIGIL_PROBE=$(abspath $(BUILD))/wsprobe \
	  VIGIL_TEST_LOGS=$(CURDIR)/tests/integration/logs-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  VIGIL_TESTS="$(ASAN_ITESTS)" tests/integration/run.sh

# Under the sanitizers: every integration test but the two that are about
# timing and the screen (t_detect, t_dash; 37 s), to keep `make test` within
# 5 minutes.  Their code runs under ASan in the other tests and the unit
# tests (detection in t_cluster/t_crash, the dashboard's views and keys in
# check_dash); `make integration-asan ASAN_ITESTS="t_dash.sh t_detect.sh"` runs them.
ASAN_ITESTS ?= $(filter-out t_detect.sh t_dash.sh,$(notdir $(wildcard tests/integration/t_*.sh)))

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: all tools
	@bench/run.sh

clean:
	rm -rf $(BUILD) $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
