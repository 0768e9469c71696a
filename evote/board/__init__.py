"""The bulletin board: a generic, append-only transparency log of signed entries.

It knows bytes, hashes and signatures, not ballots: entry kinds and who may sign them are
declared by the layers above. ``merkle`` (RFC 9162), ``entry`` (the signed envelope),
``note`` and ``checkpoint`` (C2SP signed notes, checkpoints and cosignatures), ``witness``,
``store`` (the databases: SQLite and in-memory), ``log`` (the sequencer), ``record`` (the
public record's format and checks: what a verifier reads) and ``export`` (writing a record and
restoring one into a store).
"""
