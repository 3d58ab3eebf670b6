"""The use case: one turn of a chat, from the user's message to the stored reply.

Knows nothing of Telegram: it writes into the reply-sink protocols (`sinks.py`) that `delivery/`
implements. Import from the modules:
  service.py      ConversationService: the order of a turn, from arrival to its chat's turn
  arrivals.py     a redelivered message known (queued, stored, kept); a new one kept in the
                  inbox while it waits
  reply_jobs.py   the backlog caps; a queued reply's job run to its end (the watcher told,
                  its room under the limits given back, its sink closed)
  again.py        answering the latest question again, admitted and queued like a turn
  turns.py        a turn's shapes: UserTurn, Origin, Outcome, TurnWatcher
  answer.py       answering a turn whose time has come: store, generate (with less history
                  while the context overflows), store (the reasoning apart) and show; answering
                  the latest question again (/retry, an edit) the same way
  queues.py       per-chat order: a queue and a worker per busy chat; the backlog counts
  admission.py    refusing a turn: too long, over its user's limits, too much waiting
  limits.py       per-user rate limits and quotas, counted from a turn's arrival
  request.py      the upstream request: history window as OpenAI messages (answers only,
                  roles alternating)
  generation.py   streaming one reply until it ends, fails or is stopped; reasoning kept apart,
                  a notice when the model cut or filtered it
  sinks.py        where a reply goes (protocols), its reasoning too (ThinkingSink)
  preferences.py  what a chat may change with /settings, /system and /voice
  transcript.py   a conversation as a Markdown document (/export)
"""
