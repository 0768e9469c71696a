"""The dealer-free key ceremony (crypto spec §3.5) as pure state machines: messages in, out.

``messages`` are the bodies guardians post on the board; ``trustee`` is one guardian's side
(its secrets never leave it except sealed to their recipient); ``outcome`` is the public
judgement anyone can compute from the board: who qualified, who must be disqualified, and,
when everyone qualified, the election context.

Scheme B (threshold Paillier) has a trusted dealer instead: ``dealer`` holds the dealer's run
(the key and the shares sealed to the guardians) and each guardian's side (accept its share or
refuse it, acknowledge, decrypt), with the same ``messages`` module for its entries.
"""
