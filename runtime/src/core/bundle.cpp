//===- bundle.cpp - kernels built ahead of time: bundles and linked code --===//
//
// A bundle (core/bundle_format.h) is verified (layout, checksum, versions, target, CPU level),
// its shared object is handed to the dynamic loader through an anonymous memory file, the code's
// own manifest is compared with the bundle's entry (core/manifest.h), and its entry points become
// an ordinary kernel: launches go through the same validation and dispatch as JIT-compiled ones. No
// compiler is loaded. attn_kernel_create_from_code does the same for code linked into the program
// (attnc --emit=obj with its generated header).
//
//===----------------------------------------------------------------------===//

#include "core/backend.h"
#include "core/bundle_format.h"
#include "core/cpu_level.h"
#include "core/error.h"
#include "core/kernel_handle.h"
#include "core/kernel_image.h"
#include "core/plugin.h"
#include "core/problem.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <functional>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace attn::rt;
namespace bundle = attn::bundle;

namespace {

std::string fieldString(const char *field, size_t size) {
  return std::string(field, strnlen(field, size));
}

/// A string field as attnc writes it: NUL-terminated, zero to its end.
bool isCleanString(const char *field, size_t size) {
  size_t length = strnlen(field, size);
  return length < size && std::all_of(field + length, field + size, [](char c) { return c == 0; });
}

/// Stores an untrusted int in a C enum field without converting it (a value outside the enum's
/// range is undefined as a C++ enum value; validation reads the field back as an int).
template <typename Enum> void setRawEnum(Enum &field, int32_t value) {
  static_assert(sizeof(Enum) == sizeof(int32_t), "C enums are int-sized");
  std::memcpy(&field, &value, sizeof(value));
}

attn_problem problemOf(const bundle::BundleEntry &e) {
  attn_problem p{};
  p.struct_size = sizeof(p);
  p.target = ATTN_TARGET_CPU;
  setRawEnum(p.variant, e.variant);
  setRawEnum(p.dtype, e.dtype);
  p.heads_q = e.headsQ;
  p.heads_kv = e.headsKv;
  p.head_dim = e.headDim;
  p.head_dim_v = e.headDimV;
  p.scale = e.scale;
  p.causal = e.causal;
  p.window_left = e.windowLeft;
  p.window_right = e.windowRight;
  p.global_tokens = e.globalTokens;
  p.softcap = e.softcap;
  p.return_lse = e.returnLse;
  p.return_entropy = e.returnEntropy;
  setRawEnum(p.feature_map, e.featureMap);
  p.normalize = e.normalize;
  p.page_size = e.pageSize;
  p.alibi = e.alibi;
  p.sinks = e.sinks;
  return p;
}

/// Why `data` is not an x86-64 ELF shared object whose headers and loadable segments lie within
/// its `size` bytes ("" when it is): the dynamic loader maps segments by their file offsets, and
/// one reaching past the end of the memory file faults when touched instead of failing to load.
std::string sharedObjectDefect(const unsigned char *data, size_t size) {
  Elf64_Ehdr ehdr;
  if (size < sizeof(ehdr))
    return "too short to be a shared object";
  std::memcpy(&ehdr, data, sizeof(ehdr));
  if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0 || ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr.e_ident[EI_DATA] != ELFDATA2LSB || ehdr.e_type != ET_DYN || ehdr.e_machine != EM_X86_64)
    return "not an x86-64 ELF shared object";
  auto within = [&](uint64_t offset, uint64_t count, uint64_t entrySize) {
    return entrySize != 0 && count <= size / entrySize && offset <= size - count * entrySize;
  };
  if (ehdr.e_phentsize != sizeof(Elf64_Phdr) ||
      !within(ehdr.e_phoff, ehdr.e_phnum, ehdr.e_phentsize) ||
      (ehdr.e_shnum != 0 && !within(ehdr.e_shoff, ehdr.e_shnum, ehdr.e_shentsize)))
    return "its ELF headers lie outside it";
  for (uint16_t i = 0; i < ehdr.e_phnum; ++i) {
    Elf64_Phdr phdr;
    std::memcpy(&phdr, data + ehdr.e_phoff + i * sizeof(phdr), sizeof(phdr));
    if (phdr.p_offset > size || phdr.p_filesz > size - phdr.p_offset)
      return "a segment lies outside it";
  }
  return "";
}

