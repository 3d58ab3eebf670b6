"""/about on a server without an about page shows the upstream's address: never its secrets."""

from __future__ import annotations

import pytest

from bot.handlers.commands import public_address


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://localhost:11434", "http://localhost:11434"),
        ("https://openrouter.ai/api", "https://openrouter.ai/api"),
        ("https://user:s3cret@proxy.example:8443/v1", "https://proxy.example:8443/v1"),
        ("https://gw.example/openai?api-key=s3cret#frag", "https://gw.example/openai"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://host:notaport/x", "http://host/x"),
    ],
)
def test_the_address_shown_has_no_credentials_query_or_fragment(url: str, shown: str) -> None:
    assert public_address(url) == shown
