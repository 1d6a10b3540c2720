{
  "variables": {
    "libtorch%": "<!(node -p \"process.env.LIBTORCH || ''\")"
  },
  "targets": [
    {
      "target_name": "tsnas_native",
      "sources": [
        "native/addon.cc",
        "native/autograd.cc",
        "native/ops_math.cc",
        "native/ops_nn.cc",
        "native/ops_shape.cc",
        "native/ops_depthwise.cc",
        "native/ops_pointwise.cc",
        "native/ops_pool.cc",
        "native/ops_batchnorm.cc",
        "native/ops_weighted_sum.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fopenmp", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "ldflags": ["-fopenmp"],
      "conditions": [
        ["libtorch==''", {
          "libraries": ["-Wl,--no-as-needed", "-ltorch", "-ltorch_cpu", "-lc10"]
        }, {
          "include_dirs": ["<(libtorch)/include", "<(libtorch)/include/torch/csrc/api/include"],
          "libraries": [
            "-L<(libtorch)/lib", "-Wl,-rpath,<(libtorch)/lib", "-Wl,--no-as-needed",
            "-ltorch", "-ltorch_cpu", "-lc10"
          ]
        }]
      ]
    }
  ]
}
