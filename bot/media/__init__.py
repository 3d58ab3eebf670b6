"""What users send besides text: photos and documents, albums, audio (ffmpeg off the event loop).

attachments.py  photos as image parts, text documents as fenced text (pure)
albums.py       gathering an album's updates into one turn
audio.py        every ffmpeg run: voice notes out, audio in
"""
