# SPDX-License-Identifier: GPL-2.0-or-later
# cnip: CNI plugins in C. `make` builds every plugin into $(BUILD)/bin;
# `make check` installs what is missing, builds warning-free, and runs the
# unit tests (ASan+UBSan) and the integration tests (sanitized plugins).

PREFIX ?= /opt/cni
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKG_CONFIG ?= pkg-config
DEPS_LIBS := libmnl libnftnl libcjson

WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wformat=2 -Wwrite-strings -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Iinclude -MMD -MP $(WARN) \
	$(shell $(PKG_CONFIG) --cflags $(DEPS_LIBS) 2>/dev/null)
LIBS := $(shell $(PKG_CONFIG) --libs $(DEPS_LIBS) 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# Release: optimised and hardened. Sanitized: what `make check` runs.
REL_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -Werror
SAN_LDFLAGS := -fsanitize=address,undefined

ifeq ($(V),1)
Q :=
else
Q := @
endif

PKG_SRCS := $(sort $(shell find pkg -name '*.c'))
PLUGINS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/main.c)))))
# Plugins that carry another's code: bridge and ptp run host-local in-process
# when CNI_PATH finds our own build of it (pkg/ipam/exec.c).
USES_bridge := host-local
USES_ptp := host-local

# The sources' identity, in every binary's ELF note (pkg/cni/build.c): equal
# notes, equal code. The stamp changes only with it, and build.o with the stamp.
SRC_ID := $(shell cat Makefile $(sort $(shell find pkg include plugins -name '*.[ch]')) | \
	sha256sum | cut -c1-24)
$(shell mkdir -p $(BUILD) && (echo $(SRC_ID) | cmp -s - $(BUILD)/srcid || echo $(SRC_ID) >$(BUILD)/srcid))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c))

# $(1) = output dir, $(2) = extra CFLAGS, $(3) = extra LDFLAGS
define variant
$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  CC      $$<")
	$$(Q)$$(CC) $$(BASE_CFLAGS) $(2) $$(NOTE_FLAGS) $$(CFLAGS) -c $$< -o $$@

$(1)/obj/pkg/cni/build.o: $(BUILD)/srcid
$(1)/obj/pkg/cni/build.o: NOTE_FLAGS := -DCNIP_SRC_ID='"$(SRC_ID)"'

$(1)/libcnip.a: $$(PKG_SRCS:%.c=$(1)/obj/%.o)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$^

