# tests/heap/unit.mk - the heap's host unit tests, and line coverage of heap.c.
#
#   make heap-unit   build build/host/heap_unit (ASan + UBSan) and run it
#   make coverage    run the coverage-instrumented host tests and print the line
#                    coverage of heap.c and every file in COVERAGE_SOURCES; the
#                    uncovered lines go to build/host/coverage/
#
# Included by the top Makefile. Other fragments (tests/heap/stress.mk,
# tests/slab/slab.mk) may add programs built with $(COVERAGE_FLAGS) to
# COVERAGE_RUNS, with a rule to build each, and sources to COVERAGE_SOURCES;
# `make coverage` runs each program with no arguments and needs it to exit 0.

LLVM_PROFDATA ?= $(firstword $(shell command -v llvm-profdata llvm-profdata-14 2>/dev/null) \
                   llvm-profdata)
LLVM_COV      ?= $(firstword $(shell command -v llvm-cov llvm-cov-14 2>/dev/null) llvm-cov)

HEAP_UNIT_SOURCES := src/memory/heap.c tests/heap/unit.c tests/heap/unit_pages.c \
                     tests/heap/unit_check.c tests/heap/unit_debug.c tests/lib/check.c
HEAP_UNIT_CC       = $(HOST_CC)
HEAP_UNIT_FLAGS    = $(HOST_FLAGS) $(HOST_SANITIZE)
$(eval $(call host_program,heap_unit,HEAP_UNIT))

COVERAGE_FLAGS    := -std=c11 -Wall -Wextra -Werror -g -O0 -Iinc \
                     -fprofile-instr-generate -fcoverage-mapping
COVERAGE_DIR      := $(HOST_DIR)/coverage
COVERAGE_RUNS     += $(HOST_DIR)/heap_unit-cov

HEAP_UNIT_COV_SOURCES = $(HEAP_UNIT_SOURCES)
HEAP_UNIT_COV_CC      = $(COVERAGE_CC)
HEAP_UNIT_COV_FLAGS   = $(COVERAGE_FLAGS)
$(eval $(call host_program,heap_unit-cov,HEAP_UNIT_COV))
COVERAGE_SOURCES  += src/memory/heap.c

# llvm-cov takes the first program plainly and every other one after -object.
COVERAGE_PROGRAMS  = $(firstword $(COVERAGE_RUNS)) \
                     $(addprefix -object ,$(wordlist 2,$(words $(COVERAGE_RUNS)),$(COVERAGE_RUNS)))
COVERAGE_PROFILE   = -instr-profile=$(COVERAGE_DIR)/heap.profdata

TEST_SUITES += heap-unit
SUITE_HELP_heap-unit := every behaviour of heap.c: splits, merges, refused frees, regions (host, ASan, UBSan)
.PHONY: heap-unit coverage coverage-programs

heap-unit: $(HOST_DIR)/heap_unit
	$(HOST_DIR)/heap_unit

# A recipe, not a prerequisite list: it sees programs added by fragments included later.
coverage-programs:
	@$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) $(COVERAGE_RUNS)

coverage: coverage-programs
	@rm -rf $(COVERAGE_DIR) && mkdir -p $(COVERAGE_DIR)
	@n=0; for run in $(COVERAGE_RUNS); do n=$$((n + 1)); echo "coverage: running $$run"; \
	  LLVM_PROFILE_FILE=$(COVERAGE_DIR)/run$$n.profraw $$run > $(COVERAGE_DIR)/run$$n.log 2>&1 \
	    || { tail -n 20 $(COVERAGE_DIR)/run$$n.log; echo "coverage: $$run failed"; exit 1; }; \
	done
	@$(LLVM_PROFDATA) merge -sparse $(COVERAGE_DIR)/*.profraw -o $(COVERAGE_DIR)/heap.profdata
	@$(LLVM_COV) report $(COVERAGE_PROGRAMS) $(COVERAGE_PROFILE) $(COVERAGE_SOURCES) \
	  | tee $(COVERAGE_DIR)/report.txt
	@rm -f $(COVERAGE_DIR)/uncovered.txt; for source in $(COVERAGE_SOURCES); do \
	  file=$$(basename $$source); \
	  $(LLVM_COV) show $(COVERAGE_PROGRAMS) $(COVERAGE_PROFILE) $$source > $(COVERAGE_DIR)/$$file.txt; \
	  grep -E '^ *[0-9]+\| +0\|' $(COVERAGE_DIR)/$$file.txt | sed "s|^|$$file:|" \
	    >> $(COVERAGE_DIR)/uncovered.txt; \
	done; true
	@awk '$$1 ~ /\.c$$/ { n = split($$1, path, "/"); \
	  print path[n] " line coverage: " $$10 " (" $$8 - $$9 " of " $$8 " lines)" }' \
	  $(COVERAGE_DIR)/report.txt
	@echo "uncovered lines ($$(wc -l < $(COVERAGE_DIR)/uncovered.txt)): $(COVERAGE_DIR)/uncovered.txt"
