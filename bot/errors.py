"""postbot's errors: one root, so each boundary (the command tree, the CLI, the loader) catches one type."""

from __future__ import annotations


class PostbotError(Exception):
    """Anything postbot raises on purpose."""


class UserFacingError(PostbotError):
    """Bad input or a missing thing: shown to the user as is (ephemerally), never logged as a bug."""


class ParseError(PostbotError):
    """Text that cannot be read as what it should be (a post file, a feed, a treaty text).

    `message` is the bare reason and `line` (1-based) points into the text when known; the
    place is added once, by `located`, so a message never says "line 1: line 1:".
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def located(self, where: str | None = None) -> str:
        """"where:line: reason", "line N: reason" or just the reason."""
        if where and self.line:
            return f"{where}:{self.line}: {self.message}"
        if where:
            return f"{where}: {self.message}"
        return f"line {self.line}: {self.message}" if self.line else self.message

    def __str__(self) -> str:
        return self.located()
