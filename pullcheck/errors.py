"""Exit codes and the exceptions that carry them to the command line.

Every failure a user can cause or meet (bad input, no cluster, RBAC) is raised as a
PullcheckError subclass; the CLI prints its one-line message and exits with its code.
"""
from __future__ import annotations

EXIT_OK = 0            # no pull problem
EXIT_PROBLEM = 1       # a pull problem was found
EXIT_USAGE = 2         # usage or input error
EXIT_CLUSTER = 3       # cluster access error: no kubeconfig, unreachable API server, forbidden


class PullcheckError(Exception):
    """An error with a one-line message meant for the user and a documented exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(PullcheckError):
    """Bad arguments or an unreadable/invalid input file."""

    exit_code = EXIT_USAGE


class ClusterError(PullcheckError):
    """The cluster could not be reached or refused us."""

    exit_code = EXIT_CLUSTER
