"""
test_heapdebug.py - heap debugging in the running kernel: the guarded
objects (keys a and z, every boot, BIOS and 64-bit UEFI) reported by the
page-fault handler and survived; the guarded pool's pages against the CPU's
(info tlb); the third GRUB entry, whose "heapdebug" turns on poison, red
zones and the quarantine, and the shifted keys A and Z that show them; the
leak scan (l) before and after a leak on purpose (e); and 2,000 random keys
under heapdebug with no report the keys did not ask for. Formats are the
ones src/memory/vm.c, src/kernel.c and src/demo/leaks.c print.
Not here: the pool's and the scan's rules in detail (tests/guard, tests/leak).
"""

import contextlib
import os
import random
import re

from boot_output import assert_lines_in_order
from heap_dump import FREE_KEYS, answer
from qemu import Machine

HEAPDEBUG_ENTRY = 2                     # grub.cfg: "ShompOS (heap debugging)"
PAGE = 4096
GUARD_OBJECTS = 64                      # GUARD_OBJECTS in inc/memory/guard.h
GUARD_SAMPLE_EVERY = 97                 # GUARD_SAMPLE_EVERY
HEX = r'0x([0-9a-f]{8})'

USE_AFTER_FREE_REPORT = [
    r'^guarded object at %s \(32 bytes\) freed, its page unmapped; writing 0x41 to byte 8 of it$' % HEX,
    r'^EXCEPTION 14: page fault \(#PF\)$',
    r'^BUG: heap use-after-free write at %s$' % HEX,
    r'^  guarded object #(\d+): %s-%s, 32 bytes, freed$' % (HEX, HEX),
    r'^  allocated by %s; freed by %s$' % (HEX, HEX),
    r'^  supervisor write access, not-present page, at eip %s$' % HEX,
    r'^recovered: the guarded-object demo returns to the prompt$',
]
OVERFLOW_REPORT = [
    r'^guarded object at %s \(24 bytes\) ends where its guard page starts; ' % HEX,
    r'^EXCEPTION 14: page fault \(#PF\)$',
    r'^BUG: heap out-of-bounds write at %s, 1 byte right of guarded object #(\d+)$' % HEX,
    r'^  guarded object #(\d+): %s-%s, 24 bytes, live$' % (HEX, HEX),
    r'^  allocated by %s; not freed$' % HEX,
    r'^  supervisor write access, not-present page, at eip %s$' % HEX,
    r'^recovered: the guarded-object demo returns to the prompt$',
]
POISON_REPORT = [
    r'^BUG: heap use-after-free write in block %s \(scale \d+\): byte 8 is 0x41, not 0x6b$' % HEX,
    r'^  freed by %s; allocated by %s; found by %s$' % (HEX, HEX, HEX),
]
REDZONE_REPORT = [
    r'^kmalloc: 64 bytes at %s; writing 0x41 to byte 64, just past them, then kfree$' % HEX,
    r'^BUG: heap out-of-bounds write past block %s \(64 bytes asked, scale \d+\): '
    r'byte 64 is 0x41, not 0xcc$' % HEX,
    r'^  allocated by %s; found by %s$' % (HEX, HEX),
]
SLAB_POISON_REPORT = [
    r'^kmem_cache_free: demo-24 object at (%s) poisoned \(0x6b\); writing 0x41 to byte 8 through '
    r'the stale pointer, then allocating again$' % HEX,
    r'^BUG demo-24: Poison overwritten: object (%s) \(24 bytes\): byte 8 is 0x41, not 0x6b$' % HEX,
    r'^  a use-after-free write; found by %s$' % HEX,
]
GUARD_BANNER = re.compile(r'^guard: 64 objects at %s \(512 KiB\), every 97th kmalloc '
                          r'up to 2040 bytes$' % HEX, re.MULTILINE)
DEBUG_BANNER = re.compile(r'^heap: debugging on: ', re.MULTILINE)
POOL_LINE = re.compile(r'^guarded objects: %s-%s, (\d+) of 64 live, the rest not present$' % (HEX, HEX), re.MULTILINE)
LEAK_LINE = re.compile(r'^unreferenced object %s \((\d+) bytes?\), allocated by (%s|unknown \(boot with '
                       r'heapdebug\)):((?: [0-9a-f]{2}){1,16})$' % (HEX, HEX), re.MULTILINE)
LEAK_TOTAL = re.compile(r'^leak scan: (\d+) unreferenced blocks?, (\d+) bytes? \((\d+) live blocks, '
                        r'(\d+) KiB scanned\)$', re.MULTILINE)
