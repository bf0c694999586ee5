"""Ticket attachments on disk: checked, stored under server-chosen names, never served raw.

A file is accepted when its lower-cased final extension is allowed (ATTACHMENT_EXTENSIONS),
its size is within ATTACHMENT_MAX_MB (1 MB = 1,048,576 bytes, the unit the form shows) and
its first bytes are those of that kind of file. Files live under ATTACHMENT_DIR (outside
static/) named by a random token; the original name is kept only in the database.
"""
from __future__ import annotations

import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from models.errors import UserError

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC = {
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".pdf": (b"%PDF-",),
    ".doc": (_OLE2,),
    ".xls": (_OLE2,),
    ".docx": (b"PK\x03\x04",),
    ".xlsx": (b"PK\x03\x04",),
}
# Office Open XML files are zip archives; the part that makes them what they claim to be.
_OOXML_PART = {".docx": "word/document.xml", ".xlsx": "xl/workbook.xml"}
_CHUNK = 64 * 1024


@dataclass
class StoredFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int


def clean_filename(name: str) -> str:
    """The name to show and offer on download: no path, no control characters, accents kept."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if len(name) > 255:
        stem, ext = os.path.splitext(name)
        name = stem[: 255 - len(ext)] + ext
    return name


class AttachmentStore:
    def __init__(self, directory: str, extensions: list[str], max_mb: int, max_files: int):
        self.directory = Path(directory)
        self.extensions = [e.lower() for e in extensions]
        self.max_mb = max_mb
        self.max_bytes = max_mb * 1024 * 1024
        self.max_files = max_files

    @classmethod
    def from_config(cls, config) -> "AttachmentStore":
        return cls(config["ATTACHMENT_DIR"], config["ATTACHMENT_EXTENSIONS"], config["ATTACHMENT_MAX_MB"],
                   config["ATTACHMENT_MAX_FILES"])

    def path(self, stored_name: str) -> Path:
        if not stored_name.isalnum():  # stored names are hex tokens; anything else is not ours
            raise FileNotFoundError(stored_name)
        return self.directory / stored_name

    def validate_and_save(self, files) -> list[StoredFile]:
        """Check and store every file, or none: on the first bad one, delete those saved."""
        files = [f for f in files if f is not None and getattr(f, "filename", "")]
        if len(files) > self.max_files:
            raise UserError(_l("You can attach at most %(n)s files.", n=self.max_files))
        saved: list[StoredFile] = []
        try:
            for incoming in files:
                saved.append(self._save_one(incoming))
        except Exception:
            self.discard(saved)
            raise
        return saved

    def _save_one(self, incoming) -> StoredFile:
        name = clean_filename(incoming.filename)
        ext = os.path.splitext(name.lower())[1]
        if not name or ext not in self.extensions:
            raise UserError(_l("%(name)s: this type of file is not allowed. Allowed: %(allowed)s.",
                               name=name or "?", allowed=", ".join(self.extensions)))
        self.directory.mkdir(parents=True, exist_ok=True)
        stored_name = secrets.token_hex(16)
        target = self.directory / stored_name
        size = 0
        head = b""
        try:
            with open(target, "xb") as out:
                while True:
                    chunk = incoming.stream.read(_CHUNK)
                    if not chunk:
                        break
                    if len(head) < 16:
                        head += chunk[:16]
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UserError(_l("%(name)s is larger than %(max)s MB.", name=name, max=self.max_mb))
                    out.write(chunk)
            if size == 0:
                raise UserError(_l("%(name)s is empty.", name=name))
            if not self._content_matches(target, head, ext):
                raise UserError(_l("%(name)s does not contain what its extension says.", name=name))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return StoredFile(original_name=name, stored_name=stored_name, content_type=CONTENT_TYPES[ext], size=size)

    @staticmethod
    def _content_matches(path: Path, head: bytes, ext: str) -> bool:
        if not any(head.startswith(magic) for magic in _MAGIC.get(ext, ())):
            return False
        part = _OOXML_PART.get(ext)
        if part:
            try:
                with zipfile.ZipFile(path) as archive:
                    return part in archive.namelist()
            except zipfile.BadZipFile:
                return False
        return True

    def attach(self, session, stored: list[StoredFile], ticket, message) -> None:
        from models.support import Attachment

        for item in stored:
            session.add(Attachment(ticket_id=ticket.id, message_id=message.id, original_name=item.original_name,
                                   stored_name=item.stored_name, content_type=item.content_type, size=item.size))

    def discard(self, stored: list[StoredFile]) -> None:
        for item in stored:
            (self.directory / item.stored_name).unlink(missing_ok=True)
