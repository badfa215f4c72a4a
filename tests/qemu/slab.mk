# tests/qemu/slab.mk - the slab keys (k, j, x, d) in the running kernel.
#
#   make qemu-slab   build the ISO, then run tests/qemu/test_slab.py
#
# Included by the top Makefile. One test by hand:
#   python3 tests/qemu/run.py test_slab -k panel

TEST_SUITES += qemu-slab
SUITE_HELP_qemu-slab := the slab keys k, j, x, d against the slab rules, the heap back to boot, the slab panel
.PHONY: qemu-slab

qemu-slab:
	@$(MAKE) --no-print-directory iso
	python3 tests/qemu/run.py test_slab --iso $(ISO)