LEAKED_TEXT = b'leaked by key e: '[:16]

RANDOM_PRESSES = 2000
# Every key but b (slow) and the ones that break the rules on purpose (a, z, A, Z).
RANDOM_KEYS = '456789' + FREE_KEYS + 'fq0pscmh?vnwgkjxdel'
# Keys whose fault is the demo: their report must end in "recovered".
FAULT_KEYS = {'0': 'the divide-by-zero demo', 'n': 'the NULL-read demo', 'w': 'the code-write demo',
              'g': 'the main loop starts again'}
RANDOM_SEED = int(os.environ.get('SHOMPOS_SEED', '1111'))


# ---- helpers ---------------------------------------------------------------------------

@contextlib.contextmanager
def boot_heapdebug(**options):
    """A machine booted from the "ShompOS (heap debugging)" entry, at its prompt."""
    with Machine(**options) as machine:
        machine.select_grub_entry(HEAPDEBUG_ENTRY)
        machine.wait_for_prompt()
        yield machine


def lines_matching(patterns, text):
    """assert_lines_in_order, and the re.Match of each pattern, in order."""
    assert_lines_in_order(text, patterns)
    found, position = [], 0
    for pattern in patterns:
        match = re.compile(pattern, re.MULTILINE).search(text, position)
        found.append(match)
        position = match.end()
    return found


def assert_use_after_free_reported(output):
    _, _, bug, range_line, callers, _, _ = lines_matching(USE_AFTER_FREE_REPORT, output)
    start, last = int(range_line[2], 16), int(range_line[3], 16)
    address = int(bug[1], 16)
    assert last - start + 1 == 32 and address == start + 8, (bug[0], range_line[0])
    assert (last + 1) % PAGE == 0, 'the object does not end at its page end: ' + range_line[0]
    assert callers[1] != callers[2], 'allocated and freed by the same address: ' + callers[0]
    return start


def assert_overflow_reported(output):
    _, _, bug, range_line, _, _, _ = lines_matching(OVERFLOW_REPORT, output)
    start, last = int(range_line[2], 16), int(range_line[3], 16)
    assert int(bug[1], 16) == last + 1 and (last + 1) % PAGE == 0, (bug[0], range_line[0])
    assert bug[2] == range_line[1], 'the report names two objects: %s / %s' % (bug[0], range_line[0])
    return start


def assert_recovers(machine):
    assert answer(machine.press_and_wait('c')) == ['heap check: OK']
    assert re.search(r'^kmalloc: scale \d+ ', machine.press_and_wait('4'), re.MULTILINE)
    assert machine.is_running() and not machine.guest_reset()


def leak_scan(machine):
    """Press l: (the leak lines as (address, size, caller, bytes), the total's three numbers)."""
    output = machine.press_and_wait('l', timeout=60)
    total = LEAK_TOTAL.search(output)
    assert total, 'l printed no total: %r' % output
    leaks = [(int(a, 16), int(size), caller, bytes.fromhex(dump.replace(' ', '')))
             for a, size, caller, _, dump in LEAK_LINE.findall(output)]
    assert len(leaks) == int(total[1]) and sum(size for _, size, _, _ in leaks) == int(total[2]), output
    assert len(answer(output)) == len(leaks) + 1, 'l printed other lines: %r' % output
    return leaks, output


def tlb_pages(machine):
    """Virtual pages the CPU has present (4 MiB pages expanded)."""
    pages = set()
    for virtual, flags in re.findall(r'^([0-9a-f]+): [0-9a-f]+ ([-XGPDACTUW]{9})', machine.human('info tlb'),
                                     re.MULTILINE):
        span = 1024 * PAGE if flags[2] == 'P' else PAGE
        pages.update(range(int(virtual, 16), int(virtual, 16) + span, PAGE))
    return pages


# ---- guarded objects: every boot -----------------------------------------------------------

def test_the_guarded_pool_is_announced_at_boot_and_none_of_its_pages_is_present():
    with Machine() as machine:
        machine.wait_for_prompt()
        banner = GUARD_BANNER.search(machine.kernel_text())
        assert banner, 'no guard line at boot'
        start = int(banner[1], 16)
        pool = POOL_LINE.search(machine.press_and_wait('v'))
        assert pool and int(pool[1], 16) == start and int(pool[2], 16) == start + 512 * 1024 - 1, pool
        assert pool[3] == '0', pool[0]
        present = tlb_pages(machine)
        assert not any(page in present for page in range(start, start + 512 * 1024, PAGE)), \
            'a page of the guarded pool is present at boot'


