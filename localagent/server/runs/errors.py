"""What the runs API refuses, each with its HTTP status."""

from __future__ import annotations

from fastapi import HTTPException


class RunError(HTTPException):
    """A request the runs API cannot serve; ``status`` is the HTTP status it answers with
    (FastAPI turns it into that response wherever it is raised)."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(status_code=self.status, detail=message)

    def __str__(self) -> str:
        return str(self.detail)


class BadRequest(RunError):
    status = 400


class RunsOff(RunError):
    status = 404


class OutsideRoots(RunError):
    status = 403


class NoSuchRun(RunError):
    status = 404


class NotNow(RunError):
    """The run is not in a state where this can be done (running, finished, waiting)."""

    status = 409


class TooLarge(RunError):
    status = 413


class ShuttingDown(RunError):
    status = 503
