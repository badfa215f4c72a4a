# ShompOS - build the kernel, the ISO, run it in QEMU, test it.
#
#   make run        build and boot in QEMU (installs what is missing)
#   make test       every test suite; ends with "N passed, N failed"
#   make help       every target, variable and test suite
#
# Every target that compiles checks the tools first (check-tools): what is
# missing is installed, or a box says what to install.
#
# Toolchain: TOOLCHAIN=gcc (i686-elf-gcc, else Debian's i686-linux-gnu-gcc)
# or TOOLCHAIN=clang (clang --target=i686-elf with ld.lld). Default: the
# first that is installed, GCC first.

BUILD     ?= build
QEMU      ?= qemu-system-i386
MEMORY    ?= 128
GDB       ?= gdb

# ---- toolchain ---------------------------------------------------------------
ifeq ($(origin TOOLCHAIN), undefined)
  ifneq ($(shell command -v i686-elf-gcc 2>/dev/null),)
    TOOLCHAIN := gcc
  else ifneq ($(shell command -v i686-linux-gnu-gcc 2>/dev/null),)
    TOOLCHAIN := gcc
  else ifneq ($(shell command -v clang 2>/dev/null),)
    TOOLCHAIN := clang
  else
    TOOLCHAIN := gcc
  endif
endif

ifeq ($(TOOLCHAIN),gcc)
  CROSS := $(if $(shell command -v i686-elf-gcc 2>/dev/null),i686-elf-,i686-linux-gnu-)
  KCC   := $(CROSS)gcc
  LIBGCC = $(shell $(KCC) -print-libgcc-file-name)
  LINK   = $(KCC) -T linker.ld -nostdlib -static -no-pie -Wl,--build-id=none -o $@ $(filter %.o,$^) $(LIBGCC)
  # Stop GCC turning the loops of lib/string.c into calls to themselves.
  KFLAGS_TOOLCHAIN := -fno-tree-loop-distribute-patterns
else ifeq ($(TOOLCHAIN),clang)
  KCC   := clang --target=i686-elf
  # Clang has no libgcc of its own for i686-elf: borrow GCC's, or compiler-rt's builtins.
  LIBGCC = $(firstword $(shell i686-linux-gnu-gcc -print-libgcc-file-name 2>/dev/null) \
             $(wildcard /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.builtins-i386.a))
  LINK   = ld.lld -m elf_i386 -T linker.ld --build-id=none -o $@ $(filter %.o,$^) $(LIBGCC)
else
  $(error TOOLCHAIN must be gcc or clang, not '$(TOOLCHAIN)')
endif

# Defaults a user may override, then the flags a freestanding kernel needs.
CFLAGS  ?= -O2 -g
KFLAGS  := $(CFLAGS) -std=c11 -Wall -Wextra -Werror -Iinc \
           -ffreestanding -nostdlib -fno-pic -fno-pie -fno-stack-protector \
           -fcf-protection=none -fno-asynchronous-unwind-tables \
           -mno-sse -mno-sse2 -mno-mmx -mno-80387 -MMD -MP $(KFLAGS_TOOLCHAIN)
ASFLAGS := -Iinc -fno-pic -fno-pie -MMD -MP

OBJ     := $(BUILD)/$(TOOLCHAIN)
KERNEL  := $(OBJ)/shompos.elf
ISO     := $(BUILD)/shompos.iso

C_SOURCES   := $(shell find src -name '*.c' | sort)
ASM_SOURCES := $(shell find boot -name '*.S' | sort)
OBJECTS     := $(ASM_SOURCES:%.S=$(OBJ)/%.o) $(C_SOURCES:%.c=$(OBJ)/%.o)

.PHONY: all kernel iso run run-nox debug test clean deps check-tools check-layers help
.DEFAULT_GOAL := all

all: iso

