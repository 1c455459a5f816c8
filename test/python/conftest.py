"""pytest setup for the attn Python package.

Run from a build: PYTHONPATH=<build>/python python3 -m pytest test/python -q (ctest does this as
the 'python-bindings' test). Kernels are cached in $ATTN_CACHE_DIR, a fresh temporary directory
unless set, so that every run compiles what it tests.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("ATTN_CACHE_DIR", tempfile.mkdtemp(prefix="attn-pytest-cache-"))
