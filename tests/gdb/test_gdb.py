"""
test_gdb.py - scripts/gdb/shompos.py against the running kernel: boot the ISO
in QEMU with its GDB stub, press demo keys, stop the VM through QMP, run the
commands in GDB's batch mode and compare them with the kernel's own answers:
shomp-freelists with `p` line for line, shomp-stats with `s`, shomp-walk's
counts with `s` and `p`, shomp-block with the kmalloc lines, shomp-pagewalk
with the CPU's registers and with QEMU's `info tlb` over page tables built in
a free block, shomp-slabinfo with `d` (when the kernel has it; until then,
with slab_layout.c, a host program laid out as the script assumes). Corrupted
headers and a looping free list must be reported in words; afterwards the VM
goes on and answers keys. Run: make qemu-gdb, or
PYTHONPATH=tests/gdb python3 tests/qemu/run.py test_gdb -k block
"""

import os
import random
import re
import struct
import subprocess
import tempfile

from gdb_session import GDB, SCRIPT, gdb_machine, kernel_elf, resume, run_gdb

KMALLOC_LINE = re.compile(r'^kmalloc: scale (\d+) \((\d+) bytes\) at 0x([0-9a-f]{8}),', re.MULTILINE)
FREE_ENTRY = re.compile(r'(?:^| \| )(?P<scale>[ \d]\d) +\S+ +(?P<count>\d+) (?P<first>[0-9a-f]{8}) '
                        r'(?P<second>[0-9a-f]{8}|- {7})', re.MULTILINE)
WALK_LINE = re.compile(r'^  0x([0-9a-f]{8}) +(\d+) +\S+ +(free|allocated) +(\d+)$')
WALK_SUMMARY = re.compile(r'^heap: \d+ regions?, (\d+) blocks, (\d+) bytes: (\d+) free \((\d+) bytes\), '
                          r'(\d+) allocated \((\d+) bytes, (\d+) requested\)$')
HEADER_BYTES = 8                        # sizeof(struct block_header)
PAGE = 4096
RANDOM_KEYS = 40                        # random allocate and free keys between two dumps
RANDOM_SEED = int(os.environ.get('SHOMPOS_SEED', '1212'))
REGION_COUNT = "'src/memory/heap.c'::heap.region_count"
NO_SLABS = 'no slab caches in this kernel (symbol kmem_caches not found)'


# ---- the kernel's answers --------------------------------------------------------------------

def answer(machine, key):
    """The lines key printed, without the echoed key name."""
    return machine.press_and_wait(key).rstrip('\n').split('\n')[1:]


def allocate(machine, key):
    """Press an allocate key (4-9); returns (block address, scale)."""
    found = KMALLOC_LINE.search('\n'.join(answer(machine, key)))
    assert found, 'key %s printed no kmalloc line' % key
    return int(found[3], 16), int(found[1])


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


def one(machine, command):
    """One command's Result, asserted to have succeeded."""
    result = run_gdb(machine, [command])[0]
    assert result.error is None, '%s failed: %s' % (command, result.error)
    return result


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


# ---- the heap --------------------------------------------------------------------------------

def test_shomp_freelists_equals_the_p_dump_at_boot_after_allocations_frees_and_random_keys():
    rng = random.Random(RANDOM_SEED)
    randoms = [''.join(rng.choice('456789rtyuio') for _ in range(RANDOM_KEYS)) for _ in range(2)]
    crowded = 0                         # dumps compared with 3 or more free blocks of one scale
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        # 454 three times leaves three 64-byte chunks [4][4][5]: the ts free three scale 5
        # blocks whose buddies are split, so none merge and p must pick the lowest two of three.
        for keys in ['', '456789445', 'rtu', '7ooi', 'f', '454454454ttt', 'f'] + randoms:
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
        for keys in ('', '4567894', 'rt', 'f'):
            for key in keys:
                answer(machine, key)
            kernel = answer(machine, 's')
            ours = one(machine, 'shomp-stats').lines
            resume(machine)
            assert_same_lines(ours, kernel, 'shomp-stats after keys %r' % keys)
        # The demo's keys never split the largest blocks, so fragmentation stays 0%: pretend a
        # region was carved into a block twice the largest, and both must read 50%.
        carved = "'src/memory/heap.c'::heap.largest_carved"
        run_gdb(machine, ['set var %s = %s * 2' % (carved, carved)])
        resume(machine)
        kernel = answer(machine, 's')
        ours = run_gdb(machine, ['shomp-stats', 'set var %s = %s / 2' % (carved, carved)])[0].lines
        resume(machine)
        assert stats(kernel)['fragmentation'] == 50, kernel
        assert_same_lines(ours, kernel, 'shomp-stats with a larger largest_carved')
        assert stats(answer(machine, 's'))['fragmentation'] == 0, 'largest_carved not restored'


