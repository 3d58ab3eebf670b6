"""The OpenAI-compatible chat API: the HTTP client, decoding its replies, the model catalogue.

Knows nothing of Telegram, the store or the history: callers hand in a ready request.
  client.py   every HTTP call, its timeouts and retries, httpx errors translated at this edge
  sse.py      server-sent events framing: a response's lines in, events out
  decode.py   what comes back means: chunks, completions, models, /about, error bodies, Retry-After
  types.py    the values callers hand in and get back: ChatRequest, Delta, Completion, ModelInfo
  catalog.py  which of the upstream's models a chat may choose (a cached listing)
"""
