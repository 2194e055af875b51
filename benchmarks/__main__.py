"""Run every benchmark: ``python -m benchmarks`` (``make bench``)."""

from benchmarks import bench_expclip, bench_export, bench_render, bench_tead

if __name__ == "__main__":
    bench_render.main()
    bench_export.main()
    bench_tead.main()
    bench_expclip.main()
