"""The teams and inspectors page (检查组与人员) (a thin script for st.navigation; the page is app_pages.teams)."""

from app_pages.teams import render

render()