/// A bundle's shared object in the process: the dlopen handle and the memory file it was loaded
/// from, which stays open while the code is loaded.
struct LoadedSharedObject {
  void *handle = nullptr;
  int fd = -1;
};

/// Hands a shared object held in memory to the dynamic loader through a memfd (nothing touches
/// the file system). The loader knows a library by its path name, and returns the library it
/// already has under a name instead of loading a second one: so the fd, whose number is in the
/// name, stays open until the library is closed (no later bundle gets that number), and a name
/// taken by a library someone else loaded that way is skipped (dup to a higher number).
LoadedSharedObject loadSharedObject(const unsigned char *data, size_t size) {
  int fd = memfd_create("attn-bundle-kernel", MFD_CLOEXEC);
  if (fd < 0)
    fail(ATTN_STATUS_INTERNAL_ERROR, format("memfd_create failed: %s", std::strerror(errno)));
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, data + written, size - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      close(fd);
      fail(ATTN_STATUS_INTERNAL_ERROR, "cannot write the bundle's kernel to memory");
    }
    written += static_cast<size_t>(n);
  }
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    if (void *taken = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) {
      dlclose(taken); // undo NOLOAD's reference; try the next free number
      int higher = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
      close(fd);
      if (higher < 0)
        fail(ATTN_STATUS_INTERNAL_ERROR,
             format("cannot duplicate the bundle's memory file: %s", std::strerror(errno)));
      fd = higher;
      continue;
    }
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      close(fd);
      fail(ATTN_STATUS_CORRUPT_DATA,
           format("the bundle's kernel cannot be loaded: %s", why ? why : "?"));
    }
    return {handle, fd};
  }
  close(fd);
  fail(ATTN_STATUS_INTERNAL_ERROR, "no free name for the bundle's kernel in the dynamic loader");
}

/// The kernel object for code whose entry points and manifest are checked against `normalized`;
/// `release` frees the code (also when the check fails). `status` is the failure's status.
attn_kernel *makeKernel(attn_context *context, const attn_problem &normalized,
                        const attn_jit_kernel &code, std::function<void()> release,
                        attn_status status, const char *what) {
  std::string defect = kernelDefect(normalized, code);
  if (!defect.empty()) {
    if (release)
      release();
    fail(status, format("%s: the kernel code %s", what, defect.c_str()));
  }
  auto kernel = std::make_unique<attn_kernel>();
  kernel->context = context->state;
  auto compiled = std::make_shared<CompiledKernel>(normalized, code, std::move(release));
  // Device code gets its target's side (pipelines) from the context's device.
  compiled->setDevice(
      backendFor(normalized.target).createKernel(*context->state, normalized, code));
  kernel->compiled = std::move(compiled);
  attachMetrics(*kernel);
  return kernel.release();
}

