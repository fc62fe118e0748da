"""What the package's command-line tools share."""


def description(doc: str) -> str:
    """A tool's --help description: its module docstring's first paragraph, on one line."""
    return " ".join(doc.split("\n\n")[0].split())
