"""What Telegram makes of uploaded bytes: audio formats and image sizes, sniffed from headers.

Owns: recognising the formats sendVoice accepts as a voice note (OGG/Opus, MP3, M4A; anything else
becomes a document, as on Telegram) and reading PNG/JPEG dimensions for sendPhoto (anything else is
IMAGE_PROCESS_FAILED). Pure functions over bytes; no server state.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
UPLOAD_LIMIT = 50 * 1024 * 1024  # bots may upload at most this much


@dataclass(frozen=True, slots=True)
class AudioFormat:
    name: str
    mime_type: str
    extension: str
    plays_as_voice: bool


def sniff_audio(data: bytes) -> AudioFormat:
    """The audio container and codec of `data`, as far as its first bytes tell."""
    if data.startswith(b"OggS"):
        if b"OpusHead" in data[:512]:
            return AudioFormat("ogg/opus", "audio/ogg", "oga", plays_as_voice=True)
        return AudioFormat("ogg", "audio/ogg", "ogg", plays_as_voice=False)
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return AudioFormat("mp3", "audio/mpeg", "mp3", plays_as_voice=True)
    if data[4:8] == b"ftyp":
        return AudioFormat("m4a", "audio/mp4", "m4a", plays_as_voice=True)
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return AudioFormat("wav", "audio/x-wav", "wav", plays_as_voice=False)
    return AudioFormat("unknown", "application/octet-stream", "bin", plays_as_voice=False)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG image, or None if the bytes are neither."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if not data.startswith(b"\xff\xd8"):
        return None
    index = 2
    while index + 9 <= len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        # SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        index += 2 + int(length)
    return None


def photo_sizes(width: int, height: int) -> list[tuple[str, int, int]]:
    """The sizes Telegram stores for a photo: thumbnails up to 90 and 320 px, then the original."""
    sizes: list[tuple[str, int, int]] = []
    for label, side in (("s", 90), ("m", 320)):
        longest = max(width, height)
        if longest > side:
            scale = side / longest
            sizes.append((label, max(1, round(width * scale)), max(1, round(height * scale))))
    sizes.append(("x", width, height))
    return sizes
