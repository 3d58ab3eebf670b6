"""Model markdown -> Telegram text + entities, cut into messages. Pure: no I/O, no Telegram calls.

convert.py  rendering a (possibly unfinished) reply, the plain fallback, splitting into messages
walker.py   telegramify-markdown's conversion with its super-linear steps replaced
entities.py the converter's entities cut to Telegram's nesting rules, bad link URLs dropped
prepare.py  the source rewritten before conversion, so that the converter loses none of it
cuts.py     where a piece ends (block, line, sentence, word or hard cut), fences carried over
reasoning.py  a reasoning model's thinking: the "thinking" line, its reasoning quoted above the
              answer
"""
