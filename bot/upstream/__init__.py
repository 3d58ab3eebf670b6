"""The OpenAI-compatible chat API: the HTTP client, decoding its replies, the model catalogue.

Knows nothing of Telegram, the store or the history: callers hand in a ready request.
  client.py   every HTTP call, its timeouts and retries, httpx errors translated at this edge
  sse.py      server-sent events framing: a response's lines in, events out
  decode.py   what comes back means: chunks, completions, models, /about, error bodies, Retry-After
  thinking.py `<think>` tags in a reply's content, split off as reasoning while it streams
  types.py    the values callers hand in and get back: ChatRequest, Delta, Completion, ModelInfo
  catalog.py  which of the upstream's models a chat may choose (a cached listing)

Errors a caller sees (the client retries only before the first delta is yielded):

    refused, DNS (dns=True), network down, dropped early   UpstreamUnavailable              retried
    connect, pool or write timeout                         UpstreamTimeout("connect")       retried
    no text within `first_token` s of sending the request  UpstreamTimeout("first_token")   no
    no new text for `idle` s once text flows               UpstreamTimeout("idle")          no
      (reasoning counts as text for both clocks)
    status >= 400                                          UpstreamHTTPError  429/502/503/504 are,
                                                             unless Retry-After is over 30 s
    connection cut after the response began                UpstreamProtocolError("stream cut")
    bad JSON, no choices, an end without [DONE] or
      finish_reason, a 200 HTML page instead of a stream   UpstreamProtocolError
    an {"error"} object in a 200 body or in the stream     UpstreamReportedError (decode.error_from)
"""
