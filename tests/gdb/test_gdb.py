"""
test_gdb.py - scripts/gdb/shompos.py against the running kernel: boot the ISO
in QEMU with its GDB stub, press demo keys (blocks of several scales, slab
objects, frees), stop the VM through QMP, run the commands in GDB's batch
mode and compare them with the kernel's own answers: shomp-freelists with `p`
line for line, shomp-stats with `s`, shomp-slabinfo with `d`, shomp-walk's
counts with `s` and `p`, shomp-block with the kmalloc and kmem_cache_alloc
lines, shomp-pagewalk with QEMU's `info tlb` over the kernel's own page
tables (and a 4 MiB page written into its directory, since the kernel maps
none under BIOS). Corrupted headers, frame-table entries and looping lists
must be reported in words; afterwards the VM goes on and answers keys.
Page runs of several pages, which no demo key makes, are tested on the real
heap.c and slab.c built for the host (heap_host.c) and stopped in GDB.
Run: make qemu-gdb, or PYTHONPATH=tests/gdb python3 tests/qemu/run.py test_gdb -k block
"""

import os
import random
import re
import subprocess
import tempfile

from gdb_session import GDB, REPO, SCRIPT, gdb_machine, kernel_elf, resume, run_gdb

KMALLOC_LINE = re.compile(r'^kmalloc: scale (\d+) \((\d+) bytes\) at 0x([0-9a-f]{8}),', re.MULTILINE)
OBJECT_LINE = re.compile(r'^kmem_cache_alloc: demo-24 object at 0x([0-9a-f]{8}), slab 0x([0-9a-f]{8})',
                         re.MULTILINE)
FREE_ENTRY = re.compile(r'(?:^| \| )(?P<scale>[ \d]\d) +\S+ +(?P<count>\d+) (?P<first>[0-9a-f]{8,}) '
                        r'(?P<second>[0-9a-f]{8,}|- {7})', re.MULTILINE)
WALK_LINE = re.compile(r'^  0x([0-9a-f]{8,}) +(\d+) +\S+ +(free|allocated|slab) +(\d+)(?:  (\d+) pages?)?$')
WALK_SUMMARY = re.compile(r'^heap: \d+ regions?, (\d+) blocks, (\d+) bytes: (\d+) free \((\d+) bytes\), '
                          r'(\d+) allocated \((\d+) bytes, (\d+) requested\), of which (\d+) slabs? '
                          r'\((\d+) bytes\)$')
HEADER_BYTES = 8                        # sizeof(struct block_header)
PAGE = 4096
SLABINFO_HEADER_LINES = 3               # the version line and the column names on two (key d)
STATE_SMALL, STATE_ALLOCATED = 0x3c, 0xa1       # enum heap_block_state, as heap.h has them
RANDOM_KEYS = 40                        # random allocate and free keys between two dumps
RANDOM_SEED = int(os.environ.get('SHOMPOS_SEED', '1212'))
HEAP = "'src/memory/heap.c'::heap"
REGION_COUNT = HEAP + '.region_count'
DEMO_CACHE = "'src/demo/slabs.c'::demo_cache"


# ---- the kernel's answers --------------------------------------------------------------------

def answer(machine, key):
    """The lines key printed, without the echoed key name."""
    return machine.press_and_wait(key).rstrip('\n').split('\n')[1:]


def allocate(machine, key):
    """Press an allocate key (4-9); returns (block address, scale)."""
    found = KMALLOC_LINE.search('\n'.join(answer(machine, key)))
    assert found, 'key %s printed no kmalloc line' % key
    return int(found[3], 16), int(found[1])


def slab_object(machine):
    """Press k; returns (object address, slab address) as the kmem_cache_alloc line printed them."""
    found = OBJECT_LINE.search('\n'.join(answer(machine, 'k')))
    assert found, 'key k printed no kmem_cache_alloc line'
    return int(found[1], 16), int(found[2], 16)


def stats(lines):
    """The `s` answer (or shomp-stats) as {name: number}."""
    return {name: int(value) for name, value in re.findall(r'([a-z][a-z ]*): (\d+)', '\n'.join(lines))}


def free_dump(lines):
    """A `p` dump as {scale: (count, [lowest addresses])}."""
    dump = {}
    for found in FREE_ENTRY.finditer('\n'.join(lines[1:])):
        addresses = [int(found['first'], 16)] + (
            [] if found['second'].startswith('-') else [int(found['second'], 16)])
        dump[int(found['scale'])] = (int(found['count']), addresses)
    return dump


def walk_rows(lines):
    """shomp-walk's block lines as [(address, scale, state, requested, bytes)]."""
    rows = []
    for found in filter(None, map(WALK_LINE.match, lines)):
        scale, pages = int(found[2]), found[5]
        rows.append((int(found[1], 16), scale, found[3], int(found[4]),
                     int(pages) * PAGE if pages else 1 << scale))
    return rows


def one(machine, command):
    """One command's Result, asserted to have succeeded."""
    result = run_gdb(machine, [command])[0]
    assert result.error is None, '%s failed: %s' % (command, result.error)
    return result


def all_succeeded(results):
    assert all(r.error is None for r in results), [r for r in results if r.error]
    return results


