"""
test_paging.py - paging in the running kernel, checked from outside: the
control registers QEMU's monitor shows (info registers), the pages the CPU
really has (info tlb) against the kernel's own v map, the three faults
(n, w, g) reported and survived, and paging on the machines ShompOS boots:
BIOS pc/q35 and a Pentium II at 16 to 4096 MiB, 64- and 32-bit UEFI with
the framebuffer still drawn after paging is on.
"""

import re

from boot_output import assert_lines_in_order
from qemu import Machine

PAGE = 4096
FOUR_GIB = 1 << 32
CR0_PG, CR0_WP, CR4_PSE = 1 << 31, 1 << 16, 1 << 4

# The v key's lines: "  00100000-0010cfff     52K  P R S 4K  kernel code"
V_RUN = re.compile(r'^  ([0-9a-f]{8})-([0-9a-f]{8}) +\d+[KMG]  P ([WR]) ([SU]) (4K|4M)  (.+)$',
                   re.MULTILINE)
# info tlb: "00000000000b8000: 00000000000b8000 ---DA---W" (flags X G P D A C T U W)
TLB_LINE = re.compile(r'^([0-9a-f]+): ([0-9a-f]+) ([-XGPDACTUW]{9})', re.MULTILINE)

NULL_READ_REPORT = [
    r'^reading the word at address 0',
    r'^EXCEPTION 14: page fault \(#PF\)$',
    r'^BUG: NULL pointer dereference at address 0x00000000$',
    r'^  supervisor read access, not-present page, at eip 0x[0-9a-f]{8}$',
    r'^  error code 0x00000000 ',
    r'^recovered: the NULL-read demo returns to the prompt$',
]
CODE_WRITE_REPORT = [
    r'^writing 0xcc to the kernel\'s code at 0x[0-9a-f]{8}',
    r'^EXCEPTION 14: page fault \(#PF\)$',
    r'^BUG: write to read-only kernel code at address 0x[0-9a-f]{8}$',
    r'^  supervisor write access, protection violation, at eip 0x[0-9a-f]{8}$',
    r'^  error code 0x00000003 ',
    r'^recovered: the code-write demo returns to the prompt$',
]
STACK_OVERFLOW_REPORT = [
    r'^recursing 256 bytes a level',
    r'^EXCEPTION 8: double fault \(#DF\)$',
    r'^BUG: kernel stack overflow: esp 0x[0-9a-f]{8} ran into the guard page '
    r'0x([0-9a-f]{8})-0x([0-9a-f]{8})$',
    r'^  at eip 0x[0-9a-f]{8} ',
    r'^recovered: the main loop starts again on a fresh stack$',
]


def registers(machine):
    """CR0, CR2, CR3 and CR4 as QEMU's monitor shows them."""
    text = machine.human('info registers')
    return {name: int(value, 16) for name, value in re.findall(r'\b(CR[0234])=([0-9a-f]+)', text)}


def v_runs(machine):
    """The kernel's v map: a list of (start, end, writable, large, what), end exclusive."""
    output = machine.press_and_wait('v')
    runs = [(int(start, 16), int(last, 16) + 1, access == 'W', size == '4M', what)
            for start, last, access, _, size, what in V_RUN.findall(output)]
    assert runs, 'v printed no runs: %r' % output
    return runs, output


def tlb_pages(machine):
    """{virtual page: (physical, writable)} for every present 4 KiB page (4 MiB pages expanded)."""
    pages = {}
    for virtual, physical, flags in TLB_LINE.findall(machine.human('info tlb')):
        virtual, physical = int(virtual, 16), int(physical, 16)
        span = 1024 * PAGE if flags[2] == 'P' else PAGE
        for offset in range(0, span, PAGE):
            pages[virtual + offset] = (physical + offset, flags[8] == 'W')
    return pages


def pages_of(runs):
    return {page: (page, writable) for start, end, writable, _, _ in runs
            for page in range(start, end, PAGE)}


def assert_tlb_agrees_with_v(machine):
    runs, output = v_runs(machine)
    assert pages_of(runs) == tlb_pages(machine), 'info tlb and v differ; v said:\n' + output
    assert all(start >= PAGE for start, _, _, _, _ in runs), 'page 0 is mapped: ' + output
    return runs


def assert_paging_on(machine):
    cr = registers(machine)
    assert cr['CR0'] & CR0_PG, 'CR0.PG clear: CR0=%#x' % cr['CR0']
    assert cr['CR0'] & CR0_WP, 'CR0.WP clear: CR0=%#x' % cr['CR0']
    assert cr['CR4'] & CR4_PSE, 'CR4.PSE clear: CR4=%#x' % cr['CR4']


# v's last line: the guarded objects' pool, whose free and guard pages are holes in its region.
GUARD_POOL_LINE = re.compile(r'^guarded objects: 0x([0-9a-f]{8})-0x([0-9a-f]{8}), ', re.MULTILINE)


