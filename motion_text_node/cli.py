"""`motion-text`: the command-line entry point. Parses arguments and dispatches; no algorithms live here."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from motion_text_node import __version__
from motion_text_node.errors import UserError

#: Subcommand registrars: each adds its parser and sets ``func`` to a callable taking the parsed args.
Registrar = Callable[[argparse._SubParsersAction], None]


def _register_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the installation (ROS 2, interfaces, ONNX Runtime, text encoder, data)",
        description="Check that everything motion-text needs is installed and found. "
        "Exits 1 when something the nodes need is missing.",
    )
    p.set_defaults(func=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    from motion_text_node.doctor import format_report, run_checks

    checks = run_checks()
    print(format_report(checks))
    return 0 if all(c.ok for c in checks if c.required) else 1


def _registrars() -> list[Registrar]:
    from motion_text_node.commands import bag, bench, caption, data, demo, export, runtime, train

    return [_register_doctor, data.register, caption.register, train.register, export.register, runtime.register,
            bag.register, bench.register, demo.register]


def build_parser() -> argparse.ArgumentParser:
    """The full `motion-text` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="motion-text",
        description="A shared embedding space for human motion and text (contrastive learning), "
        "with ROS 2 nodes for live action recognition and command-to-motion retrieval.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _registrars():
        register(sub)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into a closed pipe raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run `motion-text`; user mistakes become one error line and exit code 2, Ctrl-C one line and 130, and a
    reader that closes the pipe early (``| head``) ends the command quietly."""
    command = "motion-text"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        command = f"motion-text {args.command}"
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean exit
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141  # what a shell reports for a process ended by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
