"""The grid page (a thin script for st.navigation; the page is app_pages.grid)."""

from app_pages.grid import render

render()
