"""The leaders page (a thin script for st.navigation; the page is app_pages.leaders)."""

from app_pages.leaders import render

render()
