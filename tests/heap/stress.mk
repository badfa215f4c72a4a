# tests/heap/stress.mk - the heap's randomized tests, its fuzzer and its benchmark.
#
#   make heap-differential  a million random operations checked against a reference model
#   make heap-fuzz          replay tests/heap/corpus, then a bounded fuzzing session
#   make fuzz               fuzz until stopped (Ctrl-C); new inputs go to build/host/fuzz-corpus
#   make bench              kmalloc against glibc malloc: figures, never a failure
#
# Included by the top Makefile. The differential test and the fuzzer share the
# model in tests/heap/model.c; both run under AddressSanitizer and UBSan. A
# coverage build of the differential test joins unit.mk's COVERAGE_RUNS.

MODEL_SOURCES := src/memory/heap.c tests/heap/model.c
BENCH_FLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -Iinc

# Inputs of at most FUZZ_MAX_LEN bytes; crashing inputs are saved under fuzz-artifacts/.
FUZZ_MAX_LEN  ?= 512
FUZZ_OPTIONS   = -max_len=$(FUZZ_MAX_LEN) -artifact_prefix=$(HOST_DIR)/fuzz-artifacts/
# make test's session: whichever limit comes first, from a fixed seed and a fresh corpus.
FUZZ_SESSION  ?= -seed=1 -runs=50000 -max_total_time=20

TEST_SUITES += heap-differential heap-fuzz
SUITE_HELP_heap-differential := a million random operations against a reference model, several seeds (ASan, UBSan)
SUITE_HELP_heap-fuzz := the libFuzzer target over its saved corpus, then a short bounded session
.PHONY: heap-differential heap-fuzz fuzz bench

# ---- the differential test ----------------------------------------------------------
HEAP_DIFFERENTIAL_SOURCES := $(MODEL_SOURCES) src/memory/leak.c tests/heap/differential.c
HEAP_DIFFERENTIAL_CC       = $(HOST_CC)
HEAP_DIFFERENTIAL_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,heap_differential,HEAP_DIFFERENTIAL))

heap-differential: $(HOST_DIR)/heap_differential
	$(HOST_DIR)/heap_differential

# For make coverage (unit.mk): no sanitizers, a tenth of the operations.
HEAP_DIFFERENTIAL_COV_SOURCES = $(HEAP_DIFFERENTIAL_SOURCES)
HEAP_DIFFERENTIAL_COV_CC      = $(COVERAGE_CC)
HEAP_DIFFERENTIAL_COV_FLAGS   = $(COVERAGE_FLAGS) -DOPERATIONS_PERCENT=10
$(eval $(call host_program,heap_differential-cov,HEAP_DIFFERENTIAL_COV))

COVERAGE_RUNS += $(HOST_DIR)/heap_differential-cov

# ---- the fuzzer ---------------------------------------------------------------------
# The ignorelist keeps libFuzzer's compare tracing out of the loops that read
# poison word by word (every word would be a callback: debug mode's checks
# would take all the time).
HEAP_FUZZ_SOURCES := $(MODEL_SOURCES) tests/heap/fuzz.c
HEAP_FUZZ_CC       = $(FUZZ_CC)
HEAP_FUZZ_FLAGS    = $(HOST_FLAGS) -fsanitize=fuzzer $(HOST_SANITIZE) \
                     -fsanitize-coverage-ignorelist=tests/heap/fuzz-ignorelist.txt
$(eval $(call host_program,heap_fuzz,HEAP_FUZZ))

fuzz: $(HOST_DIR)/heap_fuzz
	@mkdir -p $(HOST_DIR)/fuzz-corpus $(HOST_DIR)/fuzz-artifacts
	$(HOST_DIR)/heap_fuzz $(FUZZ_OPTIONS) -print_final_stats=1 $(HOST_DIR)/fuzz-corpus \
	  tests/heap/corpus

# Two checks: every saved input replays cleanly; a short session finds nothing.
heap-fuzz: $(HOST_DIR)/heap_fuzz
	@mkdir -p $(HOST_DIR)/fuzz-artifacts
	@scripts/fuzz-suite.sh $(HOST_DIR)/heap_fuzz tests/heap/corpus $(HOST_DIR)/heap-fuzz \
	  "$(FUZZ_OPTIONS)" "$(FUZZ_SESSION)"

# ---- the benchmark: -O2, no sanitizers --------------------------------------------------
# It times every workload, then runs itself under valgrind's callgrind for the
# instruction counts (valgrind comes from scripts/install-deps.sh, hence check-tools).
BENCH_SOURCES := src/memory/heap.c src/memory/slab.c tests/heap/bench.c \
                 tests/heap/bench_callgrind.c

$(HOST_DIR)/heap_bench: $(BENCH_SOURCES) inc/memory/heap.h inc/memory/slab.h \
                        tests/heap/bench_callgrind.h \
                        | check-tools
	@mkdir -p $(@D)
	$(HOST_CC) $(BENCH_FLAGS) $(BENCH_SOURCES) -o $@

bench: $(HOST_DIR)/heap_bench
	$(HOST_DIR)/heap_bench
