"""The patrol areas page (包片区域) (a thin script for st.navigation; the page is app_pages.areas)."""

from app_pages.areas import render

render()