def assert_same_lines(ours, theirs, what):
    assert ours == theirs, '%s differs:\n%s' % (what, '\n'.join(
        '%s gdb    %r\n  kernel %r' % ('  ' if a == b else '!!', a, b)
        for a, b in zip(ours + [''] * len(theirs), theirs + [''] * len(ours)) if a or b))


def assert_answers_keys(machine, dump_before):
    """The VM runs again, answers keys, and the heap is intact: `c` OK, `p` as before."""
    resume(machine)
    assert answer(machine, 'c') == ['heap check: OK'], 'heap check after GDB'
    assert answer(machine, 'p') == dump_before, 'the free lists changed while GDB was attached'


def booted_with_blocks(machine, keys='456789445'):
    """Wait for the prompt, press allocate keys; returns [(address, scale)] of the blocks."""
    machine.wait_for_prompt()
    return [allocate(machine, key) for key in keys]


def frame_of(address):
    """A GDB expression for the frame-table entry of address (region 0), independent of the script."""
    return '%s.regions[0].frames[(0x%x >> 12) - (%s.regions[0].start >> 12)]' % (HEAP, address, HEAP)


def entry_of(address):
    """The header in that entry: a page block's, or the frame's state."""
    return frame_of(address) + '.header'


def link_address(machine, scale, block):
    """Where a free block's list link is: after its in-band header, or in its frame's entry."""
    if scale < 12:
        return block + HEADER_BYTES
    result = all_succeeded(run_gdb(machine, ['output/x (unsigned int)&%s.link' % frame_of(block)]))[0]
    return int(result.output.strip(), 16)


def line_with(result, text):
    """The first line of a Result that contains text."""
    found = [line for line in result.lines if text in line]
    assert found, '%r not in %s\'s output:\n%s' % (text, result.command, result.output)
    return found[0]


# ---- the heap --------------------------------------------------------------------------------

def test_shomp_freelists_equals_the_p_dump_after_blocks_slab_objects_frees_and_random_keys():
    rng = random.Random(RANDOM_SEED)
    randoms = [''.join(rng.choice('456789rtyuiokj') for _ in range(RANDOM_KEYS)) for _ in range(2)]
    crowded = 0                         # dumps compared with 3 or more free blocks of one scale
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        # 454 three times leaves three 64-byte chunks [4][4][5]: the ts free three scale 5
        # blocks whose buddies are split, so none merge and p must pick the lowest two of three.
        for keys in ['', '456789445', 'kkk', 'rtu', 'jjj', 'x', '7ooi', 'f', '454454454ttt', 'f'] + \
                randoms:
            for key in keys:
                answer(machine, key)
            dump = answer(machine, 'p')
            ours = one(machine, 'shomp-freelists').lines
            resume(machine)
            assert_same_lines(ours, dump, 'shomp-freelists after keys %r' % keys)
            crowded += any(count >= 3 for count, _ in free_dump(dump).values())
    assert crowded > 0, 'no dump had 3 free blocks of a scale: the lowest-two rule went untested'


def test_shomp_stats_equals_the_s_key():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        for keys in ('', '4567894', 'kk', 'rt', 'jj', 'x', 'f'):
            for key in keys:
                answer(machine, key)
            kernel = answer(machine, 's')
            ours = one(machine, 'shomp-stats').lines
            resume(machine)
            assert_same_lines(ours, kernel, 'shomp-stats after keys %r' % keys)
        # The demo's keys never split the largest blocks, so fragmentation stays 0%: pretend a
        # region was carved into a block twice the largest, and both must read 50%.
        carved = HEAP + '.largest_carved'
        run_gdb(machine, ['set var %s = %s * 2' % (carved, carved)])
        resume(machine)
        kernel = answer(machine, 's')
        ours = run_gdb(machine, ['shomp-stats', 'set var %s = %s / 2' % (carved, carved)])[0].lines
        resume(machine)
        assert stats(kernel)['fragmentation'] == 50, kernel
        assert_same_lines(ours, kernel, 'shomp-stats with a larger largest_carved')
        assert stats(answer(machine, 's'))['fragmentation'] == 0, 'largest_carved not restored'


def test_shomp_walk_counts_agree_with_s_p_and_d():
    with gdb_machine() as machine:
        booted_with_blocks(machine, '4567894455')
        for key in 'rkkk':
            answer(machine, key)
        s, dump = stats(answer(machine, 's')), free_dump(answer(machine, 'p'))
        slabs = sum(int(row.split()[-1]) for row in answer(machine, 'd')[SLABINFO_HEADER_LINES:])
        walk = one(machine, 'shomp-walk')
        found = WALK_SUMMARY.match(walk.lines[-1])
        assert found, 'no heap summary: %r' % walk.lines[-1]
        (blocks, managed, free, free_bytes, allocated, allocated_bytes, requested, slab_blocks,
         slab_bytes) = map(int, found.groups())
        assert managed == s['managed'] and free_bytes == s['free'], (managed, free_bytes, s)
        assert allocated_bytes == s['allocated'] and requested == s['requested'], (walk.lines[-1], s)
        assert free == sum(count for count, _ in dump.values()), 'free blocks %d, p: %r' % (free, dump)
        assert allocated == s['allocations'] - s['frees'], 'allocated blocks %d, s: %r' % (allocated, s)
        assert slab_blocks == slabs == 1 and slab_bytes == PAGE, (walk.lines[-1], slabs)
        rows = walk_rows(walk.lines)
        assert len(rows) == blocks, '%d block lines, summary says %d' % (len(rows), blocks)
        assert all(a[0] + a[4] == b[0] for a, b in zip(rows, rows[1:])), 'blocks do not tile the region'
        assert any(scale >= 12 and state == 'free' for _, scale, state, _, _ in rows), rows
        assert any(scale < 12 and state == 'allocated' for _, scale, state, _, _ in rows), rows


