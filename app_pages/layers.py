"""Layers page: institutions, clues, high-risk places, hotspots and risk, with a table in step with the map."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_cache import data_version, load_grid, load_optional
from core.visits import target_of
from grid.demo import DEMO_LABEL
from i18n import lang, t
from layers import schema
from layers.places import PLACE_LABELS
from layers.render import (
    CLUE_COLOR,
    HOT_COLOR,
    STATUS_COLORS,
    PointLayer,
    add_grid_level,
    add_point_layer,
    add_points,
    add_surface,
    base_map,
    finish_map,
    layer_switcher,
    legend_html,
    point_layer,
    risk_color,
)

TOGGLES = ("show_institutions", "show_clues", "show_places", "show_surface", "show_hot")


def _labels(vocabulary: str, codes: pd.Series) -> pd.Series:
    """The UI-language label of each code (each distinct code looked up once: thousands of rows)."""
    language = lang()
    return codes.map({c: schema.label(vocabulary, c, language) for c in codes.dropna().unique()}).fillna(codes)


def _institutions(path: str) -> gpd.GeoDataFrame | None:
    institutions = load_optional(path, "institutions")
    sites = load_optional(path, "risk_sites")
    if institutions is None:
        return None
    frame = institutions.copy()
    if sites is not None:
        scores = (
            sites[sites["site_type"] == "institution"]
            .assign(institution_id=lambda f: f["site_id"].map(target_of))
            .set_index("institution_id")
        )
        frame["risk_score"] = frame["institution_id"].map(scores["risk_score"])
        frame["risk_reasons"] = frame["institution_id"].map(scores["risk_reasons"])
    frame["status_label"] = _labels("status", frame["status"])
    frame["kind_label"] = _labels("kind", frame["kind"])
    return frame


Filters = tuple[tuple[str, ...], tuple[str, ...], str | None, float, str]  # statuses, kinds, township, risk, text


def _filters(townships: pd.DataFrame) -> Filters:
    """The institution filters the user chose (the widgets above the map)."""
    col1, col2, col3, col4 = st.columns(4)
    statuses = col1.multiselect(
        t("f_status"),
        [s.code for s in schema.INSTITUTION_STATUSES],
        key="f_status",
        placeholder=t("all"),
        format_func=lambda c: schema.label("status", c, lang()),
    )
    kinds = col2.multiselect(
        t("f_kind"),
        [k.code for k in schema.INSTITUTION_KINDS],
        key="f_kind",
        placeholder=t("all"),
        format_func=lambda c: schema.label("kind", c, lang()),
    )
    names = townships.set_index("code")["name"].to_dict()
    township = col3.selectbox(
        t("choose_township"),
        [None, *sorted(names)],
        key="f_township",
        format_func=lambda c: t("all") if c is None else names[c],
    )
    minimum = col4.slider(t("f_min_risk"), 0.0, 1.0, 0.0, 0.05, key="f_min_risk")
    text = st.text_input(t("f_text"), key="f_text", placeholder=t("f_text_hint"))
    return tuple(statuses), tuple(kinds), township, float(minimum), text


def _filtered(frame: gpd.GeoDataFrame, filters: Filters) -> gpd.GeoDataFrame:
    statuses, kinds, township, minimum, text = filters
    keep = pd.Series(True, index=frame.index)
    if statuses:
        keep &= frame["status"].isin(statuses)
    if kinds:
        keep &= frame["kind"].isin(kinds)
    if township:
        keep &= frame["township_code"].fillna("") == township
    if minimum > 0 and "risk_score" in frame:
        keep &= frame["risk_score"].fillna(0) >= minimum
    if text:
        keep &= frame["name"].fillna("").str.contains(text, regex=False) | frame["address"].fillna("").str.contains(
            text, regex=False
        )
    return frame[keep]


@st.cache_data(show_spinner=False, max_entries=4)
def _clues_layer(path: str, version: str, language: str) -> PointLayer:
    """The complaint clues as a map layer, built once per data version and language."""
    clues = load_optional(path, "clues")
    if clues is None:  # the layer is gone since the page read it
        return PointLayer(t("clues_layer"), {}, "[]", (), ())
    view = clues.assign(category_label=_labels("category", clues["category"]),
                        status_label=_labels("clue_status", clues["status"]))
    return point_layer(view, name=t("clues_layer"), color=CLUE_COLOR, radius=3, labels={
        "_title": "clue_id", "clue_id": t("clue_id"), "received_at": t("received_at"),
        "category_label": t("category"), "status_label": t("clue_status"), "content": t("content"),
        "source": t("responsible_source"),
    })


@st.cache_data(show_spinner=False, max_entries=16)
def _institutions_layer(path: str, version: str, filters: Filters, language: str) -> PointLayer:
    """The filtered institutions as a map layer, built once per data version, filter and language."""
    frame = _institutions(path)
    if frame is None:  # the layer is gone since the page read it
        return PointLayer(t("institutions_layer"), {}, "[]", (), ())
    shown = _filtered(frame, filters)
    return point_layer(
        shown,
        name=t("institutions_layer"),
        color=[STATUS_COLORS.get(s, "#555") for s in shown["status"]],
        fill_color=[risk_color(s) if s == s else "#ccc" for s in shown.get("risk_score", [0.0] * len(shown))],
        radius=8,
        labels={
            "name": t("name"),
            "status_label": t("f_status"),
            "kind_label": t("f_kind"),
            "address": t("address"),
            "risk_score": t("risk_score"),
            "risk_reasons": t("risk_reasons"),
            "last_inspected": t("last_inspected"),
            "source": t("responsible_source"),
        },
    )


def _legend() -> None:
    items = [(STATUS_COLORS[s.code], schema.label("status", s.code, lang())) for s in schema.INSTITUTION_STATUSES]
    items += [
        (CLUE_COLOR, t("clues_layer")),
        (risk_color(0.9), t("places_layer") + " / " + t("surface_layer")),
        (HOT_COLOR, t("hot_layer")),
    ]
    st.markdown(legend_html(items, title=t("legend"), note=t("layers_demo_note")), unsafe_allow_html=True)


def render() -> None:
    """Render the layers page."""
    path = st.session_state["workspace"]
    grid = load_grid(path)
    st.header(t("layers_header"))
    institutions = _institutions(path)
    clues = load_optional(path, "clues")
    sites = load_optional(path, "risk_sites")
    surface = load_optional(path, "hotspot_surface")
    cells = load_optional(path, "hotspot_cells")
    if institutions is None and clues is None:
        st.info(t("layers_empty"))
        return
    as_of = sites["as_of"].iloc[0] if sites is not None and len(sites) else "—"
    st.caption(t("layers_caption").format(as_of=as_of))
    cols = st.columns(len(TOGGLES))
    for col, key in zip(cols, TOGGLES, strict=True):
        col.checkbox(t(key), value=key != "show_places", key=key)
    filters = _filters(grid["townships"]) if institutions is not None else None
    shown = _filtered(institutions, filters) if institutions is not None and filters is not None else None
    m = base_map(tuple(grid["buildings"].total_bounds if len(grid["buildings"]) else grid["county"].total_bounds),
                 canvas=True)
    add_grid_level(
        m,
        grid["communities"],
        "communities",
        name=t("communities"),
        labels={"name": t("name"), "responsible_name": t("responsible_name")},
    )
    if surface is not None:
        add_surface(
            m,
            surface,
            name=t("surface_layer"),
            hot_name=t("hot_layer"),
            show_surface=st.session_state.get("show_surface", True),
            show_hot=st.session_state.get("show_hot", True),
        )
    if cells is not None and st.session_state.get("show_hot", True) and (cells["label"] == "hot").any():
        add_grid_level(
            m,
            cells[cells["label"] == "hot"].assign(code="hot"),
            "communities",
            name=t("hot_cells_layer"),
            labels={"name": t("name"), "gi_z": "Gi* z", "p_value": "p"},
        )
    if sites is not None and st.session_state.get("show_places"):
        places = sites[sites["site_type"] == "place"].copy()
        language = 0 if lang() == "zh" else 1
        places["kinds_label"] = [
            "、".join(PLACE_LABELS[k][language] for k in str(v).split(";") if k in PLACE_LABELS)
            for v in places["place_kinds"]
        ]
        add_points(
            m,
            places,
            name=t("places_layer"),
            color=[risk_color(s) for s in places["risk_score"]],
            radius=4,
            labels={
                "name": t("name"),
                "kinds_label": t("place_kinds"),
                "risk_score": t("risk_score"),
                "risk_reasons": t("risk_reasons"),
            },
        )
    if clues is not None and st.session_state.get("show_clues", True):
        add_point_layer(m, _clues_layer(path, data_version(path, ("clues",)), lang()))
    institutions_group = None  # redrawn alone when a filter changes (the map itself is not reloaded)
    if shown is not None and filters is not None and st.session_state.get("show_institutions", True):
        layer = _institutions_layer(path, data_version(path, ("institutions", "risk_sites")), filters, lang())
        institutions_group = add_point_layer(m, layer, attach=False)
    left, right = st.columns([4, 1])
    with left:
        st_folium(finish_map(m, switcher=False), key="layers_map", height=560, use_container_width=True,
                  returned_objects=[], feature_group_to_add=institutions_group, layer_control=layer_switcher())
    with right:
        _legend()
    if shown is not None:
        st.subheader(t("institutions_layer") + f"（{len(shown)} / {0 if institutions is None else len(institutions)}）")
        table = shown[
            [
                "name",
                "status_label",
                "kind_label",
                "address",
                "risk_score",
                "risk_reasons",
                "last_inspected",
                "location_status",
                "source",
            ]
        ].sort_values("risk_score", ascending=False)
        located = _labels("location_status", table["location_status"]).tolist()
        table = table.assign(location_status=located)
        st.dataframe(
            table.rename(columns=lambda c: t(c if c in ("name", "address") else f"col_{c}")),
            hide_index=True,
            width="stretch",
        )
    if cells is not None:
        st.subheader(t("hot_cells_table"))
        hot = cells.drop(columns="geometry").sort_values("gi_z", ascending=False)
        hot = hot.assign(label=[t("hot_yes") if v == "hot" else "" for v in hot["label"]])
        columns = {"code": t("code"), "name": t("name"), "clues": t("col_clues"), "clues_recent": t("col_clues_recent"),
                   "weighted": t("col_weighted"), "gi_z": t("col_gi_z"), "p_value": t("col_p_value"),
                   "label": t("col_hot")}
        st.dataframe(hot[list(columns)].rename(columns=columns), hide_index=True, width="stretch")
    if any(src == DEMO_LABEL for src in (institutions["source"] if institutions is not None else [])):
        st.caption(t("layers_demo_note"))
