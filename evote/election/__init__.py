"""The election layer: safe, high-level, pure domain logic over the crypto core."""
