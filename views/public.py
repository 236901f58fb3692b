"""The public page (a thin script for st.navigation; the page is app_pages.public)."""

from app_pages.public import render

render()
