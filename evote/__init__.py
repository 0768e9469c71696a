"""evote: verifiable electronic voting for local elections and referendums."""

__version__ = "0.1.0"
