"""The imports page (a thin script for st.navigation; the page is app_pages.imports)."""

from app_pages.imports import render

render()
