#!/usr/bin/env bash
# install-deps.sh - install what ShompOS needs to build, run and test.
#
#   scripts/install-deps.sh              install every package (Debian/Ubuntu, apt-get)
#   scripts/install-deps.sh --if-missing only when a needed tool is missing
#
# As root it runs apt-get directly, otherwise through sudo. On other systems
# it prints a box listing the tools to install by hand.
set -u

PACKAGES=(
    make python3 gdb
    gcc-i686-linux-gnu binutils-i686-linux-gnu      # the GCC cross toolchain
    clang lld llvm libclang-rt-14-dev               # clang kernel build, fuzzer, coverage
    grub-common grub-pc-bin grub-efi-amd64-bin grub-efi-ia32-bin xorriso mtools  # the ISO
    qemu-system-x86 ovmf ovmf-ia32                  # running it, under BIOS and 64/32-bit UEFI
    valgrind                                        # make bench's instruction counts (callgrind)
)

# tool-or-file : what provides it (for the box on non-Debian systems)
NEEDED=(
    "make:make" "python3:python3" "gdb:gdb" "i686-linux-gnu-gcc|i686-elf-gcc:an i686 cross GCC"
    "clang:clang" "ld.lld:lld" "llvm-cov:llvm" "llvm-profdata:llvm"
    "grub-mkrescue:grub-common" "grub-file:grub-common" "xorriso:xorriso" "mformat:mtools"
    "/usr/lib/grub/i386-pc:grub-pc-bin" "/usr/lib/grub/x86_64-efi:grub-efi-amd64-bin"
    "/usr/lib/grub/i386-efi:grub-efi-ia32-bin"
    "qemu-system-i386:qemu-system-x86" "qemu-system-x86_64:qemu-system-x86"
    "/usr/share/ovmf/OVMF.fd:ovmf" "/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd:ovmf-ia32"
    "/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a|/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-dev (libFuzzer)"
    "valgrind:valgrind" "/usr/include/valgrind/callgrind.h:valgrind"
)

have() {        # have "a|b|c": is any of these a command or an existing path?
    local alternative
    IFS='|' read -ra alternatives <<<"$1"
    for alternative in "${alternatives[@]}"; do
        if [[ $alternative == /* ]]; then
            compgen -G "$alternative" >/dev/null && return 0
        elif command -v "$alternative" >/dev/null 2>&1; then
            return 0
        fi
    done
    return 1
}

missing() {
    local item
    for item in "${NEEDED[@]}"; do
        have "${item%%:*}" || echo "${item##*:}"
    done | sort -u
}

box() {
    local line width=72
    printf '+%*s+\n' "$width" '' | tr ' ' '-'
    for line in "$@"; do printf '| %-*s |\n' $((width - 2)) "$line"; done
    printf '+%*s+\n' "$width" '' | tr ' ' '-'
}

if [[ ${1:-} == --if-missing ]] && [[ -z $(missing) ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    mapfile -t needs < <(missing)
    box "ShompOS needs these tools, and this system has no apt-get." \
        "Please install them with your package manager:" "" "${needs[@]/#/  - }" "" \
        "Then run the make command again."
    exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        box "Installing packages needs root, and sudo is not installed." \
            "As root, run:  apt-get install ${PACKAGES[*]:0:4} ..." \
            "(the full list is in scripts/install-deps.sh)"
        exit 1
    fi
    SUDO=(sudo)
fi

echo "install-deps: installing ShompOS's build and test tools with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq || exit 1
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null || exit 1

still=$(missing)
if [[ -n $still ]]; then
    box "These are still missing after apt-get:" $still
    exit 1
fi
echo "install-deps: done"
