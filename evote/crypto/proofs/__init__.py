"""Zero-knowledge proofs of the protocol, each bound to its whole statement (crypto spec §5)."""