def test_a_reports_a_use_after_free_of_a_guarded_object_and_the_prompt_returns():
    with Machine() as machine:
        machine.wait_for_prompt()
        first = assert_use_after_free_reported(machine.press_and_wait('a'))
        second = assert_use_after_free_reported(machine.press_and_wait('a'))
        assert second // PAGE != first // PAGE, 'the freed object was reused at once'
        assert first // PAGE * PAGE not in tlb_pages(machine), 'a freed object page is present'
        assert_recovers(machine)


def test_z_reports_an_overflow_one_byte_right_of_a_guarded_object_and_the_prompt_returns():
    with Machine() as machine:
        machine.wait_for_prompt()
        for _ in range(3):
            assert_overflow_reported(machine.press_and_wait('z'))
        assert_recovers(machine)


def test_a_freed_guarded_object_is_reused_only_after_every_other_slot():
    with Machine() as machine:
        machine.wait_for_prompt()
        pages = [assert_use_after_free_reported(machine.press_and_wait('a')) // PAGE
                 for _ in range(GUARD_OBJECTS + 1)]
    assert len(set(pages[:GUARD_OBJECTS])) == GUARD_OBJECTS, 'a slot was reused before all were used'
    assert pages[GUARD_OBJECTS] == pages[0], 'the least recently freed slot was not reused first'


def test_a_and_z_report_and_come_back_on_64_bit_uefi():
    with Machine(uefi='x64') as machine:
        machine.wait_for_prompt()
        assert_use_after_free_reported(machine.press_and_wait('a'))
        assert_overflow_reported(machine.press_and_wait('z'))
        machine.wait_framebuffer(r'^recovered: the guarded-object demo returns to the prompt')
        assert_recovers(machine)


def test_shifted_keys_say_heapdebug_is_off_in_a_plain_boot():
    with Machine() as machine:
        machine.wait_for_prompt()
        assert DEBUG_BANNER.search(machine.kernel_text()) is None, 'debugging on without heapdebug'
        for key, what in (('A', 'poison'), ('Z', 'red zone')):
            output = answer(machine.press_and_wait(key))
            assert output == ['heapdebug is off: no %s to catch this (boot "ShompOS (heap debugging)")'
                              % what], '%s: %r' % (key, output)
        assert answer(machine.press_and_wait('K')) == [
            'demo-24 is not poisoned: heapdebug is off (boot "ShompOS (heap debugging)")']


def test_every_97th_kmalloc_is_a_guarded_object_and_leaked_ones_are_found_too():
    with Machine() as machine:
        machine.wait_for_prompt()
        start = int(GUARD_BANNER.search(machine.kernel_text())[1], 16)
        for _ in range(GUARD_SAMPLE_EVERY):
            machine.press_and_wait('e')
        leaks, output = leak_scan(machine)
    assert len(leaks) == GUARD_SAMPLE_EVERY, output
    guarded = [leak for leak in leaks if start <= leak[0] < start + 512 * 1024]
    assert len(guarded) == 1, 'guarded leaks: %r' % guarded
    address, _, caller, dump = guarded[0]
    assert (address + 40) % PAGE == 0 and caller != 'unknown (boot with heapdebug)', guarded
    assert all(dump == LEAKED_TEXT for _, _, _, dump in leaks), output


# ---- the leak scan ---------------------------------------------------------------------------

def assert_no_leak_then_exactly_the_one_e_made(machine, caller_known):
    leaks, output = leak_scan(machine)
    assert leaks == [], 'leaks on a fresh boot:\n' + output
    made = re.search(r'^kmalloc: 40 bytes at %s, and every pointer to it dropped' % HEX,
                     machine.press_and_wait('e'), re.MULTILINE)
    assert made, 'e did not say where its block is'
    leaks, output = leak_scan(machine)
    assert [(address, size) for address, size, _, _ in leaks] == [(int(made[1], 16), 40)], output
    assert leaks[0][3] == LEAKED_TEXT, output
    assert (leaks[0][2] != 'unknown (boot with heapdebug)') == caller_known, output
    for key in '4567kk':            # blocks the demo keeps are never leaks
        machine.press_and_wait(key)
    assert len(leak_scan(machine)[0]) == 1


def test_l_finds_no_leak_on_a_fresh_boot_and_exactly_the_block_e_leaked():
    with Machine() as machine:
        machine.wait_for_prompt()
        assert_no_leak_then_exactly_the_one_e_made(machine, caller_known=False)


