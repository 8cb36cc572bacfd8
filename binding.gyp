{
  "variables": {
    # Faiss 1.15 (include/, lib/libfaiss.a): FAISS_NATIVE_PREFIX, else the build
    # scripts/build-faiss.sh caches (and makes first when it is not there yet).
    "faiss_prefix%": "<!(node -p \"process.env.FAISS_NATIVE_PREFIX || require('child_process').execFileSync('bash', ['scripts/build-faiss.sh'], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim()\")",
    # OpenBLAS: the system's, or another architecture's for cross builds.
    "blas_libdir%": "<!(node -p \"process.env.FAISS_NATIVE_BLAS_LIBDIR || '/usr/lib/' + require('child_process').execSync('gcc -print-multiarch').toString().trim()\")",
    # 1 for the self-contained prebuilt binaries (scripts/prebuild.mjs): static OpenBLAS,
    # and gomp_lib, a renamed libgomp shipped beside the .node. 0, the default, links the
    # system's OpenBLAS and libgomp dynamically.
    "static_deps%": 0,
    "gomp_lib%": ""
  },
  "targets": [
    {
      "target_name": "faiss_native",
      "sources": [
        "native/addon.cc",
        "native/any_index_core.cc",
        "native/any_index_wrap.cc",
        "native/args.cc",
        "native/async_op.cc",
        "native/coarse_quantizer.cc",
        "native/errors.cc",
        "native/faiss_library.cc",
        "native/faiss_output.cc",
        "native/index_file_check.cc",
        "native/index_files.cc",
        "native/ivf_search.cc",
        "native/metric.cc",
        "native/native_memory.cc",
        "native/op_queue.cc",
        "native/operation.cc",
        "native/refine_stage.cc",
        "native/search_call.cc",
        "native/search_options.cc",
        "native/threads.cc",
        "native/transfer.cc",
        "native/vectors.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<(faiss_prefix)/include"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      # Faiss reports errors with C++ exceptions and needs RTTI to tell index types apart.
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti", "-fopenmp", "-fvisibility=hidden", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      # native/faiss_output.cc: what Faiss prints goes there instead of to stdout.
      "ldflags": [
        "-Wl,--exclude-libs,ALL", "-Wl,--as-needed",
        "-Wl,--wrap=printf", "-Wl,--wrap=puts", "-Wl,--wrap=putchar", "-Wl,--wrap=fprintf", "-Wl,--wrap=fputs", "-Wl,--wrap=fflush"
      ],
      "conditions": [
        ["static_deps==1", {
          # OpenBLAS's LAPACK needs two libgfortran routines; libgfortran.a cannot go into a .so.
          # libstdcxx_compat.c keeps the binary within GCC 11's libstdc++ (GLIBCXX_3.4.29).
          "sources": ["native/gfortran_shim.c", "native/libstdcxx_compat.c"],
          "libraries": [
            "<(faiss_prefix)/lib/libfaiss.a",
            "<(blas_libdir)/openblas-openmp/libopenblas.a",
            "<(gomp_lib)",
            "-lm"
          ],
          # Finds the libgomp shipped beside the .node, wherever the package is installed.
          "ldflags": [
            "-Wl,-rpath,'$$ORIGIN'",
            "-Wl,--wrap=_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE"
          ],
          "copies": [{ "destination": "<(PRODUCT_DIR)", "files": ["<(gomp_lib)"] }]
        }, {
          "ldflags": ["-fopenmp", "-L<(blas_libdir)"],
          "libraries": ["<(faiss_prefix)/lib/libfaiss.a", "-lopenblas", "-lgomp"]
        }]
      ]
    }
  ]
}
