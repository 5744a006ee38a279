"""Where the engine runs: the compute device and threads, its heavy libraries imported once, warm-up, smoke test, and
the workers of a training run on several processes.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "distributed": ("SINGLE", "Workers", "barrier", "current", "data_parallel", "gather", "gather_objects", "launch",
                    "launched", "process_group", "reduce_sum", "share"),
    "batch_norm": ("batch_norm_across_workers",),
    "checkpoints": ("read_checkpoint", "write_checkpoint"),
    "device": ("CHOICES", "ENV_VARIABLE", "DeviceInfo", "configure_threads", "detect_device", "recommended_threads",
               "requested_device", "select_device"),
    "memory": ("keep_freed_memory",),
    "libraries": ("engine_module", "load_engine_libraries", "load_optimisers", "load_torch", "preload_native_core"),
    "smoke": ("run_training_check",),
    "warmup": ("warm_engine",),
})