def test_shomp_walk_counts_agree_with_s_and_p():
    with gdb_machine() as machine:
        booted_with_blocks(machine, '4567894455')
        answer(machine, 'r')
        s, dump = stats(answer(machine, 's')), free_dump(answer(machine, 'p'))
        walk = one(machine, 'shomp-walk')
        found = WALK_SUMMARY.match(walk.lines[-1])
        assert found, 'no heap summary: %r' % walk.lines[-1]
        blocks, managed, free, free_bytes, allocated, allocated_bytes, requested = map(int, found.groups())
        assert managed == s['managed'] and free_bytes == s['free'], (managed, free_bytes, s)
        assert allocated_bytes == s['allocated'] and requested == s['requested'], (walk.lines[-1], s)
        assert free == sum(count for count, _ in dump.values()), 'free blocks %d, p: %r' % (free, dump)
        assert allocated == s['allocations'] - s['frees'], 'allocated blocks %d, s: %r' % (allocated, s)
        rows = [WALK_LINE.match(line) for line in walk.lines if WALK_LINE.match(line)]
        assert len(rows) == blocks, '%d block lines, summary says %d' % (len(rows), blocks)
        addresses = [int(row[1], 16) for row in rows]
        assert all(a + (1 << int(r[2])) == b for a, r, b in zip(addresses, rows, addresses[1:])), \
            'blocks do not tile the region'


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
                          ['shomp-block 0x%x' % (free_block + 100)])
        for (probe, address, scale), result in zip(probes, results):
            assert result.error is None, 'shomp-block 0x%x: %s' % (probe, result.error)
            expected = 'block 0x%08x: scale %d (%d bytes), allocated, requested %d bytes' % (
                address, scale, 1 << scale, (1 << scale) - HEADER_BYTES)
            assert result.lines[0] == expected, 'shomp-block 0x%x: %r' % (probe, result.lines[0])
            assert ': valid (' in result.lines[2], result.lines[2]
        assert 'is its payload: what kmalloc returned' in results[0].lines[1], results[0].lines
        assert results[-1].lines[0] == 'block 0x%08x: scale %d (%d bytes), free, requested 0 bytes' % (
            free_block, free_scale, 1 << free_scale), results[-1].lines[0]
        assert any('linked both ways' in line for line in results[-1].lines), results[-1].lines
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


def test_a_corrupted_header_is_reported_invalid_in_words_and_the_vm_goes_on():
    with gdb_machine() as machine:
        blocks = booted_with_blocks(machine, '4567')
        dump = answer(machine, 'p')
        victim, scale = blocks[3]
        check, state = victim + 6, victim + 5
        results = run_gdb(machine, [
            'set var $saved = *(unsigned short *)0x%x' % check,
            'set var *(unsigned short *)0x%x = $saved ^ 0x5a5a' % check,
            'shomp-block 0x%x' % (victim + HEADER_BYTES), 'shomp-walk 0', 'shomp-freelists',
            'set var *(unsigned short *)0x%x = $saved' % check,
            'set var *(unsigned char *)0x%x = 0x33' % state,
            'shomp-block 0x%x' % (victim + 20),
            'set var *(unsigned char *)0x%x = 0xa1' % state,
            'shomp-block 0x%x' % (victim + HEADER_BYTES)])
        assert all(r.error is None for r in results), results
        bad_check, walk, free_lists, bad_state, repaired = (results[2], results[3], results[4],
                                                            results[7], results[9])
        assert bad_check.lines[0].startswith('block 0x%08x: header INVALID (in-band at 0x%08x): '
                                             'check 0x' % (victim, victim)), bad_check.lines
        assert ', expected 0x' in bad_check.lines[0] and 'for scale %d' % scale in bad_check.lines[0]
        assert any('0x%08x  header invalid (check' % victim in line for line in walk.lines), walk.lines
        assert 'incomplete: stopped at the corrupted header at 0x%08x' % victim in walk.lines[-1]
        assert any(line.startswith('warning: the walk of region 0 stops at 0x%08x' % victim)
                   for line in free_lists.lines), free_lists.lines
        assert 'state byte 0x33 is no state' in bad_state.lines[0], bad_state.lines
        assert repaired.lines[0].startswith('block 0x%08x: scale %d' % (victim, scale)), repaired.lines
        assert_answers_keys(machine, dump)


