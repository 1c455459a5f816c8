//===- kernel_image.h - the container of a device kernel image ------------===//
//
// Device code (SPIR-V, PTX or cubin) travels in one container wherever it is stored: the
// compiler plugin's disk cache and attnc's bundles. It carries the code, its manifest (the
// problem and tiles it was built for, attn_kernel_manifest.h) and the launch layout the runtime
// needs (entry points present, workgroup size, shared memory, workgroup layout of a GQA group).
// Header-only: the runtime, the plugin and attnc share it. Little-endian, like every target here.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_KERNEL_IMAGE_H
#define ATTN_RUNTIME_CORE_KERNEL_IMAGE_H

#include "attn/attn_jit_plugin.h"

#include <cstring>
#include <string>

namespace attn::image {

constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'I', 'M', 'G', 'E'};
constexpr uint32_t kVersion = 6; // 6: GPU block_table; 5: alibi, sinks; 4: page_size
constexpr uint32_t kSpirvMagic = 0x07230203;
constexpr char kElfMagic[4] = {0x7f, 'E', 'L', 'F'};

struct ImageHeader {
  char magic[8];
  uint32_t version;
  uint32_t imageKind; // attn_image_kind
  attn_kernel_manifest manifest;
  int32_t entryThreads[ATTN_GPU_ENTRY_COUNT];     // workgroup (CTA) size of each entry point
  int32_t entrySharedBytes[ATTN_GPU_ENTRY_COUNT]; // shared memory of each (dynamic on CUDA)
  int64_t teams, headChunks;
  uint32_t entryMask; // bit i: gpu_entries[i] (ATTN_GPU_ENTRY_*) is in the code
  uint32_t layout;    // attn_gpu_layout of attn_main / attn_decode
  uint64_t codeSize;  // bytes of code after the header
};
static_assert(sizeof(ImageHeader) == 272, "ImageHeader has no padding");

/// The entry point names and binding counts of the Vulkan ABI (attn_jit_plugin.h).
inline const char *entryName(int index) {
  static const char *const names[ATTN_GPU_ENTRY_COUNT] = {"attn_main", "attn_decode", "attn_merge",
                                                          "attn_linear"};
  return names[index];
}
inline int32_t entryBindings(int index) {
  static const int32_t bindings[ATTN_GPU_ENTRY_COUNT] = {
      ATTN_VK_MAIN_BINDINGS, ATTN_VK_DECODE_BINDINGS, ATTN_VK_MERGE_BINDINGS,
      ATTN_VK_LINEAR_BINDINGS};
  return bindings[index];
}

inline std::string encode(ImageHeader header, const void *code, size_t size) {
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.codeSize = size;
  std::string bytes(reinterpret_cast<const char *>(&header), sizeof(header));
  bytes.append(static_cast<const char *>(code), size);
  return bytes;
}

/// Checks the container's own structure (not the manifest: the runtime's kernelDefect does);
/// on success `code` points at the code inside `data`. `why` says what is wrong otherwise.
inline bool decode(const void *data, size_t size, ImageHeader &header, const void *&code,
                   std::string &why) {
  if (size < sizeof(ImageHeader) || std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    why = "not a kernel image";
    return false;
  }
  std::memcpy(&header, data, sizeof(header));
  if (header.version != kVersion) {
    why = "a kernel image of version " + std::to_string(header.version) + " (this reads " +
          std::to_string(kVersion) + ")";
    return false;
  }
  code = static_cast<const unsigned char *>(data) + sizeof(header);
  uint32_t firstWord = 0;
  why.clear();
  if (header.codeSize + sizeof(header) != size) {
    why = "a kernel image whose code size does not match its length";
  } else if (header.imageKind == ATTN_IMAGE_SPIRV) {
    if (header.codeSize < 20 || header.codeSize % 4 ||
        (std::memcpy(&firstWord, code, 4), firstWord != kSpirvMagic))
      why = "a kernel image whose code is not a SPIR-V module";
  } else if (header.imageKind == ATTN_IMAGE_PTX) {
    if (header.codeSize < 8 ||
        std::string(static_cast<const char *>(code), header.codeSize).find(".version") ==
            std::string::npos)
      why = "a kernel image whose code is not PTX";
  } else if (header.imageKind == ATTN_IMAGE_CUBIN) {
    if (header.codeSize < 4 || std::memcmp(code, kElfMagic, 4) != 0)
      why = "a kernel image whose code is not a cubin";
  } else {
    why = "a kernel image of kind " + std::to_string(header.imageKind) +
          " (this reads SPIR-V, "
          "PTX and cubin)";
  }
  if (!why.empty())
    return false;
  bool entriesValid = header.entryMask != 0 && header.entryMask < (1u << ATTN_GPU_ENTRY_COUNT);
  for (int i = 0; i < ATTN_GPU_ENTRY_COUNT; ++i)
    if (header.entryMask & (1u << i))
      entriesValid = entriesValid && header.entryThreads[i] >= 1 && header.entrySharedBytes[i] >= 0;
  if (!entriesValid || header.layout > ATTN_GPU_LAYOUT_PACKED_ROWS) {
    why = "a kernel image with an invalid launch layout";
  } else {
    return true;
  }
  return false;
}

/// The plugin-ABI description of decoded image code (the manifest points into `header`, which
/// must outlive it, as must `code`).
inline void describe(const ImageHeader &header, const void *code, attn_jit_kernel &out) {
  out.image_kind = static_cast<int32_t>(header.imageKind);
  out.image = code;
  out.image_size = header.codeSize;
  for (int i = 0; i < ATTN_GPU_ENTRY_COUNT; ++i) {
    attn_jit_gpu_entry &e = out.gpu_entries[i];
    e = attn_jit_gpu_entry{};
    if (!(header.entryMask & (1u << i)))
      continue;
    e.name = entryName(i);
    e.workgroup_size[0] = header.entryThreads[i];
    e.workgroup_size[1] = e.workgroup_size[2] = 1;
    e.shared_bytes = header.entrySharedBytes[i];
    e.num_bindings = entryBindings(i);
  }
  out.gpu_teams = header.teams;
  out.gpu_head_chunks = header.headChunks;
  out.gpu_layout = static_cast<int32_t>(header.layout);
  out.manifest = &header.manifest;
  out.block_q = header.manifest.block_q;
  out.block_k = header.manifest.block_k;
  out.decode_max_rows = header.manifest.decode_max_rows;
  out.split_keys = header.manifest.split_keys;
}

} // namespace attn::image

#endif // ATTN_RUNTIME_CORE_KERNEL_IMAGE_H
