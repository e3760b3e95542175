"""A project reference, parsed once where it enters (the CLI's ``--project``, an HTTP request, a registry folder)
and passed down as it is.

A project is either a Label Studio project (its id, written as digits: ``3``) or a named project trained from
export files (``reviews``); with neither given it is ``default``. Label Studio sends a project as ``3``,
``"3.1700000000"`` (``/setup``: id and a timestamp) or ``{"id": 3, ...}`` (webhooks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import RegistryError

DEFAULT_PROJECT = "default"
FOLDER_PREFIX = "project-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ProjectRef:
    """A validated project: ``name`` is a Label Studio id as digits (no leading zeros) or a name."""

    name: str

    @classmethod
    def parse(cls, value: ProjectRef | str | int | None, *, where: str = "--project") -> ProjectRef:
        """A project from an id, a name, a folder name (``project-3``) or None (``default``); a ProjectRef is
        returned as it is. Anything else is a RegistryError naming ``where``."""
        if isinstance(value, ProjectRef):
            return value
        if value is None:
            return cls(DEFAULT_PROJECT)
        text = str(value).strip()
        text = text.removeprefix(FOLDER_PREFIX)
        if isinstance(value, bool) or not _NAME.match(text):
            raise RegistryError(f"{value!r} is not a project id or name", where=where,
                                hint="pass a Label Studio project id (e.g. 3) or a name of letters, digits, '_', '.', "
                                     "'-'")
        return cls(str(int(text)) if text.isdigit() else text)

    @classmethod
    def from_request(cls, value: object) -> ProjectRef | None:
        """The project Label Studio names in a request (``12``, ``"12.1700000000"``, ``{"id": 12}``); None when
        there is none or it is not a valid one."""
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, bool) or value is None:
            return None
        try:
            return cls.parse(str(value).split(".", 1)[0], where="project")
        except RegistryError:
            return None

    @property
    def studio_id(self) -> int | None:
        """The Label Studio project id, or None for a named project."""
        return int(self.name) if self.name.isdigit() else None

    def require_studio(self, *, where: str = "--project") -> int:
        """The Label Studio project id; a named project is a RegistryError saying what to pass instead."""
        if self.studio_id is None:
            raise RegistryError(f"project {self.name!r} is a named project, not a Label Studio project id",
                                where=where, hint="pass the id of a Label Studio project (e.g. --project 3)")
        return self.studio_id

    @property
    def folder(self) -> str:
        return f"{FOLDER_PREFIX}{self.name}"

    @property
    def sort_key(self) -> tuple[bool, int, str]:
        """Ids in numeric order first, then names."""
        return (self.studio_id is None, self.studio_id or 0, self.name)

    def __str__(self) -> str:
        return self.name
