# tests/heap/unit.mk - the heap's host unit tests, and line coverage of heap.c.
#
#   make heap-unit   build build/host/heap_unit (ASan + UBSan) and run it
#   make coverage    run the coverage-instrumented host tests and print heap.c's
#                    line coverage; the uncovered lines go to build/host/coverage/
#
# Included by the top Makefile. Another fragment (tests/heap/stress.mk) may add
# programs built with $(COVERAGE_FLAGS) to COVERAGE_RUNS, with a rule to build
# each; `make coverage` runs each one with no arguments and needs it to exit 0.

COVERAGE_CC   ?= clang
LLVM_PROFDATA ?= $(firstword $(shell command -v llvm-profdata llvm-profdata-14 2>/dev/null) \
                   llvm-profdata)
LLVM_COV      ?= $(firstword $(shell command -v llvm-cov llvm-cov-14 2>/dev/null) llvm-cov)

HEAP_UNIT_SOURCES := src/memory/heap.c tests/heap/unit.c tests/heap/unit_pages.c \
                     tests/heap/unit_check.c tests/lib/check.c
HEAP_UNIT_DEPS    := $(HEAP_UNIT_SOURCES) inc/memory/heap.h tests/heap/check.h tests/lib/check.h
COVERAGE_FLAGS    := -std=c11 -Wall -Wextra -Werror -g -O0 -Iinc \
                     -fprofile-instr-generate -fcoverage-mapping
COVERAGE_DIR      := $(BUILD)/host/coverage
COVERAGE_RUNS     += $(BUILD)/host/heap_unit-cov

# llvm-cov takes the first program plainly and every other one after -object.
COVERAGE_PROGRAMS  = $(firstword $(COVERAGE_RUNS)) \
                     $(addprefix -object ,$(wordlist 2,$(words $(COVERAGE_RUNS)),$(COVERAGE_RUNS)))
COVERAGE_PROFILE   = -instr-profile=$(COVERAGE_DIR)/heap.profdata

TEST_SUITES += heap-unit
.PHONY: heap-unit coverage coverage-programs

$(BUILD)/host/heap_unit: $(HEAP_UNIT_DEPS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_FLAGS) $(HOST_SANITIZE) $(HEAP_UNIT_SOURCES) -o $@

heap-unit: $(BUILD)/host/heap_unit
	$(BUILD)/host/heap_unit

$(BUILD)/host/heap_unit-cov: $(HEAP_UNIT_DEPS)
	@mkdir -p $(@D)
	$(COVERAGE_CC) $(COVERAGE_FLAGS) $(HEAP_UNIT_SOURCES) -o $@

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
	@$(LLVM_COV) report $(COVERAGE_PROGRAMS) $(COVERAGE_PROFILE) src/memory/heap.c \
	  | tee $(COVERAGE_DIR)/report.txt
	@$(LLVM_COV) show $(COVERAGE_PROGRAMS) $(COVERAGE_PROFILE) src/memory/heap.c \
	  > $(COVERAGE_DIR)/heap.c.txt
	@grep -E '^ *[0-9]+\| +0\|' $(COVERAGE_DIR)/heap.c.txt > $(COVERAGE_DIR)/uncovered.txt || true
	@awk '/^TOTAL/ { print "heap.c line coverage: " $$10 " (" $$8 - $$9 " of " $$8 " lines)" }' \
	  $(COVERAGE_DIR)/report.txt
	@echo "uncovered lines ($$(wc -l < $(COVERAGE_DIR)/uncovered.txt)): $(COVERAGE_DIR)/uncovered.txt"
