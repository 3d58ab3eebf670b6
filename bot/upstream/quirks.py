"""What the bot has learned about the upstream server and its models from their refusals.

Owns, in memory for the life of the process, the parameters each model refused (left out of its
requests from then on, and shown as "not used by this model" in /settings), whether the server
wants `max_completion_tokens` instead of `max_tokens`, and whether it takes `stream_options`.
Learning is monotonic — a parameter is only ever dropped, never put back — so the client's
"learn, then ask again" loop ends. No I/O: the client (client.py) feeds it refusals and builds
each body with what it knows (types.chat_body).

Why in memory and not in the store: it is a fact about the server, which can change under the
bot (an upgrade, another base URL), and a restart is how an operator says "try again"; after
one, each refused parameter costs a single extra request, at the model's first turn, to relearn.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from bot.errors import UpstreamParameterRejected
from bot.upstream.types import Quirks

log = logging.getLogger(__name__)

# Models remembered at once. Chats choose among the upstream's listed models, so a few dozen is
# usual; the bound is for a server that lists thousands (OpenRouter) and a long-running bot.
MAX_MODELS = 1024


class ServerQuirks:
    """The quirks of one server (one UpstreamClient): per model, and the server's own."""

    def __init__(self, *, max_models: int = MAX_MODELS) -> None:
        self._max_models = max_models
        self._models: OrderedDict[str, Quirks] = OrderedDict()
        self.stream_usage = True  # the server takes `stream_options`

    def of(self, model: str) -> Quirks:
        """What to leave out or rename in a request for `model`."""
        known = self._models.get(model, Quirks())
        return dataclasses.replace(known, stream_usage=self.stream_usage)

    def unused(self, model: str) -> frozenset[str]:
        """The parameters `model` refused: requests for it go without them."""
        known = self._models.get(model)
        return frozenset() if known is None else known.unused

    def learn(
        self, model: str, refusal: UpstreamParameterRejected, sent: Mapping[str, Any]
    ) -> bool:
        """Take in a refusal of the request `sent` for `model`; True when the next request will
        differ (then it is worth sending), False when nothing the refusal names can be changed."""
        known = self._models.get(model, Quirks())
        unused, field = set(known.unused), known.max_tokens_field
        changed = False
        for param in refusal.params:
            if param not in sent:
                continue
            if param == "stream_options":
                if self.stream_usage:
                    self.stream_usage, changed = False, True
                    log.info("the AI service refuses stream_options: usage no longer asked for")
            elif param == "max_tokens" and refusal.use_instead and field == "max_tokens":
                # Only when the server asks: Ollama ignores max_completion_tokens, so switching
                # unasked would silently lift the limit there.
                field, changed = refusal.use_instead, True
                log.info("model %s wants %s instead of max_tokens", model, field)
            elif param not in unused:
                unused.add(param)
                changed = True
                log.info("model %s refuses %s: it is left out from now on", model, param)
        if (frozenset(unused), field) != (known.unused, known.max_tokens_field):
            self._remember(model, Quirks(frozenset(unused), field))
        return changed

    def _remember(self, model: str, quirks: Quirks) -> None:
        self._models[model] = quirks
        self._models.move_to_end(model)
        while len(self._models) > self._max_models:
            self._models.popitem(last=False)
