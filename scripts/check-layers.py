#!/usr/bin/env python3
"""
check-layers.py - the kernel's include rules, checked (make check-layers).

    python3 scripts/check-layers.py [ROOT]

A file's layer is its folder: src/X/*.c and inc/X/*.h are layer X, boot/*.S
is boot, src/kernel.c is kernel. Layers, lowest first:

    lib < boot < cpu < drivers < console < memory < selftest < demo < kernel

A file may include headers of its own layer and of layers below it, never
above. Four checks, each printed as "ok   ..." or "FAIL ...", with one line
per offending file and include, then "N passed, N failed":

  1. every kernel file and every header it includes lies in a layer;
  2. no #include goes upwards;
  3. no chain of #includes comes back to where it started, from file to
     file or from folder to folder;
  4. only the boot-info module and kernel.c include boot/multiboot.h: the
     rest of the kernel reads the boot information from struct boot_info.

Only quoted includes ("dir/file.h") are the kernel's own; <...> are the
compiler's. Tests (tests/) may include anything and are not checked.
"""

import os
import re
import sys

LAYERS = ['lib', 'boot', 'cpu', 'drivers', 'console', 'memory', 'selftest', 'demo', 'kernel']
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}

# Headers only these files may include.
PRIVATE_HEADERS = {
    'boot/multiboot.h': {'src/boot/bootinfo.c', 'src/kernel.c'},
}

INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.MULTILINE)


def kernel_files(root):
    """Every source file of the kernel, as a path relative to root."""
    found = []
    for top, suffixes in (('src', ('.c',)), ('inc', ('.h',)), ('boot', ('.S',))):
        for directory, _, names in os.walk(os.path.join(root, top)):
            found += [os.path.relpath(os.path.join(directory, name), root)
                      for name in names if name.endswith(suffixes)]
    return sorted(found)


def layer_of_file(path):
    """src/cpu/idt.c -> cpu; boot/boot.S -> boot; src/kernel.c -> kernel; None if in no layer."""
    parts = path.split('/')
    if path == 'src/kernel.c':
        return 'kernel'
    if parts[0] == 'boot' and len(parts) == 2:
        return 'boot'
    if parts[0] in ('src', 'inc') and len(parts) == 3 and parts[1] in RANK and parts[1] != 'kernel':
        return parts[1]
    return None


def layer_of_include(name):
    """"cpu/idt.h" -> cpu; None for a header outside every layer's folder."""
    folder = name.split('/')[0] if '/' in name else None
    return folder if folder in RANK and folder != 'kernel' else None


def includes(root, path):
    """(line number, included name) for each quoted #include of the file."""
    with open(os.path.join(root, path), encoding='utf-8') as source:
        text = source.read()
    return [(text.count('\n', 0, found.start()) + 1, found.group(1)) for found in INCLUDE.finditer(text)]


def header_path(name):
    return 'inc/' + name


def check_every_file_in_a_layer(root, files):
    problems = []
    for path in files:
        if layer_of_file(path) is None:
            problems.append('%s: in no layer (a layer is one of src/%s/)' % (path, '|'.join(LAYERS[:-1])))
        for line, name in includes(root, path):
            if layer_of_include(name) is None:
                problems.append('%s:%d: #include "%s" names no layer\'s folder' % (path, line, name))
            elif not os.path.exists(os.path.join(root, header_path(name))):
                problems.append('%s:%d: #include "%s": there is no %s' % (path, line, name, header_path(name)))
    return problems


def check_no_include_upwards(root, files):
    problems = []
    for path in files:
        layer = layer_of_file(path)
        for line, name in includes(root, path):
            target = layer_of_include(name)
            if layer is None or target is None or RANK[target] <= RANK[layer]:
                continue
            allowed = ', '.join(LAYERS[:RANK[layer] + 1])
            problems.append('%s:%d: #include "%s" goes upwards: %s is above %s, which may include only %s'
                            % (path, line, name, target, layer, allowed))
    return problems


def include_graph(root, files):
    """file -> the files it includes (headers that exist)."""
    graph = {}
    for path in files:
        graph[path] = [header_path(name) for _, name in includes(root, path)
                       if os.path.exists(os.path.join(root, header_path(name)))]
    return graph


def find_cycle(graph):
    """One include cycle as a list of files (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = 'open'
        stack.append(node)
        for child in graph.get(node, []):
            if state.get(child) == 'open':
                return stack[stack.index(child):] + [child]
            if child not in state:
                cycle = visit(child)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 'done'
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def folder_graph(root, files):
    """folder -> the other folders its files include, and one include that makes each edge."""
    graph, example = {}, {}
    for path in files:
        layer = layer_of_file(path)
        for line, name in includes(root, path):
            target = layer_of_include(name)
            if layer is None or target is None or target == layer:
                continue
            graph.setdefault(layer, [])
            if target not in graph[layer]:
                graph[layer].append(target)
                example[(layer, target)] = '%s:%d includes "%s"' % (path, line, name)
    return graph, example


def check_no_cycle(root, files):
    problems = []
    cycle = find_cycle(include_graph(root, files))
    if cycle:
        problems.append('include cycle: ' + ' -> '.join(cycle))
    graph, example = folder_graph(root, files)
    cycle = find_cycle(graph)
    if cycle:
        problems.append('folder cycle: ' + ' -> '.join(cycle))
        problems += ['  ' + example[edge] for edge in zip(cycle, cycle[1:])]
    return problems


def check_private_headers(root, files):
    problems = []
    for path in files:
        for line, name in includes(root, path):
            allowed = PRIVATE_HEADERS.get(name)
            if allowed is not None and path not in allowed:
                problems.append('%s:%d: #include "%s": only %s may include it' % (
                    path, line, name, ' and '.join(sorted(allowed))))
    return problems


CHECKS = [
    ('every kernel file and every header it includes lies in a layer', check_every_file_in_a_layer),
    ('no #include goes upwards (%s)' % ' < '.join(LAYERS), check_no_include_upwards),
    ('no chain of #includes comes back to its start', check_no_cycle),
    ('only %s include boot/multiboot.h' % ' and '.join(sorted(PRIVATE_HEADERS['boot/multiboot.h'])),
     check_private_headers),
]


def main(arguments):
    root = arguments[1] if len(arguments) > 1 else os.path.join(os.path.dirname(__file__), '..')
    files = kernel_files(root)
    passed = failed = 0
    for name, check in CHECKS:
        problems = check(root, files)
        if problems:
            print('FAIL %s' % name)
            for problem in problems:
                print('    ' + problem)
            failed += 1
        else:
            print('ok   %s' % name)
            passed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
