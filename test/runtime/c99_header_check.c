/* Compiled as C99 with -Wall -Wextra -Werror -pedantic: attn_runtime.h must be plain C99. Also
 * what only a C caller can do: pass an enum argument that is none of its values. */
#include "attn/attn_jit_plugin.h" /* includes attn_runtime.h */

#include <stdio.h>
#include <string.h>

int main(void) {
  int32_t major = -1, minor = -1, patch = -1;
  attn_status status = attn_get_version(&major, &minor, &patch);
  if (status != ATTN_STATUS_SUCCESS) {
    fprintf(stderr, "attn_get_version: %s\n", attn_status_string(status));
    return 1;
  }
  if (major != ATTN_VERSION_MAJOR || minor != ATTN_VERSION_MINOR) {
    fprintf(stderr, "runtime %d.%d.%d, header %s\n", (int)major, (int)minor, (int)patch,
            ATTN_VERSION_STRING);
    return 1;
  }
  {
    attn_context *context = NULL;
    attn_device_info info;
    if (attn_context_create(NULL, &context) != ATTN_STATUS_SUCCESS) {
      fprintf(stderr, "attn_context_create: %s\n", attn_last_error());
      return 1;
    }
    info.struct_size = sizeof(info);
    status = attn_context_get_device(context, (attn_target)7, &info);
    if (status != ATTN_STATUS_INVALID_ARGUMENT || !strstr(attn_last_error(), "target is 7")) {
      fprintf(stderr, "attn_context_get_device(target 7): %s: %s\n", attn_status_string(status),
              attn_last_error());
      return 1;
    }
    if (attn_context_get_device(context, ATTN_TARGET_CPU, &info) != ATTN_STATUS_SUCCESS ||
        info.target != ATTN_TARGET_CPU) {
      fprintf(stderr, "attn_context_get_device(cpu): %s\n", attn_last_error());
      return 1;
    }
    (void)attn_context_destroy(context);
  }
  return 0;
}
