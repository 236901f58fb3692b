"""The four-level responsibility grid: workspace storage, coordinates, building and checking.

County (县/区) → township or street (乡镇/街道) → community or village (社区/村) → building
(楼栋). This package imports no Streamlit; ``layers`` and ``routing`` build on it.
"""

from core.errors import CRSError, InputError, SchemaError, WorkspaceError

__all__ = ["CRSError", "InputError", "SchemaError", "WorkspaceError"]
