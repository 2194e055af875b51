"""Run every benchmark: ``python -m benchmarks`` (``make bench``)."""

from benchmarks import (
    bench_app,
    bench_audio,
    bench_expclip,
    bench_export,
    bench_generator,
    bench_images,
    bench_render,
    bench_tead,
)

if __name__ == "__main__":
    bench_render.main()
    bench_export.main()
    bench_tead.main()
    bench_expclip.main()
    bench_images.main()
    bench_audio.main()
    bench_generator.main()
    bench_app.main()