def test_shomp_block_names_the_block_a_kmalloc_line_printed():
    with gdb_machine() as machine:
        blocks = booted_with_blocks(machine, '456789')
        dump = free_dump(answer(machine, 'p'))
        probes = []
        for address, scale in blocks:
            probes += [(address + HEADER_BYTES, address, scale), (address, address, scale),
                       (address + (1 << scale) - 1, address, scale)]
        free_scale = max(dump)
        free_block = dump[free_scale][1][0]
        results = run_gdb(machine, ['shomp-block 0x%x' % p for p, _, _ in probes] +
                          ['shomp-block 0x%x' % (free_block + 100), 'output/x &' + entry_of(free_block)])
        entry = int(results.pop().output.strip(), 16)
        for (probe, address, scale), result in zip(probes, results):
            assert result.error is None, 'shomp-block 0x%x: %s' % (probe, result.error)
            expected = 'block 0x%08x: scale %d (%d bytes), allocated, requested %d bytes' % (
                address, scale, 1 << scale, (1 << scale) - HEADER_BYTES)
            assert result.lines[0] == expected, 'shomp-block 0x%x: %r' % (probe, result.lines[0])
            assert '  header in-band at 0x%08x: valid (state 0xa1 allocated, scale %d, check 0x' % (
                address, scale) in line_with(result, 'header in-band')
            assert 'says small: the frame is carved into small blocks' in result.lines[2], result.lines
        assert 'is its payload: what kmalloc returned' in results[0].lines[1], results[0].lines
        free = results[-1]
        assert free.lines[0] == 'block 0x%08x: scale %d (%d bytes), free, requested 0 bytes' % (
            free_block, free_scale, 1 << free_scale), free.lines[0]
        assert re.fullmatch(r'  header in the frame table at 0x%08x \(region 0, entry \d+\): valid \(state '
                            r'0x5f free, scale %d, check 0x[0-9a-f]{4}\)' % (entry, free_scale),
                            line_with(free, '  header in the frame table')), free.lines
        assert 'valid (none of them says small, allocated or slab)' in line_with(free, 'later pages')
        assert 'linked both ways' in line_with(free, 'free list %d: ' % free_scale)
        first, scale = blocks[0]                    # the first 4 split a block: its buddy is free
        assert '  buddy: 0x%08x, scale %d: free' % (first ^ 1 << scale, scale) in results[0].lines, \
            results[0].lines
        assert '  buddy: 0x%08x: split (its first block has scale 4 and is allocated), so not free' % (
            blocks[1][0] ^ 1 << blocks[1][1]) in results[3].lines, results[3].lines
        resume(machine)
        assert allocate(machine, '4') == (first ^ 1 << scale, scale), 'the next 4 is not its buddy'
        again = one(machine, 'shomp-block 0x%x' % (first + HEADER_BYTES))
        assert '  buddy: 0x%08x, scale %d: allocated' % (first ^ 1 << scale, scale) in again.lines, \
            again.lines


def test_shomp_block_names_the_slab_and_cache_of_a_kmem_cache_alloc_object_and_page_blocks():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        (first, slab), (second, _), (third, _) = [slab_object(machine) for _ in range(3)]
        answer(machine, 'j')                        # the third goes back: free in its slab
        machine.qmp('stop')
        directory = int(re.search(r'\bCR3=([0-9a-f]+)', machine.human('info registers'))[1], 16)
        results = all_succeeded(run_gdb(machine, [
            'shomp-block 0x%x' % first, 'shomp-block 0x%x' % (second + 5), 'shomp-block 0x%x' % third,
            'shomp-block 0x%x' % slab, 'shomp-block 0x%x' % directory,
            'shomp-block &%s.regions[0].frames[3]' % HEAP, 'output/x ' + DEMO_CACHE]))
        cache = int(results.pop().output.strip(), 16)
        stride = second - first
        for result in results[:4]:
            assert result.lines[0] == 'block 0x%08x: scale 12 (4096 bytes), slab, requested 4096 ' \
                                      'bytes, keeps 1 page' % slab, result.lines
            assert 'says slab: its header' in result.lines[2], result.lines
            assert line_with(result, 'slab of cache ').startswith(
                '  slab of cache demo-24 (struct kmem_cache at 0x%08x): 24-byte objects every %d '
                'bytes from +0x%x, 169 a slab, 1 page' % (cache, stride, first - slab))
            assert line_with(result, 'the slab: ') == '  the slab: 167 of 169 objects free, so on ' \
                                                      'demo-24\'s partial list', result.lines
        assert '  0x%08x is object 0 of 169 (at 0x%08x), allocated: its start' % (first, first) \
            in results[0].lines, results[0].lines
        assert '  0x%08x is object 1 of 169 (at 0x%08x), allocated: 5 bytes in' % (second + 5, second) \
            in results[1].lines, results[1].lines
        assert '  0x%08x is object 2 of 169 (at 0x%08x), free: its start' % (third, third) \
            in results[2].lines, results[2].lines
        assert 'is in the slab\'s header (struct slab and its free_map' in results[3].output
        table = results[4]
        assert table.lines[0] == 'block 0x%08x: scale 12 (4096 bytes), allocated, requested 4096 ' \
                                 'bytes, keeps 1 page' % directory, table.lines
        assert 'header in the frame table at 0x' in table.lines[3], table.lines
        assert results[5].lines[0].startswith('0x') and 'frame table' in results[5].lines[0], results[5]
        assert 'entry 3, of frame 0x' in results[5].lines[1], results[5].lines
        resume(machine)
        assert answer(machine, 'c') == ['heap check: OK']


