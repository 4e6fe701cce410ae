{
  "targets": [
    {
      "target_name": "ambit_net",
      "sources": ["ambit_net.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
