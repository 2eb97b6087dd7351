"""nbgrader's markers in a cell's source, read in one place.

A solution cell's answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines, a
test cell's hidden tests between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` lines;
nbgrader's release removes both (``ClearSolutions``, ``ClearHiddenTests``). Everything in the
course that needs to know what is inside them (the grader, the feedback's leak check, the release
and website tests, the mutation tests) asks this module, which reads a line as a marker the way
nbgrader does: when it contains ``BEGIN <kind>`` or ``END <kind>``.

Example::

    >>> source = "check(f(1), 2)\\n### BEGIN HIDDEN TESTS\\ncheck(f(9), 8)\\n### END HIDDEN TESTS"
    >>> without(source)
    'check(f(1), 2)'
    >>> lines(source, INSIDE)
    ['check(f(9), 8)']
"""

from __future__ import annotations

from collections.abc import Sequence

SOLUTION, HIDDEN = "SOLUTION", "HIDDEN TESTS"
BOTH = (SOLUTION, HIDDEN)
# What a line of a source is: outside every block, a marker line, or inside a block.
OUTSIDE, MARKER, INSIDE = "outside", "marker", "inside"


def runs(source: str, kinds: Sequence[str] = BOTH) -> list[tuple[str, str]]:
    """``source`` cut into runs of consecutive lines of one kind: ``(OUTSIDE | MARKER | INSIDE, text)``.

    Each marker line is a run of its own; the texts keep their line ends, so joining them gives
    ``source`` back. Only the blocks of ``kinds`` count (``SOLUTION``, ``HIDDEN`` or both).
    """
    found: list[tuple[str, str]] = []
    inside = False
    for line in source.splitlines(keepends=True):
        if any(f"BEGIN {kind}" in line for kind in kinds):
            state, inside = MARKER, True
        elif any(f"END {kind}" in line for kind in kinds):
            state, inside = MARKER, False
        else:
            state = INSIDE if inside else OUTSIDE
        if found and found[-1][0] == state != MARKER:
            found[-1] = (state, found[-1][1] + line)
        else:
            found.append((state, line))
    return found


def lines(source: str, *states: str, kinds: Sequence[str] = BOTH) -> list[str]:
    """The lines of ``source`` (without line ends) that are in one of ``states``, in order."""
    return [line for state, text in runs(source, kinds) if state in states for line in text.splitlines()]


def without(source: str, kinds: Sequence[str] = (HIDDEN,)) -> str:
    """``source`` without its blocks of ``kinds``, markers included: what the release shows of it."""
    return "\n".join(lines(source, OUTSIDE, kinds=kinds))


def has(source: str, kind: str) -> bool:
    """Whether ``source`` opens a block of ``kind``."""
    return any(state == MARKER and f"BEGIN {kind}" in text for state, text in runs(source, (kind,)))