def test_a_corrupted_header_is_reported_invalid_in_words_and_p_agrees_where_the_walk_stops():
    with gdb_machine() as machine:
        blocks = booted_with_blocks(machine, '4567')
        dump = answer(machine, 'p')
        victim, scale = blocks[3]
        check, state = victim + 6, victim + 5
        results = all_succeeded(run_gdb(machine, [
            'output/x *(unsigned short *)0x%x' % check,
            'set var *(unsigned short *)0x%x ^= 0x5a5a' % check,
            'shomp-block 0x%x' % (victim + HEADER_BYTES), 'shomp-walk 0', 'shomp-freelists']))
        saved = int(results[0].output.strip(), 16)
        bad_check, walk, free_lists = results[2:]
        resume(machine)
        kernel = answer(machine, 'p')               # the kernel's own walk stops there too
        assert_same_lines(free_lists.lines[:len(kernel)], kernel, 'shomp-freelists over a bad header')
        assert bad_check.lines[0].startswith('block 0x%08x: header INVALID (in-band at 0x%08x): '
                                             'check 0x' % (victim, victim)), bad_check.lines
        assert ', expected 0x' in bad_check.lines[0] and 'for scale %d' % scale in bad_check.lines[0]
        assert any('0x%08x  header invalid (check' % victim in line for line in walk.lines), walk.lines
        assert 'incomplete: stopped at the corrupted header at 0x%08x' % victim in walk.lines[-1]
        assert free_lists.lines[len(kernel)].startswith('warning: the walk of region 0 stops at '
                                                        '0x%08x' % victim), free_lists.lines
        results = all_succeeded(run_gdb(machine, [
            'set var *(unsigned short *)0x%x = 0x%x' % (check, saved),
            'set var *(unsigned char *)0x%x = 0x33' % state,
            'shomp-block 0x%x' % (victim + 20),
            'set var *(unsigned char *)0x%x = 0xa1' % state,
            'shomp-block 0x%x' % (victim + HEADER_BYTES)]))
        bad_state, repaired = results[2], results[4]
        assert 'state byte 0x33 is neither free (0x5f) nor allocated (0xa1)' in bad_state.lines[0], \
            bad_state.lines
        assert repaired.lines[0].startswith('block 0x%08x: scale %d' % (victim, scale)), repaired.lines
        assert_answers_keys(machine, dump)


def test_corrupted_frame_table_entries_are_reported_invalid_in_words_and_c_agrees():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        obj, slab = slab_object(machine)
        dump = answer(machine, 'p')
        free_scale, (_, (free_block, *_)) = max((s, e) for s, e in free_dump(dump).items())
        later = free_block + PAGE                   # a later page of a free page block
        results = all_succeeded(run_gdb(machine, [
            'set var $head = %s.check' % entry_of(slab),
            'set var %s.check = $head ^ 0x5a5a' % entry_of(slab),
            'shomp-block 0x%x' % obj, 'shomp-walk 0',
            'set var %s.check = $head' % entry_of(slab),
            'output/x %s.state' % entry_of(later),
            'set var %s.state = 0x%x' % (entry_of(later), STATE_SMALL),
            'shomp-block 0x%x' % (later + 16), 'shomp-walk 0', 'shomp-freelists']))
        bad_head, walk, bad_later, walk_later, free_lists = (results[2], results[3], results[7],
                                                            results[8], results[9])
        later_state = int(results[5].output.strip(), 16)
        assert bad_head.lines[0].startswith('block 0x%08x: header INVALID (in the frame table at 0x'
                                            % slab), bad_head.lines
        assert 'check 0x' in bad_head.lines[0] and 'expected 0x' in bad_head.lines[0], bad_head.lines
        assert 'incomplete: stopped at the corrupted header at 0x%08x' % slab in walk.lines[-1]
        assert bad_later.lines[0] == 'block 0x%08x: scale %d (%d bytes), free, requested 0 bytes' % (
            free_block, free_scale, 1 << free_scale), bad_later.lines
        assert '  frame table entries of its later pages: INVALID: frame 0x%08x (page 1) says small, ' \
               'which no later page of a free block says' % later in bad_later.lines, bad_later.lines
        assert '    frame table INVALID: frame 0x%08x (page 1) says small, which no later page of a ' \
               'free block says' % later in walk_later.lines, walk_later.lines
        assert 'page block whose later frames\' entries disagree' in walk_later.lines[-1], walk_later.lines
        assert free_lists.lines == dump, 'heap_walk does not read later entries: p is unchanged'
        resume(machine)
        assert answer(machine, 'c') == ['heap check: FAILED: frame table entry disagrees with its '
                                        'block at 0x%08x scale %d' % (later, free_scale)]
        all_succeeded(run_gdb(machine, ['set var %s.state = 0x%x' % (entry_of(later), later_state)]))
        assert_answers_keys(machine, dump)