/// A device entry (Vulkan, CUDA): its payload is a kernel image container (core/kernel_image.h),
/// checked, copied and made into pipelines or a module on the context's device, which must be
/// the kind of device the code was built for (Vulkan: subgroup size, 16-bit support; CUDA: the
/// architecture of a cubin, at most the GPU's for PTX).
attn_kernel *loadDeviceEntry(attn_context *context, const bundle::BundleView &view,
                             const bundle::BundleEntry &entry, const attn_problem &normalized) {
  auto storage = std::make_shared<std::string>(
      reinterpret_cast<const char *>(view.bytes + entry.payloadOffset), entry.payloadSize);
  auto header = std::make_shared<attn::image::ImageHeader>();
  const void *code = nullptr;
  std::string why;
  if (!attn::image::decode(storage->data(), storage->size(), *header, code, why))
    fail(ATTN_STATUS_CORRUPT_DATA, "corrupt kernel bundle: its payload is " + why);
  const bundle::BundleHeader &h = view.header;
  const attn_kernel_manifest &m = header->manifest;
  if (m.attnc_major != h.attncMajor || m.attnc_minor != h.attncMinor ||
      m.attnc_patch != h.attncPatch)
    fail(ATTN_STATUS_CORRUPT_DATA,
         format("corrupt kernel bundle: its header says attnc %u.%u.%u, its code was built by "
                "attnc %u.%u.%u",
                h.attncMajor, h.attncMinor, h.attncPatch, m.attnc_major, m.attnc_minor,
                m.attnc_patch));
  CompileOptions options;
  backendFor(normalized.target).prepareCompile(*context->state, options);
  if (normalized.target == ATTN_TARGET_CUDA) {
    const attn_jit_cuda_device &gpu = *options.cudaDevice;
    std::string arch = fieldString(entry.cpuLevel, sizeof(entry.cpuLevel));
    int built = arch.rfind("sm_", 0) == 0 ? std::atoi(arch.c_str() + 3) : 0;
    bool cubin = header->imageKind == ATTN_IMAGE_CUBIN;
    if (header->imageKind != ATTN_IMAGE_PTX && !cubin)
      fail(ATTN_STATUS_CORRUPT_DATA, "corrupt kernel bundle: a CUDA kernel that is neither PTX "
                                     "nor a cubin");
    if (built == 0 || (cubin && built != gpu.compute_capability) ||
        (!cubin && built > gpu.compute_capability))
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the bundle's kernel is %s for %s; the GPU '%s' is sm_%d",
                  cubin ? "a cubin" : "PTX", arch.c_str(), gpu.name, gpu.compute_capability));
  } else {
    // The device the kernels would run on: the code is built for one subgroup size.
    const attn_jit_vulkan_device &device = *options.vulkanDevice;
    if (int64_t(m.vector_width) != device.subgroup_size)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the bundle's kernel was built for Vulkan subgroups of %u lanes ('%s'); the "
                  "device '%s' has %d",
                  m.vector_width, fieldString(entry.cpuLevel, sizeof(entry.cpuLevel)).c_str(),
                  device.name, device.subgroup_size));
    bool needs16 = normalized.dtype != ATTN_DTYPE_F32;
    bool has16 =
        device.storage16 && (normalized.dtype == ATTN_DTYPE_F16 ? device.float16 : device.int16);
    if (needs16 && !has16)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the Vulkan device '%s' cannot run %s kernels (no 16-bit "
                  "storage or arithmetic)",
                  device.name, normalized.dtype == ATTN_DTYPE_F16 ? "f16" : "bf16"));
  }
  attn_jit_kernel described{};
  described.struct_size = sizeof(described);
  attn::image::describe(*header, code, described);
  // The entry's claims, which kernelDefect compares with the code's manifest.
  described.block_q = entry.blockQ;
  described.block_k = entry.blockK;
  described.decode_max_rows = entry.decodeMaxRows;
  // The copy and the header live as long as the kernel's code.
  auto release = [storage, header] {};
  return makeKernel(context, normalized, described, release, ATTN_STATUS_CORRUPT_DATA,
                    "corrupt kernel bundle");
}

/// The problem an entry describes, as written (its target from the entry's target name).
attn_problem entryProblem(const bundle::BundleEntry &entry) {
  attn_problem problem = problemOf(entry);
  std::string target = fieldString(entry.target, sizeof(entry.target));
  if (target == "vulkan")
    problem.target = ATTN_TARGET_VULKAN;
  if (target == "cuda")
    problem.target = ATTN_TARGET_CUDA;
  return problem;
}

/// How capable an entry's CPU level is (the loader takes the most capable one this CPU runs).
int levelRank(const std::string &level) {
  return level == "x86-64-v4" ? 2 : level == "x86-64-v3" ? 1 : 0;
}

