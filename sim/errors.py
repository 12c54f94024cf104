"""Errors that reach the user as one line each, with exit code 2 (bad input)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in the user's input, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    field: str | None = None
    set_path: str | None = None  # the problem came from `--set PATH=VALUE`

    def __str__(self) -> str:
        if self.set_path is not None:
            return f"--set {self.set_path}: {self.message}"
        if self.file is None and self.line is None and self.field is None:
            return self.message  # a flag's problem names the flag itself
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}:{self.col or 1}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class InputError(Exception):
    """Bad input (scenario, trace, flags): exit code 2, one line per problem."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