def test_a_loop_in_a_free_list_is_reported_and_the_walk_ends_for_small_and_page_blocks():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        for key in '454454454ttt':                  # three free scale 5 blocks
            answer(machine, key)
        dump = answer(machine, 'p')
        lists = sorted((s, e) for s, e in free_dump(dump).items() if e[0] >= 2)
        assert lists[0][0] < 12 <= lists[-1][0], 'no small and no page list of 2 blocks: %r' % lists
        for scale, (count, (first, second)) in (lists[0], lists[-1]):
            link = link_address(machine, scale, second)     # the second block's next points at itself
            first_link = link_address(machine, scale, first)
            results = all_succeeded(run_gdb(machine, [
                'set var $saved = *(unsigned int *)0x%x' % link,
                'set var *(unsigned int *)0x%x = 0x%x' % (link, link),
                'shomp-freelists', 'shomp-block 0x%x' % second,
                'set var *(unsigned int *)0x%x = $saved' % link, 'shomp-freelists',
                'set var $saved = *(unsigned int *)0x%x' % (first_link + 4),
                'set var *(unsigned int *)0x%x = 0x%x' % (first_link + 4, first_link),
                'shomp-freelists', 'set var *(unsigned int *)0x%x = $saved' % (first_link + 4)]))
            looped, block, repaired, bad_prev = results[2], results[3], results[5], results[8]
            assert any(line.startswith('warning: free list %d: block 0x%08x\'s prev is 0x%08x, not ' % (
                scale, first, first_link)) for line in bad_prev.lines), bad_prev.lines
            # second is the lowest but one, not always second on the list: the count may run out first
            assert 'warning: free list %d: loop: node 0x%08x comes back' % (scale, link) in \
                looped.output or 'warning: free list %d: more than %d nodes' % (scale, count) in \
                looped.output, looped.lines
            assert looped.lines[:len(dump)] == dump, 'the dump itself must not change: %r' % looped.lines
            assert 'NOT linked both ways' in line_with(block, 'free list %d: ' % scale), block.lines
            assert repaired.lines == dump, repaired.lines
        assert_answers_keys(machine, dump)


# ---- page tables -----------------------------------------------------------------------------

def tlb_pages(machine):
    """QEMU's `info tlb` (the oracle, not the script's reading) as {virtual page: (physical, size)}."""
    pages = {}
    for virtual, physical in re.findall(r'^([0-9a-f]+): ([0-9a-f]+) ', machine.human('info tlb'), re.M):
        pages[int(virtual, 16)] = int(physical, 16)
    return pages


def tlb_physical(pages, virtual):
    """The physical address `info tlb` gives for virtual, or None when no page holds it."""
    for mask in (0xfff, 0x3fffff):
        if virtual & ~mask in pages:
            return pages[virtual & ~mask] | (virtual & mask)
    return None


def elf_symbol(name):
    """A symbol's address from the kernel's symbol table (nm, independent of GDB and the script)."""
    nm = subprocess.run(['nm', kernel_elf()], stdout=subprocess.PIPE, text=True, check=True).stdout
    found = [line.split()[0] for line in nm.splitlines() if line.split()[-1:] == [name]]
    assert found, 'no symbol %s in %s' % (name, kernel_elf())
    return int(found[0], 16)


def test_shomp_pagewalk_gives_a_heap_address_its_identity_frame_and_0_and_the_guard_page_not_present():
    with gdb_machine() as machine:
        (address, _), = booted_with_blocks(machine, '6')
        machine.qmp('stop')
        cr0 = int(re.search(r'\bCR0=([0-9a-f]+)', machine.human('info registers'))[1], 16)
        pages = tlb_pages(machine)
        guard = elf_symbol('stack_guard')
        probes = [address + HEADER_BYTES, 0, guard + 0x123, elf_symbol('kernel_main'), 0xb8000,
                  0x20000000, 0xfffff000]
        walks = all_succeeded(run_gdb(machine, ['shomp-pagewalk 0x%x' % p for p in probes]))
        resume(machine)
        assert cr0 >> 31 == 1, 'paging is off: CR0 0x%08x' % cr0
        heap, zero, guarded, code, vga = walks[:5]
        assert heap.lines[-1] == 'physical 0x%08x' % (address + HEADER_BYTES), heap.lines
        assert any(line.startswith('PTE ') and 'present, writable, supervisor' in line and
                   line.endswith('-> frame 0x%08x' % (address & ~0xfff)) for line in heap.lines), heap.lines
        assert 'kernel map (vm.c kmap): heap region 0, 0x' in heap.output, heap.lines
        for result, what in ((zero, 'page 0'), (guarded, 'the guard page below the kernel stack')):
            assert result.lines[-1].startswith('not present: the walk stops at the page table'), result.lines
            assert 'kernel map (vm.c kmap): ' + what in result.output, result.lines
        assert any(line.startswith('PTE ') and 'present, read-only, supervisor' in line
                   for line in code.lines), code.lines
        assert 'kernel map (vm.c kmap): VGA text' in vga.output, vga.lines
        for probe, result in zip(probes, walks):
            physical = tlb_physical(pages, probe)
            expected = 'physical 0x%08x' % physical if physical is not None else 'not present: '
            assert result.lines[-1].startswith(expected), '0x%x: %r, QEMU: %r' % (
                probe, result.lines, expected)
        assert answer(machine, 'c') == ['heap check: OK']


