"""Errors whose message says all, printed as one line with no traceback: bad input (config values,
files) and a diverged run."""


class UserError(Exception):
    """A bad config value or input file; the message says what is wrong and what to do."""


class NonFiniteLossError(RuntimeError):
    """The loss or the weights became NaN or inf; the message names the step range and the
    last good checkpoint."""
