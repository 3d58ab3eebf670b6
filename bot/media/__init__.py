"""What users send besides text: photos and documents, albums, audio (ffmpeg off the event loop).

attachments.py  photos as image parts, which documents are text, PDF, Word or office (pure)
document_text.py  a document's text fenced and fitted to the context budget (pure)
albums.py       gathering an album's updates into one turn
audio.py        audio conversions: voice notes out, audio in (formats, limits of each)
ffmpeg.py       one bounded ffmpeg run, the only way the bot starts ffmpeg
capacity.py     how much media work runs at once: conversion slots, the audio byte budget
processes.py    killing and reaping a child process (ffmpeg, the document worker)
documents.py    PDF and Word files read as text, in a worker process within time and memory limits
document_reader.py  what runs in that worker: its own limits, then pypdf or python-docx,
                one JSON answer
"""
