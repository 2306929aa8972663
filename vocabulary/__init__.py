"""Dropin's shared vocabulary: the names both the server and the wire use (error codes, room
actions). It imports nothing of Dropin's, so every layer may import it."""
