#!/usr/bin/env python3
"""
screenshots.py - pictures of the running heap demo for the README: boots the
ISO in a headless QEMU, presses keys, and saves the screen as PNG (QMP
screendump) into docs/. Run it through `make screenshots`.

    docs/demo-boot.png        right after boot: status line, heap panel, prompt
    docs/demo-split.png       after 4 5 6 9 7 r: blocks split into buddies, one merge
    docs/demo-free-lists.png  then p: the free lists
    docs/demo-slab.png        then k k k k k d: a slab of demo-24 in the panel, slabinfo
    docs/demo-paging.png      then v n: the virtual memory map and a NULL-pointer report
    docs/demo-bad-frees.png   then q: bad frees, each refused with its report
"""

import argparse
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'qemu'))
from qemu import Machine  # noqa: E402  (needs the path above)

PICTURES = [                # (file name, keys pressed before it, one after another)
    ('demo-boot.png', ''),
    ('demo-split.png', '4569' + '7r'),
    ('demo-free-lists.png', 'p'),
    ('demo-slab.png', 'kkkkkd'),
    ('demo-paging.png', 'vn'),
    ('demo-bad-frees.png', 'q'),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('--iso', default=os.path.join(REPO, 'build', 'shompos.iso'))
    parser.add_argument('--out', default=os.path.join(REPO, 'docs'))
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)
    with Machine(options.iso) as machine:
        machine.wait_for_prompt()
        for name, keys in PICTURES:
            for key in keys:
                machine.press_and_wait(key)
            path = machine.screendump(os.path.join(options.out, name), format='png')
            print('wrote', path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
