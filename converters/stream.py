"""Read an export file in bounded memory, with exactly the errors of reading it whole.

Three readers, each holding at most a chunk (plus the item or line being read):
- ``check_file``: one pass over the bytes; raises what ``converters.corpus.read_text`` raises (unreadable, empty,
  BOM, not UTF-8 with its line) and returns the line count and the line of the first ``\\r`` (``read_text_lines``'
  CRLF check is the caller's, since only the CONLL route makes it).
- ``JsonItems``: the items of a top-level JSON list one at a time, parsed by the standard library's own scanner
  (so values and every ``not valid JSON (..., column N)`` message equal ``json.loads`` on the whole text). A file
  whose top level is not a list is handed to ``json.loads`` whole: it is an error either way.
- ``iter_lines``: the elements of ``text.split("\\n")`` (``--tolerant``: after CRLF and CR became LF), one by one.

Call ``check_file`` first: the other two assume the bytes are valid UTF-8. ``text_key`` is the 16-byte digest that
the duplicate checks keep per distinct text instead of its tokens.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from converters.corpus import read_text
from core.errors import InputFormatError

CHUNK = 1 << 20  # characters (or bytes) read at a time
MARGIN = 64  # a parse is trusted once this many characters follow where the scanner stopped (it looks ahead <= 12)
_BLANK = " \t\n\r\x0b\x0c"  # what bytes.strip() removes: read_text's test for an empty file
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_BOM = b"\xef\xbb\xbf"


def _trailing_comma() -> tuple[str, bool]:
    """How this Python reports ``[0,]`` (3.11: 'Expecting value' at the ``]``; newer ones may name the comma)."""
    try:
        json.loads("[0,]")
    except json.JSONDecodeError as exc:
        return exc.msg, exc.pos == 2
    raise AssertionError("json.loads accepted a trailing comma")  # pragma: no cover


_TRAILING_MSG, _TRAILING_AT_COMMA = _trailing_comma()


@dataclass(frozen=True)
class FileFacts:
    lines: int  # len(read_text_lines(path, tolerant=...)) for a file that passes its checks
    first_cr_line: int | None  # the line of the first "\r", or None


def _open_bytes(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputFormatError(f"cannot read the file ({exc.strerror})", where=str(path),
                               hint="check the path") from exc


def _read(handle: IO[bytes], path: Path, size: int) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise InputFormatError(f"cannot read the file ({exc.strerror})", where=str(path),
                               hint="check the path") from exc


def check_file(path: Path, *, tolerant: bool = False, chunk: int | None = None) -> FileFacts:
    """The checks of ``read_text`` in one bounded pass (same messages, same order), plus line facts."""
    chunk = chunk or CHUNK
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines, crs, crlfs, first_cr_line, blank, last = 0, 0, 0, None, True, ""
    with _open_bytes(path) as handle:
        data = _read(handle, path, max(chunk, len(_BOM)))
        if data.startswith(_BOM):
            if not tolerant:
                raise InputFormatError("the file starts with a UTF-8 byte-order mark", where=f"{path}:1",
                                       hint="save it as UTF-8 without BOM, or pass --tolerant")
            blank, data = False, data[3:] or _read(handle, path, chunk)
        while True:
            final = not data
            try:
                text = decoder.decode(data, final=final)
            except UnicodeDecodeError as exc:
                line = newlines + bytes(exc.object[:exc.start]).count(b"\n") + 1
                raise InputFormatError(f"byte {exc.object[exc.start]:#04x} is not UTF-8", where=f"{path}:{line}",
                                       hint="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from exc
            if blank and text.strip(_BLANK):
                blank = False
            if first_cr_line is None and "\r" in text:
                first_cr_line = newlines + text.count("\n", 0, text.index("\r")) + 1
            crs += text.count("\r")
            crlfs += text.count("\r\n") + (last == "\r" and text.startswith("\n"))
            newlines += text.count("\n")
            last = text[-1:] or last
            if final:
                break
            data = _read(handle, path, chunk)
    if blank:
        raise InputFormatError("the file is empty", where=str(path), hint="pass a file with at least one sentence")
    lines = newlines + (crs - crlfs if tolerant else 0) + 1
    return FileFacts(lines, first_cr_line)


def open_text(path: Path, *, tolerant: bool, newline: str | None) -> IO[str]:
    """The file as text after ``check_file`` passed: a BOM dropped when ``tolerant`` (there is none otherwise)."""
    return path.open(encoding="utf-8-sig" if tolerant else "utf-8", newline=newline)


def head(path: Path, *, tolerant: bool, size: int = 4096) -> str:
    """The first ``size`` characters, as ``read_text(path)[:size]``."""
    with open_text(path, tolerant=tolerant, newline="") as handle:
        return handle.read(size)


def iter_lines(path: Path, *, tolerant: bool) -> Iterator[str]:
    """The elements of ``read_text_lines(path)`` one at a time (the file has passed ``check_file`` and, unless
    ``tolerant``, has no ``\\r``)."""
    ended = True  # an empty file, or one ending in "\n", has an empty last element
    with open_text(path, tolerant=tolerant, newline=None) as handle:  # universal newlines = the tolerant rule
        for line in handle:
            ended = line.endswith("\n")
            yield line[:-1] if ended else line
    if ended:
        yield ""


def text_key(tokens: tuple[str, ...]) -> bytes:
    """A 16-byte digest standing for a text's tokens: duplicate checks keep these instead of the tokens."""
    return hashlib.blake2b(repr(tokens).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def json_error(path: Path, msg: str, lineno: int, colno: int) -> InputFormatError:
    return InputFormatError(f"not valid JSON ({msg}, column {colno})", where=f"{path}:{lineno}",
                            hint="export the project again; do not edit the file by hand")


def load_whole(path: Path, *, tolerant: bool) -> Any:
    """``json.loads`` of the whole file (for a top level that is not a list: an error in any case)."""
    try:
        return json.loads(read_text(path, tolerant=tolerant))
    except json.JSONDecodeError as exc:
        raise json_error(path, exc.msg, exc.lineno, exc.colno) from exc


class JsonItems:
    """The items of the top-level JSON list in ``path``, parsed one at a time.

    ``is_list``: the first non-space character is ``[`` (otherwise read the file with ``load_whole``). Iterating
    yields each item; an error anywhere (inside an item, between items, after the list) raises ``json_error`` with
    the message, line and column ``json.loads`` gives for the whole text.
    """

    def __init__(self, path: Path, *, tolerant: bool, chunk: int | None = None) -> None:
        self.path, self.tolerant, self.chunk = path, tolerant, chunk or CHUNK
        self._scan = json.JSONDecoder().scan_once  # the scanner json.loads uses (C when available)
        with open_text(path, tolerant=tolerant, newline="") as handle:
            start = handle.read(self.chunk)
            while start.strip(" \t\n\r") == "" and (more := handle.read(self.chunk)):
                start += more
        self.is_list = start.lstrip(" \t\n\r").startswith("[")

    def __iter__(self) -> Iterator[Any]:
        with open_text(self.path, tolerant=self.tolerant, newline="") as handle:
            yield from _Parser(handle, self.path, self._scan, self.chunk).items()


class _Parser:
    def __init__(self, handle: IO[str], path: Path, scan: Any, chunk: int) -> None:
        self.handle, self.path, self.scan, self.chunk = handle, path, scan, chunk
        self.buf, self.pos, self.eof = "", 0, False
        self.base, self.base_lines, self.base_last_nl = 0, 0, -1  # offset of buf[0]; "\n"s before it; last one

    def _more(self) -> bool:
        """Append the next chunk (as long as the unconsumed text at least, so a long item is re-scanned a few
        times, not once a chunk), dropping what was consumed; False (buffer untouched) at the end of the file."""
        if self.eof:
            return False
        data = self.handle.read(max(self.chunk, len(self.buf) - self.pos))
        if not data:
            self.eof = True
            return False
        if self.pos:
            dropped = self.buf.count("\n", 0, self.pos)
            if dropped:
                self.base_lines += dropped
                self.base_last_nl = self.base + self.buf.rfind("\n", 0, self.pos)
            self.base += self.pos
            self.buf, self.pos = self.buf[self.pos:] + data, 0
        else:
            self.buf += data
        return True

    def _fail(self, msg: str, at: int) -> InputFormatError:
        lineno = self.base_lines + self.buf.count("\n", 0, at) + 1
        last = self.buf.rfind("\n", 0, at)
        colno = at - last if last >= 0 else self.base + at - self.base_last_nl
        return json_error(self.path, msg, lineno, colno)

    def _skip_space(self) -> str:
        """Move past JSON whitespace; the next character, or "" at the end of the file."""
        while True:
            self.pos = _JSON_SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos:self.pos + 1]

    def _value(self) -> Any:
        """One JSON value at ``pos``, re-read with more text until the scanner stopped well before the end."""
        while True:
            try:
                value, end = self.scan(self.buf, self.pos)
            except StopIteration as err:
                msg, at, reach = "Expecting value", err.value, err.value
            except json.JSONDecodeError as err:
                msg, at = err.msg, err.pos
                reach = len(self.buf) if msg.startswith("Unterminated string") else err.pos
            else:
                if len(self.buf) - end >= MARGIN or not self._more():
                    self.pos = end
                    return value
                continue
            if len(self.buf) - reach >= MARGIN or not self._more():
                raise self._fail(msg, at)

    def items(self) -> Iterator[Any]:
        self._skip_space()  # the caller checked that a "[" comes first
        self.pos += 1
        if self._skip_space() != "]":
            while True:
                yield self._value()
                following = self._skip_space()
                if following == "]":
                    break
                if following != ",":
                    raise self._fail("Expecting ',' delimiter", self.pos)
                comma = self.pos
                self.pos += 1
                if self._skip_space() == "]" and _TRAILING_AT_COMMA:
                    raise self._fail(_TRAILING_MSG, comma)  # pragma: no cover - Python >= 3.13
        self.pos += 1
        if self._skip_space():
            raise self._fail("Extra data", self.pos)
