"""The protobuf boundary: generated code in ``v1`` (never edited by hand) and its conversion.

Entries, hashes and notes cross the wire as the bytes and text they are; protobuf only carries
them, and nothing evote hashes or signs is ever protobuf-encoded.
"""
