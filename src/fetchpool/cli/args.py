"""argparse pieces every subcommand shares: a parser that fails in one line, and the
value types whose errors say what was expected."""

from __future__ import annotations

import argparse
from typing import NoReturn

from ..errors import UsageError

__all__ = ["Parser", "per_second", "seconds", "whole"]


class Parser(argparse.ArgumentParser):
    """argparse that reports an error as one line instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc


def seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from exc


def per_second(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number per second") from exc
