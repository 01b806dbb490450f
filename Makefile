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
UBUILD   := build/unit
UOBJS    := $(filter-out $(UBUILD)/src/main.o,$(SRCS:%.c=$(UBUILD)/%.o))
UBINS    := $(TSRCS:tests/unit/%.c=$(UBUILD)/tests/%)
BIN      := srvlab

Q := @
ifeq ($(V),1)
Q :=
endif

.PHONY: all deps test unit e2e demo bench install clean format asan valgrind
all: $(BIN)

$(BIN): $(OBJS)
	@echo "  LD    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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
	@bash tests/run_all.sh $(UBINS)

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	@bash scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory $(BIN)
	@bash bench/run.sh

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/$(BIN)
	install -d $(DESTDIR)$(PREFIX)/share/doc/srvlab
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/srvlab/

asan:
	@$(MAKE) --no-print-directory SAN=address,undefined BUILD=build/asan BIN=srvlab-asan

valgrind: $(BIN)
	@bash tests/valgrind.sh

format:
	clang-format -i $(SRCS) $(wildcard src/*.h src/*/*.h) $(TSRCS)

clean:
	rm -rf build $(BIN) srvlab-asan

-include $(OBJS:.o=.d) $(UOBJS:.o=.d) $(UBINS:%=%.d)
