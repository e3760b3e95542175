"""The Dockerfile as data, and its build replayed in a fresh venv (no Docker engine runs here).

``parse`` reads the stages and instructions. ``Replay`` runs a stage's WORKDIR, ARG, ENV, COPY and RUN lines the way
``docker build`` would, with every absolute container path mapped under one host folder (``/app`` becomes
``<root>/app``) and the fresh venv first on PATH, so ``pip`` and ``python`` in the RUN lines are the venv's. Two
deliberate differences, both so the replay can use this machine's pip setup: ``PIP_NO_CACHE_DIR`` is not applied (the
pip cache is reused), and an ARG whose default is empty is left unset (Docker would export it empty, which would
wipe the machine's own pip configuration, e.g. ``PIP_EXTRA_INDEX_URL``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_ENV = {"PIP_NO_CACHE_DIR"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """CMD/HEALTHCHECK's JSON argv (after HEALTHCHECK's own --options)."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1]
        return json.loads(text)


@dataclass(frozen=True)
class Stage:
    name: str | None
    instructions: tuple[Instruction, ...]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def instructions(path: Path) -> list[Instruction]:
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [Instruction(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def parse(path: Path) -> list[Stage]:
    stages: list[Stage] = []
    name: str | None = None
    body: list[Instruction] = []
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            if body:
                stages.append(Stage(name, tuple(body)))
            words = instruction.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            body = [instruction]
        else:
            body.append(instruction)
    stages.append(Stage(name, tuple(body)))
    return stages


def build_context(repo: Path, dest: Path) -> Path:
    """What ``docker build`` would send: the checkout's files (tracked, or new and not git-ignored) minus
    ``.dockerignore``'s patterns."""
    patterns = dockerignore_patterns(repo)
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (repo / name).is_file() and not dockerignored(name, patterns):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, dest / name)
    return dest


def dockerignore_patterns(repo: Path) -> list[str]:
    lines = (repo / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def dockerignored(name: str, patterns: list[str]) -> bool:
    """Whether ``.dockerignore`` keeps ``name`` (a path relative to the context) out of the build context; the
    patterns used here are names, globs and ``**/`` prefixes (no ``!`` exceptions)."""
    parts = name.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase(prefix, pattern.strip("/")) for prefix in prefixes):
            return True
    return False


@dataclass
class Replay:
    """Runs stages under ``root`` (the container's ``/``) with the venv's ``bin`` first on PATH."""

    root: Path
    context: Path
    venv: Path
    base_env: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    log: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def host(self, container_path: str) -> Path:
        path = Path(container_path)
        return self.root / path.relative_to("/") if path.is_absolute() else (self.cwd or self.root) / path

    def run_stage(self, stage: Stage, *, timeout: float) -> None:
        self.cwd, self.env = self.root, {}
        for instruction in stage.instructions:
            getattr(self, f"_{instruction.keyword.lower()}", self._other)(instruction.args, timeout)

    def process_env(self) -> dict[str, str]:
        return {**self.base_env, **self.env, "PATH": f"{self.venv / 'bin'}{os.pathsep}{self.base_env['PATH']}",
                "VIRTUAL_ENV": str(self.venv)}

    def _workdir(self, args: str, timeout: float) -> None:
        self.cwd = self.host(args)
        self.cwd.mkdir(parents=True, exist_ok=True)

    def _arg(self, args: str, timeout: float) -> None:
        name, _, default = args.partition("=")
        value = shlex.split(default)[0] if default.strip() else ""
        if value:
            self.env[name] = value

    def _env(self, args: str, timeout: float) -> None:
        for pair in shlex.split(args):
            name, _, value = pair.partition("=")
            if name not in SKIPPED_ENV:
                self.env[name] = str(self.host(value)) if value.startswith("/") else value

    def _copy(self, args: str, timeout: float) -> None:
        words = args.split()
        stage_copy = words[0].startswith("--from=")
        *sources, dest = words[1:] if stage_copy else words
        target = self.host(dest)
        for source in sources:
            origin = self.host(source) if stage_copy else self.context / source
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)

    def _run(self, args: str, timeout: float) -> None:
        self.log.append(f"RUN {args}")
        started = time.monotonic()
        done = subprocess.run(["/bin/sh", "-c", args], cwd=self.cwd, env=self.process_env(), capture_output=True,
                              text=True, timeout=timeout)
        self.timings.append((args, time.monotonic() - started))
        self.log.append(done.stdout[-3000:] + done.stderr[-3000:])
        if done.returncode != 0:
            raise AssertionError(f"RUN {args} exited {done.returncode} in {self.cwd}:\n" + "\n".join(self.log[-1:]))

    def _other(self, args: str, timeout: float) -> None:
        """FROM, VOLUME, EXPOSE, HEALTHCHECK, CMD: nothing to do at build time."""
