{
  "targets": [
    {
      "target_name": "ethburst",
      "sources": [
        "native/addon.cc",
        "native/context.cc",
        "native/ethtool.cc",
        "native/links.cc",
        "native/sampler.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
