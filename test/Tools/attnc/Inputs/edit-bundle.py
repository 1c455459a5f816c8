"""Edits one field of a kernel bundle and makes its checksum right again (bundle_format.h), so that
only the code's own manifest can tell: edit-bundle.py IN OUT FIELD=VALUE (causal, patch)."""
import struct
import sys

HEADER = 48  # BundleHeader: magic, format, header size, attnc major/minor/patch, entries, size, checksum
FIELDS = {"patch": (24, "<I"), "causal": (HEADER + 32 + 8, "<i")}


def fnv1a(data):
    h = 1469598103934665603
    for byte in data:
        h = ((h ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


src, dst, edit = sys.argv[1:4]
name, value = edit.split("=")
data = bytearray(open(src, "rb").read())
offset, fmt = FIELDS[name]
struct.pack_into(fmt, data, offset, int(value))
data[40:48] = bytes(8)  # the checksum covers the header with this field as zero
struct.pack_into("<Q", data, 40, fnv1a(data))
open(dst, "wb").write(data)
