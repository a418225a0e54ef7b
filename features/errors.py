"""The known-problem exception of the product, importable without pandas (the CLI catches it before parsing data)."""


class StructuralError(ValueError):
    """The input cannot be used at all: a table or column is missing, a file unreadable, a column unparseable."""