def test_a_loop_in_a_free_list_is_reported_and_the_walk_ends():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        dump = answer(machine, 'p')
        scale, (count, (first, second)) = next((s, e) for s, e in sorted(free_dump(dump).items())
                                               if e[0] >= 2)
        link = second + HEADER_BYTES    # the second block's next points at itself
        results = run_gdb(machine, [
            'set var $saved = *(unsigned int *)0x%x' % link,
            'set var *(unsigned int *)0x%x = 0x%x' % (link, link),
            'shomp-freelists', 'shomp-block 0x%x' % second,
            'set var *(unsigned int *)0x%x = $saved' % link, 'shomp-freelists',
            'set var $saved = *(unsigned int *)0x%x' % (first + HEADER_BYTES + 4),
            'set var *(unsigned int *)0x%x = 0x%x' % (first + HEADER_BYTES + 4, first + HEADER_BYTES),
            'shomp-freelists', 'set var *(unsigned int *)0x%x = $saved' % (first + HEADER_BYTES + 4)])
        assert all(r.error is None for r in results), results
        looped, block, repaired, bad_prev = results[2], results[3], results[5], results[8]
        assert any(line.startswith('warning: free list %d: block 0x%08x\'s prev is 0x%08x, not ' % (
            scale, first, first + HEADER_BYTES)) for line in bad_prev.lines), bad_prev.lines
        assert 'warning: free list %d: loop: node 0x%08x comes back' % (scale, link) in \
            '\n'.join(looped.lines), looped.lines
        assert looped.lines[:len(dump)] == dump, 'the dump itself must not change: %r' % looped.lines
        assert any('NOT linked both ways' in line for line in block.lines), block.lines
        assert repaired.lines == dump, repaired.lines
        assert_answers_keys(machine, dump)


# ---- page tables and slabs -------------------------------------------------------------------

def control_registers(machine):
    """CR0, CR3, CR4 from QEMU's monitor: the oracle, not the script's own reading."""
    text = machine.human('info registers')
    return [int(re.search(r'\b%s=([0-9a-f]+)' % name, text)[1], 16) for name in ('CR0', 'CR3', 'CR4')]


def test_shomp_pagewalk_of_a_heap_address_gives_its_identity_frame_and_of_address_0_not_present():
    with gdb_machine() as machine:
        (address, _), = booted_with_blocks(machine, '6')
        machine.qmp('stop')
        paging = control_registers(machine)[0] >> 31 & 1
        heap, zero = run_gdb(machine, ['shomp-pagewalk 0x%x' % (address + HEADER_BYTES),
                                       'shomp-pagewalk 0'])
        resume(machine)
        assert heap.error is None and zero.error is None, (heap, zero)
        assert heap.lines[-1] == 'physical 0x%08x' % (address + HEADER_BYTES), heap.lines
        if paging:
            assert any(line.startswith('PTE ') and 'frame 0x%08x' % (address & ~0xfff) in line
                       for line in heap.lines), heap.lines
            assert 'not present' in zero.lines[-1], zero.lines
        else:
            for result in (heap, zero):
                assert 'paging is off (CR0.PG=0): virtual = physical' in result.lines, result.lines
            assert zero.lines[-1] == 'physical 0x00000000', zero.lines
        assert answer(machine, 'c') == ['heap check: OK']


