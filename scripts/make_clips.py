"""Generate the display's announcement clips (Indonesian and English) with espeak-ng and sox.

    python scripts/make_clips.py [--out static_apps/audio]

Writes `<out>/<lang>/<key>.mp3` (mono, 16 kHz, 16 kbit/s, silence trimmed), `<out>/chime.mp3` and
`<out>/manifest.json`: {"version", "format", "chime", "languages": {lang: {"voice", "clips": {key: file}}}}.
The display composes a sentence from these keys (static_apps/display/speech.js): the fixed phrases
(`intro` "Nomor antrian" / "Number", `to_counter` "silakan ke loket" / "please go to counter"), the letters
`letter_a` … `letter_z`, and numbers 0…9999 built from `n_0` … `n_19`, the tens `n_20` … `n_90`, and the
words for hundreds and thousands (`hundred`, `thousand`, and in Indonesian `n_100` "seratus",
`n_1000` "seribu"). The clips are committed, so neither the tests nor a deployment need espeak-ng; re-run
this script only to change them. Recordings replace them one for one (docs/runbooks/display.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "static_apps" / "audio"

ID_ONES = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
ID_TEENS = ["sepuluh", "sebelas"] + [f"{w} belas" for w in ID_ONES[2:]]
EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
EN_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def phrases(lang: str) -> dict[str, str]:
    """Clip key -> the text espeak-ng speaks for it."""
    texts: dict[str, str] = {}
    if lang == "id":
        texts["intro"] = "nomor antrian"
        texts["to_counter"] = "silakan ke loket"
        for n, word in enumerate(ID_ONES + ID_TEENS):
            texts[f"n_{n}"] = word
        for tens in range(2, 10):
            texts[f"n_{tens * 10}"] = f"{ID_ONES[tens]} puluh"
        texts["n_100"] = "seratus"
        texts["hundred"] = "ratus"
        texts["n_1000"] = "seribu"
        texts["thousand"] = "ribu"
    else:
        texts["intro"] = "number"
        texts["to_counter"] = "please go to counter"
        for n, word in enumerate(EN_ONES + EN_TEENS):
            texts[f"n_{n}"] = word
        for i, word in enumerate(EN_TENS):
            texts[f"n_{(i + 2) * 10}"] = word
        texts["hundred"] = "hundred"
        texts["thousand"] = "thousand"
    for code in range(ord("A"), ord("Z") + 1):
        texts[f"letter_{chr(code).lower()}"] = chr(code)
    return texts


VOICES = {"id": "id", "en": "en-us"}
ENCODE = ["-r", "16000", "-c", "1", "-C", "16"]  # sox output options: 16 kHz mono, 16 kbit/s MP3


def speak(voice: str, text: str, wav: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)


def encode(src: Path, dst: Path) -> None:
    """Trim leading/trailing silence, normalise, write a small MP3."""
    subprocess.run(
        [
            "sox",
            str(src),
            *ENCODE,
            str(dst),
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
            "silence",
            "1",
            "0.02",
            "0.5%",
            "reverse",
            "gain",
            "-n",
            "-1",
        ],
        check=True,
    )


def chime(tmp: Path, dst: Path) -> None:
    """Two soft tones (a "ding-dong"), about 0.9 s."""
    hi, lo = tmp / "hi.wav", tmp / "lo.wav"
    for path, freq in ((hi, 784), (lo, 523)):
        subprocess.run(
            [
                "sox",
                "-n",
                "-r",
                "16000",
                "-c",
                "1",
                str(path),
                "synth",
                "0.45",
                "sine",
                str(freq),
                "fade",
                "q",
                "0.01",
                "0.45",
                "0.35",
                "vol",
                "0.6",
            ],
            check=True,
        )
    subprocess.run(["sox", str(hi), str(lo), *ENCODE, str(dst)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out: Path = args.out
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y espeak-ng sox libsox-fmt-mp3")
    manifest: dict[str, object] = {"version": 1, "format": "audio/mpeg", "chime": "chime.mp3", "languages": {}}
    languages: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        out.mkdir(parents=True, exist_ok=True)
        chime(tmp, out / "chime.mp3")
        for lang, voice in VOICES.items():
            (out / lang).mkdir(exist_ok=True)
            clips: dict[str, str] = {}
            for key, text in phrases(lang).items():
                wav = tmp / f"{lang}_{key}.wav"
                speak(voice, text, wav)
                encode(wav, out / lang / f"{key}.mp3")
                clips[key] = f"{lang}/{key}.mp3"
            languages[lang] = {"voice": f"espeak-ng {voice}", "clips": clips}
    manifest["languages"] = languages
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in out.rglob("*.mp3"))
    print(f"{sum(1 for _ in out.rglob('*.mp3'))} clips, {total / 1024:.0f} KiB in {out}")


if __name__ == "__main__":
    main()
