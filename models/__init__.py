"""Estimators, splits, evaluation, tiers and explanations (no file paths, no clock)."""

import os

# LightGBM's OpenMP worker threads spin (busy-wait) between parallel regions by default. On a machine whose cores
# are shared with other jobs the spinning threads take the cores the working ones need, and a fit runs several
# times slower: 100k rows x 80 features, 50 trees, 2 threads, load average 9 on 2 cores: 38.9 s wall spinning
# vs 12.7 s passive (1 thread: 12.5 s). The OpenMP runtime reads the policy once, when lightgbm loads it, and
# every import of lightgbm in the product is below this package, so the default is set here, first. A policy
# the user set wins. Passive waiting changes no result (LightGBM runs with `deterministic=True`).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