def page_tables(base):
    """
    A page directory and two page tables in the three frames after `base`
    (a free heap block, identity-mapped RAM below 4 MiB):
      0-4 MiB       4 KiB pages, identity, but page 0 and the three table frames not present
      4-128 MiB     4 MiB pages (PSE), identity
      0xffc00000    a table whose last page maps `base`; the one before it not present
    The tables themselves are reachable only through physical memory.
    """
    directory, low, high = base + PAGE, base + 2 * PAGE, base + 3 * PAGE
    pde = [0] * 1024
    pde[0] = low | 0x3
    for i in range(1, 32):
        pde[i] = i << 22 | 0xe83                        # present, writable, 4 MiB, AVL bits
    pde[1023] = high | 0x7                              # present, writable, user
    unmapped = {0, directory >> 12, low >> 12, high >> 12}
    pte_low = [0 if i in unmapped else i << 12 | 0xa03 for i in range(1024)]   # AVL bits too
    pte_high = [0] * 1023 + [base | 0x3]
    return directory, b''.join(struct.pack('<1024I', *t) for t in (pde, pte_low, pte_high))


def tlb_physical(tlb, virtual):
    """The physical address QEMU's `info tlb` gives for virtual, or None when the page is absent."""
    pages = {int(v, 16): int(p, 16) for v, p in re.findall(r'^([0-9a-f]+): ([0-9a-f]+) ', tlb, re.M)}
    for mask in (0xfff, 0x3fffff):
        if virtual & ~mask in pages:
            return pages[virtual & ~mask] | (virtual & mask)
    return None


def free_block_below(walk_lines, scale, limit):
    """The lowest free block of at least this scale that ends below limit, from shomp-walk."""
    for row in filter(None, map(WALK_LINE.match, walk_lines)):
        block, block_scale = int(row[1], 16), int(row[2])
        if row[3] == 'free' and block_scale >= scale and block + (1 << block_scale) <= limit:
            return block
    raise AssertionError('no free block of scale %d or more below 0x%x' % (scale, limit))


PAGING_ON = ['set var $cr0_saved = $cr0', 'set var $cr3_saved = $cr3', 'set var $cr4_saved = $cr4',
             'set var $cr3 = {directory:#x}', 'set var $cr4 = $cr4 | 0x10',
             'set var $cr0 = $cr0 | 0x80000000']
PAGING_OFF = ['set var $cr0 = $cr0_saved', 'set var $cr4 = $cr4_saved', 'set var $cr3 = $cr3_saved']


def with_paging(machine, directory, tables, commands):
    """
    In one GDB session (QEMU resumes the VM when GDB detaches): write the
    tables at directory, turn on PSE and paging over them through CR3, CR4
    and CR0, run commands, restore the three registers. Their Results.
    """
    with tempfile.NamedTemporaryFile(suffix='.bin') as image:
        image.write(tables)
        image.flush()
        setup = ['restore %s binary 0x%x' % (image.name, directory)] + [
            c.format(directory=directory) for c in PAGING_ON]
        results = run_gdb(machine, setup + commands + PAGING_OFF)
    assert all(r.error is None for r in results), [r for r in results if r.error]
    return results[len(setup):len(setup) + len(commands)]


def test_shomp_pagewalk_walks_real_page_tables_as_qemu_does():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        before = answer(machine, 'p')
        walk = one(machine, 'shomp-walk 0')
        resume(machine)
        base = free_block_below(walk.lines, 14, 4 << 20)
        directory, tables = page_tables(base)
        probes = [0, 0x1234, base + 0x10, directory + 4, 0x00500123, 0x07ffffff, 0x40000000,
                  0xfffff123, 0xffffe000]
        *walks, tlb, free_lists = with_paging(machine, directory, tables, [
            'shomp-pagewalk 0x%x' % p for p in probes] + ['monitor info tlb', 'shomp-freelists'])
        assert tlb_physical(tlb.output, base + 0x10) == base + 0x10, 'the fixture did not turn paging on'
        for probe, result in zip(probes, walks):
            physical = tlb_physical(tlb.output, probe)
            expected = 'physical 0x%08x' % physical if physical is not None else 'not present: '
            assert result.lines[-1].startswith(expected), '0x%x: %r, QEMU: %r' % (
                probe, result.lines, expected)
        assert any('4 MiB page' in line for line in walks[4].lines), walks[4].lines
        assert 'page directory' in walks[6].lines[-1] and 'page table' in walks[0].lines[-1]
        assert walks[7].lines[-1] == 'physical 0x%08x' % (base + 0x123), walks[7].lines
        assert 'PTE 0 at 0x%08x: 0x00000000 not present' % (directory + PAGE) in walks[0].lines
        assert 'PDE 1023 at 0x%08x: 0x%08x present, writable, user -> page table at 0x%08x' % (
            directory + 4092, directory + 2 * PAGE | 7, directory + 2 * PAGE) in walks[7].lines
        assert 'PTE 1 at 0x%08x: 0x00001a03 present, writable, supervisor -> frame 0x00001000' % (
            directory + PAGE + 4) in walks[1].lines, walks[1].lines
        assert free_lists.lines == before, 'shomp-freelists under paging: %r' % free_lists.lines
        off = one(machine, 'shomp-pagewalk 0')
        assert 'paging is off (CR0.PG=0): virtual = physical' in off.lines, off.lines
        assert_answers_keys(machine, before)


