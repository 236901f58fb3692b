"""What every package shares: the error classes and the Asia/Shanghai clock. Imports no Streamlit."""
