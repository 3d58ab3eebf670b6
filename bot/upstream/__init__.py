"""The OpenAI-compatible chat API: the HTTP client, decoding its replies, the model catalogue.

Knows nothing of Telegram, the store or the history: callers hand in a ready request.
  client.py   every HTTP call, httpx errors translated at this edge, a refused parameter resent
  clocks.py   the connect, first-token and idle timeouts, and the deadline each read must meet
  retries.py  which failures are tried again (the table below), the backoff, Retry-After's cap
  sse.py      server-sent events framing: a response's lines in, events out
  decode.py   what comes back means: chunks, completions, models, error bodies, Retry-After
  about.py    the upstream's /about document as indented `key: value` lines people read
  refusals.py which refusals mean "context too long" or "parameter not supported", by wording
  quirks.py   what the server and each model refused, remembered: parameters left out from then on
  thinking.py `<think>` tags in a reply's content, split off as reasoning while it streams
  types.py    the values callers hand in and get back: ChatRequest, Delta, Completion, ModelInfo;
              chat_body, the one place a request becomes a body
  catalog.py  which of the upstream's models a chat may choose (a cached listing)

Errors a caller sees (the client retries only before the first delta is yielded):

    refused, DNS (dns=True), network down, dropped early   UpstreamUnavailable              retried
    connect, pool or write timeout                         UpstreamTimeout("connect")       retried
    no text within `first_token` s of sending the request  UpstreamTimeout("first_token")   no
    no new text for `idle` s once text flows               UpstreamTimeout("idle")          no
      (reasoning counts as text for both clocks)
    status >= 400                                          UpstreamHTTPError  408/429/500/502/503/
                                                             504/529 are, unless Retry-After is over
                                                             30 s; x-should-retry: true|false rules
    a 4xx saying the context is too long                   UpstreamContextOverflow          no (the
                                                             conversation sends less history)
    a 400 refusing parameters (temperature, top_p, …)      UpstreamParameterRejected  sent again
                                                             at once without them; raised only
                                                             when none of them was sent
    connection cut after the response began, or a stream
      ending without [DONE] or finish_reason               UpstreamCut   retried before the first
                                                             delta (nothing was shown), not after
    bad JSON, no choices, a 200 HTML page instead of a
      stream                                               UpstreamProtocolError
    an {"error"} object in a 200 body or in the stream     UpstreamReportedError (decode.error_from)
"""
