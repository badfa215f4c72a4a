"""
shompos.py - GDB commands that read ShompOS's heap, page tables and slab caches.

    (gdb) source scripts/gdb/shompos.py       # `make debug` does this for you
    (gdb) shomp-freelists      the free lists, exactly as the demo's `p` key prints them
    (gdb) shomp-walk [REGION]  every block of a region (or of all) in address order, and a summary
    (gdb) shomp-block ADDR     the block holding ADDR: start, scale, state, header, buddy
    (gdb) shomp-pagewalk ADDR  the page-directory and page-table entries for a virtual address
    (gdb) shomp-slabinfo       the slab caches, as the `d` key prints them (/proc/slabinfo's columns)
    (gdb) shomp-stats          the heap statistics, exactly as the `s` key prints them

Like Linux's scripts/gdb (lx-dmesg, lx-slabinfo), it only reads: the kernel's
memory through GDB, laid out by the ELF's symbols and types. It never calls a
kernel function, so it works on a kernel stopped anywhere, even in a fault
handler. Every walk is bounded; a structure that makes no sense (a corrupted
header, a loop in a free list) is reported in words, never as a traceback.
Reading page tables uses QEMU's gdbstub (registers cr0/cr3/cr4, and its
physical-memory mode `Qqemu.PhyMemMode`): other stubs get a clear refusal.

What it assumes of the kernel. Every name lives in the constants below, so a
kernel that renames one changes one line here:
  - the heap: the static `heap` of src/memory/heap.c (free_lists, free_count,
    nonempty, regions, region_count, largest_carved, stats), `struct
    block_header`, `struct list_header`, `enum heap_block_state` (its
    enumerators name the states: HEAP_BLOCK_FREE is "free"), and heap.c's
    block_check hash, mirrored in header_check below.
  - where a block's header lives: read_header is the one function that knows.
    Today every header is in band, in the block's first 8 bytes. With page
    blocks (notes/heap-pages-api.md: scale >= 12, headers in a per-region
    frame table of 8-byte entries, one per 4 KiB frame) only read_header
    changes; until it does, a kernel whose `struct region` has more than
    start and end is flagged, because its page-block headers would be misread.
  - slab caches (issue 10), not in the kernel yet: a global `kmem_caches`,
    either a `struct kmem_cache *` chained through each cache's `next`, or a
    `struct list_header` sentinel of a circular list through each cache's
    `link`; the columns read the cache's fields named in SLAB_COLUMNS. Without
    the symbol, shomp-slabinfo says so.
  - callers: printed when struct block_header has the fields in
    CALLER_FIELDS; today the heap keeps none, and shomp-block says so.
"""

import re

import gdb

# ---- the kernel's names, in one place -------------------------------------------------------

HEAP_SYMBOL = 'heap'                        # static struct in src/memory/heap.c
HEADER_TYPE = 'struct block_header'
LINK_TYPE = 'struct list_header'
STATE_ENUM = 'enum heap_block_state'
STATE_PREFIX = 'HEAP_BLOCK_'                # HEAP_BLOCK_FREE -> "free"
HEAP_FIELDS = ('free_lists', 'free_count', 'nonempty', 'regions', 'region_count',
               'largest_carved', 'stats')
STATS_FIELDS = ('managed_bytes', 'allocated_bytes', 'requested_bytes', 'allocations', 'frees',
                'failed_allocations', 'refused_frees', 'splits', 'merges')
REGION_FIELDS = ('start', 'end')            # struct region today; more means a frame table
CALLER_FIELDS = (('allocated by', 'alloc_caller'), ('freed by', 'free_caller'))

SLAB_CACHES_SYMBOL = 'kmem_caches'
SLAB_CACHE_TYPE = 'struct kmem_cache'
SLAB_NEXT_FIELD = 'next'                    # kmem_caches as a struct kmem_cache *
SLAB_LINK_FIELD = 'link'                    # kmem_caches as a struct list_header sentinel
SLAB_MAX_CACHES = 256                       # bound on the walk of the cache list
# (column of the table, field of struct kmem_cache, divisor): Linux's /proc/slabinfo order.
SLAB_COLUMNS = (('active_objs', 'active_objects', 1), ('num_objs', 'total_objects', 1),
                ('objsize', 'object_size', 1), ('objperslab', 'objects_per_slab', 1),
                ('pagesperslab', 'slab_bytes', 4096), ('active_slabs', 'active_slabs', 1),
                ('num_slabs', 'slabs', 1))

# heap.c's block_check: Knuth's multiplicative hash of the address, as Linux's hash_long.
GOLDEN_RATIO = {4: 0x61c88647, 8: 0x61c8864680b583eb}

COMMANDS = ('shomp-freelists', 'shomp-walk [REGION]', 'shomp-block ADDR', 'shomp-pagewalk ADDR',
            'shomp-slabinfo', 'shomp-stats')


class ShompError(Exception):
    """Something this script cannot do or make sense of; its text is the whole message."""


# ---- reading memory and types ---------------------------------------------------------------

