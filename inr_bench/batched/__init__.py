"""Many signals in one run: K networks (signal sets × seeds) trained as one batched model.

``is_batched(cfg)`` says whether a config asks for it; ``inr_bench.batched.loop.train_many``
runs it (imported lazily by the loop, since it imports ``inr_bench.train``).
"""

from inr_bench.batched.members import Member, expand_members, is_batched
from inr_bench.batched.stack import StackedNetworks

__all__ = ["Member", "StackedNetworks", "expand_members", "is_batched"]
