"""Model markdown -> Telegram text + entities, cut into messages. Pure: no I/O, no Telegram calls.

convert.py  rendering a (possibly unfinished) reply, the plain fallback, splitting
source.py   the markdown side: rewriting the source before conversion, choosing cuts
"""
