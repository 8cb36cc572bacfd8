{
  "variables": {
    # Where libfaiss.a and OpenBLAS live; override with FAISS_NATIVE_LIBDIR for other layouts.
    "faiss_libdir%": "<!(node -p \"process.env.FAISS_NATIVE_LIBDIR || '/usr/lib/' + require('child_process').execSync('gcc -print-multiarch').toString().trim()\")"
  },
  "targets": [
    {
      "target_name": "faiss_native",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/async_op.cc",
        "native/errors.cc",
        "native/flat_core.cc",
        "native/flat_wrap.cc",
        "native/index_file_check.cc",
        "native/ivfpq_core.cc",
        "native/ivfpq_wrap.cc",
        "native/metric.cc",
        "native/op_queue.cc",
        "native/operation.cc",
        "native/search_call.cc",
        "native/threads.cc",
        "native/vectors.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      # Faiss reports errors with C++ exceptions and needs RTTI to tell index types apart.
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fopenmp", "-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-fopenmp", "-Wl,--exclude-libs,ALL", "-Wl,--as-needed"],
      "libraries": ["<(faiss_libdir)/libfaiss.a", "-lopenblas", "-lgomp"]
    }
  ]
}
