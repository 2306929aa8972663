"""Dropin's domain types: rooms, members, hands, invitations, questions, room events, schedules.

Plain data with no I/O and no wire format: the state plane stores them, the service acts on
them, and server/wire.py translates them into the protocol's messages.
"""
