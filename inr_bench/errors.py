"""Errors caused by the user's input (config values, files): printed as one line, no traceback."""


class UserError(Exception):
    """A bad config value or input file; the message says what is wrong and what to do."""
