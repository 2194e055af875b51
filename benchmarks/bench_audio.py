"""Speech input speed: load_speech on a 10-minute file (WAV 44.1 kHz stereo and MP3) and the logmel front end
on 10 s and 10 min of audio, as seconds of audio handled per second of compute (median of repeats)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from benchmarks.common import emitter, median_seconds


emit = emitter("audio", digits=3)



def main() -> None:
    import torch

    from expclip.audio import load_speech, num_frames
    from expclip.encoders import create_encoder
    from head.media import ffmpeg_exe

    with tempfile.TemporaryDirectory() as folder:
        wav, mp3 = Path(folder) / "long.wav", Path(folder) / "long.mp3"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                        "sine=frequency=180:duration=600,volume=0.3", "-ac", "2", "-ar", "44100", str(wav)], check=True)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(wav), str(mp3)], check=True)
        emit("load_speech_10min_wav44k_stereo_s", median_seconds(lambda: load_speech(wav), 3), "s")
        emit("load_speech_10min_mp3_s", median_seconds(lambda: load_speech(mp3), 3), "s")
        samples = torch.from_numpy(load_speech(wav))
    logmel = create_encoder("logmel", kind="audio")
    threads = torch.get_num_threads()
    # On a busy machine torch's intra-op threads wait on each other; one thread is then much faster.
    for count in sorted({threads, 1}, reverse=True):
        torch.set_num_threads(count)
        for name, seconds, repeats in (("10s", 10, 7), ("10min", 600, 3)):
            clip = samples[None, : seconds * 16_000]
            logmel.encode(clip[:, :16_000])
            spent = median_seconds(lambda clip=clip: logmel.encode(clip), repeats)
            emit(f"logmel_{name}_{count}thread_s", spent, "s")
            emit(f"logmel_{name}_{count}thread_speed", seconds / spent, "audio s per s")
            assert logmel.encode(clip).shape[1] == num_frames(clip.shape[1]) == seconds * 30
    torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