def require_target():
    """Refuse to read an ELF's zero-filled .bss as if it were a running kernel."""
    if gdb.selected_inferior().pid == 0:
        raise ShompError('no live kernel: attach first (target remote :1234); '
                         'these commands read the running kernel\'s memory')


def read_bytes(address, length):
    try:
        return bytes(gdb.selected_inferior().read_memory(address, length))
    except gdb.MemoryError:
        raise ShompError('cannot read %d bytes at 0x%08x (not mapped, or not memory)'
                         % (length, address)) from None


def lookup_type(name):
    """A type by its C name: 'struct block_header', 'enum heap_block_state', 'uintptr_t'."""
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise ShompError('the kernel\'s ELF has no type %s: is this ShompOS\'s shompos.elf?'
                         % name) from None


def decode(type_, data, offset=0):
    """A value of type_ found at data[offset:]: ints for scalars, dicts and lists for the rest."""
    t = type_.strip_typedefs()
    if t.code == gdb.TYPE_CODE_STRUCT:
        return {f.name: decode(f.type, data, offset + f.bitpos // 8) for f in t.fields() if f.name}
    if t.code == gdb.TYPE_CODE_ARRAY:
        low, high = t.range()
        return [decode(t.target(), data, offset + i * t.target().sizeof)
                for i in range(high - low + 1)]
    return int.from_bytes(data[offset:offset + t.sizeof], 'little')     # i686: little-endian


def read_struct(type_, address):
    return decode(type_, read_bytes(address, type_.sizeof))


def field_offset(type_, name):
    for f in type_.strip_typedefs().fields():
        if f.name == name:
            return f.bitpos // 8
    raise ShompError('%s has no field %s' % (type_, name))


def require_fields(type_, names):
    """Refuse a kernel whose type lacks a field this script reads, naming it."""
    have = {f.name for f in type_.strip_typedefs().fields()}
    missing = [name for name in names if name not in have]
    if missing:
        raise ShompError('%s has no field %s: this kernel is laid out otherwise than shompos.py '
                         'expects (the names at its top)' % (type_, ', '.join(missing)))


def address_of(expression):
    """An address from a GDB expression (0x12e048, $eax, ptr, &x), as an unsigned int."""
    if not expression.strip():
        raise ShompError('an address is needed, e.g. 0x0012e048, $eax or a pointer variable')
    try:
        value = gdb.parse_and_eval(expression)
        return int(value) & ((1 << (8 * value.type.sizeof)) - 1 if value.type.sizeof else ~0)
    except (gdb.error, TypeError, ValueError) as error:
        raise ShompError('%r is not an address: %s' % (expression, error)) from None


def kib(n):
    return n // 1024


def size_text(scale):
    """A power of two as report.c's size_format prints it: 16B, 512B, 4K, 64M, 1G."""
    size, unit = 1 << scale, 0
    while size >= 1024 and unit < 3:
        size, unit = size // 1024, unit + 1
    return '%d%s' % (size, 'BKMG'[unit])


# ---- the heap -------------------------------------------------------------------------------

class Header:
    """A block's header as read, and where it was read from."""

    def __init__(self, block, where, fields):
        self.block, self.where = block, where
        self.requested, self.scale = fields['requested'], fields['scale']
        self.state, self.check = fields['state'], fields['check']


class Heap:
    """The heap's global structure read in one go, and its types, from a stopped kernel."""

    def __init__(self):
        require_target()
        symbol = gdb.lookup_static_symbol(HEAP_SYMBOL) or gdb.lookup_global_symbol(HEAP_SYMBOL)
        if symbol is None:
            raise ShompError('no symbol %r: load ShompOS\'s ELF first (file build/gcc/shompos.elf)'
                             % HEAP_SYMBOL)
        self.address, self.type = int(symbol.value().address), symbol.type
        self.header_type, self.link_type = lookup_type(HEADER_TYPE), lookup_type(LINK_TYPE)
        self.require_layout()
        self.fields = read_struct(self.type, self.address)
        self.word = lookup_type('uintptr_t').sizeof
        self.max_scale = len(self.fields['free_lists']) - 1
        self.min_scale = (self.header_type.sizeof + self.link_type.sizeof - 1).bit_length()
        self.states = {f.enumval: f.name[len(STATE_PREFIX):].lower()
                       for f in lookup_type(STATE_ENUM).fields()}
        self.regions = self.read_regions()
        self.warning = self.layout_warning()

    def require_layout(self):
        require_fields(self.type, HEAP_FIELDS)
        require_fields(self.type.strip_typedefs()['stats'].type, STATS_FIELDS)
        require_fields(self.type.strip_typedefs()['regions'].type.target(), REGION_FIELDS)
        require_fields(self.header_type, ('requested', 'scale', 'state', 'check'))
        require_fields(self.link_type, ('next', 'prev'))

    def read_regions(self):
        count, slots = self.fields['region_count'], self.fields['regions']
        if count > len(slots):
            raise ShompError('heap.region_count is %d but there are %d slots: the heap\'s own '
                             'structure (at 0x%08x) is corrupted' % (count, len(slots), self.address))
        regions = [(r['start'], r['end']) for r in slots[:count]]
        for i, (start, end) in enumerate(regions):
            if start >= end or start & (self.min_block() - 1) or (i and start < regions[i - 1][1]):
                raise ShompError('heap region %d is 0x%08x-0x%08x: not a sorted, aligned span; the '
                                 'heap structure is corrupted' % (i, start, end))
        return regions

    def layout_warning(self):
        region_type = self.type.strip_typedefs()['regions'].type.target()
        extra = [f.name for f in region_type.strip_typedefs().fields() if f.name not in REGION_FIELDS]
        if not extra:
            return None
        return ('warning: struct region has fields this script does not read (%s): page blocks '
                'keep their headers out of band there, and read_header in shompos.py reads only '
                'in-band headers yet' % ', '.join(extra))

    def min_block(self):
        return 1 << self.min_scale

    def free_count(self, scale):
        return self.fields['free_count'][scale]

    def free_list_head(self, scale):
        """Address of the sentinel head of free list `scale` inside the heap structure."""
        return (self.address + field_offset(self.type, 'free_lists')
                + scale * self.link_type.sizeof)

    def region_of(self, address):
        """(index, start, end) of the region holding address, or None."""
        for i, (start, end) in enumerate(self.regions):
            if start <= address < end:
                return i, start, end
        return None

    def initialised(self):
        """Has heap_init run? It points every sentinel head at itself; .bss starts them at 0."""
        return all(head['next'] != 0 for head in self.fields['free_lists'])

    def state_name(self, state):
        return self.states.get(state, 'unknown state 0x%02x' % state)


def read_header(heap, block):
    """
    The header of the block that starts at `block`. The one place that knows
    where headers live: today in band, the block's first HEADER_BYTES bytes
    (heap.c's header_at). With page blocks, a block of scale >= 12 keeps it in
    its region's frame table (entry (block - table's first frame) / 4096):
    return that entry from here, with `where` naming it, and nothing else changes.
    """
    return Header(block, 'in-band at 0x%08x' % block, read_struct(heap.header_type, block))


def header_check(heap, block, scale):
    """heap.c's block_check: the top 16 bits of block * golden ratio, XOR the scale."""
    bits = 8 * heap.word
    product = (block * GOLDEN_RATIO[heap.word]) & ((1 << bits) - 1)
    return ((product >> (bits - 16)) ^ scale) & 0xffff


def header_problems(heap, header, region_end):
    """Why the header is not valid (heap.c's header_valid, in words); [] when it is."""
    problems, scale = [], header.scale
    if header.state not in heap.states:
        problems.append('state byte 0x%02x is no state (%s)' % (header.state, ', '.join(
            '0x%02x %s' % item for item in sorted(heap.states.items()))))
    if not heap.min_scale <= scale <= heap.max_scale:
        problems.append('scale %d is outside %d-%d' % (scale, heap.min_scale, heap.max_scale))
        return problems
    if header.block & ((1 << scale) - 1):
        problems.append('0x%08x is not aligned to its size (scale %d)' % (header.block, scale))
    if (1 << scale) > region_end - header.block:
        problems.append('a scale %d block runs past its region\'s end 0x%08x' % (scale, region_end))
    expected = header_check(heap, header.block, scale)
    if header.check != expected:
        problems.append('check 0x%04x, expected 0x%04x for scale %d' % (header.check, expected, scale))
    return problems


def walk_region(heap, start, end):
    """
    Yield (header, problems) for each block of [start, end) in address order,
    as heap_walk visits them; after a header with problems the walk cannot
    know where the next block starts, so it stops there. Each step moves on at
    least one smallest block, so it ends; the step count is capped anyway.
    """
    block, steps = start, (end - start) // heap.min_block() + 1
    while block < end and steps > 0:
        header = read_header(heap, block)
        problems = header_problems(heap, header, end)
        yield header, problems
        if problems:
            return
        block, steps = block + (1 << header.scale), steps - 1


def walk_heap(heap):
    """Yield (region index, header, problems) for every block of every region."""
    for i, (start, end) in enumerate(heap.regions):
        for header, problems in walk_region(heap, start, end):
            yield i, header, problems


def free_list_problems(heap, scale):
    """
    Walk free list `scale` from its sentinel head, at most free_count + 1
    nodes, checking each node before following it (heap.c's check_list):
    inside a region, a valid free header of this scale, prev pointing back.
    Returns what is wrong, in words; [] for a sound list.
    """
    head, count = heap.free_list_head(scale), heap.free_count(scale)
    prev, seen = head, set()
    node = heap.fields['free_lists'][scale]['next']
    while node != head:
        block = (node - heap.header_type.sizeof) % (1 << 8 * heap.word)
        if node in seen:
            return ['loop: node 0x%08x comes back after %d nodes and never reaches the head'
                    % (node, len(seen))]
        if len(seen) == count:
            return ['more than %d nodes (its free count): the count is wrong, or the list loops '
                    'through 0x%08x' % (count, block)]
        why = node_problem(heap, block, scale)
        if why:
            return ['node %d, block 0x%08x: %s; the walk stops there' % (len(seen), block, why)]
        link = read_struct(heap.link_type, node)
        if link['prev'] != prev:
            return ['block 0x%08x\'s prev is 0x%08x, not 0x%08x' % (block, link['prev'], prev)]
        seen.add(node)
        prev, node = node, link['next']
    if len(seen) != count:
        return ['%d nodes, but its free count says %d' % (len(seen), count)]
    return []


def node_problem(heap, block, scale):
    """Why `block` cannot be a free block of this scale on its list, or None."""
    region = heap.region_of(block)
    if region is None or block & (heap.min_block() - 1):
        return 'not a block of the heap'
    header = read_header(heap, block)
    problems = header_problems(heap, header, region[2])
    if problems:
        return 'header invalid (%s)' % '; '.join(problems)
    if heap.state_name(header.state) != 'free' or header.scale != scale:
        return 'a %s block of scale %d' % (heap.state_name(header.state), header.scale)
    return None


# ---- the statistics, as heap_get_stats computes them ----------------------------------------

def heap_stats(heap):
    """heap_get_stats: the counters kept in heap.stats plus the figures it derives."""
    stats = dict(heap.fields['stats'])
    nonempty = heap.fields['nonempty']
    stats['free_bytes'] = sum(heap.free_count(s) << s for s in range(heap.max_scale + 1))
    stats['regions'] = len(heap.regions)
    stats['largest_free_block'] = 0 if nonempty == 0 else 1 << (nonempty.bit_length() - 1)
    could_be = min(stats['free_bytes'], heap.fields['largest_carved'])
    stats['fragmentation_percent'] = 0 if could_be == 0 else (
        100 * (could_be - stats['largest_free_block']) // could_be)
    return stats


# ---- page tables ----------------------------------------------------------------------------

CR0_PG, CR4_PSE, CR4_PAE = 1 << 31, 1 << 4, 1 << 5
# Entry bits (Intel SDM vol. 3, 4.3, tables 4-4 to 4-6), low bit first: (bit, set, clear).
ENTRY_BITS = ((0, 'present', 'not present'), (1, 'writable', 'read-only'),
              (2, 'user', 'supervisor'), (3, 'write-through', None), (4, 'cache-disabled', None),
              (5, 'accessed', None))
PTE_BITS = ((6, 'dirty', None), (7, 'PAT', None), (8, 'global', None))
PAGE_4M_BITS = ((6, 'dirty', None), (7, '4 MiB page', None), (8, 'global', None), (12, 'PAT', None))

#   31         22 21         12 11          0
#  +-------------+-------------+-------------+
#  |  directory  |    table    |   offset    |     a 32-bit virtual address
#  +-------------+-------------+-------------+
#        |             |            `--> byte in the 4 KiB frame
#        |             `--> entry of the page table the PDE names
#        `--> entry of the page directory at CR3
#  With CR4.PSE and PDE bit 7: a 4 MiB page, bits 21-0 the offset.


def control_registers():
    """CR0, CR3, CR4 from QEMU's gdbstub, which has them as registers cr0, cr3 and cr4."""
    require_target()
    try:
        return [int(gdb.parse_and_eval('$' + name)) for name in ('cr0', 'cr3', 'cr4')]
    except gdb.error:
        raise ShompError('this GDB stub has no registers cr0, cr3 and cr4 (QEMU\'s gdbstub has '
                         'them): the page tables cannot be found') from None


def physical_mode(on):
    """Switch QEMU's gdbstub between virtual (default) and physical memory accesses."""
    reply = gdb.execute('maintenance packet Qqemu.PhyMemMode:%d' % on, to_string=True)
    if 'received: "OK"' not in reply:
        raise ShompError('this GDB stub cannot read physical memory (no Qqemu.PhyMemMode: not '
                         'QEMU, or QEMU older than 4.2): %s' % reply.strip().replace('\n', ' '))


def read_physical_word(address):
    """The 32-bit entry at a physical address, whatever paging maps there."""
    physical_mode(1)
    try:
        return int.from_bytes(read_bytes(address, 4), 'little')
    finally:
        physical_mode(0)


def entry_flags(entry, extra_bits):
    """An entry's bits in words; a not-present entry's other bits mean nothing to the CPU."""
    if not entry & 1:
        return 'not present'
    words = []
    for bit, set_word, clear_word in ENTRY_BITS + extra_bits:
        word = set_word if entry >> bit & 1 else clear_word
        if word:
            words.append(word)
    return ', '.join(words)


def page_walk(virtual):
    """The lines shomp-pagewalk prints for one virtual address."""
    cr0, cr3, cr4 = control_registers()
    lines = ['virtual 0x%08x: directory index %d, table index %d, offset 0x%03x' % (
        virtual, virtual >> 22, virtual >> 12 & 0x3ff, virtual & 0xfff),
        'CR0 0x%08x  CR3 0x%08x  CR4 0x%08x (PSE=%d, PAE=%d)' % (
        cr0, cr3, cr4, cr4 >> 4 & 1, cr4 >> 5 & 1)]
    if not cr0 & CR0_PG:
        return lines + ['paging is off (CR0.PG=0): virtual = physical',
                        'physical 0x%08x' % virtual]
    if cr4 & CR4_PAE:
        raise ShompError('PAE paging is on (CR4.PAE=1): shomp-pagewalk walks only 32-bit '
                         'two-level tables, which ShompOS uses')
    return lines + walk_tables(virtual, cr3 & ~0xfff, cr4 & CR4_PSE)


def walk_tables(virtual, directory, pse):
    """Directory entry, then table entry (or a 4 MiB page), each read from physical memory."""
    pde_address = directory + 4 * (virtual >> 22)
    pde = read_physical_word(pde_address)
    large = pse and pde >> 7 & 1
    line = 'PDE %d at 0x%08x: 0x%08x %s' % (virtual >> 22, pde_address, pde,
                                            entry_flags(pde, PAGE_4M_BITS if large else ()))
    if not pde & 1:
        return [line, 'not present: the walk stops at the page directory; an access to '
                '0x%08x faults (#PF, not present)' % virtual]
    if large:
        frame = (pde & 0xffc00000) | ((pde >> 13 & 0xff) << 32)     # PSE-36: bits 20-13
        return [line + ' -> 4 MiB frame 0x%08x' % frame, 'physical 0x%08x' % (
            frame | (virtual & 0x3fffff))]
    table = pde & ~0xfff
    pte_address = table + 4 * (virtual >> 12 & 0x3ff)
    pte = read_physical_word(pte_address)
    lines = [line + ' -> page table at 0x%08x' % table, 'PTE %d at 0x%08x: 0x%08x %s' % (
        virtual >> 12 & 0x3ff, pte_address, pte, entry_flags(pte, PTE_BITS))]
    if not pte & 1:
        return lines + ['not present: the walk stops at the page table; an access to '
                        '0x%08x faults (#PF, not present)' % virtual]
    lines[-1] += ' -> frame 0x%08x' % (pte & ~0xfff)
    return lines + ['physical 0x%08x' % ((pte & ~0xfff) | (virtual & 0xfff))]


# ---- slab caches ----------------------------------------------------------------------------

def slab_caches():
    """The caches on the kmem_caches list, as gdb.Values; None when the kernel has no slabs."""
    symbol = gdb.lookup_global_symbol(SLAB_CACHES_SYMBOL) or gdb.lookup_static_symbol(
        SLAB_CACHES_SYMBOL)
    if symbol is None:
        return None
    require_target()
    head = symbol.value()
    cache_type = lookup_type(SLAB_CACHE_TYPE)
    if head.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
        return chain(head, lambda cache: cache[SLAB_NEXT_FIELD], 0)
    offset = field_offset(cache_type, SLAB_LINK_FIELD)
    sentinel = int(head.address)
    return chain(head['next'], lambda cache: cache[SLAB_LINK_FIELD]['next'], sentinel,
                 lambda node: gdb.Value(int(node) - offset).cast(cache_type.pointer()))


def chain(first, next_of, end, to_cache=lambda node: node):
    """Follow a list to `end`, at most SLAB_MAX_CACHES nodes, refusing a loop."""
    caches, seen, node = [], set(), first
    while int(node) != end:
        if int(node) in seen or len(caches) == SLAB_MAX_CACHES:
            raise ShompError('the %s list loops (or holds over %d caches) at 0x%08x'
                             % (SLAB_CACHES_SYMBOL, SLAB_MAX_CACHES, int(node)))
        seen.add(int(node))
        cache = to_cache(node).dereference()
        caches.append(cache)
        node = next_of(cache)
    return caches


def slab_row(cache):
    try:
        name = cache['name']
        name = name.string() if name.type.strip_typedefs().code == gdb.TYPE_CODE_PTR \
            else name.string(length=name.type.sizeof).rstrip('\0')
        values = [int(cache[field]) // divisor for _, field, divisor in SLAB_COLUMNS]
    except gdb.MemoryError as error:
        raise ShompError('cannot read a cache of the %s list: %s' % (SLAB_CACHES_SYMBOL, error)) \
            from None
    except gdb.error as error:
        raise ShompError('%s is not laid out as SLAB_COLUMNS in shompos.py says (%s): update '
                         'SLAB_COLUMNS' % (SLAB_CACHE_TYPE, error)) from None
    return '%-17s %6d %6d %6d %4d %4d : slabdata %6d %6d' % tuple([name] + values)


# ---- the commands ---------------------------------------------------------------------------

class ShompCommand(gdb.Command):
    """A command whose failures are one clear line, never a Python traceback."""

    def __init__(self, name):
        super().__init__(name, gdb.COMMAND_DATA)
        self.name = name

    takes_argument = True

    def invoke(self, argument, from_tty):
        self.dont_repeat()
        try:
            if argument.strip() and not self.takes_argument:
                raise ShompError('takes no argument, not %r' % argument.strip())
            lines = self.run(argument.strip())
        except ShompError as error:
            raise gdb.GdbError('%s: %s' % (self.name, error)) from None
        except gdb.MemoryError as error:
            raise gdb.GdbError('%s: cannot read kernel memory: %s' % (self.name, error)) from None
        except Exception as error:      # a bug here must still not end in a traceback
            raise gdb.GdbError('%s: internal error in shompos.py: %s: %s'
                               % (self.name, type(error).__name__, error)) from None
        gdb.write(''.join(line + '\n' for line in lines))


class FreeLists(ShompCommand):
    """The free lists exactly as the `p` key prints them (src/demo/report.c), then any problem.

Usage: shomp-freelists
One entry per scale with free blocks: scale, size, count, the two lowest free
blocks. After the dump, a "warning:" line for each free list that is broken
(a loop, a node that is no free block of its scale, a wrong count) and for a
region whose walk stopped at a corrupted header."""

    takes_argument = False

    def __init__(self):
        super().__init__('shomp-freelists')

    def run(self, argument):
        heap = Heap()
        lowest, warnings = {}, [heap.warning] if heap.warning else []
        for region, header, problems in walk_heap(heap):
            if problems:
                warnings.append('warning: the walk of region %d stops at 0x%08x: header invalid '
                                '(%s); blocks after it are missing from the dump (00000000), as '
                                'they are from the kernel\'s p' % (region, header.block,
                                                                   '; '.join(problems)))
            elif heap.state_name(header.state) == 'free':
                lowest.setdefault(header.scale, []).append(header.block)
        if not heap.initialised():
            warnings.append('warning: the free-list heads are NULL: heap_init has not run yet')
        for scale in range(heap.max_scale + 1 if heap.initialised() else 0):
            warnings += ['warning: free list %d: %s' % (scale, problem)
                         for problem in free_list_problems(heap, scale)]
        return self.dump(heap, lowest) + warnings

    @staticmethod
    def dump(heap, lowest):
        entries = []
        for scale in range(heap.min_scale, heap.max_scale + 1):
            if heap.free_count(scale) == 0:
                continue
            blocks = sorted(lowest.get(scale, []))[:2] + [0]    # report.c prints 0 when unseen
            second = '%08x' % blocks[1] if len(blocks) > 2 else '-       '
            entries.append('%2u %5s %6u %08x %s' % (scale, size_text(scale), heap.free_count(scale),
                                                     blocks[0], second))
        lines = [' | '.join(entries[i:i + 2]) for i in range(0, len(entries), 2)]
        return ['free lists: scale size count first-blocks'] + (lines or ['(no free blocks)'])


class Walk(ShompCommand):
    """Every block of a region (all regions without REGION) in address order.

Usage: shomp-walk [REGION]
One line per block: its address, scale, size, state and the bytes its caller
requested, then a summary per region and for the heap. The walk of a region
stops at a corrupted header, and says so."""

    def __init__(self):
        super().__init__('shomp-walk')

    def run(self, argument):
        heap = Heap()
        chosen = self.regions(heap, argument)
        lines = [heap.warning] if heap.warning else []
        total = Tally()
        for i in chosen:
            tally = Tally()
            lines += self.region_lines(heap, i, tally)
            total.add(tally)
        if argument == '':
            lines.append('heap: %d region%s, %s' % (len(chosen), '' if len(chosen) == 1 else 's',
                                                   total.summary()))
        return lines

    @staticmethod
    def regions(heap, argument):
        if argument == '':
            return range(len(heap.regions))
        if not re.fullmatch(r'\d+', argument):
            raise ShompError('REGION is a region number (0 to %d), not %r'
                             % (len(heap.regions) - 1, argument))
        if int(argument) >= len(heap.regions):
            raise ShompError('no region %s: the heap has %d region%s (0 to %d)' % (
                argument, len(heap.regions), '' if len(heap.regions) == 1 else 's',
                len(heap.regions) - 1))
        return [int(argument)]

    @staticmethod
    def region_lines(heap, i, tally):
        start, end = heap.regions[i]
        lines = ['region %d: 0x%08x-0x%08x, %d KiB' % (i, start, end, kib(end - start)),
                 '  block       scale   size  state        requested']
        for header, problems in walk_region(heap, start, end):
            if problems:
                tally.stopped = header.block
                lines.append('  0x%08x  header invalid (%s): the walk stops here, %d bytes of the '
                             'region unwalked' % (header.block, '; '.join(problems),
                                                  end - header.block))
                break
            state = heap.state_name(header.state)
            tally.count(header.scale, state, header.requested)
            lines.append('  0x%08x  %5d  %5s  %-11s %10d' % (header.block, header.scale,
                                                           size_text(header.scale), state,
                                                           header.requested))
        return lines + ['region %d: %s' % (i, tally.summary())]


class Tally:
    """Blocks and bytes a walk has seen, by state."""

    def __init__(self):
        self.blocks, self.bytes, self.requested, self.stopped = {}, {}, 0, None

    def count(self, scale, state, requested):
        self.blocks[state] = self.blocks.get(state, 0) + 1
        self.bytes[state] = self.bytes.get(state, 0) + (1 << scale)
        self.requested += requested if state == 'allocated' else 0

    def add(self, other):
        for state in other.blocks:
            self.blocks[state] = self.blocks.get(state, 0) + other.blocks[state]
            self.bytes[state] = self.bytes.get(state, 0) + other.bytes[state]
        self.requested += other.requested
        self.stopped = self.stopped or other.stopped

    def summary(self):
        parts = ['%d blocks, %d bytes' % (sum(self.blocks.values()), sum(self.bytes.values()))]
        for state in ['free', 'allocated'] + sorted(set(self.blocks) - {'free', 'allocated'}):
            parts.append('%d %s (%d bytes%s)' % (
                self.blocks.get(state, 0), state, self.bytes.get(state, 0),
                ', %d requested' % self.requested if state == 'allocated' else ''))
        text = ': '.join(parts[:1]) + ': ' + ', '.join(parts[1:])
        if self.stopped is not None:
            text += '; incomplete: stopped at the corrupted header at 0x%08x' % self.stopped
        return text


class Block(ShompCommand):
    """The block that holds ADDR: a payload pointer or any byte inside the block.

Usage: shomp-block ADDR     (ADDR: any GDB expression: 0x12e048, $eax, ptr)
Prints the block's start, scale, size and state, the bytes requested, where
ADDR lies in it, whether its header is valid (and why not), its buddy and
whether the buddy is free, and the callers where the heap records them."""

    def __init__(self):
        super().__init__('shomp-block')

    def run(self, argument):
        address = address_of(argument)
        heap = Heap()
        region = heap.region_of(address)
        if region is None:
            spans = ', '.join('0x%08x-0x%08x' % r for r in heap.regions) or 'none'
            raise ShompError('0x%08x is not in the heap (its regions: %s)' % (address, spans))
        i, start, end = region
        for header, problems in walk_region(heap, start, end):
            if problems:
                return self.corrupted(heap, address, header, problems, region)
            if header.block <= address < header.block + (1 << header.scale):
                return self.describe(heap, address, header, region)
        raise ShompError('the walk of region %d did not reach 0x%08x' % (i, address))

    def describe(self, heap, address, header, region):
        state = heap.state_name(header.state)
        lines = ['block 0x%08x: scale %d (%d bytes), %s, requested %d bytes' % (
            header.block, header.scale, 1 << header.scale, state, header.requested),
            '  ' + self.where(heap, address, header, state),
            '  header %s: valid (state 0x%02x, scale %d, check 0x%04x)' % (
                header.where, header.state, header.scale, header.check),
            '  region %d: 0x%08x-0x%08x' % region,
            '  buddy: ' + self.buddy(heap, header, region)]
        payload = (1 << header.scale) - heap.header_type.sizeof
        if state == 'allocated' and header.requested > payload:
            lines.append('  but requested %d bytes do not fit its %d-byte payload: the header '
                         'lies' % (header.requested, payload))
        if state == 'free':
            lines.append('  free list %d: %s' % (header.scale, self.linked(heap, header)))
        return lines + ['  ' + line for line in self.callers(heap, header)]

    @staticmethod
    def where(heap, address, header, state):
        offset, header_bytes = address - header.block, heap.header_type.sizeof
        payload = header.block + header_bytes
        if offset == 0:
            return '0x%08x is its start: the header (payload at 0x%08x)' % (address, payload)
        if offset < header_bytes:
            return '0x%08x is in its header, %d bytes in (payload at 0x%08x)' % (
                address, offset, payload)
        if address == payload:
            return '0x%08x is its payload: what kmalloc returned' % address
        return '0x%08x is %d bytes into its payload (payload at 0x%08x%s)' % (
            address, address - payload, payload, ', unused: the block is free' if state == 'free'
            else '')

    @staticmethod
    def buddy(heap, header, region):
        scale, buddy = header.scale, header.block ^ (1 << header.scale)
        if scale == heap.max_scale:
            return 'none: scale %d is the largest' % scale
        if not region[1] <= buddy < region[2]:
            return '0x%08x is outside region %d: none to merge with' % (buddy, region[0])
        other = read_header(heap, buddy)
        problems = header_problems(heap, other, region[2])
        if problems:
            return '0x%08x: header invalid (%s)' % (buddy, '; '.join(problems))
        other_state = heap.state_name(other.state)
        if other.scale < scale:
            return '0x%08x: split (its first block has scale %d and is %s), so not free' % (
                buddy, other.scale, other_state)
        if other.scale > scale:
            return '0x%08x claims scale %d, larger than its buddy: the tiling is broken' % (
                buddy, other.scale)
        return '0x%08x, scale %d: %s' % (buddy, scale, other_state) + (
            ' (two free buddies left unmerged: heap_check would fail)'
            if other_state == 'free' and heap.state_name(header.state) == 'free' else '')

    @staticmethod
    def linked(heap, header):
        node = header.block + heap.header_type.sizeof
        link = read_struct(heap.link_type, node)
        back = []
        for neighbour, side in ((link['next'], 'prev'), (link['prev'], 'next')):
            try:
                back.append(read_struct(heap.link_type, neighbour)[side] == node)
            except ShompError:
                back.append(False)
        state = 'linked both ways' if all(back) else 'NOT linked both ways'
        return '%s (next 0x%08x, prev 0x%08x)' % (state, link['next'], link['prev'])

    @staticmethod
    def callers(heap, header):
        names = [f.name for f in heap.header_type.strip_typedefs().fields()]
        kept = [(what, field) for what, field in CALLER_FIELDS if field in names]
        if not kept:
            return ['callers: not recorded (%s has no %s field)' % (
                HEADER_TYPE, ' or '.join(field for _, field in CALLER_FIELDS))]
        fields = read_struct(heap.header_type, header.block)
        return ['%s: %s' % (what, symbol_at(fields[field])) for what, field in kept]

    def corrupted(self, heap, address, header, problems, region):
        lines = ['block 0x%08x: header INVALID (%s): %s' % (header.block, header.where,
                                                            '; '.join(problems)),
                 '  as read: state 0x%02x (%s), scale %d, requested %d, check 0x%04x' % (
                     header.state, heap.state_name(header.state), header.scale,
                     header.requested, header.check),
                 '  the walk of region %d stops here: blocks after it cannot be vouched for'
                 % region[0]]
        claimed = header.scale if heap.min_scale <= header.scale <= heap.max_scale else None
        if claimed is not None and header.block <= address < header.block + (1 << claimed):
            return lines + ['  0x%08x is %d bytes into it, if its scale byte is right' % (
                address, address - header.block)]
        return lines + ['  0x%08x lies beyond it; %s' % (address, self.guess(heap, address,
                                                                                header, region))]

    @staticmethod
    def guess(heap, address, corrupt, region):
        """The largest valid header that, by alignment, would hold address: a guess."""
        for scale in range(heap.max_scale, heap.min_scale - 1, -1):
            start = address & ~((1 << scale) - 1)
            if start <= corrupt.block or start < region[1]:
                continue
            candidate = read_header(heap, start)
            if candidate.scale == scale and not header_problems(heap, candidate, region[2]):
                return ('by alignment, the valid header at 0x%08x (scale %d, %s) would hold it: '
                        'a guess' % (start, scale, heap.state_name(candidate.state)))
        return 'no valid header found by alignment either'


def symbol_at(address):
    if address == 0:
        return 'none'
    text = gdb.execute('info symbol 0x%x' % address, to_string=True).strip()
    return '0x%08x (%s)' % (address, text.split(' in section')[0])


class PageWalk(ShompCommand):
    """The page-directory and page-table entries for a virtual address.

Usage: shomp-pagewalk ADDR
Reads CR0, CR3 and CR4, then the 32-bit two-level tables from physical memory:
the PDE, the PTE (or a 4 MiB page under CR4.PSE), their flags in words and the
physical address, or where the walk stops (not present). With paging off it
says so: virtual = physical."""

    def __init__(self):
        super().__init__('shomp-pagewalk')

    def run(self, argument):
        address = address_of(argument)
        if address >> 32:
            raise ShompError('0x%x is wider than a 32-bit virtual address' % address)
        return page_walk(address)


class SlabInfo(ShompCommand):
    """The slab caches, one row each, in /proc/slabinfo's column order (the `d` key's table).

Usage: shomp-slabinfo
Reads the list at kmem_caches. A kernel without slab caches gets a one-line
"no slab caches" answer naming the symbol it looked for."""

    takes_argument = False

    def __init__(self):
        super().__init__('shomp-slabinfo')

    def run(self, argument):
        caches = slab_caches()
        if caches is None:
            return ['no slab caches in this kernel (symbol %s not found)' % SLAB_CACHES_SYMBOL]
        header = '# name            <active_objs> <num_objs> <objsize> <objperslab> ' \
                 '<pagesperslab> : slabdata <active_slabs> <num_slabs>'
        return ['slabinfo - version: 2.1 (ShompOS)', header] + [slab_row(c) for c in caches]


class Stats(ShompCommand):
    """The heap statistics exactly as the `s` key prints them (src/demo/report.c).

Usage: shomp-stats"""

    takes_argument = False

    def __init__(self):
        super().__init__('shomp-stats')

    def run(self, argument):
        s = heap_stats(Heap())
        lines = ['heap statistics:'] + ['  %s: %d bytes (%d KiB)' % (name, s[key], kib(s[key]))
                                        for name, key in STATS_BYTES]
        return lines + [
            '  allocations: %d  frees: %d' % (s['allocations'], s['frees']),
            '  failed allocations: %d  refused frees: %d' % (s['failed_allocations'],
                                                              s['refused_frees']),
            '  splits: %d  merges: %d' % (s['splits'], s['merges']),
            '  fragmentation: %d%%  regions: %d' % (s['fragmentation_percent'], s['regions'])]


STATS_BYTES = (('managed', 'managed_bytes'), ('free', 'free_bytes'),
               ('largest free block', 'largest_free_block'), ('allocated', 'allocated_bytes'),
               ('requested', 'requested_bytes'))

for command in (FreeLists, Walk, Block, PageWalk, SlabInfo, Stats):
    command()
gdb.write('ShompOS GDB commands: %s (help CMD for more)\n' % ', '.join(COMMANDS))
