# tests/slab/slab.mk - host tests of src/memory/slab.c on top of the real heap.
#
#   make slab-unit          build build/host/slab_unit (ASan + UBSan) and run it
#   make slab-differential  a million random cache and kmalloc operations checked by a model
#   make slab-fuzz          replay tests/slab/corpus, then a bounded fuzzing session
#   make fuzz-slab          the slab fuzzer until stopped (Ctrl-C)
#
# Included by the top Makefile (HOST_CC, HOST_FLAGS, HOST_SANITIZE and the
# host_program recipe come from there). Coverage builds of both programs join
# unit.mk's COVERAGE_RUNS, so `make coverage` reports slab.c beside heap.c.

SLAB_SOURCES := src/memory/slab.c src/memory/heap.c

SLAB_UNIT_SOURCES := $(SLAB_SOURCES) tests/slab/unit.c tests/lib/check.c
SLAB_UNIT_CC       = $(HOST_CC)
SLAB_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,slab_unit,SLAB_UNIT))

SLAB_DIFFERENTIAL_SOURCES := $(SLAB_SOURCES) tests/slab/model.c tests/slab/differential.c
SLAB_DIFFERENTIAL_CC       = $(HOST_CC)
SLAB_DIFFERENTIAL_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,slab_differential,SLAB_DIFFERENTIAL))

TEST_SUITES += slab-unit slab-differential
SUITE_HELP_slab-unit := every behaviour of slab.c: alignment, constructors, refusals, lists, shrink, destroy (host, ASan, UBSan)
SUITE_HELP_slab-differential := a million random operations on many caches mixed with kmalloc, checked by a model (ASan, UBSan)
.PHONY: slab-unit slab-differential

slab-unit: $(HOST_DIR)/slab_unit
	$(HOST_DIR)/slab_unit

slab-differential: $(HOST_DIR)/slab_differential
	$(HOST_DIR)/slab_differential

# For make coverage (unit.mk): no sanitizers; the differential test runs a tenth of its operations.
SLAB_UNIT_COV_SOURCES = $(SLAB_UNIT_SOURCES)
SLAB_UNIT_COV_CC      = $(COVERAGE_CC)
SLAB_UNIT_COV_FLAGS   = $(COVERAGE_FLAGS)
$(eval $(call host_program,slab_unit-cov,SLAB_UNIT_COV))

SLAB_DIFFERENTIAL_COV_SOURCES = $(SLAB_DIFFERENTIAL_SOURCES)
SLAB_DIFFERENTIAL_COV_CC      = $(COVERAGE_CC)
SLAB_DIFFERENTIAL_COV_FLAGS   = $(COVERAGE_FLAGS) -DOPERATIONS_PERCENT=10
$(eval $(call host_program,slab_differential-cov,SLAB_DIFFERENTIAL_COV))

COVERAGE_RUNS    += $(HOST_DIR)/slab_unit-cov $(HOST_DIR)/slab_differential-cov
COVERAGE_SOURCES += src/memory/slab.c

# ---- the fuzzer: the model's operations decoded from bytes (clang, libFuzzer) ----------
SLAB_FUZZ_SOURCES := $(SLAB_SOURCES) tests/slab/model.c tests/slab/fuzz.c
SLAB_FUZZ_CC       = $(FUZZ_CC)
SLAB_FUZZ_FLAGS    = $(HOST_FLAGS) -fsanitize=fuzzer $(HOST_SANITIZE)
$(eval $(call host_program,slab_fuzz,SLAB_FUZZ))

TEST_SUITES += slab-fuzz
SUITE_HELP_slab-fuzz := the slab fuzzer over tests/slab/corpus, then a short bounded session
.PHONY: slab-fuzz fuzz-slab

slab-fuzz: $(HOST_DIR)/slab_fuzz
	@mkdir -p $(HOST_DIR)/fuzz-artifacts
	@scripts/fuzz-suite.sh $(HOST_DIR)/slab_fuzz tests/slab/corpus $(HOST_DIR)/slab-fuzz \
	  "$(FUZZ_OPTIONS)" "$(FUZZ_SESSION)"

# Until stopped (Ctrl-C); new inputs go to build/host/slab-fuzz-corpus.
fuzz-slab: $(HOST_DIR)/slab_fuzz
	@mkdir -p $(HOST_DIR)/slab-fuzz-corpus $(HOST_DIR)/fuzz-artifacts
	$(HOST_DIR)/slab_fuzz $(FUZZ_OPTIONS) -print_final_stats=1 $(HOST_DIR)/slab-fuzz-corpus \
	  tests/slab/corpus