def test_shomp_pagewalk_reads_a_4_mib_page_written_into_the_kernels_directory():
    """ShompOS maps no 4 MiB page under BIOS (VGA text is one 4 KiB page): write one, walk it."""
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        before = answer(machine, 'v')
        slot = 0x300                                # 0xc0000000: nothing there under BIOS
        pde = '*(unsigned int *)($cr3 + %d)' % (4 * slot)
        results = all_succeeded(run_gdb(machine, [
            'output/x %s' % pde, 'set var %s = 0x00400000 | 0xe3' % pde,
            'shomp-pagewalk 0xc0012345', 'shomp-pagewalk 0xc03fffff']))
        pages = tlb_pages(machine)
        restore = all_succeeded(run_gdb(machine, ['set var %s = 0' % pde, 'shomp-pagewalk 0xc0012345']))
        assert results[0].output.strip() == '0x0', 'PDE %d was in use: %r' % (slot, results[0].output)
        walk, top = results[2], results[3]
        assert tlb_physical(pages, 0xc0012345) == 0x00412345, 'QEMU does not see the 4 MiB page'
        assert 'PDE 768 at 0x%08x: 0x004000e3 present, writable, supervisor, accessed, dirty, ' \
               '4 MiB page -> 4 MiB frame 0x00400000' % (elf_cr3(walk) + 4 * slot) in walk.lines, walk.lines
        assert walk.lines[-1] == 'physical 0x00412345' and top.lines[-1] == 'physical 0x007fffff', \
            (walk.lines, top.lines)
        assert restore[1].lines[-1].startswith('not present: the walk stops at the page directory')
        resume(machine)
        assert answer(machine, 'v') == before, 'the kernel map changed'
        assert answer(machine, 'c') == ['heap check: OK']


def elf_cr3(result):
    """CR3 as a shomp-pagewalk result printed it."""
    return int(re.search(r'CR3 0x([0-9a-f]{8})', result.output)[1], 16)


# ---- slab caches -----------------------------------------------------------------------------

def test_shomp_slabinfo_equals_d_as_objects_come_and_go_and_a_loop_is_reported():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        for keys in ('', 'k', 'kkk', 'j', 'jjj', 'x', 'kk'):
            for key in keys:
                answer(machine, key)
            d = answer(machine, 'd')
            ours = one(machine, 'shomp-slabinfo').lines
            resume(machine)
            assert_same_lines(ours, d, 'shomp-slabinfo after keys %r' % keys)
        assert d[SLABINFO_HEADER_LINES].startswith('%-17s %6d %6d' % ('demo-24', 2, 169)), d
        partial = DEMO_CACHE + '->partial.next'
        results = all_succeeded(run_gdb(machine, [
            'set var %s->next = %s' % (DEMO_CACHE, DEMO_CACHE), 'shomp-slabinfo',
            'set var %s->next = 0' % DEMO_CACHE,
            'set var $saved = %s->next' % partial, 'set var %s->next = %s' % (partial, partial),
            'shomp-slabinfo', 'set var %s->next = $saved' % partial, 'shomp-slabinfo']))
        looped, bad_list, repaired = results[1], results[5], results[7]
        first_row = SLABINFO_HEADER_LINES + 1
        assert looped.lines[:first_row] == d[:first_row] and looped.lines[first_row].startswith(
            'warning: the kmem_caches list loops: cache 0x'), looped.lines
        assert bad_list.lines[SLABINFO_HEADER_LINES].startswith('%-17s no row: its partial list loops at 0x' % 'demo-24'), \
            bad_list.lines
        assert repaired.lines == d, repaired.lines
        resume(machine)
        assert answer(machine, 'c') == ['heap check: OK']


# ---- page runs, on the real heap.c built for the host ----------------------------------------

