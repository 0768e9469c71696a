"""Research simulations measured on the real evote code (``evote simulate``).

``evote`` never imports this package (only its command line does, to register
``evote simulate``); this package imports ``evote`` freely. The simulation's own random draws
are seeded here, with numpy generators; evote's keys and nonces keep coming from its own
randomness. See simulations/README.md.
"""
