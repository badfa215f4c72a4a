# tests/gdb/gdb.mk - the GDB commands of scripts/gdb/shompos.py against a
# running kernel: the ISO booted in QEMU with its GDB stub, GDB in batch mode
# (and page runs on tests/gdb/heap_host.c: the real heap.c and slab.c built for
# the host with HOST_CC and stopped in GDB).
#
#   make qemu-gdb   build the ISO, then run tests/gdb/test_gdb.py
#
# Included by the top Makefile. One test by hand:
#   PYTHONPATH=tests/gdb python3 tests/qemu/run.py test_gdb -k block

# GDB reads iso/boot/shompos.elf, the copy of the kernel that went into the ISO:
# `make iso` keeps an ISO built by the other toolchain, and its symbols would not match.
TEST_SUITES += qemu-gdb
SUITE_HELP_qemu-gdb := scripts/gdb/shompos.py against a stopped kernel: free lists, blocks, slabs, walks, page tables, stats
.PHONY: qemu-gdb

qemu-gdb: check-tools
	@$(MAKE) --no-print-directory iso
	SHOMPOS_ELF=iso/boot/shompos.elf GDB=$(GDB) HOST_CC=$(HOST_CC) PYTHONPATH=tests/gdb python3 tests/qemu/run.py test_gdb --iso $(ISO)