class HostHeap:
    """heap_host.c built and run under GDB: its facts (what heap.c said) and commands' Results."""

    def __init__(self, scratch):
        self.program = os.path.join(scratch, 'heap_host')
        self.facts_path = os.path.join(scratch, 'facts.txt')
        sources = [os.path.join(REPO, p) for p in ('tests/gdb/heap_host.c', 'src/memory/heap.c',
                                                   'src/memory/slab.c')]
        subprocess.run([os.environ.get('HOST_CC', 'cc'), '-std=c11', '-Wall', '-Wextra', '-Werror',
                        '-g', '-O0', '-I' + os.path.join(REPO, 'inc'), '-o', self.program] + sources,
                       check=True)

    def run(self, commands):
        results = run_gdb(None, ['break heap_host_ready', 'run ' + self.facts_path] + commands,
                          elf=self.program)[2:]
        self.facts = self.read_facts()
        return results

    def read_facts(self):
        facts = {'pointer': {}, 'visit': [], 'free_count': {}, 'stat': {}, 'slabinfo': []}
        with open(self.facts_path) as f:
            for line in f.read().splitlines():
                kind, rest = line.split(' ', 1)
                if kind == 'pointer':
                    name, value = rest.split()
                    facts['pointer'][name] = int(value, 16)
                elif kind == 'visit':
                    block, scale, allocated = rest.split()
                    facts['visit'].append((int(block, 16), int(scale), allocated == '1'))
                elif kind == 'free_count':
                    scale, count = rest.split()
                    facts['free_count'][int(scale)] = int(count)
                elif kind == 'stat':
                    name, value = rest.rsplit(' ', 1)
                    facts['stat'][name] = int(value)
                elif kind == 'slabinfo':
                    facts[kind].append(rest)
                else:
                    facts[kind] = rest              # check, after: what heap_check said
        return facts


def test_the_host_heaps_walk_free_lists_stats_and_slabinfo_are_what_heap_c_and_slab_c_say():
    with tempfile.TemporaryDirectory(prefix='shompos-host-') as scratch:
        host = HostHeap(scratch)
        walk, free_lists, shomp_stats, slabinfo = all_succeeded(host.run([
            'shomp-walk', 'shomp-freelists', 'shomp-stats', 'shomp-slabinfo']))
    facts, pointer, visits = host.facts, host.facts['pointer'], host.facts['visit']
    assert facts['check'] == 'OK', 'heap.c says the host heap is broken'
    free = {(b, s) for b, s, allocated in visits if not allocated}
    rows = walk_rows(walk.lines)
    assert {(a, s) for a, s, state, _, _ in rows if state == 'free'} == free, (rows, visits)
    for start, _, state, _, size in rows:           # a run is heap_walk's pieces, back to back
        if state != 'free':
            pieces = [(b, s) for b, s, allocated in visits if allocated and start <= b < start + size]
            assert pieces and pieces[0][0] == start and sum(1 << s for _, s in pieces) == size, \
                (start, size, pieces)
    assert (pointer['run5'], 15, 'allocated', 5 * PAGE - 100, 5 * PAGE) in rows, rows
    assert (pointer['run3'], 14, 'allocated', 3 * PAGE, 3 * PAGE) in rows, rows
    assert sum(row[2] == 'slab' for row in rows) == sum(int(r.split()[-1]) for r in facts['slabinfo'])
    assert_same_lines(slabinfo.lines[SLABINFO_HEADER_LINES:], facts['slabinfo'],
                      'shomp-slabinfo on the host heap')
    assert stats(shomp_stats.lines) == facts['stat'], (shomp_stats.lines, facts['stat'])
    dump = free_dump(free_lists.lines)
    lowest = {s: sorted(b for b, bs in free if bs == s)[:2] for s in facts['free_count']}
    assert dump == {s: (n, lowest[s]) for s, n in facts['free_count'].items()}, (dump, lowest)
    assert len(free_lists.lines) == 1 + (len(dump) + 1) // 2, 'warnings on a sound heap'


def test_shomp_block_names_page_runs_two_page_slabs_and_stale_tails_of_the_host_heap():
    with tempfile.TemporaryDirectory(prefix='shompos-host-') as scratch:
        host = HostHeap(scratch)
        host.run([])
        pointer = host.facts['pointer']
        run_tail, slab_page, free_object, stale, tiny, pagewalk = host.run([
            'shomp-block 0x%x' % (pointer['run5'] + 3 * PAGE + 5),
            'shomp-block 0x%x' % (pointer['full_object'] + PAGE),
            'shomp-block 0x%x' % pointer['free_object'], 'shomp-block 0x%x' % (pointer['gone'] + 5 * PAGE),
            'shomp-block 0x%x' % pointer['tiny'], 'shomp-pagewalk 0'])
    assert run_tail.lines[0] == 'block 0x%x: scale 15 (32768 bytes), allocated, requested %d ' \
                                'bytes, keeps 5 pages' % (pointer['run5'], 5 * PAGE - 100), run_tail.lines
    assert 'says tail 3: a later page of a run that starts 3 pages back' in run_tail.lines[2]
    assert 'valid (tail 1 to tail 4)' in line_with(run_tail, 'later pages')
    assert 'slab of cache host-1500' in line_with(slab_page, 'slab of cache'), slab_page.lines
    assert 'says tail 1: a later page of a run that starts 1 page back' in slab_page.lines[2]
    assert line_with(slab_page, 'the slab: ') == '  the slab: 0 of 5 objects free, so on ' \
                                                 'host-1500\'s full list', slab_page.lines
    assert 'is object 1 of 5' in line_with(free_object, 'is object'), free_object.lines   # of slab 2
    assert 'free: its start' in line_with(free_object, 'is object'), free_object.lines
    assert stale.lines[0].startswith('block 0x%x: scale 15 (32768 bytes), free' % pointer['gone'])
    assert 'says tail 5: stale, left by a page run freed since' in stale.lines[2], stale.lines
    assert 'no frame table (no whole frame: small blocks only)' in line_with(tiny, 'region 1: ')
    assert pagewalk.error == 'shomp-pagewalk: this GDB stub has no registers cr0, cr3 and cr4 ' \
                             '(QEMU\'s gdbstub has them): the page tables cannot be found'


