"""The known-problem exception of the product, importable without pandas (the CLI catches it before parsing data)."""

import re

#: Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts colour, title and
#: clipboard sequences, CR rewrites the line, BEL rings), DEL, C1 controls (CSI), and bidi embeddings, overrides
#: and isolates (they reorder what follows). Data values and column names reach messages as written.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every `_UNSHOWABLE` character written as its escape (`\\x1b`, `\\u202e`): what a terminal or a
    batch log shows is what the data holds, never a sequence run by the terminal."""
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class StructuralError(ValueError):
    """The input cannot be used at all: a table or column is missing, a file unreadable, a column unparseable.

    Its message shows data values and column names with their control characters escaped (`printable`)."""

    def __str__(self) -> str:
        return printable(super().__str__())
