# srvlab: one binary, plain GNU make. See README.md.
CC      ?= cc
OPT     ?= -O2
PREFIX  ?= /usr/local
SAN     ?=
STD      = -std=c11 -D_GNU_SOURCE
WARN     = -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS  += $(STD) $(OPT) -g $(WARN) -Isrc -MMD -MP -pthread
LDLIBS  += -lhttp_parser -lm -pthread

HAVE_URING := $(shell pkg-config --exists liburing 2>/dev/null && echo 1)
ifeq ($(HAVE_URING),1)
CFLAGS  += -DHAVE_URING $(shell pkg-config --cflags liburing)
LDLIBS  += $(shell pkg-config --libs liburing)
else
EXCLUDE += src/serve/arch_uring.c
endif

ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
BUILD   ?= build/san-$(subst $(comma),-,$(SAN))
USAN    ?= $(SAN)
endif
comma := ,
BUILD   ?= build

SRCS     := $(filter-out $(EXCLUDE),$(wildcard src/*.c src/*/*.c))
OBJS     := $(SRCS:%.c=$(BUILD)/%.o)
LIBOBJS  := $(filter-out $(BUILD)/src/main.o,$(OBJS))
TSRCS    := $(wildcard tests/unit/test_*.c)
TBINS    := $(TSRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Unit tests always run under AddressSanitizer and UBSan (STYLE.md).
USAN     ?= address,undefined
UBUILD   := $(if $(SAN),$(BUILD)/unit,build/unit)
UOBJS    := $(filter-out $(UBUILD)/src/main.o,$(SRCS:%.c=$(UBUILD)/%.o))
UBINS    := $(TSRCS:tests/unit/%.c=$(UBUILD)/tests/%)
BIN      := srvlab

Q := @
ifeq ($(V),1)
Q :=
endif

.PHONY: all deps test unit e2e demo bench install clean format asan valgrind
all: $(BIN)

# Relinked whenever the flavour (BUILD) changes, so `make` after `make SAN=...` is not sanitized.
FLAVOUR  := build/.flavour-$(subst /,_,$(BIN))
$(FLAVOUR): FORCE
	@mkdir -p build; [ "$$(cat $@ 2>/dev/null)" = "$(BUILD)" ] || echo "$(BUILD)" >$@
FORCE:

$(BIN): $(OBJS) $(FLAVOUR)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(UBUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC    $< (san)"
	$(Q)$(CC) $(CFLAGS) -fsanitize=$(USAN) -fno-omit-frame-pointer -c -o $@ $<

# Tests link against an archive, so each pulls in only the objects it uses.
$(UBUILD)/libsrvlab.a: $(UOBJS)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(UBUILD)/tests/%: $(UBUILD)/tests/unit/%.o $(UBUILD)/libsrvlab.a
	@mkdir -p $(dir $@)
	@echo "  LD    $@"
	$(Q)$(CC) -fsanitize=$(USAN) -o $@ $^ $(LDLIBS) -lcmocka

deps:
	@bash scripts/deps.sh

unit: $(UBINS)
	@bash tests/run_unit.sh $(UBINS)

e2e: $(BIN)
	@bash tests/e2e/run.sh

test: deps
	@$(MAKE) --no-print-directory $(BIN) $(UBINS)
	@SRVLAB_SAN="$(SAN)" bash tests/run_all.sh $(UBINS)

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@bash scripts/demo.sh

bench:
	@bash scripts/deps.sh --bench
	@$(MAKE) --no-print-directory $(BIN)
	@bash bench/run.sh

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/$(BIN)
	install -d $(DESTDIR)$(PREFIX)/share/doc/srvlab
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/srvlab/

asan:
	@$(MAKE) --no-print-directory SAN=address,undefined BUILD=build/asan BIN=srvlab-asan

valgrind: $(BIN)
	@SRVLAB=$(abspath $(BIN)) bash tests/valgrind.sh

format:
	clang-format -i $(SRCS) $(wildcard src/*.h src/*/*.h) $(TSRCS)

clean:
	rm -rf build $(BIN) srvlab-asan

-include $(OBJS:.o=.d) $(UOBJS:.o=.d) $(UBINS:%=%.d)

# Fuzzing (tests/fuzz): libFuzzer over the HTTP core, clang only. `make fuzz FUZZ_SECONDS=600`.
# work.c is built with its CPU spin renamed so the harness can stub it (see fuzz_conn.c).
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_SRCS    := $(wildcard src/http/*.c) src/load/hist.c
FUZZ_CFLAGS   = $(STD) -O1 -g $(WARN) -Isrc -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
.PHONY: fuzz soak
$(FUZZ_BUILD)/fuzz_conn: tests/fuzz/fuzz_conn.c $(FUZZ_SRCS) $(wildcard src/http/*.h)
	@mkdir -p $(FUZZ_BUILD)/corpus
	@echo "  FUZZ  $@"
	$(Q)clang $(FUZZ_CFLAGS) -Dwork_spin_us=work_spin_us_stubbed -c -o $(FUZZ_BUILD)/work.o \
		src/http/work.c
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_conn.c \
		$(filter-out src/http/work.c,$(FUZZ_SRCS)) $(FUZZ_BUILD)/work.o -lhttp_parser -lm -pthread

# New inputs go to build/fuzz/corpus; the seeds in tests/fuzz/corpus stay as committed.
fuzz: $(FUZZ_BUILD)/fuzz_conn
	@mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/fuzz_conn -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
		-print_final_stats=1 $(FUZZ_BUILD)/corpus tests/fuzz/corpus

# Soak (scripts/soak.sh, not part of make test): SOAK_REQUESTS=100000 for the short version.
soak: $(BIN)
	@SRVLAB=$(abspath $(BIN)) bash scripts/soak.sh