def heap_pages_are_mapped(runs, text, v_output):
    """
    Every heap region `m` names lies in runs called "heap region N" (or
    "guarded objects"), writable, but for the pages of the guarded pool that
    are not present: its guard pages and its free objects' pages.
    """
    regions = [(int(a, 16), int(b, 16)) for a, b in
               re.findall(r'^ +\d+: 0x([0-9a-f]{8})-0x([0-9a-f]{8})', text, re.MULTILINE)]
    assert regions, 'm named no heap regions: %r' % text
    pool = GUARD_POOL_LINE.search(v_output)
    holes = range(int(pool[1], 16), int(pool[2], 16) + 1) if pool else range(0)
    heap = pages_of([run for run in runs if run[4].startswith(('heap region', 'guarded objects'))
                     and run[2]])
    for low, high in regions:
        missing = [page for page in range(low, high + 1, PAGE) if page not in heap and page not in holes]
        assert not missing, 'heap region %#x-%#x: pages %s not in a writable heap run' % (
            low, high, [hex(page) for page in missing[:4]])


# ---- tests -----------------------------------------------------------------------------

def test_cr0_pg_and_wp_and_cr4_pse_are_set_after_boot():
    with Machine() as machine:
        machine.wait_for_prompt()
        assert_paging_on(machine)
        assert registers(machine)['CR3'] % PAGE == 0


def test_info_tlb_has_exactly_the_pages_v_shows_and_page_0_is_absent():
    with Machine() as machine:
        machine.wait_for_prompt()
        runs = assert_tlb_agrees_with_v(machine)
        names = [what for _, _, _, _, what in runs]
        for name in ('kernel code', 'kernel data', 'kernel stack', 'VGA text', 'heap region 0'):
            assert name in names, '%r missing from v: %r' % (name, names)
        code = [run for run in runs if run[4] == 'kernel code']
        assert code and not any(writable for _, _, writable, _, _ in code), 'kernel code writable'
        assert 'everything else is not present' in v_runs(machine)[1]


def test_n_reports_a_null_pointer_dereference_and_the_prompt_returns():
    with Machine() as machine:
        machine.wait_for_prompt()
        for _ in range(2):
            assert_lines_in_order(machine.press_and_wait('n'), NULL_READ_REPORT)
        assert machine.press_and_wait('c').split('\n')[1] == 'heap check: OK'


def test_w_reports_a_write_to_read_only_kernel_code_and_the_code_is_intact():
    with Machine() as machine:
        machine.wait_for_prompt()
        output = machine.press_and_wait('w')
        assert_lines_in_order(output, CODE_WRITE_REPORT)
        target = int(re.search(r"kernel's code at 0x([0-9a-f]{8})", output).group(1), 16)
        assert int(re.search(r'BUG: .* at address 0x([0-9a-f]{8})', output).group(1), 16) == target
        first = machine.human('xp /1bx %#x' % target)
        assert ': 0xcc' not in first, 'the write reached the code: ' + first
        assert_lines_in_order(machine.press_and_wait('w'), CODE_WRITE_REPORT)


def test_g_overflows_the_stack_into_its_guard_page_and_the_main_loop_starts_again():
    with Machine() as machine:
        machine.wait_for_prompt()
        runs, _ = v_runs(machine)
        stack = [(start, end) for start, end, _, _, what in runs if what == 'kernel stack']
        for _ in range(3):
            output = machine.press_and_wait('g')
            assert_lines_in_order(output, STACK_OVERFLOW_REPORT)
            guard = re.search(STACK_OVERFLOW_REPORT[2], output, re.MULTILINE)
            low, high = int(guard.group(1), 16), int(guard.group(2), 16) + 1
            assert high - low == PAGE and stack and stack[0][0] == high, (guard.group(0), stack)
            assert low not in tlb_pages(machine), 'the guard page is mapped'
        assert machine.press_and_wait('4').count('kmalloc: scale 4') == 1
        assert machine.press_and_wait('c').split('\n')[1] == 'heap check: OK'
        assert machine.is_running() and not machine.guest_reset()


def assert_paging_on_machine(memory, **options):
    with Machine(memory=memory, **options) as machine:
        machine.wait_for_prompt()
        assert_paging_on(machine)
        runs = assert_tlb_agrees_with_v(machine)
        heap_pages_are_mapped(runs, machine.press_and_wait('m'), machine.press_and_wait('v'))
        assert_lines_in_order(machine.press_and_wait('n'), NULL_READ_REPORT)
        assert machine.press_and_wait('c').split('\n')[1] == 'heap check: OK'


def test_paging_on_pc_with_16_mib():
    assert_paging_on_machine(16, machine='pc')


def test_paging_on_q35_with_128_mib():
    assert_paging_on_machine(128, machine='q35')


def test_paging_on_a_pentium_ii_with_3584_mib():
    assert_paging_on_machine(3584, machine='pc', cpu='pentium2')


def test_paging_on_pc_with_4096_mib():
    assert_paging_on_machine(4096, machine='pc')


def assert_framebuffer_drawn_after_paging(uefi, machine_type=None):
    with Machine(uefi=uefi, machine=machine_type) as machine:
        machine.wait_for_prompt()
        assert_paging_on(machine)
        runs, output = v_runs(machine)
        frame = [run for run in runs if run[4] == 'framebuffer']
        assert frame and all(writable for _, _, writable, _, _ in frame), output
        assert frame[0][0] >= 0x80000000, 'framebuffer at %#x' % frame[0][0]
        machine.press('h')
        machine.wait_framebuffer(r'show the virtual memory map')


def test_64_bit_uefi_framebuffer_is_mapped_and_still_drawn():
    assert_framebuffer_drawn_after_paging('x64')


def test_32_bit_uefi_framebuffer_is_mapped_and_still_drawn():
    assert_framebuffer_drawn_after_paging('ia32', 'q35')