/// The entry of `view` to load: its only one, or (given `wanted`) the one whose problem is
/// `wanted`'s normalized form, of the highest CPU level this machine runs.
size_t chooseEntry(const bundle::BundleView &view, const attn_problem *wanted) {
  const size_t count = view.entries.size();
  if (!wanted) {
    if (count != 1)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the bundle holds %zu kernels; attn_kernel_load_bundle loads bundles of one "
                  "(attn_kernel_load_bundle_for_problem picks one by its problem)",
                  count));
    return 0;
  }
  const std::string key = problemCacheKey(validateProblem(wanted));
  size_t best = count;
  std::string unrunnable;
  for (size_t i = 0; i < count; ++i) {
    const bundle::BundleEntry &entry = view.entries[i];
    if (problemCacheKey(entryProblem(entry)) != key)
      continue;
    std::string target = fieldString(entry.target, sizeof(entry.target));
    std::string level = fieldString(entry.cpuLevel, sizeof(entry.cpuLevel));
    if (target == "cpu" && !cpuSupportsLevel(level)) {
      unrunnable = level;
      continue;
    }
    std::string bestLevel =
        best == count ? "" : fieldString(view.entries[best].cpuLevel, sizeof(entry.cpuLevel));
    if (best == count || levelRank(level) > levelRank(bestLevel))
      best = i;
  }
  if (best == count)
    fail(ATTN_STATUS_UNSUPPORTED,
         unrunnable.empty()
             ? format("the bundle holds %zu kernel(s), none for this problem (attnc inspect "
                      "lists them)",
                      count)
             : format("the bundle's kernel for this problem was built for %s, which this CPU "
                      "does not support",
                      unrunnable.c_str()));
  return best;
}

