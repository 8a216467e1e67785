"""Harbor v2.0 API simulator: a test double with Harbor's real quirks (see docs/simulator.md).

syncd proper never imports this package; tests and ``syncd sim``/``syncd demo`` do.
"""

from syncd.sim.cluster import SimCluster
from syncd.sim.engine import SimTiming
from syncd.sim.instance import SimInstance

__all__ = ["SimCluster", "SimInstance", "SimTiming"]
