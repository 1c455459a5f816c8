// out[i] = a[i] * 2 + b[i] for i < n, n read from a one-element buffer; 64 invocations a
// workgroup. Lowered to SPIR-V at build time (test/runtime/CMakeLists.txt) for VulkanDeviceTest.
// Storage buffers 0..3 of descriptor set 0 are a, b, out and n (convert-gpu-to-spirv's ABI).
module attributes {gpu.container_module, spirv.target_env = #spirv.target_env<
    #spirv.vce<v1.3, [Shader, GroupNonUniform], [SPV_KHR_storage_buffer_storage_class]>,
    #spirv.resource_limits<>>} {
  gpu.module @kernels {
    gpu.func @axpy(%a: memref<?xf32>, %b: memref<?xf32>, %out: memref<?xf32>, %n: memref<1xi32>)
        kernel attributes {
          spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [64, 1, 1]>} {
      %c0 = arith.constant 0 : index
      %c64 = arith.constant 64 : index
      %two = arith.constant 2.0 : f32
      %block = gpu.block_id x
      %thread = gpu.thread_id x
      %base = arith.muli %block, %c64 : index
      %i = arith.addi %base, %thread : index
      %n32 = memref.load %n[%c0] : memref<1xi32>
      %count = arith.index_cast %n32 : i32 to index
      %inside = arith.cmpi ult, %i, %count : index
      scf.if %inside {
        %x = memref.load %a[%i] : memref<?xf32>
        %y = memref.load %b[%i] : memref<?xf32>
        %twice = arith.mulf %x, %two : f32
        %sum = arith.addf %twice, %y : f32
        memref.store %sum, %out[%i] : memref<?xf32>
      }
      gpu.return
    }
  }
}
