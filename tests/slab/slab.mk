# tests/slab/slab.mk - host tests of src/memory/slab.c on top of the real heap.
#
#   make slab-unit          build build/host/slab_unit (ASan + UBSan) and run it
#   make slab-differential  a million random cache and kmalloc operations checked by a model
#
# Included by the top Makefile (HOST_CC, HOST_FLAGS and HOST_SANITIZE come from
# there). Coverage builds of both programs join unit.mk's COVERAGE_RUNS, so
# `make coverage` reports slab.c's line coverage beside heap.c's.

SLAB_HOST_DIR := $(BUILD)/host
SLAB_SOURCES  := src/memory/slab.c src/memory/heap.c
SLAB_DEPS     := $(SLAB_SOURCES) inc/memory/slab.h inc/memory/heap.h

SLAB_UNIT_SOURCES := $(SLAB_SOURCES) tests/slab/unit.c tests/lib/check.c
SLAB_UNIT_DEPS    := $(SLAB_UNIT_SOURCES) $(SLAB_DEPS) tests/lib/check.h
SLAB_DIFF_SOURCES := $(SLAB_SOURCES) tests/slab/model.c tests/slab/differential.c
SLAB_DIFF_DEPS    := $(SLAB_DIFF_SOURCES) $(SLAB_DEPS) tests/slab/model.h

TEST_SUITES += slab-unit slab-differential
.PHONY: slab-unit slab-differential

$(SLAB_HOST_DIR)/slab_unit: $(SLAB_UNIT_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_FLAGS) $(HOST_SANITIZE) $(SLAB_UNIT_SOURCES) -o $@

slab-unit: $(SLAB_HOST_DIR)/slab_unit
	$(SLAB_HOST_DIR)/slab_unit

$(SLAB_HOST_DIR)/slab_differential: $(SLAB_DIFF_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_FLAGS) $(HOST_SANITIZE) $(SLAB_DIFF_SOURCES) -o $@

slab-differential: $(SLAB_HOST_DIR)/slab_differential
	$(SLAB_HOST_DIR)/slab_differential

# For make coverage (unit.mk): no sanitizers; the differential test runs a tenth of its operations.
$(SLAB_HOST_DIR)/slab_unit-cov: $(SLAB_UNIT_DEPS)
	@mkdir -p $(@D)
	$(COVERAGE_CC) $(COVERAGE_FLAGS) $(SLAB_UNIT_SOURCES) -o $@

$(SLAB_HOST_DIR)/slab_differential-cov: $(SLAB_DIFF_DEPS)
	@mkdir -p $(@D)
	$(COVERAGE_CC) $(COVERAGE_FLAGS) -DOPERATIONS_PERCENT=10 $(SLAB_DIFF_SOURCES) -o $@

COVERAGE_RUNS    += $(SLAB_HOST_DIR)/slab_unit-cov $(SLAB_HOST_DIR)/slab_differential-cov
COVERAGE_SOURCES += src/memory/slab.c
