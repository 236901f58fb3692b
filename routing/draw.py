"""Verifiable random draws (双随机): sites drawn with known probabilities, and commitments.

All randomness of a plan comes from one secret seed through SHA-256, never from a library's
random generator, so that anyone holding the seed and the plan's recorded inputs can redo the
draw years later, on any machine, with any version of numpy:

* ``uniform(seed, *labels)`` — a number in [0, 1) named by its labels;
* ``inclusion_probabilities`` — each site's chance to be drawn: proportional to its weight
  (risk), but never below ``low`` (nobody is impossible) nor above ``high`` (nobody is
  certain), summing to the sample size;
* ``systematic_sample`` — systematic PPS sampling over a seed-shuffled order: every site is
  drawn with exactly its probability and the sample has a fixed size;
* ``commitment(seed, inputs)`` — the hash published when the plan is made; after the
  inspections the seed is revealed and anyone can check the draw against it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

import numpy as np


def new_seed() -> str:
    """A fresh secret seed (128 bits, hex)."""
    return secrets.token_hex(16)


def uniform(seed: str, *labels: object) -> float:
    """A uniform number in [0, 1) derived from ``seed`` and ``labels`` by SHA-256."""
    text = "|".join([seed, *map(str, labels)]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:7], "big") / float(1 << 56)


def shuffled(seed: str, label: str, items: Sequence[str]) -> list[str]:
    """``items`` in a seed-determined random order."""
    return sorted(items, key=lambda item: (uniform(seed, label, item), item))


def canonical(obj: Any) -> str:
    """The JSON text hashed for a commitment: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of ``obj``."""
    return hashlib.sha256(canonical(obj).encode("utf-8")).hexdigest()


def commitment(seed: str, inputs_digest: str) -> str:
    """The public commitment to a draw: SHA-256 of the secret seed and the inputs' digest."""
    return hashlib.sha256(f"{seed}:{inputs_digest}".encode()).hexdigest()


def inclusion_probabilities(weights: np.ndarray, n: float, low: float, high: float) -> np.ndarray:
    """Probabilities ``clip(c·w, low, high)`` with ``c`` chosen so that they sum to ``n``.

    ``n`` is first brought into ``[low·N, high·N]``, the range the bounds allow.
    """
    weights = np.asarray(weights, dtype=float)
    count = len(weights)
    if count == 0:
        return weights
    n = float(min(max(n, low * count), high * count))
    # at either bound every site has the same probability; summing count equal floats may fall a
    # hair short of n (0.95 × 13 > sum of thirteen 0.95s), so decide these cases without searching
    if n >= high * count * (1 - 1e-12):
        return np.full(count, float(high))
    if n <= low * count * (1 + 1e-12):
        return np.full(count, float(low))
    weights = np.nan_to_num(weights, nan=0.0, posinf=0.0, neginf=0.0)
    positive = weights[weights > 0]
    if positive.size == 0:
        weights = np.ones(count)
    else:  # a site without weight still ranks below every other, but can be lifted towards ``high``
        weights = np.where(weights > 0, weights, max(float(positive.min()) * 1e-3, np.finfo(float).tiny))
    lo_c, hi_c = 0.0, 1.0
    for _ in range(1100):  # every weight is positive, so c·w reaches ``high`` for all well before 2**1100
        if np.clip(hi_c * weights, low, high).sum() >= n:
            break
        hi_c *= 2.0
    for _ in range(200):
        mid = (lo_c + hi_c) / 2
        if np.clip(mid * weights, low, high).sum() < n:
            lo_c = mid
        else:
            hi_c = mid
    return np.clip(hi_c * weights, low, high)


def revisits_due(seed: str, hazards: Sequence[Sequence[object]]) -> list[str]:
    """The revisits drawn for today: visit ``v`` with hazard ``h`` is due if ``uniform(seed, "revisit", v) < h``.

    A hazard of ``1 / days left in the window`` on each day makes every day of the window equally likely.
    """
    return sorted(str(v) for v, h in hazards if uniform(seed, "revisit", v) < float(h))  # type: ignore[arg-type]


def systematic_sample(seed: str, label: str, ids: Sequence[str], probabilities: np.ndarray) -> list[str]:
    """Draw ids with systematic PPS sampling; id ``i`` is drawn with probability ``probabilities[i]``.

    The ids are put in a seed-shuffled order, their probabilities laid end to end on a line,
    and the ids under the points ``u, u+1, u+2, …`` are drawn, with ``u`` uniform in [0, 1).
    """
    prob = dict(zip(ids, np.asarray(probabilities, dtype=float), strict=True))
    order = shuffled(seed, f"{label}:order", list(ids))
    start = uniform(seed, f"{label}:start")
    drawn, total = [], 0.0
    for site in order:
        before, total = total, total + prob[site]
        if np.floor(total - start) > np.floor(before - start):
            drawn.append(site)
    return sorted(drawn)