def test_a_corrupted_tail_entry_and_run_header_of_the_host_heap_are_reported_invalid():
    with tempfile.TemporaryDirectory(prefix='shompos-host-') as scratch:
        host = HostHeap(scratch)
        host.run([])
        run5 = host.facts['pointer']['run5']
        entry = ("'heap.c'::heap.regions[0].frames[(0x%x >> 12) - ('heap.c'::heap.regions[0].start >> 12)"
                 " + %d].header")
        bad_tail, walk = all_succeeded(host.run([
            'set var %s.requested = 9' % (entry % (run5, 2)), 'shomp-block 0x%x' % (run5 + 2 * PAGE),
            'shomp-walk 0', 'continue']))[1:3]
        assert host.facts['after'] == 'FAILED: frame table entry disagrees with its block at 0x%x ' \
                                      'scale 15' % (run5 + 2 * PAGE), host.facts   # heap_check agrees
        bad_run, free_lists = all_succeeded(host.run([
            'set var %s.scale = 16' % (entry % (run5, 0)), 'shomp-block 0x%x' % (run5 + PAGE),
            'shomp-freelists', 'continue']))[1:3]
        assert host.facts['after'] == 'FAILED: block header is corrupted at 0x%x scale 16' % run5, \
            host.facts
        assert '  frame table entries of its later pages: INVALID: frame 0x%x (page 2) says tail 9, ' \
               'expected tail 2' % (run5 + 2 * PAGE) in bad_tail.lines, bad_tail.lines
        assert '    frame table INVALID: frame 0x%x (page 2) says tail 9, expected tail 2' % (
            run5 + 2 * PAGE) in walk.lines, walk.lines
        assert bad_run.lines[0].startswith('block 0x%x: header INVALID (in the frame table at 0x' % run5)
        assert 'requested %d bytes do not fit a scale 16 page block' % (5 * PAGE - 100) in \
            bad_run.lines[0], bad_run.lines
        assert any(line.startswith('warning: the walk of region 0 stops at 0x%x' % run5)
                   for line in free_lists.lines), free_lists.lines


# ---- bad input -------------------------------------------------------------------------------

def test_bad_arguments_get_one_clear_line_naming_the_command():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        dump = answer(machine, 'p')
        cases = [('shomp-block', 'an address is needed'), ('shomp-block no_such_symbol', 'is not an address'),
                 ('shomp-block 0x10', 'is not in the heap'), ('shomp-walk 7', 'no region 7'),
                 ('shomp-walk x', 'REGION is a region number'),
                 ('shomp-pagewalk', 'an address is needed'), ('shomp-stats 3', 'takes no argument'),
                 ('shomp-slabinfo x', 'takes no argument'),
                 ('set var $n = %s' % REGION_COUNT, None), ('set var %s = 99' % REGION_COUNT, None),
                 ('shomp-walk', 'heap.region_count is 99 but there are 64 slots'),
                 ('set var %s = $n' % REGION_COUNT, None),
                 ('set var $e = %s.regions[0].end' % HEAP, None),
                 ('set var %s.regions[0].end = 0x123' % HEAP, None),
                 ('shomp-freelists', 'heap region 0 (start 0x'),
                 ('set var %s.regions[0].end = $e' % HEAP, None)]
        results = run_gdb(machine, [command for command, _ in cases])
        for (command, words), result in zip(cases, results):
            name = command.split()[0]
            if words is None:
                assert result.error is None, result
                continue
            assert result.error and result.error.startswith(name + ': ') and words in result.error, \
                '%s: %r' % (command, result)
        assert_answers_keys(machine, dump)


def test_commands_without_a_running_kernel_say_so():
    commands = ['shomp-freelists', 'shomp-walk', 'shomp-block 0x12e048', 'shomp-pagewalk 0',
                'shomp-stats', 'shomp-slabinfo']
    for command, result in zip(commands, run_gdb(None, commands)):
        assert result.error == command.split()[0] + ': no live kernel: attach first (target remote ' \
            ':1234); these commands read the running kernel\'s memory', '%s: %r' % (command, result)


def test_the_script_loads_and_lists_its_commands_in_one_line():
    done = subprocess.run([GDB, '-nx', '-batch', '-ex', 'source ' + SCRIPT], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    lines = done.stdout.strip().split('\n')
    assert len(lines) == 1 and lines[0].startswith('ShompOS GDB commands: shomp-freelists, '), lines
    for command in ('shomp-walk', 'shomp-block', 'shomp-pagewalk', 'shomp-slabinfo', 'shomp-stats'):
        assert command in lines[0], lines[0]
