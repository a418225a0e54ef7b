"""The known-problem exception of the product, importable without pandas (the CLI catches it before parsing data)."""

import re

#: Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts colour, title and
#: clipboard sequences, CR rewrites the line, BEL rings), DEL, C1 controls (CSI), and bidi embeddings, overrides
#: and isolates (they reorder what follows). Data values and column names reach messages as written.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


#: The password of a URI's user info (`https://ann:secret@host`, MLflow's client sends it as basic auth): it ends up
#: in the text of errors (an artefact request's `401 ... for url: https://ann:secret@host/api/...`).
_URI_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^/@\s]+@")


def without_passwords(text: str) -> str:
    """`text` with the password of every URI in it written as `***` (`https://ann:***@host`): the one rule for
    what messages, logs, manifests and pages show of a tracking URI."""
    return _URI_PASSWORD.sub(r"\1***@", text)


def printable(text: str) -> str:
    """`text` with every `_UNSHOWABLE` character written as its escape (`\\x1b`, `\\u202e`): what a terminal or a
    batch log shows is what the data holds, never a sequence run by the terminal; and never a URI's password
    (`without_passwords`)."""
    return _UNSHOWABLE.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), without_passwords(text)
    )


class StructuralError(ValueError):
    """The input cannot be used at all: a table or column is missing, a file unreadable, a column unparseable.

    Its message shows data values and column names with their control characters escaped (`printable`)."""

    def __str__(self) -> str:
        return printable(super().__str__())
