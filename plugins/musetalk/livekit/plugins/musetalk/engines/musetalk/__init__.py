"""MuseTalk v1.5 lip-sync engine: batched GPU inference (fp16), or fp32 on CPU for tests and GPU-less workers."""