attn_status loadBundle(attn_context *context, const void *data, size_t size,
                       const attn_problem *wanted, attn_kernel **outKernel) {
  requireNonNull(context, "context");
  requireNonNull(data, "data");
  requireNonNull(outKernel, "out_kernel");
  bundle::BundleView view;
  std::string message;
  switch (bundle::parseBundle(data, size, ATTN_VERSION_MAJOR, ATTN_VERSION_MINOR, view, message)) {
  case bundle::ParseError::Corrupt:
    fail(ATTN_STATUS_CORRUPT_DATA, message);
  case bundle::ParseError::Version:
    fail(ATTN_STATUS_UNSUPPORTED, message);
  case bundle::ParseError::None:
    break;
  }
  const bundle::BundleEntry &entry = view.entries[chooseEntry(view, wanted)];
  std::string target = fieldString(entry.target, sizeof(entry.target));
  bool vulkan = target == "vulkan", cuda = target == "cuda";
  std::string targets = "'cpu'";
#if ATTN_HAVE_VULKAN
  targets += ", 'vulkan'";
#else
  vulkan = false;
#endif
#if ATTN_HAVE_CUDA
  targets += ", 'cuda'";
#else
  cuda = false;
#endif
  bool device = vulkan || cuda;
  if (target != "cpu" && !device)
    fail(ATTN_STATUS_UNSUPPORTED,
         format("the bundle's kernel targets '%s'; this runtime runs %s kernels", target.c_str(),
                targets.c_str()));
  // For a device kernel the level field names the device kind (Vulkan) or architecture (CUDA)
  // the code was built for.
  std::string level = fieldString(entry.cpuLevel, sizeof(entry.cpuLevel));
  if (!device && !cpuSupportsLevel(level))
    fail(ATTN_STATUS_UNSUPPORTED,
         format("the bundle's kernel was built for %s, which this CPU does not support",
                level.c_str()));
  if (!isCleanString(entry.target, sizeof(entry.target)) ||
      !isCleanString(entry.cpuLevel, sizeof(entry.cpuLevel)))
    fail(ATTN_STATUS_CORRUPT_DATA, "corrupt kernel bundle: a reserved or padding byte is not zero");
  attn_problem problem = entryProblem(entry);
  attn_problem normalized;
  try {
    normalized = validateProblem(&problem);
  } catch (const Error &error) {
    fail(ATTN_STATUS_CORRUPT_DATA,
         format("corrupt kernel bundle: it describes no valid problem: %s", error.what()));
  }
  // attnc writes the normalized problem: any other spelling, even of the same meaning, is damage.
  if (problemCacheKey(problem) != problemCacheKey(normalized))
    fail(ATTN_STATUS_CORRUPT_DATA,
         "corrupt kernel bundle: its problem is not written in the normalized form attnc writes");

  if (device) {
    *outKernel = loadDeviceEntry(context, view, entry, normalized);
    return ATTN_STATUS_SUCCESS;
  }
  const unsigned char *payload = view.bytes + entry.payloadOffset;
  std::string elfDefect = sharedObjectDefect(payload, entry.payloadSize);
  if (!elfDefect.empty())
    fail(ATTN_STATUS_CORRUPT_DATA, "corrupt kernel bundle: its kernel code is " + elfDefect);
  LoadedSharedObject object = loadSharedObject(payload, entry.payloadSize);
  auto release = [object] {
    dlclose(object.handle);
    close(object.fd);
  };
  auto symbol = [&](const char *name) { return dlsym(object.handle, name); };
  attn_jit_kernel code{};
  code.struct_size = sizeof(code);
  code.handle = object.handle;
  code.softmax_main = reinterpret_cast<attn_softmax_fn>(symbol("_mlir_ciface_attn_main"));
  code.softmax_decode = reinterpret_cast<attn_decode_fn>(symbol("_mlir_ciface_attn_decode"));
  code.merge = reinterpret_cast<attn_merge_fn>(symbol("_mlir_ciface_attn_merge"));
  code.linear = reinterpret_cast<attn_linear_fn>(symbol("_mlir_ciface_attn_linear"));
  code.manifest = static_cast<const attn_kernel_manifest *>(symbol(ATTN_KERNEL_MANIFEST_SYMBOL));
  code.merge_parts = code.manifest && code.manifest->dtype == ATTN_DTYPE_F32
                         ? code.merge
                         : reinterpret_cast<attn_merge_fn>(symbol("_mlir_ciface_attn_merge_parts"));
  code.block_q = entry.blockQ;
  code.block_k = entry.blockK;
  code.decode_max_rows = entry.decodeMaxRows;
  code.split_keys = code.manifest ? code.manifest->split_keys : 0; // the entry names none
  const bundle::BundleHeader &h = view.header;
  if (code.manifest &&
      (code.manifest->attnc_major != h.attncMajor || code.manifest->attnc_minor != h.attncMinor ||
       code.manifest->attnc_patch != h.attncPatch)) {
    std::string why = format("corrupt kernel bundle: its header says attnc %u.%u.%u, its code was "
                             "built by attnc %u.%u.%u",
                             h.attncMajor, h.attncMinor, h.attncPatch, code.manifest->attnc_major,
                             code.manifest->attnc_minor, code.manifest->attnc_patch);
    release();
    fail(ATTN_STATUS_CORRUPT_DATA, why);
  }
  *outKernel = makeKernel(context, normalized, code, release, ATTN_STATUS_CORRUPT_DATA,
                          "corrupt kernel bundle");
  return ATTN_STATUS_SUCCESS;
}

