"""The one exception whose message is meant for the user who typed the command."""


class UserFacingError(Exception):
    """Bad input or a missing thing: shown ephemerally as is, never logged as a bug."""