def elf_has_symbol(name):
    """Is `name` in the kernel's symbol table? (nm, independent of GDB and the script.)"""
    nm = subprocess.run(['nm', kernel_elf()], stdout=subprocess.PIPE, text=True, check=True).stdout
    return any(line.split()[-1] == name for line in nm.splitlines() if line.strip())


def test_shomp_slabinfo_equals_d_or_says_there_are_no_slab_caches():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        for key in 'kk':        # slab objects, when the kernel has the keys
            answer(machine, key)
        d = answer(machine, 'd')
        ours = one(machine, 'shomp-slabinfo').lines
        resume(machine)
        has_d = not (d and d[0].startswith("unknown key 'd'"))
        if not elf_has_symbol('kmem_caches'):
            assert ours == [NO_SLABS], ours
        elif has_d:
            assert_same_lines(ours, d, 'shomp-slabinfo')
        else:
            assert ours[0].startswith('slabinfo') and len(ours) >= 2, ours
        assert answer(machine, 'c') == ['heap check: OK']


SLAB_ROWS = ['slabinfo - version: 2.1 (ShompOS)',
             '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> '
             ': slabdata <active_slabs> <num_slabs>',
             'demo-24                5    169     24  169    1 : slabdata      1      1',
             'page-tables            9     12   1024    3    1 : slabdata      3      4',
             'big-objects            0      0   2048   15    8 : slabdata      0      0']


def test_shomp_slabinfo_reads_caches_laid_out_as_it_assumes_in_both_list_shapes():
    """The reading half of shomp-slabinfo, on a host program laid out as the script documents."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'slab_layout.c')
    with tempfile.TemporaryDirectory(prefix='shompos-slab-') as scratch:
        for shape, flags in (('chain', []), ('circular', ['-DCIRCULAR'])):
            program = os.path.join(scratch, shape)
            subprocess.run([os.environ.get('HOST_CC', 'cc'), '-std=c11', '-Wall', '-Wextra', '-Werror',
                            '-g', '-O0', '-o', program, source] + flags, check=True)
            loop = ('set var caches[2].next = &caches[1]' if shape == 'chain'
                    else 'set var caches[2].link.next = &caches[1].link')
            table, looped = run_gdb(None, ['break caches_ready', 'run', 'shomp-slabinfo', loop,
                                           'shomp-slabinfo'], elf=program)[2::2]
            assert table.error is None and table.lines == SLAB_ROWS, '%s: %r' % (shape, table)
            assert looped.error and looped.error.startswith('shomp-slabinfo: the kmem_caches list '
                                                            'loops'), '%s: %r' % (shape, looped)


# ---- bad input -------------------------------------------------------------------------------

def test_bad_arguments_get_one_clear_line_naming_the_command():
    with gdb_machine() as machine:
        machine.wait_for_prompt()
        dump = answer(machine, 'p')
        cases = [('shomp-block', 'an address is needed'), ('shomp-block no_such_symbol', 'is not an address'),
                 ('shomp-block 0x10', 'is not in the heap'), ('shomp-walk 7', 'no region 7'),
                 ('shomp-walk x', 'REGION is a region number'),
                 ('shomp-pagewalk', 'an address is needed'), ('shomp-stats 3', 'takes no argument'),
                 ('set var $n = %s' % REGION_COUNT, None), ('set var %s = 99' % REGION_COUNT, None),
                 ('shomp-walk', 'heap.region_count is 99 but there are 64 slots'),
                 ('set var %s = $n' % REGION_COUNT, None)]
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
                'shomp-stats']
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
