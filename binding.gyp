{
  "variables": {
    # Where libfaiss.a and OpenBLAS live; override with FAISS_NATIVE_LIBDIR for other layouts.
    "faiss_libdir%": "<!(node -p \"process.env.FAISS_NATIVE_LIBDIR || '/usr/lib/' + require('child_process').execSync('gcc -print-multiarch').toString().trim()\")",
    # 1 for the self-contained prebuilt binaries (scripts/prebuild.mjs): static Faiss and OpenBLAS,
    # and gomp_lib, a renamed libgomp shipped beside the .node. 0, the default, links the system's
    # OpenBLAS and libgomp dynamically.
    "static_deps%": 0,
    "gomp_lib%": ""
  },
  "targets": [
    {
      "target_name": "faiss_native",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/async_op.cc",
        "native/coarse_quantizer.cc",
        "native/errors.cc",
        "native/flat_core.cc",
        "native/flat_wrap.cc",
        "native/huge_pages.cc",
        "native/index_file_check.cc",
        "native/ivf_search.cc",
        "native/ivfpq_core.cc",
        "native/ivfpq_wrap.cc",
        "native/metric.cc",
        "native/op_queue.cc",
        "native/operation.cc",
        "native/pq_tables.cc",
        "native/refine_stage.cc",
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
      # native/faiss-code-layout.ld: Faiss's IVF-PQ list scan starts on a 64-byte boundary (see the script).
      "ldflags": ["-Wl,--exclude-libs,ALL", "-Wl,--as-needed", "-Wl,-T,<(module_root_dir)/native/faiss-code-layout.ld"],
      "conditions": [
        ["target_arch=='x64'", {
          # native/pq_tables.cc: bit-identical, faster PQ table loops for Faiss's generic x86-64 build.
          "ldflags": [
            "-Wl,--wrap=_ZN5faiss22fvec_inner_products_nyEPfPKfS2_mm",
            "-Wl,--wrap=_ZN5faiss13fvec_L2sqr_nyEPfPKfS2_mm",
            "-Wl,--wrap=_ZN5faiss9fvec_maddEmPKffS1_Pf"
          ]
        }],
        ["static_deps==1", {
          # OpenBLAS's LAPACK needs two libgfortran routines; libgfortran.a cannot go into a .so.
          # libstdcxx_compat.c keeps the binary within GCC 11's libstdc++ (GLIBCXX_3.4.29).
          "sources": ["native/gfortran_shim.c", "native/libstdcxx_compat.c"],
          "libraries": [
            "<(faiss_libdir)/libfaiss.a",
            "<(faiss_libdir)/openblas-openmp/libopenblas.a",
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
          "ldflags": ["-fopenmp"],
          "libraries": ["<(faiss_libdir)/libfaiss.a", "-lopenblas", "-lgomp"]
        }]
      ]
    }
  ]
}
