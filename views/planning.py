"""The planning page (a thin script for st.navigation; the page is app_pages.planning)."""

from app_pages.planning import render

render()