def test_l_under_heapdebug_also_names_the_caller_that_allocated_the_leak():
    with boot_heapdebug() as machine:
        assert_no_leak_then_exactly_the_one_e_made(machine, caller_known=True)


def test_l_reads_the_same_blocks_under_heapdebug_where_page_tables_take_two_pages():
    with Machine() as machine:
        machine.wait_for_prompt()
        plain = LEAK_TOTAL.search(leak_scan(machine)[1])
    with boot_heapdebug() as machine:
        debugging = LEAK_TOTAL.search(leak_scan(machine)[1])
    # Page tables are found but never read (their entries name every page): 32 of them would
    # add 128 KiB. Under heapdebug each is a two-page run, and must still be recognised.
    assert (plain[3], plain[4]) == (debugging[3], debugging[4]), (plain[0], debugging[0])


# ---- heapdebug: the third GRUB entry ------------------------------------------------------------

def test_the_heap_debugging_entry_passes_heapdebug_and_turns_debugging_on():
    with boot_heapdebug() as machine:
        text = machine.kernel_text()
        assert re.search(r'^command line: heapdebug$', text, re.MULTILINE), 'the entry did not pass heapdebug'
        assert DEBUG_BANNER.search(text), 'no "heap: debugging on" line'
        assert GUARD_BANNER.search(text), 'no guarded objects under heapdebug'
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']


def test_shift_a_under_heapdebug_reports_the_poison_byte_written_after_kfree():
    with boot_heapdebug() as machine:
        for _ in range(2):
            output = machine.press_and_wait('A')
            lines_matching(POISON_REPORT, output)
            assert answer(machine.press_and_wait('c')) == ['heap check: OK'], 'the damage stayed'
        assert_recovers(machine)


def test_shift_z_under_heapdebug_reports_the_red_zone_byte_written_past_the_block():
    with boot_heapdebug() as machine:
        for _ in range(2):
            lines_matching(REDZONE_REPORT, machine.press_and_wait('Z'))
            assert answer(machine.press_and_wait('c')) == ['heap check: OK']
        assert_recovers(machine)


def test_shift_k_under_heapdebug_reports_the_poison_byte_written_to_a_freed_slab_object():
    with boot_heapdebug() as machine:
        for _ in range(2):
            freed, bug, _ = lines_matching(SLAB_POISON_REPORT, machine.press_and_wait('K'))
            assert freed[1] == bug[1], 'the report names another object: ' + bug[0]
            assert answer(machine.press_and_wait('c')) == ['heap check: OK'], 'the damage stayed'
        demo_24 = [line for line in answer(machine.press_and_wait('d')) if line.startswith('demo-24 ')]
        assert len(demo_24) == 1 and demo_24[0].split()[1] == '0', 'K kept an object: %r' % demo_24
        assert_recovers(machine)


def test_a_and_z_report_under_heapdebug_too():
    with boot_heapdebug() as machine:
        assert_use_after_free_reported(machine.press_and_wait('a'))
        assert_overflow_reported(machine.press_and_wait('z'))
        assert_recovers(machine)


def test_2000_random_keys_under_heapdebug_give_no_report_they_did_not_ask_for_and_c_is_ok():
    chooser = random.Random(RANDOM_SEED)
    leaked = 0
    with boot_heapdebug() as machine:
        for number in range(RANDOM_PRESSES):
            key = chooser.choice(RANDOM_KEYS)
            since = machine.serial_mark()
            machine.press(key, hold=0.005)
            prompt = machine.wait_serial(r'^shomp> ', timeout=60, since=since)
            output = machine.kernel_text()[since:prompt.start()]
            where = 'press %d (%r, seed %d): %r' % (number, key, RANDOM_SEED, output)
            assert output.startswith(key + '\n'), where
            if key in FAULT_KEYS:
                assert 'recovered: ' + FAULT_KEYS[key] in output and 'BUG: heap' not in output, where
            else:
                assert 'BUG' not in output and 'EXCEPTION' not in output, where
            if key == 'q':          # bad frees on purpose: each refused, all given back
                assert 'bad frees: 8 frees and 1 destroy refused; free bytes as before' in output, where
            else:
                assert 'kfree: refused' not in output, where
            leaked += key == 'e'
            if key == 'l':
                total = LEAK_TOTAL.search(output)
                assert total and int(total[1]) <= leaked, where
        assert answer(machine.press_and_wait('c')) == ['heap check: OK']
        assert machine.is_running() and not machine.guest_reset()
