# ShompOS - build the kernel, the ISO, run it in QEMU, test it.
#
#   make run        build and boot in QEMU (installs what is missing)
#   make test       every test suite; ends with "N passed, N failed"
#   make help       all targets
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

.PHONY: all kernel iso run run-nox debug test clean deps check-tools help
.DEFAULT_GOAL := all

all: iso

help:
	@echo "make run        boot the ISO in QEMU (a window, or the terminal without a display)"
	@echo "make run-nox    boot in this terminal (QEMU's curses display; Alt-2 then 'quit' to leave)"
	@echo "make debug      boot paused and attach GDB with the kernel's symbols"
	@echo "make test       all tests: host heap tests, QEMU boot tests; last line 'N passed, N failed'"
	@echo "make bench      heap benchmark against glibc malloc (figures, no pass/fail)"
	@echo "make fuzz       run the heap fuzzer until stopped"
	@echo "make coverage   line coverage of src/memory/heap.c"
	@echo "make screenshots  pictures of the running demo into docs/"
	@echo "make deps       install the build and test tools (Debian/Ubuntu)"
	@echo "make clean      remove build/"
	@echo "TOOLCHAIN=gcc|clang picks the compiler (now: $(TOOLCHAIN))"

# ---- the kernel ----------------------------------------------------------------
kernel: $(KERNEL)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(KCC) $(KFLAGS) -c $< -o $@

$(OBJ)/%.o: %.S
	@mkdir -p $(@D)
	$(KCC) $(ASFLAGS) -c $< -o $@

$(KERNEL): $(OBJECTS) linker.ld
	$(LINK)
	@grub-file --is-x86-multiboot $@ || { echo "$@ is not a Multiboot kernel" >&2; rm -f $@; exit 1; }

# ---- the ISO: one image for BIOS and 32/64-bit UEFI --------------------------------
iso: $(ISO)

$(ISO): $(KERNEL) iso/boot/grub/grub.cfg
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

# ---- tests ---------------------------------------------------------------------
# Each tests/*/*.mk adds make targets to TEST_SUITES; each suite ends with
# a line "N passed, N failed", and scripts/run-tests.sh adds them up.
TEST_SUITES :=

# Kernel C compiled for this machine by the host tests, with AddressSanitizer
# and UndefinedBehaviorSanitizer stopping at the first error.
HOST_CC       ?= cc
HOST_FLAGS    := -std=c11 -Wall -Wextra -Werror -g -O1 -Iinc
HOST_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

-include $(sort $(wildcard tests/*/*.mk))

test: check-tools
	@scripts/run-tests.sh $(TEST_SUITES)

clean:
	rm -rf $(BUILD) iso/boot/shompos.elf

-include $(OBJECTS:.o=.d)
