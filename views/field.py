"""The field page (现场上报) (a thin script for st.navigation; the page is app_pages.field)."""

from app_pages.field import render

render()