# A plugin is its main.c plus an archive of its other files, which unit tests link.
# The directory too: a file added to or removed from a plugin rebuilds its archive.
$(1)/plugins/lib%.a: plugins/% $$$$(addprefix $(1)/obj/,$$$$(subst .c,.o,$$$$(filter-out plugins/$$$$*/main.c,$$$$(wildcard plugins/$$$$*/*.c))))
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar rcs $$@ $$(filter %.o,$$^)

$(1)/bin/%: $(1)/obj/plugins/%/main.o $(1)/plugins/lib%.a \
		$$$$(addprefix $(1)/plugins/lib,$$$$(addsuffix .a,$$$$(USES_$$$$*))) $(1)/libcnip.a
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $(3) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)

-include $$(shell find $(1) -name '*.d' 2>/dev/null)
endef

.SECONDEXPANSION:
# Objects and plugin archives are kept: they are what the next build reuses.
.SECONDARY:
$(eval $(call variant,$(BUILD),$(REL_CFLAGS),$(REL_LDFLAGS)))
$(eval $(call variant,$(BUILD)/san,$(SAN_CFLAGS),$(SAN_LDFLAGS)))

.PHONY: all deps check unit integration e2e demo bench install clean fuzz fuzz-long fuzz-regress \
	static deb image dist-test chaos load
.DEFAULT_GOAL := all

all: $(PLUGINS:%=$(BUILD)/bin/%)

deps:
	$(Q)hack/deps.sh

# A unit test may name libmnl symbols to wrap in tests/unit/test_X.wrap, and
# the plugins whose code it links (their archives) in tests/unit/test_X.plugins.
unit_plugins = $(addprefix $(BUILD)/san/plugins/lib,$(addsuffix .a,$(shell cat tests/unit/$(1).plugins 2>/dev/null)))
$(BUILD)/san/tests/%: tests/unit/%.c $(UNIT_HELPERS:%.c=$(BUILD)/san/obj/%.o) $$(call unit_plugins,$$*) $(BUILD)/san/libcnip.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< \
		$(UNIT_HELPERS:%.c=$(BUILD)/san/obj/%.o) $(call unit_plugins,$*) $(BUILD)/san/libcnip.a \
		$(SAN_LDFLAGS) $(shell cat tests/unit/$*.wrap 2>/dev/null) $(CMOCKA_LIBS) $(LIBS)

UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/san/tests/%)
SAN_PLUGINS := $(PLUGINS:%=$(BUILD)/san/bin/%)

unit: $(UNIT_BINS) $(SAN_PLUGINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)
	$(Q)if command -v clang >/dev/null; then $(MAKE) --no-print-directory fuzz-regress; fi

integration: $(SAN_PLUGINS) $(BUILD)/bench/floor
	$(Q)CNIP_BIN=$(abspath $(BUILD)/san/bin) CNIP_FLOOR=$(abspath $(BUILD)/bench/floor) tests/run-integration.sh

# The load test alone (tests/integration/load.sh, sanitized plugins), its log kept in $(BUILD)/load.
LOAD_PODS ?= 1000
LOAD_WORKERS ?= 16
load: $(SAN_PLUGINS)
	$(Q)mkdir -p $(BUILD)/load
	$(Q)CNIP_BIN=$(abspath $(BUILD)/san/bin) CNIP_LOGDIR=$(abspath $(BUILD)/load) \
		CNIP_TEST_TIMEOUT=$${CNIP_TEST_TIMEOUT:-1800} LOAD_PODS=$(LOAD_PODS) LOAD_WORKERS=$(LOAD_WORKERS) tests/run-integration.sh tests/integration/load.sh; \
		rc=$$?; grep -e '^---' -e '^LEAK' -e '^ERROR' -e '^DUPLICATE' $(BUILD)/load/load.log | head -40; exit $$rc

# Real clients (podman, containerd) run our release build; they install their own packages.
e2e: all static
	$(Q)hack/deps-e2e.sh
	$(Q)CNIP_BIN=$(abspath $(BUILD)/bin) tests/e2e/run.sh

# Every layer runs even when an earlier one fails, so one run shows everything.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)rc=0; for t in unit integration dist-test e2e; do \
		$(MAKE) --no-print-directory $$t || { rc=1; echo "check: $$t FAILED"; }; \
	done; exit $$rc

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)CNIP_BIN=$(abspath $(BUILD)/bin) hack/demo.sh

# The benchmark's own programs (tests/bench/): the runner, the floor, a trivial program.
BENCH_TOOLS := $(addprefix $(BUILD)/bench/,runner floor trivial trivial-static)
$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 $(WARN) $(CFLAGS) -o $@ $< \
		$(if $(filter floor,$*),-static)
$(BUILD)/bench/trivial-static: tests/bench/trivial.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) $(CFLAGS) -static -o $@ $<

# BENCH_PODS=100 for a quick run; the other knobs are in hack/bench.sh.
bench: all $(BENCH_TOOLS)
	$(Q)hack/deps.sh
	$(Q)CNIP_BIN=$(abspath $(BUILD)/bin) BENCH_TOOLS=$(abspath $(BUILD)/bench) hack/bench.sh

# Kill anywhere, the long form (its short form, against the sanitized plugins,
# is part of `make integration`): CHAOS_VICTIMS plugins SIGKILLed at random
# syscall stops of ADD, DEL and GC, against the release build, in CHAOS_JOBS
# shards run side by side, each in its own throwaway node with seed
# CHAOS_SEED + shard - 1 (default: the time). The totals end the output; the
# logs stay in $(BUILD)/chaos/<shard>/chaos.log.
CHAOS_VICTIMS ?= 1000
CHAOS_JOBS ?= 2
$(BUILD)/tools/killat: tests/tools/killat.c
	@mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 $(WARN) $(CFLAGS) -o $@ $<

chaos: all $(BUILD)/tools/killat
	$(Q)seed=$${CHAOS_SEED:-$$(date +%s)}; pids=; rm -rf $(BUILD)/chaos; \
	for j in $$(seq 1 $(CHAOS_JOBS)); do \
		mkdir -p $(BUILD)/chaos/$$j; \
		CNIP_BIN=$(abspath $(BUILD)/bin) CHAOS_KILLAT=$(abspath $(BUILD)/tools/killat) \
		CHAOS_VICTIMS=$$(( ($(CHAOS_VICTIMS) + $(CHAOS_JOBS) - j) / $(CHAOS_JOBS) )) \
		CHAOS_SEED=$$((seed + j - 1)) CNIP_LOGDIR=$(abspath $(BUILD)/chaos)/$$j \
		CNIP_TEST_TIMEOUT=$${CHAOS_TIMEOUT:-14400} \
		tests/run-integration.sh tests/integration/chaos.sh >$(BUILD)/chaos/$$j/summary 2>&1 & \
		pids="$$pids $$!"; \
	done; \
	rc=0; for p in $$pids; do wait $$p || rc=1; done; \
	for j in $$(seq 1 $(CHAOS_JOBS)); do \
		echo "shard $$j:"; sed 's/^/    /' $(BUILD)/chaos/$$j/summary; \
		grep '^--- chaos:' $(BUILD)/chaos/$$j/chaos.log; \
	done; \
	cat $(BUILD)/chaos/*/chaos.log | awk '/^--- kills per plugin/ { on = 1; next } /^---/ { on = 0 } \
		on && $$3 == "killed" { k[$$1] += $$2; s[$$1] += substr($$4, 2) + 0 } \
		/^--- chaos:/ { v += $$3; r += $$7; d += $$16; a += $$19; t = $$NF + 0 > t ? $$NF + 0 : t } \
		END { printf "chaos, all shards: %d victims killed in %d runs, %d DEL errors, %d runs left something after DEL (reclaimed by GC), longest shard %ds\n", v, r, d, a, t; \
		for (x in k) printf "    %-22s %5d killed  (%d finished first)\n", x, k[x], s[x] | "sort" }'; \
	exit $$rc

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PLUGINS:%=$(BUILD)/bin/%) $(DESTDIR)$(BINDIR)/

# Self-contained plugins for nodes without our libraries (the DaemonSet image):
# a library Debian ships as an archive (libnftnl.a) is linked in, the others
# (libmnl, libcjson: shared only) are copied to cnip-lib/ beside the plugins and
# found through the run path $ORIGIN/cnip-lib. Same objects as the release build.
STATIC := $(BUILD)/static
static_a = $(wildcard $(shell $(PKG_CONFIG) --variable=libdir $(1))/lib$(2).a)
STATIC_LIBS := $(foreach d,$(DEPS_LIBS),$(foreach l,$(patsubst -l%,%,$(shell $(PKG_CONFIG) --libs-only-l $(d))),$(call static_a,$(d),$(l))))
DYN_LIBS := $(filter-out $(patsubst lib%.a,-l%,$(notdir $(STATIC_LIBS))),$(LIBS))
$(STATIC)/bin/%: $(BUILD)/obj/plugins/%/main.o $(BUILD)/plugins/lib%.a \
		$$(addprefix $(BUILD)/plugins/lib,$$(addsuffix .a,$$(USES_$$*))) $(BUILD)/libcnip.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(REL_LDFLAGS) $(LDFLAGS) -Wl,--as-needed -Wl,-rpath,'$$ORIGIN/cnip-lib' -o $@ \
		$^ $(STATIC_LIBS) $(DYN_LIBS)

static: $(PLUGINS:%=$(STATIC)/bin/%)
	$(Q)STATIC_ARCHIVES="$(STATIC_LIBS)" dist/bundle-libs.sh $(STATIC)/bin $(PLUGINS)

# A Debian binary package of every plugin (dist/deb.sh; no network needed).
deb: all
	$(Q)dist/deb.sh $(BUILD) $(PLUGINS)

# The DaemonSet's installer image, built by podman from local files only.
image: static
	$(Q)dist/image.sh $(STATIC)/bin

# The package and the self-contained plugins, installed and run (tests/dist/).
dist-test: deb static $(SAN_PLUGINS)
	$(Q)CNIP_BIN=$(abspath $(BUILD)/san/bin) CNIP_BUILD=$(abspath $(BUILD)) \
		tests/run-integration.sh tests/dist/*.sh

# libFuzzer harnesses (clang), one per parser: tests/fuzz/fuzz_<name>.c with
# its corpus in tests/fuzz/corpus/<name>/. pkg/ is built once more with
# coverage and sanitizers; a harness #includes the plugin files it fuzzes (as
# wireguard-tools' fuzzers do) and may name libmnl symbols to wrap in
# tests/fuzz/fuzz_<name>.wrap, to become the kernel that answers.
# `make fuzz`: FUZZ_SECONDS each, new inputs kept in $(BUILD)/fuzz/corpus-<name>.
# `make fuzz-long`: FUZZ_EXECS executions each, summary in $(BUILD)/fuzz/long.md.
# `make fuzz-regress`: replays the kept corpus (part of `make unit` when clang is there).
FUZZ_CC ?= clang
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/bin/fuzz_%)
FUZZ_SECONDS ?= 60
FUZZ_EXECS ?= 10000000
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -Werror=incompatible-pointer-types
FUZZ_OBJS := $(PKG_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
# ASan's default quarantine (256 MiB of freed blocks held back) makes every
# allocation touch fresh pages: ten times slower on this VM. 16 MiB still
# holds thousands of inputs' worth of freed blocks for use-after-free reports.
FUZZ_ENV := ASAN_OPTIONS=quarantine_size_mb=16:$(ASAN_OPTIONS) \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:$(UBSAN_OPTIONS)
# Every input we parse is far below 1 KiB (configs, leases, one reply);
# longer ones only make each execution slower.
FUZZ_FLAGS ?= -max_len=1024

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CFLAGS) -c $< -o $@

$(BUILD)/fuzz/libcnip.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/bin/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libcnip.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CFLAGS) -Ipkg -Iplugins \
		-MF $@.d -o $@ $< $(BUILD)/fuzz/libcnip.a \
		$(shell cat tests/fuzz/fuzz_$*.wrap 2>/dev/null) $(LIBS)

-include $(wildcard $(BUILD)/fuzz/bin/*.d)

fuzz: $(FUZZ_BINS)
	$(Q)for n in $(FUZZ_NAMES); do mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		$(FUZZ_ENV) $(BUILD)/fuzz/bin/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_FLAGS) \
			$(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz-long: $(FUZZ_BINS)
	$(Q)$(FUZZ_ENV) FUZZ_FLAGS="$(FUZZ_FLAGS)" tests/fuzz/run-long.sh $(BUILD)/fuzz $(FUZZ_EXECS) $(FUZZ_NAMES)

fuzz-regress: $(FUZZ_BINS)
	$(Q)for n in $(FUZZ_NAMES); do \
		$(FUZZ_ENV) $(BUILD)/fuzz/bin/fuzz_$$n -runs=0 tests/fuzz/corpus/$$n >$(BUILD)/fuzz/regress-$$n.log 2>&1 || \
		{ echo "fuzz: the corpus of $$n crashes (see $(BUILD)/fuzz/regress-$$n.log)"; exit 1; }; done
	@echo "fuzz: $(words $(FUZZ_NAMES)) corpora replayed without a crash"

clean:
	rm -rf $(BUILD)
