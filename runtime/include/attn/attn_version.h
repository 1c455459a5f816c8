/* attn_version.h - compile-time version of the attnc C API. */
#ifndef ATTN_VERSION_H
#define ATTN_VERSION_H

#define ATTN_VERSION_MAJOR 0
#define ATTN_VERSION_MINOR 1
#define ATTN_VERSION_PATCH 0
#define ATTN_VERSION_STRING "0.1.0"

#endif /* ATTN_VERSION_H */