/// Reads a bundle file: a regular file of at most kMaxBundleSize bytes whose header is read and
/// checked before the rest is.
std::string readBundleFile(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    fail(ATTN_STATUS_IO_ERROR,
         format("cannot open the bundle '%s': %s", path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat info;
  if (fstat(fd, &info) != 0)
    fail(ATTN_STATUS_IO_ERROR,
         format("cannot stat the bundle '%s': %s", path, std::strerror(errno)));
  if (!S_ISREG(info.st_mode))
    fail(ATTN_STATUS_IO_ERROR,
         format("the bundle '%s' is not a regular file (%s)", path,
                S_ISDIR(info.st_mode) ? "a directory" : "a device, pipe or socket"));
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size > bundle::kMaxBundleSize)
    fail(ATTN_STATUS_CORRUPT_DATA,
         format("'%s' is %llu bytes, more than a kernel bundle may be (%llu)", path,
                static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(bundle::kMaxBundleSize)));
  auto readAll = [&](char *out, size_t count, size_t offset) {
    size_t done = 0;
    while (done < count) {
      ssize_t n = pread(fd, out + done, count - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        fail(ATTN_STATUS_IO_ERROR,
             format("cannot read the bundle '%s': %s", path, std::strerror(errno)));
      if (n == 0)
        break;
      done += static_cast<size_t>(n);
    }
    return done;
  };
  std::string bytes(std::min<uint64_t>(size, sizeof(bundle::BundleHeader)), '\0');
  bytes.resize(readAll(bytes.data(), bytes.size(), 0));
  if (bytes.size() == sizeof(bundle::BundleHeader)) {
    // The header must describe this file before the rest is read (parseBundle checks it all).
    bundle::BundleHeader header;
    std::memcpy(&header, bytes.data(), sizeof(header));
    if (std::memcmp(header.magic, bundle::kMagic, sizeof(bundle::kMagic)) != 0 ||
        header.totalSize != size)
      return bytes;
    bytes.resize(size);
    bytes.resize(sizeof(header) +
                 readAll(bytes.data() + sizeof(header), size - sizeof(header), sizeof(header)));
  }
  return bytes;
}

} // namespace

extern "C" {

ATTN_API attn_status attn_kernel_create_from_code(attn_context *context,
                                                  const attn_problem *problem,
                                                  const attn_kernel_code *code,
                                                  attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(code, "code");
    requireNonNull(out_kernel, "out_kernel");
    if (code->struct_size < sizeof(attn_kernel_code))
      fail(ATTN_STATUS_INVALID_ARGUMENT, format("attn_kernel_code.struct_size is %zu, expected %zu",
                                                code->struct_size, sizeof(attn_kernel_code)));
    attn_problem normalized = validateProblem(problem);
    attn_jit_kernel entry{};
    entry.struct_size = sizeof(entry);
    entry.softmax_main = reinterpret_cast<attn_softmax_fn>(code->softmax_main);
    entry.softmax_decode = reinterpret_cast<attn_decode_fn>(code->softmax_decode);
    entry.merge = reinterpret_cast<attn_merge_fn>(code->merge);
    entry.linear = reinterpret_cast<attn_linear_fn>(code->linear);
    entry.manifest = static_cast<const attn_kernel_manifest *>(code->manifest);
    // Linked code names no merge of f16/bf16 parts (attn_kernel_code has no field for it): an
    // f32 problem's merge takes its own parts.
    entry.merge_parts = normalized.dtype == ATTN_DTYPE_F32 ? entry.merge : nullptr;
    entry.block_q = code->block_q;
    entry.block_k = code->block_k;
    entry.decode_max_rows = code->decode_max_rows;
    // The header names no split length: the code's own (checked by kernelDefect like the rest).
    entry.split_keys = entry.manifest ? entry.manifest->split_keys : 0;
    *out_kernel = makeKernel(context, normalized, entry, nullptr, ATTN_STATUS_INVALID_ARGUMENT,
                             "attn_kernel_create_from_code");
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_load_bundle(attn_context *context, const void *data, size_t size,
                                             attn_kernel **out_kernel) {
  return guard([&] { return loadBundle(context, data, size, nullptr, out_kernel); });
}

ATTN_API attn_status attn_kernel_load_bundle_for_problem(attn_context *context, const void *data,
                                                         size_t size, const attn_problem *problem,
                                                         attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(problem, "problem");
    return loadBundle(context, data, size, problem, out_kernel);
  });
}

ATTN_API attn_status attn_kernel_load_bundle_file(attn_context *context, const char *path,
                                                  attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(path, "path");
    requireNonNull(out_kernel, "out_kernel");
    std::string bytes = readBundleFile(path);
    return loadBundle(context, bytes.data(), bytes.size(), nullptr, out_kernel);
  });
}

ATTN_API attn_status attn_kernel_load_bundle_file_for_problem(attn_context *context,
                                                              const char *path,
                                                              const attn_problem *problem,
                                                              attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(path, "path");
    requireNonNull(problem, "problem");
    requireNonNull(out_kernel, "out_kernel");
    std::string bytes = readBundleFile(path);
    return loadBundle(context, bytes.data(), bytes.size(), problem, out_kernel);
  });
}

} // extern "C"
