"""The fake upstream chat API server (`server.py`), the ways of other servers it can take on
(`providers.py`); its own tests are the test_*.py here."""

from tests.fakes.upstream.providers import Provider
from tests.fakes.upstream.server import (
    DEFAULT_MODELS,
    FakeUpstream,
    Fault,
    JsonDict,
    ReasoningStyle,
    ReplyScript,
    make_wav,
)

__all__ = [
    "DEFAULT_MODELS",
    "FakeUpstream",
    "Fault",
    "JsonDict",
    "Provider",
    "ReasoningStyle",
    "ReplyScript",
    "make_wav",
]
