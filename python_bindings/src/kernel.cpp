//===- kernel.cpp - attn_kernel: create from a problem, launch on arrays -----===//
#include "common.h"

#include <nanobind/stl/array.h>

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <array>
#include <optional>
#include <string>

namespace attn_python {

namespace {

// Inputs may be read-only (nb::ro); every tensor must be in host memory.
using Input = nb::ndarray<nb::ro, nb::device::cpu>;
using Output = nb::ndarray<nb::device::cpu>;
using Stat = nb::ndarray<float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Lengths = nb::ndarray<nb::ro, int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using BlockTable = nb::ndarray<nb::ro, int32_t, nb::ndim<2>, nb::device::cpu>;
using HeadValues = nb::ndarray<nb::ro, float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

size_t elementBits(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 32 : 16; }

const char *dtypeName(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32:
    return "float32";
  case ATTN_DTYPE_F16:
    return "float16";
  case ATTN_DTYPE_BF16:
    return "bfloat16";
  }
  return "?";
}

[[noreturn]] void valueError(const std::string &message) { throw nb::value_error(message.c_str()); }

std::string shapeString(const int64_t *dims, size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

/// Checks a BSHD tensor's rank, dtype and shape ([b, s, h, d]; -1 = any) and returns its view.
template <typename Array>
attn_tensor view(const Array &a, const char *name, attn_dtype dtype, int64_t b, int64_t s,
                 int64_t h, int64_t d) {
  if (a.ndim() != 4)
    valueError(std::string(name) + " must have 4 dims (BSHD), got " + std::to_string(a.ndim()));
  nb::dlpack::dtype t = a.dtype();
  // bfloat16 arrays may arrive as their uint16 bits (numpy has no bfloat16 DLPack code).
  bool ok = t.lanes == 1 && t.bits == elementBits(dtype) &&
            (dtype == ATTN_DTYPE_F32   ? t.code == (uint8_t)nb::dlpack::dtype_code::Float
             : dtype == ATTN_DTYPE_F16 ? t.code == (uint8_t)nb::dlpack::dtype_code::Float
                                       : t.code == (uint8_t)nb::dlpack::dtype_code::Bfloat ||
                                             t.code == (uint8_t)nb::dlpack::dtype_code::UInt);
  if (!ok)
    throw nb::type_error(
        (std::string(name) + " has the wrong dtype: the kernel was built for " + dtypeName(dtype))
            .c_str());
  int64_t want[4] = {b, s, h, d};
  int64_t got[4];
  for (size_t i = 0; i < 4; ++i)
    got[i] = static_cast<int64_t>(a.shape(i));
  for (size_t i = 0; i < 4; ++i)
    if (want[i] >= 0 && got[i] != want[i]) {
      static const char *dims[4] = {"batch", "sequence", "heads", "head dim"};
      valueError(std::string(name) + " has shape " + shapeString(got, 4) + ": its " + dims[i] +
                 " (dim " + std::to_string(i) + ") must be " + std::to_string(want[i]));
    }
  attn_tensor v;
  v.data = const_cast<void *>(static_cast<const void *>(a.data()));
  for (size_t i = 0; i < 4; ++i) {
    v.strides[i] = a.stride(i);
    if (v.strides[i] < 0)
      valueError(std::string(name) + " has a negative stride (a reversed view): make a copy");
  }
  if (got[3] == 1)
    v.strides[3] = 1;
  if (v.strides[3] != 1)
    valueError(std::string(name) + " must be contiguous in its last dim (stride 1), got stride " +
               std::to_string(v.strides[3]));
  return v;
}

/// Runs `call` (a C API call on arrays the caller holds alive) with the GIL released and raises
/// its failure as Python does: ValueError for INVALID_ARGUMENT, AttnError otherwise.
template <typename Call> void runReleased(const char *what, Call &&call) {
  attn_status status;
  std::string error;
  {
    nb::gil_scoped_release release;
    status = call();
    if (status != ATTN_STATUS_SUCCESS)
      error = attn_last_error(); // thread-local: read before anything else runs
  }
  if (status == ATTN_STATUS_SUCCESS)
    return;
  std::string message =
      std::string(what) + " failed (" + attn_status_string(status) + "): " + error;
  if (status == ATTN_STATUS_INVALID_ARGUMENT)
    valueError(message);
  throw AttnError(message);
}

class Kernel {
public:
  Kernel(attn_problem problem) : problem_(problem) {
    attn_context *ctx = context();
    attn_status status;
    {
      nb::gil_scoped_release release; // compiling takes a while; the context is thread-safe
      status = attn_kernel_create(ctx, &problem_, &kernel_);
      if (status != ATTN_STATUS_SUCCESS)
        error_ = attn_last_error(); // thread-local: read before anything else runs
    }
    if (status != ATTN_STATUS_SUCCESS) {
      std::string message =
          std::string("attn_kernel_create failed (") + attn_status_string(status) + "): " + error_;
      if (status == ATTN_STATUS_INVALID_ARGUMENT)
        valueError(message);
      throw AttnError(message);
    }
  }
  /// Takes ownership of a kernel loaded elsewhere (a bundle).
  Kernel(attn_kernel *kernel) : kernel_(kernel) {
    problem_.struct_size = sizeof(problem_);
    check(attn_kernel_get_problem(kernel_, &problem_), "attn_kernel_get_problem");
  }
  ~Kernel() { (void)attn_kernel_destroy(kernel_); }
  Kernel(const Kernel &) = delete;
  Kernel &operator=(const Kernel &) = delete;

  void launch(const Input &q, const Input &k, const Input &v, const Output &o,
              const std::optional<Stat> &lse, const std::optional<Stat> &entropy,
              const std::optional<Lengths> &seqlensQ, const std::optional<Lengths> &seqlensKv,
              const std::optional<BlockTable> &blockTable, const std::optional<Lengths> &cuQ,
              const std::optional<Lengths> &cuKv, double scale,
              const std::optional<HeadValues> &alibiSlopes,
              const std::optional<HeadValues> &sinks) {
    const attn_problem &p = problem_;
    bool softmax = p.variant == ATTN_VARIANT_SOFTMAX;
    if (q.ndim() != 4 || k.ndim() != 4)
      valueError("q and k must have 4 dims (BSHD: batch, seq, heads, dim)");
    // Packed rows arrive as a batch of one ([1, T, H, D]); the batch is the offsets' count - 1.
    const std::optional<Lengths> &cu = cuQ ? cuQ : cuKv;
    if (cu && cu->shape(0) < 2)
      valueError("cu_seqlens must hold batch + 1 offsets (at least 2)");
    int64_t batch = cu ? static_cast<int64_t>(cu->shape(0)) - 1 : q.shape(0);
    if (cuQ && cuKv && cuKv->shape(0) != cuQ->shape(0))
      valueError("cu_seqlens_q and cu_seqlens_kv must hold the same number of offsets");
    int64_t seqQ = q.shape(1), seqKv = k.shape(1);
    const int64_t qBatch = cuQ ? 1 : batch, kvBatch = cuKv ? 1 : batch;
    attn_launch_args a;
    check(attn_launch_args_init(&a), "attn_launch_args_init");
    a.batch = batch;
    a.seq_q = seqQ;
    a.seq_kv = seqKv;
    a.cu_seqlens_q = cuQ ? cuQ->data() : nullptr;
    a.cu_seqlens_kv = cuKv ? cuKv->data() : nullptr;
    a.scale = scale; // 0 = the kernel's; the C API checks the rest
    a.q = view(q, "q", p.dtype, qBatch, seqQ, p.heads_q, p.head_dim);
    if (p.page_size > 0) {
      // A paged KV cache: k/v are pages [num_pages, page_size, Hkv, D], block_table [B, pages].
      if (!blockTable)
        valueError("the kernel reads a paged KV cache (page_size " + std::to_string(p.page_size) +
                   "): pass block_table, an int32 [B, max_pages] array of page indices");
      if ((int64_t)blockTable->shape(0) != batch)
        valueError("block_table must have one row per batch (" + std::to_string(batch) + "), got " +
                   std::to_string(blockTable->shape(0)));
      if (blockTable->stride(1) != 1 && blockTable->shape(1) > 1)
        valueError("block_table must be contiguous in its last dim (stride 1)");
      a.k = view(k, "k", p.dtype, -1, p.page_size, p.heads_kv, p.head_dim);
      a.v = view(v, "v", p.dtype, k.shape(0), p.page_size, p.heads_kv, p.head_dim_v);
      a.block_table = blockTable->data();
      a.max_pages = blockTable->shape(1);
      a.block_table_stride = blockTable->shape(0) > 1 ? blockTable->stride(0) : a.max_pages;
      a.num_pages = k.shape(0);
      a.seq_kv = 0; // the capacity: max_pages x page_size
    } else {
      if (blockTable)
        valueError("block_table is for kernels compiled with page_size (a paged KV cache)");
      a.k = view(k, "k", p.dtype, kvBatch, seqKv, p.heads_kv, p.head_dim);
      a.v = view(v, "v", p.dtype, kvBatch, seqKv, p.heads_kv, p.head_dim_v);
    }
    a.o = view(o, "o", p.dtype, qBatch, seqQ, p.heads_q, p.head_dim_v);
    if ((o.stride(0) == 0 && o.shape(0) > 1) || o.stride(1) == 0 || o.stride(2) == 0)
      valueError("o must not broadcast (no two elements may share memory)");
    auto stat = [&](const std::optional<Stat> &s, bool wanted, const char *name) -> float * {
      if (!softmax || !wanted) {
        if (s)
          valueError(std::string("the kernel was not built to return ") + name);
        return nullptr;
      }
      if (!s)
        valueError(std::string("the kernel returns ") + name +
                   ": pass a float32 [B, Hq, Sq] array");
      if ((int64_t)s->shape(0) != qBatch || (int64_t)s->shape(1) != p.heads_q ||
          (int64_t)s->shape(2) != seqQ)
        valueError(std::string(name) + " must have shape [B, Hq, Sq] = " +
                   shapeString(std::array<int64_t, 3>{qBatch, p.heads_q, seqQ}.data(), 3) +
                   (cuQ ? " (packed: [1, Hq, Tq])" : ""));
      return s->data();
    };
    a.lse = stat(lse, p.return_lse != 0, "lse");
    a.entropy = stat(entropy, p.return_entropy != 0, "entropy");
    auto lengths = [&](const std::optional<Lengths> &l, const char *name) -> const int32_t * {
      if (!l)
        return nullptr;
      if ((int64_t)l->shape(0) != batch)
        valueError(std::string(name) + " must have one int32 length per batch (" +
                   std::to_string(batch) + "), got " + std::to_string(l->shape(0)));
      return l->data();
    };
    a.seqlens_q = lengths(seqlensQ, "seqlens_q");
    a.seqlens_kv = lengths(seqlensKv, "seqlens_kv");
    // Per-head values: float32 [Hq], required iff the kernel was built for them.
    auto heads = [&](const std::optional<HeadValues> &x, bool wanted,
                     const char *name) -> const float * {
      if (!wanted) {
        if (x)
          valueError(std::string("the kernel was not built for ") + name + " (compile it with " +
                     name + ")");
        return nullptr;
      }
      if (!x)
        valueError(std::string("the kernel was built for ") + name +
                   ": pass a float32 [Hq] array of them");
      if ((int64_t)x->shape(0) != p.heads_q)
        valueError(std::string(name) + " must have one float32 value per query head (" +
                   std::to_string(p.heads_q) + "), got " + std::to_string(x->shape(0)));
      return x->data();
    };
    a.alibi_slopes = heads(alibiSlopes, p.alibi != 0, "alibi_slopes");
    a.sinks = heads(sinks, p.sinks != 0, "sinks");

    runReleased("attn_kernel_launch", [&] { return attn_kernel_launch(kernel_, &a); });
  }

  /// Enqueues the kernel on device memory (attn_kernel_launch_cuda): tensors as (pointer,
  /// strides in elements), the stats and lengths as pointers (0 = none), the CUstream as an int.
  void launchCuda(int64_t batch, int64_t seqQ, int64_t seqKv, uint64_t q,
                  const std::array<int64_t, 4> &qStrides, uint64_t k,
                  const std::array<int64_t, 4> &kStrides, uint64_t v,
                  const std::array<int64_t, 4> &vStrides, uint64_t o,
                  const std::array<int64_t, 4> &oStrides, uint64_t lse, uint64_t entropy,
                  uint64_t seqlensQ, uint64_t seqlensKv, uintptr_t stream) {
    attn_cuda_launch_args a;
    check(attn_cuda_launch_args_init(&a), "attn_cuda_launch_args_init");
    a.batch = batch;
    a.seq_q = seqQ;
    a.seq_kv = seqKv;
    auto tensor = [](uint64_t data, const std::array<int64_t, 4> &strides) {
      attn_cuda_tensor t;
      t.data = data;
      for (int i = 0; i < 4; ++i)
        t.strides[i] = strides[i];
      return t;
    };
    a.q = tensor(q, qStrides);
    a.k = tensor(k, kStrides);
    a.v = tensor(v, vStrides);
    a.o = tensor(o, oStrides);
    a.lse = lse;
    a.entropy = entropy;
    a.seqlens_q = seqlensQ;
    a.seqlens_kv = seqlensKv;
    a.stream = reinterpret_cast<void *>(stream);
    runReleased("attn_kernel_launch_cuda", [&] { return attn_kernel_launch_cuda(kernel_, &a); });
  }

  /// attn_kernel_merge: parts [P, B, Sq, Hq, Dv] (any strides, last one 1; bfloat16 as its
  /// bits), their f32 LSEs [P, B, Hq, Sq] (C-contiguous), into out [B, Sq, Hq, Dv] and lse.
  void merge(const nb::ndarray<nb::ro, nb::device::cpu> &parts,
             const nb::ndarray<nb::ro, float, nb::ndim<4>, nb::c_contig, nb::device::cpu> &lseParts,
             const Output &out, const std::optional<Stat> &lse) {
    if (parts.ndim() != 5)
      valueError("o_parts must have 5 dims [P, B, Sq, Hq, Dv]");
    if (parts.dtype().bits != elementBits(problem_.dtype) || parts.dtype().lanes != 1)
      throw nb::type_error((std::string("o_parts has the wrong dtype: the kernel merges ") +
                            dtypeName(problem_.dtype))
                               .c_str());
    attn_merge_args a;
    check(attn_merge_args_init(&a), "attn_merge_args_init");
    a.num_parts = parts.shape(0);
    a.batch = parts.shape(1);
    a.seq_q = parts.shape(2);
    a.o_parts.data = const_cast<void *>(static_cast<const void *>(parts.data()));
    for (size_t i = 0; i < 4; ++i)
      a.o_parts.strides[i] = parts.stride(i + 1);
    if (parts.shape(4) == 1)
      a.o_parts.strides[3] = 1;
    a.o_part_stride = parts.shape(0) > 1 ? parts.stride(0) : 1;
    if ((int64_t)lseParts.shape(0) != a.num_parts || (int64_t)lseParts.shape(1) != a.batch ||
        (int64_t)lseParts.shape(3) != a.seq_q)
      valueError("lse_parts must have shape [P, B, Hq, Sq] matching o_parts");
    a.lse_parts = lseParts.data();
    a.o = view(out, "out", problem_.dtype, a.batch, a.seq_q, problem_.heads_q, problem_.head_dim_v);
    a.lse = lse ? lse->data() : nullptr;
    runReleased("attn_kernel_merge", [&] { return attn_kernel_merge(kernel_, &a); });
  }

  attn_kernel *handle() const { return kernel_; }
  const attn_problem &problem() const { return problem_; }

private:
  attn_problem problem_;
  attn_kernel *kernel_ = nullptr;
  std::string error_;
};

} // namespace

void registerKernel(nb::module_ &m) {
  nb::class_<Kernel>(m, "Kernel",
                     "A compiled attn_kernel (attn_kernel_create); destroyed with the object.")
      .def(
          "__init__",
          [](Kernel *self, int target, int variant, int dtype, int64_t heads_q, int64_t heads_kv,
             int64_t head_dim, int64_t head_dim_v, double scale, bool causal, int64_t window_left,
             int64_t window_right, int64_t global_tokens, double softcap, bool return_lse,
             bool return_entropy, int feature_map, bool normalize, int64_t page_size, bool alibi,
             bool sinks) {
            attn_problem p;
            check(attn_problem_init(&p), "attn_problem_init");
            p.target = static_cast<attn_target>(target);
            p.variant = static_cast<attn_variant>(variant);
            p.dtype = static_cast<attn_dtype>(dtype);
            p.heads_q = heads_q;
            p.heads_kv = heads_kv;
            p.head_dim = head_dim;
            p.head_dim_v = head_dim_v;
            p.scale = scale;
            p.causal = causal;
            p.window_left = window_left;
            p.window_right = window_right;
            p.global_tokens = global_tokens;
            p.softcap = softcap;
            p.return_lse = return_lse;
            p.return_entropy = return_entropy;
            p.feature_map = static_cast<attn_feature_map>(feature_map);
            p.normalize = normalize;
            p.page_size = page_size;
            p.alibi = alibi;
            p.sinks = sinks;
            new (self) Kernel(p);
          },
          nb::kw_only(), nb::arg("target"), nb::arg("variant"), nb::arg("dtype"),
          nb::arg("heads_q"), nb::arg("heads_kv"), nb::arg("head_dim"), nb::arg("head_dim_v"),
          nb::arg("scale"), nb::arg("causal"), nb::arg("window_left"), nb::arg("window_right"),
          nb::arg("global_tokens"), nb::arg("softcap"), nb::arg("return_lse"),
          nb::arg("return_entropy"), nb::arg("feature_map"), nb::arg("normalize"),
          nb::arg("page_size") = 0, nb::arg("alibi") = false, nb::arg("sinks") = false,
          "Builds (or finds in the caches) the kernel for one problem; enums as the C API's ints.")
      .def_static(
          "from_bundle",
          [](const std::string &path, const std::optional<nb::dict> &problem) {
            attn_kernel *kernel = nullptr;
            attn_status status;
            if (problem) {
              // The problem as __init__'s keyword arguments (the C descriptor's fields).
              const nb::dict &d = *problem;
              attn_problem p;
              check(attn_problem_init(&p), "attn_problem_init");
              p.target = static_cast<attn_target>(nb::cast<int>(d["target"]));
              p.variant = static_cast<attn_variant>(nb::cast<int>(d["variant"]));
              p.dtype = static_cast<attn_dtype>(nb::cast<int>(d["dtype"]));
              p.heads_q = nb::cast<int64_t>(d["heads_q"]);
              p.heads_kv = nb::cast<int64_t>(d["heads_kv"]);
              p.head_dim = nb::cast<int64_t>(d["head_dim"]);
              p.head_dim_v = nb::cast<int64_t>(d["head_dim_v"]);
              p.scale = nb::cast<double>(d["scale"]);
              p.causal = nb::cast<bool>(d["causal"]);
              p.window_left = nb::cast<int64_t>(d["window_left"]);
              p.window_right = nb::cast<int64_t>(d["window_right"]);
              p.global_tokens = nb::cast<int64_t>(d["global_tokens"]);
              p.softcap = nb::cast<double>(d["softcap"]);
              p.return_lse = nb::cast<bool>(d["return_lse"]);
              p.return_entropy = nb::cast<bool>(d["return_entropy"]);
              p.feature_map = static_cast<attn_feature_map>(nb::cast<int>(d["feature_map"]));
              p.normalize = nb::cast<bool>(d["normalize"]);
              p.page_size = nb::cast<int64_t>(d["page_size"]);
              p.alibi = nb::cast<bool>(d["alibi"]);
              p.sinks = nb::cast<bool>(d["sinks"]);
              status =
                  attn_kernel_load_bundle_file_for_problem(context(), path.c_str(), &p, &kernel);
            } else {
              status = attn_kernel_load_bundle_file(context(), path.c_str(), &kernel);
            }
            if (status != ATTN_STATUS_SUCCESS) {
              std::string message = std::string("attn_kernel_load_bundle_file failed (") +
                                    attn_status_string(status) + "): " + attn_last_error();
              if (status == ATTN_STATUS_INVALID_ARGUMENT)
                valueError(message);
              throw AttnError(message);
            }
            return new Kernel(kernel);
          },
          nb::arg("path"), nb::arg("problem").none() = nb::none(), nb::rv_policy::take_ownership,
          "Loads the kernel of an attnc bundle (attn_kernel_load_bundle_file), or the one for "
          "`problem` (a dict of __init__'s keyword arguments) of a bundle of many "
          "(attn_kernel_load_bundle_file_for_problem).")
      .def_prop_ro(
          "problem",
          [](const Kernel &k) {
            const attn_problem &p = k.problem();
            nb::dict d;
            d["variant"] = (int)p.variant;
            d["dtype"] = (int)p.dtype;
            d["heads_q"] = p.heads_q;
            d["heads_kv"] = p.heads_kv;
            d["head_dim"] = p.head_dim;
            d["head_dim_v"] = p.head_dim_v;
            d["scale"] = p.scale;
            d["causal"] = (bool)p.causal;
            d["window_left"] = p.window_left;
            d["window_right"] = p.window_right;
            d["global_tokens"] = p.global_tokens;
            d["softcap"] = p.softcap;
            d["return_lse"] = (bool)p.return_lse;
            d["return_entropy"] = (bool)p.return_entropy;
            d["feature_map"] = (int)p.feature_map;
            d["normalize"] = (bool)p.normalize;
            d["page_size"] = p.page_size;
            d["alibi"] = (bool)p.alibi;
            d["sinks"] = (bool)p.sinks;
            d["target"] = (int)p.target;
            return d;
          },
          "The problem the kernel solves, as the C descriptor's fields.")
      .def_prop_ro(
          "config",
          [](const Kernel &k) {
            attn_kernel_config c;
            std::memset(&c, 0, sizeof(c));
            c.struct_size = sizeof(c);
            check(attn_kernel_get_config(k.handle(), &c), "attn_kernel_get_config");
            static const char *sources[] = {"heuristic", "tuned", "given"};
            nb::dict d;
            d["source"] = sources[c.source >= 0 && c.source <= 2 ? c.source : 0];
            d["vector_width"] = c.vector_width;
            d["block_q"] = c.block_q;
            d["block_k"] = c.block_k;
            d["decode_max_rows"] = c.decode_max_rows;
            d["split_keys"] = c.split_keys;
            d["amx"] = (c.cpu_features & ATTN_CPU_FEATURE_AMX) != 0;
            d["dpbf16"] = (c.cpu_features & ATTN_CPU_FEATURE_AVX512BF16) != 0;
            d["text"] = std::string(c.text);
            return d;
          },
          "The configuration the kernel was built with and how it was chosen "
          "(attn_kernel_get_config): source is 'heuristic', 'tuned' (a tuning database) or "
          "'given'.")
      .def(
          "set_label",
          [](Kernel &k, const std::string &label) {
            check(attn_kernel_set_label(k.handle(), label.c_str()), "attn_kernel_set_label");
          },
          nb::arg("label"), "The caller's label of the kernel's metrics (attn_kernel_set_label).")
      .def(
          "set_health",
          [](Kernel &k, uint32_t flags) {
            check(attn_kernel_set_health(k.handle(), flags), "attn_kernel_set_health");
          },
          nb::arg("flags"), "Output health counting (attn_kernel_set_health's flags).")
      .def(
          "snapshot_entropy_baseline",
          [](Kernel &k) {
            check(attn_kernel_snapshot_entropy_baseline(k.handle()),
                  "attn_kernel_snapshot_entropy_baseline");
          },
          "The per-head entropy means so far become the drift's baseline.")
      .def("launch", &Kernel::launch, nb::arg("q"), nb::arg("k"), nb::arg("v"), nb::arg("o"),
           nb::arg("lse").none(), nb::arg("entropy").none(), nb::arg("seqlens_q").none(),
           nb::arg("seqlens_kv").none(), nb::arg("block_table").none() = nb::none(),
           nb::arg("cu_seqlens_q").none() = nb::none(),
           nb::arg("cu_seqlens_kv").none() = nb::none(), nb::arg("scale") = 0.0,
           nb::arg("alibi_slopes").none() = nb::none(), nb::arg("sinks").none() = nb::none(),
           "Runs the kernel on BSHD arrays (strides in elements, last stride 1), writing o (and "
           "lse/entropy). Packed rows (cu_seqlens_q / cu_seqlens_kv, int32 [B + 1]) come as "
           "[1, T, H, D] arrays, their lse/entropy as [1, Hq, Tq]. Releases the GIL while it "
           "runs.")
      .def("merge", &Kernel::merge, nb::arg("o_parts"), nb::arg("lse_parts"), nb::arg("out"),
           nb::arg("lse").none(),
           "Merges partial results by their LSE with the kernel's merge (attn_kernel_merge).")
      .def("launch_cuda", &Kernel::launchCuda, nb::arg("batch"), nb::arg("seq_q"),
           nb::arg("seq_kv"), nb::arg("q"), nb::arg("q_strides"), nb::arg("k"),
           nb::arg("k_strides"), nb::arg("v"), nb::arg("v_strides"), nb::arg("o"),
           nb::arg("o_strides"), nb::arg("lse"), nb::arg("entropy"), nb::arg("seqlens_q"),
           nb::arg("seqlens_kv"), nb::arg("stream"),
           "Enqueues the kernel on CUDA device memory and a CUstream "
           "(attn_kernel_launch_cuda); pointers as ints, strides in elements.")
      .def_prop_ro("dtype", [](const Kernel &k) { return (int)k.problem().dtype; })
      .def_prop_ro("heads_q", [](const Kernel &k) { return k.problem().heads_q; })
      .def_prop_ro("heads_kv", [](const Kernel &k) { return k.problem().heads_kv; })
      .def_prop_ro("head_dim", [](const Kernel &k) { return k.problem().head_dim; })
      .def_prop_ro("head_dim_v", [](const Kernel &k) { return k.problem().head_dim_v; });
}

} // namespace attn_python
