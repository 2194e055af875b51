"""The ffmpeg binary, for reading speech (:mod:`expclip.audio`) and writing video (:mod:`render.video`)."""

from __future__ import annotations


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
