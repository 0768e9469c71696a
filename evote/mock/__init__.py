"""Mock elections: every party of an election simulated in one process, for demos and research.

Nothing here is for a real election: simulated parties hold each other's secrets in memory.
"""
