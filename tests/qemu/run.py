#!/usr/bin/env python3
"""
run.py - run QEMU integration test modules: every function named test_* in
each module given, in the order the module defines them.

    python3 tests/qemu/run.py test_boot [--iso build/shompos.iso] [-k memory_map]

One line per test, "ok   name" or "FAIL name: reason" (then where it failed
and the end of each machine's serial log), and last "N passed, N failed";
the exit status is 1 when a test failed or none ran. A test is a plain
function: it fails by raising (assert, qemu.MachineError), it passes by
returning. Names are printed without their "test_" prefix.
"""

import argparse
import importlib
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the source tree
import qemu  # noqa: E402  (needs the path above)

SERIAL_TAIL_LINES = 25


def test_functions(module):
    """(name, function) for each test_* function, in definition order."""
    return [(name[len('test_'):], value) for name, value in vars(module).items()
            if name.startswith('test_') and callable(value)]


def failure_reason(error):
    message = str(error).strip()
    if isinstance(error, AssertionError) and message:
        return message
    return type(error).__name__ + (': ' + message if message else '')


def failure_place(error):
    """file:line of the innermost traceback frame inside this directory (the test or the driver)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(HERE)]
    frame = frames[-1] if frames else traceback.extract_tb(error.__traceback__)[-1]
    return '%s:%d: %s' % (os.path.basename(frame.filename), frame.lineno, frame.line)


def serial_tail(machine):
    text = machine.kernel_text() or machine.serial_text()
    lines = text.rstrip('\n').split('\n')[-SERIAL_TAIL_LINES:]
    header = 'serial log (last %d lines, -m %s%s), %s:' % (
        len(lines), machine.memory, ', UEFI ' + machine.uefi if machine.uefi else '', machine.describe_exit())
    return [header] + ['| ' + line for line in lines]


def run_test(name, function):
    """Run one test; print its line; return True when it passed."""
    qemu.started_machines.clear()
    try:
        function()
    except Exception as error:      # any exception is a failure; the others are not ours
        reason = failure_reason(error).split('\n')
        print('FAIL %s: %s' % (name, reason[0]))
        details = reason[1:] + ['at ' + failure_place(error)]
        for machine in qemu.started_machines:
            details += serial_tail(machine)
        for line in details:
            print('    ' + line)
        return False
    finally:
        for machine in qemu.started_machines:
            machine.close()         # a test that forgot `with` leaves no QEMU behind
    print('ok   %s' % name)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0].strip())
    parser.add_argument('modules', nargs='+', help='test modules in tests/qemu, e.g. test_boot')
    parser.add_argument('--iso', help='ISO to boot (default: build/shompos.iso)')
    parser.add_argument('-k', dest='filter', default='', help='run only tests whose name contains this')
    options = parser.parse_args()
    if options.iso:
        os.environ['SHOMPOS_ISO'] = os.path.abspath(options.iso)
    sys.stdout.reconfigure(line_buffering=True)     # lines appear as tests finish

    passed = failed = 0
    for module_name in options.modules:
        try:
            module = importlib.import_module(os.path.basename(module_name).removesuffix('.py'))
        except Exception as error:
            print('FAIL %s: cannot load it: %s' % (module_name, failure_reason(error)))
            failed += 1
            continue
        for name, function in test_functions(module):
            if options.filter in name:
                if run_test(name, function):
                    passed += 1
                else:
                    failed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
