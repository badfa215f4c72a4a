# tests/qemu/paging.mk - paging in the running kernel: control registers,
# info tlb against the v map, the n/w/g faults, BIOS and UEFI machines.
#
#   make qemu-paging   build the ISO, then run tests/qemu/test_paging.py
#
# Included by the top Makefile. One test by hand:
#   python3 tests/qemu/run.py test_paging -k tlb

TEST_SUITES += qemu-paging
SUITE_HELP_qemu-paging := paging on: CR0/CR4, info tlb against v, the n/w/g faults, BIOS and UEFI
.PHONY: qemu-paging

qemu-paging:
	@$(MAKE) --no-print-directory iso
	python3 tests/qemu/run.py test_paging --iso $(ISO)