# ---- help --------------------------------------------------------------------------
# The suites come from TEST_SUITES, each described by the SUITE_HELP_<suite>
# its fragment sets, so the list cannot drift from what make test runs.
help:
	@echo "Targets:"
	@echo "  make, make all     build the kernel and the ISO ($(ISO))"
	@echo "  make kernel        build the kernel only ($(KERNEL))"
	@echo "  make iso           the ISO: one image that boots on BIOS and 32/64-bit UEFI"
	@echo "  make run           boot the ISO in QEMU (a window, or the terminal without a display)"
	@echo "  make run-nox       boot in this terminal (QEMU curses display; Alt-2, then quit, to leave)"
	@echo "  make debug         boot paused and attach GDB with the kernel symbols"
	@echo "  make test          every test suite below; the last line reads N passed, N failed"
	@echo "  make bench         heap benchmark against glibc malloc (figures, no pass/fail)"
	@echo "  make fuzz          run the heap fuzzer until stopped (Ctrl-C)"
	@echo "  make fuzz-slab     run the slab fuzzer until stopped (Ctrl-C)"
	@echo "  make coverage      line coverage of src/memory/heap.c by the host tests"
	@echo "  make screenshots   pictures of the running demo into docs/"
	@echo "  make deps          install the build and test tools (Debian/Ubuntu, apt-get)"
	@echo "  make check-tools   install them only if one is missing (every build does this)"
	@echo "  make clean         remove $(BUILD)/"
	@echo "  make help          this list"
	@echo "Test suites (make test runs them in this order; make SUITE runs one):"
	@$(foreach suite,$(TEST_SUITES),printf '  make %-18s %s\n' '$(suite)' \
	  '$(or $(SUITE_HELP_$(suite)),(no description: set SUITE_HELP_$(suite)))';)
	@echo "  one QEMU test by name: python3 tests/qemu/run.py test_demo -k panel"
	@echo "Variables (make VARIABLE=value TARGET):"
	@echo "  TOOLCHAIN=gcc|clang  the kernel compiler (now $(TOOLCHAIN))"
	@echo "  MEMORY=MiB           guest RAM for run, run-nox and debug (now $(MEMORY))"
	@echo "  CFLAGS=...           the kernel optimisation and debug flags (now $(CFLAGS))"
	@echo "  BUILD=dir            where everything is built (now $(BUILD))"
	@echo "  QEMU=, GDB=          the emulator and debugger (now $(QEMU), $(GDB))"
	@echo "  HOST_CC=             compiler of the host tests (now $(HOST_CC))"
	@echo "  FUZZ_CC=, COVERAGE_CC=  compilers of the fuzzer and the coverage build (now $(FUZZ_CC), $(COVERAGE_CC))"
	@echo "  FUZZ_MAX_LEN=, FUZZ_SESSION=  the fuzzer input limit and the bounded session of heap-fuzz"
	@echo "  SHOMPOS_SEED=n       (environment) seed of the random-key QEMU tests"

# ---- the kernel ----------------------------------------------------------------
kernel: $(KERNEL)

$(OBJ)/%.o: %.c | check-tools
	@mkdir -p $(@D)
	$(KCC) $(KFLAGS) -c $< -o $@

$(OBJ)/%.o: %.S | check-tools
	@mkdir -p $(@D)
	$(KCC) $(ASFLAGS) -c $< -o $@

$(KERNEL): $(OBJECTS) linker.ld | check-tools
	$(LINK)
	@grub-file --is-x86-multiboot $@ || { echo "$@ is not a Multiboot kernel" >&2; rm -f $@; exit 1; }

# ---- the ISO: one image for BIOS and 32/64-bit UEFI --------------------------------
iso: $(ISO)

# The ISO holds one toolchain's kernel; a stamp names it, so that asking for
# the other toolchain (make run, make debug) rebuilds the ISO instead of
# booting the kernel built before, or handing GDB symbols that do not match.
ISO_HOLDS := $(BUILD)/iso-holds-$(TOOLCHAIN)

$(ISO_HOLDS):
	@mkdir -p $(@D)
	rm -f $(BUILD)/iso-holds-*
	touch $@

$(ISO): $(KERNEL) iso/boot/grub/grub.cfg $(ISO_HOLDS) | check-tools
	cp $(KERNEL) iso/boot/shompos.elf
	grub-mkrescue -o $@ iso 2>$(BUILD)/grub-mkrescue.log || { cat $(BUILD)/grub-mkrescue.log >&2; exit 1; }

# ---- running -------------------------------------------------------------------
QEMU_FLAGS := -cdrom $(ISO) -m $(MEMORY) -serial stdio -no-reboot \
              -device isa-debug-exit,iobase=0xf4,iosize=0x04

