/* Compiled as C99 with -Wall -Wextra -Werror -pedantic: attn_runtime.h must be plain C99. */
#include "attn/attn_jit_plugin.h" /* includes attn_runtime.h */

#include <stdio.h>

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
  return 0;
}
