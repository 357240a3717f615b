"""The lists that compare and sweep read from the command line: counts and NAME:SYNC specs."""

from __future__ import annotations

#: A sweep runs at most this many points (thread counts x iteration counts).
MAX_POINTS = 64
LIST_SYNTAX = "a list (1,2,4,8), a range (1-16 or 1..16) or powers of two (pow2:64)"


class ListError(ValueError):
    """A --threads or --iterations list that cannot be read; the message says why."""


def parse_counts(text: str, low: int, high: int) -> tuple[int, ...]:
    """Read '1,2,4,8', '1-16', '1..16', 'pow2:64' or a mix of them: sorted, no repeats.

    Sorted because a sweep is an axis: the table and the chart read left to right.
    """
    values: set[int] = set()
    for part in text.split(","):
        item = part.strip()
        if not item:
            raise ListError(f"{text!r} has an empty item; write {LIST_SYNTAX}.")
        values.update(_item(item, low, high))
        if len(values) > MAX_POINTS:
            raise ListError(f"{text!r} gives more than {MAX_POINTS} values; a sweep takes fewer.")
    return tuple(sorted(values))


def _item(item: str, low: int, high: int) -> list[int]:
    if item.lower().startswith("pow2:"):
        top = _bounded(_number(item[5:], item), low, high, item)
        return [1 << k for k in range(top.bit_length()) if (1 << k) >= low]
    for sep in ("..", "-"):
        first_text, found, last_text = item.partition(sep)
        if found and first_text.strip():
            first = _bounded(_number(first_text, item), low, high, item)
            last = _bounded(_number(last_text, item), low, high, item)
            if first > last:
                raise ListError(
                    f"{item!r} counts down, so it is empty; did you mean {last}{sep}{first}?"
                )
            if last - first >= MAX_POINTS:
                raise ListError(
                    f"{item!r} gives {last - first + 1} values; a sweep takes at most "
                    f"{MAX_POINTS} (try pow2:{last})."
                )
            return list(range(first, last + 1))
    return [_bounded(_number(item, item), low, high, item)]


def _number(text: str, item: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise ListError(f"{item!r} is not a number; write {LIST_SYNTAX}.") from None


def _bounded(value: int, low: int, high: int, item: str) -> int:
    if not low <= value <= high:
        where = "" if str(value) == item else f" (in {item!r})"
        raise ListError(f"{value}{where} is outside {low} to {high:,}.")
    return value


def parse_spec(text: str) -> tuple[str, str | None, str | None]:
    """'counter:lock@asyncio' -> ('counter', 'lock', 'asyncio'); 'counter' -> ('counter',
    None, None): every strategy, on the runtimes --runtime gives. A colon promises a
    strategy and an @ a runtime: 'counter:' or 'counter@' is an error, not all of them."""
    head, at, runtime = text.partition("@")
    name, colon, sync = head.partition(":")
    name = name.strip()
    if colon and not sync.strip():
        raise ListError(
            f"{text!r} names no strategy after the colon: give one ({name}:STRATEGY), "
            f"or just {name!r} for all of them."
        )
    if at and not runtime.strip():
        raise ListError(f"{text!r} names no runtime after the @: threads, asyncio or processes.")
    return name, sync.strip() or None, runtime.strip() or None