# A window where there is a display (and QEMU has its GUI), else the terminal.
ifneq ($(DISPLAY)$(WAYLAND_DISPLAY),)
  RUN_DISPLAY := $(if $(wildcard /usr/lib/*/qemu/ui-gtk.so /usr/lib/*/qemu/ui-sdl.so),,-display curses)
else
  RUN_DISPLAY := -display curses
endif

run: check-tools
	@$(MAKE) --no-print-directory iso
	$(QEMU) $(subst -serial stdio,-serial file:$(BUILD)/serial.log,$(QEMU_FLAGS)) $(RUN_DISPLAY); \
	  status=$$?; [ $$status -eq 0 ] || [ $$status -eq 33 ] || [ $$status -eq 35 ]

run-nox: check-tools
	@$(MAKE) --no-print-directory iso
	$(QEMU) $(subst -serial stdio,-serial file:$(BUILD)/serial.log,$(QEMU_FLAGS)) -display curses

# GDB loads scripts/gdb/shompos.py, which prints one line listing its shomp-* commands.
debug: check-tools
	@$(MAKE) --no-print-directory iso
	$(QEMU) $(subst -serial stdio,-serial file:$(BUILD)/serial.log,$(QEMU_FLAGS)) -display none -s -S & \
	  qemu=$$!; \
	  $(GDB) -q $(KERNEL) -ex 'source scripts/gdb/shompos.py' -ex 'target remote :1234' \
	    -ex 'break kernel_main' -ex 'continue'; \
	  kill $$qemu 2>/dev/null; true

# ---- tools ---------------------------------------------------------------------
deps:
	scripts/install-deps.sh

check-tools:
	@scripts/install-deps.sh --if-missing

# ---- host test programs -------------------------------------------------------------
# Kernel C compiled for this machine by the host tests, with AddressSanitizer
# and UndefinedBehaviorSanitizer stopping at the first error; the fuzzer and
# the coverage build need clang.
HOST_CC       ?= cc
FUZZ_CC       ?= clang
COVERAGE_CC   ?= clang
HOST_FLAGS    := -std=c11 -Wall -Wextra -Werror -g -O1 -Iinc
HOST_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
HOST_DIR      := $(BUILD)/host

# $(call host_program,PROGRAM,P) is the one recipe of every host test program:
# $(HOST_DIR)/PROGRAM from the sources in $(P_SOURCES), compiled one object
# each with $(P_CC) $(P_FLAGS) and their header dependencies (-MMD -MP, as
# the kernel's objects), then linked with $(P_LDFLAGS) added. A fragment
# sets the four variables and writes $(eval $(call host_program,PROGRAM,P)).
define host_program
$(HOST_DIR)/$(1): $$($(2)_SOURCES:%.c=$(HOST_DIR)/$(1).objects/%.o)
	$$($(2)_CC) $$($(2)_FLAGS) $$($(2)_LDFLAGS) $$^ -o $$@

$(HOST_DIR)/$(1).objects/%.o: %.c | check-tools
	@mkdir -p $$(@D)
	$$($(2)_CC) $$($(2)_FLAGS) -MMD -MP -c $$< -o $$@

-include $$($(2)_SOURCES:%.c=$(HOST_DIR)/$(1).objects/%.d)
endef

# ---- tests ---------------------------------------------------------------------
# Each tests/*/*.mk adds make targets to TEST_SUITES, and a SUITE_HELP_<suite>
# line for make help; each suite ends with a line "N passed, N failed", and
# scripts/run-tests.sh adds them up.
TEST_SUITES := check-layers
SUITE_HELP_check-layers := includes go only downwards in the layer order, no cycles (scripts/check-layers.py)

# Includes go only downwards: lib < boot < cpu < drivers < console < memory
# < selftest < demo < kernel.c (scripts/check-layers.py).
check-layers:
	@python3 scripts/check-layers.py

-include $(sort $(wildcard tests/*/*.mk))

test: check-tools
	@scripts/run-tests.sh $(TEST_SUITES)

clean:
	rm -rf $(BUILD) iso/boot/shompos.elf

-include $(OBJECTS:.o=.d)
