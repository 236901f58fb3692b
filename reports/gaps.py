"""The gap between clues and patrols: communities where risk and recent clues are high but the
inspection teams have seldom been, ranked, each with its reason in Chinese."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.coverage import visits
from store import Store

GAP_COLUMNS = ["code", "name", "risk", "clues", "inspections", "last_visit", "gap", "reason"]


def gaps(ws: Store, end: str, *, clue_days: int = 30, patrol_days: int = 10, saturation: int = 5,
         top: int | None = None) -> pd.DataFrame:
    """Communities ranked by ``gap = need / (1 + inspections)``: ``need`` averages the community's
    risk score and its clues of the last ``clue_days`` (capped at ``saturation``), ``inspections``
    are the visits of the last ``patrol_days``. The reason says it in words, e.g.
    "近30天举报9起，近10天未巡查"."""
    cells = ws.read("communities", columns=["code", "name"])
    risk = ws.read_optional("risk_cells", columns=["code", "risk_score"])
    scores = {} if risk is None else dict(zip(risk["code"], risk["risk_score"], strict=True))
    clues = ws.read_optional("clues", columns=["received_at", "community_code"])
    since = (pd.Timestamp(end) - pd.Timedelta(days=clue_days - 1)).strftime("%Y-%m-%d")
    if clues is None:
        recent_clues = pd.Series(dtype=int)
    else:
        day = clues["received_at"].fillna("").astype(str).str[:10]
        recent_clues = clues[(day >= since) & (day <= end)].groupby("community_code").size()
    patrol_since = (pd.Timestamp(end) - pd.Timedelta(days=patrol_days - 1)).strftime("%Y-%m-%d")
    seen = visits(ws, end)
    recent = seen[seen["date"].astype(str).str[:10] >= patrol_since].groupby("community_code").size()
    last = seen.groupby("community_code")["date"].max()
    out = pd.DataFrame({"code": cells["code"], "name": cells["name"]})
    out["risk"] = out["code"].map(scores).astype(float).fillna(0.0).round(3)
    out["clues"] = out["code"].map(recent_clues).fillna(0).astype(int)
    out["inspections"] = out["code"].map(recent).fillna(0).astype(int)
    out["last_visit"] = out["code"].map(last).fillna("")
    need = 0.5 * out["risk"] + 0.5 * np.minimum(1.0, out["clues"] / max(saturation, 1))
    out["gap"] = (need / (1 + out["inspections"])).round(4)
    out["reason"] = [
        f"近{clue_days}天举报{c}起，" + (f"近{patrol_days}天未巡查" if n == 0 else f"近{patrol_days}天巡查{n}次")
        + f"，风险分{r:.2f}" + (f"，最近一次 {v}" if v else "，从未巡查")
        for c, n, r, v in zip(out["clues"], out["inspections"], out["risk"], out["last_visit"], strict=True)
    ]
    ranked = out.sort_values(["gap", "clues"], ascending=False).reset_index(drop=True)[GAP_COLUMNS]
    return ranked.head(top) if top else ranked
