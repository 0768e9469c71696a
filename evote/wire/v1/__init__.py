"""GENERATED from protos/evote/wire/v1 by `make protos`; committed; never edited by hand."""
