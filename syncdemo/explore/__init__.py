"""The explorer: real worker threads under a deterministic scheduler (see explorer.py).

``syncdemo.explore`` is both this package and the public function
:func:`syncdemo.api.explore`: once any module in here is imported, Python binds the
package's name on ``syncdemo`` to this module, so calling the module calls the function.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _Package(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from syncdemo.api import explore

        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _Package
