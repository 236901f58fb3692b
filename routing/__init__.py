"""Patrol routing on the road network (see the routing issue); imports no Streamlit."""
